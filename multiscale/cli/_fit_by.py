"""``multiscale fit --by COLUMN``: the DDM fitted to each level of a column separately.

Each level (e.g. each subject) is loaded, checked and fitted on its own, as
``multiscale fit`` fits the whole file; the result holds every level's full result under
``levels`` and, under ``parameters``, each level's parameters named ``NAME[LEVEL]``
(the same ``{value, se, unit}`` entries as a single fit). Independent fits add up: the
total NLL and AIC are the sums over levels (BIC is per level only: its penalty depends on
each level's trial count). Ctrl-C keeps the levels already fitted.
"""

import math

import pandas as pd

from ..data import load_trials
from ._run import Outcome, Progress


def _levels(path, by: str) -> tuple[list, pd.DataFrame, int]:
    frame = pd.read_csv(path)
    if by not in frame.columns:
        raise ValueError(
            f"--by {by!r}: the data have no such column (columns: {', '.join(frame.columns)})"
        )
    missing = int(frame[by].isna().sum())
    levels = sorted(frame[by].dropna().unique().tolist(), key=lambda x: (str(type(x)), x))
    if not levels:
        raise ValueError(f"--by {by!r}: the column has no values")
    return levels, frame, missing


def fit_by_command(
    path, by, condition, rt_range, seed, progress: Progress, fit_one=None, *, fit_frame=None
) -> dict:
    """Fit ``fit_one(trials, report, seed, progress) -> (result, model)`` to each level, or
    ``fit_frame(rows, seed, progress) -> (result, model, ...)`` to each level's rows."""
    levels, frame, missing = _levels(path, by)
    per_level: dict[str, dict] = {}
    result = {
        "model": "",
        "by": by,
        "levels": per_level,
        "rows_without_level": missing,
        "parameters": {},
        "nll": None,
        "n_trials": 0,
        "n_parameters": 0,
        "aic": None,
        "bic": None,
        "converged": False,
    }
    for level in levels:
        name = str(level)
        progress.start(f"fitting {by} = {name} ({len(per_level) + 1} of {len(levels)})")
        rows = frame[frame[by] == level].reset_index(drop=True)
        inner = Progress(echo=progress.echo)
        try:
            if fit_frame is not None:
                one = fit_frame(rows, seed, inner)[0]
            else:
                trials, report = load_trials(rows, condition=condition, rt_range=rt_range)
        except ValueError as error:
            raise ValueError(f"--by {by}, level {name}: {error}") from None
        if fit_frame is None:
            one, _ = fit_one(trials, report, seed, inner)
        per_level[name] = one
        _total(result)
        progress.partial = Outcome(text=format_by(result), data=result)
        progress.kept = f"the fits of {len(per_level)} of {len(levels)} levels are printed"
    return result


def _total(result: dict) -> None:
    levels = result["levels"]
    first = next(iter(levels.values()))
    pooled = first["model"].replace("; subjects pooled", "")
    result["model"] = f"{pooled}; fitted to each level of '{result['by']}' separately"
    result["parameters"] = {
        f"{name}[{level}]": p for level, r in levels.items() for name, p in r["parameters"].items()
    }
    nlls = [r["nll"] for r in levels.values()]
    result["nll"] = None if None in nlls else float(sum(nlls))
    result["n_trials"] = sum(r["n_trials"] for r in levels.values())
    result["n_parameters"] = sum(r["n_parameters"] for r in levels.values())
    aics = [r["aic"] for r in levels.values()]
    result["aic"] = None if None in aics else float(sum(aics))
    result["converged"] = all(r["converged"] for r in levels.values())


def _cell(p: dict) -> str:
    se = p.get("se")
    if se is None or not math.isfinite(se):
        return f"{p['value']:.4g}"
    return f"{p['value']:.4g} ({se:.2g})"


def format_by(result: dict) -> str:
    """One table row per level: trials, each parameter's value (SE), NLL, converged."""
    levels = result["levels"]
    names = list(dict.fromkeys(n for r in levels.values() for n in r["parameters"]))
    width = max(len(result["by"]), *(len(level) for level in levels))
    cells = {
        level: [_cell(r["parameters"][n]) if n in r["parameters"] else "-" for n in names]
        for level, r in levels.items()
    }
    widths = [max(len(n), *(len(c[i]) for c in cells.values())) for i, n in enumerate(names)]
    lines = [f"model: {result['model']}", ""]
    head = [f"{result['by']:{width}s}", f"{'n':>6s}"]
    head += [f"{n:>{w}s}" for n, w in zip(names, widths, strict=True)]
    lines.append(" ".join([*head, f"{'NLL':>10s}", "converged"]))
    for level, r in levels.items():
        nll = "-" if r["nll"] is None else f"{r['nll']:.3f}"
        row = [f"{level:{width}s}", f"{r['n_trials']:>6d}"]
        row += [f"{c:>{w}s}" for c, w in zip(cells[level], widths, strict=True)]
        lines.append(" ".join([*row, f"{nll:>10s}", "yes" if r["converged"] else "NO"]))
    lines.append("")
    units = {n: p for r in levels.values() for n, p in r["parameters"].items()}
    lines += [f"{n}: {units[n]['unit']}" for n in names]
    sampled = [level for level, r in levels.items() if "posterior" in r]
    if sampled:
        lines.append(
            "posterior means with posterior SDs in parentheses (NUTS; each level's R-hat, "
            "ESS and HDI under 'levels' in --json); NLL: the maximum-likelihood fit"
        )
        bad = [level for level in sampled if not levels[level]["posterior"]["converged"]]
        if bad:
            lines.append(
                f"WARNING: the posterior has NOT converged for {', '.join(bad)} (needs R-hat "
                "< 1.01, bulk and tail ESS >= 100 per chain and no divergent transition): "
                "sample longer (--draws) or with more chains"
            )
    else:
        lines.append("values with Laplace SEs in parentheses")
    nll = "-" if result["nll"] is None else f"{result['nll']:.3f}"
    aic = "-" if result["aic"] is None else f"{result['aic']:.2f}"
    lines.append(f"total: NLL {nll}, n = {result['n_trials']}, AIC {aic} (sums over levels)")
    if result["rows_without_level"]:
        lines.append(f"rows with no {result['by']}: {result['rows_without_level']} (not fitted)")
    if not result["converged"]:
        lines.append("converged: NO for at least one level (see --json for the reasons)")
    return "\n".join(lines)
