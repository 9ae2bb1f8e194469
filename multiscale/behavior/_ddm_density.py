r"""First-passage density of the Wiener diffusion model (Navarro & Fuss 2009).

The density of first passage through the *lower* boundary of a Wiener process with
drift $v$, unit noise ($\sigma = 1$), boundaries at $0$ and $a$ and start $z = w a$ is

$$f(t \mid v, a, w) = \frac{1}{a^2}\, e^{-v a w - v^2 t / 2}\, f(t/a^2 \mid 0, 1, w),$$

with two series for the standardised density $f(u \mid 0, 1, w)$:

- large-time: $\pi \sum_{k \ge 1} k\, e^{-k^2 \pi^2 u / 2} \sin(k \pi w)$,
- small-time: $(2 \pi u^3)^{-1/2} \sum_{k \in \mathbb{Z}} (w + 2k)\, e^{-(w + 2k)^2 / (2u)}$.

Navarro & Fuss (their eqs. 13 and 15) bound the number of terms each form needs for an
error $\epsilon$ and use whichever needs fewer; the large-time form alone is badly wrong
for decision times of a few milliseconds (its terms do not decay at small $u$). Here both
sums are evaluated with a fixed number of terms (enough for $\epsilon = 10^{-7}$ relative
to the peak density wherever that form is chosen) so the computation has static shapes
for ``jit``/``vmap``; since both term counts depend on $u$ only, their rule amounts to
the small-time form below a constant $u^* \approx 0.179$. Both sums are computed in log
space around their dominant term so that $u \to 0$ (small-time) and $u \to \infty$
(large-time) neither underflow nor lose their gradient.

Across-trial drift variability $v \sim \mathcal{N}(v, s_v^2)$ integrates in closed form
(e.g. Blurton, Kesselmeier & Gondan 2017, eq. 3):

$$f(t \mid v, s_v, a, w) = \frac{f(t/a^2 \mid 0, 1, w)}{a^2 \sqrt{1 + s_v^2 t}}
\exp\!\left(\frac{s_v^2 a^2 w^2 - 2 a v w - v^2 t}{2 (1 + s_v^2 t)}\right).$$

The upper-boundary density is the lower one with $v \to -v$, $w \to 1 - w$.

References:
    Navarro DJ, Fuss IG (2009) Fast and accurate calculations for first-passage times in
    Wiener diffusion models. J Math Psychol 53:222-230.
    Blurton SP, Kesselmeier M, Gondan M (2017) The first-passage time distribution for the
    diffusion model with variable drift. J Math Psychol 76:7-12.
"""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

# Navarro & Fuss (2009) choose, per time, the series that needs fewer terms for an error
# eps (their eqs. 13 and 15). Both counts depend on u = t / a^2 only, so the rule is
# "small-time series below u*", with u* where the counts are equal (u* = 0.179 for
# eps = 1e-7, where each form needs 4.35 terms). At u* the small-time sum truncated at
# |k| <= 3 and the large-time sum at k <= 6 are exact to < 1e-12 relative to the peak
# density, and each converges faster on its own side of u*.
_K_LARGE = 6
_K_SMALL = 3
_EPS = 1e-7


def _term_counts(u: float) -> tuple[float, float]:
    """Navarro & Fuss (2009) eqs. 13 and 15: (large-time, small-time) number of terms."""
    log_eps = np.log(_EPS)
    arg_l = max(-2.0 * (np.log(np.pi * u) + log_eps), 0.0)
    k_large = max(np.sqrt(arg_l / (np.pi**2 * u)), 1.0 / (np.pi * np.sqrt(u)))
    arg_s = max(-2.0 * u * (np.log(2.0 * np.sqrt(2.0 * np.pi * u)) + log_eps), 0.0)
    k_small = max(2.0 + np.sqrt(arg_s), np.sqrt(u) + 1.0)
    return k_large, k_small


def _switch_point() -> float:
    """u* at which both series need the same number of terms (bisection)."""
    lo, hi = 1e-3, 10.0
    for _ in range(100):
        mid = np.sqrt(lo * hi)
        k_large, k_small = _term_counts(mid)
        lo, hi = (mid, hi) if k_small < k_large else (lo, mid)
    return float(np.sqrt(lo * hi))


_U_SWITCH = _switch_point()


def _use_small_time(u: Array) -> Array:
    """Navarro & Fuss (2009) rule: the small-time series where it needs fewer terms."""
    return u < _U_SWITCH


