"""The spiking benchmark driver (benchmarks/bench_spiking.py) without any peer installed.

Checks only what needs no simulator: the driver's arguments, that engines whose
interpreter is missing are reported as missing instead of run, the report it writes from
no results, and the peers' shared spike statistics (rate and ISI CV) on spike trains
whose values are known: a regular train has CV 0, and a Poisson train CV 1 (its ISIs are
exponential; Brette et al. 2007, J Comput Neurosci 23:349, report the COBA network's
irregularity as this CV).
"""

import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("bench_spiking", ROOT / "benchmarks" / "bench_spiking.py")


def test_arguments(bench):
    a = bench.parse_args([])
    assert (a.rounds, a.trials, a.pd, a.omp_active) == (3, 64, False, False)
    q = bench.parse_args(["--quick", "--pd", "--rounds", "5"])
    assert (q.rounds, q.trials, q.pd) == (1, 8, False)
    p = bench.parse_args(["--peers-python", "/x/python", "--only", "NEST", "--pd"])
    assert p.peers_python == "/x/python" and p.pd
    for bad in (["--rounds", "0"], ["--trials", "-1"], ["--pd-rounds", "0"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_missing_peers_are_reported_not_run(bench, tmp_path):
    a = bench.parse_args(["--peers-python", str(tmp_path / "none" / "python")])
    peers = {k: v for k, v in bench.COBA.items() if v[0] == "peers"}
    why = bench._available(peers, a)
    assert set(why) == set(peers) and all("no peers interpreter" in w for w in why.values())
    text = bench.render(a, {}, why, {}, {}, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0), "now")
    for label in peers:
        assert f"| {label} | not run: no peers interpreter" in text
    assert "load average (1 min) 1.0 before and 2.0 after" in text


def test_spike_statistics():
    c = _load("_coba", ROOT / "benchmarks" / "peers" / "_coba.py")
    rng = np.random.default_rng(0)
    # Neuron 0: regular at 20 Hz; neurons 1..N-1: Poisson at 20 Hz for 1 s.
    times, idx = [np.arange(25.0, 1000.0, 50.0)], [np.zeros(20, int)]
    for i in range(1, c.N):
        t = np.cumsum(rng.exponential(50.0, 60))
        t = t[t < 1000.0]
        times.append(t)
        idx.append(np.full(t.size, i))
    s = c.spike_stats(np.concatenate(times), np.concatenate(idx))
    assert s["rate_hz"] == pytest.approx(20.0, rel=0.02)
    # Mean CV over neurons: one regular (0) among ~4000 Poisson (~1, biased low by the
    # finite window and the per-neuron estimate at ~20 ISIs).
    assert 0.85 < s["cv_isi"] < 1.0
    reg = c.spike_stats(times[0], idx[0])
    assert reg["cv_isi"] == pytest.approx(0.0, abs=1e-9) and reg["n_cv_neurons"] == 1
