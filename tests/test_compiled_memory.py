"""Dropping compiled programs keeps a long run below the kernel's memory-mapping limit.

Each XLA CPU program holds a few memory mappings while JAX caches it; at
``vm.max_map_count`` XLA's compiler segfaults (multiscale._compiled_memory).
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiscale._compiled_memory import map_usage, release_if_near_map_limit

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or map_usage() is None, reason="needs Linux /proc"
)


def _compile_many(n: int) -> list:
    # Distinct programs (the constant is part of each), each kept alive by JAX's cache.
    fs = [jax.jit(lambda x, k=k: jnp.cumsum(jnp.sin(x) * k) @ jnp.cos(x)) for k in range(n)]
    for f in fs:
        f(jnp.ones((64,))).block_until_ready()
    return fs


def test_usage_is_counted_against_the_limit():
    used, limit = map_usage()
    assert 0 < used < limit


def test_release_below_the_threshold_keeps_the_caches():
    assert release_if_near_map_limit(fraction=1.0) is False


def test_release_unmaps_compiled_programs():
    release_if_near_map_limit(fraction=0.0)
    before = map_usage()[0]
    fs = _compile_many(60)
    grown = map_usage()[0]
    assert release_if_near_map_limit(fraction=0.0) is True
    after = map_usage()[0]
    assert grown > before
    # The programs' mappings are returned (functions still referenced recompile on use).
    assert after < grown - 0.5 * (grown - before)
    x = np.ones(64)
    expected = np.cumsum(np.sin(x) * 3) @ np.cos(x)
    assert float(fs[3](jnp.ones((64,)))) == pytest.approx(expected, rel=1e-5)
