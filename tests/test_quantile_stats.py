"""Ratcliff & Tuerlinckx (2002) quantile statistics G^2 and chi^2 for the DDM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from _ddm_sim import simulate_ddm

import multiscale as ms
from multiscale.behavior import (
    chi_squared,
    ddm_defective_cdf,
    g_squared,
    quantile_bins,
)

COHERENCES = (0.0, 0.064, 0.128, 0.256, 0.512)


def _data(n_per=400, k=10.0, a=1.4, t0=0.3, p_outlier=0.0, seed=0):
    rng = np.random.default_rng(seed)
    coh = np.repeat(COHERENCES, n_per)
    choice, rt, keep = simulate_ddm(rng, coh.size, k * coh, a, t0=t0, p_outlier=p_outlier)
    return ms.behavior.Trials(rt=rt, choice=choice, condition=coh[keep])


def _model(k, a, t0, p_outlier=0.0):
    return ms.behavior.ProportionalRateDDM(k=k, a=a, t0=t0, p_outlier=p_outlier)


def test_defective_cdf_matches_closed_form_and_simulation(float64):
    m = _model(10.0, 1.4, 0.3)
    trials = _data(n_per=2000, seed=1)
    for c in (0.064, 0.256):
        f, total = ddm_defective_cdf(m, jnp.asarray([0.45, 0.6, 0.9]), 1, jnp.asarray(c))
        p1 = float(ms.behavior.ddm_choice_probability(m, c))
        assert abs(float(total) - p1) < 2e-4
        sel = np.asarray(trials.condition) == c
        rt, ch = np.asarray(trials.rt)[sel], np.asarray(trials.choice)[sel]
        emp = [np.mean((ch == 1) & (rt <= t)) for t in (0.45, 0.6, 0.9)]
        # Binomial SE of an empirical proportion from 2000 trials is <= 0.011.
        np.testing.assert_allclose(np.asarray(f), emp, atol=0.035)


def test_bins_hold_the_quantile_fractions():
    bins = quantile_bins(_data())
    counts = np.asarray(bins.counts)
    assert counts.sum() == np.asarray(bins.n).sum()
    full = np.isfinite(np.asarray(bins.edges)).all(-1)
    shares = counts[full] / counts[full].sum(-1, keepdims=True)
    np.testing.assert_allclose(shares.mean(0), [0.1, 0.2, 0.2, 0.2, 0.2, 0.1], atol=0.01)
    # 51.2 % coherence has almost no errors: that response is one bin.
    assert not full[-1, 0] and full[-1, 1]


def test_g2_at_the_truth_is_chi2_sized_and_minimum_recovers_parameters(float64):
    trials = _data(seed=2)
    bins = quantile_bins(trials)
    df = bins.n_bins - len(COHERENCES) - 3
    g2_true = float(g_squared(_model(10.0, 1.4, 0.3), bins))
    # Well inside the chi^2(df) distribution (p > 0.001 either side).
    assert scipy.stats.chi2.ppf(0.001, df) < g2_true < scipy.stats.chi2.ppf(0.999, df)

    def loss(x):
        return g_squared(_model(*x), bins)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    res = scipy.optimize.minimize(
        lambda x: tuple(np.asarray(v, float) for v in value_and_grad(jnp.asarray(x))),
        x0=[7.0, 1.0, 0.25],
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.1, 50), (0.2, 5), (0.05, 0.6)],
    )
    k, a, t0 = res.x
    assert res.fun <= g2_true + 1e-6
    np.testing.assert_allclose([k, a, t0], [10.0, 1.4, 0.3], rtol=0.1)
    assert float(chi_squared(_model(*res.x), bins)) < scipy.stats.chi2.ppf(0.999, df)


def test_gradient_matches_finite_differences(float64):
    bins = quantile_bins(_data(n_per=200, seed=3))
    f = lambda x: g_squared(_model(x[0], x[1], x[2], p_outlier=0.02), bins)
    x = jnp.asarray([9.0, 1.5, 0.28])
    g = np.asarray(jax.grad(f)(x))
    eps = 1e-6
    fd = [(float(f(x.at[i].add(eps))) - float(f(x.at[i].add(-eps)))) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-4)


def test_fast_guesses_move_g2_little_but_the_plain_likelihood_a_lot(float64):
    """Ratcliff & Tuerlinckx's point: a few contaminant RTs shift one bin count each."""
    clean = _data(seed=4)
    rt = np.concatenate([np.asarray(clean.rt), np.full(5, 0.12)])
    choice = np.concatenate([np.asarray(clean.choice), np.ones(5, int)])
    cond = np.concatenate([np.asarray(clean.condition), np.full(5, 0.128)])
    dirty = ms.behavior.Trials(rt=rt, choice=choice, condition=cond)
    m = _model(10.0, 1.4, 0.3)
    dg2 = float(g_squared(m, quantile_bins(dirty)) - g_squared(m, quantile_bins(clean)))
    dll = float(ms.behavior.ddm_log_likelihood(m, clean) - ms.behavior.ddm_log_likelihood(m, dirty))
    assert np.isfinite(dg2) and dg2 < 20.0
    assert dll == np.inf  # without a contaminant, an RT below t0 is impossible


def test_bad_quantiles():
    trials = _data(n_per=50)
    with pytest.raises(ValueError, match="quantiles"):
        quantile_bins(trials, quantiles=(0.5, 0.3))
    with pytest.raises(ValueError, match="min_count"):
        quantile_bins(trials, min_count=1)
