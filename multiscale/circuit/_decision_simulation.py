r"""Trials of the Wong–Wang circuit: the stimulus and a fixed-step ``lax.scan`` integrator.

Each step of length $\Delta t$ updates the noise current with the **exact**
Ornstein–Uhlenbeck transition and the gating with forward Euler:

$$I_{\mathrm{noise}} \leftarrow I_{\mathrm{noise}}\,e^{-\Delta t/\tau_\mathrm{AMPA}}
  + \frac{\sigma_\mathrm{noise}}{\sqrt 2}\sqrt{1 - e^{-2\Delta t/\tau_\mathrm{AMPA}}}\;\xi,
  \qquad S \leftarrow S + \Delta t\, f(S, I_\mathrm{stim} + I_\mathrm{noise}),$$

with $\xi \sim N(0, 1)$ per step and population. The OU update has no step-size
restriction; the Euler step of $S$ holds the noise constant over the step, so $\Delta t$
must resolve $\tau_\mathrm{AMPA}$ (we require $\Delta t \le \tau_\mathrm{AMPA}/2$).

Batches. :func:`simulate` is one trial (``vmap`` it for many); :func:`simulate_batch`
advances a batch in one loop with the populations first, state $(2, \text{trials})$, the
same trials faster (it is what :func:`~multiscale.population.run_trials` runs).

Noise. The normals $\xi$ come from a noise source object (:mod:`._noise`):
:class:`CounterNoise` by default, generated inside the step from a hash of the step
counter, so nothing is drawn ahead or stored; :class:`ThreefryNoise` is the slower
``jax.random`` reference.

Memory and speed. Steps are grouped into segments of ``block`` steps, each wrapped in
``jax.checkpoint``: under ``grad`` only the state at segment boundaries is stored and each
segment is recomputed in the backward pass, so memory grows with
``n_steps/block + block`` instead of ``n_steps``. A readout that smooths the rates with a
boxcar of $W$ steps sets the segment to $W$ steps: each step's window sum is then its
segment's running sum plus the tail of the previous segment's running sums, which the
loop carries (no ring buffer is copied per step). With ``save_every=0`` nothing but the
final state and the readout's state is kept, so large batches fit in memory.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, Key, PRNGKeyArray

from ._noise import AbstractCircuitNoise, CounterNoise, GivenNormals
from ._online_readout import AbstractOnlineReadout, NoReadout
from ._wong_wang import WongWang2006

Param = Float[ArrayLike, ""]

_NO_READOUT = NoReadout()
_COUNTER = CounterNoise()

SUCCESS = 0
NONFINITE = 1


class Stimulus(eqx.Module):
    r"""Random-dot stimulus of one trial: $I_{1,2} = J_{A,\mathrm{ext}}\,\mu_0\,(1 \pm c)$ while on.

    Before ``t_on`` (the pre-stimulus period) and after ``t_on + duration`` both
    stimulus currents are zero. Population 1 is the one favoured by the stimulus,
    so choice 1 is the correct choice for ``c > 0``.

    Attributes:
        coherence: motion coherence $c$ as a **fraction** in [0, 1] (51.2 % is 0.512).
        mu0: mean stimulus input rate $\mu_0$, Hz (30).
        t_on: stimulus onset (length of the pre-stimulus period), s (0.5).
        duration: stimulus duration, s (``inf``: on until the end of the trial).

    References:
        Wong KF, Wang XJ (2006) J Neurosci 26:1314, eq. A4; reference_values 6a.
    """

    coherence: Param = 0.0
    mu0: Param = 30.0
    t_on: Param = 0.5
    duration: Param = math.inf

    def __check_init__(self):
        c = self.coherence
        if isinstance(c, int | float) and not 0.0 <= c <= 1.0:
            raise ValueError(
                f"Stimulus `coherence` is a fraction in [0, 1] (51.2 % is 0.512), got {c}"
            )
        for name in ("mu0", "t_on", "duration"):
            value = getattr(self, name)
            if isinstance(value, int | float) and not value >= 0:
                raise ValueError(f"Stimulus `{name}` must be >= 0, got {value}")

    def is_on(self, t: Float[ArrayLike, ""]) -> Array:
        """True while the stimulus is on at time ``t`` (s)."""
        t = jnp.asarray(t)
        t_on = jnp.asarray(self.t_on)
        return (t >= t_on) & (t < t_on + jnp.asarray(self.duration))

    def on_currents(self, circuit: WongWang2006) -> Float[Array, "2 ..."]:
        """Stimulus currents $(I_1, I_2)$, nA, while the stimulus is on (trials trailing)."""
        c = jnp.asarray(self.coherence)
        level = jnp.asarray(circuit.J_A_ext) * jnp.asarray(self.mu0)
        return level * jnp.stack([1.0 + c, 1.0 - c])

    def currents(self, circuit: WongWang2006, t: Float[ArrayLike, ""]) -> Float[Array, "2 ..."]:
        """Stimulus currents $(I_1, I_2)$, nA, at time ``t`` (s)."""
        currents = self.on_currents(circuit)
        return jnp.where(self.is_on(t), currents, jnp.zeros_like(currents))


class CircuitTrajectory(eqx.Module):
    """One simulated trial (leading batch axes after ``vmap``), like diffrax's ``Solution``.

    Attributes:
        ts: save times, s, shape (time,). With ``save_every=0`` only the final time.
        S: NMDA gating $(S_1, S_2)$ at ``ts``, shape (time, 2).
        r: rates $(r_1, r_2)$ at ``ts``, Hz, shape (time, 2).
        readout: the online readout's result Module (e.g. a decision).
        result: 0 on success, 1 if the state became NaN or infinite (a member of a
            batch that diverged is flagged here and leaves the others untouched).
    """

    ts: Float[Array, "*batch time"]
    S: Float[Array, "*batch time 2"]
    r: Float[Array, "*batch time 2"]
    readout: eqx.Module
    result: Int[Array, "*batch"]

    @property
    def ok(self) -> Array:
        """True where the trial finished with a finite state."""
        return self.result == SUCCESS


def check_step(circuit: WongWang2006, dt: float) -> None:
    """Raise ``ValueError`` if ``dt`` (s) does not resolve the circuit's time constants."""
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 s, got {dt}")
    for name, tau in (("tau_AMPA", circuit.tau_AMPA), ("nmda.tau_decay", circuit.nmda.tau_decay)):
        try:
            tau = float(tau)
        except (
            TypeError,
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            continue
        if not tau > 0:
            raise ValueError(f"time constant `{name}` must be > 0 s, got {tau}")
        if dt > 0.5 * tau:
            raise ValueError(
                f"`dt` = {dt} s is too large for `{name}` = {tau} s; use dt <= {0.5 * tau:g} s"
            )


def simulate(
    circuit: WongWang2006,
    stimulus: Stimulus,
    *,
    key: PRNGKeyArray,
    dt: float = 5e-4,
    t1: float = 2.5,
    S0: float = 0.1,
    readout: AbstractOnlineReadout = _NO_READOUT,
    save_every: int = 1,
    block: int = 100,
    noise: AbstractCircuitNoise = _COUNTER,
) -> CircuitTrajectory:
    r"""Simulate one trial from $t = 0$ to ``t1`` with fixed steps (see the module docstring).

    Args:
        circuit: the circuit.
        stimulus: the trial's stimulus.
        key: PRNG key for the noise.
        dt: step, s (0.5 ms). Must satisfy ``dt <= tau_AMPA / 2``.
        t1: end of the trial, s (2.5 = 0.5 s pre-stimulus + 2 s). ``round(t1/dt)`` steps.
        S0: initial gating of both populations (0.1); the noise starts at 0 nA.
        readout: online readout run inside the loop (e.g. ``ThresholdReadout``).
        save_every: store every ``save_every``-th step; 0 stores only the final state.
        block: steps per ``jax.checkpoint`` segment when the readout does not smooth the
            rates; a smoothing readout uses its window (``readout.window_steps(dt)``).
        noise: the source of the normals (:class:`CounterNoise`; :class:`ThreefryNoise`
            for ``jax.random``'s generator). Same key and source: same trial.

    Returns:
        A :class:`CircuitTrajectory`.
    """
    n_steps = _checked_steps(circuit, dt, t1, block, noise)
    stimulus = _with_checked_coherence(stimulus)
    level = stimulus.on_currents(circuit)
    return _integrate(
        circuit,
        stimulus,
        level,
        noise,
        noise.init(key),
        dt,
        n_steps,
        block,
        S0,
        readout,
        save_every,
    )


def simulate_batch(
    circuit: WongWang2006,
    stimulus: Stimulus,
    *,
    keys: Key[Array, " trials"],
    dt: float = 5e-4,
    t1: float = 2.5,
    S0: float = 0.1,
    readout: AbstractOnlineReadout = _NO_READOUT,
    block: int = 100,
    noise: AbstractCircuitNoise = _COUNTER,
    check_coherence: bool = True,
) -> CircuitTrajectory:
    r"""A batch of trials advanced together, the same trials as ``vmap(simulate)`` gives.

    ``keys`` has shape (trials,); every array leaf of ``circuit`` and ``stimulus`` is either
    a scalar (shared) or has shape (trials,) (one value per trial, e.g. the coherence). The
    loop keeps the two populations on the leading axis and the trials on the trailing one,
    state $(2, \text{trials})$, rather than ``vmap``'s $(\text{trials}, 2)$: XLA's CPU code
    vectorises elementwise work along the long minor axis, not across a minor axis of 2
    (measured: benchmarks/RESULTS.md). Only the final state is kept (``save_every=0``).
    ``check_coherence=False`` skips the runtime check of the coherences, for a caller that
    checked them already (a check inside a loop split across devices is gathered to one).
    To split a batch across devices, run one call per device's share (``jax.shard_map``),
    as :func:`~multiscale.population.run_trials` does: measured about 10 % faster than
    leaving one call on sharded inputs to XLA's partitioner.

    Returns:
        A :class:`CircuitTrajectory` with a leading trial axis on every field, as
        ``vmap(simulate)`` returns it.
    """
    if jnp.ndim(keys) != 1:
        raise ValueError(f"`keys` must have shape (trials,), got {jnp.shape(keys)}")
    n_steps = _checked_steps(circuit, dt, t1, block, noise)
    batch = (jnp.shape(keys)[0],)
    for name, tree in (("circuit", circuit), ("stimulus", stimulus)):
        for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_array)):
            if jnp.ndim(leaf) and jnp.shape(leaf) != batch:
                raise ValueError(
                    f"`{name}` leaves must be scalars or have one value per trial, shape "
                    f"{batch}; got a leaf of shape {jnp.shape(leaf)}"
                )
    for name in ("t_on", "duration"):
        if jnp.ndim(getattr(stimulus, name)):
            raise ValueError(f"`stimulus.{name}` must be shared by the batch (a scalar)")
    if check_coherence:
        stimulus = _with_checked_coherence(stimulus)
    per_trial = lambda x: 0 if jnp.ndim(x) else None
    axes = (jax.tree.map(per_trial, circuit), jax.tree.map(per_trial, stimulus))
    if jax.tree.leaves(axes):  # some leaf has one value per trial
        on = lambda c, s: s.on_currents(c)
        level = jax.vmap(on, in_axes=axes, out_axes=1)(circuit, stimulus)
    else:
        level = stimulus.on_currents(circuit)[:, None]
    # Per-trial parameters meet the (2, trials) state with an explicit leading axis.
    circuit = jax.tree.map(lambda x: x[None] if jnp.ndim(x) else x, circuit)
    noise_state = jax.vmap(noise.init, out_axes=-1)(keys)
    return _integrate(
        circuit, stimulus, level, noise, noise_state, dt, n_steps, block, S0, readout, 0, batch
    )


