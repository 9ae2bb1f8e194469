"""``multiscale fit --model circuit --free PATH`` and ``--out`` for the circuit fit."""

import json

import numpy as np
import pandas as pd
import pytest

from multiscale.cli import main
from multiscale.cli._fit_circuit_free import DEFAULT_FREE, circuit_paths, resolve_free


def test_free_resolves_paths_and_lists_the_valid_ones(tmp_path, capsys):
    assert resolve_free(None) == DEFAULT_FREE
    assert resolve_free(["sigma_noise", "readout.temperature", "tau_decay"]) == (
        "circuit.sigma_noise",
        "readout.temperature",
        "circuit.nmda.tau_decay",
    )
    paths = circuit_paths()
    # Only positive scalars can be freed on the log scale (V = -55 mV cannot).
    assert set(DEFAULT_FREE) <= set(paths) and "circuit.V" not in paths
    data = tmp_path / "trials.csv"
    data.write_text("rt,correct,coh\n0.5,1,0.1\n0.6,0,0.1\n")
    argv = ["fit", str(data), "--condition", "coh"]
    assert main([*argv, "--model", "circuit", "--free", "J_NMDA"]) == 2
    err = capsys.readouterr().err
    assert "--free 'J_NMDA'" in err and "circuit.sigma_noise" in err and "readout.threshold" in err
    assert main([*argv, "--free", "sigma_noise"]) == 2
    assert "--model circuit" in capsys.readouterr().err
    assert main([*argv, "--model", "circuit", "--free", "I_0", "--free", "circuit.I_0"]) == 2
    assert "twice" in capsys.readouterr().err


@pytest.mark.slow
def test_free_replaces_the_fitted_set_and_out_saves_it(tmp_path):
    # Plumbing (2 Adam steps, 8 paths): the fit reports and saves exactly the freed
    # parameters. Slow: compiling the circuit simulation takes about 30 s of CPU time.
    from multiscale.cli._fit import fit_command

    rng = np.random.default_rng(0)
    coh = np.repeat([0.032, 0.128, 0.512], 40)
    frame = pd.DataFrame(
        dict(rt=rng.uniform(0.4, 1.0, coh.size), correct=rng.random(coh.size) < 0.8, coh=coh)
    )
    frame["correct"] = frame["correct"].astype(int)
    data = tmp_path / "trials.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "circuit.json"
    options = dict(n_paths=8, steps=2, n_starts=1, n_paths_eval=16)
    result = fit_command(
        data, model="circuit", condition="coh", likelihood="summary", circuit_options=options,
        free=["sigma_noise", "readout.threshold"], output=out,
    )  # fmt: skip
    assert list(result["parameters"]) == ["sigma_noise", "threshold"]
    assert result["n_parameters"] == 2 and result["output"] == str(out)
    saved = json.loads(out.read_text())
    assert saved["parameters"] == {n: p["value"] for n, p in result["parameters"].items()}
    assert saved["info"]["n_trials"] == coh.size
    with pytest.raises(FileExistsError):
        fit_command(data, model="circuit", condition="coh", output=out)
