r"""Defective first-passage CDF of the Wiener diffusion model, with drift variability.

$F(t) = P(\text{lower boundary}, T \le t)$ for drift $v$, unit noise, boundaries $0$ and
$a$, start $z = w a$, and drift $v \sim \mathcal N(\mu, s_v^2)$ across trials. The upper
boundary is the lower one of the mirrored process ($\mu \to -\mu$, $w \to 1 - w$).

**Small times** (method of images; Blurton, Kesselmeier & Gondan 2012). The density is a
sum over images $d_k = z + 2 k a$ of first-passage densities to a single barrier,
$f = \sum_k e^{2 k a v} \frac{d_k}{\sqrt{2 \pi t^3}} e^{-(d_k + v t)^2 / 2t}$, so that

$$F(t \mid v) = \sum_{k \ge 0} e^{2kav}\Big[\Phi\big(\tfrac{-vt - d_k}{\sqrt t}\big)
  + e^{-2 v d_k} \Phi\big(\tfrac{vt - d_k}{\sqrt t}\big)\Big]
  - \sum_{k < 0} e^{2kav}\Big[\Phi\big(\tfrac{vt + d_k}{\sqrt t}\big)
  + e^{-2 v d_k} \Phi\big(\tfrac{d_k - vt}{\sqrt t}\big)\Big].$$

Each term has the form $e^{\beta v} \Phi(\alpha v + \gamma)$, whose average over
$v \sim \mathcal N(\mu, s_v^2)$ is exact:
$e^{\beta\mu + \beta^2 s_v^2/2}\, \Phi\big((\alpha(\mu + \beta s_v^2) + \gamma) /
\sqrt{1 + \alpha^2 s_v^2}\big)$. All terms are summed in log space.

**Large times** (Navarro & Fuss 2009, integrated term by term): the survival of the lower
boundary is $S(t) = \frac{\pi}{a^2} e^{-v a w} \sum_k k \sin(k\pi w)\,
e^{-\lambda_k t} / \lambda_k$ with $\lambda_k = v^2/2 + k^2\pi^2/(2a^2)$, and an increment
$S(t_1) - S(t_1 + \Delta)$ is summed with $-\mathrm{expm1}(-\lambda_k \Delta)$, free of
cancellation. With $s_v > 0$ the factor $e^{-vaw - v^2 t_1/2}$ is integrated against the
drift distribution in closed form, leaving a smooth function of $v$ under the normal
$\mathcal N\big((\mu - a w s_v^2)/(1 + s_v^2 t_1),\ s_v^2/(1 + s_v^2 t_1)\big)$, averaged
by 24-node Gauss–Hermite quadrature (relative error below $2 \cdot 10^{-8}$ for every
$s_v$ at $t_1 \ge a^2/2$, where the poles of that function are at least 2.2 standard
deviations from the real axis).

The two forms meet at $t^* = u^* a^2$. For a fixed drift $u^* = 1/4$, with the images
$k = -2 \ldots 1$ and four large-time terms; with drift variability $u^* = 1/2$ (for the
quadrature above), with $k = -3 \ldots 2$ and three terms. In each case the first omitted
term is below $10^{-12}$ of the first. A CDF increment over $[t_{lo}, t_{hi}]$ is split at
$t^*$ into a small-time and a large-time piece, so the density averaged over a uniform
non-decision time (their difference divided by its width) is exact, also where the window
reaches the start of the support.

References:
    Blurton SP, Kesselmeier M, Gondan M (2012) Fast and accurate calculations for
    cumulative first-passage time distributions in Wiener diffusion models. J Math Psychol
    56:470-475.
    Gondan M, Blurton SP, Kesselmeier M (2014) Even faster and even more accurate
    first-passage time densities and distributions for the Wiener diffusion model. J Math
    Psychol 60:20-22.
    Navarro DJ, Fuss IG (2009) J Math Psychol 53:222-230.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr
from jaxtyping import Array, ArrayLike, Float


class _Series(NamedTuple):
    """Where the small- and large-time forms meet, and the terms each keeps."""

    u_switch: float
    images: tuple[int, ...]  # small-time images other than k = 0
    k_large: int  # large-time terms k = 1..k_large
    terms: np.ndarray  # one row per image term, see _image_terms


def _image_terms(images: tuple[int, ...]) -> np.ndarray:
    """Rows (k, first of the pair, sign of t(v + b sv^2), sign of d_k, sign of the term).

    The k = 0 pair comes first. The rows are stacked on a leading axis so that one call of
    ``log_ndtr`` serves all terms (separate calls multiply the compiled program, and its
    compile time).
    """
    rows = []
    for k in (0, *images):
        for first in (1, 0):
            if k >= 0:
                rows.append((k, first, *((-1, -1) if first else (1, -1)), 1))
            else:
                rows.append((k, first, *((1, 1) if first else (-1, 1)), -1))
    return np.array(rows, dtype=float)


# Omitted images are below the k = 0 term by exp(-2k(w + k)/u) at u <= u*: exp(-32) for
# (k = 2, u* = 1/4), exp(-48) for (k = -3, 1/4), exp(-36) for (3, 1/2), exp(-48) for
# (-4, 1/2). The first omitted large-time term is exp(-(k^2 - 1) pi^2 u / 2) of the first:
# exp(-29.6) for (k = 5, u* = 1/4) and exp(-37) for (4, 1/2).
_FIXED = _Series(0.25, (-2, -1, 1), 4, _image_terms((-2, -1, 1)))
_VARIABLE = _Series(0.5, (-3, -2, -1, 1, 2), 3, _image_terms((-3, -2, -1, 1, 2)))
_N_HERMITE = 24


def _fixed(sv) -> bool:
    return isinstance(sv, int | float) and sv == 0


def _hermite(dtype) -> tuple[Array, Array]:
    """Probabilists' Gauss–Hermite nodes and weights summing to 1."""
    x, w = np.polynomial.hermite_e.hermegauss(_N_HERMITE)
    return jnp.asarray(x, dtype), jnp.asarray(w / np.sqrt(2.0 * np.pi), dtype)


