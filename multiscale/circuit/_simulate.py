r"""Trials of any circuit: one trial, a batch advanced together, or given normals.

All three run the one loop, :func:`~multiscale.circuit.integrate`. :func:`simulate` is
one trial (``vmap`` it for many); :func:`simulate_batch` advances a batch in one loop
with the units first, state ``(units, trials)``: the same trials, faster (it is what
:func:`~multiscale.population.run_trials` runs).

Checks. Parameters are checked where they are used, also under ``jit`` and after
``eqx.tree_at``: with ``throw=True`` (default) a value out of range raises (an
``EquinoxRuntimeError`` naming the field); :func:`simulate_batch` with ``throw=False``
instead marks the members with a bad value ``RESULTS.invalid`` and leaves the others
untouched, as sweeps need.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, Key, PRNGKeyArray

from .._results import RESULTS
from ._abstract import AbstractCircuit
from ._integrate import integrate
from ._noise import AbstractCircuitNoise, CounterNoise, GivenNormals
from ._online_readout import AbstractOnlineReadout, NoReadout
from ._protocol import Stimulus, TrialProtocol

_NO_READOUT = NoReadout()
_COUNTER = CounterNoise()
_PROTOCOL = TrialProtocol()


class CircuitTrajectory(eqx.Module):
    """One simulated trial (leading batch axes for a batch), like diffrax's ``Solution``.

    Attributes:
        ts: save times, s, shape (*batch, time). With ``save_every=0`` only the final time.
        state: the circuit's state at ``ts``, each leaf (*batch, time, units).
        r: rates of all units at ``ts``, Hz, shape (*batch, time, units).
        readout: the online readout's result Module (e.g. a decision).
        result: ``RESULTS.ok`` (0), ``RESULTS.nonfinite`` (1) if the state became NaN or
            infinite, ``RESULTS.invalid`` (4) if a parameter was out of range (batches run
            with ``throw=False``); a bad member leaves the others untouched.
    """

    ts: Float[Array, "*batch time"]
    state: object
    r: Float[Array, "*batch time units"]
    readout: eqx.Module
    result: Int[Array, "*batch"]

    @property
    def ok(self) -> Array:
        """True where the trial finished with finite values and valid parameters."""
        return self.result == RESULTS.ok

    @property
    def S(self) -> Array:
        """The gating variables ``state.S`` of a circuit whose state has them (Wong–Wang)."""
        return self.state.S


def _checked_run(circuit, stimulus, protocol, readout, noise):
    if not isinstance(circuit, AbstractCircuit):
        raise TypeError(f"`circuit` must be an AbstractCircuit, got {type(circuit).__name__}")
    if not isinstance(stimulus, Stimulus):
        raise TypeError(f"`stimulus` must be a Stimulus, got {type(stimulus).__name__}")
    if not isinstance(protocol, TrialProtocol):
        raise TypeError(
            f"`protocol` must be a TrialProtocol (e.g. TrialProtocol(dt=5e-4, t1=2.5)), "
            f"got {type(protocol).__name__}"
        )
    if not isinstance(readout, AbstractOnlineReadout):
        raise TypeError(f"`readout` must be an AbstractOnlineReadout, got {readout!r}")
    if not isinstance(noise, AbstractCircuitNoise):
        raise TypeError(
            f"`noise` must be an AbstractCircuitNoise (e.g. CounterNoise()), got {noise!r}"
        )
    circuit.check_step(protocol.dt)
    available = noise.max_steps()
    if available is not None and protocol.n_steps > available:
        raise ValueError(
            f"`noise` supplies {available} steps but the trial has {protocol.n_steps} "
            f"(t1 / dt = {protocol.t1} / {protocol.dt}); give more normals or shorten `t1`"
        )


def _trajectory(circuit, out, readout, save_every, protocol, batch, invalid):
    if save_every:
        ts, state, r = out.saved
    else:
        ts = jnp.asarray(protocol.n_steps * protocol.dt, out.rates.dtype)[None]
        state = jax.tree.map(lambda a: a[None], out.state)
        r = out.rates[None]
    # (time, units, *batch) -> (*batch, time, units), as vmap over trials would give.
    move = lambda x: jnp.moveaxis(x, (0, 1), (-2, -1))
    state, r = jax.tree.map(move, state), move(r)
    ts = jnp.broadcast_to(ts, tuple(batch) + ts.shape)
    result = jnp.where(out.finite, RESULTS.ok, RESULTS.nonfinite)
    if invalid is not None:
        result = jnp.where(invalid, RESULTS.invalid, result)
    if batch and jax.tree.leaves(out.readout):
        axes = jax.tree.map(lambda x: -1 if jnp.ndim(x) else None, out.readout)
        decision = jax.vmap(readout.finish, in_axes=(axes,))(out.readout)
    else:
        decision = readout.finish(out.readout)
    return CircuitTrajectory(ts=ts, state=state, r=r, readout=decision, result=result)


def simulate(
    circuit: AbstractCircuit,
    stimulus: Stimulus,
    *,
    key: PRNGKeyArray,
    protocol: TrialProtocol = _PROTOCOL,
    readout: AbstractOnlineReadout = _NO_READOUT,
    save_every: int = 1,
    noise: AbstractCircuitNoise = _COUNTER,
    throw: bool = True,
) -> CircuitTrajectory:
    r"""Simulate one trial from $t = 0$ to ``protocol.t1`` with fixed steps.

    Args:
        circuit: any circuit (e.g. :class:`WongWang2006`).
        stimulus: the trial's stimulus (scalar fields).
        key: PRNG key for the noise (required: same key and source, same trial).
        protocol: the trial's timing (:class:`TrialProtocol`: 0.5 ms steps, stimulus on
            from 0.5 s, 2.5 s trials).
        readout: online readout run inside the loop (e.g. ``ThresholdReadout``).
        save_every: store every ``save_every``-th step; 0 stores only the final state.
        noise: the source of the normals (:class:`CounterNoise`; :class:`ThreefryNoise`
            for ``jax.random``'s generator).
        throw: True: a parameter out of range raises, also under ``jit``. False: the
            trial runs and its ``result`` is ``RESULTS.invalid`` (for sweeps, where one
            bad member must not stop the others).

    Returns:
        A :class:`CircuitTrajectory`.
    """
    _checked_run(circuit, stimulus, protocol, readout, noise)
    if throw:
        circuit, stimulus = circuit.checked(), stimulus.checked()
        invalid = None
    else:
        invalid = circuit.violations() | stimulus.violations()
    drive = circuit.stimulus_input(stimulus)
    out = integrate(
        circuit, drive, protocol, noise, noise.init(key), readout, save_every=save_every
    )
    return _trajectory(circuit, out, readout, save_every, protocol, (), invalid)


def simulate_batch(
    circuit: AbstractCircuit,
    stimulus: Stimulus,
    *,
    keys: Key[Array, " trials"],
    protocol: TrialProtocol = _PROTOCOL,
    readout: AbstractOnlineReadout = _NO_READOUT,
    noise: AbstractCircuitNoise = _COUNTER,
    throw: bool = True,
) -> CircuitTrajectory:
    r"""A batch of trials advanced together, the same trials as ``vmap(simulate)`` gives.

    ``keys`` has shape (trials,); every array leaf of ``circuit`` and ``stimulus`` is either
    a scalar (shared) or has shape (trials,) (one value per trial, e.g. the coherence). The
    loop keeps the units on the leading axis and the trials on the trailing one, state
    $(\text{units}, \text{trials})$, rather than ``vmap``'s $(\text{trials}, \text{units})$:
    XLA's CPU code vectorises elementwise work along the long minor axis, not across a
    minor axis of a few units. Only the final state is kept. To split a batch across
    devices, run one call per device's share (``jax.shard_map``), as
    :func:`~multiscale.population.run_trials` does.

    Args:
        throw: True: a parameter out of range raises (also under ``jit``). False: the
            members with a bad value get ``result == RESULTS.invalid`` and the others run
            as usual (for sweeps; the check is then local to each device's share).

    Returns:
        A :class:`CircuitTrajectory` with a leading trial axis on every field.
    """
    if jnp.ndim(keys) != 1:
        raise ValueError(f"`keys` must have shape (trials,), got {jnp.shape(keys)}")
    _checked_run(circuit, stimulus, protocol, readout, noise)
    batch = (jnp.shape(keys)[0],)
    for name, tree in (("circuit", circuit), ("stimulus", stimulus)):
        for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_array)):
            if jnp.ndim(leaf) and jnp.shape(leaf) != batch:
                raise ValueError(
                    f"`{name}` leaves must be scalars or have one value per trial, shape "
                    f"{batch}; got a leaf of shape {jnp.shape(leaf)}"
                )
    if throw:
        circuit, stimulus = circuit.checked(), stimulus.checked()
        invalid = None
    else:
        invalid = jnp.broadcast_to(circuit.violations() | stimulus.violations(), batch)
    per_trial = lambda x: 0 if jnp.ndim(x) else None
    axes = (jax.tree.map(per_trial, circuit), jax.tree.map(per_trial, stimulus))
    if jax.tree.leaves(axes):  # some leaf has one value per trial
        on = lambda c, s: c.stimulus_input(s)
        drive = jax.vmap(on, in_axes=axes, out_axes=-1)(circuit, stimulus)
    else:
        drive = circuit.stimulus_input(stimulus)[..., None]
    # Per-trial parameters meet the (units, trials) state with an explicit leading axis.
    circuit = jax.tree.map(lambda x: x[None] if jnp.ndim(x) else x, circuit)
    noise_state = jax.vmap(noise.init, out_axes=-1)(keys)
    out = integrate(circuit, drive, protocol, noise, noise_state, readout, batch=batch)
    return _trajectory(circuit, out, readout, 0, protocol, batch, invalid)


def simulate_with_normals(
    circuit: AbstractCircuit,
    stimulus: Stimulus,
    normals: Float[Array, "steps n_noise"],
    *,
    protocol: TrialProtocol = _PROTOCOL,
    readout: AbstractOnlineReadout = _NO_READOUT,
    save_every: int = 1,
) -> CircuitTrajectory:
    """As :func:`simulate`, with the standard normals $\\xi$ of every step given explicitly.

    Used to drive the loop with the increments of a given Brownian path
    ($\\xi_k = \\Delta W_k / \\sqrt{\\Delta t}$), e.g. to compare with the diffrax reference.
    """
    noise = GivenNormals(jnp.asarray(normals))
    _checked_run(circuit, stimulus, protocol, readout, noise)
    circuit, stimulus = circuit.checked(), stimulus.checked()
    drive = circuit.stimulus_input(stimulus)
    out = integrate(circuit, drive, protocol, noise, noise.xi, readout, save_every=save_every)
    return _trajectory(circuit, out, readout, save_every, protocol, (), None)
