r"""The interface of rate-based plasticity rules, and weight bounds as objects.

The circuit and population scales run a trial with fixed weights, then let a rule update
the weights from the trial's mean pre- and postsynaptic rates (DESIGN.md, "two time
scales"). Every such rule is an :class:`AbstractRateRule`: an ``(init, step)`` pair over
an explicit state, in the style of optax. Rates are held constant over ``duration``, so
each rule integrates its ODE over the step in closed form where it can.

Bounds are objects, not flags: :class:`HardBounds` clips, :class:`SoftBounds` scales
each increment by the distance to the bound it moves towards (multiplicative bounding).

**One interface for sessions.** Besides ``init`` and ``step`` (an epoch of activity),
every rule has :meth:`~AbstractRateRule.relax` (time passes without pre- or
postsynaptic activity: traces, thresholds and modulators decay) and
:meth:`~AbstractRateRule.signal` (the session delivers a :class:`ModulatorSignals`:
a dopamine burst from the outcome and the acetylcholine, noradrenaline and serotonin
levels in force). A session runs every rule, whatever it is, as
``signal(levels) -> step(trial) -> relax(delay) -> signal(outcome) -> relax(interval)``;
a rule that reads no modulator returns its state unchanged from ``signal``.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import error_if
from ..._typing import ScalarLike


class RateRuleState(eqx.Module):
    """State of a rate rule that carries nothing but the weights.

    Attributes:
        weights: synaptic weights, shape (pre, post), in the rule's weight unit.
    """

    weights: Float[Array, "pre post"]


def _check_signal(name: str, value, dtype, *, signed: bool) -> Array:
    v = jnp.asarray(value, dtype=dtype)
    if v.ndim != 0:
        raise ValueError(
            f"ModulatorSignals `{name}` must be a scalar (batch with vmap), got shape {v.shape}"
        )
    try:
        x = float(np.asarray(v))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = ~jnp.isfinite(v) if signed else ~(jnp.isfinite(v) & (v >= 0))
        rng = "finite" if signed else "finite and >= 0"
        return error_if(v, bad, f"ModulatorSignals `{name}` must be {rng}")
    if not np.isfinite(x) or (not signed and x < 0):
        rng = "finite" if signed else "finite and >= 0 (0 = baseline)"
        raise ValueError(f"ModulatorSignals `{name}` must be {rng}, got {x}")
    return v


class ModulatorSignals(eqx.Module):
    r"""What a session tells the plasticity rules at one moment of a trial.

    A context object passed to :meth:`AbstractRateRule.signal`; each rule reads the
    fields it uses (a three-factor rule the dopamine burst, a
    :class:`~multiscale.synapse.Modulated` rule its modulator's level, a kinetic rule
    its modulators' releases) and ignores the others.

    Attributes:
        dopamine: phasic dopamine released now, 1/s in the convention of the
            three-factor rules (a burst > 0, a dip < 0; 0 = none). Finite.
        acetylcholine: acetylcholine level in force from now on (dimensionless, >= 0;
            0 = baseline, no effect).
        noradrenaline: noradrenaline level (dimensionless, >= 0).
        serotonin: serotonin level (dimensionless, >= 0).

    Values are checked: a concrete bad value raises ``ValueError`` naming the field;
    inside ``jit`` the check is an ``eqx.error_if``.
    """

    dopamine: Float[Array, ""]
    acetylcholine: Float[Array, ""]
    noradrenaline: Float[Array, ""]
    serotonin: Float[Array, ""]

    def __init__(self, dopamine=0.0, acetylcholine=0.0, noradrenaline=0.0, serotonin=0.0):
        dtype = jnp.result_type(
            float,
            *(jnp.asarray(v).dtype for v in (dopamine, acetylcholine, noradrenaline, serotonin)),
        )
        self.dopamine = _check_signal("dopamine", dopamine, dtype, signed=True)
        self.acetylcholine = _check_signal("acetylcholine", acetylcholine, dtype, signed=False)
        self.noradrenaline = _check_signal("noradrenaline", noradrenaline, dtype, signed=False)
        self.serotonin = _check_signal("serotonin", serotonin, dtype, signed=False)


class AbstractRateRule(eqx.Module):
    r"""A plasticity rule driven by mean rates, applied between trials.

    ``init(weights) -> state`` and ``step(state, pre_rate, post_rate, duration) -> state``
    are pure; the state holds at least ``weights`` (shape (pre, post)). The update of
    weight $w_{ij}$ uses presynaptic rate $x_i$ and postsynaptic rate $y_j$ (Hz), held
    constant for ``duration`` (s). Every concrete rule has a ``bounds`` field
    (:class:`HardBounds` or :class:`SoftBounds`).
    """

    @abc.abstractmethod
    def init(self, weights: Float[Array, "pre post"]):
        """Initial rule state for the given weights (shape (pre, post))."""

    @abc.abstractmethod
    def step(
        self,
        state,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ):
        """State after ``duration`` (s) at constant rates ``pre_rate``, ``post_rate`` (Hz)."""

    @abc.abstractmethod
    def relax(self, state, duration: ScalarLike):
        """State after ``duration`` (s) without pre- or postsynaptic activity.

        Eligibility traces and modulator concentrations decay, and weights change only
        through what is stored (eligibility met by dopamine). Running averages of
        activity (BCM's threshold, the rate estimate of scaling) are held: they average
        over the activity epochs the rule is stepped through.
        """

    @abc.abstractmethod
    def signal(self, state, signals: ModulatorSignals):
        """State after the session delivers ``signals`` (:class:`ModulatorSignals`).

        Rules that read no modulator return ``state`` unchanged.
        """


def _check_bounds(owner: str, w_min, w_max, *, finite: bool):
    try:
        lo = float(np.asarray(w_min))
        hi = float(np.asarray(w_max))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"{owner} `w_min` and `w_max` must not be NaN, got {lo}, {hi}")
    if finite and not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(
            f"{owner} `w_min` and `w_max` must be finite (multiplicative bounding scales by "
            f"the distance to them), got {lo}, {hi}; use HardBounds for an unbounded rule"
        )
    if not lo < hi:
        raise ValueError(f"{owner} needs `w_min` < `w_max`, got w_min={lo}, w_max={hi}")


class AbstractBounds(eqx.Module):
    """How a weight is kept within ``[w_min, w_max]``."""

    @abc.abstractmethod
    def apply(self, w: Float[Array, "*shape"], dw: Float[Array, "*shape"]) -> Array:
        """Weight after adding the increment ``dw`` to ``w`` (same shape)."""

    @abc.abstractmethod
    def flow(
        self, w: Float[Array, "*shape"], drift: Float[Array, "*shape"], duration: ScalarLike
    ) -> Array:
        r"""$w$ after ``duration`` (s) of $\dot w = \mathrm{drift}\cdot b(w)$, drift constant."""


class HardBounds(AbstractBounds):
    r"""Hard bounds: the additive update clipped to $[w_\min, w_\max]$.

    $$w \leftarrow \min(w_\max, \max(w_\min, w + \Delta w))$$

    Infinite bounds are allowed (``HardBounds(-inf, inf)`` is an unbounded, purely
    additive rule, as in the fits of Pfister & Gerstner 2006).

    Attributes:
        w_min: lower bound (weight unit).
        w_max: upper bound (weight unit), > ``w_min``.
    """

    w_min: Float[ArrayLike, ""] = 0.0
    w_max: Float[ArrayLike, ""] = 1.0

    def __check_init__(self):
        _check_bounds("HardBounds", self.w_min, self.w_max, finite=False)

    def apply(self, w: Float[Array, "*shape"], dw: Float[Array, "*shape"]) -> Array:
        return jnp.clip(w + dw, self.w_min, self.w_max)

    def flow(
        self, w: Float[Array, "*shape"], drift: Float[Array, "*shape"], duration: ScalarLike
    ) -> Array:
        # With constant drift and hard walls the clipped straight line is exact.
        return jnp.clip(w + drift * duration, self.w_min, self.w_max)


class SoftBounds(AbstractBounds):
    r"""Multiplicative (soft) bounding: increments shrink towards the bound they approach.

    $$\Delta w \mapsto \begin{cases} \Delta w\,(w_\max - w)/(w_\max - w_\min) & \Delta w > 0\\
      \Delta w\,(w - w_\min)/(w_\max - w_\min) & \Delta w \le 0 \end{cases}$$

    so a weight inside $[w_\min, w_\max]$ never leaves it (van Rossum, Bi & Turrigiano 2000;
    Gütig et al. 2003 with $\mu = 1$).

    Attributes:
        w_min: lower bound (weight unit), finite.
        w_max: upper bound (weight unit), finite, > ``w_min``.
    """

    w_min: Float[ArrayLike, ""] = 0.0
    w_max: Float[ArrayLike, ""] = 1.0

    def __check_init__(self):
        _check_bounds("SoftBounds", self.w_min, self.w_max, finite=True)

    def apply(self, w: Float[Array, "*shape"], dw: Float[Array, "*shape"]) -> Array:
        span = self.w_max - self.w_min
        factor = jnp.where(dw > 0, self.w_max - w, w - self.w_min) / span
        return w + dw * factor

    def flow(
        self, w: Float[Array, "*shape"], drift: Float[Array, "*shape"], duration: ScalarLike
    ) -> Array:
        # dw/dt = drift (w_max - w)/span relaxes exponentially to w_max (drift > 0), and
        # dw/dt = drift (w - w_min)/span to w_min (drift < 0).
        span = self.w_max - self.w_min
        decay = jnp.exp(-jnp.abs(drift) * duration / span)
        target = jnp.where(drift > 0, self.w_max, self.w_min)
        return target + (w - target) * decay


def check_rates(
    weights: Float[Array, "pre post"],
    pre_rate: Real[ArrayLike, " pre"],
    post_rate: Real[ArrayLike, " post"],
) -> tuple[Array, Array]:
    """Rates as float arrays of the weights' dtype, with shapes checked against the weights."""
    x = jnp.asarray(pre_rate, dtype=weights.dtype)
    y = jnp.asarray(post_rate, dtype=weights.dtype)
    if x.shape != (weights.shape[0],) or y.shape != (weights.shape[1],):
        raise ValueError(
            f"`pre_rate` and `post_rate` must have shapes ({weights.shape[0]},) and "
            f"({weights.shape[1]},) to match `weights` {weights.shape}; got {x.shape}, {y.shape}"
        )
    return x, y


def check_duration(duration: ScalarLike, dtype) -> Array:
    """``duration`` (s) as a scalar array; negative values raise (inside jit: ``eqx.error_if``)."""
    d = jnp.asarray(duration, dtype=dtype)
    if d.ndim != 0:
        raise ValueError(f"`duration` must be a scalar (s), got shape {d.shape}")
    return error_if(d, d < 0, "`duration` (s) must be >= 0")


class AbstractDriftRule(AbstractRateRule):
    r"""A rate rule whose weight drift depends only on the rates: $\dot w = f(x, y)$.

    With the rates constant over the step, the drift is constant, and the weights flow
    through the rule's bounds exactly (:meth:`AbstractBounds.flow`). Concrete rules give
    :meth:`drift` and a ``bounds`` field; ``init`` and ``step`` are shared.
    """

    bounds: eqx.AbstractVar[AbstractBounds]

    @abc.abstractmethod
    def drift(
        self, pre_rate: Float[Array, "pre 1"], post_rate: Float[Array, "1 post"]
    ) -> Float[Array, "pre post"]:
        """$dw/dt$ (weight unit per s) for rates (Hz) broadcast to (pre, post)."""

    def init(self, weights: Float[Array, "pre post"]) -> RateRuleState:
        return RateRuleState(weights=jnp.asarray(weights))

    def step(
        self,
        state: RateRuleState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> RateRuleState:
        """Weights after ``duration`` (s) at constant rates (Hz): exact (constant drift)."""
        w = state.weights
        x, y = check_rates(w, pre_rate, post_rate)
        T = check_duration(duration, w.dtype)
        return RateRuleState(weights=self.bounds.flow(w, self.drift(x[:, None], y[None, :]), T))

    def relax(self, state: RateRuleState, duration: ScalarLike) -> RateRuleState:
        """Unchanged: the drift needs activity (``duration`` is still checked, s >= 0)."""
        check_duration(duration, state.weights.dtype)
        return state

    def signal(self, state: RateRuleState, signals: ModulatorSignals) -> RateRuleState:
        """Unchanged: the rule reads no modulator."""
        del signals
        return state


def with_weights(state: eqx.Module, weights: Float[Array, "pre post"]) -> eqx.Module:
    """A rule's state with its weights replaced, looking through wrapper states.

    A wrapper rule (e.g. :class:`~multiscale.synapse.Modulated`) keeps the wrapped rule's
    state in a ``base`` field and exposes its weights as a read-only property, so the
    replacement goes to the innermost state.
    """
    base = getattr(state, "base", None)
    if isinstance(base, eqx.Module):
        return eqx.tree_at(lambda s: s.base, state, with_weights(base, weights))
    return eqx.tree_at(lambda s: s.weights, state, weights)
