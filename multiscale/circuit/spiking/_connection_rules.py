"""Connection rules for spiking projections: fixed probability, fixed in-degree, dense.

Each builds the stored form of :mod:`._connectivity` (synapses sorted by presynaptic
neuron, with per-neuron offsets), drawing the random connections on the host with NumPy
from a JAX key (the connectivity is data, fixed before the simulation is traced).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from ._connectivity import DenseConnectivity, SparseConnectivity


def _rng(key: PRNGKeyArray) -> np.random.Generator:
    seed = np.asarray(jax.random.bits(key, (4,), jnp.uint32))
    return np.random.default_rng(seed)


def _from_pairs(pre, post, weight, n_pre, n_post) -> SparseConnectivity:
    order = np.lexsort((post, pre))
    pre, post = pre[order].astype(np.int32), post[order].astype(np.int32)
    counts = np.bincount(pre, minlength=n_pre)
    offsets = np.concatenate([[0], np.cumsum(counts), [len(pre)]]).astype(np.int32)
    w = np.broadcast_to(np.asarray(weight, np.float32), (len(pre),))
    w = w[order] if np.ndim(weight) else w
    return SparseConnectivity(
        pre=jnp.asarray(pre),
        post=jnp.asarray(post),
        weight=jnp.asarray(w, dtype=jnp.result_type(float)),
        offsets=jnp.asarray(offsets),
        n_pre=int(n_pre),
        n_post=int(n_post),
        max_out=max(1, int(counts.max(initial=0))),
    )


def _check_sizes(n_pre, n_post):
    for name, n in (("n_pre", n_pre), ("n_post", n_post)):
        if not (isinstance(n, int | np.integer) and n >= 1):
            raise ValueError(f"`{name}` must be an int >= 1, got {n!r}")


def fixed_probability(
    n_pre: int, n_post: int, p: float, weight: Float[ArrayLike, ""], *, key: PRNGKeyArray
) -> SparseConnectivity:
    r"""Each (pre, post) pair is connected independently with probability ``p`` (Bernoulli).

    The in-degrees are then binomial, $\mathrm{Bin}(n_\mathrm{pre}, p)$, as in Brian2's
    ``connect(p=...)``; self-connections are allowed when the two populations overlap.

    Args:
        n_pre, n_post: population sizes.
        p: connection probability in [0, 1].
        weight: weight of every synapse (receptor's unit).
        key: PRNG key for the draw.
    """
    _check_sizes(n_pre, n_post)
    if not (isinstance(p, int | float) and 0 <= p <= 1):
        raise ValueError(f"connection probability `p` must lie in [0, 1], got {p!r}")
    rng = _rng(key)
    pres, posts = [], []
    rows = max(1, 2**22 // n_post)  # about 4 M draws at a time
    for start in range(0, n_pre, rows):
        stop = min(n_pre, start + rows)
        i, j = np.nonzero(rng.random((stop - start, n_post)) < p)
        pres.append(i + start)
        posts.append(j)
    return _from_pairs(np.concatenate(pres), np.concatenate(posts), weight, n_pre, n_post)


def fixed_indegree(
    n_pre: int,
    n_post: int,
    indegree: int,
    weight: Float[ArrayLike, ""],
    *,
    key: PRNGKeyArray,
    multapses: bool = True,
) -> SparseConnectivity:
    r"""Each postsynaptic neuron receives exactly ``indegree`` synapses from random sources.

    As NEST's ``fixed_indegree`` rule: sources are drawn uniformly, with replacement when
    ``multapses`` is True (NEST's default), else without.

    Args:
        n_pre, n_post: population sizes.
        indegree: synapses per postsynaptic neuron, $0 \le K \le n_\mathrm{pre}$.
        weight: weight of every synapse (receptor's unit).
        key: PRNG key for the draw.
        multapses: allow several synapses between the same pair.
    """
    _check_sizes(n_pre, n_post)
    if not (isinstance(indegree, int | np.integer) and 0 <= indegree <= n_pre):
        raise ValueError(
            f"`indegree` must be an int in [0, n_pre = {n_pre}] (the source population's "
            f"size), got {indegree!r}"
        )
    rng = _rng(key)
    if multapses:
        pre = rng.integers(0, n_pre, size=(n_post, indegree))
    else:
        pre = np.stack([rng.choice(n_pre, indegree, replace=False) for _ in range(n_post)])
    post = np.repeat(np.arange(n_post), indegree)
    return _from_pairs(pre.reshape(-1), post, weight, n_pre, n_post)


def dense(W: Float[ArrayLike, "post pre"]) -> DenseConnectivity:
    """All-to-all connectivity with the weight matrix ``W`` (post, pre)."""
    W = jnp.asarray(W, dtype=jnp.result_type(float))
    if W.ndim != 2:
        raise ValueError(f"`W` must have shape (n_post, n_pre), got {W.shape}")
    return DenseConnectivity(W=W)
