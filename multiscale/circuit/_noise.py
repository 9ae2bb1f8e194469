r"""Sources of the circuit's per-step Gaussian noise: a counter-based hash and threefry.

A circuit trial needs one standard normal $\xi_{k,i}$ per step $k$ and population $i$.
Drawing them is most of the cost of a large batch: JAX's threefry generator spends
about four times as long per normal as the circuit's own dynamics (benchmarks/RESULTS.md).
A noise source is an object with ``init(key) -> state`` and ``normals(state, k)``, called
inside the time loop, so the normals are generated where they are used and never stored.

:class:`CounterNoise` (the default) makes each step's pair of normals from two 32-bit
hashes of the counters $2k$ and $2k + 1$, keyed by 64 bits drawn once per trial from the
trial's key, and turns the pair of words into a pair of normals by the Box–Muller
transform. :class:`ThreefryNoise` uses ``jax.random.normal`` on ``fold_in(key, k)`` and is
the reference that tests compare against: behavior must not depend on which one is used.
"""

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, Key, PRNGKeyArray, UInt32


class AbstractCircuitNoise(eqx.Module):
    """Standard normals $\\xi_k \\in \\mathbb{R}^2$ for step ``k`` of a trial, from its key."""

    @abc.abstractmethod
    def init(self, key: PRNGKeyArray) -> Any:
        """The per-trial state (e.g. seed words) made once from the trial's key."""

    @abc.abstractmethod
    def normals(self, state: Any, k: Int[Array, ""], n: int = 2) -> Float[Array, "n ..."]:
        """``n`` independent N(0, 1) draws for step ``k`` (an int32 step index).

        Shape (n,) for one trial's state; a source that accepts a batch of states (the
        batch axes last, as ``init`` mapped with ``out_axes=-1`` makes them) returns
        (n, *batch). ``n`` is the circuit's :attr:`~AbstractCircuit.n_noise`.
        """

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


# Taylor coefficients of cos in x^2 up to x^12: on [0, pi/2] the first omitted term is
# (pi/2)^14 / 14! = 6.4e-9, below float32's resolution of values near 1.
_COS_COEFFICIENTS = (1.0, -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, 1 / 479001600)


def _box_muller(h1: UInt32[Array, "..."], h2: UInt32[Array, "..."], dtype) -> Float[Array, "2 ..."]:
    r"""Two independent N(0, 1) draws from two uniform 32-bit words (Box & Muller 1958).

    $\xi_0 = \pm R\cos\phi$, $\xi_1 = \pm R\sin\phi$ with $R = \sqrt{-2\ln u}$,
    $u \in (0, 1)$ from the top 23 bits of ``h1``, $\phi \in (0, \pi/2)$ from the top 22
    bits of ``h2`` and the two signs from its two lowest bits, so that the angle is uniform
    on the whole circle. $\sin\phi = \cos(\pi/2 - \phi)$, so both rows evaluate one
    polynomial (the mirror is exact in integers) and no per-row value has to be stacked:
    XLA's CPU code does not vectorise a concatenation inside a loop fusion, nor its own
    ``erf_inv``, ``sin`` and ``cos`` as well as this (one log, one square root and one
    polynomial per pair: 2.4x less time than ``erf_inv`` per normal, benchmarks/RESULTS.md).
    The largest $|\xi|$ is $\sqrt{2 \cdot 24 \ln 2} = 5.77$.
    """
    # Odd integers 2m + 1 are exact in int32 and float32, so u and phi stay inside the open
    # intervals however XLA reassociates the arithmetic: a float formula such as
    # 2^-23 m + 2^-24 may be rewritten and round to an endpoint (log(0) = -inf).
    u = (2 * (h1 >> 9).astype(jnp.int32) + 1).astype(jnp.float32) * jnp.float32(2.0**-24)
    radius = jnp.sqrt(jnp.float32(-2.0) * jnp.log(u))[None]
    row = jnp.arange(2, dtype=jnp.int32).reshape((2,) + (1,) * jnp.ndim(h2))
    h2 = h2[None]
    m = (h2 >> 10).astype(jnp.int32)
    m = jnp.where(row == 0, m, (2**22 - 1) - m)
    phi = (2 * m + 1).astype(jnp.float32) * jnp.float32(0.25 * math.pi * 2.0**-22)
    phi2 = phi * phi
    cos = jnp.float32(_COS_COEFFICIENTS[-1])
    for c in _COS_COEFFICIENTS[-2::-1]:
        cos = jnp.float32(c) + cos * phi2
    sign = 1 - 2 * ((h2 >> row.astype(jnp.uint32)) & 1).astype(jnp.int32)
    return (sign.astype(jnp.float32) * radius * cos).astype(dtype)


