"""Roitman & Shadlen (2002) reaction-time task: per-coherence summary carried in the package.

Provenance: computed from the trial-level file that ships with the PyDDM documentation
(``mwshinn/PyDDM`` @ a1345d18, ``doc/downloads/roitman_rts.csv``: 6149 trials of two
monkeys, "b" and "n", built by PyDDM's ``extract_roitman.py`` from the Shadlen lab's
RoitmanDataCode), all trials, no RT filter, RT = saccade time − motion onset. Only the
summary numbers are carried, computed from those trials.
This is the data set behind Wong & Wang's (2006) "experimental" psychometric curve: its
Weibull fit gives α = 7.4 %, β = 1.3.
"""

import importlib.resources

import pandas as pd

CITATION = (
    "Roitman JD, Shadlen MN (2002) Response of neurons in the lateral intraparietal area "
    "during a combined visual discrimination reaction time task. J Neurosci 22:9475-9489."
)
PROVENANCE = (
    "Per-coherence summary computed from roitman_rts.csv of the PyDDM documentation "
    "(mwshinn/PyDDM @ a1345d18; 6149 trials, monkeys 'b' and 'n'); all trials, no RT filter."
)


def roitman_shadlen_2002(monkey: str = "both") -> pd.DataFrame:
    r"""Accuracy and mean reaction times by motion coherence (Roitman & Shadlen 2002).

    Columns: ``coherence`` (fraction, 0.512 = 51.2 %), ``n`` (trials; both monkeys
    only), ``p_correct``, ``mean_rt``, ``mean_rt_correct``, ``mean_rt_error``,
    ``median_rt_correct`` (all RTs in s; NaN where not available, e.g. no error trials at
    51.2 %, or the per-monkey rows, which carry only P(correct) and mean correct RT).
    ``df.attrs`` holds ``citation`` and ``provenance``.

    Args:
        monkey: ``"both"`` (default, 6149 trials), ``"b"`` or ``"n"``.

    Returns:
        A DataFrame with one row per coherence (6 rows).

    Example:
        >>> import multiscale as ms
        >>> df = ms.data.roitman_shadlen_2002()
        >>> int(df["n"].sum())
        6149
    """
    if monkey not in ("both", "b", "n"):
        raise ValueError(f"monkey must be 'both', 'b' or 'n', got {monkey!r}")
    path = importlib.resources.files("multiscale.data") / "roitman_shadlen_2002.csv"
    with path.open("r") as f:
        table = pd.read_csv(f)
    df = table[table["monkey"] == monkey].drop(columns="monkey").reset_index(drop=True)
    if monkey == "both":
        df["n"] = df["n"].astype(int)
    df.attrs["citation"] = CITATION
    df.attrs["provenance"] = PROVENANCE
    df.attrs["monkey"] = monkey
    return df
