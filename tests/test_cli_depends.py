"""``multiscale fit --depends-on PARAM=COLUMN``: one DDM parameter value per level."""

import json

import numpy as np
import pandas as pd
import pytest
from _ddm_sim import simulate_ddm

from multiscale.cli import main

_TRUTH = {"k": 9.0, "a[accuracy]": 1.6, "a[speed]": 1.0, "t0": 0.25}


@pytest.fixture(scope="module")
def speed_accuracy_csv(tmp_path_factory):
    # A speed-accuracy design: a proportional-rate DDM (k = 9/s, t0 = 0.25 s) with the
    # boundary separation a = 1.6 under the accuracy and 1.0 under the speed instruction
    # (the manipulation moves the boundary; Ratcliff & McKoon 2008), 300 trials each.
    rng = np.random.default_rng(3)
    frames = []
    for instruction, a in (("accuracy", 1.6), ("speed", 1.0)):
        coh = np.tile([0.0, 0.032, 0.128, 0.512], 75)
        choice, rt, keep = simulate_ddm(rng, coh.size, 9.0 * coh, a, t0=0.25)
        frames.append(
            pd.DataFrame(dict(rt=rt, correct=choice, coh=coh[keep], instruction=instruction))
        )
    frame = pd.concat(frames).sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame["only"] = "x"
    frame["who"] = np.where(np.arange(len(frame)) % 2 == 0, "s1", "s2")
    path = tmp_path_factory.mktemp("depends") / "trials.csv"
    frame.to_csv(path, index=False)
    return path


def test_depends_on_recovers_one_boundary_per_instruction(speed_accuracy_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    argv = ["fit", str(speed_accuracy_csv), "--condition", "coh"]
    argv += ["--depends-on", "a=instruction", "--out", str(out), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    p = result["parameters"]
    assert list(p) == ["k", "a[accuracy]", "a[speed]", "t0"]
    assert result["n_trials"] == 600 and result["n_parameters"] == 4
    assert result["converged"] is True
    for name, truth in _TRUTH.items():
        # Within 3 Laplace SEs of the simulated value (Euler walk, dt 0.2 ms).
        assert abs(p[name]["value"] - truth) < 3 * p[name]["se"], (name, p[name])
    # The speed boundary is resolved from the accuracy one (>= 5 SEs apart).
    gap = p["a[accuracy]"]["value"] - p["a[speed]"]["value"]
    assert gap > 5 * np.hypot(p["a[accuracy]"]["se"], p["a[speed]"]["se"])
    np.testing.assert_allclose(result["aic"], 2 * 4 + 2 * result["nll"], rtol=1e-6)
    saved = json.loads(out.read_text())
    assert saved["parameters"]["a[speed]"] == pytest.approx(p["a[speed]"]["value"], rel=1e-6)
    assert saved["info"]["n_trials"] == 600
    # The table names the levels.
    from multiscale.cli._fit import format_fit

    assert "a[speed]" in format_fit(result) and "instruction = speed" in format_fit(result)


def test_depends_on_combines_with_a_formula_for_another_parameter(tmp_path, capsys):
    # v = 3 * coherence (the formula), a = 1.5 (accuracy) and 1.5 exp(-0.4) = 1.005 (speed)
    # (--depends-on), t0 = 0.3 s; 600 trials of the DDM's own simulator.
    import jax.numpy as jnp
    import jax.random as jr

    import multiscale as ms

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        dict(
            instruction=rng.choice(["accuracy", "speed"], 600),
            coherence=rng.choice([0.0, 0.1, 0.3], 600),
        )
    )
    a = 1.5 * np.exp(-0.4 * (frame.instruction == "speed").to_numpy())
    true = ms.behavior.DDM(
        v=jnp.asarray(3.0 * frame.coherence.to_numpy(), jnp.float32),
        a=jnp.asarray(a, jnp.float32),
        t0=0.3,
    )
    t = ms.behavior.ddm_simulate(true, jnp.zeros(600), key=jr.key(4))
    frame["rt"], frame["response"] = np.asarray(t.rt), np.asarray(t.choice)
    data = tmp_path / "trials.csv"
    frame.to_csv(data, index=False)
    argv = ["fit", str(data), "--formula", "v ~ 0 + coherence", "--depends-on", "a=instruction"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    p = result["parameters"]
    assert list(p) == ["v:coherence", "a[accuracy]", "a[speed]", "t0"]
    assert "a ~ 0 + C(instruction)" in result["model"] and result["converged"] is True
    truth = {"v:coherence": 3.0, "a[accuracy]": 1.5, "a[speed]": 1.5 * np.exp(-0.4), "t0": 0.3}
    for name, value in truth.items():
        assert abs(p[name]["value"] - value) < 3 * p[name]["se"], (name, p[name])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--depends-on", "b=instruction"], "unknown parameter 'b'"),
        (["--depends-on", "a=instr"], "no column 'instr' (columns: rt, correct, coh"),
        (["--depends-on", "a=only"], "one level"),
        (["--depends-on", "a"], "PARAM=COLUMN"),
        (["--depends-on", "a=instruction", "--depends-on", "a=who"], "twice"),
        (["--depends-on", "a=instruction", "--formula", "a ~ 1"], "also has a --formula"),
        (["--depends-on", "a=instruction", "--sampler", "nuts"], "maximum likelihood"),
        (["--depends-on", "a=instruction", "--model", "gddm"], "--model ddm"),
    ],
)
def test_depends_on_errors_name_the_argument(speed_accuracy_csv, capsys, extra, message):
    assert main(["fit", str(speed_accuracy_csv), "--condition", "coh", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err, err


@pytest.mark.slow
def test_depends_on_every_parameter_equals_fitting_each_level(speed_accuracy_csv, capsys):
    # With k, a and t0 all per level the likelihood factorises over the levels, so the
    # joint fit must equal --by instruction (separate fits), value by value. Also: --by with
    # --depends-on. The RT range makes the contaminant's range (rt_max = 2 s) the same in
    # both. Slow: 4 fits, about 60 s on a loaded 2-core machine.
    argv = ["fit", str(speed_accuracy_csv), "--condition", "coh", "--json"]
    argv += ["--rt-range", "0.1", "2.0"]
    every = [x for p in ("k", "a", "t0") for x in ("--depends-on", f"{p}=instruction")]
    assert main([*argv, *every]) == 0
    joint = json.loads(capsys.readouterr().out)
    assert main([*argv, "--by", "instruction"]) == 0
    separate = json.loads(capsys.readouterr().out)
    assert set(joint["parameters"]) == set(separate["parameters"])
    for name, p in joint["parameters"].items():
        np.testing.assert_allclose(p["value"], separate["parameters"][name]["value"], rtol=2e-3)
        np.testing.assert_allclose(p["se"], separate["parameters"][name]["se"], rtol=2e-2)
    np.testing.assert_allclose(joint["nll"], separate["nll"], atol=1e-2)
    assert main([*argv, "--by", "who", "--depends-on", "a=instruction"]) == 0
    by = json.loads(capsys.readouterr().out)
    assert set(by["levels"]) == {"s1", "s2"}
    assert {"a[accuracy][s1]", "a[speed][s2]", "k[s1]"} <= set(by["parameters"])
