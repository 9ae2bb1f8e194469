"""Fitting the Wong–Wang circuit to behavioral summaries (issue 5 (a)/(b), CLI circuit branch).

Small settings throughout (short trials, few paths, few coherences) so that the file runs
in well under a minute on two cores; the Roitman & Shadlen fit itself is a slow test.
"""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

from multiscale.behavior import (
    CircuitBehavior,
    HazardReadout,
    circuit_summary,
    circuit_summary_negative_log_likelihood,
)
from multiscale.circuit import TrialProtocol, WongWang2006
from multiscale.cli._fit import fit_command, format_fit
from multiscale.fit import SummaryData, circuit_free_parameters, fit_circuit_summary


def _model(J=5.2e-4, theta=15.0, ndt=0.3, t1=1.6, dtype=jnp.float32):
    f = lambda x: jnp.asarray(x, dtype)
    return CircuitBehavior(
        circuit=WongWang2006(J_A_ext=f(J)),
        readout=HazardReadout(threshold=f(theta), non_decision_time=f(ndt)),
        protocol=TrialProtocol(dt=1e-3, t_on=0.1, t1=t1),
    )


def test_gradient_matches_finite_differences(float64):
    # With common random numbers the NLL is a smooth function of the parameters between
    # path flips, and autodiff must give its exact derivative. High coherences: every path
    # picks the same attractor, so no path flips within the finite-difference steps.
    model = _model(t1=1.2, dtype=jnp.float64)
    coh = jnp.array([0.256, 0.512])
    data = (coh, jnp.array([500.0, 500.0]), jnp.array([495.0, 500.0]), jnp.array([0.55, 0.43]))
    keys = jr.split(jr.key(2), 6)
    where = lambda m: (m.circuit.J_A_ext, m.readout.threshold, m.readout.non_decision_time)

    def nll(x):
        m = eqx.tree_at(where, model, (x[0], x[1], x[2]))
        return circuit_summary_negative_log_likelihood(m, *data, keys)

    x = jnp.array([5.2e-4, 15.0, 0.3])
    g = jax.jit(jax.grad(nll))(x)
    f = jax.jit(nll)
    for i, h in enumerate((1e-7, 1e-3, 1e-5)):
        e = jnp.zeros(3).at[i].set(h)
        fd = (f(x + e) - f(x - e)) / (2 * h)
        np.testing.assert_allclose(g[i], fd, rtol=2e-3, err_msg=f"parameter {i}")
        assert abs(float(g[i])) > 1.0


def test_no_infinite_nll_for_perfect_or_outlying_conditions():
    model = _model()
    keys = jr.split(jr.key(1), 8)
    coh = jnp.array([0.0, 0.512])
    # 0 errors at 51.2 % (the model's P(correct) rounds to 1 without the contaminant), and
    # a mean RT of 3 s, longer than any trial, at 0 %.
    n = jnp.array([100.0, 100.0])

    @eqx.filter_jit
    @eqx.filter_value_and_grad
    def nll(m, k, rt):
        return circuit_summary_negative_log_likelihood(m, coh, n, k, rt, keys)

    for k, rt in (([50.0, 100.0], [0.8, 0.43]), ([50.0, 0.0], [3.0, 0.43])):
        nll_value, g = nll(model, jnp.array(k), jnp.array(rt))
        assert np.isfinite(float(nll_value))
        assert np.isfinite(float(g.circuit.J_A_ext)) and np.isfinite(float(g.readout.threshold))


def test_zero_coherence_is_symmetric_and_errors_are_slower():
    s = jax.jit(circuit_summary)(_model(), jnp.array([0.0, 0.064]), jr.split(jr.key(4), 32))
    assert float(s.p_correct[0]) == pytest.approx(0.5)
    assert 0.55 < float(s.p_correct[1]) < 0.99
    assert float(s.mean_rt[1]) < float(s.mean_rt[0])


def _recovery_data(paths):
    # Data from known parameters on the fitting paths themselves (n = 2000 per condition),
    # so that the minimum is at the truth up to the rounding of the counts. (With fresh
    # data paths the Monte Carlo error of 16 paths, ~40 ms in mean RT, would swamp a
    # 2000-trial data set; see the fit module.)
    truth = _model(theta=17.0, ndt=0.35, t1=1.2)
    coh = jnp.array([0.128, 0.256, 0.512])
    s = jax.jit(circuit_summary)(truth, coh, paths)
    n = np.full(3, 2000.0)
    return SummaryData(
        np.asarray(coh), n, np.round(np.asarray(s.p_correct) * n), np.asarray(s.mean_rt)
    )


def test_recovers_threshold_with_adam():
    paths = jr.split(jr.key(7), 8)
    start = _model(theta=15.0, ndt=0.35, t1=1.2)
    spec = eqx.tree_at(lambda m: m.readout.threshold, jax.tree.map(lambda _: False, start), True)
    r = fit_circuit_summary(
        _recovery_data(paths), key=jr.key(8), model=start, filter_spec=spec, paths=paths,
        steps=60, n_starts=1, n_paths_eval=8, learning_rate=0.02, newton_steps=0,
    )  # fmt: skip
    assert r.n_parameters == 1 and set(r.se) == {"threshold"}
    assert abs(float(r.model.readout.threshold) - 17.0) < 0.3, r.model.readout.threshold
    assert float(r.model.readout.non_decision_time) == pytest.approx(0.35)


