"""Responses of kinetic receptors to presynaptic spike trains, with exact pulse edges.

The transmitter $T(t)$ is piecewise constant and jumps at every pulse onset $t_k$ and
offset $t_k + C_\\mathrm{dur}$. :func:`simulate_receptor` gives these edges to diffrax
as ``jump_ts``, so no step of the adaptive solver straddles a discontinuity and the
solver keeps its order. :func:`first_order_exact` is the closed-form solution of the
first-order scheme, piece by piece, used as the reference in tests and in the
published-target checks.
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Real

from ..._checks import error_if
from ..._results import RESULTS
from ..._typing import SpikeTimes
from ._kinetic_receptors import AbstractReceptor, FirstOrderReceptor

# Default method objects (immutable, so sharing them between calls is safe).
_DEFAULT_SOLVER = diffrax.Tsit5()
_DEFAULT_CONTROLLER = diffrax.PIDController(rtol=1e-6, atol=1e-8)


class ReceptorTrajectory(eqx.Module):
    """States of a receptor at the save times (like diffrax's ``Solution``).

    Attributes:
        ts: save times, s, shape (time,) (with leading batch axes after ``vmap``).
        ys: receptor state, shape (time, state): ``[r]`` for a
            :class:`FirstOrderReceptor`, ``[R, G]`` for a :class:`GABABReceptor`.
        result: the outcome code of ``ms.RESULTS`` (0 ok, 5 max steps, 6 solver failed),
            per member of a ``vmap``-ed batch (with ``throw=False``).
    """

    ts: Float[Array, "*batch time"]
    ys: Float[Array, "*batch time state"]
    result: Int[Array, "*batch"]

    @property
    def r(self) -> Float[Array, "*batch time"]:
        """First state variable: open fraction $r$ (first order) or bound fraction $R$ (GABA_B)."""
        return self.ys[..., 0]

    @property
    def G(self) -> Float[Array, "*batch time"]:
        """Activated G-protein $G$ (GABA_B only)."""
        if self.ys.shape[-1] < 2:
            raise ValueError("this trajectory has no G-protein state; it is not a GABA_B receptor")
        return self.ys[..., 1]


def _check_spike_times(spike_times: Array) -> Array:
    """Reject NaN or unsorted spike times (trailing ``+inf`` padding allowed)."""
    if spike_times.ndim != 1:
        raise ValueError(f"`spike_times` must be 1-D, got shape {spike_times.shape}")
    try:
        xs = np.asarray(spike_times)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        finite = jnp.where(jnp.isnan(spike_times), -jnp.inf, spike_times)
        bad = jnp.any(jnp.isnan(spike_times)) | jnp.any(jnp.diff(finite) < 0)
        return error_if(
            spike_times, bad, "`spike_times` must be ascending (pad with +inf at the end)"
        )
    n_finite = int(np.isfinite(xs).sum())
    if (
        np.any(np.isnan(xs))
        or not np.all(np.isfinite(xs[:n_finite]))
        or np.any(np.diff(xs[:n_finite]) < 0)
    ):
        raise ValueError(
            "`spike_times` must be ascending and free of NaN, with +inf padding only at the end"
        )
    return spike_times


def _check_ts(ts: Array) -> Array:
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"`ts` must be a non-empty 1-D array of save times, got shape {ts.shape}")
    try:
        xs = np.asarray(ts)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return ts
    if not np.all(np.isfinite(xs)) or np.any(np.diff(xs) < 0):
        raise ValueError("`ts` must be finite and non-decreasing")
    return ts


def transmitter(
    receptor: AbstractReceptor, spike_times: SpikeTimes, t: Real[ArrayLike, ""]
) -> Float[Array, ""]:
    r"""Transmitter concentration $T(t)$ (mM): ``Cmax`` while any pulse is on, else 0.

    A pulse occupies $[t_k, t_k + C_\mathrm{dur})$. Overlapping pulses merge (the cleft
    concentration saturates at ``Cmax``), as in a release-site model whose vesicle pool
    is already emptying; padded ``+inf`` spikes never switch a pulse on.
    """
    on = (t >= spike_times) & (t < spike_times + receptor.Cdur)
    return jnp.where(jnp.any(on), jnp.asarray(receptor.Cmax, dtype=spike_times.dtype), 0.0)


def _clip_at_jumps(
    controller: diffrax.AbstractStepSizeController, dt0, jumps: Array
) -> diffrax.ClipStepSizeController:
    """Wrap ``controller`` so that steps end just before, and restart just after, each jump.

    ``ConstantStepSize`` cannot be clipped by diffrax; it is replaced by a PID controller
    that accepts every step and whose step is pinned to ``dt0`` (steps are only
    shortened to land on a jump). This needs a solver with an embedded error estimate
    (e.g. ``Heun``, ``Tsit5``), whose estimate is then ignored.
    """
    if isinstance(controller, diffrax.ConstantStepSize):
        if dt0 is None:
            raise ValueError("`dt0` (s) is required with `ConstantStepSize()`")
        controller = diffrax.PIDController(
            rtol=1e10, atol=1e10, dtmin=dt0, dtmax=dt0, force_dtmin=True
        )
    if not isinstance(controller, diffrax.AbstractAdaptiveStepSizeController):
        raise ValueError(
            "`stepsize_controller` must be an adaptive diffrax controller or "
            f"ConstantStepSize(), got {type(controller).__name__}"
        )
    return diffrax.ClipStepSizeController(controller, jump_ts=jumps)


def _pulse_edges(receptor: AbstractReceptor, spike_times: Array) -> Array:
    return jnp.sort(jnp.concatenate([spike_times, spike_times + receptor.Cdur]))


def simulate_receptor(
    receptor: AbstractReceptor,
    spike_times: Real[ArrayLike, " spikes"],
    ts: Real[ArrayLike, " time"],
    *,
    t0: Real[ArrayLike, ""] = 0.0,
    y0: Float[Array, " state"] | None = None,
    solver: diffrax.AbstractSolver = _DEFAULT_SOLVER,
    stepsize_controller: diffrax.AbstractStepSizeController = _DEFAULT_CONTROLLER,
    dt0: Real[ArrayLike, ""] | None = None,
    max_steps: int | None = None,
    throw: bool = True,
) -> ReceptorTrajectory:
    r"""Receptor state in response to a presynaptic spike train, with ``diffrax.diffeqsolve``.

    Solves $\dot y = f(y, T(t))$ (see the receptor's docstring) from $y(t_0) = y_0$ with
    $T(t)$ from :func:`transmitter`. Every pulse onset and offset is passed to the step
    size controller as a ``jump_ts`` entry, so the solver restarts at each discontinuity
    instead of stepping across it.

    Args:
        receptor: a :class:`FirstOrderReceptor` or :class:`GABABReceptor`.
        spike_times: presynaptic spike times, s, shape (spikes,), ascending, padded with
            ``+inf``.
        ts: save times, s, shape (time,), non-decreasing, all ``>= t0``.
        t0: start time, s (0).
        y0: initial state, shape (state,); the resting state (all zeros) if ``None``.
        solver: a diffrax solver (``Tsit5()``).
        stepsize_controller: a diffrax controller (``PIDController(rtol=1e-6,
            atol=1e-8)``); it is wrapped in a ``ClipStepSizeController`` carrying the
            pulse edges. ``ConstantStepSize()`` (with ``dt0``) gives fixed steps that
            are only shortened to land on pulse edges; it needs a solver with an error
            estimate (``Heun``, ``Tsit5``; not ``Euler``).
        dt0: initial step, s (``None``: chosen by the controller).
        max_steps: step budget (``None``: 4096 + 64 per pulse edge). Static.
        throw: raise on solver failure; with ``False`` the failure is reported in
            ``result`` so that one bad member of a ``vmap``-ed batch spares the rest.

    Returns:
        A :class:`ReceptorTrajectory` with the states at ``ts``.

    Example:
        >>> import jax.numpy as jnp, multiscale as ms
        >>> traj = ms.synapse.simulate_receptor(
        ...     ms.synapse.ampa(), jnp.array([0.0]), jnp.array([0.001, 0.005]))
        >>> round(float(traj.r[0]), 3)
        0.618

    References:
        Destexhe, Mainen & Sejnowski 1994 (Neural Comput 6:14) and 1998 (Methods in
        Neuronal Modeling, ch. 1).
    """
    spike_times = _check_spike_times(jnp.asarray(spike_times, dtype=float))
    ts = _check_ts(jnp.asarray(ts, dtype=float))
    t0 = jnp.asarray(t0, dtype=ts.dtype)
    y0 = receptor.init_state() if y0 is None else jnp.asarray(y0)
    if y0.shape != receptor.init_state().shape:
        raise ValueError(
            f"`y0` must have shape {receptor.init_state().shape} for "
            f"{type(receptor).__name__}, got {y0.shape}"
        )
    ts = error_if(ts, jnp.any(ts < t0), "save times `ts` must be >= `t0`")
    edges = _pulse_edges(receptor, spike_times)
    # diffrax requires finite jump times; padded +inf spikes become a jump after t1.
    t1 = ts[-1]
    edges = jnp.where(jnp.isfinite(edges), edges, t1 + 1.0)
    if max_steps is None:
        max_steps = 4096 + 64 * int(edges.shape[0])

    controller = _clip_at_jumps(stepsize_controller, dt0, edges)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        solver,
        t0=t0,
        t1=t1,
        dt0=dt0,
        y0=y0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=controller,
        args=(receptor, spike_times),
        max_steps=max_steps,
        throw=throw,
    )
    return ReceptorTrajectory(ts=ts, ys=sol.ys, result=RESULTS.from_diffrax(sol.result))


def _vector_field(t, y, args):
    # Module level (not a closure) so that diffrax's compiled solve is reused across calls.
    receptor, spike_times = args
    return receptor.vector_field(transmitter(receptor, spike_times, t), y)


def first_order_exact(
    receptor: FirstOrderReceptor,
    spike_times: Real[ArrayLike, " spikes"],
    ts: Real[ArrayLike, " time"],
    *,
    t0: Real[ArrayLike, ""] = 0.0,
    r0: Real[ArrayLike, ""] = 0.0,
) -> Float[Array, " time"]:
    r"""Closed-form open fraction $r(t)$ of a first-order receptor, exact at every time.

    Between consecutive pulse edges $T$ is constant, and
    $r(t + \Delta) = r_\infty(T) + (r(t) - r_\infty(T))\,e^{-(\alpha T + \beta)\Delta}$
    with $r_\infty(T) = \alpha T / (\alpha T + \beta)$. A ``lax.scan`` carries $r$ from
    edge to edge; each save time is then reached from the last edge before it.

    Args:
        receptor: a :class:`FirstOrderReceptor`.
        spike_times: presynaptic spike times, s, shape (spikes,), ascending, ``+inf`` padded.
        ts: save times, s, shape (time,), each ``>= t0``.
        t0: start time, s (0).
        r0: open fraction at ``t0`` (0).

    Returns:
        $r$ at ``ts``, shape (time,).
    """
    spike_times = _check_spike_times(jnp.asarray(spike_times, dtype=float))
    ts = _check_ts(jnp.asarray(ts, dtype=float))
    dtype = ts.dtype
    t0 = jnp.asarray(t0, dtype=dtype)
    ts = error_if(ts, jnp.any(ts < t0), "save times `ts` must be >= `t0`")
    edges = jnp.maximum(_pulse_edges(receptor, spike_times), t0)
    alpha = jnp.asarray(receptor.alpha, dtype=dtype)
    beta = jnp.asarray(receptor.beta, dtype=dtype)

    def advance(r, t_start, t_end):
        # T is constant on (t_start, t_end): evaluate it at the midpoint (no edge inside).
        span = t_end - t_start
        finite = jnp.isfinite(span)
        span = jnp.where(finite, span, 0.0)
        mid = jnp.where(finite, t_start + 0.5 * span, t_start)
        T = transmitter(receptor, spike_times, mid)
        rate = alpha * T + beta
        r_inf = alpha * T / rate
        return r_inf + (r - r_inf) * jnp.exp(-rate * span)

    def step(carry, edge):
        r, t_prev = carry
        r_new = advance(r, t_prev, edge)
        t_new = jnp.where(jnp.isfinite(edge), edge, t_prev)
        return (r_new, t_new), r_new

    r0 = jnp.asarray(r0, dtype=dtype)
    _, r_at_edges = jax.lax.scan(step, (r0, t0), edges)
    all_edges = jnp.concatenate([t0[None], edges])
    all_r = jnp.concatenate([r0[None], r_at_edges])
    idx = jnp.searchsorted(all_edges, ts, side="right") - 1
    idx = jnp.clip(idx, 0, all_edges.shape[0] - 1)
    return jax.vmap(advance)(all_r[idx], all_edges[idx], ts)


def _state_array(state) -> Array:
    return state.ys if isinstance(state, ReceptorTrajectory) else jnp.asarray(state)


def conductance(
    receptor: AbstractReceptor,
    state: ReceptorTrajectory | Float[Array, "*batch state"],
    V: Real[ArrayLike, "*#batch"] | None = None,
) -> Float[Array, "*batch"]:
    r"""Synaptic conductance $g = g_\max\, O(y)\, B(V)$, nS.

    Args:
        receptor: the receptor that produced ``state``.
        state: a :class:`ReceptorTrajectory` or state array(s) of shape (..., state).
        V: membrane potential, mV, broadcastable to the batch shape. Required for a
            receptor with a voltage-dependent block (NMDA); ignored (``None``) otherwise.

    Returns:
        Conductance in nS, one per state.
    """
    ys = _state_array(state)
    g = jnp.asarray(receptor.g_max) * receptor.open_fraction(ys)
    if isinstance(receptor, FirstOrderReceptor) and receptor.block is not None:
        if V is None:
            raise ValueError(
                "`V` (mV) is required: this receptor's conductance is voltage dependent "
                "(Mg2+ block). Pass V, or build the receptor with block=None."
            )
        g = g * receptor.unblocked(V)
    return g


def current(
    receptor: AbstractReceptor,
    state: ReceptorTrajectory | Float[Array, "*batch state"],
    V: Real[ArrayLike, "*#batch"],
) -> Float[Array, "*batch"]:
    r"""Synaptic current $I = g\,(V - E_\mathrm{rev})$ in nA (outward positive).

    $g$ is in nS and $V - E_\mathrm{rev}$ in mV, so $g (V - E)$ is in pA; it is divided
    by 1000 to give nA.

    Args:
        receptor: the receptor that produced ``state``.
        state: a :class:`ReceptorTrajectory` or state array(s) of shape (..., state).
        V: membrane potential, mV, broadcastable to the batch shape.

    Returns:
        Current in nA, one per state.
    """
    V = jnp.asarray(V)
    g = conductance(receptor, state, V)
    return 1e-3 * g * (V - jnp.asarray(receptor.E_rev))
