r"""Many trials of a decision circuit at once: members × coherences × trials, in chunks.

A *member* is one circuit of a batched pytree (a subject with its own parameters, or
one parameter set of a sweep): every array leaf with a leading axis of length $M$ is
indexed per member, every scalar leaf is shared. All $M \cdot C \cdot N$ trials are
flattened, cut into chunks of ``chunk_size`` trials, and each chunk runs as one batched
time loop (:func:`~multiscale.circuit.simulate_batch`: the trials ``vmap`` of
:func:`~multiscale.circuit.simulate` would give, populations first) under one compiled
function (the last chunk is padded, so every chunk has the same shape and the function
compiles once).

Randomness. Trial $n$ at coherence index $c$ uses the key
``fold_in(fold_in(key, c), n)``: it depends on the trial's index only, so the result
does not depend on ``chunk_size``; and the members share these noise streams (common
random numbers), which makes differences between parameter sets less noisy.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..circuit import (
    AbstractCircuit,
    AbstractOnlineReadout,
    Stimulus,
    TrialProtocol,
    simulate_batch,
)

_TRACES = [0]
_DEFAULT_STIMULUS = Stimulus()
_PROTOCOL = TrialProtocol()


class TrialBatch(eqx.Module):
    """Per-trial readout results of a batch.

    Attributes:
        coherence: coherences, fraction, shape (coherences,).
        readout: the readout's result Module with leading axes (members, coherences,
            trials), or (coherences, trials) when the circuit has no member axis.
        result: ``RESULTS`` code per trial (0 ok, 1 the state diverged, 4 a parameter of
            that member out of range with ``throw=False``); same leading axes. A bad
            member never affects the others.
    """

    coherence: Float[Array, " c"]
    readout: eqx.Module
    result: Int[Array, "..."]


def _member_axes(circuit: AbstractCircuit) -> tuple[object, int | None]:
    """Pytree of 0/None marking leaves with a member axis, and the number of members."""
    sizes = set()

    def axis(x):
        if isinstance(x, jax.Array | np.ndarray) and x.ndim >= 1:
            sizes.add(x.shape[0])
            return 0
        return None

    axes = jax.tree.map(axis, circuit)
    if len(sizes) > 1:
        raise ValueError(
            "circuit parameters with a member axis must share its length; "
            f"got lengths {sorted(sizes)}"
        )
    return axes, (sizes.pop() if sizes else None)


@eqx.filter_jit
def _run_chunk(circuit, axes, stimulus, readout, coherence, index, key, config):
    _TRACES[0] += 1
    protocol, n_c, n_t, tile, mesh = config

    def trials(i):
        m, rest = jnp.divmod(i, n_c * n_t)
        c, n = jnp.divmod(rest, n_t)
        members = jax.tree.map(
            lambda x, ax: x if ax is None else x[m], circuit, axes, is_leaf=lambda x: x is None
        )
        stim = eqx.tree_at(lambda s: s.coherence, stimulus, coherence[c])
        keys = jax.vmap(lambda c_, n_: jr.fold_in(jr.fold_in(key, c_), n_))(c, n)
        # Values were checked by run_trials, outside the loop split across devices; here
        # a bad member is only marked (a check inside the loop would be gathered to one).
        traj = simulate_batch(
            members, stim, keys=keys, protocol=protocol, readout=readout, throw=False
        )
        return traj.readout, traj.result

    if mesh is None:
        return _in_tiles(trials, index, tile)
    # One time loop per device over its share of the trials, in tiles of its own: the
    # loop is written per device rather than left to the SPMD partitioner, so that a
    # tile is a slice of one device's trials. The scan carries start as constants on
    # every device and become per-device values, hence no varying-axes check.
    spec = jax.sharding.PartitionSpec("trials")
    local = lambda i: _in_tiles(trials, i, tile)
    return jax.shard_map(local, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)(index)


def _in_tiles(trials, index, tile):
    """``trials(index)`` in tiles of ``tile`` trials run one after another (``lax.map``).

    A tile's state, and a smoothing readout's history, stay in cache through the time
    loop (measured: benchmarks/RESULTS.md).
    """
    if tile >= index.shape[0]:
        return trials(index)
    n_tiles = -(-index.shape[0] // tile)
    padded = jnp.concatenate([index, jnp.zeros(n_tiles * tile - index.shape[0], index.dtype)])
    out = jax.lax.map(trials, padded.reshape(n_tiles, tile))
    return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:])[: index.shape[0]], out)


def _trial_sharding(chunk: int):
    """Split a chunk's trials across the devices when there are several and they divide it.

    On a CPU, one device per core (``jax.config.update("jax_num_cpu_devices", cores)``
    before the first computation) runs one time loop per core, which is faster than
    XLA's threading inside one loop: measured on 2 cores at 1.2e5 trials, 8.1e7-9.7e7
    trial-steps/s on one device, 1.3e8-1.4e8 on two, with identical trials.
    """
    n_dev = jax.device_count()
    if n_dev < 2 or chunk % n_dev:
        return None
    mesh = jax.make_mesh((n_dev,), ("trials",), axis_types=(jax.sharding.AxisType.Auto,))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("trials"))


def run_trials(
    circuit: AbstractCircuit,
    coherence: Float[ArrayLike, "..."],
    *,
    key: PRNGKeyArray,
    n_trials: int,
    readout: AbstractOnlineReadout,
    stimulus: Stimulus = _DEFAULT_STIMULUS,
    protocol: TrialProtocol = _PROTOCOL,
    chunk_size: int | None = None,
    tile_size: int | None = None,
    throw: bool = True,
) -> TrialBatch:
    """Simulate ``n_trials`` trials per coherence (and per member) with an online readout.

    Args:
        circuit: any circuit, or a batched pytree of $M$ circuits (module docstring).
        coherence: coherences, fraction in [0, 1], shape (coherences,).
        key: PRNG key; trial keys are derived from it per trial index.
        n_trials: trials per coherence and member.
        readout: online readout (e.g. ``ThresholdReadout()``), run inside the scan.
        stimulus: template stimulus (its ``mu0``); its coherence is replaced.
        protocol: the trials' timing (:class:`~multiscale.circuit.TrialProtocol`).
        chunk_size: trials per compiled call (None: all at once). The result does not
            depend on it.
        tile_size: within a call (and, with several devices, within each device's share),
            trials advanced together through the time loop; tiles run one after another
            (``lax.map``). None (default): all at once. The result does not depend on it.
            Measured on 2 cores at 1.2e5 trials: on one device tiles of 4096 were
            12-15 % slower; split over two devices, tiles of 1e4-2e4 per device within
            +-5 % of none (benchmarks/RESULTS.md).

    With several devices (e.g. one per CPU core) each chunk's trials are split across
    them when their number divides the chunk (pick ``chunk_size`` accordingly); the
    trials are the same either way.

        throw: True: a parameter out of range raises, naming it (also under ``jit``).
            False: the trials of a bad member get ``result == RESULTS.invalid``.

    Returns:
        A :class:`TrialBatch`.
    """
    if not isinstance(circuit, AbstractCircuit):
        raise TypeError(f"`circuit` must be an AbstractCircuit, got {type(circuit).__name__}")
    coherence = jnp.asarray(coherence)
    if coherence.ndim != 1 or coherence.shape[0] == 0:
        raise ValueError(
            f"`coherence` must be a non-empty 1-D array (coherences,), got shape {coherence.shape}"
        )
    coherence = Stimulus(coherence=coherence).checked().coherence
    if throw:
        circuit = circuit.checked()
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"`n_trials` must be an int >= 1, got {n_trials!r}")
    axes, n_members = _member_axes(circuit)
    # Python-float parameters become 0-d arrays, so that new parameter values reuse the
    # compiled chunk function instead of retracing it (filter_jit treats floats as static).
    as_array = lambda tree: jax.tree.map(
        lambda x: jnp.asarray(x) if isinstance(x, float) else x, tree
    )
    circuit, stimulus, readout = as_array(circuit), as_array(stimulus), as_array(readout)
    M = n_members or 1
    total = M * coherence.shape[0] * n_trials
    chunk = total if chunk_size is None else int(chunk_size)
    if chunk < 1:
        raise ValueError(f"`chunk_size` must be >= 1, got {chunk_size}")
    if tile_size is not None and not (isinstance(tile_size, int) and tile_size >= 1):
        raise ValueError(f"`tile_size` must be an int >= 1 or None, got {tile_size!r}")
    tile = chunk if tile_size is None else tile_size
    sharding = _trial_sharding(chunk)
    mesh = None if sharding is None else sharding.mesh
    config = (protocol, coherence.shape[0], n_trials, tile, mesh)
    pieces = []
    for start in range(0, total, chunk):
        index = jnp.arange(start, start + chunk)
        index = jnp.where(index < total, index, 0)
        if sharding is not None:
            index = jax.device_put(index, sharding)
        pieces.append(_run_chunk(circuit, axes, stimulus, readout, coherence, index, key, config))
    out = jax.tree.map(lambda *xs: jnp.concatenate(xs)[:total], *pieces)
    shape = ((n_members,) if n_members else ()) + (coherence.shape[0], n_trials)
    out = jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), out)
    return TrialBatch(coherence=coherence, readout=out[0], result=out[1])


def vary_parameters(
    circuit: AbstractCircuit,
    where: Callable[[AbstractCircuit], tuple],
    *,
    key: PRNGKeyArray,
    n: int,
    cv: float,
) -> AbstractCircuit:
    r"""$n$ subjects whose selected parameters vary log-normally around ``circuit``'s values.

    Each selected parameter $p$ becomes $p\,e^{\,\mathrm{cv}\,z - \mathrm{cv}^2/2}$ with
    independent $z \sim N(0, 1)$ per subject (mean preserved, coefficient of variation
    about ``cv``); the others stay shared scalars.

    Args:
        circuit: the population's typical circuit.
        where: selects the varied fields, e.g. ``lambda c: (c.J_N11, c.nmda.tau_decay)``.
        key: PRNG key.
        n: number of subjects.
        cv: coefficient of variation (dimensionless, >= 0).

    Returns:
        The circuit with a leading member axis of length ``n`` on the selected fields.
    """
    if not cv >= 0:
        raise ValueError(f"`cv` must be >= 0, got {cv}")
    values = where(circuit)
    keys = jr.split(key, len(values))
    dtype = jnp.result_type(float)
    new = tuple(
        jnp.asarray(v, dtype) * jnp.exp(cv * jr.normal(k, (n,), dtype) - 0.5 * cv**2)
        for v, k in zip(values, keys, strict=True)
    )
    return eqx.tree_at(where, circuit, new)


def stack_circuits(circuits: list[AbstractCircuit]) -> AbstractCircuit:
    """Stack circuits (parameter sets) along a new leading member axis."""
    if not circuits:
        raise ValueError("`circuits` must not be empty")
    return jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *circuits)