def _log_small_time(u: Array, w: Array) -> Array:
    r"""$\log f(u \mid 0, 1, w)$ from the small-time series, factored around $k = 0$.

    $(w + 2k)^2 - w^2 = 4 k (w + k) \ge 0$ for integer $k$, so the $k = 0$ term is the
    largest and the remaining sum is $w + O(e^{-2/u})$: no cancellation as $u \to 0$.
    With $A = e^{-2w/u}$, $B = e^{-2/u}$ and $C = e^{-2(1-w)/u}$, all in $[0, 1]$, the
    factor of term $k = m > 0$ is $A^m B^{m^2}$ and of $k = -m$ is $C^m B^{m(m-1)}$: the
    same terms from three exponentials instead of one per term, by products that cannot
    overflow (a factor that underflows belongs to a term below the truncation error).
    """
    # Summed term by term, not over a trailing axis of 7: elementwise ops over the trials
    # vectorise; a reduction over a tiny last axis does not (measured, 1000 x 200 trials:
    # log-likelihood 0.147 -> 0.006 s, twelve vmapped Newton steps 12.6 -> 1.9 s).
    A = jnp.exp(-2.0 * w / u)
    B = jnp.exp(-2.0 / u)
    C = jnp.exp(-2.0 * (1.0 - w) / u)
    total = w
    a_m, c_m, b_sq, b_pair = 1.0, 1.0, 1.0, 1.0  # A^m, C^m, B^(m^2), B^(m(m-1))
    b_odd, b_even = B, jnp.ones_like(B)  # B^(2m-1), B^(2m-2): the steps of the last two
    for m in range(1, _K_SMALL + 1):
        a_m, c_m = a_m * A, c_m * C
        b_sq, b_pair = b_sq * b_odd, b_pair * b_even
        b_odd, b_even = b_odd * B * B, b_even * B * B
        total = total + (w + 2.0 * m) * a_m * b_sq + (w - 2.0 * m) * c_m * b_pair
    # Where this form is not selected the truncated sum may be <= 0; keep log finite there.
    total = jnp.where(total > 0, total, 1.0)
    return -0.5 * jnp.log(2.0 * np.pi * u**3) - w**2 / (2.0 * u) + jnp.log(total)


def _log_large_time(u: Array, w: Array) -> Array:
    r"""$\log f(u \mid 0, 1, w)$ from the large-time series, factored around $k = 1$.

    The factors $q^{k^2 - 1}$, $q = e^{-\pi^2 u / 2}$, are built by products
    ($q^{(k+1)^2 - 1} = q^{k^2 - 1} q^{2k + 1}$) and $\sin(k \pi w)$ by the Chebyshev
    recurrence $\sin((k+1)x) = 2 \cos x \sin(kx) - \sin((k-1)x)$: one exponential, one
    sine and one cosine per trial instead of one exponential and one sine per term.
    """
    q = jnp.exp(-(np.pi**2) * u / 2.0)
    q2 = q * q
    x = np.pi * w
    s_prev, s_k, two_cos = jnp.zeros_like(w), jnp.sin(x), 2.0 * jnp.cos(x)
    r_k, step = jnp.ones_like(q), q * q2  # q^(k^2-1), q^(2k+1) at k = 1
    total = s_k
    for k in range(2, _K_LARGE + 1):
        s_prev, s_k = s_k, two_cos * s_k - s_prev
        r_k, step = r_k * step, step * q2
        total = total + k * r_k * s_k
    total = jnp.where(total > 0, total, 1.0)
    return np.log(np.pi) - np.pi**2 * u / 2.0 + jnp.log(total)


def log_standard_density(
    u: Float[ArrayLike, "..."], w: Float[ArrayLike, "..."]
) -> Float[Array, "..."]:
    r"""$\log f(u \mid 0, 1, w)$: lower-boundary density of the standardised process.

    Args:
        u: normalised decision time $t / a^2$, > 0 (dimensionless).
        w: relative start point $z / a$ in (0, 1).

    Returns:
        The log density, selecting the small- or large-time series per element by the
        Navarro & Fuss (2009) term counts.
    """
    u, w = jnp.broadcast_arrays(jnp.asarray(u), jnp.asarray(w))
    small = _use_small_time(u)
    return jnp.where(small, _log_small_time(u, w), _log_large_time(u, w))


def log_lower_density(
    t: Float[ArrayLike, "..."],
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv: Float[ArrayLike, "..."],
) -> Float[Array, "..."]:
    r"""Log density (1/s) of first passage through the lower boundary at decision time ``t``.

    $\log f(t \mid v, s_v, a, w)$ of the module docstring; $t \le 0$ gives $-\infty$.

    Args:
        t: decision time, s.
        v: mean drift rate, 1/s (unit diffusion coefficient, noise 1/sqrt(s)).
        a: boundary separation (units of the noise, sqrt(s)).
        w: relative start point in (0, 1).
        sv: across-trial standard deviation of the drift, 1/s (>= 0).
    """
    t, v, a, w, sv = jnp.broadcast_arrays(*map(jnp.asarray, (t, v, a, w, sv)))
    positive = t > 0
    # "Double where": evaluate the series only at positive times so that neither the value
    # nor the gradient of the discarded branch is NaN.
    t_safe = jnp.where(positive, t, jnp.ones_like(t))
    u = t_safe / a**2
    var_t = 1.0 + sv**2 * t_safe
    log_f = (
        log_standard_density(u, w)
        - 2.0 * jnp.log(a)
        - 0.5 * jnp.log(var_t)
        + (sv**2 * a**2 * w**2 - 2.0 * a * v * w - v**2 * t_safe) / (2.0 * var_t)
    )
    return jnp.where(positive, log_f, -jnp.inf)


def log_density(
    t: Float[ArrayLike, "..."],
    upper: ArrayLike,
    v: Float[ArrayLike, "..."],
    a: Float[ArrayLike, "..."],
    w: Float[ArrayLike, "..."],
    sv: Float[ArrayLike, "..."],
) -> Float[Array, "..."]:
    r"""Log joint density of (boundary, decision time); ``upper`` selects the boundary.

    The upper boundary is the lower one of the mirrored process ($v \to -v$,
    $w \to 1 - w$). Units as in :func:`log_lower_density`.
    """
    upper = jnp.asarray(upper).astype(bool)
    v = jnp.asarray(v)
    w = jnp.asarray(w)
    v_eff = jnp.where(upper, -v, v)
    w_eff = jnp.where(upper, 1.0 - w, w)
    return log_lower_density(t, v_eff, a, w_eff, sv)
