r"""Projections: a synapse model of the synapse scale, a weight, optional short-term and
long-term plasticity, from one population to another.

A projection from population ``pre`` to population ``post`` keeps a gating variable per
presynaptic unit, driven by the presynaptic rates through the synapse's rate form
(:class:`~multiscale.synapse.AbstractRateSynapse`: saturating NMDA, exponential AMPA or
GABA, the Destexhe kinetic receptors with the Mg²⁺ block). Tsodyks–Markram short-term
plasticity, if given, scales the presynaptic rate by its relative efficacy. The weight
maps the synaptic output to a current onto the postsynaptic units (nA). ``rule`` is the
slot for a long-term plasticity rule of the synapse scale: the circuit's loop does not
apply it (learning across trials runs in :mod:`multiscale.population`).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..synapse import AbstractRateSynapse, TsodyksMarkram

Param = Float[ArrayLike, "..."]


class AbstractWeight(eqx.Module):
    """Maps the synaptic outputs of the presynaptic units to currents onto the postsynaptic ones."""

    @abc.abstractmethod
    def __call__(self, s: Float[Array, "pre ..."], n_post: int) -> Float[Array, "post ..."]:
        """Currents onto the ``n_post`` postsynaptic units, nA."""


class Dense(AbstractWeight):
    """A full weight matrix ``W`` of shape (post, pre), nA per unit of synaptic output."""

    W: Float[ArrayLike, "post pre"]

    def __call__(self, s, n_post):
        W = jnp.asarray(self.W)
        if W.shape[0] != n_post or W.shape[1] != s.shape[0]:
            raise ValueError(
                f"Dense `W` has shape {W.shape}; this projection needs ({n_post}, {s.shape[0]})"
            )
        return jnp.tensordot(W, s, axes=1)


class Uniform(AbstractWeight):
    """Every presynaptic unit projects with weight ``w`` onto every postsynaptic unit, nA."""

    w: Param

    def __call__(self, s, n_post):
        total = jnp.asarray(self.w) * jnp.sum(s, axis=0)
        return jnp.broadcast_to(total, (n_post,) + total.shape)


class SelfCross(AbstractWeight):
    r"""Two units onto the same two: weight ``self_`` onto itself, ``cross`` onto the other.

    $I_i = w_\mathrm{self}\,s_i + w_\mathrm{cross}\,s_{3-i}$ (nA); a negative ``cross`` is
    effective cross-inhibition, as in Wong & Wang's reduced circuit.
    """

    self_: Param
    cross: Param

    def __call__(self, s, n_post):
        if s.shape[0] != 2 or n_post != 2:
            raise ValueError("SelfCross joins two units to two units")
        return jnp.asarray(self.self_) * s + jnp.asarray(self.cross) * s[::-1]


class Projection(eqx.Module):
    """A projection from population ``pre`` to population ``post`` (indices, static).

    Attributes:
        pre: index of the presynaptic population in the circuit (static).
        post: index of the postsynaptic population (static).
        synapse: the synapse's rate form (an :class:`~multiscale.synapse.AbstractRateSynapse`).
        weight: the weight (:class:`Dense`, :class:`Uniform`, :class:`SelfCross`).
        short_term: :class:`~multiscale.synapse.TsodyksMarkram` or ``None``.
        rule: a long-term plasticity rule for sessions, or ``None`` (not applied in-trial).
        s0: initial gating (0).
    """

    pre: int = eqx.field(static=True)
    post: int = eqx.field(static=True)
    synapse: AbstractRateSynapse
    weight: AbstractWeight
    short_term: TsodyksMarkram | None = None
    rule: eqx.Module | None = None
    s0: Param = 0.0

    def __check_init__(self):
        if not isinstance(self.synapse, AbstractRateSynapse):
            raise TypeError(
                "Projection `synapse` must have a rate form (an AbstractRateSynapse: e.g. "
                "ms.synapse.SaturatingNMDA(), ms.synapse.ExponentialSynapse(), "
                f"ms.synapse.nmda()), got {type(self.synapse).__name__}"
            )
        if not isinstance(self.weight, AbstractWeight):
            raise TypeError(
                f"Projection `weight` must be an AbstractWeight (Dense, Uniform, SelfCross), "
                f"got {type(self.weight).__name__}"
            )
        if self.short_term is not None and not isinstance(self.short_term, TsodyksMarkram):
            raise TypeError("Projection `short_term` must be a TsodyksMarkram or None")
