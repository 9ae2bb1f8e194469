"""``multiscale fit --model lba|racing``: parameter recovery from the models' own simulators.

Slow: compiling each model's likelihood, its L-BFGS fit and its Hessian takes 15 s (LBA)
to 45 s (racing diffusion) of CPU time, whatever the number of trials.
"""

import json

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest

import multiscale as ms
from multiscale.cli import main

# Parameters where the start range A is identified (A comparable to the gap B; with a
# small A both models' A runs to 0 within its SE on 2000 trials, Tillman et al. 2020).
_TRUTH = {
    "lba": (ms.behavior.LBA, dict(v1=2.5, v0=1.0, k=3.0, A=0.8, B=0.4, t0=0.25)),
    "racing": (ms.behavior.RacingDiffusion, dict(v1=3.0, v0=1.5, k=2.0, A=1.0, B=0.5, t0=0.2)),
}


def _simulated_csv(path, model: str, n: int = 2000):
    cls, truth = _TRUTH[model]
    true = cls(**{k: jnp.float32(v) for k, v in truth.items()}, p_outlier=0.0)
    coh = jnp.tile(jnp.asarray([0.0, 0.128, 0.256, 0.512], jnp.float32), n // 4)
    t = true.simulate(coh, key=jr.key(1))
    frame = pd.DataFrame(
        dict(rt=np.asarray(t.rt), correct=np.asarray(t.choice), coh=np.asarray(coh))
    )
    frame.to_csv(path, index=False)
    return truth


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lba", "racing"])
def test_race_model_recovers_its_simulated_parameters(model, tmp_path, capsys):
    # 2000 trials (choice 1 = correct) at coherences 0-0.512; every parameter within 3
    # Laplace SEs of its true value, at a checked optimum, and within 15 % (LBA) or 35 %
    # (racing: its rates and start range trade off, SEs 6-16 %). Measured (seed 1): LBA
    # errors +7, +8, +3, +12, +1, +1 %; racing +21, +31, +4, +29, +9, -3 % (v1, v0, k, A,
    # B, t0), all within 2.7 SEs.
    data = tmp_path / "trials.csv"
    truth = _simulated_csv(data, model)
    out = tmp_path / "fit.json"
    argv = ["fit", str(data), "--model", model, "--condition", "coh", "--json"]
    assert main([*argv, "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    p = result["parameters"]
    rtol = 0.15 if model == "lba" else 0.35
    assert list(p) == list(truth) and result["n_parameters"] == 6
    assert result["converged"] is True, result["convergence"]
    for name, value in truth.items():
        assert abs(p[name]["value"] - value) < 3 * p[name]["se"], (name, p[name])
        assert abs(p[name]["value"] - value) < rtol * value, (name, p[name])
    n = result["n_trials"]
    assert n == 2000
    np.testing.assert_allclose(result["aic"], 12 + 2 * result["nll"], rtol=1e-6)
    np.testing.assert_allclose(result["bic"], 6 * np.log(n) + 2 * result["nll"], rtol=1e-6)
    # The saved point estimates load back into the model.
    loaded, info = ms.fit.load_point_estimates(
        out, _TRUTH[model][0](), [ms.fit.Free(lambda m, f=f: getattr(m, f), name=f) for f in p]
    )
    for name in p:
        assert float(getattr(loaded, name)) == pytest.approx(p[name]["value"], rel=1e-6)
    assert info["n_trials"] == n and info["converged"] is True
    # The file is never overwritten (refused before fitting).
    assert main([*argv, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_race_models_refuse_summary_likelihood_and_existing_out(tmp_path, capsys):
    data = tmp_path / "trials.csv"
    data.write_text("rt,correct,coh\n0.5,1,0.1\n0.6,0,0.1\n")
    out = tmp_path / "fit.json"
    out.write_text("{}")
    argv = ["fit", str(data), "--model", "lba", "--condition", "coh"]
    assert main([*argv, "--likelihood", "summary"]) == 2
    assert "circuit only" in capsys.readouterr().err
    assert main([*argv, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "{}"
    assert main(["fit", str(data), "--model", "racing", "--condition", "coh", "--by", "coh"]) == 2
    assert "--by" in capsys.readouterr().err
