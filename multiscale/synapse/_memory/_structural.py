r"""Structural plasticity as boolean masks: pruning of weak synapses and synaptogenesis.

A connection matrix $W$ (pre × post) is paired with a boolean mask $M$ of the same,
fixed shape: $M_{ij}$ says whether the synapse $i\to j$ exists. Removing or creating a
synapse flips an entry of $M$; the shapes never change, so a lifetime of pruning and
growth is one jittable, vmappable program. The effective weights are

$$W^\mathrm{eff} = M \odot W ,$$

so gradients pass through every existing synapse unchanged (and are zero at silent
sites); the mask itself is piecewise constant in the weights.

- **Pruning** (:func:`prune_below`, :func:`prune_weakest`): an existing synapse is
  removed when $|W_{ij}| < \theta$, or when it is among the weakest fraction $f$ of the
  existing synapses (ties broken by index). Activity-dependent elimination of weak
  synapses is the structural end point of the synaptic homeostasis hypothesis (Tononi
  & Cirelli 2006, 2014) and of developmental pruning.
- **Synaptogenesis** (:func:`synaptogenesis`): each silent site becomes a synapse
  independently at rate $\lambda$ (1/s), i.e. with probability
  $1 - e^{-\lambda T}$ over an interval $T$, and starts at a small weight $w_\mathrm{new}$.

:class:`StructuralPlasticity` bundles both as an ``(init, step)`` pair.

References:
    Tononi G, Cirelli C (2006) Sleep function and synaptic homeostasis. Sleep Med Rev
    10:49. Tononi G, Cirelli C (2014) Sleep and the price of plasticity. Neuron 81:12.
"""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ..._typing import ScalarLike


def check_mask(mask, weights, name: str = "mask") -> Array:
    """``mask`` as a boolean array of the shape of ``weights``, or a ValueError naming it."""
    dtype = getattr(mask, "dtype", None)
    if dtype is None:
        dtype = np.asarray(mask).dtype
    if dtype != np.bool_:
        raise ValueError(f"`{name}` must be a boolean array, got dtype {dtype}")
    m = jnp.asarray(mask)
    shape = jnp.shape(weights)
    if m.shape != shape:
        raise ValueError(f"`{name}` must have the shape of the weights {shape}, got {m.shape}")
    return m


def _check_fraction(value, name):
    if isinstance(value, int | float) and not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1], got {value}")


def _check_nonneg(value, name):
    if isinstance(value, int | float) and not value >= 0:
        raise ValueError(f"`{name}` must be >= 0, got {value}")


def _full_mask(weights, mask):
    if mask is None:
        return jnp.ones(jnp.shape(weights), bool)
    return check_mask(mask, weights)


def apply_mask(weights: Float[Array, "pre post"], mask: ArrayLike) -> Float[Array, "pre post"]:
    """Effective weights $M \\odot W$: existing synapses pass through, silent sites are 0."""
    m = check_mask(mask, weights)
    w = jnp.asarray(weights)
    return jnp.where(m, w, jnp.zeros_like(w))


def prune_below(
    weights: Float[Array, "pre post"],
    threshold: ScalarLike,
    mask: ArrayLike | None = None,
) -> Bool[Array, "pre post"]:
    r"""Mask after removing every existing synapse with $|W_{ij}| < \theta$.

    Args:
        weights: weights, shape (pre, post), weight unit.
        threshold: $\theta$ (>= 0), weight unit.
        mask: existing synapses (default: all).

    Returns:
        The new mask (a subset of ``mask``).

    Example:
        >>> import jax.numpy as jnp
        >>> prune_below(jnp.array([[0.05, 0.5], [0.9, 0.01]]), 0.1).tolist()
        [[False, True], [True, False]]
    """
    _check_nonneg(threshold, "threshold")
    m = _full_mask(weights, mask)
    w = jnp.asarray(weights)
    return m & (jnp.abs(w) >= jnp.asarray(threshold, w.dtype))


def prune_weakest(
    weights: Float[Array, "pre post"],
    fraction: ScalarLike,
    mask: ArrayLike | None = None,
) -> Bool[Array, "pre post"]:
    r"""Mask after removing the weakest fraction $f$ of the existing synapses.

    $\lfloor f\,n \rfloor$ of the $n$ existing synapses with the smallest $|W_{ij}|$ are
    removed (ties broken by flat index, so the result is deterministic).

    Args:
        weights: weights, shape (pre, post), weight unit.
        fraction: $f$ in [0, 1].
        mask: existing synapses (default: all).

    Example:
        >>> import jax.numpy as jnp
        >>> prune_weakest(jnp.array([[0.3, 0.1], [0.2, 0.4]]), 0.5).tolist()
        [[True, False], [False, True]]
    """
    _check_fraction(fraction, "fraction")
    m = _full_mask(weights, mask)
    w = jnp.asarray(weights)
    strength = jnp.where(m, jnp.abs(w), jnp.full_like(w, jnp.inf)).ravel()
    rank = jnp.argsort(jnp.argsort(strength, stable=True), stable=True).reshape(w.shape)
    n_existing = jnp.sum(m).astype(w.dtype)
    n_remove = jnp.floor(jnp.asarray(fraction, w.dtype) * n_existing)
    return m & (rank.astype(w.dtype) >= n_remove)


