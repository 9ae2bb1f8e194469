r"""Helpers shared by the simulation fits: log-scaled free parameters, a float-count Adam, names.

The circuit's free parameters are positive and of very different magnitudes (5e-4 nA/Hz,
15 Hz, 0.3 s), so both circuit fits (:func:`~multiscale.fit.fit_circuit_summary` and
:func:`~multiscale.fit.fit_circuit_trials`) optimise $u = \log(x / x_\mathrm{ref})$: a
relative change of each parameter has a comparable effect on the loss, one learning rate
serves all, and every value stays positive. The learning-rule fit
(:func:`~multiscale.fit.fit_learning_rule`) uses the same scaling for plasticity rates.
"""

import functools
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax


class LogScaled(eqx.Module):
    """The free leaves as $u = \\log(x / x_\\mathrm{ref})$, the rest of the model fixed."""

    u: Any
    ref: Any
    rest: Any

    def model_free(self):
        """The free leaves $x = x_\\mathrm{ref}\\,e^u$ (None elsewhere)."""
        return jax.tree.map(lambda u, r: r * jnp.exp(u), self.u, self.ref)

    def model(self) -> eqx.Module:
        """The whole model (any Module: a circuit model, a learner) at ``u``."""
        return eqx.combine(self.model_free(), self.rest)


def log_scaled(model, filter_spec) -> tuple[LogScaled, LogScaled]:
    """``model`` as a :class:`LogScaled` at $u = 0$, and the filter that trains only ``u``.

    Raises:
        ValueError: ``filter_spec`` selects no leaf, or a selected leaf is not a positive
            float array.
    """
    free, rest = eqx.partition(model, filter_spec)
    if not jax.tree.leaves(free):
        raise ValueError("filter_spec selects no array leaves of the model")
    for leaf in jax.tree.leaves(free):
        if not (eqx.is_inexact_array(leaf) and bool(jnp.all(leaf > 0))):
            raise ValueError(
                "free parameters must be positive float arrays (fitted as log(x / x_init)); "
                "pass them as jnp arrays, e.g. jnp.asarray(2e-4)"
            )
    u = jax.tree.map(jnp.zeros_like, free)
    scaled = LogScaled(u=u, ref=free, rest=rest)
    false = lambda t: jax.tree.map(lambda _: False, t)
    spec = LogScaled(u=jax.tree.map(lambda _: True, u), ref=false(free), rest=false(rest))
    return scaled, spec


class AdamState(NamedTuple):
    """State of :func:`float_count_adam`: step count (a float) and the two moments."""

    count: jax.Array
    mu: Any
    nu: Any


# Cached so that repeated fits with one learning rate reuse the compiled loop.
@functools.lru_cache(maxsize=16)
def float_count_adam(
    learning_rate: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    """Adam (Kingma & Ba 2015) with every scalar, the step count included, in the params' dtype.

    ``optax.adam`` raises ``b1 ** count`` with an int32 count, which strict dtype promotion
    rejects; keeping the count as a float of the parameters' dtype avoids any promotion.
    """

    def init(params):
        dtype = jax.tree.leaves(params)[0].dtype
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdamState(jnp.zeros((), dtype), zeros, zeros)

    def update(grads, state, params=None):
        del params
        count = state.count + 1
        c = lambda x: jnp.asarray(x, count.dtype)
        mu = jax.tree.map(lambda m, g: c(b1) * m + c(1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: c(b2) * v + c(1 - b2) * g**2, state.nu, grads)
        scale = c(learning_rate) * jnp.sqrt(1 - c(b2) ** count) / (1 - c(b1) ** count)
        updates = jax.tree.map(lambda m, v: -scale * m / (jnp.sqrt(v) + c(eps)), mu, nu)
        return updates, AdamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def free_parameter_names(model: eqx.Module, filter_spec) -> list[str]:
    """Field name of each leaf ``filter_spec`` selects, in flattening order (e.g. ``J_A_ext``)."""
    del model  # the names come from the filter, which has the model's structure
    paths = jax.tree_util.tree_flatten_with_path(eqx.filter(filter_spec, filter_spec))[0]
    names = []
    for path, selected in paths:
        if selected is True:
            names.append(jax.tree_util.keystr(path).lstrip(".").split(".")[-1])
    return names
