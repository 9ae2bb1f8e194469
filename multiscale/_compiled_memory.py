"""Keep a long-lived process below the kernel's limit on memory mappings.

XLA's CPU backend maps about three memory regions (code, read-only data, data) for every
compiled program, and JAX keeps each program while its function is cached. A process that
compiles thousands of programs -- ``multiscale validate`` running every target, or a test
suite -- reaches the per-process limit on memory mappings (``vm.max_map_count``, 65530 by
default on Linux); LLVM then fails with "Cannot allocate memory" and XLA crashes the
process with a segmentation fault (measured here: about 110 mappings per validation target;
filling the table to within 1500 of the limit crashed the next compilations).
:func:`release_if_near_map_limit` drops JAX's caches when the table is half full, which
unmaps the programs; the next call of a dropped function compiles it again.
"""

import gc

_LIMIT_FILE = "/proc/sys/vm/max_map_count"
_MAPS_FILE = "/proc/self/maps"


def map_usage() -> tuple[int, int] | None:
    """(mappings of this process, the kernel's limit), or None where /proc does not tell."""
    try:
        with open(_LIMIT_FILE) as f:
            limit = int(f.read())
        with open(_MAPS_FILE, "rb") as f:
            used = sum(1 for _ in f)
    except (OSError, ValueError):
        return None
    return used, limit


def release_if_near_map_limit(fraction: float = 0.5) -> bool:
    """Clear JAX's compilation caches if this process uses ``fraction`` of its mappings.

    Returns True if the caches were cleared. A no-op (False) where /proc is unavailable.
    """
    usage = map_usage()
    if usage is None or usage[0] < fraction * usage[1]:
        return False
    import jax

    jax.clear_caches()
    gc.collect()
    return True


__all__ = ["map_usage", "release_if_near_map_limit"]
