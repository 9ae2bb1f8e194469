r"""Across-trial variability of the start point and the non-decision time, integrated.

**Start point** $w \sim U[w - s_z/2,\ w + s_z/2]$. At short decision times the density
(and the CDF) as a function of the start point is a narrow Gaussian-like bump: the
dominant small-time term is $\propto x\, e^{-(x + m)^2 / (2 u \rho)}$ in $x = w$ with
$u = t/a^2$, $\rho = 1 + s_v^2 t$ and $m = u a v$ (lower boundary), i.e. of width
$\sqrt{u\rho}$, which at $t \to 0$ is far narrower than $s_z$. A fixed Gauss–Legendre rule
over the whole range misses it (errors of ~1 % at fast RTs). The average is instead taken
with ``n_sz`` Gauss–Legendre nodes over the part of the range within $R = 6$ widths of that
bump (the mass outside is below $e^{-R^2/2} \approx 10^{-8}$ of the total, by
log-concavity), or over the whole range when the bump is wider than it. With 12 nodes
this is accurate to $2 \cdot 10^{-7}$ relative over the tested parameter grid.

**Non-decision time** $\tau \sim U[t_0 - s_t/2,\ t_0 + s_t/2]$: the density of the
response time is exactly the increment of the decision-time CDF over the window,

$$p(c, t) = \frac{F_c(t - t_0 + s_t/2) - F_c(t - t_0 - s_t/2)}{s_t},$$

computed by :mod:`._ddm_cdf` without quadrature.

References:
    Ratcliff R, Tuerlinckx F (2002) Psychon Bull Rev 9:438-481.
    Blurton SP, Kesselmeier M, Gondan M (2012) J Math Psychol 56:470-475.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._ddm_cdf import log_lower_increment, log_lower_pieces, log_sum_pieces, switch_time
from ._ddm_density import log_lower_density

_R_WINDOW = 6.0
# The large-time part of a CDF increment (t >= a^2/4) varies in the start point like
# sin(k pi w) times a Gaussian factor of width >= 1/(a s_v): six nodes integrate it to
# float64 precision over any start-point range.
_N_LARGE_TIME = 6


def is_zero(x) -> bool:
    """True for the Python number 0 (a field that switches its integral off)."""
    return isinstance(x, int | float) and x == 0


def _legendre01(n: int, dtype) -> tuple[Array, Array]:
    """Gauss–Legendre nodes on [0, 1] and weights summing to 1."""
    x, w = np.polynomial.legendre.leggauss(n)
    return jnp.asarray((x + 1.0) / 2.0, dtype), jnp.asarray(w / 2.0, dtype)


def _mode_and_width(t: Array, v: Array, a: Array, sv) -> tuple[Array, Array]:
    """Start point of the peak of the small-time density at time t > 0, and its width."""
    u = t / a**2
    rho = 1.0 if is_zero(sv) else 1.0 + sv**2 * t
    width = jnp.sqrt(u * rho)
    m = u * a * v
    root = jnp.sqrt(m**2 + 4.0 * width**2)
    # Roots of x^2 + m x - width^2 = 0 (the maximum of x exp(-(x + m)^2 / 2 width^2)),
    # each written without cancellation.
    safe = jnp.where(root > 0, root, 1.0)
    mode = jnp.where(m >= 0, 2.0 * width**2 / (jnp.maximum(m, 0.0) + safe), (safe - m) / 2.0)
    return jnp.where(root > 0, mode, 0.0), width


def _start_nodes(t_first, t_last, v, a, w, sv, sz, n: int):
    """Nodes (n, ...) in the start point and log weights, for times in [t_first, t_last].

    The node axis leads: elementwise work then runs along the trials, which vectorises
    (a short trailing axis does not).
    """
    dtype = v.dtype
    w_lo, w_hi = w - sz / 2.0, w + sz / 2.0
    finite = jnp.isfinite(t_last)
    t_last = jnp.where(finite, t_last, 1.0)
    # At t_first <= 0 the window starts at the range's end nearest to the boundary.
    started = t_first > 0
    mode_first, _ = _mode_and_width(jnp.where(started, t_first, t_last), v, a, sv)
    mode_first = jnp.where(started, mode_first, w_lo)
    mode_last, width = _mode_and_width(t_last, v, a, sv)
    lo = jnp.maximum(w_lo, jnp.clip(mode_first, w_lo, w_hi) - _R_WINDOW * width)
    hi = jnp.minimum(w_hi, jnp.clip(mode_last, w_lo, w_hi) + _R_WINDOW * width)
    lo = jnp.where(finite, lo, w_lo)
    hi = jnp.where(finite, hi, w_hi)
    y, weights = _legendre01(n, dtype)
    y, weights = y.reshape((n,) + (1,) * lo.ndim), weights.reshape((n,) + (1,) * lo.ndim)
    nodes = lo[None] + (hi - lo)[None] * y
    # sz may be an array equal to 0 (a fit's start, or jax.grad over every field): the
    # window is then the point w and its weight 1.
    share = jnp.where(sz > 0, (hi - lo) / jnp.where(sz > 0, sz, 1.0), 1.0)
    log_w = jnp.log(weights) + jnp.log(share)[None]
    return nodes, log_w


def _logsumexp0(x: Array) -> Array:
    """``logsumexp`` over the leading axis; $-\\infty$ (with a zero, not NaN, gradient)
    where every entry is $-\\infty$ (e.g. a window with no small-time part)."""
    some = jnp.any(jnp.isfinite(x), axis=0)
    return jnp.where(some, jax.nn.logsumexp(jnp.where(some[None], x, 0.0), axis=0), -jnp.inf)


def _frame(upper, v, w):
    upper = jnp.asarray(upper).astype(bool)
    return jnp.where(upper, -v, v), jnp.where(upper, 1.0 - w, w)


def log_decision_density(
    t: Float[ArrayLike, "..."],
    upper: ArrayLike,
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv,
    sz,
    *,
    n_sz: int = 12,
) -> Float[Array, "..."]:
    r"""$\log f_c(t)$ (1/s) at decision time ``t`` (s), averaged over drift and start.

    ``sz`` given as the Python number 0 skips the start-point average.
    """
    t, v = jnp.broadcast_arrays(jnp.asarray(t), jnp.asarray(v))
    v_e, w_e = _frame(upper, v, jnp.broadcast_to(w, t.shape))
    if is_zero(sz):
        return log_lower_density(t, v_e, a, w_e, sv)
    positive = t > 0
    t_safe = jnp.where(positive, t, 1.0)
    nodes, log_w = _start_nodes(t_safe, t_safe, v_e, a, w_e, sv, sz, n_sz)
    sv_b = sv if is_zero(sv) else jnp.asarray(sv)
    log_f = log_lower_density(t_safe[None], v_e[None], a, nodes, sv_b)
    return jnp.where(positive, _logsumexp0(log_f + log_w), -jnp.inf)


def log_decision_increment(
    t_lo: Float[ArrayLike, "..."],
    t_hi: Float[ArrayLike, "..."],
    upper: ArrayLike,
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv,
    sz,
    *,
    n_sz: int = 12,
    open_ended: bool = False,
) -> Float[Array, "..."]:
    r"""$\log P(c, t_{lo} < T \le t_{hi})$, averaged over drift and start (times in s).

    $-\infty$ where ``t_hi <= 0``; ``open_ended=True`` takes every ``t_hi`` as ``inf``
    (see :func:`._ddm_cdf.log_lower_increment`). With a start-point range, the part of
    the window before $t^*$ (small-time series) is averaged with ``n_sz`` nodes placed as
    for the density, the part after it, smooth in the start point, with
    ``_N_LARGE_TIME`` nodes over the whole range.
    """
    if open_ended:
        t_hi = jnp.full(jnp.shape(t_lo), jnp.inf, jnp.asarray(t_lo).dtype)
    t_lo, t_hi, v = jnp.broadcast_arrays(*map(jnp.asarray, (t_lo, t_hi, v)))
    v_e, w_e = _frame(upper, v, jnp.broadcast_to(w, t_lo.shape))
    if is_zero(sz):
        return log_lower_increment(t_lo, t_hi, v_e, a, w_e, sv, open_ended=open_ended)
    positive = t_hi > 0
    t_hi_safe = jnp.where(positive, t_hi, 1.0)
    t_lo_safe = jnp.maximum(jnp.where(positive, t_lo, 0.0), 0.0)
    lift = lambda x: x[None]
    switch = switch_time(a, sv)
    # Small-time part: nodes where the start-point integrand has its mass.
    nodes, log_w = _start_nodes(
        t_lo_safe, jnp.minimum(t_hi_safe, switch), v_e, a, w_e, sv, sz, n_sz
    )
    log_small, _, _ = log_lower_pieces(
        lift(t_lo_safe), lift(t_hi_safe), lift(v_e), a, nodes, sv, open_ended=open_ended
    )
    # Large-time part: Gauss–Legendre nodes over the whole start-point range.
    y, wy = _legendre01(_N_LARGE_TIME, t_lo.dtype)
    y, wy = y.reshape((-1,) + (1,) * t_lo.ndim), wy.reshape((-1,) + (1,) * t_lo.ndim)
    _, log_large, _ = log_lower_pieces(
        lift(t_lo_safe),
        lift(t_hi_safe),
        lift(v_e),
        a,
        lift(w_e) + sz * (y - 0.5),
        sv,
        open_ended=open_ended,
    )
    log_small = _logsumexp0(log_small + log_w)
    log_large = _logsumexp0(log_large + jnp.log(wy))
    return jnp.where(positive, log_sum_pieces(log_small, log_large), -jnp.inf)


def log_rt_density(
    dt: Float[ArrayLike, "..."],
    upper: ArrayLike,
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv,
    sz,
    st0,
    *,
    n_sz: int = 12,
) -> Float[Array, "..."]:
    r"""$\log p(c, t)$ (1/s) at ``dt`` = RT $- t_0$ (s), with every variability integrated.

    ``st0`` given as the Python number 0 skips the non-decision-time average.
    """
    if is_zero(st0):
        return log_decision_density(dt, upper, v, a, w, sv, sz, n_sz=n_sz)
    dt = jnp.asarray(dt)
    st0 = jnp.asarray(st0, dt.dtype)
    # Below eps^(1/3) * 0.1 s the window's average is its midpoint density (error
    # st0^2 f''/24) rather than a difference of CDF values that cancels in floating point;
    # this also covers st0 = 0 given as an array ("double where").
    narrow = st0 < 0.1 * float(jnp.finfo(dt.dtype).eps) ** (1.0 / 3.0)
    width = jnp.where(narrow, 1.0, st0)
    log_inc = log_decision_increment(
        dt - width / 2.0, dt + width / 2.0, upper, v, a, w, sv, sz, n_sz=n_sz
    )
    log_mid = log_decision_density(dt, upper, v, a, w, sv, sz, n_sz=n_sz)
    return jnp.where(narrow, log_mid, log_inc - jnp.log(width))
