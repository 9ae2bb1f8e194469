r"""Closed forms of the drift-diffusion model: choice probability, mean and variance of RT.

For drift $v$, unit noise, boundaries $0$ and $a$ and start $z = w a$, the probability
of the upper boundary and the first two moments of the decision time $T$ (over both
boundaries) solve $\tfrac12 m'' + v m' = -n\, m_{n-1}$ with $m(0) = m(a) = 0$ (Cox & Miller
1965, ch. 5). With $\xi = 2 v a$, $Q = e^{-\xi}$, $e = 1 - Q$, $\psi = e^{-\xi w}$:

$$P_\mathrm{upper} = \frac{1 - \psi}{e}, \qquad
E[T] = \frac{2a^2}{\xi}(P_\mathrm{upper} - w),$$

$$\frac{E[T^2]}{a^4} = \frac{4w^2}{\xi^2} - \frac{8w}{\xi^3} - \frac{8w(1 + \psi)}{\xi^2 e}
 - P_\mathrm{upper} \Big[\frac{4}{\xi^2} - \frac{8}{\xi^3} - \frac{8(1 + Q)}{\xi^2 e}\Big],$$

the variance for any start point (cf. Grasman, Wagenmakers & van der Maas 2009). With
$w = 1/2$, $A = a/2$ these are Palmer, Huk & Shadlen's (2005) eqs. 4-7. The forms are
evaluated for $v \ge 0$ (the mirrored process $v \to -v$, $w \to 1 - w$ otherwise); near
$w = 1$ the second moment is rearranged in $y = 1 - w$ so that its terms do not cancel
(``_second_moment``), and for $\xi < 1$, where the quotients cancel, a 12-term Taylor
series in $\xi$ is used. Its coefficients are polynomials in $w$ computed at import from
the Bernoulli-polynomial expansion $\xi e^{x\xi}/(e^\xi - 1) = \sum_n B_n(x)\,\xi^n/n!$,
in which $1/e$, $\psi/e$, $Q/e$ and $P_\mathrm{upper}$ are all expressed.

Across-trial variability: $v \sim \mathcal N(v, s_v^2)$ is integrated by the trapezoid
rule on 181 nodes over $\pm 9$ SD (for an integrand analytic in a strip, as these are up
to their poles at $v = i\pi n / a$, its error falls as $e^{-2\pi^2/(0.1\, a s_v)}$:
below $10^{-8}$ for $a s_v \le 8$), and $w \sim U[w - s_z/2, w + s_z/2]$ by composite
Gauss–Legendre quadrature (32 panels of 4 nodes). The moments of RT add those of the
uniform non-decision time ($t_0$, $s_t^2/12$). The contaminant is not included: these are
the moments of the diffusion process.

References:
    Cox DR, Miller HD (1965) The Theory of Stochastic Processes, ch. 5.
    Grasman RPPP, Wagenmakers E-J, van der Maas HLJ (2009) On the mean and variance of
    response times under the diffusion model with an application to parameter
    estimation. J Math Psychol 53:55-68.
    Palmer J, Huk AC, Shadlen MN (2005) J Vis 5:376-404.
"""

import math
from fractions import Fraction

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from ._ddm import AbstractDDM, ddm_parameters
from ._ddm_variability import is_zero

_N_SERIES = 12
_XI_SWITCH = 1.0


def _bernoulli_series(n_max: int) -> tuple[list, list, list]:
    """Coefficients of $\\xi^n$ in $G(\\xi, x) = \\xi e^{x\\xi}/(e^\\xi - 1)$ at x = 1, 0, 1 - w.

    Returns rationals ``g1[n]``, ``g0[n]`` and polynomials in $w$ (coefficient lists,
    lowest power first) ``gy[n]`` $= B_n(1 - w)/n!$.
    """
    b = [Fraction(1)]
    for m in range(1, n_max + 1):
        b.append(-sum(math.comb(m + 1, k) * b[k] for k in range(m)) / Fraction(m + 1))
    g1, g0, gy = [], [], []
    for n in range(n_max + 1):
        poly_x = [math.comb(n, k) * b[k] for k in range(n + 1)]  # coefficient of x^(n-k)
        g1.append(sum(poly_x) / math.factorial(n))
        g0.append(b[n] / math.factorial(n))
        coef = [Fraction(0)] * (n + 1)
        for k, c in enumerate(poly_x):
            m = n - k  # c (1 - w)^m
            for j in range(m + 1):
                coef[j] += c * math.comb(m, j) * (-1) ** j
        gy.append([c / math.factorial(n) for c in coef])
    return g1, g0, gy


def _poly_add(p, q):
    out = [Fraction(0)] * max(len(p), len(q))
    for i, c in enumerate(p):
        out[i] += c
    for i, c in enumerate(q):
        out[i] += c
    return out


def _poly_scale(p, s):
    return [c * s for c in p]