def _log_small_time_cdf(t: Array, v: Array, a: Array, w: Array, sv, series: _Series) -> Array:
    r"""$\log F(t)$ of the lower boundary from the image series (t > 0), drift-averaged."""
    sv2 = jnp.zeros_like(t) if _fixed(sv) else sv**2
    scale = jnp.sqrt(t) * jnp.sqrt(1.0 + sv2 * t)
    z = w * a
    col = lambda j: jnp.asarray(series.terms[:, j], t.dtype).reshape((-1,) + (1,) * t.ndim)
    k, first, s_shift, s_d, sign = (col(j) for j in range(5))
    # Every other quantity gets a leading axis of length 1 (rank promotion is explicit);
    # all image terms go through one call of log_ndtr.
    t_, v_, a_, z_, sv2_, scale_ = (x[None] for x in (t, v, a, z, sv2, scale))
    d = z_ + 2.0 * k * a_
    beta = jnp.where(first > 0, 2.0 * k * a_, -(2.0 * z_ + 2.0 * k * a_))
    arg = (s_shift * t_ * (v_ + beta * sv2_) + s_d * d) / scale_
    logs = beta * v_ + 0.5 * beta**2 * sv2_ + log_ndtr(arg)
    # The k = 0 pair (rows 0 and 1) sets the scale of the sum: every other term is at most
    # of its size (each is a positive part of one image's contribution, and images decay
    # away from k = 0).
    m = jax.lax.stop_gradient(jnp.maximum(logs[0], logs[1]))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    total = jnp.sum(sign * jnp.exp(logs - m[None]), axis=0)
    return m + jnp.log(jnp.maximum(total, jnp.finfo(t.dtype).tiny))


