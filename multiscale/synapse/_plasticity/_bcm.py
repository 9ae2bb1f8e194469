r"""BCM plasticity with a sliding modification threshold (metaplasticity).

$$\frac{dw_{ij}}{dt} = \eta\, x_i\, y_j\,(y_j - \theta_j), \qquad
  \tau_\theta \frac{d\theta_j}{dt} = \frac{y_j^2}{y_0} - \theta_j .$$

Activity below the threshold $\theta$ depresses, activity above it potentiates, and the
threshold follows the recent mean square of the postsynaptic rate: after a period of high
activity LTP is harder to get (the LTD/LTP crossover moves up), after deprivation easier.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, error_if
from ..._typing import ScalarLike
from ._rate_rule import (
    AbstractBounds,
    AbstractRateRule,
    HardBounds,
    ModulatorSignals,
    check_duration,
    check_rates,
)


class BCMState(eqx.Module):
    """State of :class:`BCM`.

    Attributes:
        weights: synaptic weights, shape (pre, post) (weight unit).
        theta: modification threshold of each postsynaptic neuron, Hz, shape (post,).
    """

    weights: Float[Array, "pre post"]
    theta: Float[Array, " post"]


class BCM(AbstractRateRule):
    r"""Bienenstock–Cooper–Munro rule with the Intrator–Cooper sliding threshold.

    See the module docstring for the equations. With rates held constant over a step of
    duration $T$ both are integrated in closed form: $\theta$ relaxes exponentially to
    $\theta_\infty = y^2/y_0$, and

    $$\Delta w_{ij} = \eta x_i y_j\left[(y_j - \theta_\infty) T
        - (\theta(0) - \theta_\infty)\,\tau_\theta\,(1 - e^{-T/\tau_\theta})\right],$$

    which is then passed through ``bounds.apply``. With $n$ orthogonal, equiprobable input
    patterns the selective fixed point has response $y^* = n y_0$ to the preferred
    pattern and 0 to the others.

    Attributes:
        eta: learning rate, 1/(s·Hz³) (weight unit per s per Hz³), >= 0.
        tau_theta: threshold time constant, s. No canonical biological value has been
            published; the default 3600 s is a convenience choice that
            keeps the threshold nearly fixed over one stimulation protocol.
        y0: target rate scale, Hz (``theta`` settles at ``y**2 / y0``).
        bounds: weight bounds (default ``HardBounds(0, 1)``).

    References:
        Bienenstock EL, Cooper LN, Munro PW (1982) J Neurosci 2:32.
        Intrator N, Cooper LN (1992) Neural Netw 5:3 (mean-square threshold).
    """

    eta: Float[ArrayLike, ""] = 1e-7
    tau_theta: Float[ArrayLike, ""] = 3600.0
    y0: Float[ArrayLike, ""] = 10.0
    bounds: AbstractBounds = HardBounds(0.0, 1.0)

    def __check_init__(self):
        check_fields("BCM", self, Constraints(positive=("tau_theta", "y0"), nonnegative=("eta",)))

    def init(
        self, weights: Float[Array, "pre post"], theta: Real[ArrayLike, "*post"] | None = None
    ) -> BCMState:
        """Initial state; ``theta`` (Hz, shape (post,) or scalar) defaults to ``y0``."""
        w = jnp.asarray(weights)
        th = self.y0 if theta is None else theta
        return BCMState(weights=w, theta=jnp.broadcast_to(jnp.asarray(th, w.dtype), w.shape[1:]))

    def step(
        self,
        state: BCMState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> BCMState:
        """State after ``duration`` (s) at constant rates (Hz); exact for the threshold."""
        w = state.weights
        x, y = check_rates(w, pre_rate, post_rate)
        T = check_duration(duration, w.dtype)
        theta_inf = y * y / self.y0
        gap = state.theta - theta_inf
        # tau (1 - e^{-T/tau}) written with expm1 so it stays accurate for T << tau.
        tau = error_if(
            jnp.asarray(self.tau_theta, w.dtype),
            ~(jnp.asarray(self.tau_theta) > 0),
            "BCM `tau_theta` must be > 0 (s)",
        )
        memory = -tau * jnp.expm1(-T / tau)
        integral = (y - theta_inf) * T - gap * memory
        dw = self.eta * x[:, None] * (y * integral)[None, :]
        theta = theta_inf + gap * jnp.exp(-T / tau)
        return BCMState(weights=self.bounds.apply(w, dw), theta=theta)

    def relax(self, state: BCMState, duration: ScalarLike) -> BCMState:
        """Unchanged: the threshold averages the activity epochs only (``duration`` checked)."""
        check_duration(duration, state.weights.dtype)
        return state

    def signal(self, state: BCMState, signals: ModulatorSignals) -> BCMState:
        """Unchanged: the rule reads no modulator."""
        del signals
        return state


def bcm_frequency_response(
    rule: BCM,
    frequencies: Real[ArrayLike, " freqs"],
    *,
    history_rate: ScalarLike,
    history_duration: ScalarLike,
    n_pulses: int = 900,
    gain: ScalarLike = 1.0,
    w0: ScalarLike = 0.5,
) -> Float[Array, " freqs"]:
    r"""Weight change $\Delta w(f)$ of one synapse stimulated at $f$ after an activity history.

    History: the postsynaptic neuron fires at ``history_rate`` (Hz) for
    ``history_duration`` (s), driven by other inputs, while the tested synapse is silent
    ($x = 0$, so its weight does not change); starting from $\theta = y_0$, this sets
    the threshold, as rearing in the dark or in light does in Kirkwood et al. 1996.
    Stimulation: ``n_pulses`` pulses at frequency $f$ (duration ``n_pulses / f``; 900
    pulses as in Dudek & Bear 1992) with postsynaptic rate $y = \mathrm{gain}\cdot f$.
    While the threshold moves little during the stimulation ($\tau_\theta$ long), the
    crossover from LTD to LTP sits near $f^* = \theta/\mathrm{gain}$, so a history of
    high activity moves it up.

    Args:
        rule: the :class:`BCM` rule.
        frequencies: stimulation frequencies, Hz, shape (freqs,), > 0.
        history_rate: postsynaptic rate during the history, Hz.
        history_duration: length of the history, s.
        n_pulses: pulses per stimulation (static).
        gain: postsynaptic rate per presynaptic rate (Hz/Hz).
        w0: weight before the stimulation (weight unit).

    Returns:
        $\Delta w$ caused by the stimulation (weight unit), shape (freqs,).

    Example:
        >>> import jax.numpy as jnp, multiscale as ms
        >>> dw = ms.synapse.bcm_frequency_response(
        ...     ms.synapse.BCM(), jnp.array([1.0, 100.0]), history_rate=10.0,
        ...     history_duration=3600.0)
        >>> bool(dw[0] < 0 < dw[1])
        True

    References:
        Bienenstock, Cooper & Munro 1982; Dudek SM, Bear MF (1992) PNAS 89:4363 (protocol);
        Kirkwood A, Rioult MC, Bear MF (1996) Nature 381:526 (history shifts the crossover).
    """
    f = jnp.asarray(frequencies, dtype=float)
    f = error_if(f, jnp.any(f <= 0), "`frequencies` must be > 0 Hz")
    one = jnp.ones((1,), f.dtype)
    state = rule.init(jnp.full((1, 1), w0, f.dtype))
    h = jnp.asarray(history_rate, f.dtype)
    state = rule.step(state, 0.0 * one, h * one, history_duration)

    def stimulate(freq):
        after = rule.step(state, freq * one, gain * freq * one, n_pulses / freq)
        return (after.weights - state.weights)[0, 0]

    return jax.vmap(stimulate)(f)
