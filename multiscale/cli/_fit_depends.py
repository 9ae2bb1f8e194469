"""``multiscale fit --depends-on PARAM=COLUMN``: one value of a DDM parameter per level of
a column.

``--depends-on a=instruction`` is the regression ``a ~ 0 + C(instruction)`` with the
identity link (:func:`multiscale.data.regression`): the design has one indicator column
per level of the column (text or numeric levels, sorted), so each level's coefficient is
that level's value of the parameter, reported as ``a[speed]``, ``a[accuracy]``. The
coefficients are freed on the parameter's own domain (log scale for the positive ``a`` and
``t0``, the real line for ``k`` or ``v``), fitted with the other free fields by L-BFGS by
maximum likelihood of every trial (the ``--formula`` branch's fit), with Laplace standard
errors by the delta method. Without ``--formula`` the model is the proportional-rate DDM
of the plain branch (drift = k * condition; Palmer, Huk & Shadlen 2005); with
``--formula`` it is the formula branch's DDM and the two kinds of regression combine
(different parameters only).

References:
    Palmer J, Huk AC, Shadlen MN (2005) The effect of stimulus strength on the speed and
    accuracy of a perceptual decision. J Vis 5:376-404.
"""

import re

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd

from ..behavior import DDM, Identity, ProportionalRateDDM
from ..data import load_trials, regression
from ..fit import Free, Positive, Real, fit, lbfgs
from ._fit_models import _laplace_result, _link_unit

_UNITS = {
    "k": "1/s per unit condition (drift = k * condition)",
    "v": "1/s (drift)",
    "a": "boundary separation (noise units; Palmer's A = a/2)",
    "t0": "s",
}


def parse_depends(items: list[str] | None) -> dict[str, str]:
    """``["a=instruction", ...]`` -> ``{"a": "instruction"}``; malformed or repeated
    parameters are refused."""
    out: dict[str, str] = {}
    for item in items or []:
        param, sep, column = str(item).partition("=")
        param, column = param.strip(), column.strip()
        if not sep or not param or not column:
            raise ValueError(
                f"--depends-on {item!r}: write PARAM=COLUMN, e.g. --depends-on a=instruction"
            )
        if param in out:
            raise ValueError(
                f"--depends-on names {param!r} twice ({param}={out[param]}, {param}={column})"
            )
        out[param] = column
    return out


def _formula_parameters(formulas) -> set[str]:
    return {str(f).split("~", 1)[0].strip() for f in formulas or [] if "~" in str(f)}


def check_depends(depends: dict[str, str], frame: pd.DataFrame, formulas) -> None:
    """Refuse, before any fitting: an unknown parameter, a missing column, a column with
    fewer than two levels or with missing values, and a parameter that also has a formula."""
    allowed = ("v", "a", "t0") if formulas else ("k", "a", "t0")
    regressed = _formula_parameters(formulas)
    columns = ", ".join(map(str, frame.columns))
    for param, column in depends.items():
        arg = f"--depends-on {param}={column}"
        if param not in allowed:
            raise ValueError(
                f"{arg}: unknown parameter {param!r}; the DDM's free parameters are "
                f"{', '.join(allowed)}"
                + (" (k is the plain DDM's drift scale; with --formula the drift is v)")
            )
        if param in regressed:
            raise ValueError(
                f"{arg}: {param!r} also has a --formula; give a parameter either a formula "
                f"or --depends-on (--depends-on {param}={column} is the formula "
                f"'{param} ~ 0 + C({column})')"
            )
        if column not in frame.columns:
            raise ValueError(f"{arg}: the data have no column {column!r} (columns: {columns})")
        missing = int(frame[column].isna().sum())
        if missing:
            raise ValueError(f"{arg}: {missing} rows have no {column} value; fill or drop them")
        levels = frame[column].unique()
        if len(levels) < 2:
            raise ValueError(
                f"{arg}: the column has one level ({levels[0]!r}), so {param} has one value; "
                "drop --depends-on to fit it"
            )


def _quote(column: str) -> str:
    return column if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", column) else f"`{column}`"