def _rates(a: Array, series: _Series) -> list[Array]:
    r"""$c_k = k^2 \pi^2 / (2 a^2)$: decay rates of the large-time terms at $v = 0$."""
    return [(k * np.pi / a) ** 2 / 2.0 for k in range(1, series.k_large + 1)]


def _log_tail_exact(t1: Array, delta: Array, v: Array, a: Array, w: Array) -> Array:
    r"""$\log[S(t_1) - S(t_1 + \Delta)]$ for a fixed drift ($\Delta$ may be inf)."""
    infinite = jnp.isinf(delta)
    delta_safe = jnp.where(infinite, 1.0, delta)
    c = _rates(a, _FIXED)
    total = jnp.zeros_like(t1)
    for k, ck in enumerate(c, start=1):
        lam = 0.5 * v**2 + ck
        frac = jnp.where(infinite, 1.0, -jnp.expm1(-lam * delta_safe))
        total = total + k * jnp.sin(k * np.pi * w) * jnp.exp(-(ck - c[0]) * t1) * frac / lam
    log_pref = -v * a * w - (0.5 * v**2 + c[0]) * t1
    tiny = jnp.finfo(t1.dtype).tiny
    return np.log(np.pi) - 2.0 * jnp.log(a) + log_pref + jnp.log(jnp.maximum(total, tiny))


def _log_tail_hermite(
    t1: Array, delta: Array, v: Array, a: Array, w: Array, sv: Array, open_ended: bool
) -> Array:
    r"""$\log[S(t_1) - S(t_1 + \Delta)]$ with drift variability (Gauss–Hermite).

    $E_v[e^{-vaw - v^2 t_1/2}]$ is closed-form; the rest of each term,
    $(1 - e^{-\lambda_k(v)\Delta})/\lambda_k(v)$, is averaged over the tilted drift normal.
    """
    c = _rates(a, _VARIABLE)
    shape = (-1,) + (1,) * t1.ndim  # nodes on a leading axis (vectorises over trials)
    rho = 1.0 + sv**2 * t1
    x, weights = _hermite(t1.dtype)
    x, weights = x.reshape(shape), weights.reshape(shape)
    nodes = ((v - a * w * sv**2) / rho)[None] + (sv / jnp.sqrt(rho))[None] * x
    total = jnp.zeros_like(t1)
    for k, ck in enumerate(c, start=1):
        lam = 0.5 * nodes**2 + ck[None]
        frac = 1.0 if open_ended else -jnp.expm1(-lam * delta[None])
        g = jnp.sum(weights * frac / lam, axis=0)
        total = total + k * jnp.sin(k * np.pi * w) * jnp.exp(-(ck - c[0]) * t1) * g
    log_drift = -0.5 * jnp.log(rho) + (sv**2 * a**2 * w**2 - 2.0 * a * v * w - v**2 * t1) / (
        2.0 * rho
    )
    tiny = jnp.finfo(t1.dtype).tiny
    return (
        np.log(np.pi) - 2.0 * jnp.log(a) + log_drift - c[0] * t1 + jnp.log(jnp.maximum(total, tiny))
    )


def switch_time(a: ArrayLike, sv) -> Array:
    """$t^* = u^* a^2$ (s): where the small- and large-time series meet."""
    return (_FIXED if _fixed(sv) else _VARIABLE).u_switch * jnp.asarray(a) ** 2


