"""``multiscale fit --formula``: DDM parameters as regressions on the data's columns."""

import json

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

import multiscale as ms
from multiscale.cli import main


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    # v = 3 * coherence, a = 1.5 * exp(-0.4 [speed]), t0 = 0.3 s; 600 trials.
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {
            "instruction": rng.choice(["accuracy", "speed"], n),
            "coherence": rng.choice([0.0, 0.1, 0.3], n),
        }
    )
    a = 1.5 * np.exp(-0.4 * (df.instruction == "speed").to_numpy())
    true = ms.behavior.DDM(
        v=jnp.asarray(3.0 * df.coherence.to_numpy(), jnp.float32),
        a=jnp.asarray(a, jnp.float32),
        t0=0.3,
    )
    t = ms.behavior.ddm_simulate(true, jnp.zeros(n), key=jr.key(4))
    df["rt"], df["response"] = np.asarray(t.rt), np.asarray(t.choice)
    path = tmp_path_factory.mktemp("formula") / "trials.csv"
    df.to_csv(path, index=False)
    return path


def test_formula_fit_reports_named_coefficients_and_saves(table_csv, tmp_path, capsys):
    out_path = tmp_path / "fit.json"
    args = ["fit", str(table_csv), "--formula", "v ~ 0 + coherence"]
    args += ["--formula", "a ~ 1 + instruction", "--json", "--output", str(out_path)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    p = result["parameters"]
    assert set(p) == {"v:coherence", "a:Intercept", "a:instruction[T.speed]", "t0"}
    # Within 3 standard errors of the generating values.
    for name, true in (
        ("v:coherence", 3.0),
        ("a:Intercept", np.log(1.5)),
        ("a:instruction[T.speed]", -0.4),
        ("t0", 0.3),
    ):
        assert abs(p[name]["value"] - true) < 3 * p[name]["se"] + 1e-3, (name, p[name])
    assert result["converged"] is True
    saved = json.loads(out_path.read_text())
    assert saved["parameters"]["a:instruction[T.speed]"] == pytest.approx(
        p["a:instruction[T.speed]"]["value"], rel=1e-6
    )
    # The file is never overwritten.
    assert main(args) != 0
    assert "never overwrite" in capsys.readouterr().err


def test_formula_errors_name_the_fix(table_csv, capsys):
    assert main(["fit", str(table_csv), "--formula", "a ~ 1 + (1|instruction)"]) != 0
    assert "sample_posterior" in capsys.readouterr().err
    assert main(["fit", str(table_csv), "--model", "circuit", "--formula", "a ~ 1"]) != 0
    assert "--model ddm" in capsys.readouterr().err
    assert main(["fit", str(table_csv)]) != 0
    assert "required: --condition" in capsys.readouterr().err


@pytest.mark.slow
def test_formula_with_nuts_reports_the_posterior(table_csv, tmp_path, capsys):
    # --formula with --sampler nuts: the regression's posterior from its MLE (2 chains x
    # 100 draws), written as netCDF. Slow: about 30 s on a loaded 2-core machine.
    out = tmp_path / "posterior.nc"
    args = ["fit", str(table_csv), "--formula", "v ~ 0 + coherence"]
    args += ["--formula", "a ~ 1 + instruction", "--sampler", "nuts", "--draws", "100"]
    assert main([*args, "--chains", "2", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    post = result["posterior"]
    assert post["chains"] == 2 and post["draws"] == 100
    assert post["priors"]["a:instruction[T.speed]"] == "Normal(0, 1)"
    idata = ms.fit.load_posterior(out)
    for name, true in (
        ("v:coherence", 3.0),
        ("a:Intercept", np.log(1.5)),
        ("a:instruction[T.speed]", -0.4),
        ("t0", 0.3),
    ):
        p = post["parameters"][name]
        assert result["parameters"][name]["value"] == p["mean"]
        assert abs(p["mean"] - result["mle"][name]) < 2 * p["sd"], (name, p)
        assert abs(p["mean"] - true) < 3 * p["sd"] + 1e-3, (name, p)
        assert float(idata.posterior[name].mean()) == pytest.approx(p["mean"], rel=1e-5)
