r"""Three-factor plasticity: Hebbian eligibility traces gated by dopamine.

A Hebbian coincidence does not change the weight; it writes an eligibility trace $c$
that decays over about a second. A neuromodulator $d$ (dopamine), released later by a
reward, turns whatever eligibility is left into a weight change (Izhikevich 2007;
Frémaux & Gerstner 2016):

$$\frac{dc}{dt} = -\frac{c}{\tau_c} + H(t),\qquad
  \frac{dd}{dt} = -\frac{d}{\tau_d} + \sum_k d_k\,\delta(t - t_k),\qquad
  \frac{dw}{dt} = (d + d_\mathrm{tonic})\,c.$$

$H$ is the Hebbian drive: STDP pairings for :class:`DopamineSTDP`, a covariance of
rates for :class:`RewardModulatedHebb`. Between dopamine bursts and spikes the
system is linear with constant $H$, so it is integrated **exactly**: with
$c_H = H\tau_c$ and $\tau_{cd} = \tau_c\tau_d/(\tau_c + \tau_d)$,

$$\Delta w(T) = d_0\big[c_H\tau_d(1 - e^{-T/\tau_d})
  + (c_0 - c_H)\,\tau_{cd}(1 - e^{-T/\tau_{cd}})\big]
  + d_\mathrm{tonic}\big[c_H T + (c_0 - c_H)\,\tau_c(1 - e^{-T/\tau_c})\big].$$

One burst $d_0$ that meets a trace $c$ and nothing else gives
$\Delta w = c\,d_0\,\tau_c\tau_d/(\tau_c + \tau_d)$ (checked by ``multiscale validate``,
target ``izhikevich_da_stdp_closed_form``).

Units. Time in s, rates in Hz, $d$ in 1/s (so that $\int d\,c\,dt$ is in the weight
unit), $c$ in the weight unit. Izhikevich's ``daspnet.m`` adds $(0.002 + d)\,c$ to
$w$ every 10 ms with $d$ jumping by 0.5 per reward; in these units that is
$d_\mathrm{tonic} = 0.2$ s⁻¹ and a burst of $d_0 = 50$ s⁻¹.

The rate form is an ``(init, step)`` pair (:class:`AbstractRateRule`) plus
:meth:`~AbstractThreeFactorRule.reward` (a burst; :meth:`~AbstractRateRule.signal`
delivers the burst of a :class:`ModulatorSignals`) and
:meth:`~AbstractThreeFactorRule.relax` (time without activity), so a session of trials
is ``step`` (the trial), ``relax`` (reward delay), ``reward``, ``relax`` (inter-trial
interval). Bounds are applied once per integrated interval; for
:class:`HardBounds` this is exact while $w$ moves monotonically over the interval
(always when $d + d_\mathrm{tonic}$ keeps its sign).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, error_if
from ..._typing import ScalarLike
from .._protocols import SpikeTrains
from .._receptors._receptor_simulation import _check_spike_times
from ._rate_rule import (
    AbstractBounds,
    AbstractRateRule,
    HardBounds,
    ModulatorSignals,
    check_duration,
    check_rates,
)
from ._stdp import AbstractPairingScheme, NearestSpike

_INF = float("inf")


class ThreeFactorState(eqx.Module):
    """State of a three-factor rule.

    Attributes:
        weights: synaptic weights, shape (pre, post), weight unit.
        eligibility: eligibility traces $c$, shape (pre, post), weight unit.
        dopamine: phasic dopamine $d$ (above tonic), 1/s, scalar.
    """

    weights: Float[Array, "pre post"]
    eligibility: Float[Array, "pre post"]
    dopamine: Float[Array, ""]


def _one_minus_exp(T, tau):
    # 1 - exp(-T/tau) via expm1: accurate for T << tau, where the weight change is small.
    return -jnp.expm1(-T / tau)


class AbstractThreeFactorRule(AbstractRateRule):
    r"""A Hebbian drive $H$ written into eligibility traces, read out by dopamine.

    Concrete rules give :meth:`hebbian` and the fields ``tau_c``, ``tau_d``,
    ``d_tonic``, ``bounds``; integration is shared (module docstring).
    """

    tau_c: eqx.AbstractVar[Float[ArrayLike, ""]]
    tau_d: eqx.AbstractVar[Float[ArrayLike, ""]]
    d_tonic: eqx.AbstractVar[Float[ArrayLike, ""]]
    bounds: eqx.AbstractVar[AbstractBounds]

    @abc.abstractmethod
    def hebbian(self, pre_rate: Array, post_rate: Array) -> Array:
        """Hebbian drive $H$ (weight unit per s) at rates (Hz); broadcasts (pre, 1) x (1, post)."""

    def init(self, weights: Float[Array, "pre post"]) -> ThreeFactorState:
        w = jnp.asarray(weights)
        if w.ndim != 2:
            raise ValueError(f"`weights` must have shape (pre, post), got {w.shape}")
        return ThreeFactorState(w, jnp.zeros_like(w), jnp.zeros((), w.dtype))

    def _flow(self, state: ThreeFactorState, drive: Array, T: Array) -> ThreeFactorState:
        tau_c, tau_d = jnp.asarray(self.tau_c, T.dtype), jnp.asarray(self.tau_d, T.dtype)
        # Values set after construction (eqx.tree_at, inside jit) are checked here.
        tau_c = error_if(tau_c, ~(tau_c > 0), f"{type(self).__name__} `tau_c` must be > 0 (s)")
        tau_d = error_if(tau_d, ~(tau_d > 0), f"{type(self).__name__} `tau_d` must be > 0 (s)")
        tau_cd = tau_c * tau_d / (tau_c + tau_d)
        c0, d0 = state.eligibility, state.dopamine
        c_H = drive * tau_c
        phasic = d0 * (
            c_H * tau_d * _one_minus_exp(T, tau_d) + (c0 - c_H) * tau_cd * _one_minus_exp(T, tau_cd)
        )
        tonic = jnp.asarray(self.d_tonic, T.dtype) * (
            c_H * T + (c0 - c_H) * tau_c * _one_minus_exp(T, tau_c)
        )
        w = self.bounds.apply(state.weights, phasic + tonic)
        c = c_H + (c0 - c_H) * jnp.exp(-T / tau_c)
        return ThreeFactorState(w, c, d0 * jnp.exp(-T / tau_d))

    def step(
        self,
        state: ThreeFactorState,
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        duration: ScalarLike,
    ) -> ThreeFactorState:
        """State after ``duration`` (s) of activity at constant rates (Hz), exact."""
        x, y = check_rates(state.weights, pre_rate, post_rate)
        T = check_duration(duration, state.weights.dtype)
        return self._flow(state, self.hebbian(x[:, None], y[None, :]), T)

    def relax(self, state: ThreeFactorState, duration: ScalarLike) -> ThreeFactorState:
        """State after ``duration`` (s) without Hebbian drive (traces decay, dopamine acts)."""
        T = check_duration(duration, state.weights.dtype)
        return self._flow(state, jnp.zeros_like(state.eligibility), T)

    def reward(self, state: ThreeFactorState, dopamine: Real[ArrayLike, "..."]) -> ThreeFactorState:
        """Add a dopamine burst (1/s; negative for a dip) to the phasic dopamine."""
        d = jnp.asarray(dopamine, state.dopamine.dtype)
        if d.shape != ():
            raise ValueError(f"`dopamine` must be a scalar burst (1/s), got shape {d.shape}")
        return ThreeFactorState(state.weights, state.eligibility, state.dopamine + d)

    def signal(self, state: ThreeFactorState, signals: ModulatorSignals) -> ThreeFactorState:
        """Add the signals' dopamine burst (1/s) to the phasic dopamine; other fields unused."""
        return self.reward(state, signals.dopamine)


