r"""Decision bounds $\pm B(t)$ of the generalised drift-diffusion model, constant or collapsing.

A bound is an object: ``GDDM(bound=WeibullCollapse(B=1.2, lam=0.8, k=3.0, c=0.2))``. Each
returns the half-width $B(t)$ of the symmetric corridor $[-B(t), B(t)]$ in units of the
decision variable (with noise $\sigma = 1$, $\sqrt{\mathrm{s}}$; a DDM with boundary
separation $a$ has $B = a / 2$). Every bound here is non-increasing and starts at $B$; its
fields carry constraints, so ``multiscale.fit`` can fit them.

Collapsing bounds implement the idea that waiting costs time, so the evidence needed for
a choice falls as the trial goes on (Drugowitsch et al. 2012, J Neurosci 32:3612; Hawkins
et al. 2015, J Neurosci 35:2476, who fitted the Weibull form below).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, error_if
from .._constraints import Bounded, Positive
from ._model_fields import FLOAT, concrete_or_none, param


class AbstractBound(eqx.Module):
    """A bound $B(t) \\ge 0$ (decision-variable units) on $[0, \\infty)$, non-increasing."""

    @abc.abstractmethod
    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        """$B(t)$ at times ``t`` (s)."""

    @abc.abstractmethod
    def check(self) -> "AbstractBound":
        """The bound with its field values checked where used (``eqx.error_if``, under ``jit``)."""


_CONSTANTBOUND = Constraints(positive=("B",))


class ConstantBound(AbstractBound):
    r"""$B(t) = B$: the bounds of the standard DDM ($a = 2B$).

    Attributes:
        B: half-width of the corridor, decision-variable units (> 0).

    Example:
        >>> import multiscale as ms
        >>> float(ms.behavior.ConstantBound(B=0.7)(2.0))
        0.7
    """

    B: FLOAT = param(Positive(), 1.0)

    def __check_init__(self):
        check_fields("ConstantBound", self, _CONSTANTBOUND)

    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        t = jnp.asarray(t)
        return jnp.broadcast_to(self.B, t.shape).astype(t.dtype)

    def check(self) -> "ConstantBound":
        return checked("ConstantBound", self, _CONSTANTBOUND)


_LINEARCOLLAPSE = Constraints(positive=("B",), nonnegative=("slope",))


class LinearCollapse(AbstractBound):
    r"""$B(t) = \max(B - s\,t,\ 0)$: a linear collapse that reaches 0 at $t = B / s$.

    The form of PyDDM's ``BoundCollapsingLinear`` (Shinn, Lam & Murray 2020, eLife
    9:e56938). Once the corridor has closed every remaining trial has responded.

    Attributes:
        B: bound at $t = 0$, decision-variable units (> 0).
        slope: collapse rate $s$, decision-variable units per second (>= 0).

    Example:
        >>> import multiscale as ms
        >>> float(ms.behavior.LinearCollapse(B=1.0, slope=0.5)(1.0))
        0.5
    """

    B: FLOAT = param(Positive(), 1.0)
    slope: FLOAT = param(Positive(), 0.5)

    def __check_init__(self):
        check_fields("LinearCollapse", self, _LINEARCOLLAPSE)

    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        t = jnp.asarray(t)
        return jnp.maximum(self.B - self.slope * t, 0.0).astype(t.dtype)

    def check(self) -> "LinearCollapse":
        return checked("LinearCollapse", self, _LINEARCOLLAPSE)


_EXPONENTIALCOLLAPSE = Constraints(positive=("B", "tau"))


class ExponentialCollapse(AbstractBound):
    r"""$B(t) = B\, e^{-t/\tau}$.

    PyDDM's ``BoundCollapsingExponential`` with its rate written as a time constant
    (PyDDM ``tau`` = $1/\tau$ here).

    Attributes:
        B: bound at $t = 0$, decision-variable units (> 0).
        tau: time constant of the collapse, s (> 0).
    """

    B: FLOAT = param(Positive(), 1.0)
    tau: FLOAT = param(Positive(), 1.0)

    def __check_init__(self):
        check_fields("ExponentialCollapse", self, _EXPONENTIALCOLLAPSE)

    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        t = jnp.asarray(t)
        return (self.B * jnp.exp(-t / self.tau)).astype(t.dtype)

    def check(self) -> "ExponentialCollapse":
        return checked("ExponentialCollapse", self, _EXPONENTIALCOLLAPSE)


_HYPERBOLICCOLLAPSE = Constraints(positive=("B", "t_half"), fraction=("kappa",))


class HyperbolicCollapse(AbstractBound):
    r"""Hyperbolic-ratio collapse: $B(t) = B\,[1 - \kappa\, t / (t + t_{1/2})]$.

    The bound falls by the fraction $\kappa$ in all, half of it by $t = t_{1/2}$, towards
    the asymptote $(1 - \kappa) B$.

    Attributes:
        B: bound at $t = 0$, decision-variable units (> 0).
        kappa: fraction of the bound lost as $t \to \infty$, in [0, 1].
        t_half: time at which half of the collapse has happened, s (> 0).

    Example:
        >>> import multiscale as ms
        >>> float(ms.behavior.HyperbolicCollapse(B=1.0, kappa=0.5, t_half=0.4)(0.4))
        0.75
    """

    B: FLOAT = param(Positive(), 1.0)
    kappa: FLOAT = param(Bounded(0.0, 1.0), 0.5)
    t_half: FLOAT = param(Positive(), 0.5)

    def __check_init__(self):
        check_fields("HyperbolicCollapse", self, _HYPERBOLICCOLLAPSE)

    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        t = jnp.asarray(t)
        return (self.B * (1.0 - self.kappa * t / (t + self.t_half))).astype(t.dtype)

    def check(self) -> "HyperbolicCollapse":
        return checked("HyperbolicCollapse", self, _HYPERBOLICCOLLAPSE)


_WEIBULLCOLLAPSE = Constraints(positive=("B", "lam"), fraction=("c",))
_K_MESSAGE = (
    "WeibullCollapse `k` must be >= 1 (a shape below 1 collapses infinitely fast at t = 0); "
    "use ExponentialCollapse for a fast early collapse"
)


class WeibullCollapse(AbstractBound):
    r"""Weibull collapse of Hawkins et al. (2015).

    $$B(t) = B\,\{1 - (1 - c)\,[1 - e^{-(t/\lambda)^k}]\}$$

    The bound falls from $B$ to the asymptote $c B$ along a Weibull cumulative
    distribution of scale $\lambda$ and shape $k$: late and abrupt for large $k$, early
    and gradual for $k$ near 1. Shapes below 1 collapse infinitely fast at $t = 0$, which
    a Fokker–Planck solver on a finite time grid cannot represent, so $k \ge 1$.

    Attributes:
        B: bound at $t = 0$, decision-variable units (> 0).
        lam: scale $\lambda$ of the collapse, s (> 0).
        k: shape of the collapse (>= 1).
        c: asymptotic bound as a fraction of $B$, in [0, 1].

    References:
        Hawkins GE, Forstmann BU, Wagenmakers E-J, Ratcliff R, Brown SD (2015) Revisiting
        the evidence for collapsing boundaries and urgency signals in perceptual
        decision-making. J Neurosci 35:2476-2484.
    """

    B: FLOAT = param(Positive(), 1.0)
    lam: FLOAT = param(Positive(), 1.0)
    k: FLOAT = param(Positive(lower=1.0), 3.0)
    c: FLOAT = param(Bounded(0.0, 1.0), 0.5)

    def __check_init__(self):
        check_fields("WeibullCollapse", self, _WEIBULLCOLLAPSE)
        k = concrete_or_none(self.k)
        if k is not None and not np.all(k >= 1.0):
            raise ValueError(_K_MESSAGE + f", got {k}")

    def __call__(self, t: Float[ArrayLike, "*time"]) -> Float[Array, "*time"]:
        t = jnp.asarray(t)
        # "Double where": (t / lam)^k at t = 0 has a NaN gradient in k (0 * log 0).
        positive = t > 0
        ratio = jnp.where(positive, t / self.lam, 1.0)
        collapsed = jnp.where(positive, -jnp.expm1(-(ratio**self.k)), 0.0)
        return (self.B * (1.0 - (1.0 - self.c) * collapsed)).astype(t.dtype)

    def check(self) -> "WeibullCollapse":
        bound = checked("WeibullCollapse", self, _WEIBULLCOLLAPSE)
        k = jnp.asarray(bound.k)
        k = error_if(k, ~(k >= 1.0), _K_MESSAGE)
        return eqx.tree_at(lambda b: b.k, bound, k)
