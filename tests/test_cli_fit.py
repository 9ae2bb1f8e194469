"""``multiscale fit`` of the DDM: the phased fit is ``fit_ddm_trials``'s, JSON is strict."""

import json

import jax.random as jr
import numpy as np
import pandas as pd
import pytest
from _ddm_sim import simulate_ddm

import multiscale as ms
from multiscale.cli import main
from multiscale.cli._fit import format_fit


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    # 600 trials of a proportional-rate DDM (k = 9/s, a = 1.6, t0 = 0.25 s), accuracy-coded.
    coh = np.tile([0.0, 0.032, 0.128, 0.512], 150)
    choice, rt, keep = simulate_ddm(np.random.default_rng(3), coh.size, 9.0 * coh, 1.6, t0=0.25)
    path = tmp_path_factory.mktemp("fit") / "trials.csv"
    pd.DataFrame(dict(rt=rt, correct=choice, coh=coh[keep])).to_csv(path, index=False)
    return path, rt


def test_phased_fit_is_the_recipe_and_json_is_strict(data_csv, capsys):
    # The command fits phase by phase (fit, NLL, SEs) with fit_ddm_trials's settings, so
    # that Ctrl-C during the SEs keeps the fit; both must give the same numbers.
    path, _ = data_csv
    assert main(["fit", str(path), "--condition", "coh", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out, parse_constant=lambda c: pytest.fail(f"JSON holds {c}"))
    assert err == ""
    trials, _ = ms.data.load_trials(path, condition="coh")
    fitted, se, spec, hist = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
    for name in ("k", "a", "t0"):
        p = result["parameters"][name]
        np.testing.assert_allclose(p["value"], float(getattr(fitted, name)), rtol=1e-5)
        np.testing.assert_allclose(p["se"], float(getattr(se, name)), rtol=1e-4)
    nll = float(ms.fit.ddm_negative_log_likelihood(fitted, trials))
    np.testing.assert_allclose(result["nll"], nll, rtol=1e-5)
    assert result["converged"] == bool(hist.converged) is True
    details = result["convergence"]
    assert details["checked"] and details["unidentified"] == [] and details["min_eigenvalue"] > 0
    assert details["gradient_norm"] == pytest.approx(hist.check.gradient_norm, rel=1e-3, abs=1e-3)
    assert result["n_parameters"] == ms.fit.n_parameters(fitted, spec) == 3
    assert result["n_trials"] == trials.n_trials and "PyDDM" in result["report"]
    # The simulated truth is recovered within a few SEs.
    for name, truth in (("k", 9.0), ("a", 1.6), ("t0", 0.25)):
        p = result["parameters"][name]
        assert abs(p["value"] - truth) < 4 * p["se"], (name, p)


def test_rt_range_reaches_the_loader(data_csv, capsys, monkeypatch):
    import multiscale.cli._fit as cli_fit

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_fit, "fit", stop)  # the loading is what is tested
    path, rt = data_csv
    high = float(np.quantile(rt, 0.9))
    assert main(["fit", str(path), "--condition", "coh", "--rt-range", "0", str(high)]) == 130
    kept = int(np.sum(rt <= high))
    assert f"fitting the DDM to {kept} trials" in capsys.readouterr().err


def test_format_fit_marks_what_is_missing():
    result = dict(
        model="ddm",
        report="r",
        likelihood="trial",
        parameters={"k": {"value": 9.5, "se": None, "unit": "1/s"}},
        nll=None,
        n_trials=10,
        aic=float("nan"),
        bic=None,
    )
    text = format_fit(result)
    assert "k                9.5          -  1/s" in text
    assert "NLL - (trial likelihood, RT density in 1/s), n = 10, AIC -, BIC -" in text


def test_text_output_prints_the_converged_flag_and_unidentified_parameters(data_csv, capsys):
    path, _ = data_csv
    assert main(["fit", str(path), "--condition", "coh"]) == 0
    assert "converged: yes (gradient norm" in capsys.readouterr().out
    result = dict(
        model="ddm",
        report="r",
        likelihood="trial",
        parameters={"k": {"value": 5.0, "se": None, "unit": "1/s"}},
        nll=1.0,
        n_trials=10,
        aic=1.0,
        bic=1.0,
        converged=False,
        convergence={"reason": "not identified: k", "unidentified": ["k"]},
    )
    text = format_fit(result)
    assert "converged: NO: not identified: k" in text
    assert "unidentified: k (the data do not constrain it)" in text
