"""Trial-level choice / RT data in, from the conventions of HDDM, HSSM and PyDDM.

| convention | RT | choice | subject |
|---|---|---|---|
| HDDM  | ``rt`` (s) | ``response`` 0 / 1 (1 = upper boundary) | ``subj_idx`` |
| HSSM  | ``rt`` (s) | ``response`` −1 / 1 (1 = upper); rt −999 = missing | ``participant_id`` |
| PyDDM | ``rt`` (s) | ``correct`` 0 / 1 (1 = correct = upper boundary) | (none) |

A missing response (choice value NaN, or HSSM's ``rt == -999``) is removed and counted.
Rows are numbered from 1, the first row after the header (row *i* is line *i* + 1 of a CSV).

Plausibility, decided case by case (what was assumed goes into the :class:`LoadReport`):

- **RT units.** RTs are seconds. A median above 20 s is milliseconds, a median below
  0.01 s a division by 1000 too many (no choice task has a 10 ms median RT): both are
  refused, with the conversion to apply.
- **RT outliers.** An RT more than 100 times the median (e.g. a data-entry error of 1e6 s,
  which would make a circuit fit simulate for days) is removed, counted in the report and
  announced with a warning naming its rows, when at most 1 % of the trials are such; more
  than that is a units problem and is refused. With ``rt_range`` the user's own filter
  applies instead.
- **Coherence in percent.** A condition column whose name contains "coh", or whose values
  are the percent coherences of the random-dot task (0, 3.2, 6.4, 12.8, 25.6, 51.2, 100;
  at least two of 3.2 to 51.2), must hold fractions (51.2 % is 0.512): values above 1 are
  refused (divide by 100). Other condition columns are taken as given.
- **Signed condition with accuracy coding.** With PyDDM's ``correct`` column the upper
  boundary is the correct response, so the drift's sign is already in the coding and the
  condition must be unsigned (e.g. ``|coherence|``); a negative condition is refused (a
  signed one fits a meaningless near-zero drift gain).
- **Non-numeric entries** (RT, response, condition) and non-finite ones are refused, naming
  the rows and their values; so is a data set with no trials (after removals).
"""

import dataclasses
import os
import re
import warnings

import numpy as np
import pandas as pd

from ..behavior import Trials

_MISSING_RT_CODE = -999.0
# Medians outside [_RT_MEDIAN_MIN, _RT_MEDIAN_MAX] s are a units error, not data.
_RT_MEDIAN_MAX = 20.0
_RT_MEDIAN_MIN = 0.01
# An RT beyond _OUTLIER_FACTOR x the median is an outlier; at most _OUTLIER_SHARE of the
# trials may be such (more is a units problem).
_OUTLIER_FACTOR = 100.0
_OUTLIER_SHARE = 0.01
# Percent coherences of the random-dot motion task (Roitman & Shadlen 2002; Britten et al.
# 1992), which give away a coherence column whatever its name.
_PERCENT_COHERENCES = (0.0, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 99.9, 100.0)
_TELLING = {3.2, 6.4, 12.8, 25.6, 51.2}


@dataclasses.dataclass(frozen=True)
class Convention:
    """Column names and response codes of one data convention.

    Attributes:
        name: for reports.
        choice: column holding the response.
        upper: code of the upper-boundary response; ``lower`` the lower one.
        subject: default subject column (used when present).
        accuracy: the choice codes accuracy (upper boundary = correct), as PyDDM's
            ``correct``; the condition must then be unsigned.
    """

    name: str
    choice: str
    upper: float
    lower: float
    subject: str | None
    accuracy: bool = False