def _series_coefficients() -> tuple[np.ndarray, np.ndarray]:
    """Taylor coefficients in $\\xi$ of $P_\\mathrm{upper}$ and $E[T^2]/a^4$ (polys in w)."""
    n = _N_SERIES + 4
    g1, g0, gy = _bernoulli_series(n)
    # P_upper = (G(1) - G(1 - w)) / xi.
    p = [_poly_add([g1[k + 1]], _poly_scale(gy[k + 1], -1)) for k in range(n)]
    # xi^3 E[T^2]/a^4 = 4 w^2 xi - 8 w - 8 w (G(1) + G(1 - w)) - P_upper (xi^3 K), with
    # xi^3 K = 4 xi - 8 - 8 (G(1) + G(0)).
    kk = [-8 * (g1[k] + g0[k]) + {0: -8, 1: 4}.get(k, 0) for k in range(n)]
    bracket = []
    for k in range(n):
        term = [Fraction(0), Fraction(-8) if k == 0 else Fraction(0)]
        term = _poly_add(term, [0, *_poly_scale(_poly_add([g1[k]], gy[k]), -8)])
        if k == 1:
            term = _poly_add(term, [0, 0, Fraction(4)])
        for j in range(k + 1):
            term = _poly_add(term, _poly_scale(p[j], -kk[k - j]))
        bracket.append(term)
    assert all(c == 0 for k in range(3) for c in bracket[k])
    m2 = [bracket[k + 3] for k in range(_N_SERIES)]
    width = max(len(r) for r in p[: _N_SERIES + 1] + m2)
    pad = lambda rows: np.array([[float(c) for c in r] + [0.0] * (width - len(r)) for r in rows])
    return pad(p[: _N_SERIES + 1]), pad(m2)


_P_COEF, _M2_COEF = _series_coefficients()


def _series(coef: np.ndarray, xi: Array, w: Array) -> Array:
    """$\\sum_n c_n(w)\\, \\xi^n$ by Horner's rule in both variables."""
    out = jnp.zeros_like(xi)
    for row in coef[::-1]:
        poly = jnp.zeros_like(w)
        for c in row[::-1]:
            poly = poly * w + c
        out = out * xi + poly
    return out


def _fixed_moments(v: Array, a: Array, w: Array) -> tuple[Array, Array, Array]:
    """$P_\\mathrm{upper}$, $E[T]$ (s) and $E[T^2]$ (s²) for fixed drift and start."""
    flip = v < 0
    xi = 2.0 * a * jnp.abs(v)
    w_f = jnp.where(flip, 1.0 - w, w)
    y = 1.0 - w_f
    small = xi < _XI_SWITCH
    x = jnp.where(small, _XI_SWITCH, xi)  # "double where": no 0/0 in the unused branch
    e, q, psi = -jnp.expm1(-x), jnp.exp(-x), jnp.exp(-x * w_f)
    p_up = -jnp.expm1(-x * w_f) / e
    p_low = psi * -jnp.expm1(-x * y) / e
    k = 4.0 / x**2 - 8.0 / x**3 - 8.0 * (1.0 + q) / (x**2 * e)
    m2_w = 4.0 * w_f**2 / x**2 - 8.0 * w_f / x**3 - 8.0 * w_f * (1.0 + psi) / (x**2 * e) - p_up * k
    m2_y = (
        4.0 * y**2 / x**2
        + 8.0 * y / x**3
        + 8.0 * y * (psi + q) / (x**2 * e)
        - 8.0 * q * jnp.expm1(x * y) / (x**2 * e)
        + p_low * k
    )
    m1_ex = jnp.where(w_f < 0.5, 2.0 * (p_up - w_f), 2.0 * (y - p_low)) / x
    m2_ex = jnp.where(w_f < 0.5, m2_w, m2_y)
    p_up_s = _series(_P_COEF, xi, w_f)
    p_low_s = _series(_P_COEF, -xi, y)
    m1_s = 2.0 * _series(_P_COEF[1:], xi, w_f)
    m2_s = _series(_M2_COEF, xi, w_f)
    p_up = jnp.where(small, p_up_s, p_up)
    p_low = jnp.where(small, p_low_s, p_low)
    m1 = jnp.where(small, m1_s, m1_ex) * a**2
    m2 = jnp.where(small, m2_s, m2_ex) * a**4
    return jnp.where(flip, p_low, p_up), m1, m2