def checked_coherence(coherence: Float[Array, "..."]) -> Float[Array, "..."]:
    """``coherence``, with a runtime error (also under ``jit``) where it is outside [0, 1]."""
    bad = (coherence < 0) | (coherence > 1)
    return eqx.error_if(coherence, bad, "Stimulus `coherence` must be a fraction in [0, 1]")


def _with_checked_coherence(stimulus: Stimulus) -> Stimulus:
    coherence = checked_coherence(jnp.asarray(stimulus.coherence))
    return eqx.tree_at(lambda s: s.coherence, stimulus, coherence)


def _checked_steps(circuit, dt, t1, block, noise) -> int:
    """The number of steps, after checking ``dt``, ``block`` and the noise source."""
    check_step(circuit, dt)
    if not (isinstance(block, int) and block >= 1):
        raise ValueError(f"`block` must be an int >= 1, got {block!r}")
    if not isinstance(noise, AbstractCircuitNoise):
        raise TypeError(
            f"`noise` must be an AbstractCircuitNoise (e.g. CounterNoise()), got {noise!r}"
        )
    n_steps = max(1, round(t1 / dt))
    available = noise.max_steps()
    if available is not None and n_steps > available:
        raise ValueError(
            f"`noise` supplies {available} steps but the trial has {n_steps} "
            f"(t1 / dt = {t1} / {dt}); give more normals or shorten `t1`"
        )
    return n_steps