class DopamineSTDP(AbstractThreeFactorRule):
    r"""Dopamine-modulated STDP (Izhikevich 2007), spike-driven and rate forms.

    Each pre→post pair at $\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ adds the STDP
    window $A_+ e^{-\Delta t/\tau_+}$ to $c$, each post→pre pair subtracts
    $A_- e^{\Delta t/\tau_-}$ (traces jump as ``scheme`` says; ``daspnet.m`` *sets*
    its trace at each spike, i.e. :class:`NearestSpike`). The rate form uses the
    expected drive under independent Poisson firing,
    $H = \rho_y \bar r(\rho_x) A_+ - \rho_x \bar o(\rho_y) A_-$, negative for these
    constants ($A_-\tau_- > A_+\tau_+$): uncorrelated firing depresses when rewarded.

    Attributes:
        A_plus: potentiation amplitude, mV (0.1, ``daspnet.m``).
        A_minus: depression amplitude, mV (0.15: $A_-/A_+ = 1.5$, ``daspnet.m``).
        tau_plus, tau_minus: STDP window time constants, s (0.020; ``daspnet.m`` decays
            ×0.95 per ms, 19.5 ms).
        tau_c: eligibility time constant, s (1.0; ×0.99 per 10 ms = 0.995 s).
        tau_d: dopamine time constant, s (0.2; ×0.995 per ms).
        d_tonic: tonic dopamine, 1/s (0.2 = 0.002 per 10-ms update).
        scheme: pairing scheme (:class:`NearestSpike`).
        bounds: weight bounds, mV (``HardBounds(0, 4)``: ``daspnet.m`` clips to [0, 4]).

    Example:
        >>> import jax.numpy as jnp
        >>> rule = DopamineSTDP(d_tonic=0.0)
        >>> s = rule.init(jnp.zeros((1, 1)))
        >>> s = ThreeFactorState(s.weights, jnp.ones((1, 1)), s.dopamine)
        >>> s = rule.relax(rule.reward(s, 1.0), 100.0)
        >>> round(float(s.weights[0, 0]), 4)  # c d0 tau_c tau_d / (tau_c + tau_d)
        0.1667

    References:
        Izhikevich EM (2007) Solving the distal reward problem through linkage of STDP
        and dopamine signaling. Cereb Cortex 17:2443 (constants of the author's ``daspnet.m``).
    """

    A_plus: Float[ArrayLike, ""] = 0.1
    A_minus: Float[ArrayLike, ""] = 0.15
    tau_plus: Float[ArrayLike, ""] = 0.020
    tau_minus: Float[ArrayLike, ""] = 0.020
    tau_c: Float[ArrayLike, ""] = 1.0
    tau_d: Float[ArrayLike, ""] = 0.2
    d_tonic: Float[ArrayLike, ""] = 0.2
    scheme: AbstractPairingScheme = NearestSpike()
    bounds: AbstractBounds = HardBounds(0.0, 4.0)

    def __check_init__(self):
        check_fields(
            "DopamineSTDP",
            self,
            Constraints(
                positive=("tau_plus", "tau_minus", "tau_c", "tau_d"),
                nonnegative=("A_plus", "A_minus", "d_tonic"),
            ),
        )

    def hebbian(self, pre_rate: Array, post_rate: Array) -> Array:
        m = self.scheme.mean_trace
        ltp = post_rate * m(pre_rate, self.tau_plus) * self.A_plus
        ltd = pre_rate * m(post_rate, self.tau_minus) * self.A_minus
        return ltp - ltd


