"""The prepared accelerator run (benchmarks/bench_gpu.py) at tiny sizes on CPU.

The script is for a GPU; here it runs its workloads at sizes of seconds and is checked
for what must hold on any device: the result file names the device and the sizes, the
throughput is trials x steps / seconds, the decision circuit's psychometric function
(Wong & Wang 2006, J Neurosci 26:1314: near chance at 0 % and near-perfect at 51.2 %
coherence), the DDM fit's recovery of the parameters that generated its data, a workload
stopped at its budget without losing the others, and ``multiscale bench`` running it only
on request.
"""

import argparse
import importlib.util
import json
import math
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _bench_gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, *args):
    bg = _bench_gpu()
    rc = bg.main(["--tiny", "--out", str(tmp_path), "--data", "none", *args])
    (path,) = tmp_path.glob("gpu_*.json")
    assert path.with_suffix(".md").exists()
    return rc, json.loads(path.read_text()), path


def test_trials_and_ddm_fit_in_process(tmp_path):
    rc, doc, path = _run(tmp_path, "--in-process", "--only", "trials,ddm_fit")
    assert rc == 0
    device = doc["device"]
    assert path.name.startswith(f"gpu_{device['device_kind'].lower()}_{doc['date']}")
    assert doc["jax_version"] and device["platform"] == "cpu"
    assert set(doc["workloads"]) == {"trials", "ddm_fit"}

    trials = doc["workloads"]["trials"]
    r = trials["result"]
    assert trials["status"] == "ok" and r["trials"] >= doc["sizes"]["trials"]
    assert r["steps_per_trial"] == round(r["t1_s"] / r["dt_s"]) == 5000
    assert math.isclose(r["trial_steps_per_s"], r["trials"] * 5000 / r["run_s"], rel_tol=1e-9)
    assert r["diverged"] == 0
    p = dict(zip(r["coherence"], r["p_correct"], strict=True))
    # 100 trials per coherence: chance within 3.5 binomial SDs at 0 %, near 1 at 51.2 %.
    assert abs(p[0.0] - 0.5) < 0.18
    assert p[0.512] >= 0.95

    fit = doc["workloads"]["ddm_fit"]["result"]
    assert fit["data"].startswith("simulated")
    truth = _bench_gpu().SYNTHETIC_DDM
    for name in ("k", "a", "t0"):
        # Within 4 SEs of the generating value, plus the Euler simulation's small bias.
        bias = {"k": 0.2, "a": 0.02, "t0": 0.005}[name]
        assert abs(fit["parameters"][name] - truth[name]) < 4 * fit["se"][name] + bias, name
    assert fit["converged"]


def test_sweep_and_session_in_process(tmp_path):
    rc, doc, _ = _run(tmp_path, "--in-process", "--only", "sweep,session")
    assert rc == 0
    sweep = doc["workloads"]["sweep"]["result"]
    assert sweep["failed"] == 0 and sweep["chunks"] >= 1
    # 12.8 % coherence: the circuit is mostly correct (Wong & Wang 2006, Fig. 3A: ~85-95 %).
    assert 0.6 < sweep["mean_accuracy"] <= 1.0
    session = doc["workloads"]["session"]["result"]
    assert session["circuit_steps"] == 10 * 2 * 1100
    assert 0.0 <= session["p_correct_last"] <= 1.0
    assert np.isfinite([session["d_eta"], session["d_gain"]]).all()


def test_budget_stops_a_workload_and_keeps_the_file(tmp_path):
    # One second is less than importing JAX in a fresh process: the worker is stopped.
    rc, doc, _ = _run(tmp_path, "--only", "trials", "--budget", "trials=1")
    assert rc == 1
    entry = doc["workloads"]["trials"]
    assert entry["status"].startswith("stopped at its budget")
    assert entry["wall_s"] < 30
    # The device is named if the worker got as far as asking JAX before it was stopped.
    assert doc["device"]["device_kind"] in ("unknown", "cpu")


def test_total_budget_skips_what_does_not_fit(tmp_path):
    rc, doc, _ = _run(tmp_path, "--only", "trials,sweep", "--total-budget", "3")
    assert rc == 1
    assert doc["workloads"]["sweep"]["status"].startswith("skipped")


def test_markdown_and_no_overwrite(tmp_path):
    bg = _bench_gpu()
    doc = {
        "date": "2026-12-07",
        "device": {"device_kind": "NVIDIA H100 80GB HBM3", "platform": "gpu"},
        "jax_version": "0.0",
        "python": "3",
        "total_wall_s": 1.0,
        "total_budget_s": 480.0,
        "isolated": True,
        "workloads": {
            "trials": {
                "status": "ok",
                "result": {
                    "trials": 1_000_002,
                    "steps_per_trial": 5000,
                    "first_call_s": 2.0,
                    "run_s": 0.4,
                    "trial_steps_per_s": 1.25e10,
                },
            },  # fmt: skip
            "sweep": {"status": "failed (exit status 1): XlaRuntimeError: RESOURCE_EXHAUSTED"},
            "circuit_fit": {"status": "ok", "result": {"se": {"threshold": float("nan")}}},
        },
    }
    text = bg.markdown(doc)
    assert "1.25e+10 trial-steps/s (goal 1e+10: met)" in text
    assert "RESOURCE_EXHAUSTED" in text
    first = bg.write(doc, tmp_path)
    second = bg.write(doc, tmp_path)
    assert first.name == "gpu_nvidia-h100-80gb-hbm3_2026-12-07.json"
    assert second.name == "gpu_nvidia-h100-80gb-hbm3_2026-12-07_2.json"
    # Strict JSON: a NaN standard error is written as null.
    saved = json.loads(first.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert saved["workloads"]["circuit_fit"]["result"]["se"]["threshold"] is None


def test_multiscale_bench_runs_gpu_only_on_request(tmp_path, monkeypatch):
    from multiscale.cli import _bench
    from multiscale.cli._run import Progress

    folder = tmp_path / "benchmarks"
    (folder / "results").mkdir(parents=True)
    for name in ("bench_a.py", "bench_gpu.py"):
        (folder / name).write_text("")
    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_bench.subprocess, "call", lambda cmd, cwd: calls.append(cmd) or 0)
    progress = Progress()
    for gpu, quick in ((False, False), (True, True)):
        calls.clear()
        args = argparse.Namespace(names=[], quick=quick, gpu=gpu)
        assert _bench.bench_command(args, progress).status == 0
        scripts = [pathlib.Path(c[1]).name for c in calls]
        assert scripts == (["bench_gpu.py"] if gpu else ["bench_a.py"])
        assert ("--quick" in calls[0]) == quick
    calls.clear()
    _bench.bench_command(argparse.Namespace(names=["gpu"], quick=False), progress)
    assert [pathlib.Path(c[1]).name for c in calls] == ["bench_gpu.py"]


@pytest.mark.slow
def test_circuit_fit_in_its_own_process(tmp_path):
    rc, doc, _ = _run(tmp_path, "--only", "circuit_fit")
    entry = doc["workloads"]["circuit_fit"]
    assert rc == 0, entry["status"]
    r = entry["result"]
    assert r["n_paths"] == 16 and r["n_starts"] == 1
    assert all(np.isfinite(v) and v > 0 for v in r["parameters"].values())
    assert np.isfinite(r["nll"])
