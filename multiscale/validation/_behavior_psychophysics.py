"""Published targets for the behavior of the Wong–Wang circuit (Wong & Wang 2006).

Settings of the appendix-model run: dt 0.5 ms, 0.5 s pre-stimulus from S = 0.1, 50 ms boxcar
rate, threshold 15 Hz, 2 s limit, 2000 trials per coherence. Decision times are RTs
minus the 0.1 s non-decision time. An independent NumPy Euler run of the appendix model
with these settings gives a Weibull alpha of 6.1 % and beta of 1.32; the exact values
depend on the smoothing and initial condition, so the checks are an interval on alpha
and ordinal statements.
"""

import jax.random as jr
import numpy as np

from ..behavior import Psychophysics, psychophysics
from ..circuit import WongWang2006
from ._registry import holds, in_range, target, within

_SOURCE_10 = (
    "Wong & Wang 2006 J Neurosci 26:1314 appendix model (slower error than correct trials, "
    "Fig. 3; alpha interval from an independent simulation of the appendix model)"
)


def behavior_comparisons(n_trials: int, seed: int = 0) -> tuple[list, Psychophysics]:
    """The appendix-model comparisons and the experiment, from ``n_trials`` trials per coherence."""
    exp = psychophysics(WongWang2006(), key=jr.key(seed), n_trials=n_trials)
    s = exp.summary
    ndt = 0.1
    dt_c = np.asarray(s.mean_rt_correct) - ndt
    dt_e = np.asarray(s.mean_rt_error) - ndt
    coh = np.asarray(s.coherence)
    positive = (coh > 0) & np.isfinite(dt_e) & (np.asarray(s.n_decided - s.n_correct) >= 20)
    undecided = float(np.sum(np.asarray(s.n - s.n_decided)))
    return [
        in_range("Weibull alpha (fraction)", 0.05, 0.09, float(exp.weibull.alpha)),
        holds(
            "mean correct DT falls monotonically with coherence",
            "strictly decreasing",
            " ".join(f"{1e3 * v:.0f}" for v in dt_c) + " ms",
            bool(np.all(np.diff(dt_c) < 0)),
        ),
        holds(
            "error DT > correct DT for c > 0 (coherences with >= 20 errors)",
            "error > correct",
            " ".join(
                f"{1e3 * (e - c):+.0f}" for e, c in zip(dt_e[positive], dt_c[positive], strict=True)
            )
            + " ms",
            bool(positive.any() and np.all(dt_e[positive] > dt_c[positive])),
        ),
        holds(
            "undecided trials (counted, never dropped)",
            "<= 1 % of trials within 2 s",
            undecided,
            undecided <= 0.01 * float(np.sum(np.asarray(s.n))),
        ),
    ], exp


@target(name="wong_wang_behavior", scale="behavior", source=_SOURCE_10, slow=True)
def _behavior():
    comparisons, _ = behavior_comparisons(2000)
    return comparisons


@target(
    name="wong_wang_published_psychometric",
    scale="behavior",
    source="Wong & Wang 2006 J Neurosci 26:1314 (reduced model alpha = 7.2 %, beta = 1.25, "
    "against 7.4 % and 1.3 for the monkeys of Roitman & Shadlen 2002)",
    slow=True,
    known_gap=(
        "Wong-Wang Weibull alpha is 6.2 % here (2000 trials per coherence; also 6.2 % at "
        "dt = 0.1 ms) against the published 7.2 % (rtol 0.1); an independent "
        "NumPy re-run of the appendix model gives 6.1 %; beta is 1.38 against 1.25 "
        "(1.30 with another seed)"
    ),
)
def _published():
    # The published fit used dt = 0.1 ms and a 50 ms window slid by 5 ms; dt = 0.1 ms was
    # tried here and does not move alpha (6.17 %). The 10 % tolerance is about the spread
    # of alpha between independent 2000-trial runs plus the smoothing differences.
    _, exp = behavior_comparisons(2000)
    return [
        within("Weibull alpha vs published 7.2 %", 0.072, float(exp.weibull.alpha), rtol=0.1),
        within("Weibull beta vs published 1.25", 1.25, float(exp.weibull.beta), rtol=0.1),
    ]