def _nodes(model: AbstractDDM, condition):
    """Drift and start nodes with weights, shape (conditions, drift nodes, start nodes)."""
    condition = jnp.asarray(condition)
    if not jnp.issubdtype(condition.dtype, jnp.floating):
        condition = condition.astype(float)
    p = ddm_parameters(model, jnp.ravel(condition), condition.dtype)
    dtype = p.v.dtype
    if is_zero(p.sv):
        v, wv = p.v[:, None], jnp.ones((1,), dtype)
    else:
        x = np.linspace(-9.0, 9.0, 181)
        wx = np.exp(-(x**2) / 2.0)
        v = p.v[:, None] + p.sv * jnp.asarray(x, dtype)[None, :]
        wv = jnp.asarray(wx / wx.sum(), dtype)
    if is_zero(p.sz):
        w, ww = jnp.broadcast_to(p.z, (1,)), jnp.ones((1,), dtype)
    else:
        y, wy = np.polynomial.legendre.leggauss(4)
        y = ((np.arange(32)[:, None] + (y + 1.0) / 2.0) / 32.0).ravel() - 0.5
        w = p.z + p.sz * jnp.asarray(y, dtype)
        ww = jnp.asarray(np.tile(wy / 2.0, 32) / 32.0, dtype)
    weights = wv[:, None] * ww[None, :]
    return p, v[:, :, None], w[None, None, :], weights, condition.shape


def _moments(model, condition):
    p, v, w, weights, shape = _nodes(model, condition)
    p_up, m1, m2 = _fixed_moments(v, p.a, w)
    mean = lambda x: jnp.sum(weights[None] * x, axis=(-2, -1)).reshape(shape)
    return p, mean(p_up), mean(m1), mean(m2)


def ddm_choice_probability(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""$P(\text{choice} = 1)$ per condition, with $s_v$ and $s_z$ integrated (no contaminant).

    With accuracy coding (upper = correct) this is the psychometric function.
    """
    return _moments(model, condition)[1]


def ddm_mean_decision_time(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    """Mean decision time $E[T]$ in s over both choices, with $s_v$, $s_z$ integrated."""
    return _moments(model, condition)[2]


def ddm_mean_rt(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""Mean RT $t_0 + E[T]$ in s (no contaminant): Palmer's chronometric function."""
    p, _, m1, _ = _moments(model, condition)
    return p.t0 + m1


def ddm_rt_variance(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""Variance of RT in s²: $\mathrm{Var}[T] + s_t^2/12$, any start point (no contaminant).

    $\mathrm{Var}[T] = E[T^2] - E[T]^2$ over the drift and start-point distributions.
    """
    p, _, m1, m2 = _moments(model, condition)
    st0 = 0.0 if is_zero(p.st0) else p.st0
    return m2 - m1**2 + st0**2 / 12.0


def summary_negative_log_likelihood(
    model: AbstractDDM,
    condition: Float[ArrayLike, " conditions"],
    n: Int[ArrayLike, " conditions"] | Float[ArrayLike, " conditions"],
    n_upper: Int[ArrayLike, " conditions"] | Float[ArrayLike, " conditions"],
    mean_rt: Float[ArrayLike, " conditions"],
) -> Float[Array, ""]:
    r"""Negative log-likelihood of per-condition summaries (choice counts and mean RT).

    $$-\log L = -\sum_c \Big[ n^{(1)}_c \log P_c + (n_c - n^{(1)}_c) \log(1 - P_c) \Big]
      + \sum_c \frac{(\overline{RT}_c - \mu_c)^2}{2 \sigma_c^2 / n_c}
      + \tfrac12 \log(2\pi \sigma_c^2 / n_c)$$

    a binomial likelihood of the choices and a Gaussian likelihood of each mean RT whose
    standard error uses the model's own RT variance $\sigma_c^2$ (the data's per-condition
    SD is not carried by published summaries). $P_c$, $\mu_c$ and $\sigma_c^2$ include
    $s_v$, $s_z$, $s_t$ and any start point. Units: ``mean_rt`` in s.

    Args:
        model: a DDM.
        condition: condition values, shape ``(conditions,)``.
        n: trials per condition.
        n_upper: trials ending at the upper boundary (correct, with accuracy coding).
        mean_rt: mean RT per condition, s.

    Returns:
        The negative log-likelihood (scalar, nats).
    """
    condition = jnp.asarray(condition)
    if not jnp.issubdtype(condition.dtype, jnp.floating):
        condition = condition.astype(float)
    n = jnp.asarray(n).astype(condition.dtype)
    k = jnp.asarray(n_upper).astype(condition.dtype)
    p, p_up, m1, m2 = _moments(model, condition)
    p_up = jnp.clip(p_up, 1e-7, 1.0 - 1e-7)
    nll_choice = -jnp.sum(k * jnp.log(p_up) + (n - k) * jnp.log1p(-p_up))
    st0 = 0.0 if is_zero(p.st0) else p.st0
    mu = p.t0 + m1
    var = (m2 - m1**2 + st0**2 / 12.0) / n
    nll_rt = jnp.sum(0.5 * (jnp.asarray(mean_rt) - mu) ** 2 / var + 0.5 * jnp.log(2 * jnp.pi * var))
    return nll_choice + nll_rt
