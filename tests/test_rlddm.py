"""The RLDDM (Pedersen, Frank & Biele 2017, Psychon Bull Rev 24:1234): values learnt by
the delta rule drive the DDM; data in HDDM's RLDDM columns; recovery by maximum
likelihood; ``multiscale fit --model rlddm``."""

import json

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

import multiscale as ms
from multiscale.behavior import RLDDM, RLTrials
from multiscale.cli import main

TRUE = RLDDM(alpha=0.3, scaler=4.0, a=1.5, t0=0.3)
FREE = [ms.fit.Free(lambda m, f=f: getattr(m, f)) for f in ("alpha", "scaler", "a", "t0")]
START = RLDDM(alpha=0.2, scaler=2.0, a=1.2, t0=0.2)


def _nll(m, t):
    return -jnp.sum(m.log_density(t))


def _reference_drifts(alpha, alpha_neg, scaler, choice, feedback, block, q0):
    """The delta rule in plain Python, trial by trial."""
    v, q, prev = [], None, None
    for c, r, b, q_init in zip(choice, feedback, block, q0, strict=True):
        if b != prev:
            q, prev = [q_init, q_init], b
        v.append(scaler * (q[1] - q[0]))
        pe = r - q[c]
        q[c] += (alpha if (alpha_neg is None or pe >= 0) else alpha_neg) * pe
    return np.array(v)


@pytest.mark.parametrize("alpha_negative", [None, 0.05])
def test_drifts_follow_the_delta_rule_with_resets(alpha_negative):
    rng = np.random.default_rng(0)
    n = 40
    choice = rng.integers(0, 2, n)
    feedback = rng.integers(0, 2, n).astype(float)
    block = np.repeat([0, 1, 2], [15, 10, 15])
    q0 = np.repeat([0.5, 0.0, 0.3], [15, 10, 15])
    t = RLTrials(rt=np.full(n, 0.6), choice=choice, feedback=feedback, block=block, q_init=q0)
    m = RLDDM(alpha=0.3, scaler=4.0, alpha_negative=alpha_negative)
    ref = _reference_drifts(0.3, alpha_negative, 4.0, choice, feedback, block, q0)
    np.testing.assert_allclose(np.asarray(m.drifts(t)), ref, rtol=1e-5, atol=1e-6)


def test_simulated_learner_prefers_the_better_option_and_gradient_is_exact():
    cond = jnp.full(300, 0.8)
    t = jax.jit(lambda k: TRUE.simulate(cond, key=k))(jr.key(0))
    assert float(t.choice[150:].mean()) > 0.75  # learnt: option 1 pays 80 %
    # A learner that does not learn stays at chance (its values never move from 0.5).
    frozen = RLDDM(alpha=1e-6, scaler=4.0, a=1.5, t0=0.3)
    u = jax.jit(lambda k: frozen.simulate(cond, key=k))(jr.key(0))
    assert abs(float(u.choice.mean()) - 0.5) < 0.1
    # The likelihood's gradient in the learning rate matches central differences.
    f = jax.jit(lambda a: _nll(RLDDM(alpha=a, scaler=4.0, a=1.5, t0=0.3), t))
    g = float(jax.grad(f)(jnp.asarray(0.3)))
    h = 1e-3
    fd = float(f(jnp.asarray(0.3 + h)) - f(jnp.asarray(0.3 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=2e-2, abs=0.2)


def _hddm_table(seed: int = 1, subjects: int = 2) -> pd.DataFrame:
    rows = []
    for s in range(subjects):
        for split, p in ((1, 0.8), (2, 0.7)):
            t = TRUE.simulate(jnp.full(120, p), key=jr.key(seed * 10 + s * 2 + split))
            rows.append(
                pd.DataFrame(
                    dict(
                        subj_idx=s,
                        response=np.asarray(t.choice),
                        rt=np.asarray(t.rt),
                        trial=np.arange(1, 121),
                        split_by=split,
                        feedback=np.asarray(t.feedback),
                        q_init=0.5,
                    )
                )
            )
    # Shuffled rows: the loader orders them by subject, split_by and trial.
    return pd.concat(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_loader_orders_blocks_and_checks_columns():
    df = _hddm_table()
    trials, report = ms.data.load_rl_trials(df)
    assert trials.n_trials == len(df) == report.n_trials
    assert np.unique(np.asarray(trials.block)).tolist() == [0, 1, 2, 3]
    assert int(trials.first().sum()) == 4
    first = df.sort_values(["subj_idx", "split_by", "trial"]).iloc[0]
    assert float(trials.rt[0]) == pytest.approx(first.rt)
    with pytest.raises(ValueError, match="feedback"):
        ms.data.load_rl_trials(df.drop(columns="feedback"))
    with pytest.raises(ValueError, match="each trial once"):
        ms.data.load_rl_trials(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(TypeError, match="RLTrials"):
        TRUE.log_density(ms.behavior.Trials(rt=[0.5], choice=[1]))
    with pytest.raises(ValueError, match="alpha"):
        RLDDM(alpha=1.5)


def test_command_line_fit_recovers_the_learner(tmp_path, capsys):
    path = tmp_path / "rl.csv"
    _hddm_table(seed=2, subjects=3).to_csv(path, index=False)
    assert main(["fit", str(path), "--model", "rlddm", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["parameters"]
    truth = {"alpha": 0.3, "scaler": 4.0, "a": 1.5, "t0": 0.3}
    for name, value in truth.items():
        assert abs(p[name]["value"] - value) <= 3 * p[name]["se"] + 1e-3, (name, p[name])


def _estimates_and_se(fitted, t):
    """Values and Laplace SEs (delta method from the unconstrained scale)."""
    u, rebuild = ms.fit.parameterize(fitted, FREE)
    cov = np.linalg.inv(np.asarray(jax.hessian(lambda u: _nll(rebuild(u), t))(u)))

    def forward(u):
        return jnp.stack([tr.forward(x) for tr, x in zip(rebuild.transforms, u, strict=True)])

    se = np.sqrt(np.diag(cov)) * np.abs(np.asarray(jax.jacfwd(forward)(u)).diagonal())
    return np.asarray(forward(u)), se


@pytest.mark.slow
def test_recovery_over_ten_data_sets():
    """10 simulated learners (400 trials, reward 0.8 / 0.2 with alternating sides):
    each parameter within 2 Laplace SEs of the truth in >= 8 of 10 data sets and every
    fit at a checked optimum."""
    cond = jnp.tile(jnp.asarray([0.8, 0.2]), 200)
    sim = jax.jit(lambda k: TRUE.simulate(cond, key=k))
    truth = np.array([0.3, 4.0, 1.5, 0.3])
    inside = []
    for i in range(10):
        t = sim(jr.key(100 + i))
        fitted, history = ms.fit.fit(
            START, _nll, t, free=FREE, optimizer=ms.fit.lbfgs(), steps=300, key=jr.key(i),
            progress=False,
        )  # fmt: skip
        assert history.converged
        values, se = _estimates_and_se(fitted, t)
        inside.append(np.abs(values - truth) <= 2 * se)
    assert np.all(np.mean(inside, axis=0) >= 0.8), np.mean(inside, axis=0)
