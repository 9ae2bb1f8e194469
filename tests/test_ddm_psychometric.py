"""Psychometric fits (Weibull, logistic) report data without a maximum-likelihood fit:
``identified`` False and NaN parameters, never the optimiser's start values (Weibull
alpha 0.10, beta 1.30)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import multiscale as ms

B = ms.behavior
C = jnp.asarray([0.0, 0.032, 0.064, 0.128, 0.256, 0.512])
N = jnp.full((6,), 200.0)
_weibull = eqx.filter_jit(B.fit_weibull)
_logistic = eqx.filter_jit(B.fit_logistic)


def _unidentified(fit, nll):
    assert not bool(fit.identified)
    params = (fit.alpha, fit.beta) if isinstance(fit, B.WeibullFit) else (fit.bias, fit.slope)
    assert all(np.isnan(float(x)) for x in params)
    np.testing.assert_allclose(float(fit.neg_log_likelihood), nll, rtol=1e-5, atol=1e-6)


def test_no_decided_trials():
    zero = jnp.zeros(6)
    _unidentified(_weibull(C, zero, zero), 0.0)
    _unidentified(_logistic(C, zero, zero), 0.0)
    # psychometric() of a summary in which no trial decided (n_decided = 0).
    summary = B.ChoiceSummary(
        coherence=C, n=N, n_decided=zero, n_correct=zero, p_correct=zero * jnp.nan,
        mean_rt_correct=zero * jnp.nan, mean_rt_error=zero * jnp.nan,
        quantiles=jnp.asarray([0.1, 0.3, 0.5, 0.7, 0.9]),
        rt_quantiles_correct=jnp.full((6, 5), jnp.nan), rt_quantiles_error=jnp.full((6, 5), jnp.nan),
    )  # fmt: skip
    _unidentified(B.psychometric(summary), 0.0)


def test_all_correct_and_all_at_chance():
    # All correct at c > 0 (and half at c = 0): the supremum is the saturated likelihood,
    # -log L = 200 log 2 from the zero-coherence level alone.
    k = jnp.where(C > 0, N, N / 2)
    _unidentified(_weibull(C, k, N), 200 * np.log(2))
    # Chance everywhere: the Weibull's alpha runs to infinity.
    _unidentified(_weibull(C, N / 2, N), 6 * 200 * np.log(2))
    # Separated: at chance up to 6.4 %, all correct above.
    _unidentified(_weibull(C, jnp.where(C > 0.07, N, N / 2), N), 3 * 200 * np.log(2))


def test_identified_data_fit_and_batch():
    # Counts from a Weibull with alpha 0.072, beta 1.25 (10 000 trials per level):
    # identified, recovered, and a vmapped batch mixes identified and empty data sets.
    true = B.WeibullFit(jnp.asarray(0.072), jnp.asarray(1.25), jnp.asarray(0.0))
    k = jnp.round(true(C) * 1e4)
    fit = _weibull(C, k, jnp.full((6,), 1e4))
    assert bool(fit.identified)
    np.testing.assert_allclose([float(fit.alpha), float(fit.beta)], [0.072, 1.25], rtol=0.02)
    batch = jax.vmap(lambda kk, nn: B.fit_weibull(C, kk, nn))(
        jnp.stack([k, jnp.zeros(6)]), jnp.stack([jnp.full((6,), 1e4), jnp.zeros(6)])
    )
    assert np.asarray(batch.identified).tolist() == [True, False]
    assert np.isfinite(float(batch.alpha[0])) and np.isnan(float(batch.alpha[1]))
