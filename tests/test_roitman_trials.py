"""The trials of monkey N of Roitman & Shadlen (2002) carried in the package.

References:
    Roitman JD, Shadlen MN (2002) Response of neurons in the lateral intraparietal area
    during a combined visual discrimination reaction time task. J Neurosci 22:9475-9489.
"""

import numpy as np

import multiscale as ms


def test_monkey_n_trials_match_the_per_coherence_summary():
    """3533 trials at six coherences reproduce the summary of monkey N's trials.

    The package's summary (``roitman_shadlen_2002("n")``) is computed from all of PyDDM's
    trials without an RT filter; these trials are restricted to 0.1 < RT < 1.65 s, so the
    accuracies agree to 0.005 and the correct-trial mean RTs to 0.025 s (the filter
    drops the slowest trials at low coherence).
    """
    df = ms.data.roitman_2002_trials()
    assert len(df) == 3533 and set(df["monkey"]) == {2}
    assert df["rt"].between(0.1, 1.65).all()
    summary = ms.data.roitman_shadlen_2002("n")
    grouped = df.groupby("coh")
    np.testing.assert_allclose(grouped["coh"].first(), summary["coherence"], atol=1e-6)
    np.testing.assert_allclose(grouped["correct"].mean(), summary["p_correct"], atol=0.005)
    rt_correct = df[df["correct"] == 1].groupby("coh")["rt"].mean()
    np.testing.assert_allclose(rt_correct, summary["mean_rt_correct"], atol=0.025)
    assert "Roitman" in df.attrs["citation"] and df.attrs["license"] == "MIT (PyDDM)"
