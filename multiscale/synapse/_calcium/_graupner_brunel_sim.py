r"""Spike-driven Graupner–Brunel simulation, exact between calcium threshold crossings.

Between two calcium events the trace is one exponential, $c(t) = c_k e^{-(t-t_k)/\tau_\mathrm{Ca}}$,
so it crosses a threshold $\theta$ at $t_k + \tau_\mathrm{Ca}\log(c_k/\theta)$ (if $c_k > \theta$).
Each inter-event interval therefore splits into at most three segments with a constant
drive (both thresholds exceeded, one, none). On each segment the deterministic $\rho$
equation is an autonomous cubic ODE, integrated with ``substeps`` classical RK4 steps that
start and end exactly on the segment boundaries: the integrator never steps across a
discontinuity of the drive. The work is fixed by the number of spikes, not by a step size.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

from ..._checks import error_if
from ..._results import RESULTS
from .._protocols import SpikeTrains
from ._graupner_brunel import GraupnerBrunel

#: Result codes of :class:`GBResult` (``result`` field).


class GBResult(eqx.Module):
    """Outcome of :func:`simulate_graupner_brunel` for one protocol.

    Attributes:
        rho: efficacy variable at ``trains.t_end`` (dimensionless).
        time_d: total time the calcium spent above ``theta_d``, s.
        time_p: total time the calcium spent above ``theta_p``, s.
        alpha_d: ``time_d / t_end`` (fraction of the protocol).
        alpha_p: ``time_p / t_end``.
        result: 0 on success, 1 if the state became non-finite (per batch member).
    """

    rho: Float[Array, ""]
    time_d: Float[Array, ""]
    time_p: Float[Array, ""]
    alpha_d: Float[Array, ""]
    alpha_p: Float[Array, ""]
    result: Int[Array, ""]


def _drift(rule: GraupnerBrunel, rho, above_p, above_d):
    cubic = -rho * (1.0 - rho) * (rule.rho_star - rho)
    drive = rule.gamma_p * (1.0 - rho) * above_p - rule.gamma_d * rho * above_d
    return (cubic + drive) / rule.tau


def _rk4(rule, rho, h, above_p, above_d, substeps):
    dt = h / substeps

    def f(r):
        return _drift(rule, r, above_p, above_d)

    def one(_, rho):
        k1 = f(rho)
        k2 = f(rho + 0.5 * dt * k1)
        k3 = f(rho + 0.5 * dt * k2)
        k4 = f(rho + dt * k3)
        return rho + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    # A rolled loop: unrolling makes reverse-mode compilation grow quickly with substeps.
    if substeps == 1:
        return one(0, rho)
    return jax.lax.fori_loop(0, substeps, one, rho)


def _interval(rule, rho, c0, length, substeps):
    """Advance ``rho`` over an interval of ``length`` s starting with calcium ``c0``."""
    # Double `where`, so that c0 = 0 (no calcium yet) gives a zero, not a NaN, gradient.
    positive = c0 > 0
    c_safe = jnp.where(positive, c0, 1.0)

    def crossing(theta):
        # Time until c0 * exp(-s / tau_Ca) falls to theta; 0 if it starts below.
        s = jnp.where(positive, rule.tau_Ca * jnp.log(c_safe / theta), 0.0)
        return jnp.clip(s, 0.0, length)

    s_p = crossing(rule.theta_p)
    s_d = crossing(rule.theta_d)
    s_lo = jnp.minimum(s_p, s_d)
    s_hi = jnp.maximum(s_p, s_d)
    one = jnp.ones_like(rho)
    rho = _rk4(rule, rho, s_lo, one, one, substeps)
    mid_p = (s_p > s_d).astype(rho.dtype)
    rho = _rk4(rule, rho, s_hi - s_lo, mid_p, 1.0 - mid_p, substeps)
    rho = _rk4(rule, rho, length - s_hi, 0.0 * one, 0.0 * one, substeps)
    return rho, s_d, s_p


def simulate_graupner_brunel(
    rule: GraupnerBrunel,
    trains: SpikeTrains,
    *,
    rho0: float | Float[ArrayLike, ""] = 0.5,
    substeps: int = 4,
    throw: bool = False,
) -> GBResult:
    r"""Deterministic ($\sigma$ ignored) spike-driven simulation of the GB2012 rule.

    Calcium events are the presynaptic spikes delayed by $D$ (amplitude $C_\mathrm{pre}$)
    and the postsynaptic spikes (amplitude $C_\mathrm{post}$); the protocol runs from
    0 to ``trains.t_end`` and events after ``t_end`` are ignored.

    Args:
        rule: the :class:`GraupnerBrunel` parameters.
        trains: spike times (s), padded with ``+inf``.
        rho0: initial efficacy variable (dimensionless).
        substeps: RK4 steps per constant-drive segment (static). 4 gives errors < 1e-8
            on the published parameter sets.
        throw: raise (``eqx.error_if``) instead of returning ``result = 1`` on a
            non-finite state.

    Returns:
        A :class:`GBResult`.

    References:
        Graupner M, Brunel N (2012) PNAS 109:3991.
    """
    if not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"`substeps` must be a positive int, got {substeps!r}")
    dtype = jnp.result_type(trains.pre.dtype, trains.post.dtype)
    times = jnp.concatenate([trains.pre + jnp.asarray(rule.D, dtype), trains.post])
    amps = jnp.concatenate(
        [
            jnp.full(trains.pre.shape, rule.C_pre, dtype=dtype),
            jnp.full(trains.post.shape, rule.C_post, dtype=dtype),
        ]
    )
    order = jnp.argsort(times)
    times, amps = times[order], amps[order]
    t_end = trains.t_end.astype(dtype)
    zero = jnp.zeros((), dtype)

    def body(carry, event):
        t_prev, c, rho, time_d, time_p = carry
        t_k, a_k = event
        t_stop = jnp.minimum(t_k, t_end)
        length = jnp.maximum(t_stop - t_prev, 0.0)
        rho, s_d, s_p = _interval(rule, rho, c, length, substeps)
        c = c * jnp.exp(-length / rule.tau_Ca) + jnp.where(t_k <= t_end, a_k, 0.0)
        return (jnp.maximum(t_stop, t_prev), c, rho, time_d + s_d, time_p + s_p), None

    rho_init = jnp.asarray(rho0, dtype)
    carry = (zero, zero, rho_init, zero, zero)
    (t_last, c, rho, time_d, time_p), _ = jax.lax.scan(body, carry, (times, amps))
    rho, s_d, s_p = _interval(rule, rho, c, jnp.maximum(t_end - t_last, 0.0), substeps)
    time_d, time_p = time_d + s_d, time_p + s_p
    ok = jnp.isfinite(rho)
    if throw:
        rho = error_if(rho, ~ok, "GraupnerBrunel simulation: rho became non-finite")
    duration = jnp.maximum(t_end, jnp.finfo(dtype).tiny)
    return GBResult(
        rho=rho,
        time_d=time_d,
        time_p=time_p,
        alpha_d=time_d / duration,
        alpha_p=time_p / duration,
        result=jnp.where(ok, RESULTS.ok, RESULTS.nonfinite).astype(jnp.int32),
    )
