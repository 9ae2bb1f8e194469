"""Test-wide JAX settings, following equinox and diffrax.

- Strict dtype promotion and ``rank_promotion="raise"`` make silent upcasts and
  accidental broadcasting errors instead of wrong answers.
- ``float64`` is opt-in per test through the ``float64`` fixture, for reference tests
  and finite-difference gradient checks; the package default stays float32.
- Runtime jaxtyping + beartype checks of ``multiscale`` are switched on by
  ``--jaxtyping-packages`` in ``pyproject.toml``.
"""

import os

os.environ.setdefault("MULTISCALE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax
import jax.random as jr
import pytest

from multiscale._compiled_memory import release_if_near_map_limit

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _bounded_memory_maps():
    """After each test, drop JAX's compiled programs once half the process's memory
    mappings are used: an xdist worker runs ~500 tests, each compiled program holds ~3
    mappings while cached, and at the kernel's limit (65530) XLA's compiler segfaults
    (multiscale._compiled_memory)."""
    yield
    release_if_near_map_limit()


@pytest.fixture
def float64():
    """Run one test in float64; restores float32 afterwards."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def key():
    """A fixed PRNG key, so that stochastic tests are reproducible."""
    return jr.key(0)


@pytest.fixture
def getkey():
    """A stream of distinct fixed keys, for tests that need several."""
    base = [jr.key(1234)]

    def _next():
        base[0], sub = jr.split(base[0])
        return sub

    return _next
