"""The saturating NMDA synapse of Wang 2002, the receptor model of the decision circuit."""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..._checks import Constraints, check_fields
from ._rate_synapse import AbstractRateSynapse


class SaturatingNMDA(AbstractRateSynapse):
    r"""Two-variable NMDA gating with saturation (Wang 2002, Experimental Procedures).

    $$\frac{ds}{dt} = -\frac{s}{\tau_\mathrm{decay}} + \alpha\, x\,(1 - s), \qquad
      \frac{dx}{dt} = -\frac{x}{\tau_\mathrm{rise}} + \sum_k \delta(t - t_k)$$

    $x$ is the transmitter-bound fraction driven by presynaptic spikes $t_k$, $s$ the
    open fraction. Each spike adds a transient $x$ whose integral is $\tau_\mathrm{rise}$,
    so at low rate $r$ the gating is driven at the rate $\alpha\tau_\mathrm{rise} r$
    and the rate-averaged gating obeys (Brunel & Wang 2001; Wong & Wang 2006)

    $$\frac{dS}{dt} = -\frac{S}{\tau_\mathrm{decay}} + (1 - S)\, \gamma\, r, \qquad
      \gamma = \gamma_0\, \alpha\, \tau_\mathrm{rise},$$

    where $\gamma_0 = 0.641$ is Wong & Wang's fitted correction for saturation at
    the default kinetics ($\alpha\tau_\mathrm{rise} = 1$, so $\gamma = 0.641$, their value).
    The decision circuit takes $\tau_S = \tau_\mathrm{decay}$ and $\gamma$ from here,
    so changing receptor kinetics changes behavior.

    Attributes:
        tau_rise: rise time constant of the bound fraction $x$, s (2 ms).
        tau_decay: decay time constant of $s$, s (100 ms).
        alpha: saturation rate constant, 1/s (0.5 ms⁻¹ = 500 s⁻¹).
        gamma0: mean-field correction factor, dimensionless (0.641).

    References:
        Wang XJ (2002) Neuron 36:955. Wong KF, Wang XJ (2006) J Neurosci 26:1314.
    """

    tau_rise: Float[ArrayLike, ""] = 0.002
    tau_decay: Float[ArrayLike, ""] = 0.1
    alpha: Float[ArrayLike, ""] = 500.0
    gamma0: Float[ArrayLike, ""] = 0.641

    def __check_init__(self):
        check_fields("SaturatingNMDA", self, self.constraints)

    constraints = Constraints(positive=("tau_rise", "tau_decay", "alpha", "gamma0"))

    @property
    def gamma(self) -> Array:
        """Rate-averaged gating coefficient (dimensionless).

        $\\gamma = \\gamma_0\\alpha\\tau_\\mathrm{rise}$.
        """
        return jnp.asarray(self.gamma0) * jnp.asarray(self.alpha) * jnp.asarray(self.tau_rise)

    def steady_gating(self, rate: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        r"""Fixed point $S^* = \gamma r \tau / (1 + \gamma r \tau)$ at a presynaptic rate (Hz)."""
        g = self.gamma * jnp.asarray(rate) * jnp.asarray(self.tau_decay)
        return g / (1.0 + g)

    def rate_field(self, s, r):
        r"""$dS/dt = -S/\tau_\mathrm{decay} + (1 - S)\gamma r$, 1/s, at presynaptic rate ``r``."""
        return -s / jnp.asarray(self.tau_decay) + (1.0 - s) * self.gamma * r

    def rate_output(self, s, V):
        """The gating itself (the Wong–Wang circuit's NMDA current has no Mg block)."""
        del V
        return s

    def rate_time_constants(self):
        return {"tau_decay": self.tau_decay}
