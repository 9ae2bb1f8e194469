"""Trial-level choice / RT data in, from the conventions of HDDM, HSSM and PyDDM.

| convention | RT | choice | subject |
|---|---|---|---|
| HDDM  | ``rt`` (s) | ``response`` 0 / 1 (1 = upper boundary) | ``subj_idx`` |
| HSSM  | ``rt`` (s) | ``response`` −1 / 1 (1 = upper); rt −999 = missing | ``participant_id`` |
| PyDDM | ``rt`` (s) | ``correct`` 0 / 1 (1 = correct = upper boundary) | (none) |

A missing response (choice value NaN, or HSSM's ``rt == -999``) is removed and counted;
everything else that is wrong is an error whose message says what to fix.
"""

import dataclasses
import os

import numpy as np
import pandas as pd

from ..behavior import Trials

_MISSING_RT_CODE = -999.0


@dataclasses.dataclass(frozen=True)
class Convention:
    """Column names and response codes of one data convention.

    Attributes:
        name: for reports.
        choice: column holding the response.
        upper: code of the upper-boundary response; ``lower`` the lower one.
        subject: default subject column (used when present).
    """

    name: str
    choice: str
    upper: float
    lower: float
    subject: str | None


HDDM = Convention("HDDM", "response", 1.0, 0.0, "subj_idx")
HSSM = Convention("HSSM", "response", 1.0, -1.0, "participant_id")
PYDDM = Convention("PyDDM", "correct", 1.0, 0.0, None)


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What :func:`load_trials` assumed and what it removed (nothing is dropped silently).

    Attributes:
        convention: name of the convention assumed, and why.
        rt_column, choice_column, condition_column, subject_column: columns read.
        n_rows: rows in the input.
        n_missing_response: rows removed because the response is missing.
        n_outside_rt_range: rows removed by the ``rt_range`` filter.
        n_trials: trials kept.
        subjects: original subject labels, in the order of the subject index.
        conditions: ``(value, n_trials)`` per condition value kept.
    """

    convention: str
    rt_column: str
    choice_column: str
    condition_column: str | None
    subject_column: str | None
    n_rows: int
    n_missing_response: int
    n_outside_rt_range: int
    n_trials: int
    subjects: tuple
    conditions: tuple

    def __str__(self) -> str:
        lines = [
            f"convention: {self.convention}",
            f"columns: rt={self.rt_column!r}, choice={self.choice_column!r}, "
            f"condition={self.condition_column!r}, subject={self.subject_column!r}",
            f"rows: {self.n_rows}; removed: {self.n_missing_response} missing responses, "
            f"{self.n_outside_rt_range} outside the RT range; kept: {self.n_trials} trials",
            f"subjects: {len(self.subjects)}",
        ]
        if self.condition_column is not None:
            lines.append(
                "trials per condition: " + ", ".join(f"{v:g}: {n}" for v, n in self.conditions)
            )
        return "\n".join(lines)


def _rows(mask) -> str:
    idx = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(i) for i in idx[:5])
    return f"{len(idx)} row(s) (positions {shown}{', ...' if len(idx) > 5 else ''})"


def _detect(df: pd.DataFrame) -> tuple[Convention, str]:
    cols = set(df.columns)
    if "response" in cols:
        codes = set(pd.to_numeric(df["response"], errors="coerce").dropna().unique().tolist())
        if -1.0 in codes and 0.0 not in codes:
            return HSSM, "column 'response' coded -1/1"
        if 0.0 in codes and -1.0 not in codes:
            return HDDM, "column 'response' coded 0/1"
        if "participant_id" in cols:
            return HSSM, "column 'response' with 'participant_id'"
        return HDDM, "column 'response'"
    if "correct" in cols:
        return PYDDM, "column 'correct' (accuracy coding: upper boundary = correct)"
    raise ValueError(
        "no response column found: expected 'response' (HDDM 0/1 or HSSM -1/1) or 'correct' "
        f"(PyDDM 0/1); the columns are {sorted(map(str, df.columns))}"
    )


def load_trials(
    data: pd.DataFrame | str | os.PathLike,
    *,
    condition: str | None = None,
    subject: str | None = None,
    convention: Convention | None = None,
    rt_range: tuple[float, float] | None = None,
) -> tuple[Trials, LoadReport]:
    """Read trials from a DataFrame or CSV into :class:`~multiscale.behavior.Trials`.

    Args:
        data: a DataFrame, or the path of a CSV file, with one row per trial.
        condition: column whose numeric value each trial's drift depends on (e.g.
            ``"coherence"`` as a fraction); None: no condition (zeros).
        subject: subject column; default the convention's (``subj_idx``,
            ``participant_id``) when present, else a single subject.
        convention: :data:`HDDM`, :data:`HSSM` or :data:`PYDDM`; default: detected from
            the columns and response codes (the report says which and why).
        rt_range: optional ``(low, high)`` in s; trials outside are removed and counted.

    Returns:
        ``(trials, report)``: arrays (RT in s, choice 1 = upper boundary, condition value,
        subject index) and a :class:`LoadReport`.

    Raises:
        ValueError: missing columns, NaN RT or condition, RT <= 0, RTs that look like
            milliseconds, unknown response codes, or a condition left without trials.
    """
    if not isinstance(data, pd.DataFrame):
        data = pd.read_csv(data)
    df = data.reset_index(drop=True)
    if "rt" not in df.columns:
        raise ValueError(
            "no 'rt' column (reaction time in seconds); the columns are "
            f"{sorted(map(str, df.columns))}"
        )
    if convention is None:
        convention, why = _detect(df)
        assumed = f"{convention.name} (detected: {why})"
    else:
        assumed = f"{convention.name} (given)"
    for name, col in (
        ("choice", convention.choice),
        ("condition", condition),
        ("subject", subject),
    ):
        if col is not None and col not in df.columns:
            raise ValueError(
                f"{name} column {col!r} not found; the columns are {sorted(map(str, df.columns))}"
            )
    if subject is None and convention.subject in df.columns:
        subject = convention.subject

    rt = pd.to_numeric(df["rt"], errors="coerce").to_numpy(float)
    if pd.to_numeric(df["rt"], errors="coerce").isna().sum() > df["rt"].isna().sum():
        raise ValueError("column 'rt' has non-numeric entries; it must hold seconds as numbers")
    response = pd.to_numeric(df[convention.choice], errors="coerce").to_numpy(float)
    if np.sum(np.isnan(response)) > df[convention.choice].isna().sum():
        raise ValueError(f"column {convention.choice!r} has non-numeric entries")
    missing = np.isnan(response) | (rt == _MISSING_RT_CODE)
    ok = ~missing
    unknown = ok & ~np.isin(response, [convention.upper, convention.lower])
    if unknown.any():
        codes = sorted(set(response[unknown].tolist()))
        raise ValueError(
            f"unknown response codes {codes} in column {convention.choice!r} ({_rows(unknown)}); "
            f"{convention.name} expects {convention.lower:g} / {convention.upper:g} "
            "(NaN for a missed response); recode them or pass convention="
        )
    bad = ok & np.isnan(rt)
    if bad.any():
        raise ValueError(
            f"'rt' is NaN in {_rows(bad)} that have a response; drop them, or mark a missed "
            "response by leaving the response empty (NaN)"
        )
    bad = ok & (rt <= 0)
    if bad.any():
        raise ValueError(
            f"'rt' <= 0 in {_rows(bad)}; reaction times must be positive seconds since stimulus "
            "onset (remove anticipations or correct the time reference)"
        )
    if ok.any() and np.median(rt[ok]) > 20.0:
        raise ValueError(
            f"'rt' looks like milliseconds (median {np.median(rt[ok]):.4g}); convert to seconds "
            "(divide by 1000)"
        )
    if condition is not None:
        cond_raw = df[condition]
        cond = pd.to_numeric(cond_raw.astype(object), errors="coerce").to_numpy(float)
        if np.isnan(cond[ok & cond_raw.notna().to_numpy()]).any():
            raise ValueError(
                f"condition column {condition!r} must be numeric (e.g. coherence 0.128)"
            )
        if np.isnan(cond[ok]).any():
            raise ValueError(
                f"condition column {condition!r} is NaN in {_rows(ok & np.isnan(cond))}"
            )
    else:
        cond = np.zeros_like(rt)
    outside = np.zeros_like(ok)
    if rt_range is not None:
        low, high = rt_range
        outside = ok & ((rt < low) | (rt > high))
    keep = ok & ~outside
    if condition is not None:
        declared = (
            list(df[condition].cat.categories)
            if isinstance(df[condition].dtype, pd.CategoricalDtype)
            else sorted(set(cond[~np.isnan(cond)].tolist()))
        )
        kept = set(cond[keep].tolist())
        empty = [c for c in declared if float(c) not in kept]
        if empty:
            raise ValueError(
                f"condition {condition!r} value(s) {empty} have no trials left (after removing "
                f"{int(missing.sum())} missing responses and {int(outside.sum())} outside "
                "rt_range); "
                "drop those conditions or widen the RT range"
            )
    if subject is not None:
        subj_raw = df[subject].to_numpy()[keep]
        if pd.isna(subj_raw).any():
            raise ValueError(f"subject column {subject!r} has missing entries")
        labels, subj_idx = np.unique(subj_raw, return_inverse=True)
    else:
        labels, subj_idx = np.array([0]), np.zeros(int(keep.sum()), int)
    choice = (response[keep] == convention.upper).astype(np.int32)
    values, counts = np.unique(cond[keep], return_counts=True)
    trials = Trials(
        rt=rt[keep].astype(np.float32),
        choice=choice,
        condition=cond[keep].astype(np.float32),
        subject=subj_idx.astype(np.int32),
    )
    report = LoadReport(
        convention=assumed,
        rt_column="rt",
        choice_column=convention.choice,
        condition_column=condition,
        subject_column=subject,
        n_rows=len(df),
        n_missing_response=int(missing.sum()),
        n_outside_rt_range=int(outside.sum()),
        n_trials=int(keep.sum()),
        subjects=tuple(labels.tolist()),
        conditions=tuple(zip(values.tolist(), counts.tolist(), strict=True)),
    )
    return trials, report
