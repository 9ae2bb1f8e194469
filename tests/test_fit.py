"""Fitting: constraints, fit/optimize, Laplace standard errors, DDM recovery, the CLI piece."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pandas as pd
import pytest
from _ddm_sim import simulate_ddm

import multiscale as ms
from multiscale.cli._fit import fit_command, format_fit
from multiscale.fit import ddm_negative_log_likelihood as _nll, fit_ddm_trials


class _Gauss(eqx.Module):
    mu: jax.Array = eqx.field(converter=jnp.asarray, metadata=ms.fit.constraint(ms.fit.Real()))
    sigma: jax.Array = eqx.field(
        converter=jnp.asarray, metadata=ms.fit.constraint(ms.fit.Positive())
    )


def _gauss_nll(m, x):
    return jnp.sum(0.5 * ((x - m.mu) / m.sigma) ** 2 + jnp.log(m.sigma) + 0.5 * jnp.log(2 * jnp.pi))


def test_constraints_round_trip():
    m = ms.behavior.DDM(v=-0.5, a=1.3, z=0.4, t0=0.25)
    u = ms.fit.to_unconstrained(m)
    assert float(u.v) == -0.5 and float(u.a) != 1.3
    back = ms.fit.to_constrained(u)
    for name in ("v", "a", "z", "t0"):
        np.testing.assert_allclose(getattr(back, name), getattr(m, name), rtol=1e-5)
    with pytest.raises(ValueError, match="high > low"):
        ms.fit.Bounded(1.0, 0.0)


def test_fit_gaussian_and_laplace_standard_errors(key):
    x = jr.normal(key, (400,)) * 2.0 + 1.0
    m, hist = ms.fit.fit(
        _Gauss(mu=0.0, sigma=1.0),
        _gauss_nll,
        x,
        optimizer=optax.lbfgs(),
        steps=200,
        key=key,
        patience=20,
    )
    np.testing.assert_allclose(m.mu, jnp.mean(x), rtol=1e-4)
    np.testing.assert_allclose(m.sigma, jnp.std(x), rtol=1e-4)
    assert hist.converged and hist.steps_taken < 200
    se = ms.fit.standard_errors(m, _gauss_nll, x)
    # Analytic: SE(mu) = sigma / sqrt(n), SE(sigma) = sigma / sqrt(2 n) at the MLE.
    np.testing.assert_allclose(se.mu, m.sigma / np.sqrt(400), rtol=1e-3)
    np.testing.assert_allclose(se.sigma, m.sigma / np.sqrt(800), rtol=1e-3)


def test_filter_spec_freezes_leaves_and_multistart(key):
    x = jnp.linspace(-1.0, 3.0, 50)
    start = _Gauss(mu=0.0, sigma=1.0)
    only_mu = eqx.tree_at(
        lambda q: (q.mu, q.sigma), jax.tree.map(lambda _: False, start), (True, False)
    )
    # optax's Adam mixes Python floats and int32 step counts, which strict promotion rejects.
    with jax.numpy_dtype_promotion("standard"):
        m, hist = ms.fit.fit(
            start,
            _gauss_nll,
            x,
            optimizer=optax.adam(0.1),
            steps=300,
            key=key,
            filter_spec=only_mu,
            n_starts=3,
            chunk=100,
        )
    assert float(m.sigma) == 1.0
    np.testing.assert_allclose(m.mu, 1.0, atol=1e-3)
    assert hist.start_losses.shape == (3,)
    assert float(hist.start_losses[hist.best_start]) == float(jnp.min(hist.start_losses))
    assert ms.fit.n_parameters(m, only_mu) == 1
    with pytest.raises(ValueError, match="no trainable leaves"):
        ms.fit.fit(start, _gauss_nll, x, steps=10, key=key, filter_spec=lambda _: False)


def test_aic_bic():
    assert float(ms.fit.aic(10.0, 3)) == 26.0
    np.testing.assert_allclose(ms.fit.bic(10.0, 3, 100), 3 * np.log(100) + 20.0, rtol=1e-6)


@pytest.fixture(scope="module")
def ddm_data():
    rng = np.random.default_rng(7)
    coh = np.repeat([0.0, 0.05, 0.1, 0.2], 400)
    choice, rt, keep = simulate_ddm(rng, coh.size, 8.0 * coh, 1.4, t0=0.3, p_outlier=0.02)
    return ms.behavior.Trials(
        rt=rt.astype(np.float32), choice=choice, condition=coh[keep].astype(np.float32)
    )


def test_ddm_recovery_and_brute_force_grid(ddm_data):
    fitted, se, spec, hist = fit_ddm_trials(ddm_data, key=jr.key(0))
    assert hist.converged
    truth = dict(k=8.0, a=1.4, t0=0.3)
    for name, value in truth.items():
        est, err = float(getattr(fitted, name)), float(getattr(se, name))
        # Within 4 SE (the Euler walk's overshoot biases a upward by ~1 %) and 10 %.
        assert abs(est - value) < 4 * err + 0.02 * value, (name, est, err)
        assert abs(est - value) < 0.1 * value, (name, est)
    # Brute force: the analytic likelihood on a wide grid that does not depend on the fit.
    ks = jnp.linspace(6.0, 10.0, 17)
    as_ = jnp.linspace(1.3, 1.6, 16)
    ts = jnp.linspace(0.27, 0.33, 16)
    K, A, T = jnp.meshgrid(ks, as_, ts, indexing="ij")

    def nll(k, a, t0):
        return _nll(eqx.tree_at(lambda m: (m.k, m.a, m.t0), fitted, (k, a, t0)), ddm_data)

    grid = jax.jit(jax.vmap(nll))(K.ravel(), A.ravel(), T.ravel())
    best = int(jnp.argmin(grid))
    # The fit is at least as good as the best grid point, and within one grid step of it.
    assert float(_nll(fitted, ddm_data)) <= float(grid[best]) + 1e-2
    i, j, k = np.unravel_index(best, K.shape)
    assert abs(float(ks[i]) - float(fitted.k)) <= 0.25
    assert abs(float(as_[j]) - float(fitted.a)) <= 0.02
    assert abs(float(ts[k]) - float(fitted.t0)) <= 0.004


def test_vmap_optimize_over_subjects(ddm_data):
    # Four "subjects" (the same trials, four starts) fitted at once; all reach one optimum.
    one = ms.behavior.ProportionalRateDDM(k=5.0, a=1.5, t0=0.2)
    spec = eqx.tree_at(
        lambda m: (m.k, m.a, m.t0), jax.tree.map(lambda _: False, one), (True, True, True)
    )
    make = lambda k: ms.behavior.ProportionalRateDDM(k=k, a=1.5, t0=0.2)
    run = eqx.filter_jit(
        eqx.filter_vmap(
            lambda k: ms.fit.optimize(
                make(k), _nll, ddm_data, optimizer=ms.fit.newton(), steps=15, filter_spec=spec
            )
        )
    )
    fitted, losses = run(jnp.array([3.0, 5.0, 8.0, 12.0]))
    assert losses.shape == (4, 15)
    np.testing.assert_allclose(fitted.k, fitted.k[0], rtol=1e-3)
    np.testing.assert_allclose(losses[:, -1], losses[0, -1], rtol=1e-5)


def test_fit_command_csv(tmp_path, ddm_data):
    df = pd.DataFrame(
        dict(
            rt=np.asarray(ddm_data.rt),
            correct=np.asarray(ddm_data.choice),
            coherence=np.asarray(ddm_data.condition),
        )
    )
    path = tmp_path / "trials.csv"
    df.to_csv(path, index=False)
    result = fit_command(path, model="ddm", condition="coherence")
    json.dumps(result)
    assert result["n_trials"] == ddm_data.n_trials and result["n_parameters"] == 3
    assert set(result["parameters"]) == {"k", "a", "t0"}
    np.testing.assert_allclose(result["aic"], 2 * 3 + 2 * result["nll"], rtol=1e-6)
    assert "PyDDM" in result["report"] and "NLL" in format_fit(result)
    with pytest.raises(ValueError, match="model must be"):
        fit_command(path, model="lca", condition="coherence")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="Our refit on the summary (binomial + Gaussian mean RT with the model's own RT "
    "variance) gives k = 12.87, A = 0.727, t_R = 0.314 s and a 0 % mean RT of 842 ms vs 826 ms "
    "in the data (16 ms > 12 ms); the [D] fit used the data's SEMs, which the summary lacks.",
)
def test_refit_mean_rt_within_12_ms():
    from multiscale.fit import fit_proportional_rate_summary

    fitted, _, _ = fit_proportional_rate_summary(key=jr.key(0))
    df = ms.data.roitman_shadlen_2002()
    rt = ms.behavior.ddm_mean_rt(fitted, jnp.asarray(df["coherence"].to_numpy(), jnp.float32))
    np.testing.assert_allclose(rt, df["mean_rt"].to_numpy(), atol=0.012)


def test_newton_matches_lbfgs_and_runs_under_vmap(key):
    x = jr.normal(key, (300,)) * 0.5 + 2.0
    start = _Gauss(mu=0.0, sigma=1.0)
    m, hist = ms.fit.fit(
        start, _gauss_nll, x, optimizer=ms.fit.newton(), steps=60, key=key, patience=5, chunk=5
    )
    np.testing.assert_allclose(m.mu, jnp.mean(x), rtol=1e-5)
    np.testing.assert_allclose(m.sigma, jnp.std(x), rtol=1e-4)
    assert hist.converged
    # Loss never increases: rejected steps leave the parameters where they were.
    assert bool(jnp.all(jnp.diff(hist.loss) <= 1e-3))
    xs = jnp.stack([x, x + 1.0])
    run = jax.vmap(
        lambda d: ms.fit.optimize(start, _gauss_nll, d, optimizer=ms.fit.newton(), steps=30)
    )
    fitted, _ = run(xs)
    np.testing.assert_allclose(fitted.mu, jnp.mean(xs, axis=1), rtol=1e-4)
