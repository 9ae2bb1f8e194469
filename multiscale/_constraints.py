r"""Parameter constraints declared on a model's fields, used by ``multiscale.fit``.

A field declares its domain with ``eqx.field(metadata=constraint(Positive()))``; the
fitting loop optimises the unconstrained value $u$ and builds the model from
$x = T(u)$ (:func:`to_unconstrained` / :func:`to_constrained`). Kept at the top level
(like ``_numerics``) because models of every scale declare constraints while the
optimiser lives in ``multiscale.fit``, which the scales may not import.
"""

import abc
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from ._numerics import softplus_inverse

_KEY = "constraint"


class AbstractTransform(eqx.Module):
    """A bijection from the real line onto a parameter's domain."""

    @abc.abstractmethod
    def forward(self, u: ArrayLike) -> Array:
        """Unconstrained value -> parameter value."""

    @abc.abstractmethod
    def inverse(self, x: ArrayLike) -> Array:
        """Parameter value -> unconstrained value."""

    @abc.abstractmethod
    def log_det_jacobian(self, u: ArrayLike) -> Array:
        r"""$\log |dx/du|$ at ``u``, elementwise (the change-of-variables term of a density
        over $u$, e.g. a prior declared on $x$)."""


class Real(AbstractTransform):
    """No constraint: $x = u$."""

    def forward(self, u: ArrayLike) -> Array:
        return jnp.asarray(u)

    def inverse(self, x: ArrayLike) -> Array:
        return jnp.asarray(x)

    def log_det_jacobian(self, u: ArrayLike) -> Array:
        return jnp.zeros_like(jnp.asarray(u))


class Positive(AbstractTransform):
    r"""$x = \mathrm{lower} + \mathrm{softplus}(u) > \mathrm{lower}$ (default lower = 0)."""

    lower: float = 0.0

    def forward(self, u: ArrayLike) -> Array:
        return self.lower + jax.nn.softplus(jnp.asarray(u))

    def inverse(self, x: ArrayLike) -> Array:
        y = jnp.asarray(x) - self.lower
        # A parameter sitting exactly on its bound (e.g. sv = 0) maps to a large negative u.
        return softplus_inverse(jnp.maximum(y, 1e-6))

    def log_det_jacobian(self, u: ArrayLike) -> Array:
        # d softplus / du = sigmoid(u); log sigmoid(u) = -softplus(-u), stable both ways.
        return -jax.nn.softplus(-jnp.asarray(u))


class LogScale(AbstractTransform):
    r"""$x = \mathrm{scale}\, e^u > 0$: a positive parameter optimised as $u = \log(x /
    \mathrm{scale})$, so a step in $u$ is a relative change of $x$ whatever its units
    (5e-4 nA/Hz and 15 Hz move alike; the scaling of the circuit fits).

    Example:
        >>> t = LogScale(2e-4)
        >>> float(t.inverse(2e-4)), round(float(t.forward(0.1)) / 2e-4, 4)
        (0.0, 1.1052)
    """

    scale: float = 1.0

    def __check_init__(self):
        if not self.scale > 0:
            raise ValueError(f"LogScale needs scale > 0, got {self.scale}")

    def forward(self, u: ArrayLike) -> Array:
        return self.scale * jnp.exp(jnp.asarray(u))

    def inverse(self, x: ArrayLike) -> Array:
        return jnp.log(jnp.asarray(x) / self.scale)

    def log_det_jacobian(self, u: ArrayLike) -> Array:
        u = jnp.asarray(u)
        return jnp.log(jnp.asarray(self.scale, u.dtype)) + u


class Bounded(AbstractTransform):
    r"""$x = \mathrm{low} + (\mathrm{high} - \mathrm{low})\, \sigma(u)$, in (low, high)."""

    low: float
    high: float

    def __check_init__(self):
        if not self.high > self.low:
            raise ValueError(f"Bounded needs high > low, got low={self.low}, high={self.high}")

    def forward(self, u: ArrayLike) -> Array:
        return self.low + (self.high - self.low) * jax.nn.sigmoid(jnp.asarray(u))

    def inverse(self, x: ArrayLike) -> Array:
        p = (jnp.asarray(x) - self.low) / (self.high - self.low)
        p = jnp.clip(p, 1e-6, 1.0 - 1e-6)
        return jnp.log(p) - jnp.log1p(-p)

    def log_det_jacobian(self, u: ArrayLike) -> Array:
        # dx/du = (high - low) sigmoid(u) sigmoid(-u).
        u = jnp.asarray(u)
        width = jnp.log(jnp.asarray(self.high - self.low, u.dtype))
        return width - jax.nn.softplus(-u) - jax.nn.softplus(u)


def constraint(transform: AbstractTransform) -> dict:
    """Field metadata declaring a constraint: ``eqx.field(metadata=constraint(Positive()))``."""
    return {_KEY: transform}


def _is_array(x) -> bool:
    return eqx.is_inexact_array(x)


def _map(tree, fn_name: str):
    if not isinstance(tree, eqx.Module):
        return tree
    names, values = [], []
    for f in dataclasses.fields(tree):
        if f.metadata.get("static", False):
            continue
        value = getattr(tree, f.name)
        transform = f.metadata.get(_KEY)
        if transform is not None and _is_array(value):
            new = getattr(transform, fn_name)(value).astype(value.dtype)
        elif isinstance(value, eqx.Module):
            new = _map(value, fn_name)
        else:
            continue
        names.append(f.name)
        values.append(new)
    if not names:
        return tree
    return eqx.tree_at(lambda m: [getattr(m, n) for n in names], tree, values)


def to_unconstrained(model):
    """Replace every constrained array field by its unconstrained value $u = T^{-1}(x)$."""
    return _map(model, "inverse")


def to_constrained(model):
    """Inverse of :func:`to_unconstrained`: $x = T(u)$ for every constrained array field."""
    return _map(model, "forward")
