r"""Run a spiking network through the one time loop, one trial or a batch, chunked to memory.

:func:`run` calls :func:`~multiscale.circuit.integrate` with the trials on the trailing
axis of the state (the layout of the circuit interface) and returns per-neuron spike
statistics accumulated during the trial, plus, optionally, the populations' rates at every
``save_every``-th step. A member whose state became non-finite is marked
``RESULTS.nonfinite`` and the other members are unaffected (trials share no state).
"""

import concurrent.futures
import dataclasses
import math
import threading

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._results import RESULTS
from .._integrate import integrate
from .._noise import CounterNoise
from .._online_readout import NoReadout
from .._protocol import Stimulus, TrialProtocol
from ._network import SpikingNetwork
from ._step import poisson_max_count


class SpikingRun(eqx.Module):
    """What :func:`run` returns (trial axes leading when run with ``trials``).

    Attributes:
        rate: each neuron's rate over the trial, Hz (*trials, neurons).
        cv: each neuron's coefficient of variation of its inter-spike intervals (NaN for
            neurons with fewer than 3 spikes) (*trials, neurons).
        count: spikes per neuron (*trials, neurons).
        population_rate: the populations' rates at the saved steps, Hz
            (*trials, time, populations), or ``None`` with ``save_every=0``.
        V: final membrane potentials, mV (*trials, neurons).
        result: ``RESULTS.ok``, ``RESULTS.nonfinite`` (the state became NaN or infinite)
            or ``RESULTS.invalid`` (a parameter out of range, with ``throw=False``) per
            trial (*trials).
        duration: simulated time, s (static).
        dt_saved: time between saved population rates, s (static).
        sizes: population sizes (static).
        names: population names (static).
    """

    rate: Float[Array, "*trials neurons"]
    cv: Float[Array, "*trials neurons"]
    count: Float[Array, "*trials neurons"]
    population_rate: Float[Array, "*trials time pops"] | None
    V: Float[Array, "*trials neurons"]
    result: Int[Array, "*trials"]
    duration: float = eqx.field(static=True)
    dt_saved: float = eqx.field(static=True)
    sizes: tuple[int, ...] = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)

    def population_mean(self, what: str = "rate") -> Float[Array, "*trials pops"]:
        """Mean of ``rate`` or ``cv`` (over neurons with a defined CV) per population."""
        x = getattr(self, what)
        out, a = [], 0
        for s in self.sizes:
            out.append(jnp.nanmean(x[..., a : a + s], axis=-1))
            a += s
        return jnp.stack(out, axis=-1)


def _run_batch(network, keys, protocol, save_every):
    noise = CounterNoise()
    noise_state = jax.vmap(noise.init, out_axes=-1)(keys)
    batch = (keys.shape[0],)
    drive = network.stimulus_input(Stimulus())[:, None]
    out = integrate(
        network,
        drive,
        protocol,
        noise,
        noise_state,
        NoReadout(),
        batch=batch,
        save_every=save_every,
    )
    st = out.state
    T = protocol.n_steps * protocol.dt
    n_isi = st.count - 1
    mean = st.isi_sum / jnp.maximum(n_isi, 1)
    var = st.isi_sq / jnp.maximum(n_isi, 1) - mean**2
    cv = jnp.where(n_isi >= 2, jnp.sqrt(jnp.maximum(var, 0.0)) / jnp.maximum(mean, 1e-12), jnp.nan)
    pop = None if not save_every else jnp.moveaxis(out.saved[2], -1, 0)
    return (
        (st.count / T).T,
        cv.T,
        st.count.T,
        pop,
        st.V.T,
        jnp.where(out.finite, RESULTS.ok, RESULTS.nonfinite).astype(jnp.int32),
    )


_run_jit = eqx.filter_jit(_run_batch)


