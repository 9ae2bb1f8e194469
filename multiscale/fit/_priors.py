r"""Prior distributions for Bayesian fits: log densities, draws and their natural transforms.

Each prior is an immutable Module with ``log_prob(x)`` (elementwise, in the parameter's
own units) and ``sample(key, shape)``, and names the bijection from the real line onto its
support (:meth:`AbstractPrior.transform`), which :func:`~multiscale.fit.sample_posterior`
uses to sample on the real line with the correct log-Jacobian. Densities are those of
:mod:`jax.scipy.stats`.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax.scipy import stats
from jaxtyping import Array, ArrayLike, PRNGKeyArray

from .._constraints import AbstractTransform, Bounded, Positive, Real


def _positive(owner: str, **values) -> None:
    for name, v in values.items():
        if not float(v) > 0:
            raise ValueError(f"{owner} `{name}` must be > 0, got {v}")


class AbstractPrior(eqx.Module):
    """A prior over one parameter (applied elementwise to an array leaf)."""

    @abc.abstractmethod
    def log_prob(self, x: ArrayLike) -> Array:
        """Log density at ``x``, elementwise (in the units of the parameter)."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, shape: tuple[int, ...] = ()) -> Array:
        """Draws of the given shape."""

    @abc.abstractmethod
    def transform(self) -> AbstractTransform:
        """The bijection from the real line onto the prior's support."""


class Normal(AbstractPrior):
    """$\\mathcal N(\\mathrm{loc}, \\mathrm{scale}^2)$ on the real line."""

    loc: float = 0.0
    scale: float = 1.0

    def __check_init__(self):
        _positive("Normal", scale=self.scale)

    def log_prob(self, x):
        return stats.norm.logpdf(jnp.asarray(x), self.loc, self.scale)

    def sample(self, key, shape=()):
        return self.loc + self.scale * jr.normal(key, shape)

    def transform(self):
        return Real()


class HalfNormal(AbstractPrior):
    """A normal of width ``scale`` folded onto $x > 0$."""

    scale: float = 1.0

    def __check_init__(self):
        _positive("HalfNormal", scale=self.scale)

    def log_prob(self, x):
        x = jnp.asarray(x)
        lp = jnp.log(2.0) + stats.norm.logpdf(x, 0.0, self.scale)
        return jnp.where(x > 0, lp, -jnp.inf)

    def sample(self, key, shape=()):
        return self.scale * jnp.abs(jr.normal(key, shape))

    def transform(self):
        return Positive()


class LogNormal(AbstractPrior):
    r"""$\log x \sim \mathcal N(\mu, \sigma^2)$, $x > 0$ (``mu`` is the log of the median)."""

    mu: float = 0.0
    sigma: float = 1.0

    def __check_init__(self):
        _positive("LogNormal", sigma=self.sigma)

    def log_prob(self, x):
        x = jnp.asarray(x)
        safe = jnp.where(x > 0, x, 1.0)
        lp = stats.norm.logpdf(jnp.log(safe), self.mu, self.sigma) - jnp.log(safe)
        return jnp.where(x > 0, lp, -jnp.inf)

    def sample(self, key, shape=()):
        return jnp.exp(self.mu + self.sigma * jr.normal(key, shape))

    def transform(self):
        return Positive()


class Gamma(AbstractPrior):
    """Gamma with shape ``concentration`` and ``rate`` (mean concentration / rate), $x > 0$."""

    concentration: float = 2.0
    rate: float = 1.0

    def __check_init__(self):
        _positive("Gamma", concentration=self.concentration, rate=self.rate)

    def log_prob(self, x):
        x = jnp.asarray(x)
        lp = stats.gamma.logpdf(jnp.where(x > 0, x, 1.0), self.concentration, scale=1 / self.rate)
        return jnp.where(x > 0, lp, -jnp.inf)

    def sample(self, key, shape=()):
        return jr.gamma(key, self.concentration, shape) / self.rate

    def transform(self):
        return Positive()


class Uniform(AbstractPrior):
    """Uniform on ``(low, high)``."""

    low: float = 0.0
    high: float = 1.0

    def __check_init__(self):
        if not self.high > self.low:
            raise ValueError(f"Uniform needs high > low, got low={self.low}, high={self.high}")

    def log_prob(self, x):
        x = jnp.asarray(x)
        inside = (x > self.low) & (x < self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low), -jnp.inf)

    def sample(self, key, shape=()):
        return jr.uniform(key, shape, minval=self.low, maxval=self.high)

    def transform(self):
        return Bounded(self.low, self.high)


class Beta(AbstractPrior):
    """Beta(``a``, ``b``) on ``(low, high)`` (default the unit interval), e.g. a start point."""

    a: float = 2.0
    b: float = 2.0
    low: float = 0.0
    high: float = 1.0

    def __check_init__(self):
        _positive("Beta", a=self.a, b=self.b)
        if not self.high > self.low:
            raise ValueError(f"Beta needs high > low, got low={self.low}, high={self.high}")

    def log_prob(self, x):
        width = self.high - self.low
        y = (jnp.asarray(x) - self.low) / width
        inside = (y > 0) & (y < 1)
        lp = stats.beta.logpdf(jnp.where(inside, y, 0.5), self.a, self.b) - jnp.log(width)
        return jnp.where(inside, lp, -jnp.inf)

    def sample(self, key, shape=()):
        return self.low + (self.high - self.low) * jr.beta(key, self.a, self.b, shape)

    def transform(self):
        return Bounded(self.low, self.high)


def prior_log_prob(prior: AbstractPrior, x) -> Array:
    """The summed log prior of an array leaf (a scalar)."""
    return jnp.sum(prior.log_prob(x))
