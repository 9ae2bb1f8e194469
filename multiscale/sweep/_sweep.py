r"""Sweep a pure function of a model over a design of parameter values.

The members of a sweep are evaluated in chunks of a fixed size by one compiled program,
sharded across the local devices; the last chunk is padded, so the program compiles once
whatever the sweep's size. Member $i$ runs with the key ``jr.fold_in(key, i)``, so its
result does not depend on the chunk size, the number of devices or hosts, or the other
members' parameter values.

Several hosts (``jax.distributed``)
-----------------------------------
Start one process per host, each seeing its local accelerators, and call
``jax.distributed.initialize()`` before anything else in JAX. Every process runs the same
script with the same arguments and the same ``out`` folder on a shared file system;
process $p$ of $P$ evaluates chunks $p, p + P, p + 2P, \dots$ on its own devices and
writes them to ``out``; after a barrier, process 0 assembles ``out/sweep.nc``. Under SLURM
(one task per node; ``jax.distributed.initialize()`` reads the SLURM variables itself)::

    #!/bin/bash
    #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-node=4
    srun python my_sweep.py          # my_sweep.py: jax.distributed.initialize(); sweep(...)

or ``srun multiscale sweep config.toml`` with ``distributed = true`` in the config. On
CPU-only clusters select JAX's CPU collectives first,
``jax.config.update("jax_cpu_collectives_implementation", "gloo")`` (the test suite runs
two such processes on one machine). Rerunning the same job after a preemption resumes
from the finished chunks. No scheduler or socket code of our own is involved:
``jax.distributed`` does the coordination, the file system carries the results.
"""

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._results import RESULTS
from ._dataset import build_dataset, write_netcdf
from ._design import AbstractDesign, check_key, parameter_name
from ._identity import Unidentifiable
from ._memory import default_memory_budget, member_bytes, plan_chunk_size
from ._store import Store, fn_name, key_bytes, sweep_identity

STATUS_OK = RESULTS.ok
"""Status of a member whose outputs are all finite (and whose ``fn`` reported 0)."""
STATUS_NONFINITE = RESULTS.nonfinite
"""Status of a member with a NaN or infinite floating-point output."""


def _swept_dtype(leaf: Any) -> Any:
    if isinstance(leaf, jax.Array | np.ndarray) and jnp.issubdtype(leaf.dtype, jnp.floating):
        return leaf.dtype
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def _member_fn(fn: Callable, static: Any, accessors: tuple) -> Callable:
    """One member: set the swept parameters, run ``fn`` with the member's key, add a status."""

    def member(dynamic, values, index, key):
        model = eqx.combine(dynamic, static)
        model = eqx.tree_at(lambda m: tuple(a(m) for a in accessors), model, tuple(values))
        out = fn(model, jr.fold_in(key, index))
        fn_status = None
        if isinstance(out, dict) and "status" in out:
            out = dict(out)
            fn_status = _status_code(out.pop("status"))
        finite = [
            jnp.all(jnp.isfinite(x))
            for x in jax.tree.leaves(out)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
        ]
        ok = jnp.all(jnp.stack(finite)) if finite else jnp.asarray(True)
        status = jnp.where(ok, STATUS_OK, STATUS_NONFINITE).astype(jnp.int32)
        if fn_status is not None:
            status = jnp.where(fn_status != 0, fn_status, status)
        return out, status

    return member


def _status_code(code: Any) -> jax.Array:
    """The ``"status"`` ``fn`` returned, as an int32 scalar; raises if it is not one."""
    code = jnp.asarray(code)
    if code.shape != () or not (
        jnp.issubdtype(code.dtype, jnp.integer) or jnp.issubdtype(code.dtype, jnp.bool_)
    ):
        raise ValueError(
            f"the 'status' that `fn` returns must be one integer code per member (0 ok, "
            f">= 2 failed), got shape {code.shape} and dtype {code.dtype}; reduce it with "
            f"e.g. jnp.max and cast it with .astype(jnp.int32)"
        )
    return code.astype(jnp.int32)


