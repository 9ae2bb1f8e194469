r"""Behavioral summaries per coherence, and psychometric fits by maximum likelihood.

Summaries take decisions with a leading coherence axis, ``(coherences, trials)``.
Accuracy is computed over decided trials; the fraction undecided is reported next to
it (undecided trials are never silently dropped). Psychometric fits maximise the
binomial likelihood with ``optax.lbfgs`` on unconstrained parameters (no scipy); data
whose maximum does not exist (no trials, all correct, all at chance for the Weibull,
separated data) give NaN parameters with the likelihood's supremum, never the start
values.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.scipy.special import xlogy
from jaxtyping import Array, ArrayLike, Bool, Float

from .._checks import error_if
from .._numerics import safe_log
from ._readouts import Decision, SoftDecision

QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)


class ChoiceSummary(eqx.Module):
    """Accuracy and RTs per coherence (hard readout: counts; soft readout: expectations).

    Attributes:
        coherence: coherences, fraction, shape (coherences,).
        n: trials per coherence.
        n_decided: decided trials (expected number for the soft readout).
        n_correct: correct among decided (expected number for the soft readout).
        p_correct: ``n_correct / n_decided``.
        mean_rt_correct, mean_rt_error: mean RT of correct and error trials, s (NaN if none).
        quantiles: the quantile levels of the next two fields.
        rt_quantiles_correct, rt_quantiles_error: RT quantiles, s, shape (coherences, 5)
            (NaN for the soft readout, which has no per-trial RT samples).
    """

    coherence: Float[Array, " c"]
    n: Float[Array, " c"]
    n_decided: Float[Array, " c"]
    n_correct: Float[Array, " c"]
    p_correct: Float[Array, " c"]
    mean_rt_correct: Float[Array, " c"]
    mean_rt_error: Float[Array, " c"]
    quantiles: Float[Array, " q"]
    rt_quantiles_correct: Float[Array, "c q"]
    rt_quantiles_error: Float[Array, "c q"]

    @property
    def p_undecided(self) -> Float[Array, " c"]:
        """Fraction of trials without a decision."""
        return 1.0 - self.n_decided / self.n


def _masked_mean(x: Array, mask: Array) -> Array:
    total = jnp.sum(jnp.where(mask, x, 0.0), axis=-1)
    count = jnp.sum(mask, axis=-1).astype(x.dtype)
    return jnp.where(count > 0, total / jnp.maximum(count, 1.0), jnp.nan)


def summarize(decisions: Decision, coherence: Float[Array, " c"]) -> ChoiceSummary:
    """Summary of hard decisions with shape (coherences, trials)."""
    if decisions.choice.ndim != 2 or decisions.choice.shape[0] != coherence.shape[0]:
        raise ValueError(
            "`decisions` must have shape (coherences, trials) matching `coherence`, got "
            f"{decisions.choice.shape} and {coherence.shape}"
        )
    dtype = decisions.rt.dtype
    decided, correct = decisions.decided, decisions.correct
    error = decided & ~correct
    n_decided = jnp.sum(decided, axis=-1).astype(dtype)
    n_correct = jnp.sum(correct, axis=-1).astype(dtype)
    q = jnp.asarray(QUANTILES, dtype)
    quant = lambda m: jnp.nanquantile(jnp.where(m, decisions.rt, jnp.nan), q, axis=-1).T
    return ChoiceSummary(
        coherence=coherence.astype(dtype),
        n=jnp.full(coherence.shape, decisions.choice.shape[1], dtype),
        n_decided=n_decided,
        n_correct=n_correct,
        p_correct=n_correct / n_decided,
        mean_rt_correct=_masked_mean(decisions.rt, correct),
        mean_rt_error=_masked_mean(decisions.rt, error),
        quantiles=q,
        rt_quantiles_correct=quant(correct),
        rt_quantiles_error=quant(error),
    )


def summarize_soft(decisions: SoftDecision, coherence: Float[Array, " c"]) -> ChoiceSummary:
    """Expected summary of soft decisions with shape (coherences, trials); differentiable."""
    p = decisions.p_choice
    if p.ndim != 3 or p.shape[0] != coherence.shape[0]:
        raise ValueError(
            "`decisions` must have shape (coherences, trials) matching `coherence`, got "
            f"{p.shape[:-1]} and {coherence.shape}"
        )
    dtype = p.dtype
    rt = decisions.mean_decision_time + decisions.non_decision_time[..., None]
    rt = jnp.where(p > 0, rt, 0.0)
    mass = jnp.sum(p, axis=1)
    mean_rt = jnp.sum(p * rt, axis=1) / mass
    nan = jnp.full((coherence.shape[0], len(QUANTILES)), jnp.nan, dtype)
    return ChoiceSummary(
        coherence=coherence.astype(dtype),
        n=jnp.full(coherence.shape, p.shape[1], dtype),
        n_decided=jnp.sum(mass, axis=-1),
        n_correct=mass[:, 0],
        p_correct=mass[:, 0] / jnp.sum(mass, axis=-1),
        mean_rt_correct=mean_rt[:, 0],
        mean_rt_error=mean_rt[:, 1],
        quantiles=jnp.asarray(QUANTILES, dtype),
        rt_quantiles_correct=nan,
        rt_quantiles_error=nan,
    )


class WeibullFit(eqx.Module):
    r"""Weibull psychometric function $p(c) = 1 - \tfrac12 e^{-(c/\alpha)^\beta}$.

    Attributes:
        alpha: threshold $\alpha$ (82 % correct), same unit as the coherence (fraction).
        beta: slope $\beta$ (dimensionless).
        neg_log_likelihood: binomial negative log-likelihood at the optimum.
        identified: False where the data have no maximum-likelihood fit (no trials, all
            correct, all at chance, separated); ``alpha`` and ``beta`` are then NaN (see
            :func:`fit_weibull`).
    """

    alpha: Float[Array, ""]
    beta: Float[Array, ""]
    neg_log_likelihood: Float[Array, ""]
    identified: Bool[Array, ""] | bool = True

    def __call__(self, c: Float[Array, "*s"]) -> Float[Array, "*s"]:
        """P(correct) at coherence ``c`` (fraction)."""
        return 1.0 - 0.5 * jnp.exp(-((jnp.maximum(c, 0.0) / self.alpha) ** self.beta))


class LogisticFit(eqx.Module):
    r"""Logistic psychometric function $p(c) = 1 / (1 + e^{-(\beta_0 + \beta_1 c)})$.

    Fitted to P(correct) against unsigned coherence, $\beta_0 \approx 0$ (chance at 0).

    Attributes:
        bias: $\beta_0$. slope: $\beta_1$ (per unit coherence).
        neg_log_likelihood: at the optimum.
        identified: False where the data have no maximum-likelihood fit (no trials,
            separated); ``bias`` and ``slope`` are then NaN (see :func:`fit_logistic`).
    """

    bias: Float[Array, ""]
    slope: Float[Array, ""]
    neg_log_likelihood: Float[Array, ""]
    identified: Bool[Array, ""] | bool = True

    def __call__(self, c: Float[Array, "*s"]) -> Float[Array, "*s"]:
        """P(correct) (or P(choice 1) for signed coherence) at ``c``."""
        return jax.nn.sigmoid(self.bias + self.slope * c)


def _binomial_nll(p: Array, k: Array, n: Array) -> Array:
    return -jnp.sum(k * safe_log(p) + (n - k) * safe_log(1.0 - p))


def _saturated_nll(p: Array, k: Array, n: Array) -> Array:
    r"""Binomial NLL with $0 \log 0 = 0$: the infimum a non-identified fit approaches."""
    return -jnp.sum(xlogy(k, p) + xlogy(n - k, 1.0 - p))


def _minimize(f, x0: Array, n_steps: int) -> tuple[Array, Array]:
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    def body(carry, _):
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=f)
        return (optax.apply_updates(x, updates), state), value

    (x, _), _ = jax.lax.scan(body, (x0, opt.init(x0)), None, length=n_steps)
    return x, f(x)


def _counts(coherence, n_correct, n_total):
    """Validated float arrays (c, k, n): one shape (levels,), counts 0 <= k <= n, finite."""
    dtype = jnp.result_type(float)
    c, k, n = (jnp.asarray(a, dtype) for a in (coherence, n_correct, n_total))
    if c.ndim != 1 or k.shape != c.shape or n.shape != c.shape:
        raise ValueError(
            "`coherence`, `n_correct` and `n_total` must be 1-D with one shape (levels,), "
            f"got {c.shape}, {k.shape} and {n.shape}"
        )
    c = error_if(c, ~jnp.isfinite(c), "`coherence` must be finite")
    n = error_if(n, ~(jnp.isfinite(n) & (n >= 0)), "`n_total` must be finite and >= 0")
    k = error_if(
        k, ~(jnp.isfinite(k) & (k >= 0) & (k <= n)), "`n_correct` must lie in [0, n_total]"
    )
    return c, k, n


def _split_patterns(c: Array, k: Array, n: Array, low, high, skip_middle: bool) -> Array:
    """True if, with levels sorted by c, some split puts every level below it in ``low``
    and every level above it in ``high`` (levels without trials fit either side).

    With ``skip_middle`` one level at the split may be anything (quasi-separation).
    """
    order = jnp.argsort(c)
    has = (n > 0)[order]
    lo_ok = ~has | low[order]
    hi_ok = ~has | high[order]
    m = c.shape[0]
    # prefix[j]: levels < j all low; suffix[j]: levels >= j all high (j = 0..m).
    prefix = jnp.concatenate([jnp.ones((1,), bool), jnp.cumprod(lo_ok).astype(bool)])
    suffix = jnp.concatenate([jnp.cumprod(hi_ok[::-1])[::-1].astype(bool), jnp.ones((1,), bool)])
    split = jnp.any(prefix & suffix)
    if skip_middle and m > 0:
        split = split | jnp.any(prefix[:-1] & suffix[1:])
    return split


def _n_levels(c: Array, n: Array, where: Array) -> Array:
    """Number of distinct values of ``c`` among the levels selected by ``where``."""
    x = jnp.sort(jnp.where(where, c, jnp.inf))
    new = jnp.isfinite(x) & jnp.concatenate([jnp.ones((1,), bool), x[1:] != x[:-1]])
    return jnp.sum(new)


def fit_weibull(
    coherence: Float[ArrayLike, " c"],
    n_correct: Float[ArrayLike, " c"],
    n_total: Float[ArrayLike, " c"],
    *,
    n_steps: int = 100,
) -> WeibullFit:
    r"""Maximum-likelihood Weibull fit to counts of correct choices (coherence as a fraction).

    The fit is identified only when at least two positive coherences have trials and
    the data are not separated: no split of the sorted positive coherences has every
    level below it at or under chance ($k \le n/2$) and every level above it all correct
    ($k = n$). That covers no data, all correct (the maximum is at $\alpha \to 0$) and
    all at chance ($\alpha \to \infty$). In those cases ``identified`` is False,
    ``alpha`` and ``beta`` are NaN (never the optimiser's start values) and
    ``neg_log_likelihood`` is the infimum that the fit approaches: the binomial NLL
    at $p = \min(\max(k/n, 1/2), 1)$ for $c > 0$ and $p = 1/2$ at $c \le 0$.

    Args:
        coherence: coherence of each level, fraction.
        n_correct, n_total: counts per level (0 <= n_correct <= n_total).
        n_steps: L-BFGS steps.
    """
    c, k, n = _counts(coherence, n_correct, n_total)
    dtype = c.dtype

    def nll(x):
        model = WeibullFit(jnp.exp(x[0]), jnp.exp(x[1]), jnp.zeros((), dtype))
        return _binomial_nll(model(c), k, n)

    x, value = _minimize(nll, jnp.log(jnp.asarray([0.1, 1.3], dtype)), n_steps)
    positive = (c > 0) & (n > 0)
    at_chance = k <= n / 2.0
    separated = _split_patterns(
        jnp.where(positive, c, jnp.inf), k, jnp.where(positive, n, 0.0),
        at_chance, k >= n, skip_middle=False,
    )  # fmt: skip
    identified = (_n_levels(c, n, positive) >= 2) & ~separated
    p_limit = jnp.where(c > 0, jnp.clip(k / jnp.maximum(n, 1.0), 0.5, 1.0), 0.5)
    nan = jnp.full((), jnp.nan, dtype)
    return WeibullFit(
        jnp.where(identified, jnp.exp(x[0]), nan),
        jnp.where(identified, jnp.exp(x[1]), nan),
        jnp.where(identified, value, _saturated_nll(p_limit, k, n)),
        identified,
    )


def fit_logistic(
    coherence: Float[ArrayLike, " c"],
    n_correct: Float[ArrayLike, " c"],
    n_total: Float[ArrayLike, " c"],
    *,
    n_steps: int = 100,
) -> LogisticFit:
    r"""Maximum-likelihood logistic fit to counts (P(correct), or P(choice 1) if signed).

    The maximum exists only when at least two coherences have trials and the data are
    not (quasi-)separated: no split of the sorted coherences has every level below it
    with $k = 0$ and every level above it with $k = n$ (or the reverse), one level at the
    split being free. That covers no data and all correct. In those cases ``identified``
    is False, ``bias`` and ``slope`` are NaN and ``neg_log_likelihood`` is the infimum
    the fit approaches, the saturated binomial NLL at $p = k/n$. Data at chance
    everywhere are identified (slope 0).

    Args:
        coherence: coherence of each level (fraction; signed for P(choice 1)).
        n_correct, n_total: counts per level (0 <= n_correct <= n_total).
        n_steps: L-BFGS steps.
    """
    c, k, n = _counts(coherence, n_correct, n_total)
    dtype = c.dtype

    def nll(x):
        return _binomial_nll(jax.nn.sigmoid(x[0] + x[1] * c), k, n)

    x, value = _minimize(nll, jnp.asarray([0.0, 10.0], dtype), n_steps)
    none, all_ = k <= 0, k >= n
    separated = _split_patterns(c, k, n, none, all_, skip_middle=True) | _split_patterns(
        c, k, n, all_, none, skip_middle=True
    )
    identified = (_n_levels(c, n, n > 0) >= 2) & ~separated
    nan = jnp.full((), jnp.nan, dtype)
    saturated = _saturated_nll(k / jnp.maximum(n, 1.0), k, n)
    return LogisticFit(
        jnp.where(identified, x[0], nan),
        jnp.where(identified, x[1], nan),
        jnp.where(identified, value, saturated),
        identified,
    )


class Chronometric(eqx.Module):
    """Mean correct and error RT per coherence, s, with the trial counts behind each."""

    coherence: Float[Array, " c"]
    mean_rt_correct: Float[Array, " c"]
    mean_rt_error: Float[Array, " c"]
    n_correct: Float[Array, " c"]
    n_error: Float[Array, " c"]


def chronometric(summary: ChoiceSummary) -> Chronometric:
    """The chronometric curve of a :class:`ChoiceSummary`."""
    return Chronometric(
        summary.coherence,
        summary.mean_rt_correct,
        summary.mean_rt_error,
        summary.n_correct,
        summary.n_decided - summary.n_correct,
    )


def psychometric(summary: ChoiceSummary, *, n_steps: int = 100) -> WeibullFit:
    """Weibull fit to a :class:`ChoiceSummary` (decided trials only); see :func:`fit_weibull`.

    ``identified`` False, NaN ``alpha`` and ``beta``, when no trial decided or the fit is
    not identified.
    """
    return fit_weibull(summary.coherence, summary.n_correct, summary.n_decided, n_steps=n_steps)
