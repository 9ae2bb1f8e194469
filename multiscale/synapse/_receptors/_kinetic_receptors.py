"""Kinetic receptor models driven by square transmitter pulses (Destexhe, Mainen & Sejnowski).

Two receptor schemes share one interface, :class:`AbstractReceptor`: a first-order
binding scheme (AMPA, NMDA, GABA_A) and the second-order G-protein scheme of GABA_B.
Both see the transmitter as a square pulse of ``Cmax`` (mM) lasting ``Cdur`` (s) after
each presynaptic spike; :func:`~multiscale.synapse.simulate_receptor` integrates them.

All rate constants are per second: the ms⁻¹ values of ModelDB 18500 are multiplied by
1000 here (e.g. AMPA alpha = 1.1 ms⁻¹ mM⁻¹ = 1100 s⁻¹ mM⁻¹).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields
from ._mg_block import MgBlock
from ._rate_synapse import AbstractRateSynapse


class AbstractReceptor(eqx.Module):
    """A receptor whose state obeys $\\dot y = f(y, T(t))$ for a transmitter concentration $T$.

    Concrete receptors provide the transmitter pulse (``Cmax``, ``Cdur``), the reversal
    potential ``E_rev`` and peak conductance ``g_max``, and four methods:
    :meth:`init_state`, :meth:`vector_field`, :meth:`open_fraction` and :meth:`unblocked`.
    The conductance is $g = g_\\max\\, O(y)\\, B(V)$ with $O$ the open fraction and $B$
    a voltage-dependent unblocked fraction (1 for receptors without a channel block).
    """

    Cmax: eqx.AbstractVar[Float[ArrayLike, ""]]
    Cdur: eqx.AbstractVar[Float[ArrayLike, ""]]
    E_rev: eqx.AbstractVar[Float[ArrayLike, ""]]
    g_max: eqx.AbstractVar[Float[ArrayLike, ""]]

    @abc.abstractmethod
    def init_state(self) -> Float[Array, " state"]:
        """The resting state (no transmitter), dimensionless."""

    @abc.abstractmethod
    def vector_field(
        self, T: Float[ArrayLike, ""], y: Float[Array, " state"]
    ) -> Float[Array, " state"]:
        """$dy/dt$ (1/s) at transmitter concentration ``T`` (mM)."""

    @abc.abstractmethod
    def open_fraction(self, y: Float[Array, "*batch state"]) -> Float[Array, "*batch"]:
        """Fraction of the peak conductance that is open, dimensionless, in [0, 1]."""

    @abc.abstractmethod
    def unblocked(self, V: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        """Voltage-dependent unblocked fraction at ``V`` (mV); 1 without a channel block."""


class FirstOrderReceptor(AbstractReceptor, AbstractRateSynapse):
    r"""Two-state (closed/open) receptor with first-order transmitter binding.

    $$\frac{dr}{dt} = \alpha\, T(t)\,(1 - r) - \beta\, r, \qquad
      I = g_\max\, r\, B(V)\,(V - E_\mathrm{rev})$$

    $T(t) = C_\max$ for $C_\mathrm{dur}$ after each presynaptic spike and 0 otherwise.
    During a pulse $r$ relaxes to $r_\infty = \alpha C_\max / (\alpha C_\max + \beta)$
    with time constant $\tau_r = 1/(\alpha C_\max + \beta)$; after it, $r$ decays with
    time constant $1/\beta$. $B(V)$ is the Mg²⁺ block for NMDA (``block=MgBlock()``) and
    1 for AMPA and GABA_A (``block=None``). Use :func:`ampa`, :func:`nmda` and
    :func:`gabaa` for the published parameters.

    Attributes:
        alpha: binding (opening) rate constant, 1/(s·mM).
        beta: unbinding (closing) rate constant, 1/s.
        Cmax: transmitter concentration during a pulse, mM.
        Cdur: pulse duration, s.
        E_rev: reversal potential, mV.
        g_max: peak conductance (all receptors open), nS.
        block: voltage-dependent channel block (an :class:`MgBlock`), or ``None``.

    References:
        Destexhe A, Mainen ZF, Sejnowski TJ (1994) Neural Comput 6:14. Destexhe A,
        Mainen ZF, Sejnowski TJ (1998) "Kinetic models of synaptic transmission", in
        Koch & Segev (eds) Methods in Neuronal Modeling, 2nd ed., pp. 1–25; code
        ModelDB 18500.
    """

    alpha: Float[ArrayLike, ""]
    beta: Float[ArrayLike, ""]
    Cmax: Float[ArrayLike, ""] = 1.0
    Cdur: Float[ArrayLike, ""] = 1e-3
    E_rev: Float[ArrayLike, ""] = 0.0
    g_max: Float[ArrayLike, ""] = 1.0
    block: MgBlock | None = None

    constraints = Constraints(
        positive=("alpha", "beta", "Cmax", "Cdur"), nonnegative=("g_max",), finite=("E_rev",)
    )

    def __check_init__(self):
        check_fields("FirstOrderReceptor", self, self.constraints)

    @property
    def r_inf(self) -> Array:
        r"""Open fraction approached during a pulse, $\alpha C_\max/(\alpha C_\max + \beta)$."""
        a = jnp.asarray(self.alpha) * jnp.asarray(self.Cmax)
        return a / (a + jnp.asarray(self.beta))

    @property
    def tau_rise(self) -> Array:
        r"""Relaxation time constant during a pulse, $1/(\alpha C_\max + \beta)$, s."""
        return 1.0 / (jnp.asarray(self.alpha) * jnp.asarray(self.Cmax) + jnp.asarray(self.beta))

    @property
    def tau_decay(self) -> Array:
        r"""Decay time constant after a pulse, $1/\beta$, s."""
        return 1.0 / jnp.asarray(self.beta)

    def init_state(self) -> Float[Array, " 1"]:
        return jnp.zeros(1, dtype=jnp.result_type(float))

    def vector_field(self, T: Float[ArrayLike, ""], y: Float[Array, " 1"]) -> Float[Array, " 1"]:
        return self.alpha * T * (1.0 - y) - self.beta * y

    def open_fraction(self, y: Float[Array, "*batch 1"]) -> Float[Array, "*batch"]:
        return y[..., 0]

    def unblocked(self, V: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        V = jnp.asarray(V)
        if self.block is None:
            return jnp.ones(V.shape, dtype=jnp.result_type(V.dtype, float))
        return self.block(V)

    def rate_field(self, s, r):
        r"""Mean-field open fraction under Poisson spikes of rate ``r`` (Hz), 1/s.

        Each spike's pulse moves $s$ to $r_\infty + (s - r_\infty)e^{-C_\mathrm{dur}/\tau_r}$;
        between pulses $s$ decays at rate $\beta$. Averaged over spike trains of rate $r$,

        $$\frac{ds}{dt} = -\beta s\,(1 - r C_\mathrm{dur})
          + r\,\bigl(1 - e^{-C_\mathrm{dur}/\tau_r}\bigr)(r_\infty - s),$$

        exact for the mean when pulses do not overlap ($r C_\mathrm{dur} \ll 1$) and $s$
        is uncorrelated with the next spike (Destexhe et al. 1994's pulse solution).
        """
        jump = -jnp.expm1(-jnp.asarray(self.Cdur) / self.tau_rise)
        decay = jnp.asarray(self.beta) * s * (1.0 - r * jnp.asarray(self.Cdur))
        return r * jump * (self.r_inf - s) - decay

    def rate_output(self, s, V):
        r"""$g_\max\,s\,B(V)$, nS: the conductance, Mg²⁺ block at mean potential ``V`` (mV)."""
        return jnp.asarray(self.g_max) * s * self.unblocked(V)

    def rate_time_constants(self):
        return {"tau_rise": self.tau_rise, "tau_decay": self.tau_decay}


class GABABReceptor(AbstractReceptor):
    r"""GABA_B receptor with G-protein activation (Destexhe et al. 1996 second-order scheme).

    $$\frac{dR}{dt} = K_1 T(t)(1 - R) - K_2 R, \qquad \frac{dG}{dt} = K_3 R - K_4 G,
      \qquad g = g_\max \frac{G^n}{G^n + K_D}$$

    $R$ is the fraction of activated receptors and $G$ the concentration of activated
    G-protein (in the scheme's own units, in which $K_D$ is given). The Hill function of
    $G$ with $n = 4$ binding sites makes the response strongly nonlinear: single spikes
    open few channels, bursts open many, and the conductance peaks tens of ms after the
    pulse (see ``multiscale.validation._synapse_kinetics``). The current is
    $I = g\,(V - E_\mathrm{rev})$ with $E_\mathrm{rev} = E_K$.

    Attributes:
        K1: receptor activation rate constant, 1/(s·mM) (0.52 ms⁻¹ mM⁻¹).
        K2: receptor deactivation rate constant, 1/s (0.0013 ms⁻¹).
        K3: G-protein production rate constant, 1/s (0.098 ms⁻¹).
        K4: G-protein removal rate constant, 1/s (0.033 ms⁻¹).
        KD: dissociation constant of the G-protein binding to K⁺ channels, in units of
            $G^n$ (100).
        n: number of G-protein binding sites, dimensionless (4).
        Cmax: transmitter concentration during a pulse, mM (0.5).
        Cdur: pulse duration, s (0.3 ms).
        E_rev: reversal potential (K⁺), mV (−95).
        g_max: peak conductance, nS (0.1, the ModelDB 18500 demo value).

    References:
        Destexhe A, Sejnowski TJ (1995) PNAS 92:9515; Destexhe A, Bal T, McCormick DA,
        Sejnowski TJ (1996) J Neurophysiol 76:2049. Constants from ModelDB 18500 and
        18198 ``gabab.mod`` ("from Kfit with long pulse", fitted to Otis et al. 1993).
    """

    K1: Float[ArrayLike, ""] = 520.0
    K2: Float[ArrayLike, ""] = 1.3
    K3: Float[ArrayLike, ""] = 98.0
    K4: Float[ArrayLike, ""] = 33.0
    KD: Float[ArrayLike, ""] = 100.0
    n: Float[ArrayLike, ""] = 4.0
    Cmax: Float[ArrayLike, ""] = 0.5
    Cdur: Float[ArrayLike, ""] = 3e-4
    E_rev: Float[ArrayLike, ""] = -95.0
    g_max: Float[ArrayLike, ""] = 0.1

    def __check_init__(self):
        check_fields(
            "GABABReceptor",
            self,
            Constraints(
                positive=("K1", "K2", "K3", "K4", "KD", "n", "Cmax", "Cdur"),
                nonnegative=("g_max",),
                finite=("E_rev",),
            ),
        )

    def init_state(self) -> Float[Array, " 2"]:
        return jnp.zeros(2, dtype=jnp.result_type(float))

    def vector_field(self, T: Float[ArrayLike, ""], y: Float[Array, " 2"]) -> Float[Array, " 2"]:
        R, G = y[0], y[1]
        dR = self.K1 * T * (1.0 - R) - self.K2 * R
        dG = self.K3 * R - self.K4 * G
        return jnp.stack([dR, dG])

    def open_fraction(self, y: Float[Array, "*batch 2"]) -> Float[Array, "*batch"]:
        # G >= 0 in the exact dynamics; an adaptive solver can undershoot by rounding
        # near G = 0, where a fractional power of a negative number would be NaN.
        Gn = jnp.power(jnp.maximum(y[..., 1], 0.0), self.n)
        return Gn / (Gn + self.KD)

    def unblocked(self, V: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        V = jnp.asarray(V)
        return jnp.ones(V.shape, dtype=jnp.result_type(V.dtype, float))


def ampa(g_max: Float[ArrayLike, ""] = 0.1) -> FirstOrderReceptor:
    """AMPA receptor of ModelDB 18500 ``ampa.mod`` (Destexhe, Mainen & Sejnowski 1998).

    alpha = 1.1 ms⁻¹ mM⁻¹ = 1100 s⁻¹ mM⁻¹, beta = 0.19 ms⁻¹ = 190 s⁻¹, Cmax = 1 mM,
    Cdur = 1 ms, E_rev = 0 mV. ``g_max`` in nS (0.1 nS, the demo value).
    """
    return FirstOrderReceptor(
        alpha=1100.0, beta=190.0, Cmax=1.0, Cdur=1e-3, E_rev=0.0, g_max=g_max, block=None
    )


def nmda(g_max: Float[ArrayLike, ""] = 1.0, Mg: Float[ArrayLike, ""] = 1.0) -> FirstOrderReceptor:
    """NMDA receptor of ModelDB 18500 ``nmda.mod`` with the Jahr–Stevens Mg²⁺ block.

    alpha = 0.072 ms⁻¹ mM⁻¹ = 72 s⁻¹ mM⁻¹, beta = 0.0066 ms⁻¹ = 6.6 s⁻¹, Cmax = 1 mM,
    Cdur = 1 ms, E_rev = 0 mV, block = ``MgBlock(Mg)`` with ``Mg`` in mM (1 mM).
    ``g_max`` in nS (1 nS, the demo value). Destexhe, Mainen & Sejnowski 1998; block of
    Jahr & Stevens 1990.
    """
    return FirstOrderReceptor(
        alpha=72.0, beta=6.6, Cmax=1.0, Cdur=1e-3, E_rev=0.0, g_max=g_max, block=MgBlock(Mg=Mg)
    )


def gabaa(g_max: Float[ArrayLike, ""] = 1.0) -> FirstOrderReceptor:
    """GABA_A receptor of ModelDB 18500 ``gabaa.mod`` (Destexhe, Mainen & Sejnowski 1998).

    alpha = 5 ms⁻¹ mM⁻¹ = 5000 s⁻¹ mM⁻¹, beta = 0.18 ms⁻¹ = 180 s⁻¹, Cmax = 1 mM,
    Cdur = 1 ms, E_rev = −80 mV. ``g_max`` in nS (1 nS, the demo value).
    """
    return FirstOrderReceptor(
        alpha=5000.0, beta=180.0, Cmax=1.0, Cdur=1e-3, E_rev=-80.0, g_max=g_max, block=None
    )


def gabab(g_max: Float[ArrayLike, ""] = 0.1) -> GABABReceptor:
    """GABA_B receptor of ModelDB 18500 ``gabab.mod``; the defaults of :class:`GABABReceptor`."""
    return GABABReceptor(g_max=g_max)
