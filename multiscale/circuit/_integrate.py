r"""The one time loop of every circuit: fixed steps, checkpointed segments, online reducers.

Every simulation, batch, likelihood and readout of a circuit runs :func:`integrate`; no
other loop over circuit state exists in the package. One step of length $\Delta t$:

1. the stimulus input of the step (zero outside the protocol's stimulus window) and the
   step's standard normals (from the noise object, generated where they are used);
2. the circuit's step function (:meth:`~multiscale.circuit.AbstractCircuit.discretise`)
   advances the state and returns the rates at the start of the step;
3. the choice rates are smoothed by a causal boxcar of ``readout.window_steps(dt)``
   steps and handed to the online readout (``(init, step, finish)``);
4. optional per-step reducers: ``emit`` maps the readout's per-step output to what is
   stacked over time (e.g. first-passage masses summed over noise paths, for the
   likelihood), and ``save_every`` keeps every k-th state and rates;
5. an optional :class:`OnlineUpdate` (plasticity within the trial): its ``update`` sees
   the step's index and rates and advances a carried state, and the next step runs the
   circuit ``circuit(that state)`` (e.g. with weights a learning rule has just changed).

Segments. Steps are grouped into segments (the protocol's ``segment``, or the readout's
window when it smooths), each wrapped in ``jax.checkpoint``: under ``grad`` only the state
at segment boundaries is stored and each segment is recomputed in the backward pass, so
memory grows with ``n_steps / segment + segment`` instead of ``n_steps``. The boxcar's
window sum at a step is its segment's running sum plus the tail of the previous segment's
running sums, which the loop carries (no ring buffer is copied per step). With
``save_every=0`` and no ``emit`` nothing but the final state and the readout's state is
kept, so large batches fit in memory.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._abstract import AbstractCircuit
from ._noise import AbstractCircuitNoise
from ._online_readout import AbstractOnlineReadout, NoReadout
from ._protocol import TrialProtocol


class Integration(NamedTuple):
    """What :func:`integrate` returns (units first, batch axes trailing).

    Attributes:
        state: the circuit's state at the end of the trial.
        rates: all rates at the end of the trial, Hz, ``(units, *batch)``.
        readout: the readout's final state (``readout.finish`` makes its result).
        saved: ``(ts, states, rates)`` stacked over saved steps (time first), or ``None``.
        emitted: the ``emit`` outputs stacked over all steps (time first), or ``None``.
        finite: True where the final state is finite, shape ``batch``.
        online: the final carried state of an :class:`OnlineUpdate`, or ``None``.
    """

    state: Any
    rates: Float[Array, "units ..."]
    readout: Any
    saved: Any
    emitted: Any
    finite: Bool[Array, "*batch"]
    online: Any = None


class OnlineUpdate(NamedTuple):
    """A state carried through the loop that changes the circuit within the trial.

    Step $k$ runs ``circuit(aux)`` (so its parameters, e.g. a projection's weights, may
    depend on ``aux``); then ``aux = update(aux, k, rates)`` with the rates of all units
    at the start of step $k$, Hz, ``(units, *batch)``.

    Attributes:
        init: the carried state before the first step (any pytree).
        circuit: ``aux -> AbstractCircuit`` (same structure and state layout every step).
        update: ``(aux, k, rates) -> aux``.
    """

    init: Any
    circuit: Callable[[Any], AbstractCircuit]
    update: Callable[[Any, Array, Array], Any]


def integrate(
    circuit: AbstractCircuit,
    drive: Float[Array, "inputs ..."],
    protocol: TrialProtocol,
    noise: AbstractCircuitNoise,
    noise_state: Any,
    readout: AbstractOnlineReadout,
    *,
    batch: tuple[int, ...] = (),
    save_every: int = 0,
    emit: Callable[[Any], Any] | None = None,
    online: OnlineUpdate | None = None,
) -> Integration:
    r"""Run ``circuit`` through one trial (or a batch advanced together).

    Args:
        circuit: any :class:`~multiscale.circuit.AbstractCircuit`.
        drive: the stimulus input while on, from ``circuit.stimulus_input`` (broadcast to
            ``(inputs, *batch)``).
        protocol: the trial's timing and segment length.
        noise: the noise source; ``noise_state`` its state (``noise.init(key)``, mapped
            with ``out_axes=-1`` over a batch of keys).
        readout: online readout (``NoReadout()`` for none).
        batch: the batch shape advanced together (``()``: one trial).
        save_every: keep every ``save_every``-th step's state and rates (0: none).
        emit: optional map of the readout's per-step output to what is stacked over time.
        online: optional :class:`OnlineUpdate` (the circuit changes within the trial);
            its final carried state is ``Integration.online``.

    Returns:
        An :class:`Integration`.
    """
    if not (isinstance(save_every, int) and save_every >= 0):
        raise ValueError(f"`save_every` must be an int >= 0, got {save_every!r}")
    dt = protocol.dt
    n_steps = protocol.n_steps
    window = readout.window_steps(dt)
    if not (isinstance(window, int) and window >= 1):
        raise ValueError(f"`readout.window_steps(dt)` must be an int >= 1, got {window!r}")
    smooth = window > 1
    seg = window if smooth else min(protocol.segment, n_steps)
    if save_every and seg % save_every:
        what = "the readout's window (in steps)" if smooth else "the protocol's `segment`"
        raise ValueError(f"{what} ({seg}) must be a multiple of `save_every` ({save_every})")
    n_full, rem = divmod(n_steps, seg)
    dtype = jnp.result_type(float)
    dt_ = jnp.asarray(dt, dtype)
    n_noise = circuit.n_noise
    step_fn = circuit.discretise(dt)

    drive = jnp.broadcast_to(drive, drive.shape[:1] + tuple(batch))
    zero_drive = jnp.zeros_like(drive)
    state0 = circuit.init(tuple(batch), dtype)
    no_noise = jnp.zeros((n_noise,) + tuple(batch), dtype)
    on0 = protocol.stimulus_on(0)
    _, r0 = step_fn(state0, drive if on0 else zero_drive, no_noise)
    choice0 = _choice(circuit, r0, readout)
    ro0 = readout.init(choice0, dt=dt, t_on=jnp.asarray(protocol.t_on, dtype))
    # Running sums of the previous segment (the rates at t = 0 stand for the history).
    prev0 = (
        jnp.cumsum(jnp.broadcast_to(choice0, (seg,) + choice0.shape), axis=0) if smooth else None
    )

    def step(carry, inp, last):
        state, run, ro, aux = carry
        k, prev = inp
        t = k.astype(dtype) * dt_
        drive_k = jnp.where(protocol.stimulus_on(k), drive, zero_drive)
        xi = noise.normals(noise_state, k, n_noise)
        if online is None:
            new_state, r = step_fn(state, drive_k, xi)
        else:
            new_state, r = online.circuit(aux).discretise(dt)(state, drive_k, xi)
            aux = online.update(aux, k, r)
        c = _choice(circuit, r, readout)
        if smooth:
            run = run + c
            r_bar = (run + (last - prev)) / window
        else:
            r_bar = c
        ro, out = readout.step(ro, t + dt_, r_bar)
        emitted = emit(out) if emit is not None else None
        saved = (t, state, r) if save_every else None
        return (new_state, run, ro, aux), (run, saved, emitted)

    def run_segment(carry, i, size):
        state, prev, ro, aux = carry
        ks = i * seg + jnp.arange(size, dtype=jnp.int32)
        # The window sum at step j adds the previous segment's steps j+1.. to this one's:
        # its last running sum minus its j-th, read in the step (no tail array is made).
        own = prev[:size] if smooth else jnp.zeros((size, 0), dtype)
        last = prev[-1] if smooth else None
        run0 = jnp.zeros_like(choice0) if smooth else None
        (state, _, ro, aux), (runs, saved, emitted) = jax.lax.scan(
            lambda c_, x_: step(c_, x_, last), (state, run0, ro, aux), (ks, own)
        )
        if smooth:
            # A short last segment leaves the older part of the window in `prev`.
            prev = runs if size == seg else prev
        saved = jax.tree.map(lambda a: a[::save_every], saved) if save_every else None
        return (state, prev, ro, aux), (saved, emitted)

    carry = (state0, prev0, ro0, None if online is None else online.init)
    outs = []
    if n_full:
        full = jax.checkpoint(lambda c_, i: run_segment(c_, i, seg))
        carry, out = jax.lax.scan(full, carry, jnp.arange(n_full, dtype=jnp.int32))
        outs.append(jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out))
    if rem:
        carry, out = jax.checkpoint(lambda c_, i: run_segment(c_, i, rem))(
            carry, jnp.asarray(n_full, jnp.int32)
        )
        outs.append(out)
    state_end, _, ro_end, aux_end = carry
    saved, emitted = jax.tree.map(lambda *a: jnp.concatenate(a), *outs) if outs else (None, None)
    drive_end = drive if protocol.stimulus_on(n_steps) else zero_drive
    if online is not None:
        step_fn = online.circuit(aux_end).discretise(dt)
    _, r_end = step_fn(state_end, drive_end, no_noise)
    finite = jnp.ones(tuple(batch), bool)
    for leaf in jax.tree.leaves(state_end):
        finite = finite & jnp.all(jnp.isfinite(leaf), axis=0)
    return Integration(state_end, r_end, ro_end, saved, emitted, finite, aux_end)


def _choice(circuit: AbstractCircuit, r: Array, readout: AbstractOnlineReadout) -> Array:
    c = circuit.choice_rates(r)
    if c is None:
        if not isinstance(readout, NoReadout):
            raise ValueError(
                f"{type(circuit).__name__} has no choice populations (`choice_rates` is "
                "None), so it cannot run a decision readout; use NoReadout()"
            )
        return r[:0]
    return c
