"""Bad trial data, case by case: each is refused with the exception type and a message that
names the column or argument and the fix (``multiscale.data.load_trials``)."""

import inspect
import os

import numpy as np
import pandas as pd
import pytest

from multiscale.data import HDDM, PYDDM, load_trials

COH = [0.0, 0.032, 0.064, 0.128, 0.256, 0.512]


def frame(n=12, **columns):
    """A plausible PyDDM-style frame of ``n`` trials, with ``columns`` replaced or added."""
    rng = np.random.default_rng(0)
    base = dict(
        rt=0.4 + 0.4 * rng.random(n),
        correct=np.tile([1, 0, 1], n)[:n],
        coh=np.tile(COH, n)[:n],
    )
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


def hddm(n=12, **columns):
    df = frame(n, **columns)
    if "correct" in df:
        df = df.rename(columns={"correct": "response"})
    return df


# (name, data builder (tmp_path -> DataFrame or path), kwargs, exception, match)
FILE_CASES = [
    ("empty file", lambda p: _write(p, ""), {}, ValueError, "is empty"),
    ("header only", lambda p: _write(p, "rt,correct,coh\n"), {}, ValueError, "no rows"),
    (
        "header only, no rt",
        lambda p: _write(p, "correct,coh\n"),
        {},
        ValueError,
        "no 'rt' column",
    ),
    ("a folder", lambda p: p, {}, IsADirectoryError, "is a folder"),
    ("no such file", lambda p: p / "nope.csv", {}, FileNotFoundError, "does not exist"),
    (
        "binary file",
        lambda p: _write(p, b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xfa\x00"),
        {},
        ValueError,
        "not a text CSV",
    ),
    (
        "ragged rows",
        lambda p: _write(p, "rt,correct\n0.5,1\n0.6,1,3,4\n"),
        {},
        ValueError,
        "not a well-formed CSV",
    ),
]

FRAME_CASES = [
    ("rt text", frame(rt=["0.5", "abc"] + ["0.6"] * 10), {}, ValueError, r"'rt'.*2 \('abc'\)"),
    (
        "response text",
        hddm(correct=[1, "left"] + [0] * 10),
        {},
        ValueError,
        r"'response' has non-numeric entries in 1 row\(s\): 2 \('left'\)",
    ),
    ("correct text", frame(correct=["yes"] * 12), {}, ValueError, r"'correct'.*'yes'"),
    (
        "condition text",
        frame(coh=["low", "high"] * 6),
        dict(condition="coh"),
        ValueError,
        r"'coh'.*non-numeric.*'low'",
    ),
    ("rt infinite", frame(rt=[np.inf] + [0.5] * 11), {}, ValueError, "'rt' is infinite in 1"),
    (
        "condition infinite",
        frame(coh=[np.inf] + [0.1] * 11),
        dict(condition="coh"),
        ValueError,
        "'coh' is infinite",
    ),
    ("rt negative", frame(rt=[-0.2] + [0.5] * 11), {}, ValueError, "<= 0"),
    ("rt zero", frame(rt=[0.0] + [0.5] * 11), {}, ValueError, "<= 0"),
    ("rt NaN", frame(rt=[np.nan] + [0.5] * 11), {}, ValueError, "'rt' is NaN"),
    ("rt in ms", frame(rt=np.full(12, 650.0)), {}, ValueError, "milliseconds"),
    ("rt / 1e6", frame(rt=np.full(12, 0.00065)), {}, ValueError, "divided by 1000"),
    (
        "many outliers",
        frame(n=40, rt=np.r_[np.full(36, 0.6), np.full(4, 1e4)]),
        {},
        ValueError,
        "4 of 40 RTs are over 100 times the median",
    ),
    (
        "coherence in percent",
        frame(coh=np.tile([0, 3.2, 6.4, 12.8, 25.6, 51.2], 2)),
        dict(condition="coh"),
        ValueError,
        "'coh' looks like coherence in percent",
    ),
    (
        "signed percent, other name",
        hddm(stim=np.tile([-51.2, -12.8, -3.2, 3.2, 12.8, 51.2], 2)),
        dict(condition="stim"),
        ValueError,
        "'stim' looks like coherence in percent",
    ),
    (
        "coherence column > 1",
        frame(coherence=np.full(12, 5.0)),
        dict(condition="coherence"),
        ValueError,
        "percent",
    ),
    (
        "signed coherence, accuracy coding",
        frame(coh=np.tile([-0.128, 0.128, 0.512], 4)),
        dict(condition="coh"),
        ValueError,
        "'coh' has negative values.*codes accuracy.*unsigned",
    ),
    (
        "signed coherence, PyDDM given",
        hddm(coh=np.tile([-0.128, 0.128, 0.512], 4)).rename(columns={"response": "correct"}),
        dict(condition="coh", convention=PYDDM),
        ValueError,
        "unsigned",
    ),
    ("response code 2", hddm(correct=[1, 2] * 6), {}, ValueError, "unknown response codes"),
    ("response -1 and 0", hddm(correct=[-1, 0] * 6), {}, ValueError, "unknown response codes"),
    (
        "HDDM given, -1 codes",
        hddm(correct=[-1, 1] * 6),
        dict(convention=HDDM),
        ValueError,
        r"unknown response codes \[-1.0\]",
    ),
    ("no response column", frame(correct=None, choice=[1] * 12), {}, ValueError, "no response"),
    ("no rt column", frame(rt=None, t=[0.5] * 12), {}, ValueError, "no 'rt' column"),
    ("condition missing", frame(), dict(condition="coherence"), ValueError, "'coherence' not"),
    ("subject missing", frame(), dict(subject="subj"), ValueError, "subject column 'subj' not"),
    ("condition NaN", frame(coh=[np.nan] + [0.1] * 11), dict(condition="coh"), ValueError, "NaN"),
    (
        "all responses missed",
        frame(correct=[np.nan] * 12),
        {},
        ValueError,
        "no trials: all 12 rows are missed responses",
    ),
    (
        "rt_range keeps nothing",
        frame(),
        dict(rt_range=(2.0, 3.0)),
        ValueError,
        "no trials left.*12 lie outside rt_range",
    ),
    ("rt_range reversed", frame(), dict(rt_range=(2.0, 1.0)), ValueError, "rt_range must satisfy"),
    ("rt_range negative", frame(), dict(rt_range=(-1.0, 2.0)), ValueError, "rt_range must"),
    (
        "empty categorical level",
        frame(n=6, coh=pd.Categorical([0.1] * 6, categories=[0.1, 0.2])),
        dict(condition="coh"),
        ValueError,
        r"value\(s\) \[0.2\] have no trials left",
    ),
    (
        "condition emptied by rt_range",
        frame(n=6, rt=[0.5, 0.5, 0.5, 5.0, 5.0, 5.0], coh=[0.1, 0.1, 0.1, 0.2, 0.2, 0.2]),
        dict(condition="coh", rt_range=(0.1, 2.0)),
        ValueError,
        r"\[0.2\] have no trials left",
    ),
    (
        "subject missing entries",
        hddm(subj_idx=[1.0, np.nan] * 6),
        {},
        ValueError,
        "'subj_idx' has missing entries",
    ),
    ("no rows", frame().iloc[:0], {}, ValueError, "no rows"),
]


def _write(folder, content):
    path = folder / "trials.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    "build, kwargs, error, match", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_bad_file(tmp_path, build, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_trials(build(tmp_path), **kwargs)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = _write(tmp_path, "rt,correct\n0.5,1\n")
    path.chmod(0)
    with pytest.raises(PermissionError, match="cannot be read"):
        load_trials(path)


@pytest.mark.parametrize(
    "df, kwargs, error, match", [c[1:] for c in FRAME_CASES], ids=[c[0] for c in FRAME_CASES]
)
def test_bad_frame(df, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_trials(df, **kwargs)


# Arguments of the wrong type: under the test suite's runtime type checks (jaxtyping +
# beartype) the annotation rejects them first; without them (a user's session) the loader's
# own check names the argument and the fix. Both are TypeError or ValueError.
TYPE_CASES = [
    ("not a path", [0.5, 0.6], {}, TypeError, "DataFrame or the path"),
    ("rt_range one value", frame(), dict(rt_range=(2.0,)), ValueError, "rt_range must be"),
    ("rt_range text", frame(), dict(rt_range="0.1-2"), ValueError, "rt_range must be"),
    ("convention as text", frame(), dict(convention="PyDDM"), TypeError, "convention must be"),
]


@pytest.mark.parametrize(
    "data, kwargs, error, match", [c[1:] for c in TYPE_CASES], ids=[c[0] for c in TYPE_CASES]
)
def test_argument_of_wrong_type(data, kwargs, error, match):
    with pytest.raises((TypeError, ValueError)):
        load_trials(data, **kwargs)
    with pytest.raises(error, match=match):
        inspect.unwrap(load_trials)(data, **kwargs)


def test_one_rt_outlier_is_removed_and_reported():
    # A data-entry error of 1e6 s among 60 trials: removed, announced, counted.
    rt = np.r_[np.linspace(0.4, 1.2, 59), 1e6]
    df = frame(n=60, rt=rt)
    with pytest.warns(UserWarning, match=r"removed 1 RT outlier.*row\(s\): 60 \(1000000.0\)"):
        trials, report = load_trials(df, condition="coh")
    assert report.n_rt_outliers == 1 and trials.n_trials == 59
    assert float(np.max(trials.rt)) == pytest.approx(1.2)
    assert "1 RT outliers" in str(report)
    # The user's own RT filter replaces the automatic removal.
    trials, report = load_trials(df, condition="coh", rt_range=(0.1, 5.0))
    assert report.n_rt_outliers == 0 and report.n_outside_rt_range == 1


def test_plausible_data_passes_with_assumptions_reported():
    df = frame(n=60, rt=np.linspace(0.3, 25.0, 60))  # slow tail, < 100 x the median
    trials, report = load_trials(df, condition="coh")
    assert report.n_rt_outliers == 0 and trials.n_trials == 60
    assert any("RT in seconds (median" in a for a in report.assumptions)
    assert any("codes accuracy" in a for a in report.assumptions)
    # Signed coherence is fine where the choice codes the direction (HDDM response).
    signed = hddm(coh=np.tile([-0.128, 0.128, 0.512], 4))
    trials, report = load_trials(signed, condition="coh")
    assert float(np.min(trials.condition)) == pytest.approx(-0.128)
    assert not any("accuracy" in a for a in report.assumptions)
    # Values above 1 in a column that is not a coherence are taken as given.
    trials, _ = load_trials(hddm(reward=np.tile([0.0, 100.0], 6)), condition="reward")
    assert float(np.max(trials.condition)) == 100.0