def fit_depends_command(frame, depends, formulas, condition, rt_range, seed, progress):
    """Fit the DDM with ``depends`` (``{param: column}``) and ``formulas`` to ``frame``;
    return the JSON-ready result, the fitted model and its free parameters."""
    check_depends(depends, frame, formulas)
    # The plain branch's start and contaminant range, from the trials kept.
    rt = np.asarray(load_trials(frame, condition=condition, rt_range=rt_range)[0].rt)
    common = dict(
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        p_outlier=0.02,
        rt_max=jnp.asarray(max(2.0, float(rt.max())), jnp.float32),
    )
    base = DDM(v=0.0, **common) if formulas else ProportionalRateDDM(k=5.0, **common)
    mine = {p: f"0 + C({_quote(c)})" for p, c in depends.items()}
    progress.start("building the design matrices")
    model, trials, report = regression(
        base, [*(formulas or []), *(f"{p} ~ {rhs}" for p, rhs in mine.items())], frame,
        links={p: Identity() for p in depends},
        condition=condition, rt_range=rt_range,
    )  # fmt: skip
    if model.offsets:
        raise ValueError(
            "random intercepts '(1|group)' need the Bayesian fit (ms.fit.sample_posterior "
            "with ms.fit.regression_priors); the command line fits fixed effects by maximum "
            "likelihood"
        )
    rows = frame.reset_index(drop=True).iloc[list(report.rows)]
    free, units, coefficients = [], {}, dict(model.coefficients)
    for key in model.coefficients:
        field, column = key.split(":", 1)
        if field in depends:
            level = _level(column)
            name = f"{field}[{level}]"
            start = float(getattr(base, field))
            coefficients[key] = jnp.asarray(start, model.coefficients[key].dtype)
            transform = Real() if field in ("k", "v") else Positive()
            free.append(Free(lambda m, k=key: m.coefficients[k], transform, name=name))
            units[name] = _UNITS[field] + f"; {depends[field]} = {level}"
        else:
            free.append(Free(lambda m, k=key: m.coefficients[k], name=key))
            units[key] = f"{field} coefficient, {_link_unit(model, field)}"
    gone = {
        p: sorted(set(map(str, frame[c].unique())) - set(map(str, rows[c].unique())))
        for p, c in depends.items()
    }
    for p, levels in gone.items():
        if levels:
            raise ValueError(
                f"--depends-on {p}={depends[p]}: no trials left for level(s) "
                f"{', '.join(levels)} after the RT filter and outlier removal; "
                "widen --rt-range or drop those rows"
            )
    model = _with_coefficients(model, coefficients)
    for field in ("v", "a", "t0") if formulas else ("k", "a", "t0"):
        if field not in model.predictors:
            free.append(Free(lambda m, f=field: getattr(m.base, f), name=field))
            units[field] = _UNITS[field]

    order = ("k", "v", "a", "t0")
    free.sort(key=lambda f: order.index(re.split(r"[:\[]", f.name)[0]))

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    progress.start(f"fitting the DDM with per-level parameters to {trials.n_trials} trials")
    fitted, hist = fit(
        model, nll, trials, free=free, optimizer=lbfgs(), steps=500, key=jr.key(seed),
        progress=False,
    )  # fmt: skip
    what = "; ".join([*(formulas or []), *(f"{p} ~ 0 + C({c})" for p, c in depends.items())])
    kind = "DDM regression" if formulas else "ddm (proportional-rate; drift = k * condition"
    name = (
        f"DDM regression: {what}"
        if formulas
        else f"{kind}, z = 0.5, 2% uniform contaminant; one value per level: {what})"
    )
    progress.start("computing the log-likelihood and the standard errors")
    result = _laplace_result(name, fitted, free, nll, trials, hist, report, units)
    return result, fitted, free


def _level(column: str) -> str:
    """``"C(instruction)[speed]"`` -> ``"speed"``."""
    match = re.fullmatch(r"C\(.*\)\[(.*)\]", column)
    return match.group(1) if match else column


def _with_coefficients(model, coefficients):
    import equinox as eqx

    return eqx.tree_at(lambda m: m.coefficients, model, coefficients)
