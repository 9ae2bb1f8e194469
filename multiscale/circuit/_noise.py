r"""Sources of the circuit's per-step Gaussian noise: a counter-based hash and threefry.

A circuit trial needs one standard normal $\xi_{k,i}$ per step $k$ and population $i$.
Drawing them is most of the cost of a large batch: JAX's threefry generator spends
about four times as long per normal as the circuit's own dynamics (benchmarks/RESULTS.md).
A noise source is an object with ``init(key) -> state`` and ``normals(state, k)``, called
inside the time loop, so the normals are generated where they are used and never stored.

:class:`CounterNoise` (the default) makes each normal from a 32-bit hash of the counter
$2k + i$ keyed by 64 bits drawn once per trial from the trial's key, and turns the hash into a
normal by the inverse error function, exactly as ``jax.random.normal`` turns its bits into
a normal. :class:`ThreefryNoise` uses ``jax.random.normal`` on ``fold_in(key, k)`` and is
the reference that tests compare against: behavior must not depend on which one is used.
"""

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray, UInt32


class AbstractCircuitNoise(eqx.Module):
    """Standard normals $\\xi_k \\in \\mathbb{R}^2$ for step ``k`` of a trial, from its key."""

    @abc.abstractmethod
    def init(self, key: PRNGKeyArray) -> Any:
        """The per-trial state (e.g. seed words) made once from the trial's key."""

    @abc.abstractmethod
    def normals(self, state: Any, k: Int[Array, ""]) -> Float[Array, "2"]:
        """Two independent N(0, 1) draws for step ``k`` (an int32 step index)."""

    @abc.abstractmethod
    def max_steps(self) -> int | None:
        """The number of steps this source can supply (``None``: unlimited)."""


def _mix(h: UInt32[Array, "*s"]) -> UInt32[Array, "*s"]:
    # A 32-bit xorshift-multiply finalizer (the structure of MurmurHash3's fmix32) with the
    # constants of C. Wellons' "lowbias32" (hash-prospector, public domain), chosen for its
    # low avalanche bias. Every step is a bijection of the 32-bit words.
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x7FEB352D)
    h = h ^ (h >> 15)
    h = h * jnp.uint32(0x846CA68B)
    return h ^ (h >> 16)


def _bits_to_normal(bits: UInt32[Array, "*s"], dtype) -> Float[Array, "*s"]:
    # The top 23 bits m give the odd integers 2m + 1 - 2^23 in (-2^23, 2^23), exact in int32
    # and in float32, hence a uniform on the midpoints of 2^23 equal cells of (-1, 1),
    # which sqrt(2) * erfinv maps to N(0, 1); the largest |xi| is 5.3, the resolution
    # jax.random.normal has in float32. Integer arithmetic keeps the open interval exact:
    # a float expression such as 2u - 3 + 2^-23 may be reassociated by XLA into
    # 2u + (-3 + 2^-23), which rounds to 2u - 3 and reaches erfinv(-1) = -inf.
    m = (bits >> 9).astype(jnp.int32)
    odd = 2 * m + (1 - 2**23)
    u = odd.astype(jnp.float32) * jnp.float32(2.0**-23)
    return (jnp.sqrt(jnp.float32(2.0)) * jax.lax.erf_inv(u)).astype(dtype)


class CounterNoise(AbstractCircuitNoise):
    r"""Counter-based normals: a keyed 32-bit hash of the step counter, then the inverse erf.

    For step $k$ and population $i$ the word $h = m(m(c \oplus s_0) \oplus s_1)$ with
    $c = 2k + i$ is computed, where $m$ is a bijective xorshift-multiply mixer and
    $(s_0, s_1)$ are 64 bits drawn from the trial's key with ``jax.random.bits``.
    Because $m$ is a bijection, a trial's $2^{32}$ counters give $2^{32}$ distinct words
    (trials of up to $2^{31}$ steps never repeat a draw); different keys give
    independent-looking streams (tested: moments, Kolmogorov–Smirnov, auto- and
    cross-correlations, and the circuit's accuracy and RTs against :class:`ThreefryNoise`).
    It is not a cryptographic generator, only a fast, statistically sound source for
    simulation noise, in the spirit of counter-based generators (Salmon et al. 2011).

    References:
        Salmon JK, Moraes MA, Dror RO, Shaw DE (2011) Parallel random numbers: as easy as
        1, 2, 3. SC '11 (counter-based generators).
    """

    def init(self, key: PRNGKeyArray) -> UInt32[Array, "2"]:
        return jr.bits(key, (2,), jnp.uint32)

    def normals(self, state: UInt32[Array, "2"], k: Int[Array, ""]) -> Float[Array, "2"]:
        c = jnp.asarray(k).astype(jnp.uint32) * jnp.uint32(2) + jnp.arange(2, dtype=jnp.uint32)
        return _bits_to_normal(_mix(_mix(c ^ state[0]) ^ state[1]), jnp.result_type(float))

    def max_steps(self) -> int:
        return 2**31  # the counter 2k + i must fit in 32 bits


class ThreefryNoise(AbstractCircuitNoise):
    """``jax.random.normal`` with the key of step ``k`` = ``fold_in(key, k)`` (slower reference)."""

    def init(self, key: PRNGKeyArray) -> PRNGKeyArray:
        return key

    def normals(self, state: PRNGKeyArray, k: Int[Array, ""]) -> Float[Array, "2"]:
        return jr.normal(jr.fold_in(state, k), (2,), dtype=jnp.result_type(float))

    def max_steps(self) -> None:
        return None


class GivenNormals(AbstractCircuitNoise):
    """Normals supplied in advance, one row per step (e.g. a Brownian path's increments).

    Attributes:
        xi: the standard normals, shape (steps, 2).
    """

    xi: Float[Array, "steps 2"]

    def __check_init__(self):
        if jnp.ndim(self.xi) != 2 or jnp.shape(self.xi)[1] != 2:
            raise ValueError(
                f"GivenNormals `xi` must have shape (steps, 2), got {jnp.shape(self.xi)}"
            )

    def max_steps(self) -> int:
        return int(jnp.shape(self.xi)[0])

    def init(self, key: PRNGKeyArray | None) -> Float[Array, "steps 2"]:
        del key
        return self.xi

    def normals(self, state: Float[Array, "steps 2"], k: Int[Array, ""]) -> Float[Array, "2"]:
        return jax.lax.dynamic_index_in_dim(state, k, keepdims=False)
