"""Memory planning of a sweep: how many members fit in one chunk.

The planner compiles one member, asks XLA how many bytes its arguments, outputs and
temporaries take (``Compiled.memory_analysis()``), and divides a budget by that, with a
safety factor for what batching adds. Where XLA gives no analysis it falls back to the
sizes of the member's inputs and outputs, which underestimates temporaries: pass
``memory_budget`` or ``chunk_size`` explicitly then.
"""

import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

# Fraction of free memory a sweep may use by default: half of an accelerator's free memory
# (XLA keeps its own pools and other buffers live), a quarter of the host's available RAM
# (the host also holds the gathered results and the Python process).
_DEVICE_FRACTION = 0.5
_HOST_FRACTION = 0.25
# A vmapped member can need more than the unbatched one (layout padding, fused copies).
_SAFETY = 2.0


def available_host_memory() -> int:
    """Bytes of RAM available to new allocations (``MemAvailable`` of /proc/meminfo)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**31  # No way to ask (e.g. macOS without sysconf pages): assume 2 GiB.


def default_memory_budget(devices: list) -> int:
    """A safe default budget in bytes for one chunk spread over ``devices``.

    Accelerators: half of the smallest free memory of the devices (``memory_stats``), times
    the number of devices. CPU: a quarter of the host's available RAM, shared by all CPU
    devices since they share that RAM.
    """
    free = []
    for device in devices:
        stats = device.memory_stats() if device.platform != "cpu" else None
        if stats and "bytes_limit" in stats:
            free.append(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    if len(free) == len(devices) and free:
        return int(_DEVICE_FRACTION * min(free) * len(devices))
    return int(_HOST_FRACTION * available_host_memory())


def member_bytes(member_fn: Callable, *args: Any) -> int:
    """Bytes one member needs: compiled arguments + outputs + temporaries, times a margin.

    Args:
        member_fn: the function of one member, jittable.
        *args: example arguments of one member (arrays or ``jax.ShapeDtypeStruct``).
    """
    compiled = jax.jit(member_fn).lower(*args).compile()
    analysis = None
    try:
        analysis = compiled.memory_analysis()
    except (NotImplementedError, jax.errors.JaxRuntimeError):
        pass
    if analysis is not None:
        total = (
            analysis.argument_size_in_bytes
            + analysis.output_size_in_bytes
            + analysis.temp_size_in_bytes
            - analysis.alias_size_in_bytes
        )
    else:
        shapes = jax.eval_shape(member_fn, *args)
        total = sum(
            int(np.prod(x.shape)) * x.dtype.itemsize for x in jax.tree.leaves((args, shapes))
        )
    return max(int(_SAFETY * total), 1)


def plan_chunk_size(bytes_per_member: int, budget: int, n_members: int, n_devices: int) -> int:
    """Largest chunk (a multiple of ``n_devices``) whose members fit in ``budget`` bytes.

    The chunk is at most ``n_members`` rounded up to a multiple of ``n_devices``: there is
    no point in padding beyond one chunk.

    Raises:
        ValueError: if the budget cannot hold one member per device.
    """
    if budget < bytes_per_member * n_devices:
        raise ValueError(
            f"memory budget of {budget} bytes is too small: one member needs about "
            f"{bytes_per_member} bytes and each of the {n_devices} device(s) needs at least "
            f"one; raise `memory_budget` to at least {bytes_per_member * n_devices} bytes"
        )
    per_device = budget // (bytes_per_member * n_devices)
    needed = -(-n_members // n_devices)
    return int(min(per_device, needed) * n_devices)