class CounterNoise(AbstractCircuitNoise):
    r"""Counter-based normals: keyed 32-bit hashes of the step counter, then Box–Muller.

    For step $k$ the words $h_j = m(m(c_j \oplus s_0) \oplus s_1)$ with $c_j = 2k + j$,
    $j = 0, 1$, are computed, where $m$ is a bijective xorshift-multiply mixer and
    $(s_0, s_1)$ are 64 bits drawn from the trial's key with ``jax.random.bits``; the
    Box–Muller transform turns $(h_0, h_1)$ into the two populations' normals.
    Because $m$ is a bijection, a trial's $2^{32}$ counters give $2^{32}$ distinct words
    (trials of up to $2^{31}$ steps never repeat a draw); different keys give
    independent-looking streams (tested: moments, Kolmogorov–Smirnov, auto- and
    cross-correlations, and the circuit's accuracy and RTs against :class:`ThreefryNoise`).
    It is not a cryptographic generator, only a fast, statistically sound source for
    simulation noise, in the spirit of counter-based generators (Salmon et al. 2011).

    ``normals`` also takes a batch of states, shape (2, *batch) (the seed words first), and
    then returns (2, *batch): the batched time loop of
    :func:`~multiscale.population.run_trials` keeps populations first.

    References:
        Salmon JK, Moraes MA, Dror RO, Shaw DE (2011) Parallel random numbers: as easy as
        1, 2, 3. SC '11 (counter-based generators).
        Box GEP, Muller ME (1958) A note on the generation of random normal deviates.
        Ann Math Stat 29:610.
    """

    def init(self, key: PRNGKeyArray) -> UInt32[Array, "2"]:
        return jr.bits(key, (2,), jnp.uint32)

    def normals(
        self, state: UInt32[Array, "2 ..."], k: Int[Array, ""], n: int = 2
    ) -> Float[Array, "n ..."]:
        # Step k uses the counters 2(kP + p) and 2(kP + p) + 1 for its P = ceil(n/2) pairs;
        # with n = 2 (P = 1) these are 2k and 2k + 1.
        pairs = -(-n // 2)
        k = jnp.asarray(k).astype(jnp.uint32)
        out = []
        for p in range(pairs):
            c = (
                (k * jnp.uint32(pairs) + jnp.uint32(p)) * jnp.uint32(2)
                if pairs > 1
                else k * jnp.uint32(2)
            )
            h0 = _mix(_mix(c ^ state[0]) ^ state[1])
            h1 = _mix(_mix((c + jnp.uint32(1)) ^ state[0]) ^ state[1])
            out.append(_box_muller(h0, h1, jnp.result_type(float)))
        xi = out[0] if pairs == 1 else jnp.concatenate(out)
        return xi if n == 2 * pairs else xi[:n]

    def max_steps(self) -> int:
        return 2**31  # the counter 2k + 1 must fit in 32 bits (for two normals per step)


class ThreefryNoise(AbstractCircuitNoise):
    """``jax.random.normal`` with the key of step ``k`` = ``fold_in(key, k)`` (slower reference)."""

    def init(self, key: PRNGKeyArray) -> PRNGKeyArray:
        return key

    def normals(
        self, state: Key[Array, "..."], k: Int[Array, ""], n: int = 2
    ) -> Float[Array, "n ..."]:
        draw = lambda key: jr.normal(jr.fold_in(key, k), (n,), dtype=jnp.result_type(float))
        if jnp.ndim(state) == 0:
            return draw(state)
        # A batch of keys (*batch): populations first, like CounterNoise.
        flat = jax.vmap(draw, out_axes=1)(jnp.reshape(state, (-1,)))
        return jnp.reshape(flat, (n,) + jnp.shape(state))

    def max_steps(self) -> None:
        return None


class GivenNormals(AbstractCircuitNoise):
    """Normals supplied in advance, one row per step (e.g. a Brownian path's increments).

    Attributes:
        xi: the standard normals, shape (steps, 2).
    """

    xi: Float[Array, "steps n_noise"]

    def __check_init__(self):
        if jnp.ndim(self.xi) != 2:
            raise ValueError(
                f"GivenNormals `xi` must have shape (steps, n_noise), got {jnp.shape(self.xi)}"
            )

    def max_steps(self) -> int:
        return int(jnp.shape(self.xi)[0])

    def init(self, key: PRNGKeyArray | None) -> Float[Array, "steps n_noise"]:
        del key
        return self.xi

    def normals(
        self, state: Float[Array, "steps n"], k: Int[Array, ""], n: int = 2
    ) -> Float[Array, " n"]:
        if jnp.shape(state)[1] != n:
            raise ValueError(
                f"GivenNormals has {jnp.shape(state)[1]} normals per step; the circuit needs {n}"
            )
        return jax.lax.dynamic_index_in_dim(state, k, keepdims=False)
