r"""Hebb and Oja rules for rate circuits.

Both act on a weight matrix $w_{ij}$ (presynaptic $i$, postsynaptic $j$) with rates held
constant over a step, and both are integrated exactly over the step.
"""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..._checks import Constraints, check_fields
from ..._numerics import exprel
from ..._typing import ScalarLike
from ._rate_rule import (
    AbstractBounds,
    AbstractDriftRule,
    AbstractRateRule,
    HardBounds,
    ModulatorSignals,
    RateRuleState,
    check_duration,
    check_rates,
)

_INF = float("inf")


class Hebb(AbstractDriftRule):
    r"""Plain Hebbian rule $dw_{ij}/dt = \eta\, x_i y_j$ (Hebb 1949).

    Unstable on its own; use it with ``bounds`` (default ``HardBounds(0, 1)``).

    Attributes:
        eta: learning rate, 1/(s·Hz²) (weight unit per s per Hz²), >= 0.
        bounds: weight bounds.
    """

    eta: Float[ArrayLike, ""] = 1e-4
    bounds: AbstractBounds = HardBounds(0.0, 1.0)

    def __check_init__(self):
        check_fields("Hebb", self, Constraints(nonnegative=("eta",)))

    def drift(self, pre_rate: Array, post_rate: Array) -> Array:
        """$\\eta\\,x\\,y$ (weight unit per s)."""
        return self.eta * pre_rate * post_rate


class Oja(AbstractRateRule):
    r"""Oja's rule $dw_{ij}/dt = \eta\, y_j (x_i - y_j w_{ij})$ (Oja 1982).

    For a linear neuron $y = w^\top x$ and zero-mean inputs, $w$ converges to the unit-norm
    principal eigenvector of the input covariance. With $x, y$ fixed over the step the
    ODE is linear in $w$ and solved exactly:

    $$w(T) = w + \eta T\,\frac{x y - y^2 w}{\mathrm{exprel}(\eta y^2 T)},\qquad
      \mathrm{exprel}(a) = a/(1 - e^{-a}),$$

    which is finite at $y = 0$ (no change). The result then goes through ``bounds.apply``.

    Attributes:
        eta: learning rate, 1/(s·Hz²), >= 0.
        bounds: weight bounds (default unbounded ``HardBounds(-inf, inf)``: Oja's rule
            normalises by itself).

    References:
        Oja E (1982) J Math Biol 15:267.
    """

    eta: Float[ArrayLike, ""] = 1e-4
    bounds: AbstractBounds = HardBounds(-_INF, _INF)

    def __check_init__(self):
        check_fields("Oja", self, Constraints(nonnegative=("eta",)))

    def init(self, weights: Float[Array, "pre post"]) -> RateRuleState:
        return RateRuleState(weights=jnp.asarray(weights))

    def step(
        self,
        state: RateRuleState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> RateRuleState:
        """Weights after ``duration`` (s) at constant rates (Hz), exact."""
        w = state.weights
        x, y = check_rates(w, pre_rate, post_rate)
        T = check_duration(duration, w.dtype)
        a = self.eta * y * y * T
        dw = self.eta * T * (x[:, None] * y[None, :] - (y * y)[None, :] * w) / exprel(a)[None, :]
        return RateRuleState(weights=self.bounds.apply(w, dw))

    def relax(self, state: RateRuleState, duration: ScalarLike) -> RateRuleState:
        """Unchanged: the rule needs activity (``duration`` is still checked, s >= 0)."""
        check_duration(duration, state.weights.dtype)
        return state

    def signal(self, state: RateRuleState, signals: ModulatorSignals) -> RateRuleState:
        """Unchanged: the rule reads no modulator."""
        del signals
        return state