HDDM = Convention("HDDM", "response", 1.0, 0.0, "subj_idx")
HSSM = Convention("HSSM", "response", 1.0, -1.0, "participant_id")
PYDDM = Convention("PyDDM", "correct", 1.0, 0.0, None, accuracy=True)


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
        n_rt_outliers: rows removed as RT outliers (over 100 times the median RT).
        assumptions: what was assumed about units and coding, one sentence each.
        rows: positions (0-based, in the input's row order) of the rows kept as trials, so
            that covariates of the same rows can be aligned with the trials.
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
    n_rt_outliers: int = 0
    assumptions: tuple[str, ...] = ()
    rows: tuple[int, ...] = dataclasses.field(default=(), repr=False)

    def __str__(self) -> str:
        lines = [
            f"convention: {self.convention}",
            f"columns: rt={self.rt_column!r}, choice={self.choice_column!r}, "
            f"condition={self.condition_column!r}, subject={self.subject_column!r}",
            f"rows: {self.n_rows}; removed: {self.n_missing_response} missing responses, "
            f"{self.n_outside_rt_range} outside the RT range, {self.n_rt_outliers} RT "
            f"outliers; kept: {self.n_trials} trials",
            f"subjects: {len(self.subjects)}",
        ]
        if self.condition_column is not None and len(self.conditions) > 12:
            values = [v for v, _ in self.conditions]
            lines.append(
                f"condition: {len(values)} distinct values from {min(values):g} to {max(values):g}"
            )
        elif self.condition_column is not None:
            lines.append(
                "trials per condition: " + ", ".join(f"{v:g}: {n}" for v, n in self.conditions)
            )
        lines.extend(f"assumed: {a}" for a in self.assumptions)
        return "\n".join(lines)


def _rows(mask, values=None) -> str:
    """``'2 row(s): 3, 8'`` (numbered from 1), with the offending values if given."""
    idx = np.flatnonzero(np.asarray(mask))
    if values is None:
        shown = ", ".join(str(i + 1) for i in idx[:5])
    else:
        # .item(): NumPy scalars print as plain Python values (1000000.0, 'abc').
        plain = [v.item() if isinstance(v, np.generic) else v for v in values[idx[:5]]]
        shown = ", ".join(f"{i + 1} ({v!r})" for i, v in zip(idx[:5], plain, strict=True))
    return f"{len(idx)} row(s): {shown}{', ...' if len(idx) > 5 else ''}"


def _columns(df: pd.DataFrame) -> list[str]:
    return sorted(map(str, df.columns))


def read_csv(path) -> pd.DataFrame:
    """``pd.read_csv`` whose failures say, in one sentence, what is wrong with the file.

    Raises:
        TypeError, IsADirectoryError, FileNotFoundError, PermissionError, ValueError: a
            path that is not a path, a folder, a missing, unreadable, empty or malformed
            file.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`data` must be a pandas DataFrame or the path of a CSV file, got "
            f"{type(path).__name__}"
        )
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(f"the data path {name!r} is a folder; give the CSV file itself")
    if not os.path.exists(name):
        raise FileNotFoundError(f"the data file {name!r} does not exist")
    try:
        return pd.read_csv(name)
    except PermissionError:
        raise PermissionError(
            f"the data file {name!r} cannot be read (permission denied)"
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"the data file {name!r} is empty; it needs a header line (rt, response or "
            "correct, ...) and one row per trial"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(
            f"the data file {name!r} is not a text CSV file (it is not UTF-8 text)"
        ) from None
    except pd.errors.ParserError as error:
        detail = str(error).strip().splitlines()[-1]
        raise ValueError(f"the data file {name!r} is not a well-formed CSV ({detail})") from None


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
        f"(PyDDM 0/1); the columns are {_columns(df)}"
    )


def _numeric(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """The column as floats; non-numeric entries are an error naming their rows and values."""
    raw = df[column]
    values = pd.to_numeric(raw.astype(object), errors="coerce").to_numpy(float)
    bad = np.isnan(values) & raw.notna().to_numpy()
    if bad.any():
        raise ValueError(
            f"column {column!r} has non-numeric entries in {_rows(bad, raw.to_numpy())}; "
            f"it must hold {what}"
        )
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"column {column!r} is infinite in {_rows(infinite)}; it must hold {what}")
    return values


def _check_rt_units(rt: np.ndarray, ok: np.ndarray) -> float:
    """The median RT (s) of the trials with a response; refuses ms and s/1000."""
    median = float(np.median(rt[ok]))
    if median > _RT_MEDIAN_MAX:
        raise ValueError(
            f"'rt' looks like milliseconds (median {median:.4g}); convert to seconds "
            "(divide by 1000)"
        )
    if median < _RT_MEDIAN_MIN:
        raise ValueError(
            f"'rt' looks like it was divided by 1000 once too often (median {median:.3g} s; "
            "choice RTs are tenths of a second to seconds): multiply by 1000"
        )
    return median


def _rt_outliers(rt: np.ndarray, ok: np.ndarray, median: float) -> np.ndarray:
    """Rows whose RT is over 100 x the median: removed (few) or refused (many)."""
    outliers = ok & (rt > _OUTLIER_FACTOR * median)
    n = int(outliers.sum())
    if n > max(1, int(_OUTLIER_SHARE * ok.sum())):
        raise ValueError(
            f"{n} of {int(ok.sum())} RTs are over {_OUTLIER_FACTOR:g} times the median "
            f"({median:.3g} s), more than {100 * _OUTLIER_SHARE:g} % of the trials: check the "
            "RT units, or pass rt_range=(low, high) in seconds"
        )
    if n:
        warnings.warn(
            f"removed {n} RT outlier(s) over {_OUTLIER_FACTOR:g} x the median RT "
            f"({median:.3g} s) in {_rows(outliers, rt)}; pass rt_range=(low, high) to filter "
            "RTs yourself",
            stacklevel=3,
        )
    return outliers


def _check_condition(cond: np.ndarray, ok: np.ndarray, name: str, convention: Convention):
    """Refuses coherence in percent and a signed condition with accuracy coding."""
    values = cond[ok]
    if values.size == 0:
        return
    largest = float(np.max(np.abs(values)))
    distinct = set(np.round(np.abs(values), 1).tolist())
    percent_values = distinct <= set(_PERCENT_COHERENCES) and len(distinct & _TELLING) >= 2
    named = re.search("coh", str(name), re.IGNORECASE) is not None
    if largest > 1.0 and (named or percent_values):
        raise ValueError(
            f"condition column {name!r} looks like coherence in percent (values up to "
            f"{largest:g}); coherence must be a fraction (51.2 % is 0.512): divide the "
            "column by 100"
        )
    if convention.accuracy and np.any(values < 0):
        raise ValueError(
            f"condition column {name!r} has negative values in "
            f"{_rows(ok & (cond < 0), cond)}, but column {convention.choice!r} codes "
            "accuracy (upper boundary = correct), so the condition must be unsigned: take "
            "its absolute value, or code the choice by direction in a 'response' column "
            "(HDDM 0/1, HSSM -1/1) to keep the sign"
        )


def _check_rt_range(rt_range) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in rt_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"rt_range must be (low, high) in seconds, e.g. (0.1, 3.0), got {rt_range!r}"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low < high):
        raise ValueError(f"rt_range must satisfy 0 <= low < high (seconds), got {rt_range!r}")
    return low, high


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
        rt_range: optional ``(low, high)`` in s; trials outside are removed and counted
            (this replaces the automatic removal of RT outliers).

    Returns:
        ``(trials, report)``: arrays (RT in s, choice 1 = upper boundary, condition value,
        subject index) and a :class:`LoadReport`.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: ``data`` is not a readable
            file.
        ValueError: an empty or malformed file, missing columns, non-numeric or non-finite
            entries, NaN RT or condition, RT <= 0, RT units that are not seconds, unknown
            response codes, coherence in percent, a signed condition with accuracy coding,
            or no trials (or a condition without trials) left.

    Warns:
        UserWarning: when RT outliers (over 100 times the median RT) are removed.
    """
    if not isinstance(data, pd.DataFrame):
        data = read_csv(data)
    if convention is not None and not isinstance(convention, Convention):
        raise TypeError(
            "convention must be multiscale.data.HDDM, HSSM or PYDDM (a Convention), got "
            f"{convention!r}"
        )
    low_high = None if rt_range is None else _check_rt_range(rt_range)
    df = data.reset_index(drop=True)
    if "rt" not in df.columns:
        raise ValueError(
            f"no 'rt' column (reaction time in seconds); the columns are {_columns(df)}"
        )
    if len(df) == 0:
        raise ValueError(f"the data has no rows, only the columns {_columns(df)}")
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
            raise ValueError(f"{name} column {col!r} not found; the columns are {_columns(df)}")
    if subject is None and convention.subject in df.columns:
        subject = convention.subject

    rt = _numeric(df, "rt", "reaction times in seconds as numbers")
    response = _numeric(
        df, convention.choice, f"{convention.lower:g} / {convention.upper:g} response codes"
    )
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
            f"'rt' <= 0 in {_rows(bad, rt)}; reaction times must be positive seconds since "
            "stimulus onset (remove anticipations or correct the time reference)"
        )
    if not ok.any():
        raise ValueError(f"no trials: all {len(df)} rows are missed responses")
    median = _check_rt_units(rt, ok)
    assumptions = [f"RT in seconds (median {median:.3g} s)"]
    if convention.accuracy:
        assumptions.append(
            f"column {convention.choice!r} codes accuracy: upper boundary = correct response"
        )
    if condition is not None:
        cond = _numeric(df, condition, "numbers (e.g. coherence as a fraction, 0.128)")
        if np.isnan(cond[ok]).any():
            raise ValueError(
                f"condition column {condition!r} is NaN in {_rows(ok & np.isnan(cond))}"
            )
        _check_condition(cond, ok, condition, convention)
        assumptions.append(f"condition {condition!r} used as given (drift scales with it)")
    else:
        cond = np.zeros_like(rt)
    outside = np.zeros_like(ok)
    outliers = np.zeros_like(ok)
    if low_high is not None:
        low, high = low_high
        outside = ok & ((rt < low) | (rt > high))
    else:
        outliers = _rt_outliers(rt, ok, median)
    keep = ok & ~outside & ~outliers
    if not keep.any():
        raise ValueError(
            f"no trials left: of {len(df)} rows, {int(missing.sum())} are missed responses "
            f"and {int(outside.sum())} lie outside rt_range={rt_range}; widen the RT range"
        )
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
                f"{int(missing.sum())} missing responses, {int(outside.sum())} outside "
                f"rt_range and {int(outliers.sum())} RT outliers); "
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
        n_rt_outliers=int(outliers.sum()),
        assumptions=tuple(assumptions),
        rows=tuple(np.flatnonzero(keep).tolist()),
    )
    return trials, report