@pytest.mark.slow
def test_recovers_threshold_and_non_decision_time_with_newton():
    # θ and t_nd free (the stimulus gain fixed by the filter); they trade off along a
    # valley in which Adam crawls, so the damped Newton stage does the work here.
    paths = jr.split(jr.key(7), 16)
    start = _model(theta=15.0, ndt=0.25, t1=1.2)
    spec = eqx.tree_at(lambda m: m.circuit.J_A_ext, circuit_free_parameters(start), False)
    r = fit_circuit_summary(
        _recovery_data(paths), key=jr.key(8), model=start, filter_spec=spec, paths=paths,
        steps=1, n_starts=1, n_paths_eval=16, newton_steps=30,
    )  # fmt: skip
    assert r.n_parameters == 2 and set(r.se) == {"threshold", "non_decision_time"}
    assert abs(float(r.model.readout.threshold) - 17.0) < 0.1, r.model.readout.threshold
    assert abs(float(r.model.readout.non_decision_time) - 0.35) < 0.003
    assert float(r.model.circuit.J_A_ext) == pytest.approx(5.2e-4)
    assert all(np.isfinite(v) and v > 0 for v in r.se.values()), r.se


def _csv(tmp_path, scale=1.0):
    rng = np.random.default_rng(0)
    coh = np.repeat([0.0, 0.128, -0.512], 40)
    correct = rng.random(coh.size) < np.where(np.abs(coh) > 0.2, 0.99, 0.8)
    # Signed coherence with HDDM coding: response 1 = the direction of positive coherence.
    response = np.where(coh >= 0, correct, ~correct).astype(int)
    rt = 0.4 + 0.5 * (1 - np.abs(coh)) + 0.05 * rng.random(coh.size)
    path = tmp_path / f"trials_{scale:g}.csv"
    pd.DataFrame(dict(rt=rt, response=response, coherence=scale * coh)).to_csv(path, index=False)
    return path, coh.size


def test_fit_command_circuit_summary_branch(tmp_path):
    path, n = _csv(tmp_path)
    result = fit_command(
        path,
        model="circuit",
        condition="coherence",
        likelihood="summary",
        circuit_options=dict(n_paths=8, steps=5, n_starts=1, newton_steps=0, n_paths_eval=16),
    )
    json.dumps(result)
    assert result["likelihood"] == "summary" and "summary likelihood" in result["model"]
    assert set(result["parameters"]) == {"J_A_ext", "threshold", "non_decision_time"}
    assert result["n_trials"] == n and result["n_parameters"] == 3
    np.testing.assert_allclose(result["aic"], 2 * 3 + 2 * result["nll"], rtol=1e-6)
    assert np.isfinite(result["nll"]) and "circuit" in result["model"]
    assert "(summary likelihood)" in format_fit(result)
    with pytest.raises(ValueError, match="fraction"):
        fit_command(_csv(tmp_path, 100.0)[0], model="circuit", condition="coherence")
    with pytest.raises(ValueError, match="circuit only"):
        fit_command(path, model="ddm", condition="coherence", likelihood="summary")
    with pytest.raises(ValueError, match="likelihood must be"):
        fit_command(path, model="circuit", condition="coherence", likelihood="quantile")


def test_fit_command_circuit_trial_branch(tmp_path):
    # The default: every trial's choice and RT. Tiny sizes (8 paths, 2 Adam steps): this
    # checks the plumbing, not the fit.
    path, n = _csv(tmp_path)
    options = dict(n_paths=8, n_paths_eval=16, steps=2, lbfgs_steps=1, n_starts=1, chunk=8)
    result = fit_command(path, model="circuit", condition="coherence", circuit_options=options)
    json.dumps(result)
    assert result["likelihood"] == "trial" and "trial-level likelihood" in result["model"]
    assert "comparable with the DDM" in result["model"]
    params = result["parameters"]
    assert set(params) == {"J_A_ext", "threshold", "non_decision_time"}
    assert params["non_decision_time"]["unit"] == "s" and params["J_A_ext"]["unit"]
    assert all(np.isnan(p["se"]) or p["se"] > 0 for p in params.values()), params
    assert result["n_trials"] == n and result["n_parameters"] == 3
    np.testing.assert_allclose(result["aic"], 2 * 3 + 2 * result["nll"], rtol=1e-6)
    np.testing.assert_allclose(result["bic"], 3 * np.log(n) + 2 * result["nll"], rtol=1e-6)
    assert np.isfinite(result["nll"]) and isinstance(result["converged"], bool)
    text = format_fit(result)
    assert "RT density in 1/s" in text and "non_decision_time" in text


def test_cli_rejects_summary_likelihood_for_the_ddm(tmp_path, capsys):
    from multiscale.cli import main

    path, _ = _csv(tmp_path)
    argv = ["fit", str(path), "--model", "ddm", "--condition", "coherence"]
    assert main([*argv, "--likelihood", "summary"]) == 2
    assert "circuit only" in capsys.readouterr().err
