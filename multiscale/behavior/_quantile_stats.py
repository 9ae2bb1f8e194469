r"""Quantile-based fit statistics of Ratcliff & Tuerlinckx (2002): $G^2$ and $\chi^2$.

For each condition and each response, the observed RTs are cut at their quantiles
(default .1, .3, .5, .7, .9), giving six bins per response that hold (about) 10, 20, 20,
20, 20 and 10 % of that response's trials. The model predicts the probability of each
bin, $p_{crb} = F_{cr}(q_{cr,b}) - F_{cr}(q_{cr,b-1})$, from its defective cumulative
distribution $F_{cr}(t) = P(\text{response } r,\ RT \le t \mid c)$, whose last bin runs to
infinity so that the bins of both responses sum to one. With $O_{crb}$ the observed
counts and $N_c$ the trials of condition $c$,

$$G^2 = 2 \sum_{c,r,b} O_{crb} \log\frac{O_{crb}}{N_c\,p_{crb}}, \qquad
  \chi^2 = \sum_{c,r,b} \frac{(O_{crb} - N_c p_{crb})^2}{N_c\,p_{crb}}.$$

A response with fewer than ``min_count`` trials in a condition contributes one bin (its
count only), as Ratcliff & Tuerlinckx recommend for sparse error responses. Both
statistics are approximately $\chi^2$-distributed with (bins − conditions − free
parameters) degrees of freedom at the true parameters, are differentiable in the
model's parameters, and are robust to a few outlying RTs (they only move a count by one
bin).

The model's $F$ is :func:`ddm_defective_cdf`: the first-passage CDF series (exact in
the drift variability and the non-decision time's onset), averaged over the start point
and the non-decision time; the uniform contaminant's share is added in closed form.

References:
    Ratcliff R, Tuerlinckx F (2002) Estimating parameters of the diffusion model:
    approaches to dealing with contaminant reaction times and parameter variability.
    Psychon Bull Rev 9:438-481.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._choice_rt import Trials
from ._ddm import AbstractDDM, ddm_parameters
from ._ddm_variability import is_zero, log_decision_increment

DEFAULT_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)


class QuantileBins(eqx.Module):
    """Observed RT-quantile bins per condition and response (build with :func:`quantile_bins`).

    Attributes:
        condition: condition values, shape (conditions,).
        edges: quantile cut points, s, shape (conditions, 2, quantiles); ``+inf`` for a
            response with too few trials (its counts then sit in the first bin).
        counts: observed trials per bin, shape (conditions, 2, quantiles + 1); response
            index 0 is choice 0 (lower boundary), 1 is choice 1.
        n: trials per condition, shape (conditions,).
    """

    condition: Float[Array, " c"]
    edges: Float[Array, "c 2 q"]
    counts: Float[Array, "c 2 b"]
    n: Float[Array, " c"]

    @property
    def n_bins(self) -> int:
        """Number of non-empty-by-construction bins (the statistic's data points)."""
        finite = np.isfinite(np.asarray(self.edges))
        per_response = np.where(finite.all(axis=-1), finite.shape[-1] + 1, 1)
        return int(per_response.sum())


def quantile_bins(
    trials: Trials,
    *,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    min_count: int = 10,
) -> QuantileBins:
    """Cut each condition's and response's RTs at their quantiles (host-side, NumPy).

    Args:
        trials: the data; ``trials.condition`` defines the conditions.
        quantiles: increasing quantile levels in (0, 1).
        min_count: a response with fewer trials in a condition gets one bin.

    Returns:
        The observed bins.
    """
    q = np.asarray(quantiles, float)
    if q.ndim != 1 or q.size == 0 or np.any(np.diff(q) <= 0) or q[0] <= 0 or q[-1] >= 1:
        raise ValueError(f"`quantiles` must increase strictly inside (0, 1), got {quantiles}")
    if min_count < 2:
        raise ValueError(f"`min_count` must be >= 2, got {min_count}")
    rt = np.asarray(trials.rt, float)
    choice = np.asarray(trials.choice)
    cond = np.asarray(trials.condition, float)
    levels = np.unique(cond)
    edges = np.full((levels.size, 2, q.size), np.inf)
    counts = np.zeros((levels.size, 2, q.size + 1))
    n = np.zeros(levels.size)
    for i, c in enumerate(levels):
        in_c = cond == c
        n[i] = in_c.sum()
        for r in (0, 1):
            x = rt[in_c & (choice == r)]
            if x.size >= min_count:
                e = np.quantile(x, q)
                edges[i, r] = e
                # Bin b holds edges[b-1] < t <= edges[b], the same convention as F.
                counts[i, r] = np.bincount(np.searchsorted(e, x, side="left"), minlength=q.size + 1)
            else:
                counts[i, r, 0] = x.size
    dtype = np.asarray(trials.rt).dtype
    return QuantileBins(
        jnp.asarray(levels, dtype), jnp.asarray(edges, dtype), jnp.asarray(counts, dtype),
        jnp.asarray(n, dtype),
    )  # fmt: skip


def ddm_defective_cdf(
    model: AbstractDDM,
    t: Float[ArrayLike, "*shape"],
    choice: int,
    condition: Float[ArrayLike, ""] | float,
    *,
    n_sz: int = 12,
    n_st0: int = 32,
) -> tuple[Float[Array, "*shape"], Float[Array, ""]]:
    r"""$F(t) = P(\text{choice}, RT \le t)$ at the times ``t`` (s), and $F(\infty)$.

    The decision-time CDF is the series of :mod:`._ddm_cdf` (drift variability exact),
    averaged over the start point as the density is (``n_sz`` nodes). With a uniform
    non-decision time of width $s_t$, $F(t) = s_t^{-1} \int_{t - t_0 - s_t/2}^{t - t_0 +
    s_t/2} F_T(s)\, ds$ is integrated with ``n_st0`` Gauss–Legendre nodes in $1/s$ (in
    which the onset $F_T(s) \propto e^{-z^2/2s}$ is a plain exponential), from where
    $F_T$ is below $e^{-30}$ of its value at the window's end. The contaminant is added
    exactly. ``t = inf`` gives $F(\infty)$.
    """
    t = jnp.asarray(t)
    if not jnp.issubdtype(t.dtype, jnp.floating):
        t = t.astype(float)
    dtype = t.dtype
    if choice not in (0, 1):
        raise ValueError(f"`choice` must be 0 (lower) or 1 (upper), got {choice}")
    p = ddm_parameters(model, jnp.reshape(jnp.asarray(condition, dtype), (1,)), dtype)
    upper = choice == 1

    def cdf(lo, hi, open_ended=False):
        return jnp.exp(
            log_decision_increment(
                lo, hi, upper, p.v[0], p.a, p.z, p.sv, p.sz, n_sz=n_sz, open_ended=open_ended
            )
        )

    total = cdf(jnp.zeros((), dtype), jnp.ones((), dtype), open_ended=True)
    finite = jnp.isfinite(t)
    dt = jnp.where(finite, t, 0.0) - p.t0
    if is_zero(p.st0):
        f_t = cdf(jnp.zeros_like(dt), dt)
    else:
        lo, hi = dt - p.st0 / 2.0, dt + p.st0 / 2.0
        started = hi > 0
        hi = jnp.where(started, hi, 1.0)
        sz = 0.0 if is_zero(p.sz) else p.sz
        nearest = (1.0 - p.z if upper else p.z) - sz / 2.0
        onset = hi / (1.0 + 60.0 * hi / (nearest * p.a) ** 2)
        first = jnp.maximum(lo, onset)
        x, wx = np.polynomial.legendre.leggauss(n_st0)
        lead = (1,) * hi.ndim
        y = jnp.asarray((x + 1.0) / 2.0, dtype).reshape(lead + x.shape)
        wy = jnp.asarray(wx / 2.0, dtype).reshape(lead + x.shape)
        r_lo, r_hi = 1.0 / hi, 1.0 / first
        r = r_lo[..., None] + (r_hi - r_lo)[..., None] * y
        s = 1.0 / r
        integral = (r_hi - r_lo) * jnp.sum(wy * s**2 * cdf(jnp.zeros_like(s), s), axis=-1)
        f_t = jnp.where(started, integral / p.st0, 0.0)
    f_t = jnp.where(finite, f_t, total)
    if is_zero(p.p_outlier):
        return f_t, total

    def mix(f_ddm, tt):
        contaminant = 0.5 * jnp.clip(tt, 0.0, p.rt_max) / p.rt_max
        return (1.0 - p.p_outlier) * f_ddm + p.p_outlier * contaminant

    return mix(f_t, jnp.where(finite, t, p.rt_max)), mix(total, p.rt_max)


def _bin_probabilities(model: AbstractDDM, bins: QuantileBins, **kw) -> Float[Array, "c 2 b"]:
    def one(condition, edges):
        rows = []
        for r in (0, 1):
            f_edges, f_total = ddm_defective_cdf(model, edges[r], r, condition, **kw)
            # An infinite edge (sparse response) puts the whole mass in the first bin.
            f_edges = jnp.where(jnp.isfinite(edges[r]), f_edges, f_total)
            cdf = jnp.concatenate([jnp.zeros((1,), f_edges.dtype), f_edges, f_total[None]])
            rows.append(jnp.diff(cdf))
        return jnp.stack(rows)

    return jax.vmap(one)(bins.condition, bins.edges)


def _expected_and_mask(model, bins, kw):
    p = _bin_probabilities(model, bins, **kw)
    expected = bins.n[:, None, None] * p
    used = jnp.concatenate(
        [
            jnp.ones(bins.counts.shape[:2] + (1,), bool),
            jnp.broadcast_to(jnp.isfinite(bins.edges), bins.edges.shape),
        ],
        axis=-1,
    )
    # Model probabilities of used bins are floored so that one empty bin cannot give inf.
    expected = jnp.maximum(expected, 1e-10)
    return expected, used


def g_squared(model: AbstractDDM, bins: QuantileBins, **kw) -> Float[Array, ""]:
    """Ratcliff & Tuerlinckx's $G^2$ (see the module docstring); dimensionless."""
    expected, used = _expected_and_mask(model, bins, kw)
    o = bins.counts
    safe_o = jnp.where(o > 0, o, 1.0)
    terms = jnp.where(used & (o > 0), o * jnp.log(safe_o / expected), 0.0)
    return 2.0 * jnp.sum(terms)


def chi_squared(model: AbstractDDM, bins: QuantileBins, **kw) -> Float[Array, ""]:
    """Pearson $\\chi^2$ over the same bins as :func:`g_squared`; dimensionless."""
    expected, used = _expected_and_mask(model, bins, kw)
    return jnp.sum(jnp.where(used, (bins.counts - expected) ** 2 / expected, 0.0))
