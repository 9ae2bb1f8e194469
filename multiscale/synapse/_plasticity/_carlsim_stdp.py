r"""The neuromodulated STDP of CARLsim 6 (DA_MOD, SE_MOD, AC_MOD, NE_MOD), in rate form.

CARLsim's four single-modulator STDP rules are one rule in which only the modulator
whose concentration multiplies the eligibility differs (Niedermeier et al. 2022). On
each nearest-neighbour pairing at lag $\Delta t$ the eligibility $c_{ij}$ gains
$A_+ e^{-\Delta t/\tau_+}$ (pre before post) or $A_- e^{-\Delta t/\tau_-}$ (post
before pre; $A_- \le 0$ in CARLsim's sign convention); every update interval $T_u$

$$w_{ij} \leftarrow \mathrm{clip}\big(w_{ij} + s\,M\,c_{ij},\ 0,\ w_\max\big),
  \qquad c_{ij} \leftarrow d\,c_{ij},$$

with $M$ the concentration of the modulator in the postsynaptic group. Above its
baseline $M$ decays by the factor $1 - 1\,\mathrm{ms}/\tau_M$ every millisecond and each
modulatory spike adds ``release``. Defaults: the constructor's $T_u$ = 1 s, $s = 1$,
$d = 0$ (the STDP accumulated over each second is applied once, times $M$ at that
moment, and cleared); with weight-change decay enabled, $s$ = 0.005, 0.05, 0.5 for
$T_u$ = 10, 100, 1000 ms and $d = 0.9$ (:func:`carlsim_stdp`). The short form of
``setNeuromodulator`` sets every baseline to 1 and every $\tau_M$ to 100 ms, so at
baseline DA_MOD is standard STDP scaled by 1 and only phasic release above it
amplifies learning.

Consequences (exact algebra, checked by ``multiscale validate``): one eligibility
increment $c_0$ with $M$ constant gives in total $\Delta w = s\,M\,c_0/(1 - d)$ (1.0
$M c_0$ at $s = 0.05$, $d = 0.95$); with $M \equiv 0$ nothing changes.

Rate form. With Poisson pre- and postsynaptic rates $x, y$ held over a step, the
nearest-neighbour increments accrue at the expected rate
$h = y\,A_+\,\bar r(x, \tau_+) + x\,A_-\,\bar r(y, \tau_-)$,
$\bar r(\rho, \tau) = \rho\tau/(1 + \rho\tau)$; the updates that fall in the step are
then summed in closed form (geometric series in $d$ and in the modulator's decay), so
a step of any length is exact for this drift. The state keeps the time since the last
update, so updates stay on CARLsim's grid across steps. Clipping is applied once per
step (exact while $w$ moves monotonically).

PKA/PLC push–pull (CARLsim ``PKA_PLC_MOD``, after Nadim & Bucher 2014):
:func:`pka_plc_amplitudes` gives the amplitudes, :class:`PkaPlcSTDP` the rule in which
noradrenaline and acetylcholine reshape the STDP window.

Not reproduced, on purpose: CARLsim's CPU path with homeostasis on sets the weight
change of the modulated E-STDP to the modulator concentration alone (the eligibility
term is dropped; the GPU path multiplies correctly), and some builds decay only
dopamine.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, checked, error_if
from ..._typing import ScalarLike
from ._modulator_kinetics import (
    AbstractModulatorKinetics,
    AcetylcholineKinetics,
    DopamineKinetics,
    NoradrenalineKinetics,
)
from ._rate_rule import (
    AbstractBounds,
    AbstractRateRule,
    HardBounds,
    ModulatorSignals,
    check_duration,
    check_rates,
)
from ._stdp import NearestSpike

Param = Float[ArrayLike, ""]
_MS = 1e-3  # CARLsim's modulator decay step, s
# Updates that fall within this fraction of an interval of a step's end count as inside
# it (float32 sums of step lengths, e.g. 0.3 + 0.1, would otherwise miss a grid point).
_GRID_TOL = 1e-5


class CarlsimSTDPState(eqx.Module):
    """State of :class:`CarlsimSTDP`.

    Attributes:
        weights: synaptic weights, shape (pre, post).
        eligibility: eligibility $c$, shape (pre, post), weight unit.
        phasic: modulator concentration above its tonic level, dimensionless.
        level: level held by the session's signals, dimensionless (>= 0).
        phase: time since the last weight update, s, in [0, T_u).
    """

    weights: Float[Array, "pre post"]
    eligibility: Float[Array, "pre post"]
    phasic: Float[Array, ""]
    level: Float[Array, ""]
    phase: Float[Array, ""]


def _geometric(r, n):
    """$\\sum_{k=0}^{n-1} r^k$ for $0 \\le r < 1$ and $n \\ge 0$ (0 at n = 0)."""
    return jnp.where(n > 0, (1.0 - r**n) / (1.0 - r), 0.0)


class CarlsimSTDP(AbstractRateRule):
    r"""CARLsim 6 neuromodulated STDP (module docstring), any one modulator as third factor.

    The modulator is a kinetics Module: :class:`DopamineKinetics` for DA_MOD,
    :class:`SerotoninKinetics` for SE_MOD, :class:`AcetylcholineKinetics` for AC_MOD,
    :class:`NoradrenalineKinetics` for NE_MOD; its ``tonic`` is CARLsim's baseline and
    its ``tau`` the decay constant $\tau_M$ (> 1 ms).

    Attributes:
        A_plus: LTP amplitude, weight unit, >= 0 (0.001, ``setDefaultESTDPparams``).
        A_minus: LTD amplitude, weight unit, <= 0 (-0.0012, CARLsim's sign convention).
        tau_plus: LTP window, s (0.020).
        tau_minus: LTD window, s (0.020).
        update_interval: $T_u$, s (1.0: the SNN constructor's default).
        scale: $s$, >= 0 (1.0, the constructor's default).
        decay: $d$, eligibility kept per update, in [0, 1) (0.0: cleared each update).
        modulator: the third factor's kinetics (``DopamineKinetics(tonic=1, tau=0.1)``:
            the short-form ``setNeuromodulator`` defaults, baseline 1, 100 ms).
        bounds: weight bounds (``HardBounds(0, 1)``; CARLsim clips to [0, w_max]).

    References:
        Niedermeier L, Chen K, Xing J, Das A, Kopsick J, Scott E, Sutton N, Weber K,
        Dutt N, Krichmar JL (2022) CARLsim 6: an open source library for large-scale,
        biologically detailed spiking neural network simulation. Proc. IJCNN (the rule,
        its constants and defaults as in the library's code and documentation).
        Izhikevich EM (2007) Cereb Cortex 17:2443.
    """

    A_plus: Param = 0.001
    A_minus: Param = -0.0012
    tau_plus: Param = 0.020
    tau_minus: Param = 0.020
    update_interval: Param = 1.0
    scale: Param = 1.0
    decay: Param = 0.0
    modulator: AbstractModulatorKinetics = DopamineKinetics(tonic=1.0, tau=0.1)
    bounds: AbstractBounds = HardBounds(0.0, 1.0)
    constraints = Constraints(
        positive=("tau_plus", "tau_minus", "update_interval"),
        nonnegative=("A_plus", "scale"),
        fraction=("decay",),
    )

    def __check_init__(self):
        check_fields("CarlsimSTDP", self, self.constraints)
        if not isinstance(self.modulator, AbstractModulatorKinetics):
            raise TypeError(
                "CarlsimSTDP `modulator` must be an AbstractModulatorKinetics (e.g. "
                f"DopamineKinetics(tonic=1.0, tau=0.1)), got {type(self.modulator).__name__}"
            )
        for name, bad, words in (
            ("A_minus", lambda v: not v <= 0, "<= 0 (CARLsim's sign convention)"),
            ("decay", lambda v: not v < 1, "< 1 (the eligibility must fade)"),
        ):
            value = getattr(self, name)
            if isinstance(value, int | float) and bad(value):
                raise ValueError(f"CarlsimSTDP `{name}` must be {words}, got {value}")
        tau = self.modulator.tau
        if isinstance(tau, int | float) and not tau > _MS:
            raise ValueError(f"CarlsimSTDP `modulator.tau` must be > 1 ms (0.001 s), got {tau}")

    def _checked(self):
        rule = checked("CarlsimSTDP", self, self.constraints)
        a_minus = error_if(
            jnp.asarray(rule.A_minus), jnp.asarray(rule.A_minus) > 0, "`A_minus` must be <= 0"
        )
        decay = error_if(jnp.asarray(rule.decay), jnp.asarray(rule.decay) >= 1, "`decay` < 1")
        kin = rule.modulator.checked()
        tau = error_if(
            jnp.asarray(kin.tau), jnp.asarray(kin.tau) <= _MS, "`modulator.tau` must be > 1 ms"
        )
        return rule, a_minus, decay, kin, tau

    def init(self, weights: Float[Array, "pre post"]) -> CarlsimSTDPState:
        w = jnp.asarray(weights)
        if w.ndim != 2:
            raise ValueError(f"`weights` must have shape (pre, post), got {w.shape}")
        z = jnp.zeros((), w.dtype)
        return CarlsimSTDPState(w, jnp.zeros_like(w), z, z, z)

    def eligibility_rate(
        self, pre_rate: Float[Array, " pre"], post_rate: Float[Array, " post"]
    ) -> Float[Array, "pre post"]:
        """Expected eligibility increments per s, $h$, for Poisson rates (Hz)."""
        m = NearestSpike().mean_trace
        x, y = pre_rate[:, None], post_rate[None, :]
        return y * self.A_plus * m(x, self.tau_plus) + x * self.A_minus * m(y, self.tau_minus)

    def concentration(self, state: CarlsimSTDPState) -> Float[Array, ""]:
        """The modulator concentration $M$ now (baseline + held level + phasic)."""
        return jnp.asarray(self.modulator.tonic, state.phasic.dtype) + state.level + state.phasic

    def _advance(self, state: CarlsimSTDPState, h, T) -> CarlsimSTDPState:
        rule, _, d, kin, tau = self._checked()
        dt = T.dtype
        Tu = jnp.asarray(rule.update_interval, dt)
        s = jnp.asarray(rule.scale, dt)
        d = d.astype(dt)
        lam = -jnp.log1p(-_MS / tau.astype(dt)) / _MS  # CARLsim's per-ms decay as a rate
        phi, c0, p0 = state.phase, state.eligibility, state.phasic
        base = jnp.asarray(kin.tonic, dt) + state.level
        n = jnp.floor((phi + T) / Tu + _GRID_TOL)
        c1 = c0 + h * (Tu - phi)  # eligibility at the first update
        g = h * Tu / (1.0 - d)
        a = jnp.exp(-lam * (Tu - phi))
        b = jnp.exp(-lam * Tu)
        dw = s * (
            base * ((c1 - g) * _geometric(d, n) + g * n)
            + p0 * a * (g * _geometric(b, n) + (c1 - g) * _geometric(b * d, n))
        )
        new_phase = jnp.maximum(phi + T - n * Tu, 0.0)
        c_last = d ** jnp.maximum(n - 1.0, 0.0) * (c1 - g) + g  # just before the last update
        c = jnp.where(n > 0, d * c_last + h * new_phase, c0 + h * T)
        w = self.bounds.apply(state.weights, dw)
        return CarlsimSTDPState(w, c, p0 * jnp.exp(-lam * T), state.level, new_phase)

    def step(
        self,
        state: CarlsimSTDPState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> CarlsimSTDPState:
        """State after ``duration`` (s) at constant Poisson rates (Hz), updates on the grid."""
        x, y = check_rates(state.weights, pre_rate, post_rate)
        T = check_duration(duration, state.weights.dtype)
        return self._advance(state, self.eligibility_rate(x, y), T)

    def relax(self, state: CarlsimSTDPState, duration: ScalarLike) -> CarlsimSTDPState:
        """State after ``duration`` (s) without spikes: updates convert what eligibility is left."""
        T = check_duration(duration, state.weights.dtype)
        return self._advance(state, jnp.zeros_like(state.eligibility), T)

    def release(self, state: CarlsimSTDPState, amount: ScalarLike) -> CarlsimSTDPState:
        """Add ``amount`` to the modulator now (CARLsim: ``release`` per modulatory spike).

        The concentration is not taken below 0 (a dip empties the phasic part at most).
        """
        a = jnp.asarray(amount, state.phasic.dtype)
        if a.ndim != 0:
            raise ValueError(f"`amount` must be a scalar, got shape {a.shape}")
        a = error_if(a, ~jnp.isfinite(a), "`amount` must be finite")
        floor = -(jnp.asarray(self.modulator.tonic, a.dtype) + state.level)
        return eqx.tree_at(lambda st: st.phasic, state, jnp.maximum(state.phasic + a, floor))

    def signal(self, state: CarlsimSTDPState, signals: ModulatorSignals) -> CarlsimSTDPState:
        """The modulator's release and held level from a session's ``signals``."""
        level = self.modulator.held_level(signals).astype(state.level.dtype)
        state = eqx.tree_at(lambda st: st.level, state, level)
        return self.release(state, self.modulator.released(signals))


_SETTINGS = {10: 0.005, 100: 0.05, 1000: 0.5}


def carlsim_stdp(
    update_interval_ms: int = 1000,
    *,
    weight_change_decay: bool = True,
    decay: float = 0.9,
    **fields,
) -> CarlsimSTDP:
    """CARLsim's ``setWeightAndWeightChangeUpdate(interval, enableDecay, decay)`` settings.

    Args:
        update_interval_ms: 10, 100 or 1000 (CARLsim's choices).
        weight_change_decay: True: $s$ = 0.005, 0.05, 0.5 for 10, 100, 1000 ms and
            $d$ = ``decay``; False: $s = 1$, $d = 0$.
        decay: $d$ when decay is enabled (0.9, the argument's default).
        **fields: other fields of :class:`CarlsimSTDP` (amplitudes, modulator, bounds).
    """
    if update_interval_ms not in _SETTINGS:
        raise ValueError(
            f"`update_interval_ms` must be 10, 100 or 1000 (CARLsim), got {update_interval_ms!r}"
        )
    s, d = (_SETTINGS[update_interval_ms], decay) if weight_change_decay else (1.0, 0.0)
    return CarlsimSTDP(update_interval=update_interval_ms * 1e-3, scale=s, decay=d, **fields)


def pka_plc_amplitudes(
    noradrenaline: Real[ArrayLike, "..."],
    acetylcholine: Real[ArrayLike, "..."],
    *,
    A_plus: ScalarLike = 0.08,
    A_minus: ScalarLike = -0.12,
    w_pka: ScalarLike = 1.0,
    w_plc: ScalarLike = 1.0,
) -> tuple[Array, Array]:
    r"""Effective STDP amplitudes of CARLsim's PKA/PLC-modulated STDP.

    With $n_\mathrm{PKA} = w_\mathrm{PKA}[\mathrm{NE}]$ and
    $n_\mathrm{PLC} = w_\mathrm{PLC}[\mathrm{ACh}]$,

    $$A_+^\mathrm{eff} = (2 n_\mathrm{PKA} - n_\mathrm{PLC})\,A_+, \qquad
      A_-^\mathrm{eff} = (2 n_\mathrm{PLC} - n_\mathrm{PKA})\,A_-$$

    ($A_- < 0$): noradrenaline (PKA) promotes LTP and turns LTD into potentiation;
    acetylcholine (PLC) promotes LTD and turns LTP into depression, the push–pull
    control that CARLsim's documentation attributes to Nadim & Bucher (2014). The
    defaults $A_+ = 0.08$, $A_- = -0.12$ are those of the documentation's table.

    Returns:
        ``(A_plus_eff, A_minus_eff)``, broadcast over the concentrations.

    References:
        Niedermeier L et al. (2022) CARLsim 6. Proc. IJCNN.
        Nadim F, Bucher D (2014) Neuromodulation of neurons and synapses. Curr Opin
        Neurobiol 29:48.
    """
    ne = jnp.asarray(noradrenaline, jnp.result_type(float))
    ach = jnp.asarray(acetylcholine, ne.dtype)
    ne = error_if(ne, jnp.any(~(jnp.isfinite(ne) & (ne >= 0))), "`noradrenaline` must be >= 0")
    ach = error_if(ach, jnp.any(~(jnp.isfinite(ach) & (ach >= 0))), "`acetylcholine` must be >= 0")
    n_pka = jnp.asarray(w_pka, ne.dtype) * ne
    n_plc = jnp.asarray(w_plc, ne.dtype) * ach
    return (2.0 * n_pka - n_plc) * A_plus, (2.0 * n_plc - n_pka) * A_minus


class PkaPlcState(eqx.Module):
    """State of :class:`PkaPlcSTDP`.

    Attributes:
        weights: synaptic weights, shape (pre, post).
        noradrenaline: noradrenaline level held by the session's signals (>= 0).
        acetylcholine: acetylcholine level held by the session's signals (>= 0).
    """

    weights: Float[Array, "pre post"]
    noradrenaline: Float[Array, ""]
    acetylcholine: Float[Array, ""]


class PkaPlcSTDP(AbstractRateRule):
    r"""STDP whose window noradrenaline and acetylcholine reshape (CARLsim ``PKA_PLC_MOD``).

    Nearest-neighbour STDP in rate form with the push–pull amplitudes of
    :func:`pka_plc_amplitudes` at the concentrations
    $[\mathrm{NE}] = M^\mathrm{NE}_\mathrm{tonic} + L_\mathrm{NE}$ and
    $[\mathrm{ACh}] = M^\mathrm{ACh}_\mathrm{tonic} + L_\mathrm{ACh}$ (held levels
    from :meth:`signal`):

    $$\frac{dw}{dt} = y\,A_+^\mathrm{eff}\,\bar r(x, \tau_+)
      + x\,A_-^\mathrm{eff}\,\bar r(y, \tau_-),$$

    integrated exactly through the bounds (constant drift over a step). At CARLsim's
    baselines (both tonic levels 1) the amplitudes are $A_\pm$; more noradrenaline
    strengthens LTP and turns LTD into potentiation, more acetylcholine the reverse.
    Phasic releases are not part of this rule (the levels are constant between signals).

    Attributes:
        A_plus: LTP amplitude, weight unit, >= 0 (0.001, CARLsim's E-STDP default).
        A_minus: LTD amplitude, weight unit, <= 0 (-0.0012).
        tau_plus: LTP window, s (0.020).
        tau_minus: LTD window, s (0.020).
        w_pka: weight of noradrenaline on PKA, >= 0 (1).
        w_plc: weight of acetylcholine on PLC, >= 0 (1).
        noradrenaline: NE kinetics (``tonic`` = 1, CARLsim's baseline).
        acetylcholine: ACh kinetics (``tonic`` = 1).
        bounds: weight bounds (``HardBounds(0, 1)``).

    References:
        Niedermeier L et al. (2022) CARLsim 6. Proc. IJCNN.
        Nadim F, Bucher D (2014) Curr Opin Neurobiol 29:48.
    """

    A_plus: Param = 0.001
    A_minus: Param = -0.0012
    tau_plus: Param = 0.020
    tau_minus: Param = 0.020
    w_pka: Param = 1.0
    w_plc: Param = 1.0
    noradrenaline: NoradrenalineKinetics = NoradrenalineKinetics(tonic=1.0, tau=0.1)
    acetylcholine: AcetylcholineKinetics = AcetylcholineKinetics(tonic=1.0, tau=0.1)
    bounds: AbstractBounds = HardBounds(0.0, 1.0)
    constraints = Constraints(
        positive=("tau_plus", "tau_minus"), nonnegative=("A_plus", "w_pka", "w_plc")
    )

    def __check_init__(self):
        check_fields("PkaPlcSTDP", self, self.constraints)
        if isinstance(self.A_minus, int | float) and not self.A_minus <= 0:
            raise ValueError(
                f"PkaPlcSTDP `A_minus` must be <= 0 (CARLsim's sign convention), got {self.A_minus}"
            )

    def init(self, weights: Float[Array, "pre post"]) -> PkaPlcState:
        w = jnp.asarray(weights)
        if w.ndim != 2:
            raise ValueError(f"`weights` must have shape (pre, post), got {w.shape}")
        z = jnp.zeros((), w.dtype)
        return PkaPlcState(w, z, z)

    def amplitudes(self, state: PkaPlcState) -> tuple[Array, Array]:
        r"""$(A_+^\mathrm{eff}, A_-^\mathrm{eff})$ at the state's concentrations."""
        rule = checked("PkaPlcSTDP", self, self.constraints)
        dt = state.weights.dtype
        ne = jnp.asarray(rule.noradrenaline.checked().tonic, dt) + state.noradrenaline
        ach = jnp.asarray(rule.acetylcholine.checked().tonic, dt) + state.acetylcholine
        return pka_plc_amplitudes(
            ne, ach, A_plus=rule.A_plus, A_minus=rule.A_minus, w_pka=rule.w_pka, w_plc=rule.w_plc
        )

    def step(
        self,
        state: PkaPlcState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> PkaPlcState:
        """Weights after ``duration`` (s) at constant Poisson rates (Hz): exact."""
        x, y = check_rates(state.weights, pre_rate, post_rate)
        T = check_duration(duration, state.weights.dtype)
        a_plus, a_minus = self.amplitudes(state)
        m = NearestSpike().mean_trace
        xs, ys = x[:, None], y[None, :]
        drift = ys * a_plus * m(xs, self.tau_plus) + xs * a_minus * m(ys, self.tau_minus)
        w = self.bounds.flow(state.weights, drift, T)
        return PkaPlcState(w, state.noradrenaline, state.acetylcholine)

    def relax(self, state: PkaPlcState, duration: ScalarLike) -> PkaPlcState:
        """Unchanged: the drift needs spikes (``duration`` is still checked, s >= 0)."""
        check_duration(duration, state.weights.dtype)
        return state

    def signal(self, state: PkaPlcState, signals: ModulatorSignals) -> PkaPlcState:
        """The noradrenaline and acetylcholine levels held by a session's ``signals``."""
        dt = state.weights.dtype
        return PkaPlcState(
            state.weights,
            self.noradrenaline.held_level(signals).astype(dt),
            self.acetylcholine.held_level(signals).astype(dt),
        )
