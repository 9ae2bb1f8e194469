r"""Neuromodulator kinetics, and an eligibility rule whose sign depends on release timing.

**Kinetics.** The concentration of each ascending modulator (dopamine, acetylcholine,
noradrenaline, serotonin) is a tonic level plus a phasic part that each release raises
and clearance (reuptake, degradation) removes with a time constant $\tau_M$:

$$M(t) = M_\mathrm{tonic} + L + p(t),\qquad \frac{dp}{dt} = -\frac{p}{\tau_M}
  + \sum_k a_k\,\delta(t - t_k),$$

with $L$ the level a session holds in force
(:class:`~multiscale.synapse.ModulatorSignals`). Levels are dimensionless (the
three-factor convention for dopamine, 1/s per unit, is kept when a session's dopamine
burst is the release). Each modulator is a Module (:class:`DopamineKinetics`,
:class:`AcetylcholineKinetics`, :class:`NoradrenalineKinetics`,
:class:`SerotoninKinetics`) that says which part of a session's signals it takes as a
release and which as a level: the session releases dopamine (the outcome's burst or
dip) and holds acetylcholine, noradrenaline and serotonin at the trial's levels.

**Timing.** :class:`ModulatedEligibility` lets pre/post coincidences write an
eligibility trace that a later modulator converts into a weight change, while the
coincidence itself depresses the synapse a little when no modulator comes:

$$\frac{dc}{dt} = -\frac{c}{\tau_c} + H,\quad H = \eta\,x\,y,\qquad
  \frac{dw}{dt} = -\rho\,H + \sum_m \kappa_m\,M_m(t)\,c(t).$$

Whether a pairing ends in potentiation or depression therefore depends on *when* the
modulator is released relative to the activity: a dopamine release within about
$\tau_c$ after the pairing converts the trace (net LTP); released long after, or
before the pairing and cleared by the time it happens, it finds no trace, and the
pairing's own depression remains (net LTD). This is the retroactive conversion of
t-LTD into t-LTP by dopamine applied after pairing (Brzosko, Schultz & Paulsen 2015)
and the distinct modulator-gated eligibility traces of He et al. (2015), where
noradrenaline (β-adrenergic) converts traces into LTP and serotonin (5-HT2C) into LTD;
acetylcholine during pairing biases towards depression (Brzosko et al. 2017). The signs
of $\kappa_m$ follow these directions; their sizes, $\eta$, $\rho$, $\tau_c$ and the
clearance constants are model choices (no dose–response that fixes them was available).

Between events $H$ and the tonic levels are constant, so $c$, $p_m$ and $w$ are
integrated exactly (the closed form of :mod:`._three_factor`, per modulator).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, checked, error_if
from ..._typing import ScalarLike
from ._rate_rule import (
    AbstractBounds,
    AbstractRateRule,
    HardBounds,
    ModulatorSignals,
    check_duration,
    check_rates,
)

Param = Float[ArrayLike, ""]
_KINETICS = Constraints(positive=("tau",), nonnegative=("tonic",))


def _one_minus_exp(T, tau):
    return -jnp.expm1(-T / tau)


class AbstractModulatorKinetics(eqx.Module):
    r"""One neuromodulator's concentration: tonic level, phasic release, clearance.

    Concrete kinetics are final classes with fields ``tonic`` (dimensionless, >= 0) and
    ``tau`` (clearance time constant, s, > 0) and say which parts of a session's
    :class:`ModulatorSignals` they take as a release and as a held level. Values are
    checked at construction and, under ``jit``, wherever the kinetics are used
    (``eqx.error_if``, naming the field).
    """

    tonic: eqx.AbstractVar[Param]
    tau: eqx.AbstractVar[Param]
    constraints = _KINETICS

    @abc.abstractmethod
    def released(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """The amount of this modulator that ``signals`` release now."""

    @abc.abstractmethod
    def held_level(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """The level $L$ of this modulator that ``signals`` hold in force (>= 0)."""

    def checked(self):
        """This Module with ``tonic`` and ``tau`` checked at run time (``eqx.error_if``)."""
        return checked(type(self).__name__, self, self.constraints)

    def decay(self, phasic: Real[ArrayLike, "..."], duration: ScalarLike) -> Array:
        r"""Phasic concentration after ``duration`` (s) of clearance: $p\,e^{-T/\tau_M}$."""
        k = self.checked()
        p = jnp.asarray(phasic)
        T = check_duration(duration, p.dtype)
        return p * jnp.exp(-T / jnp.asarray(k.tau, p.dtype))

    def concentration(
        self,
        t: Real[ArrayLike, " times"],
        release_times: Real[ArrayLike, " releases"],
        amounts: Real[ArrayLike, " releases"],
        level: ScalarLike = 0.0,
    ) -> Float[Array, " times"]:
        r"""$M(t)$ (dimensionless) at times ``t`` (s) for releases at ``release_times`` (s).

        $M(t) = M_\mathrm{tonic} + L + \sum_{t_k \le t} a_k e^{-(t - t_k)/\tau_M}$.
        """
        k = self.checked()
        t = jnp.asarray(t, jnp.result_type(float))
        tk = jnp.asarray(release_times, t.dtype)
        a = jnp.asarray(amounts, t.dtype)
        if tk.shape != a.shape or tk.ndim != 1:
            raise ValueError(
                f"`release_times` and `amounts` must be 1-D of one length, got {tk.shape}, "
                f"{a.shape}"
            )
        lag = t[:, None] - tk[None, :]
        phasic = jnp.where(
            lag >= 0,
            a[None, :] * jnp.exp(-jnp.maximum(lag, 0.0) / jnp.asarray(k.tau, t.dtype)),
            0.0,
        )
        lv = jnp.asarray(level, t.dtype)
        lv = error_if(lv, ~(jnp.isfinite(lv) & (lv >= 0)), "`level` must be finite and >= 0")
        return jnp.asarray(k.tonic, t.dtype) + lv + jnp.sum(phasic, axis=1)


class DopamineKinetics(AbstractModulatorKinetics):
    """Dopamine: released by a session's outcome (``signals.dopamine``, burst or dip).

    Attributes:
        tonic: tonic level, dimensionless, >= 0 (0: no conversion without a release).
        tau: clearance time constant, s (0.2: Izhikevich 2007, ``daspnet.m`` decays
            dopamine by 0.995 per ms).
    """

    tonic: Param = 0.0
    tau: Param = 0.2

    def __check_init__(self):
        check_fields("DopamineKinetics", self, _KINETICS)

    def released(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return signals.dopamine

    def held_level(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return jnp.zeros_like(signals.dopamine)


class AcetylcholineKinetics(AbstractModulatorKinetics):
    """Acetylcholine: held at ``signals.acetylcholine``; phasic releases by :meth:`release`.

    Attributes:
        tonic: tonic level, dimensionless, >= 0 (0).
        tau: clearance time constant, s (0.1: the default of CARLsim's
            ``setNeuromodulator``, Niedermeier et al. 2022; model choice).
    """

    tonic: Param = 0.0
    tau: Param = 0.1

    def __check_init__(self):
        check_fields("AcetylcholineKinetics", self, _KINETICS)

    def released(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return jnp.zeros_like(signals.acetylcholine)

    def held_level(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return signals.acetylcholine


class NoradrenalineKinetics(AbstractModulatorKinetics):
    """Noradrenaline: held at ``signals.noradrenaline``.

    Attributes:
        tonic: tonic level, dimensionless, >= 0 (0).
        tau: clearance time constant, s (0.1, CARLsim default; model choice).
    """

    tonic: Param = 0.0
    tau: Param = 0.1

    def __check_init__(self):
        check_fields("NoradrenalineKinetics", self, _KINETICS)

    def released(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return jnp.zeros_like(signals.noradrenaline)

    def held_level(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return signals.noradrenaline


class SerotoninKinetics(AbstractModulatorKinetics):
    """Serotonin: held at ``signals.serotonin``.

    Attributes:
        tonic: tonic level, dimensionless, >= 0 (0).
        tau: clearance time constant, s (0.1, CARLsim default; model choice).
    """

    tonic: Param = 0.0
    tau: Param = 0.1

    def __check_init__(self):
        check_fields("SerotoninKinetics", self, _KINETICS)

    def released(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return jnp.zeros_like(signals.serotonin)

    def held_level(self, signals: ModulatorSignals) -> Float[Array, ""]:
        return signals.serotonin


def _check_kinetics(owner: str, kinetics) -> None:
    if not (
        isinstance(kinetics, tuple)
        and kinetics
        and all(isinstance(k, AbstractModulatorKinetics) for k in kinetics)
    ):
        raise TypeError(
            f"{owner} `kinetics` must be a non-empty tuple of AbstractModulatorKinetics "
            f"(e.g. DopamineKinetics()), got {kinetics!r}"
        )


class ModulatedEligibilityState(eqx.Module):
    """State of :class:`ModulatedEligibility`.

    Attributes:
        weights: synaptic weights, shape (pre, post), weight unit.
        eligibility: eligibility trace $c$, shape (pre, post), weight unit.
        phasic: phasic concentration $p_m$ of each modulator, shape (modulators,).
        levels: held level $L_m$ of each modulator, shape (modulators,).
    """

    weights: Float[Array, "pre post"]
    eligibility: Float[Array, "pre post"]
    phasic: Float[Array, " modulators"]
    levels: Float[Array, " modulators"]


class ModulatedEligibility(AbstractRateRule):
    r"""Hebbian eligibility converted by modulators with their own kinetics (module docstring).

    Attributes:
        eta: coincidence rate $\eta$, weight unit per (Hz² s), >= 0 (1e-4).
        rho: immediate depression per unit coincidence $\rho$, dimensionless, >= 0 (0.5:
            a pairing without modulator depresses; model choice).
        tau_c: eligibility time constant, s (1.0, as Izhikevich 2007; model choice).
        kinetics: the modulators, a tuple of :class:`AbstractModulatorKinetics`
            (default dopamine, noradrenaline, serotonin, acetylcholine).
        gains: $\kappa_m$ per modulator, 1/s per unit concentration, shape
            (modulators,) (default (+1, +1, -1, -1): dopamine and noradrenaline convert
            traces into LTP, serotonin and acetylcholine into LTD; sizes model choices).
        bounds: weight bounds (``HardBounds(0, 1)``; applied once per integrated
            interval, exact while $w$ moves monotonically).

    Example:
        >>> import jax.numpy as jnp
        >>> rule = ModulatedEligibility()
        >>> s = rule.step(rule.init(jnp.full((1, 1), 0.5)), jnp.array([10.0]),
        ...               jnp.array([10.0]), 1.0)
        >>> late = rule.relax(rule.signal(rule.relax(s, 5.0), ModulatorSignals(10.0)), 10.0)
        >>> soon = rule.relax(rule.signal(s, ModulatorSignals(10.0)), 15.0)
        >>> bool(late.weights[0, 0] < 0.5 < soon.weights[0, 0])
        True

    References:
        Brzosko Z, Schultz W, Paulsen O (2015) Retroactive modulation of spike
        timing-dependent plasticity by dopamine. eLife 4:e09685.
        Brzosko Z, Zannone S, Schultz W, Clopath C, Paulsen O (2017) Sequential
        neuromodulation of Hebbian plasticity offers mechanism for effective reward-based
        navigation. eLife 6:e27756.
        He K et al. (2015) Distinct eligibility traces for LTP and LTD in cortical
        synapses. Neuron 88:528.
        Izhikevich EM (2007) Cereb Cortex 17:2443.
    """

    eta: Param = 1e-4
    rho: Param = 0.5
    tau_c: Param = 1.0
    kinetics: tuple = (
        DopamineKinetics(),
        NoradrenalineKinetics(),
        SerotoninKinetics(),
        AcetylcholineKinetics(),
    )
    gains: Float[ArrayLike, " modulators"] = eqx.field(
        default_factory=lambda: np.array([1.0, 1.0, -1.0, -1.0])
    )
    bounds: AbstractBounds = HardBounds(0.0, 1.0)
    constraints = Constraints(positive=("tau_c",), nonnegative=("eta", "rho"))

    def __check_init__(self):
        check_fields("ModulatedEligibility", self, self.constraints)
        _check_kinetics("ModulatedEligibility", self.kinetics)
        if jnp.shape(self.gains) != (len(self.kinetics),):
            raise ValueError(
                f"ModulatedEligibility `gains` must have one value per modulator, shape "
                f"({len(self.kinetics)},), got {jnp.shape(self.gains)}"
            )

    def init(self, weights: Float[Array, "pre post"]) -> ModulatedEligibilityState:
        w = jnp.asarray(weights)
        if w.ndim != 2:
            raise ValueError(f"`weights` must have shape (pre, post), got {w.shape}")
        z = jnp.zeros((len(self.kinetics),), w.dtype)
        return ModulatedEligibilityState(w, jnp.zeros_like(w), z, z)

    def _flow(self, state, drive, T):
        rule = checked("ModulatedEligibility", self, self.constraints)
        dt = T.dtype
        kin = [k.checked() for k in self.kinetics]
        tau_c = jnp.asarray(rule.tau_c, dt)
        tau_m = jnp.stack([jnp.asarray(k.tau, dt) for k in kin])
        tonic = jnp.stack([jnp.asarray(k.tonic, dt) for k in kin]) + state.levels
        gains = jnp.asarray(self.gains, dt)
        c0 = state.eligibility
        c_H = drive * tau_c
        # Integral of c over [0, T] and of p_m c (per modulator), exact for constant drive.
        int_c = c_H * T + (c0 - c_H) * tau_c * _one_minus_exp(T, tau_c)
        tau_cm = tau_c * tau_m / (tau_c + tau_m)
        int_pc = state.phasic[:, None, None] * (
            c_H[None] * (tau_m * _one_minus_exp(T, tau_m))[:, None, None]
            + (c0 - c_H)[None] * (tau_cm * _one_minus_exp(T, tau_cm))[:, None, None]
        )
        conversion = jnp.sum(gains * tonic) * int_c + jnp.tensordot(gains, int_pc, axes=1)
        dw = -jnp.asarray(rule.rho, dt) * drive * T + conversion
        w = self.bounds.apply(state.weights, dw)
        c = c_H + (c0 - c_H) * jnp.exp(-T / tau_c)
        return ModulatedEligibilityState(w, c, state.phasic * jnp.exp(-T / tau_m), state.levels)

    def step(
        self,
        state: ModulatedEligibilityState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> ModulatedEligibilityState:
        """State after ``duration`` (s) of activity at constant rates (Hz), exact."""
        x, y = check_rates(state.weights, pre_rate, post_rate)
        T = check_duration(duration, state.weights.dtype)
        return self._flow(state, jnp.asarray(self.eta, T.dtype) * x[:, None] * y[None, :], T)

    def relax(
        self, state: ModulatedEligibilityState, duration: ScalarLike
    ) -> ModulatedEligibilityState:
        """State after ``duration`` (s) without activity: traces meet the modulators."""
        T = check_duration(duration, state.weights.dtype)
        return self._flow(state, jnp.zeros_like(state.eligibility), T)

    def release(
        self, state: ModulatedEligibilityState, amounts: Real[ArrayLike, " modulators"]
    ) -> ModulatedEligibilityState:
        """Add phasic releases (one amount per modulator, in ``kinetics`` order) now."""
        a = jnp.asarray(amounts, state.phasic.dtype)
        if a.shape != state.phasic.shape:
            raise ValueError(
                f"`amounts` must have one value per modulator, shape {state.phasic.shape}, "
                f"got {a.shape}"
            )
        a = error_if(a, ~jnp.all(jnp.isfinite(a)), "`amounts` must be finite")
        return eqx.tree_at(lambda s: s.phasic, state, state.phasic + a)

    def signal(
        self, state: ModulatedEligibilityState, signals: ModulatorSignals
    ) -> ModulatedEligibilityState:
        """Releases and held levels from a session's ``signals`` (each kinetics chooses)."""
        released = jnp.stack([k.released(signals) for k in self.kinetics]).astype(
            state.phasic.dtype
        )
        levels = jnp.stack([k.held_level(signals) for k in self.kinetics]).astype(
            state.levels.dtype
        )
        return ModulatedEligibilityState(
            state.weights, state.eligibility, state.phasic + released, levels
        )
