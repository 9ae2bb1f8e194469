"""Loading trial data in HDDM, HSSM and PyDDM conventions; the Roitman & Shadlen summary."""

import numpy as np
import pandas as pd
import pytest

import multiscale as ms

load = ms.data.load_trials


def test_hddm_convention():
    df = pd.DataFrame(
        dict(
            rt=[0.5, 0.6, 0.7, 0.8],
            response=[1, 0, 1, 1],
            subj_idx=[3, 3, 7, 7],
            coherence=[0.1, 0.2, 0.1, 0.2],
        )
    )
    trials, report = load(df, condition="coherence")
    assert report.convention.startswith("HDDM")
    np.testing.assert_array_equal(trials.choice, [1, 0, 1, 1])
    np.testing.assert_array_equal(trials.subject, [0, 0, 1, 1])
    np.testing.assert_allclose(trials.condition, [0.1, 0.2, 0.1, 0.2])
    assert report.subjects == (3, 7)
    assert report.n_trials == 4 and report.n_missing_response == 0


def test_hssm_convention_and_missing_code():
    df = pd.DataFrame(
        dict(rt=[0.5, -999.0, 0.7], response=[1, -1, -1], participant_id=["a", "a", "b"])
    )
    trials, report = load(df)
    assert report.convention.startswith("HSSM")
    np.testing.assert_array_equal(trials.choice, [1, 0])
    assert report.n_missing_response == 1 and report.n_trials == 2
    assert "1 missing responses" in str(report)


def test_pyddm_convention_missing_responses_counted(tmp_path):
    df = pd.DataFrame(
        dict(rt=[0.5, np.nan, 0.7, 0.9], correct=[1, np.nan, 0, 1], coh=[0.0, 0.5, 0.5, 0.0])
    )
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    trials, report = load(path, condition="coh")
    assert report.convention.startswith("PyDDM")
    assert report.n_missing_response == 1 and trials.n_trials == 3
    assert report.conditions == ((0.0, 2), (0.5, 1))


def test_rt_range_filter_counts():
    df = pd.DataFrame(dict(rt=[0.05, 0.5, 0.7, 3.0], correct=[1, 1, 0, 1]))
    trials, report = load(df, rt_range=(0.1, 2.0))
    assert report.n_outside_rt_range == 2 and trials.n_trials == 2


@pytest.mark.parametrize(
    "df, kwargs, match",
    [
        (pd.DataFrame(dict(rt=[0.5, -0.2], correct=[1, 0])), {}, "<= 0"),
        (pd.DataFrame(dict(rt=[0.5, 0.0], correct=[1, 0])), {}, "<= 0"),
        (pd.DataFrame(dict(rt=[0.5, np.nan], correct=[1, 0])), {}, "NaN"),
        (pd.DataFrame(dict(rt=[500.0, 650.0], correct=[1, 0])), {}, "milliseconds"),
        (pd.DataFrame(dict(rt=[0.5, 0.6], response=[1, 2])), {}, "unknown response codes"),
        (pd.DataFrame(dict(rt=[0.5, 0.6], response=[-1, 0])), {}, "unknown response codes"),
        (pd.DataFrame(dict(rt=[0.5, 0.6], choice=[1, 0])), {}, "no response column"),
        (pd.DataFrame(dict(reaction=[0.5, 0.6], correct=[1, 0])), {}, "no 'rt' column"),
        (
            pd.DataFrame(dict(rt=[0.5, 0.6], correct=[1, 0])),
            dict(condition="coherence"),
            "not found",
        ),
        (
            pd.DataFrame(dict(rt=[0.5, 0.6], correct=[1, 0], c=[0.1, np.nan])),
            dict(condition="c"),
            "NaN",
        ),
        (
            pd.DataFrame(dict(rt=[0.5, 0.6], correct=[1, 0], c=["low", "high"])),
            dict(condition="c"),
            "numeric",
        ),
    ],
)
def test_bad_data_is_rejected_with_a_fix(df, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load(df, **kwargs)


def test_condition_without_trials():
    cond = pd.Categorical([0.1, 0.1], categories=[0.1, 0.2])
    with pytest.raises(ValueError, match="no trials left"):
        load(pd.DataFrame(dict(rt=[0.5, 0.6], correct=[1, 0], c=cond)), condition="c")
    # A condition whose every trial is a missed response is empty too.
    df = pd.DataFrame(dict(rt=[0.5, np.nan], correct=[1, np.nan], c=[0.1, 0.2]))
    with pytest.raises(ValueError, match="no trials left"):
        load(df, condition="c")


def test_report_of_a_continuous_condition_is_short():
    df = pd.DataFrame(dict(rt=np.linspace(0.4, 0.9, 30), correct=[1, 0] * 15, x=np.arange(30.0)))
    _, report = load(df, condition="x")
    assert len(report.conditions) == 30
    assert "condition: 30 distinct values from 0 to 29" in str(report)


def test_real_data_sets_load_unchanged():
    # The two development data sets pass the plausibility checks untouched.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path, condition, n in (
            ("/work/shared/data/roitman2002_monkey_n.csv", "coh", 3533),
            ("/work/shared/data/cavanagh2011_theta_hddm.csv", "theta", 3988),
        ):
            try:
                trials, report = load(path, condition=condition)
            except FileNotFoundError:
                pytest.skip("development data not present")
            assert trials.n_trials == n and report.n_rt_outliers == 0


def test_roitman_shadlen_summary():
    df = ms.data.roitman_shadlen_2002()
    assert int(df["n"].sum()) == 6149
    np.testing.assert_allclose(df["coherence"], [0, 0.032, 0.064, 0.128, 0.256, 0.512])
    np.testing.assert_allclose(df["p_correct"], [0.5, 0.642, 0.777, 0.941, 0.995, 1.0])
    np.testing.assert_allclose(df["mean_rt"], [0.826, 0.820, 0.775, 0.684, 0.543, 0.423])
    assert "Roitman" in df.attrs["citation"] and "PyDDM" in df.attrs["provenance"]
    b = ms.data.roitman_shadlen_2002("b")
    np.testing.assert_allclose(b["mean_rt_correct"], [0.794, 0.772, 0.735, 0.662, 0.560, 0.464])
    with pytest.raises(ValueError, match="monkey"):
        ms.data.roitman_shadlen_2002("x")
