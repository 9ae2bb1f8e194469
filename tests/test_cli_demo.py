"""The demo's output folder rule, its results.csv, Wilson intervals and honest 0 % axes."""

import csv
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from multiscale.cli import main
from multiscale.cli._demo_figures import chronometric, psychometric, wilson_interval
from multiscale.cli._demo_output import MARKER, prepare_out, write_results_csv
from multiscale.cli._run import BadInput


def _wilson_by_root(k, n, z):
    """Independent reference: the Wilson bounds are the p with |k/n - p| = z sqrt(p(1-p)/n)."""
    f = lambda p: (k / n - p) ** 2 - z**2 * p * (1 - p) / n
    p_hat = k / n
    # f < 0 just inside (0, 1) next to p_hat, > 0 at the far ends: one root on each side.
    low = 0.0 if k == 0 else brentq(f, 1e-15, min(p_hat, 1 - 1e-12), xtol=1e-14)
    high = 1.0 if k == n else brentq(f, max(p_hat, 1e-12), 1 - 1e-15, xtol=1e-14)
    return low, high


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (587, 1019), (1028, 1028), (1, 2)])
def test_wilson_interval_matches_the_score_test_inversion(k, n):
    z = norm.ppf(0.975)
    low, high = wilson_interval(k, n, z=z)
    np.testing.assert_allclose([low, high], _wilson_by_root(k, n, z), atol=1e-10)
    assert 0 <= low <= k / n <= high <= 1


def test_wilson_interval_closed_form_at_zero_successes():
    # With k = 0 the Wilson interval is [0, z^2 / (n + z^2)] (Brown, Cai & DasGupta 2001):
    # 3.8416 / 13.8416 at n = 10, z = 1.96; the Wald interval would be [0, 0].
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1.96**2 / (10 + 1.96**2), rel=1e-12)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + 1.96**2), rel=1e-12)


def test_wilson_interval_bad_input():
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)


def test_output_folder_rule(tmp_path):
    new = prepare_out(tmp_path / "a" / "b")
    assert (new / MARKER).is_file()
    (tmp_path / "empty").mkdir()
    prepare_out(tmp_path / "empty")
    # A previous demo's output (marker + the demo's own files) is rewritten.
    (new / "report.md").write_text("old")
    (new / "results.csv").write_text("old")
    assert prepare_out(new) == new
    # Anything else is refused, before any work, unless --force (other files survive).
    (new / "notes.txt").write_text("mine")
    with pytest.raises(BadInput, match="not a previous demo's output.*'notes.txt'"):
        prepare_out(new)
    prepare_out(new, force=True)
    assert (new / "notes.txt").read_text() == "mine"
    # An old output without the marker is not recognised.
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.md").write_text("someone's report")
    with pytest.raises(BadInput, match="'report.md'.*--force"):
        prepare_out(old)
    assert (old / "report.md").read_text() == "someone's report"
    with pytest.raises(BadInput, match="is a file"):
        prepare_out(old / "report.md", force=True)


def test_results_csv_round_trip(tmp_path):
    rows = [("alpha, fitted", "7.20 %", "7.4 %", "Roitman & Shadlen 2002"), ("b", "1", "-", "x")]
    write_results_csv(tmp_path / "r.csv", rows, ("quantity", "multiscale", "reference", "source"))
    with open(tmp_path / "r.csv", newline="") as f:
        read = list(csv.reader(f))
    assert read[0] == ["quantity", "multiscale", "reference", "source"]
    assert [tuple(r) for r in read[1:]] == rows


def test_psychometric_draws_zero_coherence_at_zero_with_wilson_bars():
    coherence = np.asarray([0.0, 0.032, 0.064, 0.128, 0.256, 0.512])
    n = np.full(6, 200.0)
    n_correct = np.asarray([98.0, 130, 152, 186, 199, 200])
    summary = types.SimpleNamespace(
        coherence=coherence,
        n_decided=n,
        n_correct=n_correct,
        mean_rt_correct=np.linspace(0.8, 0.4, 6),
        mean_rt_error=np.linspace(0.85, 0.5, 6),
    )
    data = dict(
        coherence=coherence,
        n=np.full(6, 1000),
        p_correct=[0.5, 0.64, 0.78, 0.94, 0.995, 1.0],
        mean_rt_correct=np.linspace(0.83, 0.42, 6),
        mean_rt_error=np.linspace(0.83, 0.5, 6),
    )
    fig, (a, b) = plt.subplots(1, 2)
    psychometric(a, summary, data=data)
    chronometric(b, summary, data=data)
    for ax in (a, b):
        assert ax.get_xscale() == "symlog"
        assert ax.get_xlim()[0] < 0 < ax.get_xticks()[1]
    model_points = a.containers[0]
    x, y = model_points.lines[0].get_data()
    np.testing.assert_array_equal(x, 100 * coherence)  # 0 % drawn at 0, nothing moved
    np.testing.assert_allclose(y, n_correct / n)
    low, high = wilson_interval(n_correct, n)
    segments = model_points.lines[2][0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segments], low)
    np.testing.assert_allclose([s[1][1] for s in segments], high)
    assert len(a.containers) == 2  # model and data, both with bars
    plt.close(fig)


@pytest.mark.slow
def test_demo_writes_results_csv_and_refuses_to_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MULTISCALE_FAST", "1")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["quantity", "multiscale", "reference", "source"]
    assert all(r[0] in printed and r[1] in printed for r in rows[1:])
    assert {p.name for p in out.iterdir()} == {
        MARKER, "report.md", "results.csv", "1_synapse_stdp.png", "2_circuit_vs_monkeys.png",
        "3_ddm_fit.png", "4_nmda_manipulation.png",
    }  # fmt: skip
    (out / "mine.txt").write_text("x")
    assert main(["demo", "--out", str(out)]) == 2
