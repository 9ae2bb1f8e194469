r"""Synapses seen by a rate population: gating driven by a presynaptic rate.

A rate circuit (:mod:`multiscale.circuit`) carries on each projection a synapse model of
this scale. What the circuit needs of it is its **rate form**: a gating variable $s$ per
presynaptic unit (dimensionless, or Hz for :class:`ExponentialSynapse`) whose time
derivative is a function of $s$ and of the presynaptic rate $r$ (Hz), and the output
that multiplies the projection's weight. :class:`AbstractRateSynapse` is that interface.
It is implemented by

- :class:`ExponentialSynapse`: a first-order low-pass of the rate, the rate-model form of
  exponential AMPA and GABA_A currents, $\tau\,ds/dt = -s + r$;
- :class:`~multiscale.synapse.SaturatingNMDA`: Wong & Wang's rate-averaged NMDA gating,
  $ds/dt = -s/\tau + (1 - s)\gamma r$;
- :class:`~multiscale.synapse.FirstOrderReceptor` (the Destexhe kinetic AMPA, NMDA and
  GABA_A receptors): its pulse map averaged over Poisson spike trains of rate $r$, with
  the Mg²⁺ block evaluated at the postsynaptic population's mean potential.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..._checks import Constraints, check_fields


class AbstractRateSynapse(eqx.Module):
    """The rate form of a synapse: ``rate_field(s, r)`` and ``rate_output(s, V)``.

    ``s`` has the shape of the presynaptic rates (units first, then any batch axes);
    ``V`` is the postsynaptic mean membrane potential, mV, used only by voltage-dependent
    receptors. Every method is elementwise, so any batch shape works.
    """

    @abc.abstractmethod
    def rate_field(
        self, s: Float[Array, "*shape"], r: Float[Array, "*shape"]
    ) -> Float[Array, "*shape"]:
        """$ds/dt$ (units of ``s`` per second) at gating ``s`` and presynaptic rate ``r`` (Hz)."""

    @abc.abstractmethod
    def rate_output(
        self, s: Float[Array, "*shape"], V: Float[ArrayLike, ""]
    ) -> Float[Array, "*shape"]:
        """What multiplies the projection weight: the gating, times any block at ``V`` (mV)."""

    @abc.abstractmethod
    def rate_time_constants(self) -> dict[str, Float[ArrayLike, ""]]:
        """The time constants (s) of the rate form, by name: the step must resolve them."""


class ExponentialSynapse(AbstractRateSynapse):
    r"""First-order synapse: $\tau\,ds/dt = -s + r$, so $s$ is the rate low-passed, Hz.

    The rate-model form of a current-based exponential synapse (AMPA: $\tau$ = 2 ms,
    GABA_A: 5–10 ms; Brunel & Wang 2001). The projection's weight is then a current per
    unit rate, nA/Hz.

    Attributes:
        tau: synaptic time constant $\tau$, s (2 ms).

    References:
        Brunel N, Wang XJ (2001) Effects of neuromodulation in a cortical network model of
        object working memory dominated by recurrent inhibition. J Comput Neurosci
        11:63-85.
    """

    tau: Float[ArrayLike, ""] = 0.002
    constraints = Constraints(positive=("tau",))

    def __check_init__(self):
        check_fields("ExponentialSynapse", self, self.constraints)

    def rate_field(self, s, r):
        return (r - s) / jnp.asarray(self.tau)

    def rate_output(self, s, V):
        del V
        return s

    def rate_time_constants(self):
        return {"tau": self.tau}
