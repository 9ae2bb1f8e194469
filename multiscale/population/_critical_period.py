r"""Plasticity gates: a factor on the learning rate that depends on the learner's age.

A gate $g(a) \in [0, 1]$ multiplies every weight change of a trial,
$W \leftarrow W + g(a)\,\Delta W_\mathrm{rule}$, where $a$ is the learner's age in
trials. :class:`CriticalPeriod` is open early in life, closes around an onset, and can
be reopened later by a manipulation (Hensch 2005: critical periods close as inhibitory
circuits and molecular "brakes" such as perineuronal nets and myelin-associated
signals mature; they reopen in adults after e.g. fluoxetine, dark exposure, enzymatic
digestion of perineuronal nets or removal of Lynx1).

The gate acts on the weight change of the whole trial, so it is a learning-rate factor
for any rule; because it forms a convex combination of the old and the new weights
for $g \in [0, 1]$, the rule's weight bounds still hold.

This gate is scheduled by age. In :class:`~multiscale.population.BinocularCortex` the
window is instead a consequence of inhibitory maturation (opened by inhibition above a
threshold, closed by a brake), so it moves when inhibition is manipulated.

References:
    Hensch TK (2005) Critical period plasticity in local cortical circuits. Nat Rev
    Neurosci 6:877.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

_INF = float("inf")


class AbstractPlasticityGate(eqx.Module):
    """A learning-rate factor $g$ in [0, 1] as a function of the learner's age (trials)."""

    @abc.abstractmethod
    def __call__(self, trial: Real[ArrayLike, ""]) -> Float[Array, ""]:
        """Gate on trial ``trial`` (0-based) of a session."""


class CriticalPeriod(AbstractPlasticityGate):
    r"""A critical period that closes with age and can be reopened by a manipulation.

    $$g(a) = g_\infty + (1 - g_\infty)\,\max\!\big(\sigma(\tfrac{a_\mathrm{on} - a}{w}),\;
      \sigma(\tfrac{a - a_\mathrm{re}}{w})\,\sigma(\tfrac{a_\mathrm{re} + D - a}{w})\big),$$

    with $\sigma$ the logistic function and $a = a_0 + k$ on trial $k$ of a session.
    The first term is the closing critical period; the second a reopening window of
    $D$ trials starting at $a_\mathrm{re}$ (``reopen_at=inf``: never reopened).

    The ages are in trials, a time scale of ours (the biology is days to weeks; Hensch
    2005): the numbers are for ordinal demonstrations, not fitted.

    Attributes:
        onset: $a_\mathrm{on}$, age at which the gate is half closed, trials (200).
        width: $w$ (> 0), trials over which it closes (20).
        floor: $g_\infty$ in [0, 1], the adult learning-rate factor (0.1).
        reopen_at: $a_\mathrm{re}$, age at which a manipulation reopens it, trials (inf).
        reopen_duration: $D$ (> 0), trials the reopening lasts (inf: for good).
        start_age: $a_0$, the age at the first trial of the session, trials (0).

    Example:
        >>> cp = CriticalPeriod(onset=100.0, width=10.0, floor=0.1)
        >>> [round(float(cp(a)), 3) for a in (0.0, 100.0, 300.0)]
        [1.0, 0.55, 0.1]

    References:
        Hensch TK (2005) Nat Rev Neurosci 6:877.
    """

    onset: Float[ArrayLike, ""] = 200.0
    width: Float[ArrayLike, ""] = 20.0
    floor: Float[ArrayLike, ""] = 0.1
    reopen_at: Float[ArrayLike, ""] = _INF
    reopen_duration: Float[ArrayLike, ""] = _INF
    start_age: Float[ArrayLike, ""] = 0.0

    def __check_init__(self):
        for name in ("width", "reopen_duration"):
            v = getattr(self, name)
            if isinstance(v, int | float) and not v > 0:
                raise ValueError(f"CriticalPeriod `{name}` must be > 0, got {v}")
        if isinstance(self.floor, int | float) and not 0.0 <= self.floor <= 1.0:
            raise ValueError(f"CriticalPeriod `floor` must be in [0, 1], got {self.floor}")

    def __call__(self, trial: Real[ArrayLike, ""]) -> Float[Array, ""]:
        dtype = jnp.result_type(float)
        a = jnp.asarray(self.start_age, dtype) + jnp.asarray(trial, dtype)
        w = jnp.asarray(self.width, dtype)
        on, re = jnp.asarray(self.onset, dtype), jnp.asarray(self.reopen_at, dtype)
        closing = jax.nn.sigmoid((on - a) / w)
        # Written so that reopen_at = inf gives exactly 0 (no inf - inf).
        started = jax.nn.sigmoid((a - re) / w)
        ended = jax.nn.sigmoid((re - a) / w + jnp.asarray(self.reopen_duration, dtype) / w)
        floor = jnp.asarray(self.floor, dtype)
        return floor + (1 - floor) * jnp.maximum(closing, started * ended)