def _output_names(out_shape: Any) -> list[str]:
    paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(out_shape)[0]]
    if paths == [()]:
        return ["output"]
    names = [jax.tree_util.keystr(p, simple=True, separator="_") for p in paths]
    if len(set(names)) != len(names) or "status" in names:
        raise ValueError(f"fn's outputs must have distinct names other than 'status': {names}")
    return names


def sweep(
    fn: Callable,
    model: Any,
    design: AbstractDesign,
    *,
    key: Any,
    out: str | os.PathLike | None = None,
    chunk_size: int | None = None,
    memory_budget: int | float | None = None,
    devices: list | None = None,
    progress: bool = True,
    callback: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
):
    r"""Evaluate ``fn(model_i, key_i)`` for every parameter set $i$ of ``design``.

    Member $i$ is ``model`` with the swept parameters set to row $i$ of ``design.table()``,
    run with ``key_i = jr.fold_in(key, i)``. If ``fn`` returns a dict with an integer
    ``"status"`` entry, a non-zero value marks the member as failed with that code (use
    codes >= 2); otherwise a member with any NaN/inf floating output gets status
    ``STATUS_NONFINITE`` (1), and a healthy one ``STATUS_OK`` (0). Failed members never
    affect the others; the result's ``n_failed`` attribute counts them.

    With an ``out`` folder, the sweep records its identity: a hash of ``fn`` and ``model``
    (their code, closure values, default arguments, the globals the code reads, every
    field and array value, static fields included), the design and the key; code of
    installed packages (this toolkit included) enters by name and package version. Rerunning
    with the same identity resumes from the finished chunks; anything else is refused, as
    is a folder holding other files, unless ``overwrite=True``. A sweep whose ``fn`` or
    ``model`` holds something the hash cannot cover (an open file, a lock) still runs, but
    cannot be resumed: pass such values through the model or as plain arrays.

    Args:
        fn: pure function ``fn(model, key) -> pytree of arrays`` of one member (e.g. a
            simulation plus readouts); jittable.
        model: the base model (an ``eqx.Module``); its other parameters stay fixed.
        design: a ``Grid``, ``RandomUniform``, ``LatinHypercube`` or ``Halton``.
        key: PRNG key of the sweep.
        out: folder for the chunks, the manifest and ``sweep.nc``; rerunning with the same
            arguments resumes there. ``None`` keeps everything in memory (one process only).
            It must be new, empty or hold this same sweep, unless ``overwrite=True``.
        chunk_size: members per compiled call (rounded up to a multiple of the number of
            devices). Default: planned from ``memory_budget``.
        memory_budget: bytes one chunk may use. Default: half of the devices' free memory
            (a quarter of the available RAM on CPU).
        devices: the local devices to shard members over (default: all local devices).
        progress: show a tqdm progress bar with rate and ETA.
        callback: called as ``callback(chunk_index, n_chunks)`` after each finished chunk.
        overwrite: delete a previous sweep's files in ``out`` (``manifest.json``,
            ``chunks/``, ``sweep.nc``; nothing else) and start afresh, even where they hold
            another sweep or ``out`` holds other files.

    Returns:
        An ``xarray.Dataset``: one variable per output leaf plus ``status``; a ``Grid``
        has one dimension per parameter, other designs a ``member`` dimension with the
        parameter values as coordinates. Its attributes hold the identity, ``n_members``
        and ``n_failed`` (members with a non-zero status). Also written to ``out/sweep.nc``
        (netCDF4).

    Example:
        >>> import numpy as np, jax.random as jr
        >>> from multiscale.sweep import Grid
        >>> from multiscale.synapse import SaturatingNMDA
        >>> ds = sweep(lambda m, k: m.steady_gating(40.0), SaturatingNMDA(),
        ...            Grid({lambda m: m.tau_decay: np.linspace(0.05, 0.2, 4)}),
        ...            key=jr.key(0), progress=False)
        >>> ds["output"].dims
        ('tau_decay',)
    """
    _check_arguments(fn, design, key, chunk_size, memory_budget, devices, callback)
    accessors = design.accessors
    names = [parameter_name(model, a) for a in accessors]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"`design` varies the parameter `{twice[0]}` twice (its parameters: {names})"
        )
    table = design.table()
    n_members = table.shape[0]
    if n_members == 0:
        raise ValueError("the design has no parameter sets")
    if out is None and jax.process_count() > 1:
        raise ValueError("a sweep over several processes needs an `out` folder to gather in")
    devices = list(jax.local_devices() if devices is None else devices)
    if out is not None and not isinstance(out, str | os.PathLike):
        raise ValueError(f"`out` must be a folder path (str or os.PathLike), got {out!r}")
    n_dev = len(devices)

    for name, accessor in zip(names, accessors, strict=True):
        if np.shape(accessor(model)) != ():
            raise ValueError(
                f"a sweep varies scalar parameters; `{name}` has shape "
                f"{np.shape(accessor(model))}: address one element's own field instead"
            )
    dtypes = [_swept_dtype(a(model)) for a in accessors]
    columns = [np.asarray(table[:, j], dtype=dt) for j, dt in enumerate(dtypes)]
    dynamic, static = eqx.partition(model, eqx.is_array)
    member = _member_fn(fn, static, accessors)

    try:
        identity = sweep_identity(fn, model, names, _fingerprint(design, table), key)
        unidentified = None
    except Unidentifiable as error:
        identity, unidentified = None, str(error)
    manifest = {
        "identity": identity,
        "unidentified": unidentified,
        "fn": fn_name(fn),
        "parameters": names,
        "design": type(design).__name__,
        "n_members": n_members,
    }
    # Under jax.distributed, process 0 checks the folder, plans the chunking and writes the
    # manifest before the others open it; they then take its chunk size, so that every
    # process cuts the sweep the same way whatever its own free memory.
    leader = jax.process_index() == 0
    if not leader:
        _barrier("multiscale.sweep: manifest written")
    store = None
    if out is not None:
        store = Store(out, manifest, overwrite=overwrite, follower=not leader)
    if store is not None and store.chunk_size is not None:
        chunk_size = store.chunk_size
    elif chunk_size is not None:
        chunk_size = -(-chunk_size // n_dev) * n_dev
    else:
        budget = default_memory_budget(devices) if memory_budget is None else int(memory_budget)
        one = (tuple(c[0] for c in columns), np.int32(0))
        per_member = member_bytes(member, dynamic, *one, key)
        chunk_size = plan_chunk_size(per_member, budget, n_members, n_dev)
    n_chunks = math.ceil(n_members / chunk_size)
    if chunk_size % n_dev:
        # A sweep resumed on a different number of devices keeps its chunk size, so use
        # as many devices as divide it (the results do not depend on it).
        usable = max(d for d in range(1, n_dev + 1) if chunk_size % d == 0)
        warnings.warn(
            f"the folder's chunk size {chunk_size} is not a multiple of the {n_dev} devices; "
            f"resuming on {usable} of them",
            stacklevel=2,
        )
        devices = devices[:usable]

    # Trace and compile the chunk program once, for the fixed chunk shape; every chunk,
    # the padded last one included, runs this one executable.
    mesh = Mesh(np.array(devices), ("members",))
    split = NamedSharding(mesh, PartitionSpec("members"))
    whole = NamedSharding(mesh, PartitionSpec())
    run_chunk = jax.jit(
        jax.vmap(member, in_axes=(None, 0, 0, None)),
        in_shardings=(whole, split, split, whole),
        out_shardings=split,
    )
    example = (tuple(c[:1].repeat(chunk_size) for c in columns), np.zeros(chunk_size, np.int32))
    traced = run_chunk.trace(dynamic, *example, key)
    names_out = _output_names(traced.out_info[0])
    compiled = traced.lower().compile()
    if store is not None:
        store.manifest["outputs"] = names_out
        store.start(chunk_size, n_chunks)
    if leader:
        _barrier("multiscale.sweep: manifest written")

    mine = [c for c in range(n_chunks) if c % jax.process_count() == jax.process_index()]
    results: dict[int, dict[str, np.ndarray]] = {}
    done = store.done() if store is not None else set()
    todo = [c for c in mine if c not in done]
    # Each process counts its own chunks (all of them in a single process).
    total = sum(_size(c, chunk_size, n_members) for c in mine)
    bar = _progress_bar(progress, total, total - sum(_size(c, chunk_size, n_members) for c in todo))
    failed = 0  # failed members among the chunks this run evaluates, for the progress bar
    try:
        for c in todo:
            start = c * chunk_size
            valid = _size(c, chunk_size, n_members)
            rows = np.minimum(np.arange(start, start + chunk_size), n_members - 1)
            index = np.arange(start, start + chunk_size, dtype=np.int32)
            values = tuple(col[rows] for col in columns)
            outputs, status = jax.device_get(compiled(dynamic, values, index, key))
            arrays = {
                n: np.asarray(x)[:valid]
                for n, x in zip(names_out, jax.tree.leaves(outputs), strict=True)
            }
            arrays["status"] = np.asarray(status)[:valid]
            failed += int(np.count_nonzero(arrays["status"]))
            bar.set_postfix(failed=failed, refresh=False)
            if store is not None:
                store.save_chunk(c, arrays)
            else:
                results[c] = arrays
            bar.update(valid)
            if callback is not None:
                callback(c, n_chunks)
    finally:
        bar.close()

    _barrier("multiscale.sweep: all chunks written")
    chunks = [store.load_chunk(c) if store is not None else results[c] for c in range(n_chunks)]
    data = {n: np.concatenate([ch[n] for ch in chunks]) for n in [*names_out, "status"]}
    attrs = {
        "identity": identity or f"none: {unidentified}",
        "fn": manifest["fn"],
        "design": manifest["design"],
        "key_data": key_bytes(key).hex(),
        "status_codes": "0 ok; 1 non-finite output; >= 2 reported by fn",
        "n_members": n_members,
        "n_failed": int(np.count_nonzero(data["status"])),
    }
    dataset = build_dataset(names, design, table, data, attrs)
    if store is not None:
        store.finish()
        if leader:
            write_netcdf(dataset, store.folder / "sweep.nc")
    return dataset


def _check_arguments(fn, design, key, chunk_size, memory_budget, devices, callback) -> None:
    """Raise a ``ValueError`` naming the argument of ``sweep`` that is wrong."""
    if not callable(fn):
        raise ValueError(f"`fn` must be a function fn(model, key) -> outputs, got {fn!r}")
    if not isinstance(design, AbstractDesign):
        raise ValueError(
            f"`design` must be a Grid, RandomUniform, LatinHypercube or Halton, got {design!r}"
        )
    check_key(key, "sweep")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(
            f"`chunk_size` must be an int >= 1 (members per chunk), got {chunk_size!r}"
        )
    if memory_budget is not None and (
        isinstance(memory_budget, bool)
        or not isinstance(memory_budget, int | float)
        or not (math.isfinite(memory_budget) and memory_budget >= 1)
    ):
        raise ValueError(
            f"`memory_budget` must be a positive number of bytes (e.g. 2 * 2**30 for 2 GiB), "
            f"got {memory_budget!r}"
        )
    if devices is not None and (
        not isinstance(devices, list | tuple)
        or not devices
        or not all(isinstance(d, jax.Device) for d in devices)
    ):
        raise ValueError(
            f"`devices` must be a non-empty list of devices (e.g. jax.local_devices()), "
            f"got {devices!r}"
        )
    if callback is not None and not callable(callback):
        raise ValueError(
            f"`callback` must be a function callback(chunk, n_chunks), got {callback!r}"
        )


def _fingerprint(design: AbstractDesign, table: np.ndarray) -> dict:
    shape = design.shape
    return {
        "kind": type(design).__name__,
        "shape": None if shape is None else list(shape),
        "table": table,
    }


def _barrier(name: str) -> None:
    """Wait for every process of a ``jax.distributed`` run (nothing to do in one process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _size(chunk: int, chunk_size: int, n_members: int) -> int:
    return min(chunk_size, n_members - chunk * chunk_size)


def _progress_bar(enabled: bool, total: int, initial: int):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="member",
        desc="sweep",
        disable=not enabled,
        smoothing=0.1,
    )
