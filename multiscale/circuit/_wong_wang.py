r"""The reduced two-variable decision circuit of Wong & Wang 2006 (appendix version).

Two excitatory populations, selective for the two choices, interact through NMDA
gating variables $S_1, S_2$. The circuit is an instance of the composition layer: one
:class:`~multiscale.circuit.RatePopulation` of two units with the Abbott–Chance transfer
function and AMPA-filtered noise, one recurrent :class:`~multiscale.circuit.Projection`
carrying the NMDA synapse with self-excitation and effective cross-inhibition
(:class:`~multiscale.circuit.SelfCross`). The synapse is any rate form of the synapse
scale: Wong & Wang's :class:`~multiscale.synapse.SaturatingNMDA` by default, or the
Destexhe kinetic NMDA receptor with its Mg²⁺ block (:func:`~multiscale.synapse.nmda`),
integrated inside the loop, so receptor kinetics change behavior.

**The AMPA cross term.** Wong & Wang's main-text model (their Fig. 3) also has
recurrent AMPA synapses, folded into an effective transfer function with a cross term
$f_A = J_{A12}(-276\,x_\mathrm{other} + 106)\,\Theta(x_\mathrm{other} - 0.4)$. The
supplement that defines it was not available to us, and two public reimplementations
that carry it disagree on the sign with which it enters. The appendix model implemented
here has **no recurrent AMPA**: the only fast synaptic current is the external AMPA
input and its Ornstein–Uhlenbeck noise, so the sign question does not arise.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, violations
from ..synapse import AbstractRateSynapse, SaturatingNMDA
from ._abstract import AbstractCircuit
from ._populations import AbbottChance, OUNoise, RatePopulation
from ._projections import Projection, SelfCross
from ._protocol import Stimulus
from ._rate_circuit import (
    RateCircuit,
    StimulusInput,
    check_time_constants,
    checked_parts,
    part_violations,
)

Param = Float[ArrayLike, "..."]


class WongWang2006(AbstractCircuit):
    r"""Wong & Wang 2006 reduced decision circuit, appendix parameters (no recurrent AMPA).

    $$\frac{dS_i}{dt} = -\frac{S_i}{\tau_S} + (1 - S_i)\,\gamma\, H(x_i), \qquad
      H(x) = \frac{a x - b}{1 - e^{-d (a x - b)}},$$
    $$x_1 = J_{N11} S_1 - J_{N12} S_2 + I_0 + I_1 + I_{\mathrm{noise},1}, \quad
      x_2 = J_{N11} S_2 - J_{N12} S_1 + I_0 + I_2 + I_{\mathrm{noise},2},$$
    $$\tau_\mathrm{AMPA}\,\frac{dI_{\mathrm{noise},i}}{dt} = -I_{\mathrm{noise},i}
      + \eta_i(t)\sqrt{\tau_\mathrm{AMPA}\,\sigma_\mathrm{noise}^2},$$

    with the gating equation that of ``nmda``'s rate form: for the default
    :class:`~multiscale.synapse.SaturatingNMDA`, $\tau_S$ = ``nmda.tau_decay`` and
    $\gamma$ = ``nmda.gamma`` (0.641). With a kinetic receptor
    (``ms.synapse.nmda()``) the gating is its mean-field open fraction and the NMDA current
    is $J\,g_\max\,s\,B(V)$, the Mg²⁺ block $B$ at the populations' mean potential ``V``;
    its conductance scale differs from Wong & Wang's gating, so $J_{N11}, J_{N12}$ must
    be rescaled (see the tests). $\eta_i$ is unit Gaussian white noise, so the stationary
    standard deviation of $I_\mathrm{noise}$ is $\sigma_\mathrm{noise}/\sqrt 2$. The
    stimulus currents $I_{1,2} = J_{A,\mathrm{ext}}\mu_0(1 \pm c)$ are set by
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
        nmda: the NMDA synapse (any rate form; :class:`~multiscale.synapse.SaturatingNMDA`).
        S0: initial gating of both populations (0.1).
        V: mean membrane potential for a voltage-dependent NMDA receptor, mV (-55).

    Example:
        >>> circuit = WongWang2006()
        >>> round(float(circuit.gamma), 3), round(float(circuit.tau_S), 3)
        (0.641, 0.1)

    References:
        Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
        perceptual decisions. J Neurosci 26:1314-1328 (Appendix).
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
    nmda: AbstractRateSynapse = SaturatingNMDA()
    S0: Param = 0.1
    V: Param = -55.0
    constraints = Constraints(
        positive=("a", "d", "tau_AMPA", "J_A_ext"),
        nonnegative=("J_N11", "J_N12", "sigma_noise"),
        finite=("b", "I_0", "V"),
        fraction=("S0",),
    )

    def __check_init__(self):
        check_fields("WongWang2006", self, self.constraints)
        if not isinstance(self.nmda, AbstractRateSynapse):
            raise TypeError(
                "WongWang2006 `nmda` must be a synapse with a rate form (an "
                "AbstractRateSynapse: ms.synapse.SaturatingNMDA() or ms.synapse.nmda()), "
                f"got {type(self.nmda).__name__}"
            )

    @property
    def tau_S(self) -> Array:
        """NMDA gating decay time constant $\\tau_S$ = ``nmda.tau_decay``, s."""
        return jnp.asarray(self.nmda.tau_decay)

    @property
    def gamma(self) -> Array:
        """Rate-averaged NMDA gating coefficient $\\gamma$ = ``nmda.gamma`` (SaturatingNMDA)."""
        return self.nmda.gamma

    def rate_circuit(self) -> RateCircuit:
        """The same circuit written in the composition layer's terms."""
        population = RatePopulation(
            AbbottChance(self.a, self.b, self.d),
            size=2,
            I_0=self.I_0,
            noise=OUNoise(self.sigma_noise, self.tau_AMPA),
            V=self.V,
            name="E",
        )
        recurrent = Projection(
            0, 0, self.nmda, SelfCross(self.J_N11, -jnp.asarray(self.J_N12)), s0=self.S0
        )
        return RateCircuit(
            (population,), (recurrent,), StimulusInput((0, 1), self.J_A_ext), choice=(0, 1)
        )

    @property
    def n_noise(self) -> int:
        return 2

    def init(self, batch, dtype):
        return self.rate_circuit().init(batch, dtype)

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        return self.rate_circuit().stimulus_input(stimulus)

    def discretise(self, dt: float):
        return self.rate_circuit().discretise(dt)

    def choice_rates(self, rates):
        return rates

    def check_step(self, dt: float) -> None:
        taus = {"tau_AMPA": self.tau_AMPA}
        taus.update({f"nmda.{k}": v for k, v in self.nmda.rate_time_constants().items()})
        check_time_constants(taus, dt)

    def checked(self) -> "WongWang2006":
        own = checked("WongWang2006", self, self.constraints)
        return eqx.tree_at(lambda c: c.nmda, own, checked_parts(own.nmda))

    def violations(self) -> Array:
        return violations(self, self.constraints) | part_violations(self.nmda)

    # Kept for the phase-plane analysis and the diffrax reference, which need the
    # deterministic vector field of the default (saturating) form.
    def currents(
        self, S: Float[Array, "2 ..."], I_ext: Float[Array, "2 ..."]
    ) -> Float[Array, "2 ..."]:
        """Total input currents $x_{1,2}$ (nA) from gating $S$ and external currents (nA)."""
        out = self.nmda.rate_output(S, self.V)
        recurrent = jnp.asarray(self.J_N11) * out - jnp.asarray(self.J_N12) * out[::-1]
        return recurrent + jnp.asarray(self.I_0) + I_ext

    def rate(self, x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Transfer function $H(x)$ (Hz) of currents (nA)."""
        return AbbottChance(self.a, self.b, self.d)(jnp.asarray(x))

    def vector_field(
        self, S: Float[Array, "2 ..."], I_ext: Float[Array, "2 ..."]
    ) -> tuple[Float[Array, "2 ..."], Float[Array, "2 ..."]]:
        r"""$dS/dt$ (1/s) and rates $r = H(x)$ (Hz) at gating $S$ and external current (nA)."""
        r = self.rate(self.currents(S, I_ext))
        return self.nmda.rate_field(S, r), r

    def gating_at_rate(self, rate: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        r"""Steady gating $\gamma r\tau_S / (1 + \gamma r \tau_S)$ at a rate (Hz); 15 Hz: 0.4902."""
        return self.nmda.steady_gating(rate)
