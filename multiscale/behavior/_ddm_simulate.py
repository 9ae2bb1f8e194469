r"""Exact sampling of the Wiener first passage (boundary and decision time).

For a trial with fixed drift $v$, boundary separation $a$ and relative start $w$, the
boundary is drawn with its probability $P_c = F_c(\infty)$ and the decision time by
inverting the conditional CDF, $F_c(T) = U P_c$. Both come from the first-passage CDF of
:mod:`._ddm_cdf` (series accurate to about $10^{-10}$), so the sample is exact up to that
accuracy and the root tolerance: the root is found by bisection in $\log(T/a^2)$ over
$[10^{-12}, 50]$ (a relative width of $2^{-40} \cdot 31.6 < 10^{-10}$ after 40 halvings).
For $U > 1/2$ the survival $P_c - F_c(T) = (1 - U) P_c$ is solved instead, computed
directly from the large-time series, so that the far tail is resolved. At $T = 50 a^2$
the survival is below $e^{-25 \pi^2} < 10^{-100}$: every trial ends with a response.

References:
    Navarro DJ, Fuss IG (2009) J Math Psychol 53:222-230.
    Blurton SP, Kesselmeier M, Gondan M (2012) J Math Psychol 56:470-475.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ._ddm_cdf import log_lower_increment

_LOG_U_MIN = float(np.log(1e-12))
_LOG_U_MAX = float(np.log(50.0))
_N_BISECT = 40


def sample_first_passage(
    key: PRNGKeyArray,
    v: Float[Array, " n"],
    a: Float[Array, ""] | Float[Array, " n"],
    w: Float[Array, " n"],
) -> tuple[Float[Array, " n"], Bool[Array, " n"]]:
    r"""Decision time (s) and boundary (True: upper, at $a$) of each trial.

    Args:
        key: PRNG key.
        v: drift of each trial, 1/s (already drawn from its across-trial distribution).
        a: boundary separation (> 0), one for all trials or one per trial.
        w: relative start of each trial in (0, 1).

    Returns:
        ``(t, upper)``.
    """
    dtype = v.dtype
    k_choice, k_time = jr.split(key)
    zero = jnp.zeros_like(v)
    inf = jnp.full_like(v, jnp.inf)
    p_lower = jnp.exp(log_lower_increment(zero, inf, v, a, w, 0.0))
    upper = jr.uniform(k_choice, v.shape, dtype) >= p_lower
    v_e = jnp.where(upper, -v, v)
    w_e = jnp.where(upper, 1.0 - w, w)
    log_p = log_lower_increment(zero, inf, v_e, a, w_e, 0.0)
    u = jr.uniform(k_time, v.shape, dtype)
    head = u < 0.5
    # F(T) = u P on the head, survival(T) = (1 - u) P on the tail; log(0) = -inf is fine.
    target = jnp.where(head, jnp.log(u), jnp.log1p(-u)) + log_p
    a2 = a**2

    def halve(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        t = a2 * jnp.exp(mid)
        value = log_lower_increment(
            jnp.where(head, 0.0, t), jnp.where(head, t, jnp.inf), v_e, a, w_e, 0.0
        )
        go_right = jnp.where(head, value < target, value > target)
        return jnp.where(go_right, mid, lo), jnp.where(go_right, hi, mid)

    lo = jnp.full_like(v, _LOG_U_MIN)
    hi = jnp.full_like(v, _LOG_U_MAX)
    lo, hi = jax.lax.fori_loop(0, _N_BISECT, halve, (lo, hi))
    return a2 * jnp.exp(0.5 * (lo + hi)), upper