def log_lower_pieces(
    t_lo: Float[ArrayLike, "..."],
    t_hi: Float[ArrayLike, "..."],
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv,
    *,
    open_ended: bool = False,
) -> tuple[Float[Array, "..."], Float[Array, "..."], Float[Array, "..."]]:
    r"""The increment of :func:`log_lower_increment` split at $t^* = u^* a^2$.

    Returns ``(log_small, log_large, t_star)``: the logs of $F(\min(t_{hi}, t^*)) -
    F(t_{lo})$ (small-time series) and of $F(t_{hi}) - F(\max(t_{lo}, t^*))$ (large-time
    series), each $-\infty$ where its part of the window is empty, and $t^*$ (s).
    """
    if open_ended:
        t_hi = jnp.full(jnp.shape(t_lo), jnp.inf, jnp.asarray(t_lo).dtype)
    t_lo, t_hi, v, a, w = jnp.broadcast_arrays(*map(jnp.asarray, (t_lo, t_hi, v, a, w)))
    series = _FIXED if _fixed(sv) else _VARIABLE
    if not _fixed(sv):
        sv = jnp.broadcast_to(jnp.asarray(sv, t_lo.dtype), t_lo.shape)
    neg_inf = jnp.full_like(t_lo, -jnp.inf)
    switch = series.u_switch * a**2
    t_lo = jnp.maximum(t_lo, 0.0)

    # Small-time piece over [t_lo, min(t_hi, t*)] ("double where": the unused branches get
    # harmless arguments so that neither values nor gradients are NaN).
    has_small = (t_lo < switch) & (t_hi > 0)
    hi_s = jnp.where(has_small, jnp.minimum(t_hi, switch), switch)
    lo_pos = has_small & (t_lo > 0)
    lo_s = jnp.where(lo_pos, t_lo, switch / 2.0)
    pair = lambda x: jnp.stack([x, x])
    log_hi, log_lo = _log_small_time_cdf(
        jnp.stack([hi_s, lo_s]), pair(v), pair(a), pair(w), sv if _fixed(sv) else pair(sv), series
    )
    log_lo = jnp.where(lo_pos, log_lo, -jnp.inf)
    gap = jnp.minimum(log_lo - log_hi, -jnp.finfo(t_lo.dtype).eps)
    log_small = jnp.where(has_small, log_hi + jnp.log(-jnp.expm1(gap)), neg_inf)

    # Large-time piece over [max(t_lo, t*), max(t_hi, t*)].
    has_large = t_hi > switch
    lo_l = jnp.where(has_large, jnp.maximum(t_lo, switch), switch)
    delta = jnp.where(has_large, t_hi - lo_l, 1.0)
    delta = jnp.where(delta > 0, delta, 1.0)
    if _fixed(sv):
        log_large = _log_tail_exact(lo_l, delta, v, a, w)
    else:
        log_large = _log_tail_hermite(lo_l, delta, v, a, w, sv, open_ended)
    return log_small, jnp.where(has_large, log_large, neg_inf), switch


def log_sum_pieces(log_small: Array, log_large: Array) -> Array:
    r"""$\log(e^x + e^y)$ where either may be $-\infty$ (with finite gradients)."""
    small, large = jnp.isfinite(log_small), jnp.isfinite(log_large)
    both = small & large
    out = jnp.where(small, log_small, log_large)
    safe = lambda x: jnp.where(both, x, 0.0)
    return jnp.where(both, jnp.logaddexp(safe(log_small), safe(log_large)), out)


def log_lower_increment(
    t_lo: Float[ArrayLike, "..."],
    t_hi: Float[ArrayLike, "..."],
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv,
    *,
    open_ended: bool = False,
) -> Float[Array, "..."]:
    r"""$\log[F(t_{hi}) - F(t_{lo})]$ for the lower boundary, decision times in s.

    ``t_lo`` below 0 counts as 0; $-\infty$ where ``t_hi <= 0``. ``t_hi = inf`` gives
    the survival (or, with ``t_lo <= 0``, the choice probability): allowed elementwise
    when ``sv`` is the Python number 0; with an array ``sv`` pass ``open_ended=True``
    (then every ``t_hi`` is taken as ``inf``).

    Args:
        t_lo, t_hi: window of decision times, s (``t_lo < t_hi``).
        v: mean drift, 1/s. a: boundary separation. w: relative start in (0, 1).
        sv: across-trial SD of the drift, 1/s (the Python number 0: a fixed drift).
        open_ended: every window runs to ``t = inf``.
    """
    log_small, log_large, _ = log_lower_pieces(t_lo, t_hi, v, a, w, sv, open_ended=open_ended)
    return log_sum_pieces(log_small, log_large)