def run(
    network: SpikingNetwork,
    *,
    key: PRNGKeyArray,
    t1: float,
    trials: int | None = None,
    chunk: int | None = None,
    save_every: int = 0,
    segment: int = 1000,
    throw: bool = True,
    devices: int = 1,
) -> SpikingRun:
    r"""Simulate ``network`` for ``t1`` seconds (one trial, or ``trials`` independent ones).

    Trials differ only in their random inputs (the key of trial $i$ is
    ``jr.split(key, trials)[i]``); they advance together on the trailing axis of the
    state, ``chunk`` at a time (all at once if ``None``), so memory is bounded by the
    chunk. The whole call is compiled once per network structure and chunk size.

    Args:
        network: the :class:`SpikingNetwork`.
        key: PRNG key (required).
        t1: trial length, s.
        trials: number of independent trials (``None``: one, without a trial axis).
        chunk: trials advanced together per call. ``None``: all on an accelerator; on
            CPU as many as keep the state within about 768 KiB
            (:data:`CPU_CHUNK_BYTES`), 4 trials of the 4000-neuron COBA network. The
            time loop streams the whole state through every step, so a chunk that stays
            in the core's cache runs faster per trial than a larger one (COBA, 16 trials,
            one core of a 2-core Xeon: 0.16 CPU s per trial and biological s in chunks
            of 4 or 8, 0.17 in chunks of 2, 0.26 in one chunk). XLA's CPU runtime hands
            the independent kernels of each step to a pool of threads; for networks of a
            few thousand neurons the hand-offs cost more than they save, and one trial
            runs fastest with a pool of one thread: ``NPROC=1`` in the environment before
            JAX starts (XLA's CPU client sizes its pool from it), or the process pinned
            to one core (``taskset -c 0 python ...``; COBA on a loaded 2-core Xeon: 0.16
            CPU s per biological s with ``NPROC=1``, 0.17 pinned, 0.29 by default). Use
            the second core for a second chunk (``devices``).
        save_every: keep the populations' rates every ``save_every`` steps (0: none).
        segment: steps per checkpointed segment of the loop (for ``grad``).
        throw: True: a parameter out of range raises at run time (``eqx.error_if``, also
            under ``jit``). False: the run goes on and ``result`` is ``RESULTS.invalid``.
        devices: local devices of the default backend that the chunks are spread over,
            round-robin (each chunk is one loop on one device; each device's chunks are
            run from a thread of their own, so the devices' loops run at the same time).
            On CPU, make several devices of the cores before JAX starts
            (``jax.config.update("jax_num_cpu_devices", 2)``): on 2 cores the trials then
            advance two chunks at a time (COBA, 16 trials, 2 idle cores of a Xeon: 0.076 s
            per trial and biological s with 2 devices, 0.144 with one and ``NPROC=1``).
            With ``chunk=None`` on an accelerator the trials are split evenly over the
            devices. Every trial's result is the same whatever the devices.

    Returns:
        A :class:`SpikingRun`.

    Example:
        >>> import jax.random as jr
        >>> from multiscale.circuit import spiking
        >>> net = spiking.brunel_network(jr.key(0), scale=0.02, g=5.0, eta=2.0)
        >>> out = spiking.run(net, key=jr.key(1), t1=0.05)
        >>> out.rate.shape
        (250,)
    """
    if not isinstance(network, SpikingNetwork):
        raise TypeError(f"`network` must be a SpikingNetwork, got {type(network).__name__}")
    if not (isinstance(t1, int | float) and t1 > 0):
        raise ValueError(f"`t1` must be > 0 s, got {t1!r}")
    dt = network.dt
    n_steps = max(1, round(t1 / dt))
    seg = min(segment, n_steps)
    if save_every and seg % save_every:
        raise ValueError(f"`segment` ({seg}) must be a multiple of `save_every` ({save_every})")
    protocol = TrialProtocol(dt=dt, t_on=0.0, t1=n_steps * dt, segment=seg)
    network.check_step(dt)
    network = _with_max_counts(network).with_delay_ring()
    invalid = None
    if throw:
        network = network.checked()
    else:
        invalid = network.violations()
    single = trials is None
    n = 1 if single else int(trials)
    if n < 1:
        raise ValueError(f"`trials` must be >= 1, got {trials!r}")
    keys = key[None] if single else jr.split(key, n)
    local = jax.local_devices()
    if not (isinstance(devices, int) and 1 <= devices <= len(local)):
        raise ValueError(
            f"`devices` must be an int from 1 to the {len(local)} local device(s), got {devices!r}"
        )
    if chunk is None:
        if jax.default_backend() != "cpu":
            size = -(-n // devices)
        else:
            size = min(n, _cpu_chunk(network))
    else:
        size = max(1, min(int(chunk), n))
    targets = local[:devices]
    starts = list(range(0, n, size))

    def advance(start, net, device):
        k = keys[start : start + size]
        pad = size - k.shape[0]
        if pad:
            k = jnp.concatenate([k, jnp.broadcast_to(k[-1:], (pad,))])
        if device is not None:
            k = jax.device_put(k, device)
        res = _run_jit(net, k, protocol, save_every)
        return [None if x is None else x[: size - pad] for x in res]

    if devices == 1:
        parts = [advance(start, network, None) for start in starts]
    else:
        parts = _over_devices(advance, starts, network, targets)
        parts = [[None if x is None else jax.device_put(x, local[0]) for x in p] for p in parts]
    res = [
        None if parts[0][i] is None else jnp.concatenate([p[i] for p in parts]) for i in range(6)
    ]
    if single:
        res = [None if x is None else x[0] for x in res]
    rate, cv, count, pop, V, result = res
    if invalid is not None:
        result = jnp.where(invalid, RESULTS.invalid, result).astype(jnp.int32)
    return SpikingRun(
        rate=rate,
        cv=cv,
        count=count,
        population_rate=pop,
        V=V,
        result=result,
        duration=n_steps * dt,
        dt_saved=save_every * dt,
        sizes=network.sizes,
        names=network.names,
    )


def _over_devices(advance, starts, network, targets):
    """Advance the chunks starting at ``starts`` round-robin over ``targets``, one thread each.

    Each device's chunks run in its own Python thread, one after another; a compiled call
    releases the GIL, so the devices' loops run at the same time. (From one thread they do
    not: on the CPU client each call runs to its end before the next device's starts, and
    ``eqx.filter_jit`` waits for every call's error marker.) An error in one thread stops
    the others after their current chunk and is raised here. (Tying each thread to its own
    core was measured and not kept: COBA, 16 trials on 2 idle cores, 0.076 s per trial and
    biological s unpinned, 0.079 pinned with ``NPROC=1``, 0.099 pinned without.)
    """
    failed = threading.Event()

    def work(j):
        net = jax.device_put(network, targets[j])
        out = {}
        for i in range(j, len(starts), len(targets)):
            if failed.is_set():
                break
            try:
                out[i] = advance(starts[i], net, targets[j])
            except BaseException:
                failed.set()
                raise
        return out

    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        futures = [pool.submit(work, j) for j in range(len(targets))]
        done = {}
        for f in futures:
            done.update(f.result())
    return [done[i] for i in range(len(starts))]


#: State bytes per chunk of trials that :func:`run` aims for on CPU (``chunk=None``).
CPU_CHUNK_BYTES = 768 * 1024


def _cpu_chunk(network: SpikingNetwork) -> int:
    """Trials whose state fits :data:`CPU_CHUNK_BYTES` (at least one)."""
    state = network.init((1,), jnp.result_type(float))
    per_trial = sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(state))
    return max(1, CPU_CHUNK_BYTES // per_trial)


def _with_max_counts(network: SpikingNetwork) -> SpikingNetwork:
    """Fix each Poisson input's ``max_count`` from its concrete rate (it fixes a shape)."""
    inputs = []
    for inp in network.inputs:
        if inp.max_count is None:
            try:
                rate = float(np.max(np.asarray(inp.rate, float)))
            except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
                continue  # the step function asks for ``max_count``
            inp = dataclasses.replace(
                inp, max_count=poisson_max_count(rate, inp.n_sources, network.dt)
            )
        inputs.append(inp)
    if len(inputs) != len(network.inputs):
        return network
    return eqx.tree_at(lambda n: n.inputs, network, tuple(inputs))


def population_fano(
    population_rate: Float[Array, "time pops"], sizes, dt: float, bin_width: float = 1e-3
) -> np.ndarray:
    r"""Fano factor of each population's spike count in bins of ``bin_width`` s.

    For $N$ independent neurons the population count in a bin has variance equal to its
    mean (Fano factor 1 for Poisson firing, of order the ISI CV$^2$ otherwise); when the
    neurons fire in synchrony the variance grows with $N$ times the mean pairwise
    correlation. So $F$ near 1 marks the asynchronous state and $F \gg 1$ a synchronous
    one (Brunel 2000's distinction between stationary and oscillating global activity).

    Args:
        population_rate: rates saved every ``dt`` s, Hz (time, populations).
        sizes: the population sizes.
        dt: spacing of the saved rates, s.
        bin_width: bin, s.
    """
    r = np.asarray(population_rate, float)
    per = max(1, int(round(bin_width / dt)))
    n_bins = r.shape[0] // per
    counts = r[: n_bins * per].reshape(n_bins, per, -1).sum(1) * dt * np.asarray(sizes, float)
    mean = counts.mean(0)
    return np.where(mean > 0, counts.var(0) / np.maximum(mean, 1e-12), math.nan)