def _integrate(
    circuit,
    stimulus,
    level,
    noise,
    noise_state,
    dt,
    n_steps,
    block,
    S0,
    readout,
    save_every,
    batch=(),
):
    """The scan over segments of steps, each an inner scan over its steps.

    The state is $(2, *batch)$: populations first, then the trials of a batch (none for
    one trial); ``level`` is the stimulus currents while on, $(2, *batch)$, and per-trial
    circuit parameters have shape $(1, *batch)$. The readout's state carries the batch
    axes last, so its result is made by ``finish`` mapped over them.
    """
    if not (isinstance(save_every, int) and save_every >= 0):
        raise ValueError(f"`save_every` must be an int >= 0, got {save_every!r}")
    window = readout.window_steps(dt)
    if not (isinstance(window, int) and window >= 1):
        raise ValueError(f"`readout.window_steps(dt)` must be an int >= 1, got {window!r}")
    smooth = window > 1
    seg = window if smooth else min(block, n_steps)
    if save_every and seg % save_every:
        what = "the readout's window (in steps)" if smooth else "`block`"
        raise ValueError(f"{what} ({seg}) must be a multiple of `save_every` ({save_every})")
    n_full, rem = divmod(n_steps, seg)
    dtype = jnp.result_type(float)
    dt_ = jnp.asarray(dt, dtype)
    decay = jnp.exp(-dt_ / jnp.asarray(circuit.tau_AMPA))
    noise_sd = jnp.asarray(circuit.sigma_noise) / jnp.sqrt(2.0) * jnp.sqrt(1.0 - decay**2)
    shape = (2,) + tuple(batch)
    level = jnp.broadcast_to(level, shape)
    zero_current = jnp.zeros_like(level)
    stimulus_at = lambda t: jnp.where(stimulus.is_on(t), level, zero_current)

    S_init = jnp.full(shape, S0, dtype)
    I_init = jnp.zeros(shape, dtype)
    _, r_init = circuit.vector_field(S_init, stimulus_at(0.0))
    ro_init = readout.init(r_init, dt=dt, t_on=jnp.asarray(stimulus.t_on, dtype))
    # Running sums of the previous segment (the rates at t = 0 stand for the history).
    prev_init = jnp.cumsum(jnp.broadcast_to(r_init, (seg,) + shape), axis=0) if smooth else None

    def step(carry, inp, last):
        S, I_noise, run, ro = carry
        k, prev = inp
        t = k.astype(dtype) * dt_
        dS, r = circuit.vector_field(S, stimulus_at(t) + I_noise)
        if smooth:
            run = run + r
            r_bar = (run + (last - prev)) / window
        else:
            r_bar = r
        ro, _ = readout.step(ro, t + dt_, r_bar)
        xi = noise.normals(noise_state, k)
        saved = (t, S, r) if save_every else None
        return (S + dt_ * dS, I_noise * decay + noise_sd * xi, run, ro), (run, saved)

    def run_segment(carry, i, size):
        S, I_noise, prev, ro = carry
        ks = i * seg + jnp.arange(size)
        # The window sum at step j adds the previous segment's steps j+1.. to this one's:
        # its last running sum minus its j-th, read in the step (no tail array is made).
        own = prev[:size] if smooth else jnp.zeros((size, 0), dtype)
        last = prev[-1] if smooth else None
        run0 = jnp.zeros(shape, dtype) if smooth else None
        (S, I_noise, _, ro), (runs, saved) = jax.lax.scan(
            lambda c_, x_: step(c_, x_, last), (S, I_noise, run0, ro), (ks, own)
        )
        if smooth:
            # A short last segment leaves the older part of the window in `prev`.
            prev = runs if size == seg else prev
        out = jax.tree.map(lambda a: a[::save_every], saved) if save_every else None
        return (S, I_noise, prev, ro), out

    carry = (S_init, I_init, prev_init, ro_init)
    outs = []
    if n_full:
        full = jax.checkpoint(lambda c_, i: run_segment(c_, i, seg))
        carry, out = jax.lax.scan(full, carry, jnp.arange(n_full))
        if save_every:
            outs.append(jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out))
    if rem:
        carry, out = jax.checkpoint(lambda c_, i: run_segment(c_, i, rem))(
            carry, jnp.asarray(n_full)
        )
        if save_every:
            outs.append(out)
    S_end, I_end, _, ro_end = carry
    if save_every:
        ts, S, r = jax.tree.map(lambda *a: jnp.concatenate(a), *outs)
    else:
        _, r_end = circuit.vector_field(S_end, stimulus_at(n_steps * dt_) + I_end)
        ts, S, r = (n_steps * dt_)[None], S_end[None], r_end[None]
    # (time, 2, *batch) -> (*batch, time, 2), as vmap over trials would give.
    S, r = (jnp.moveaxis(x, (0, 1), (-2, -1)) for x in (S, r))
    ts = jnp.broadcast_to(ts, tuple(batch) + ts.shape)
    finite = jnp.all(jnp.isfinite(S_end), axis=0) & jnp.all(jnp.isfinite(I_end), axis=0)
    result = jnp.where(finite, SUCCESS, NONFINITE)
    if batch and jax.tree.leaves(ro_end):
        axes = jax.tree.map(lambda x: -1 if jnp.ndim(x) else None, ro_end)
        decision = jax.vmap(readout.finish, in_axes=(axes,))(ro_end)
    else:
        decision = readout.finish(ro_end)
    return CircuitTrajectory(ts=ts, S=S, r=r, readout=decision, result=result)


def simulate_with_normals(
    circuit: WongWang2006,
    stimulus: Stimulus,
    normals: Float[Array, "steps 2"],
    *,
    dt: float,
    S0: float = 0.1,
    readout: AbstractOnlineReadout = _NO_READOUT,
    save_every: int = 1,
) -> CircuitTrajectory:
    """As :func:`simulate`, with the standard normals $\\xi$ of every step given explicitly.

    Used to drive the scan with the increments of a given Brownian path
    ($\\xi_k = \\Delta W_k / \\sqrt{\\Delta t}$), e.g. to compare with the diffrax reference.
    """
    check_step(circuit, dt)
    stimulus = _with_checked_coherence(stimulus)
    noise = GivenNormals(jnp.asarray(normals))
    n_steps = noise.xi.shape[0]
    level = stimulus.on_currents(circuit)
    return _integrate(
        circuit, stimulus, level, noise, noise.xi, dt, n_steps, 100, S0, readout, save_every
    )
