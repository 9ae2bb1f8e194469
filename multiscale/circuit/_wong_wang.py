r"""The reduced two-variable decision circuit of Wong & Wang 2006 (appendix version).

Two excitatory populations, selective for the two choices, interact through NMDA
gating variables $S_1, S_2$. The NMDA kinetics come from the synapse scale
(:class:`~multiscale.synapse.SaturatingNMDA`): $\tau_S$ is its ``tau_decay`` and
$\gamma$ its rate-averaged coefficient ``gamma``, so changing receptor kinetics
changes the circuit and hence behavior.

**The AMPA cross term.** Wong & Wang's main-text model (their Fig. 3) also has
recurrent AMPA synapses, folded into an effective transfer function with a cross term
$f_A = J_{A12}(-276\,x_\mathrm{other} + 106)\,\Theta(x_\mathrm{other} - 0.4)$. The
supplement that defines it was not retrieved, and the two reimplementations that
carry it disagree on the sign with which it enters (reference_values 6a). The
appendix model implemented here has **no recurrent AMPA**: the only fast
synaptic current is the external AMPA input and its Ornstein–Uhlenbeck noise, so the
sign question does not arise. The main-text AMPA version is not implemented.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._numerics import exprel
from ..synapse import SaturatingNMDA

Param = Float[ArrayLike, ""]


class WongWang2006(eqx.Module):
    r"""Wong & Wang 2006 reduced decision circuit, appendix parameters (no recurrent AMPA).

    $$\frac{dS_i}{dt} = -\frac{S_i}{\tau_S} + (1 - S_i)\,\gamma\, H(x_i), \qquad
      H(x) = \frac{a x - b}{1 - e^{-d (a x - b)}},$$
    $$x_1 = J_{N11} S_1 - J_{N12} S_2 + I_0 + I_1 + I_{\mathrm{noise},1}, \quad
      x_2 = J_{N11} S_2 - J_{N12} S_1 + I_0 + I_2 + I_{\mathrm{noise},2},$$
    $$\tau_\mathrm{AMPA}\,\frac{dI_{\mathrm{noise},i}}{dt} = -I_{\mathrm{noise},i}
      + \eta_i(t)\sqrt{\tau_\mathrm{AMPA}\,\sigma_\mathrm{noise}^2},$$

    with $\tau_S$ = ``nmda.tau_decay`` and $\gamma$ = ``nmda.gamma`` (0.641 at the
    default kinetics). $\eta_i$ is unit Gaussian white noise, so the stationary
    standard deviation of $I_\mathrm{noise}$ is $\sigma_\mathrm{noise}/\sqrt 2$.
    $H$ is evaluated with :func:`multiscale._numerics.exprel`, finite (with a finite
    gradient) at $a x - b = 0$. The stimulus currents $I_{1,2}$ are set by
    :class:`~multiscale.circuit.Stimulus`.

    Attributes:
        a: gain of the transfer function, Hz/nA (270).
        b: offset of the transfer function, Hz (108).
        d: curvature of the transfer function, s (0.154).
        J_N11: self-excitation $J_{N11} = J_{N22}$, nA (0.2609).
        J_N12: cross-inhibition $J_{N12} = J_{N21}$ (enters with a minus sign), nA (0.0497).
        J_A_ext: external AMPA coupling, nA/Hz (5.2e-4).
        I_0: constant background current, nA (0.3255).
        sigma_noise: noise amplitude $\sigma_\mathrm{noise}$, nA (0.02).
        tau_AMPA: correlation time of the noise, s (0.002).
        nmda: the NMDA receptor model supplying $\tau_S$ and $\gamma$.

    Example:
        >>> circuit = WongWang2006()
        >>> round(float(circuit.gamma), 3), round(float(circuit.tau_S), 3)
        (0.641, 0.1)

    References:
        Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
        perceptual decisions. J Neurosci 26:1314 (Appendix); reference_values 6a.
    """

    a: Param = 270.0
    b: Param = 108.0
    d: Param = 0.154
    J_N11: Param = 0.2609
    J_N12: Param = 0.0497
    J_A_ext: Param = 5.2e-4
    I_0: Param = 0.3255
    sigma_noise: Param = 0.02
    tau_AMPA: Param = 0.002
    nmda: SaturatingNMDA = SaturatingNMDA()

    def __check_init__(self):
        positive = ("a", "d", "tau_AMPA", "J_A_ext")
        non_negative = ("J_N11", "J_N12", "sigma_noise")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, int | float) and not value > 0:
                raise ValueError(f"WongWang2006 `{name}` must be > 0, got {value}")
        for name in non_negative:
            value = getattr(self, name)
            if isinstance(value, int | float) and not value >= 0:
                raise ValueError(f"WongWang2006 `{name}` must be >= 0, got {value}")
        if not isinstance(self.nmda, SaturatingNMDA):
            raise ValueError(
                f"WongWang2006 `nmda` must be a SaturatingNMDA, got {type(self.nmda).__name__}"
            )

    @property
    def tau_S(self) -> Array:
        """NMDA gating decay time constant $\\tau_S$ = ``nmda.tau_decay``, s."""
        return jnp.asarray(self.nmda.tau_decay)

    @property
    def gamma(self) -> Array:
        """Rate-averaged NMDA gating coefficient $\\gamma$ = ``nmda.gamma`` (dimensionless)."""
        return self.nmda.gamma

    def currents(
        self, S: Float[Array, "2 ..."], I_ext: Float[Array, "2 ..."]
    ) -> Float[Array, "2 ..."]:
        r"""Total input currents $x_{1,2}$ (nA) from gating $S$ and external currents (nA).

        ``I_ext`` is the stimulus plus the noise current, $I_i + I_{\mathrm{noise},i}$.
        The leading axis is the population; trailing axes, if any, are a batch.
        """
        J11 = jnp.asarray(self.J_N11)
        J12 = jnp.asarray(self.J_N12)
        recurrent = J11 * S - J12 * S[::-1]
        return recurrent + jnp.asarray(self.I_0) + I_ext

    def rate(self, x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Transfer function $H(x) = (a x - b) / (1 - e^{-d(a x - b)})$ (Hz) of currents (nA)."""
        d = jnp.asarray(self.d)
        u = jnp.asarray(self.a) * jnp.asarray(x) - jnp.asarray(self.b)
        return exprel(d * u) / d

    def vector_field(
        self, S: Float[Array, "2 ..."], I_ext: Float[Array, "2 ..."]
    ) -> tuple[Float[Array, "2 ..."], Float[Array, "2 ..."]]:
        r"""$dS/dt$ (1/s) and rates $r = H(x)$ (Hz) at gating $S$ and external current (nA).

        The leading axis is the population; trailing axes, if any, are a batch (a batch of
        trials advanced in one loop, :mod:`multiscale.fit._first_passage`).
        """
        r = self.rate(self.currents(S, I_ext))
        dS = -S / self.tau_S + (1.0 - S) * self.gamma * r
        return dS, r

    def gating_at_rate(self, rate: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Steady gating $\gamma r\tau_S / (1 + \gamma r \tau_S)$ at a rate (Hz); 15 Hz: 0.4902."""
        return self.nmda.steady_gating(rate)
