"""Cavanagh et al. (2011): trial-level choices, RTs and mid-frontal theta of 14 patients.

Provenance: HDDM's example data (``hddm/examples/cavanagh_theta_nn.csv``, released under
HDDM's BSD 2-clause license; HSSM ships the same trials with response −1/1), carried
unchanged: 3988 trials of the probabilistic selection task's test phase, 14 Parkinson's
patients with deep-brain stimulation of the subthalamic nucleus on and off.
"""

import importlib.resources

import pandas as pd

CITATION = (
    "Cavanagh JF, Wiecki TV, Cohen MX, Figueroa CM, Samanta J, Sherman SJ, Frank MJ (2011) "
    "Subthalamic nucleus stimulation reverses mediofrontal influence over decision "
    "threshold. Nat Neurosci 14:1462-1467."
)
PROVENANCE = (
    "HDDM example data hddm/examples/cavanagh_theta_nn.csv (BSD 2-clause license), "
    "carried unchanged."
)


def cavanagh_2011() -> pd.DataFrame:
    r"""Trials of Cavanagh et al. (2011), in HDDM's convention.

    Columns: ``subj_idx`` (0–13), ``stim`` (``WW``, ``LL``: high conflict; ``WL``: low
    conflict), ``rt`` (s), ``response`` (1: chose the more rewarding symbol, 0: the
    less rewarding, so the upper boundary is the better choice), ``theta`` (single-trial
    mid-frontal theta power, z-scored), ``dbs`` (1 on, 0 off), ``conf`` (``HC``, ``LC``).
    ``df.attrs`` holds ``citation``, ``provenance`` and ``license``.

    Read it into trials with :func:`~multiscale.data.load_trials` or, with covariates,
    :func:`~multiscale.data.regression` (e.g. ``"a ~ 1 + theta * conf"``).

    Example:
        >>> import multiscale as ms
        >>> df = ms.data.cavanagh_2011()
        >>> len(df), df["subj_idx"].nunique()
        (3988, 14)
    """
    path = importlib.resources.files("multiscale.data") / "cavanagh2011_theta.csv"
    with importlib.resources.as_file(path) as p:
        df = pd.read_csv(p)
    df.attrs.update(citation=CITATION, provenance=PROVENANCE, license="BSD 2-clause (HDDM)")
    return df
