r"""Closed forms of the drift-diffusion model: choice probability, mean and variance of RT.

For drift $v$, unit noise, boundaries $0$ and $a$ and start $z = w a$ (no across-trial
variability; a centred uniform non-decision time leaves the mean unchanged):

$$P_\mathrm{upper} = \frac{1 - e^{-2 v z}}{1 - e^{-2 v a}}, \qquad
E[T] = \frac{a P_\mathrm{upper} - z}{v}.$$

With $w = 1/2$ and $A = a/2$ these are Palmer, Huk & Shadlen's (2005) eqs. 4-7:
$P = 1/(1 + e^{-2vA})$, $E[T] = (A/v)\tanh(vA)$, and
$\mathrm{Var}[T] = (A/v^3)\,[\tanh(vA) - vA\,\mathrm{sech}^2(vA)]$.
Near $v = 0$ the quotients are 0/0; their Taylor series are used there
($E[T] \approx z(a - z)[1 + v(a - 2z)/3]$, $\mathrm{Var}[T] \approx A^4 (2/3 - 8 x^2/15)$,
$x = vA$), with "double where" so the gradients stay finite.

References:
    Palmer J, Huk AC, Shadlen MN (2005) J Vis 5:376-404.
    Cox DR, Miller HD (1965) The Theory of Stochastic Processes, ch. 5 (Wiener absorption).
"""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

from ._ddm import AbstractDDM


def _fields(model: AbstractDDM, condition):
    condition = jnp.asarray(condition)
    if not jnp.issubdtype(condition.dtype, jnp.floating):
        condition = condition.astype(float)
    v = model.drift(condition)
    dtype = v.dtype
    return v, jnp.asarray(model.a, dtype), jnp.asarray(model.z, dtype), dtype


def ddm_choice_probability(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""$P(\text{choice} = 1)$ per condition (exact for $s_v = s_z = 0$; contaminant ignored).

    With accuracy coding (upper = correct) this is the psychometric function.
    """
    v, a, w, _ = _fields(model, condition)
    z = w * a
    small = jnp.abs(v * a) < 1e-4
    v_safe = jnp.where(small, 1.0, v)
    exact = jnp.expm1(-2.0 * v_safe * z) / jnp.expm1(-2.0 * v_safe * a)
    series = w + v * z * (a - z) / a
    return jnp.where(small, series, exact)


def ddm_mean_decision_time(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    """Mean decision time $E[T]$ in s over both choices (exact for $s_v = s_z = 0$)."""
    v, a, w, _ = _fields(model, condition)
    z = w * a
    small = jnp.abs(v * a) < 1e-3
    v_safe = jnp.where(small, 1.0, v)
    p = jnp.expm1(-2.0 * v_safe * z) / jnp.expm1(-2.0 * v_safe * a)
    exact = (a * p - z) / v_safe
    series = z * (a - z) * (1.0 + v * (a - 2.0 * z) / 3.0)
    return jnp.where(small, series, exact)


def ddm_mean_rt(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""Mean RT $t_0 + E[T]$ in s (contaminant ignored): Palmer's chronometric function."""
    return model.t0 + ddm_mean_decision_time(model, condition)


def ddm_rt_variance(
    model: AbstractDDM, condition: Float[ArrayLike, "*b"] | float
) -> Float[Array, "*b"]:
    r"""Variance of RT in s² for an unbiased start ($w = 1/2$; exact for $s_v = s_z = 0$).

    Decision-time variance from Palmer et al. (2005) plus $s_t^2/12$ of the uniform
    non-decision time. The start point ``z`` of the model is assumed to be 1/2.
    """
    v, a, _, dtype = _fields(model, condition)
    A = a / 2.0
    x = v * A
    small = jnp.abs(x) < 0.05
    x_safe = jnp.where(small, 1.0, x)
    v_safe = jnp.where(small, 1.0, v)
    exact = A / v_safe**3 * (jnp.tanh(x_safe) - x_safe / jnp.cosh(x_safe) ** 2)
    series = A**4 * (2.0 / 3.0 - 8.0 / 15.0 * x**2)
    st0 = jnp.asarray(model.st0, dtype)
    return jnp.where(small, series, exact) + st0**2 / 12.0


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
    SD is not carried by published summaries). Units: ``mean_rt`` in s.

    Args:
        model: a DDM (``z`` assumed 1/2 for the variance).
        condition: condition values, shape ``(conditions,)``.
        n: trials per condition.
        n_upper: trials ending at the upper boundary (correct, with accuracy coding).
        mean_rt: mean RT per condition, s.

    Returns:
        The negative log-likelihood (scalar, nats).
    """
    condition = jnp.asarray(condition)
    n = jnp.asarray(n).astype(condition.dtype)
    k = jnp.asarray(n_upper).astype(condition.dtype)
    p = jnp.clip(ddm_choice_probability(model, condition), 1e-7, 1.0 - 1e-7)
    nll_choice = -jnp.sum(k * jnp.log(p) + (n - k) * jnp.log1p(-p))
    mu = ddm_mean_rt(model, condition)
    var = ddm_rt_variance(model, condition) / n
    nll_rt = jnp.sum(0.5 * (jnp.asarray(mean_rt) - mu) ** 2 / var + 0.5 * jnp.log(2 * jnp.pi * var))
    return nll_choice + nll_rt
