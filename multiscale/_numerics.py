"""Numerically safe primitives, kept in one place so model code never clips ad hoc.

Each function documents the failure it prevents, in the value or in the gradient.
"""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike


def exprel(x: ArrayLike) -> Array:
    r"""$x / (1 - e^{-x})$, finite at $x = 0$ in value and in gradient.

    This is the HH "vtrap" and the Abbott–Chance / Wong–Wang transfer function
    $H(x) = (a x - b) / (1 - e^{-d (a x - b)})$ with $u = a x - b$:
    $H = \mathrm{exprel}(d u) / d$. The naive quotient is 0/0 at $u = 0$, and its
    gradient is NaN there even under ``jnp.where`` (both branches are differentiated),
    so the removable singularity is replaced by its Taylor series
    $1 + x/2 + x^2/12$ on $|x| < 10^{-3}$ with a "double where" that keeps the
    unused branch's input away from zero.
    """
    x = jnp.asarray(x)
    small = jnp.abs(x) < 1e-3
    safe_x = jnp.where(small, jnp.ones_like(x), x)
    full = safe_x / -jnp.expm1(-safe_x)
    series = 1.0 + x / 2.0 + x * x / 12.0
    return jnp.where(small, series, full)


def softplus_inverse(y: ArrayLike) -> Array:
    r"""Inverse of $\log(1 + e^x)$ for $y > 0$, stable for large and small $y$.

    Used to initialise unconstrained parameters whose positive value is
    ``jax.nn.softplus(raw)``. For $y > 20$ the softplus is the identity to float32
    precision; for small $y$, $\log(\mathrm{expm1}(y))$ avoids cancellation.
    """
    y = jnp.asarray(y)
    return jnp.where(y > 20.0, y, jnp.log(jnp.expm1(jnp.minimum(y, 20.0))))


def exp_euler_decay(x: ArrayLike, target: ArrayLike, dt: ArrayLike, tau: ArrayLike) -> Array:
    r"""Exact update of $\tau \dot x = \mathrm{target} - x$ over a step ``dt``.

    ``dt`` and ``tau`` in the same units.

    $x \leftarrow \mathrm{target} + (x - \mathrm{target}) e^{-dt/\tau}$. Unlike forward
    Euler it is stable for any ``dt/tau`` and exact for a piecewise-constant target,
    which is what the exponential-Euler circuit integrators rely on.
    """
    decay = jnp.exp(-jnp.asarray(dt) / jnp.asarray(tau))
    return target + (jnp.asarray(x) - target) * decay


def safe_log(x: ArrayLike, floor: float = 1e-30) -> Array:
    """``log(max(x, floor))``: finite for zero probabilities, with zero gradient below ``floor``."""
    return jnp.log(jnp.maximum(jnp.asarray(x), floor))
