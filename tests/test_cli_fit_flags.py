"""``multiscale fit --out``, ``--sampler nuts`` and ``--by`` on a small simulated data set."""

import json

import jax.random as jr
import numpy as np
import pandas as pd
import pytest
from _ddm_sim import simulate_ddm

import multiscale as ms
from multiscale.cli import main
from multiscale.cli._fit_flags import ddm_free


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    # 400 trials of a proportional-rate DDM (k = 9/s, a = 1.6, t0 = 0.25 s), accuracy-coded,
    # in two "subjects" of 200 trials.
    coh = np.tile([0.0, 0.032, 0.128, 0.512], 100)
    choice, rt, keep = simulate_ddm(np.random.default_rng(5), coh.size, 9.0 * coh, 1.6, t0=0.25)
    subject = np.where(np.arange(coh.size) % 2 == 0, "s1", "s2")[keep]
    path = tmp_path_factory.mktemp("fit_flags") / "trials.csv"
    frame = pd.DataFrame(dict(rt=rt, correct=choice, coh=coh[keep], who=subject))
    frame.to_csv(path, index=False)
    return path


def _json(capsys):
    out, err = capsys.readouterr()
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"JSON holds {c}")), err


@pytest.mark.parametrize("suffix", [".json", ".nc"])
def test_out_saves_the_ddm_fit_and_never_overwrites(data_csv, tmp_path, capsys, suffix):
    out = tmp_path / f"fit{suffix}"
    assert main(["fit", str(data_csv), "--condition", "coh", "--out", str(out), "--json"]) == 0
    result, _ = _json(capsys)
    assert result["output"] == str(out)
    start, _ = ms.behavior.ProportionalRateDDM(k=1.0, a=1.0, t0=0.1), None
    loaded, info = ms.fit.load_point_estimates(out, start, ddm_free())
    for name in ("k", "a", "t0"):
        assert float(getattr(loaded, name)) == pytest.approx(
            result["parameters"][name]["value"], rel=1e-6
        )
    assert info["n_trials"] == result["n_trials"] and info["nll"] == pytest.approx(result["nll"])
    # A second run is refused before fitting (exit 2: bad input), the file unchanged;
    # --output is the old spelling of the same flag.
    before = out.read_bytes()
    assert main(["fit", str(data_csv), "--condition", "coh", "--output", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before


def test_out_refuses_an_unknown_suffix_and_other_models(data_csv, tmp_path, capsys):
    argv = ["fit", str(data_csv), "--condition", "coh"]
    assert main([*argv, "--out", str(tmp_path / "fit.csv")]) == 2
    assert ".json or .nc" in capsys.readouterr().err
    assert main([*argv, "--sampler", "nuts", "--out", str(tmp_path / "p.json")]) == 2
    assert "netCDF" in capsys.readouterr().err
    assert main([*argv, "--by", "who", "--out", str(tmp_path / "c.json")]) == 2
    assert "--by" in capsys.readouterr().err
    assert main([*argv, "--sampler", "nuts", "--draws", "0"]) == 2
    assert not list(tmp_path.iterdir())


def test_nuts_reports_the_posterior_and_writes_netcdf(data_csv, tmp_path, capsys):
    out = tmp_path / "posterior.nc"
    argv = ["fit", str(data_csv), "--condition", "coh", "--sampler", "nuts"]
    argv += ["--draws", "100", "--chains", "2", "--out", str(out), "--json"]
    assert main(argv) == 0
    result, _ = _json(capsys)
    assert {"nll", "n_trials", "parameters", "posterior"} <= set(result)
    post = result["posterior"]
    assert post["chains"] == 2 and post["draws"] == 100 and post["divergences"] >= 0
    idata = ms.fit.load_posterior(out)
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 100
    for name, truth in (("k", 9.0), ("a", 1.6), ("t0", 0.25)):
        p = post["parameters"][name]
        assert set(p) >= {"mean", "sd", "r_hat", "ess_bulk", "ess_tail"}
        low, high = [p[k] for k in p if k.startswith("hdi_")]
        assert low < p["mean"] < high and p["sd"] > 0
        assert result["parameters"][name]["value"] == p["mean"]
        assert float(idata.posterior[name].mean()) == pytest.approx(p["mean"], rel=1e-5)
        # The posterior mean lies near the MLE and the simulated truth (400 trials).
        assert abs(p["mean"] - result["mle"][name]) < 2 * p["sd"], (name, p)
        assert abs(p["mean"] - truth) < 5 * p["sd"], (name, p)
    # 2 x 100 draws cannot reach ESS >= 100 per chain: the text must say so.
    assert post["converged"] is False
    from multiscale.cli._fit import format_fit

    text = format_fit(result)
    assert "WARNING: the posterior has NOT converged" in text
    assert "divergent transitions:" in text and "r_hat" in text


def test_by_fits_each_level_separately(data_csv, capsys):
    argv = ["fit", str(data_csv), "--condition", "coh", "--by", "who"]
    assert main([*argv, "--json"]) == 0
    result, _ = _json(capsys)
    assert result["by"] == "who" and list(result["levels"]) == ["s1", "s2"]
    frame = pd.read_csv(data_csv)
    for level in ("s1", "s2"):
        one = result["levels"][level]
        trials, _ = ms.data.load_trials(frame[frame.who == level], condition="coh")
        fitted, se, _, _ = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
        assert one["n_trials"] == trials.n_trials == int((frame.who == level).sum())
        for name in ("k", "a", "t0"):
            value = result["parameters"][f"{name}[{level}]"]["value"]
            assert value == one["parameters"][name]["value"]
            np.testing.assert_allclose(value, float(getattr(fitted, name)), rtol=1e-5)
    assert result["n_trials"] == len(frame) and result["n_parameters"] == 6
    nll = sum(r["nll"] for r in result["levels"].values())
    assert result["nll"] == pytest.approx(nll)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.count("\ns1 ") == 1 and text.count("\ns2 ") == 1 and "total: NLL" in text
    assert main([*argv[:-1], "nobody"]) == 2
    assert "no such column" in capsys.readouterr().err


@pytest.mark.slow
def test_gddm_branch_reports_six_parameters_with_ses(data_csv, capsys):
    # Plumbing only (3 L-BFGS steps): names, units, NLL/AIC/BIC, JSON, the text table.
    # Slow: 37 s on a loaded 2-core machine, mostly compiling the Fokker-Planck solver
    # and its Hessian.
    from multiscale.cli._fit import fit_command, format_fit

    result = fit_command(data_csv, model="gddm", condition="coh", gddm_options=dict(steps=3))
    json.dumps(result)
    params = result["parameters"]
    assert set(params) == {"k", "leak", "B", "tau", "t0", "st0"}
    assert params["t0"]["unit"].startswith("s") and all(p["se"] >= 0 for p in params.values())
    n = result["n_trials"]
    assert n == len(pd.read_csv(data_csv)) and result["n_parameters"] == 6
    np.testing.assert_allclose(result["aic"], 2 * 6 + 2 * result["nll"], rtol=1e-6)
    np.testing.assert_allclose(result["bic"], 6 * np.log(n) + 2 * result["nll"], rtol=1e-6)
    assert "Fokker-Planck" in result["model"] and "collapse" in format_fit(result)
    with pytest.raises(ValueError, match="circuit only"):
        fit_command(data_csv, model="gddm", condition="coh", likelihood="summary")


@pytest.mark.slow
def test_by_with_nuts_samples_each_level(data_csv, capsys):
    # --by with --sampler nuts: each level's MLE, then its posterior. 1 chain x 50 draws
    # cannot reach ESS >= 100 per chain, so the table must warn. Slow: two samplings
    # (about 60 s on a loaded 2-core machine).
    argv = ["fit", str(data_csv), "--condition", "coh", "--by", "who", "--sampler", "nuts"]
    assert main([*argv, "--draws", "50", "--chains", "1", "--json"]) == 0
    result, _ = _json(capsys)
    for level in ("s1", "s2"):
        one = result["levels"][level]
        post = one["posterior"]
        assert post["chains"] == 1 and post["draws"] == 50 and post["converged"] is False
        for name in ("k", "a", "t0"):
            p = post["parameters"][name]
            assert result["parameters"][f"{name}[{level}]"]["value"] == p["mean"]
            assert abs(p["mean"] - one["mle"][name]) < 2 * p["sd"], (level, name, p)
    from multiscale.cli._fit import format_fit

    text = format_fit(result)
    assert "posterior means" in text and "WARNING: the posterior has NOT converged" in text
