r"""Trials of the Wong–Wang circuit: the stimulus and a fixed-step ``lax.scan`` integrator.

Each step of length $\Delta t$ updates the noise current with the **exact**
Ornstein–Uhlenbeck transition and the gating with forward Euler:

$$I_{\mathrm{noise}} \leftarrow I_{\mathrm{noise}}\,e^{-\Delta t/\tau_\mathrm{AMPA}}
  + \frac{\sigma_\mathrm{noise}}{\sqrt 2}\sqrt{1 - e^{-2\Delta t/\tau_\mathrm{AMPA}}}\;\xi,
  \qquad S \leftarrow S + \Delta t\, f(S, I_\mathrm{stim} + I_\mathrm{noise}),$$

with $\xi \sim N(0, 1)$ per step and population. The OU update has no step-size
restriction; the Euler step of $S$ holds the noise constant over the step, so $\Delta t$
must resolve $\tau_\mathrm{AMPA}$ (we require $\Delta t \le \tau_\mathrm{AMPA}/2$).

Memory and speed. Steps are grouped into blocks of ``block`` steps. The normals of a
block are drawn in one ``jr.normal`` call (one key per block), which is much cheaper
than splitting a key every step, and each block is wrapped in ``jax.checkpoint``: under
``grad`` only the state at block boundaries is stored and each block is recomputed
in the backward pass, so memory grows with ``n_steps/block + block`` instead of
``n_steps``. A different ``block`` gives a different (equally valid) noise
realisation for the same key. With ``save_every=0`` nothing but the final state and
the online readout's state is kept, so large batches fit in memory.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ._online_readout import AbstractOnlineReadout, NoReadout
from ._wong_wang import WongWang2006

Param = Float[ArrayLike, ""]

_NO_READOUT = NoReadout()

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

    def currents(self, circuit: WongWang2006, t: Float[ArrayLike, ""]) -> Float[Array, "2"]:
        """Stimulus currents $(I_1, I_2)$, nA, at time ``t`` (s)."""
        t = jnp.asarray(t)
        t_on = jnp.asarray(self.t_on)
        on = (t >= t_on) & (t < t_on + jnp.asarray(self.duration))
        c = jnp.asarray(self.coherence)
        level = jnp.asarray(circuit.J_A_ext) * jnp.asarray(self.mu0)
        currents = level * jnp.stack([1.0 + c, 1.0 - c])
        return jnp.where(on, currents, jnp.zeros_like(currents))


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
        block: steps per noise draw and per ``jax.checkpoint`` segment.

    Returns:
        A :class:`CircuitTrajectory`.
    """
    check_step(circuit, dt)
    if not (isinstance(save_every, int) and save_every >= 0):
        raise ValueError(f"`save_every` must be an int >= 0, got {save_every!r}")
    if not (isinstance(block, int) and block >= 1):
        raise ValueError(f"`block` must be an int >= 1, got {block!r}")
    n_steps = max(1, round(t1 / dt))
    block = min(block, n_steps)
    keys = jr.split(key, -(-n_steps // block))

    def normals(i, k):
        del i
        return jr.normal(k, (block, 2), dtype=jnp.result_type(float))

    return _integrate(circuit, stimulus, normals, keys, dt, n_steps, block, S0, readout, save_every)


def _integrate(circuit, stimulus, normals, xs, dt, n_steps, block, S0, readout, save_every):
    """The scan. ``normals(i, x)`` gives block ``i``'s (block, 2) normals from ``xs[i]``."""
    c = eqx.error_if(
        jnp.asarray(stimulus.coherence),
        (jnp.asarray(stimulus.coherence) < 0) | (jnp.asarray(stimulus.coherence) > 1),
        "Stimulus `coherence` must be a fraction in [0, 1]",
    )
    stimulus = eqx.tree_at(lambda s: s.coherence, stimulus, c)
    if save_every and block % save_every:
        raise ValueError(f"`block` ({block}) must be a multiple of `save_every` ({save_every})")
    n_full, rem = divmod(n_steps, block)
    dtype = jnp.result_type(float)
    dt_ = jnp.asarray(dt, dtype)
    decay = jnp.exp(-dt_ / jnp.asarray(circuit.tau_AMPA))
    noise_sd = jnp.asarray(circuit.sigma_noise) / jnp.sqrt(2.0) * jnp.sqrt(1.0 - decay**2)

    S_init = jnp.full((2,), S0, dtype)
    I_init = jnp.zeros((2,), dtype)
    _, r_init = circuit.vector_field(S_init, stimulus.currents(circuit, 0.0) + I_init)
    ro_init = readout.init(r_init, dt=dt, t_on=jnp.asarray(stimulus.t_on, dtype))

    def step(carry, inp):
        S, I_noise = carry
        k, xi = inp
        t = k.astype(dtype) * dt_
        dS, r = circuit.vector_field(S, stimulus.currents(circuit, t) + I_noise)
        return (S + dt_ * dS, I_noise * decay + noise_sd * xi), (t, S, r)

    def run_block(carry, inp, size):
        # The readout sees the block's rates at once (vectorized over the block), so the
        # per-step loop carries only (S, I_noise): a per-step readout buffer in the carry
        # is copied every step by XLA and costs more than the dynamics.
        S, I_noise, ro = carry
        i, x = inp
        ks = i * block + jnp.arange(size)
        (S, I_noise), (t, S_seen, r) = jax.lax.scan(step, (S, I_noise), (ks, normals(i, x)[:size]))
        ro, _ = readout.step(ro, t + dt_, r)
        out = jax.tree.map(lambda a: a[::save_every], (t, S_seen, r)) if save_every else None
        return (S, I_noise, ro), out

    carry = (S_init, I_init, ro_init)
    outs = []
    if n_full:
        full = jax.checkpoint(lambda c_, inp: run_block(c_, inp, block))
        xs_full = jax.tree.map(lambda a: a[:n_full], xs)
        carry, out = jax.lax.scan(full, carry, (jnp.arange(n_full), xs_full))
        if save_every:
            outs.append(jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out))
    if rem:
        last = jax.tree.map(lambda a: a[n_full], xs)
        carry, out = jax.checkpoint(lambda c_, inp: run_block(c_, inp, rem))(
            carry, (jnp.asarray(n_full), last)
        )
        if save_every:
            outs.append(out)
    S_end, I_end, ro_end = carry
    if save_every:
        ts, S, r = jax.tree.map(lambda *a: jnp.concatenate(a), *outs)
    else:
        _, r_end = circuit.vector_field(S_end, stimulus.currents(circuit, n_steps * dt_) + I_end)
        ts, S, r = (n_steps * dt_)[None], S_end[None], r_end[None]
    finite = jnp.all(jnp.isfinite(S_end)) & jnp.all(jnp.isfinite(I_end))
    result = jnp.where(finite, SUCCESS, NONFINITE)
    return CircuitTrajectory(ts=ts, S=S, r=r, readout=readout.finish(ro_end), result=result)


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
    n_steps = normals.shape[0]
    blocks = normals.reshape(n_steps, 1, 2)

    def take(i, x):
        del i
        return x

    return _integrate(circuit, stimulus, take, blocks, dt, n_steps, 1, S0, readout, save_every)