class RewardModulatedHebb(AbstractThreeFactorRule):
    r"""Reward-modulated covariance rule: $H_{ij} = \eta\,(x_i - \theta_x)(y_j - \theta_y)$.

    The rate version of the three-factor template (Frémaux & Gerstner 2016, eq. for
    $e_{ij}$ with $f(x) = x - \theta_x$, $g(y) = y - \theta_y$), as used for learning
    sensory read-out weights from a reward-prediction error (Law & Gold 2009, where
    the update is $\propto$ choice × (reward − expected reward) × sensory response).
    A rewarded trial strengthens inputs that were above $\theta_x$ onto the population
    that was above $\theta_y$ (the winner) and weakens them onto the loser; a dopamine
    dip does the opposite.

    Attributes:
        eta: Hebbian rate, weight unit per (Hz² s), >= 0.
        theta_pre: presynaptic reference rate $\theta_x$, Hz.
        theta_post: postsynaptic reference rate $\theta_y$, Hz.
        tau_c: eligibility time constant, s (1.0, as Izhikevich 2007).
        tau_d: dopamine time constant, s (0.2, as Izhikevich 2007).
        d_tonic: tonic dopamine, 1/s (0: only phasic dopamine learns).
        bounds: weight bounds (``HardBounds(0, 1)``).

    References:
        Frémaux N, Gerstner W (2016) Front Neural Circuits 9:85.
        Law C-T, Gold JI (2009) Reinforcement learning can account for associative and
        perceptual learning on a visual-decision task. Nat Neurosci 12:655.
    """

    eta: Float[ArrayLike, ""] = 2e-4
    theta_pre: Float[ArrayLike, ""] = 15.0
    theta_post: Float[ArrayLike, ""] = 15.0
    tau_c: Float[ArrayLike, ""] = 1.0
    tau_d: Float[ArrayLike, ""] = 0.2
    d_tonic: Float[ArrayLike, ""] = 0.0
    bounds: AbstractBounds = HardBounds(0.0, 1.0)

    def __check_init__(self):
        check_fields(
            "RewardModulatedHebb",
            self,
            Constraints(
                positive=("tau_c", "tau_d"),
                nonnegative=("eta", "d_tonic"),
                finite=("theta_pre", "theta_post"),
            ),
        )

    def hebbian(self, pre_rate: Array, post_rate: Array) -> Array:
        return self.eta * (pre_rate - self.theta_pre) * (post_rate - self.theta_post)


# --------------------------------------------------------------------------- spike-driven form


