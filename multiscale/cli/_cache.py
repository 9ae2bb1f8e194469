"""JAX's persistent compilation cache for the command line: a warm second run.

A command's first run spends most of its time compiling (a first ``multiscale fit`` of a
DDM to 3500 trials: about 15-30 s on two cores, mostly XLA); the compiled programs are
stored on disk and the next run loads them instead (benchmarks/bench_cold_start.py
measures both). Where:

- ``$XDG_CACHE_HOME/multiscale/jax`` if ``XDG_CACHE_HOME`` is set, else
  ``~/.cache/multiscale/jax``;
- a cache folder already given to JAX (``JAX_COMPILATION_CACHE_DIR``) is used as it is.

Opt out with ``--no-cache`` or ``MULTISCALE_NO_CACHE=1``. The folder is never pruned (a few
MB per workload); delete it to clear it. Entries are keyed by the program, the JAX version
and the device, so a stale entry is never used. Only ``main`` running as the program
(``multiscale ...``) switches the cache on; ``main([...])`` called from Python leaves JAX's
configuration alone.
"""

import os
import pathlib
import warnings

# Every compiled program is cached, however fast it compiled: in a fresh process even the
# small ones (parameter transforms, starts) add up to a second or more of compiling.
_MIN_COMPILE_TIME_S = 0.0


def cache_dir() -> pathlib.Path:
    """The per-user cache folder (see the module docstring)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = pathlib.Path(base) if os.path.isabs(base) else pathlib.Path.home() / ".cache"
    return root / "multiscale" / "jax"


def cache_disabled(no_cache: bool = False) -> bool:
    """True with ``--no-cache`` or ``MULTISCALE_NO_CACHE`` set to anything but ``0``."""
    return no_cache or os.environ.get("MULTISCALE_NO_CACHE", "") not in ("", "0")


def enable_compilation_cache() -> pathlib.Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir`; return the folder.

    Must run before the first compilation. A folder that cannot be created or written
    leaves the cache off, with a warning (the command still runs, only slower).
    """
    import jax

    given = jax.config.jax_compilation_cache_dir
    if given:
        return pathlib.Path(given)
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable", str(path))
    except OSError as error:
        warnings.warn(
            f"compilation cache off: cannot use {path} ({error.strerror}); set XDG_CACHE_HOME "
            "to a writable folder, or pass --no-cache to silence this",
            stacklevel=2,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_COMPILE_TIME_S)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
