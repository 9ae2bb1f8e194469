"""The Bayesian DDM benchmark driver (benchmarks/bench_bayes.py) without HSSM or sampling.

Checks only what needs no sampler: the driver's arguments, the commands it would run, that
a missing peer interpreter is reported as a failed fit rather than an exception, and the
report it writes from given results (ratios and ESS per second computed from them).
"""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_bayes", ROOT / "benchmarks" / "bench_bayes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_and_quick(bench):
    a = bench.parse_args([])
    assert (a.rounds, a.trials, a.chains, a.warmup, a.draws) == (2, [500, 2000], 4, 500, 500)
    assert a.samplers == ["pymc", "numpyro"] and (a.subjects, a.subject_trials) == (14, 285)
    assert (a.ms_mass, a.ms_chains, a.ms_hier) == ("auto", "sequential", "centred")
    q = bench.parse_args(["--quick", "--samplers", ""])
    assert (q.rounds, q.trials, q.warmup, q.draws, q.samplers) == (1, [500], 200, 200, [])


@pytest.mark.parametrize(
    "argv", [["--rounds", "0"], ["--trials", "5"], ["--trials", "a,b"], ["--draws", "0"]]
)
def test_bad_arguments(bench, argv):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)


def test_engines_and_missing_peer(bench, tmp_path):
    a = bench.parse_args(["--trials", "500", "--subjects", "0", "--peers-python", "/nonexistent"])
    a.tmp = tmp_path
    eng = bench._engines(a)
    assert list(eng) == ["single-500"]
    kind, data, cmds = eng["single-500"]
    assert kind == "single" and list(cmds)[0] == "multiscale"
    assert "--worker" in cmds["multiscale"] and "numpyro" in cmds["HSSM, numpyro NUTS"]
    assert "error" in bench._run(cmds["HSSM, numpyro NUTS"], a)


def test_render_ratios(bench):
    common = dict(max_rhat=1.002, divergences=0, sds={"v": 0.1})
    raw = {
        "machine": "test", "load_before": "1", "started": "now", "settings": [4, 500, 500],
        "results": {"single-500": {
            "multiscale": [dict(common, sample_s=10.0, sample_cpu_s=5.0, first_s=20.0,
                                min_ess_bulk=1000.0, means={"v": 1.0}, engine="ms",
                                versions={"jax": "x"})],
            "HSSM, numpyro NUTS": [dict(common, sample_s=30.0, sample_cpu_s=20.0, build_s=2.0,
                                        min_ess_bulk=1500.0, means={"v": 1.01}, engine="h",
                                        versions={"pymc": "y"})],
            "HSSM, PyMC NUTS (default)": [{"error": "exit 1: boom"}],
        }},
    }  # fmt: skip
    text = bench.render(raw)
    assert "| 3.0x | 4.0x |" in text  # wall and CPU time over multiscale's
    assert "| 100.00 | 200.00 |" in text  # multiscale: 1000 ESS / 10 s wall, / 5 s CPU
    assert "failed: exit 1: boom" in text
    assert "| v | 1.0 | 1.0000 (0.1000) | 1.0100 (0.1000) |" in text
    # with per-parameter bulk ESS: the median column and the Monte Carlo SE sd / sqrt(ESS)
    runs = raw["results"]["single-500"]
    runs["multiscale"][0]["ess_bulk"] = {"v": 1000.0, "a": 3000.0, "z": 2000.0}
    text = bench.render(raw)
    assert "| 1000 | 2000 | 100.00 | 200.00 |" in text
    assert "| v | 1.0 | 1.0000 +- 0.0032 (0.1000) |" in text


def test_hier_engines_pass_the_parameterisation(bench, tmp_path):
    a = bench.parse_args(["--trials", "", "--ms-baseline", "--samplers", "numpyro"])
    a.tmp = tmp_path
    kind, _, cmds = bench._engines(a)["hier"]
    mine, base = cmds["multiscale"], cmds[bench._BASELINE]
    assert mine[mine.index("--ms-hier") + 1] == "centred"
    assert base[base.index("--ms-hier") + 1] == "non-centred"
    assert "hier" in cmds["HSSM, numpyro NUTS"]