class DopamineSTDPResult(eqx.Module):
    """One spike-driven run of :class:`DopamineSTDP` (a single synapse).

    Attributes:
        ts: event times, s (pre, post and dopamine events merged; padding +inf).
        ws: weight right after each event, mV.
        cs: eligibility right after each event, mV.
        ds: phasic dopamine right after each event, 1/s.
        w: weight at ``t1``, mV.
        delta_w: ``w - w0``, mV.
    """

    ts: Float[Array, " events"]
    ws: Float[Array, " events"]
    cs: Float[Array, " events"]
    ds: Float[Array, " events"]
    w: Float[Array, ""]
    delta_w: Float[Array, ""]


def simulate_dopamine_stdp(
    rule: DopamineSTDP,
    trains: SpikeTrains,
    reward_times: Real[ArrayLike, " rewards"],
    *,
    t1: ScalarLike,
    dopamine: ScalarLike = 50.0,
    w0: ScalarLike = 0.0,
) -> DopamineSTDPResult:
    r"""Exact event-driven dopamine-modulated STDP of one synapse, from $t = 0$ to ``t1``.

    Pre spikes, post spikes and dopamine bursts are merged into one time-sorted list
    (at equal times: pre, then post, then dopamine). A ``lax.scan`` walks it; over each
    interval the STDP traces, $c$, $d$ and $w$ follow the closed form of the module
    docstring (no time step); at a spike $c$ jumps by the STDP window, at a reward $d$
    jumps by ``dopamine``. ``+inf`` padding is skipped, so protocols batch with ``vmap``.

    Args:
        rule: the rule.
        trains: pre and post spike times, s.
        reward_times: dopamine burst times, s, ascending (pad with ``+inf``).
        t1: end of the run, s (>= every event).
        dopamine: burst size $d_0$, 1/s (50 = ``daspnet.m``'s 0.5 per 10 ms).
        w0: initial weight, mV.

    Returns:
        :class:`DopamineSTDPResult`.

    References:
        Izhikevich EM (2007) Cereb Cortex 17:2443.
    """
    pre = _check_spike_times(trains.pre)
    post = _check_spike_times(trains.post)
    rew = _check_spike_times(jnp.asarray(reward_times, dtype=pre.dtype))
    times = jnp.concatenate([pre, post, rew])
    kind = jnp.concatenate(
        [jnp.zeros(pre.shape, int), jnp.ones(post.shape, int), jnp.full(rew.shape, 2)]
    )
    order = jnp.argsort(times, stable=True)
    times, kind = times[order], kind[order]
    dtype = times.dtype
    t1 = jnp.asarray(t1, dtype)
    last = jnp.max(jnp.where(jnp.isfinite(times), times, jnp.zeros_like(times)))
    t1 = error_if(t1, t1 < last, "`t1` must not be before the last spike or reward")
    d_burst = jnp.asarray(dopamine, dtype)
    a_plus = jnp.asarray(rule.A_plus, dtype)
    a_minus = jnp.asarray(rule.A_minus, dtype)
    one = jnp.ones((1, 1), dtype)
    zero = jnp.zeros((), dtype)

    def advance(state, xp, xq, dt):
        # The STDP traces only decay between events; c, d, w follow the exact flow.
        s = rule._flow(state, jnp.zeros((1, 1), dtype), dt)
        return s, xp * jnp.exp(-dt / rule.tau_plus), xq * jnp.exp(-dt / rule.tau_minus)

    def event(carry, inp):
        t_last, state, xp, xq = carry
        t, k = inp
        valid = jnp.isfinite(t)
        t_eff = jnp.where(valid, t, t_last)
        state, xp, xq = advance(state, xp, xq, t_eff - t_last)
        is_pre, is_post, is_da = valid & (k == 0), valid & (k == 1), valid & (k == 2)
        # Pre spike: depression by the post trace; post spike: potentiation by the pre trace.
        dc = jnp.where(is_post, a_plus * xp, jnp.where(is_pre, -a_minus * xq, zero))
        state = ThreeFactorState(
            state.weights,
            state.eligibility + dc * one,
            state.dopamine + jnp.where(is_da, d_burst, zero),
        )
        xp = jnp.where(is_pre, rule.scheme.jump(xp), xp)
        xq = jnp.where(is_post, rule.scheme.jump(xq), xq)
        out = (state.weights[0, 0], state.eligibility[0, 0], state.dopamine)
        return (t_eff, state, xp, xq), out

    init = (zero, ThreeFactorState(jnp.asarray(w0, dtype) * one, 0.0 * one, zero), zero, zero)
    (t_last, state, xp, xq), (ws, cs, ds) = jax.lax.scan(event, init, (times, kind))
    state, _, _ = advance(state, xp, xq, t1 - t_last)
    w = state.weights[0, 0]
    return DopamineSTDPResult(times, ws, cs, ds, w, w - jnp.asarray(w0, dtype))
