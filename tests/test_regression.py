"""Regressions of model parameters on trial covariates, written as formulas.

The designs are checked against hand-built ones; a maximum-likelihood fit of
``v ~ 0 + coherence`` and ``a ~ 1 + instruction`` recovers the simulated coefficients;
a non-centred hierarchical random intercept ``(1|subj_idx)`` is recovered by NUTS (slow).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

import multiscale as ms

V_SLOPE, A_LOG, A_SPEED, T0 = 3.0, np.log(1.5), -0.4, 0.3
SUBJECT_EFFECT = np.array([0.2, -0.1, 0.0, 0.15, -0.2, 0.05])


def simulated_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    subj = rng.integers(0, 6, n)
    df = pd.DataFrame(
        {
            "instruction": rng.choice(["accuracy", "speed"], n),
            "coherence": rng.choice([0.0, 0.1, 0.3], n),
            "subj_idx": subj,
        }
    )
    a = np.exp(A_LOG + A_SPEED * (df.instruction == "speed") + SUBJECT_EFFECT[subj])
    true = ms.behavior.DDM(
        v=jnp.asarray(V_SLOPE * df.coherence.to_numpy(), jnp.float32),
        a=jnp.asarray(a.to_numpy(), jnp.float32),
        t0=T0,
    )
    t = ms.behavior.ddm_simulate(true, jnp.zeros(n), key=jr.key(seed))
    df["rt"] = np.asarray(t.rt)
    df["response"] = np.asarray(t.choice)
    return df


@pytest.fixture(scope="module")
def table():
    return simulated_table(600)


def test_designs_follow_the_formulas(table):
    model, trials, report = ms.data.regression(
        ms.behavior.DDM(a=1.5),
        ["v ~ 0 + coherence", "a ~ 1 + instruction * coherence + (1|subj_idx)"],
        table,
    )
    assert trials.n_trials == len(table) == len(report.rows)
    v, a = model.predictors["v"], model.predictors["a"]
    assert v.columns == ("coherence",)
    assert a.columns == (
        "Intercept",
        "instruction[T.speed]",
        "coherence",
        "instruction[T.speed]:coherence",
    )
    speed = (table.instruction == "speed").to_numpy(float)
    np.testing.assert_allclose(np.asarray(a.X[:, 1]), speed)
    np.testing.assert_allclose(np.asarray(a.X[:, 3]), speed * table.coherence.to_numpy(), 1e-6)
    assert isinstance(a.link, ms.behavior.Log) and isinstance(v.link, ms.behavior.Identity)
    assert a.n_groups == 6 and a.group_labels == (0, 1, 2, 3, 4, 5)
    # The starting model reproduces the base model: a = 1.5 on every trial.
    np.testing.assert_allclose(np.asarray(model.per_trial().a), 1.5, rtol=1e-6)
    assert isinstance(model.predictors["v"].link, ms.behavior.Identity)


def test_rows_dropped_by_the_loader_stay_aligned(table):
    df = table.copy()
    df.loc[[3, 10], "response"] = np.nan  # missed responses are removed by load_trials
    model, trials, report = ms.data.regression(ms.behavior.DDM(), ["a ~ 1 + instruction"], df)
    assert trials.n_trials == len(df) - 2 and 3 not in report.rows
    kept = df.drop(index=[3, 10]).reset_index(drop=True)
    speed = (kept.instruction == "speed").to_numpy(float)
    np.testing.assert_allclose(np.asarray(model.predictors["a"].X[:, 1]), speed)


def test_maximum_likelihood_recovers_the_coefficients(table):
    model, trials, _ = ms.data.regression(
        ms.behavior.DDM(a=1.2, t0=0.25), ["v ~ 0 + coherence", "a ~ 1 + instruction"], table
    )
    keys = list(model.coefficients)
    free = [ms.fit.Free(lambda m, k=k: m.coefficients[k]) for k in keys]
    free.append(ms.fit.Free(lambda m: m.base.t0))
    fitted, history = ms.fit.fit(
        model,
        lambda m, t: -jnp.sum(m.log_density(t)),
        trials,
        free=free,
        optimizer=ms.fit.lbfgs(),
        steps=300,
        key=jr.key(0),
        progress=False,
    )
    c = {k: float(v) for k, v in fitted.coefficients.items()}
    # Tolerances: about 3 standard errors at 600 trials (the subject effects, sd 0.14,
    # are left out of this model and widen a's spread).
    assert c["v:coherence"] == pytest.approx(V_SLOPE, abs=0.9)
    assert c["a:Intercept"] == pytest.approx(A_LOG, abs=0.1)
    assert c["a:instruction[T.speed]"] == pytest.approx(A_SPEED, abs=0.12)
    assert float(fitted.base.t0) == pytest.approx(T0, abs=0.02)
    assert history.converged


def test_save_and_load_regression_estimates(table, tmp_path):
    model, _, _ = ms.data.regression(ms.behavior.DDM(), ["a ~ 1 + instruction"], table)
    free = [ms.fit.Free(lambda m, k=k: m.coefficients[k], name=k) for k in model.coefficients]
    path = ms.fit.save_point_estimates(tmp_path / "fit.json", model, free)
    assert "a:instruction[T.speed]" in path.read_text()


def test_bad_formulas(table):
    base = ms.behavior.DDM()
    with pytest.raises(ValueError, match="random intercepts"):
        ms.data.regression(base, ["a ~ 1 + (coherence|subj_idx)"], table)
    with pytest.raises(ValueError, match="no column 'monkey'"):
        ms.data.regression(base, ["a ~ 1 + (1|monkey)"], table)
    with pytest.raises(ValueError, match="'v ~ 0 \\+ coherence'"):
        ms.data.regression(base, ["v = coherence"], table)
    with pytest.raises(ValueError, match="no field 'drift'"):
        ms.data.regression(base, ["drift ~ coherence"], table)
    with pytest.raises(ValueError, match="formula for 'a'"):
        ms.data.regression(base, ["a ~ 1 + colour"], table)
    df = table.copy()
    df.loc[5, "coherence"] = np.nan
    with pytest.raises(ValueError, match="formula for 'v'"):
        ms.data.regression(base, ["v ~ 0 + coherence"], df)
    with pytest.raises(ValueError, match="links"):
        ms.data.regression(base, ["v ~ coherence"], table, links={"a": ms.behavior.Log()})
    model, trials, _ = ms.data.regression(base, ["v ~ coherence"], table)
    with pytest.raises(ValueError, match="600 rows"):
        model.log_density(ms.behavior.Trials(trials.rt[:10], trials.choice[:10]))


@pytest.mark.slow
def test_hierarchical_random_intercept_recovered_by_nuts(table):
    """Non-centred random intercepts of the boundary per subject (Papaspiliopoulos et al.
    2007): fixed effects within 3 posterior SDs of the truth, the subjects' offsets
    ordered as simulated (rank correlation >= 0.8), no divergences, R-hat < 1.05."""
    pytest.importorskip("blackjax")
    model, trials, _ = ms.data.regression(
        ms.behavior.DDM(a=1.2, t0=0.25),
        ["v ~ 0 + coherence", "a ~ 1 + instruction + (1|subj_idx)"],
        table,
    )
    priors = ms.fit.regression_priors(model) + [
        ms.fit.Prior(lambda m: m.base.t0, ms.fit.Uniform(0.05, 0.6), name="t0")
    ]
    post = ms.fit.sample_posterior(
        model, trials, priors, key=jr.key(1), chains=2, warmup=300, draws=300, predictive=None
    )
    s = post.summary()
    for name, true in (
        ("v:coherence", V_SLOPE),
        ("a:instruction[T.speed]", A_SPEED),
        ("t0", T0),
    ):
        assert abs(s.loc[name, "mean"] - true) < 3 * s.loc[name, "sd"], name
    sd = float(s.loc["a|subj_idx:sd", "mean"])
    effects = np.array([s.loc[f"a|subj_idx[{i}]", "mean"] for i in range(6)]) * sd
    rank = np.corrcoef(np.argsort(np.argsort(effects)), np.argsort(np.argsort(SUBJECT_EFFECT)))
    assert rank[0, 1] >= 0.8
    assert post.divergences == 0
    assert max(post.r_hat.values()) < 1.05