def synaptogenesis(
    mask: ArrayLike, rate: ScalarLike, duration: ScalarLike, *, key: PRNGKeyArray
) -> Bool[Array, "pre post"]:
    r"""Mask after silent sites became synapses at rate $\lambda$ for $T$ seconds.

    Each silent site turns on independently with probability $1 - e^{-\lambda T}$;
    existing synapses stay.

    Args:
        mask: existing synapses, boolean, shape (pre, post).
        rate: $\lambda$ (>= 0), 1/s per silent site.
        duration: $T$ (>= 0), s.
        key: PRNG key.
    """
    _check_nonneg(rate, "rate")
    _check_nonneg(duration, "duration")
    m = check_mask(mask, mask)
    p = -jnp.expm1(-jnp.asarray(rate, float) * jnp.asarray(duration, float))
    return m | jr.bernoulli(key, p, m.shape)


class StructuralState(eqx.Module):
    """State of :class:`StructuralPlasticity`.

    Attributes:
        weights: effective weights ($0$ at silent sites), shape (pre, post).
        mask: existing synapses, boolean, shape (pre, post).
    """

    weights: Float[Array, "pre post"]
    mask: Bool[Array, "pre post"]


class StructuralPlasticity(eqx.Module):
    r"""Pruning of weak synapses followed by synaptogenesis, as an ``(init, step)`` pair.

    One :meth:`step` of length $T$: (1) remove existing synapses with $|W| < \theta$,
    then the weakest fraction $f$ of those left; (2) silent sites that were silent
    *before* the step turn on with probability $1 - e^{-\lambda T}$ at weight
    $w_\mathrm{new}$ (a synapse pruned in this step cannot regrow in the same step).
    Surviving weights pass through unchanged, so the step is differentiable in them
    and in $w_\mathrm{new}$.

    Attributes:
        threshold: $\theta$, weight unit (0: no threshold pruning).
        fraction: $f$ in [0, 1] per step (0: none).
        growth_rate: $\lambda$, 1/s per silent site (0: no synaptogenesis).
        w_new: $w_\mathrm{new}$, weight of a new synapse, weight unit (0.01).

    Example:
        >>> import jax.numpy as jnp, jax.random as jr
        >>> sp = StructuralPlasticity(threshold=0.1)
        >>> s = sp.step(sp.init(jnp.array([[0.05, 0.5]])), 1.0, key=jr.key(0))
        >>> s.mask.tolist(), s.weights.tolist()
        ([[False, True]], [[0.0, 0.5]])

    References:
        Tononi G, Cirelli C (2014) Neuron 81:12 (module docstring).
    """

    threshold: ScalarLike = 0.0
    fraction: ScalarLike = 0.0
    growth_rate: ScalarLike = 0.0
    w_new: ScalarLike = 0.01

    def __check_init__(self):
        _check_nonneg(self.threshold, "StructuralPlasticity `threshold`")
        _check_fraction(self.fraction, "StructuralPlasticity `fraction`")
        _check_nonneg(self.growth_rate, "StructuralPlasticity `growth_rate`")
        _check_nonneg(self.w_new, "StructuralPlasticity `w_new`")

    def init(
        self, weights: Float[ArrayLike, "..."], mask: ArrayLike | None = None
    ) -> StructuralState:
        """State with the given synapses (default: all sites exist)."""
        w = jnp.asarray(weights)
        if w.ndim != 2:
            raise ValueError(f"`weights` must have shape (pre, post), got {w.shape}")
        m = _full_mask(w, mask)
        return StructuralState(apply_mask(w, m), m)

    def step(self, state: StructuralState, duration: ScalarLike, *, key: PRNGKeyArray):
        """State after ``duration`` (s) of pruning and synaptogenesis."""
        _check_nonneg(duration, "duration")
        w, m = state.weights, check_mask(state.mask, state.weights, "state.mask")
        kept = prune_weakest(w, self.fraction, prune_below(w, self.threshold, m))
        grown = synaptogenesis(m, self.growth_rate, duration, key=key) & ~m
        new_w = jnp.where(grown, jnp.asarray(self.w_new, w.dtype), w)
        mask = kept | grown
        return StructuralState(apply_mask(new_w, mask), mask)


def n_synapses(mask: Bool[ArrayLike, "*batch pre post"]) -> Array:
    """Number of existing synapses (over the last two axes)."""
    return jnp.sum(jnp.asarray(mask), axis=(-2, -1))
