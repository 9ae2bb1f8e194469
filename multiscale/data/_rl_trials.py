"""Learning-task trials in HDDM's RLDDM convention, read into :class:`RLTrials`."""

import os

import numpy as np
import pandas as pd

from ..behavior import RLTrials
from ._trials import HDDM, LoadReport, load_trials, read_csv

RL_COLUMNS = ("subj_idx", "response", "rt", "trial", "split_by", "feedback")


def load_rl_trials(
    data: pd.DataFrame | str | os.PathLike,
) -> tuple[RLTrials, LoadReport]:
    """Read a learning task in HDDM's RLDDM convention into :class:`~multiscale.behavior.RLTrials`.

    Columns: ``subj_idx``, ``response`` (1: the option whose value is ``Q_1``, the upper
    boundary; 0: the other), ``rt`` (s), ``trial`` (order within a block), ``split_by``
    (the stimulus pair or condition: each subject and ``split_by`` value is one block
    whose values are learnt from ``q_init``), ``feedback`` (reward of the chosen option)
    and optionally ``q_init`` (default 0.5). Rows are ordered by subject, ``split_by`` and
    trial. Missed responses are removed, as :func:`load_trials` does (the report counts
    them); the values are then learnt from the remaining trials.

    Returns:
        ``(trials, report)``, with ``report.rows`` the kept rows in the sorted order.
    """
    if not isinstance(data, pd.DataFrame):
        data = read_csv(data)
    missing = [c for c in RL_COLUMNS if c not in data.columns]
    if missing:
        raise ValueError(
            f"RLDDM data need the columns {', '.join(RL_COLUMNS)} (HDDM's convention); "
            f"missing: {', '.join(missing)}"
        )
    if data["feedback"].isna().any():
        raise ValueError("column 'feedback' has missing entries (the reward of each trial)")
    df = data.sort_values(["subj_idx", "split_by", "trial"], kind="stable").reset_index(drop=True)
    if df.duplicated(["subj_idx", "split_by", "trial"]).any():
        raise ValueError("two rows share subj_idx, split_by and trial: each trial once")
    trials, report = load_trials(df, subject="subj_idx", convention=HDDM)
    kept = df.iloc[list(report.rows)]
    block = kept.groupby(["subj_idx", "split_by"], sort=False).ngroup().to_numpy()
    q_init = kept["q_init"].to_numpy(float) if "q_init" in kept.columns else 0.5
    rl = RLTrials(
        rt=trials.rt,
        choice=trials.choice,
        feedback=kept["feedback"].to_numpy(float),
        block=np.asarray(block, np.int32),
        q_init=q_init,
        subject=trials.subject,
    )
    return rl, report
