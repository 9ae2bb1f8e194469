r"""Any rate rule with its weight changes modulated by a neuromodulator level.

With a modulator factor $f_{ij}(L)$ (:meth:`AbstractNeuromodulator.plasticity_factor`,
:mod:`._neuromodulators`) and the wrapped rule's change
$\Delta w_{ij} = w^\mathrm{base}_{ij} - w_{ij}$ over a step,

$$w_{ij} \leftarrow \mathrm{clip}\big(w^\mathrm{base}_{ij} + (f_{ij} - 1)\,\Delta w_{ij},\;
  w_\min,\, w_\max\big),$$

so $f = 1$ (every modulator at $L = 0$) returns the base rule's weights bit for bit.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._typing import ScalarLike
from ._neuromodulators import AbstractNeuromodulator, check_level
from ._rate_rule import (
    AbstractBounds,
    AbstractRateRule,
    ModulatorSignals,
    check_rates,
    with_weights,
)
from ._three_factor import AbstractThreeFactorRule


class ModulatedState(eqx.Module):
    """State of a :class:`Modulated` rule.

    Attributes:
        base: the wrapped rule's state.
        level: the modulator level in force (dimensionless, >= 0).
        pre_rate: presynaptic rates of the last ``step``, Hz (used by ``relax``).
        post_rate: postsynaptic rates of the last ``step``, Hz.
    """

    base: eqx.Module
    level: Float[Array, ""]
    pre_rate: Float[Array, " pre"]
    post_rate: Float[Array, " post"]

    @property
    def weights(self) -> Float[Array, "pre post"]:
        """The wrapped state's weights, shape (pre, post)."""
        return self.base.weights


class Modulated(AbstractRateRule):
    r"""Any rate rule with its weight changes modulated by a neuromodulator level.

    ``step`` runs the wrapped rule's ``step`` and rescales its weight change by
    ``modulator.plasticity_factor`` (module docstring); ``relax`` does the same for
    any rule, using the rates of the last ``step`` (for a three-factor rule, the trial
    whose eligibility the dopamine converts); ``reward`` adds a dopamine burst to a
    three-factor rule. The level is kept in the state and can be replaced at every call
    (``level=``) or by :meth:`signal` (a session's :class:`ModulatorSignals`), so it can
    follow the trial's novelty, surprise or waiting. Wrap a :class:`Modulated` rule again to
    combine modulators.

    Attributes:
        rule: the wrapped rule (any :class:`AbstractRateRule` with a ``bounds`` field).
        modulator: the neuromodulator.

    Example:
        >>> import jax.numpy as jnp
        >>> from multiscale.synapse import Hebb, Noradrenaline
        >>> rule = Modulated(Hebb(eta=1e-3), Noradrenaline())
        >>> s = rule.step(rule.init(jnp.zeros((1, 1))), jnp.array([10.0]),
        ...               jnp.array([10.0]), 1.0, level=1.0)
        >>> round(float(s.weights[0, 0]), 3)  # 2 x eta x y T
        0.2
    """

    rule: AbstractRateRule
    modulator: AbstractNeuromodulator

    def __check_init__(self):
        if not isinstance(self.rule, AbstractRateRule):
            raise TypeError(
                f"Modulated `rule` must be an AbstractRateRule, got {type(self.rule).__name__}"
            )
        if not isinstance(self.modulator, AbstractNeuromodulator):
            raise TypeError(
                "Modulated `modulator` must be an AbstractNeuromodulator (Acetylcholine, "
                f"Noradrenaline, Serotonin), got {type(self.modulator).__name__}"
            )

    @property
    def bounds(self) -> AbstractBounds:
        """The wrapped rule's weight bounds."""
        return self.rule.bounds

    def init(
        self, weights: Float[Array, "pre post"], level: ScalarLike = 0.0, **kwargs
    ) -> ModulatedState:
        """Initial state: the wrapped rule's ``init(weights, **kwargs)`` at ``level``."""
        base = self.rule.init(weights, **kwargs)
        w = base.weights
        lv = check_level(level, w.dtype)
        zeros_pre = jnp.zeros(w.shape[:1], w.dtype)
        return ModulatedState(base, lv, zeros_pre, jnp.zeros(w.shape[1:], w.dtype))

    def set_level(self, state: ModulatedState, level: ScalarLike) -> ModulatedState:
        """The state with the modulator ``level`` (dimensionless, >= 0) replaced."""
        lv = check_level(level, state.level.dtype)
        return eqx.tree_at(lambda s: s.level, state, lv)

    def _modulate(self, old: ModulatedState, new_base, level, x, y) -> ModulatedState:
        lv = old.level if level is None else check_level(level, old.level.dtype)
        w0, w1 = old.weights, new_base.weights
        dw = w1 - w0
        f = self.modulator.plasticity_factor(dw, x, y, lv)
        # w1 + (f - 1) dw rather than w0 + f dw: at f == 1 this is w1 exactly.
        bounds = self.rule.bounds
        w = jnp.clip(w1 + (f - 1.0) * dw, bounds.w_min, bounds.w_max)
        return ModulatedState(with_weights(new_base, w), lv, x, y)

    def step(
        self,
        state: ModulatedState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
        level: ScalarLike | None = None,
    ) -> ModulatedState:
        """The wrapped rule's step over ``duration`` (s) at rates (Hz), its change modulated.

        ``level`` (dimensionless, >= 0) replaces the stored level from this step on.
        """
        x, y = check_rates(state.weights, pre_rate, post_rate)
        new = self.rule.step(state.base, x, y, duration)
        return self._modulate(state, new, level, x, y)

    def relax(
        self, state: ModulatedState, duration: ScalarLike, level: ScalarLike | None = None
    ) -> ModulatedState:
        """``rule.relax`` over ``duration`` (s), its change modulated (rates of the last step).

        For a three-factor rule this is where stored eligibility meets dopamine; rules
        without stored drive return their weights unchanged.
        """
        new = self.rule.relax(state.base, duration)
        return self._modulate(state, new, level, state.pre_rate, state.post_rate)

    def signal(self, state: ModulatedState, signals: ModulatorSignals) -> ModulatedState:
        """Take this modulator's level from ``signals`` and pass them on to the wrapped rule.

        The level (e.g. ``signals.acetylcholine`` for :class:`Acetylcholine`) is in force
        from this call on; the wrapped rule receives the same signals (a three-factor
        rule its dopamine burst; a nested :class:`Modulated` its own level).
        """
        if not isinstance(signals, ModulatorSignals):
            raise TypeError(f"`signals` must be a ModulatorSignals, got {type(signals).__name__}")
        lv = check_level(self.modulator.level_in(signals), state.level.dtype)
        base = self.rule.signal(state.base, signals)
        return ModulatedState(base, lv, state.pre_rate, state.post_rate)

    def reward(self, state: ModulatedState, dopamine: Real[ArrayLike, ""]) -> ModulatedState:
        """Three-factor rules: add a dopamine burst (1/s) through ``rule.reward``."""
        if not isinstance(self.rule, AbstractThreeFactorRule):
            raise TypeError(
                f"Modulated.reward needs a rule with `reward` (a three-factor rule); "
                f"{type(self.rule).__name__} has none"
            )
        return eqx.tree_at(lambda s: s.base, state, self.rule.reward(state.base, dopamine))
