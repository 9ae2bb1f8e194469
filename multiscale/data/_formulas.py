r"""Model formulas at the edge: ``"a ~ 1 + instruction + (1|subject)"`` to design matrices.

:func:`regression` reads a trial table with :func:`~multiscale.data.load_trials`, builds
one design matrix per regressed parameter with formulaic (Wilkinson–Rogers notation:
``0 +`` drops the intercept, ``x * y`` adds main effects and the interaction, text
columns become treatment-coded indicators, ``C(x)`` forces a numeric column to be
categorical), and returns a :class:`~multiscale.behavior.Regression` over the kept rows.
A term ``(1|g)`` adds a random intercept per level of column ``g`` (lme4's notation; only
intercepts, not random slopes). Rows with a missing covariate raise an error instead of
being dropped, so trials and design rows always match.
"""

import os
import re
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..behavior import (
    AbstractChoiceModel,
    AbstractLink,
    Identity,
    LinearPredictor,
    Log,
    Logit,
    Regression,
    Trials,
    default_link,
)
from ._trials import LoadReport, load_trials, read_csv

_RANDOM = re.compile(r"\(\s*([^|()]+?)\s*\|\s*([^|()]+?)\s*\)")


def _split_formulas(formulas) -> dict[str, str]:
    if isinstance(formulas, str):
        formulas = [formulas]
    if isinstance(formulas, Mapping):
        return {str(k).strip(): str(v) for k, v in formulas.items()}
    out = {}
    for f in formulas:
        if not isinstance(f, str) or "~" not in f:
            raise ValueError(
                f"each formula must read 'parameter ~ terms' (e.g. 'v ~ 0 + coherence'), got {f!r}"
            )
        lhs, rhs = f.split("~", 1)
        lhs = lhs.strip()
        if lhs in out:
            raise ValueError(f"parameter {lhs!r} has two formulas")
        out[lhs] = rhs
    return out


def _random_terms(rhs: str) -> tuple[str, str | None]:
    """``(fixed part, group column or None)`` of a right-hand side."""
    found = _RANDOM.findall(rhs)
    if len(found) > 1:
        raise ValueError(f"one random intercept per parameter is supported, got {rhs.strip()!r}")
    group = None
    if found:
        term, group = found[0]
        if term.strip() != "1":
            raise ValueError(
                f"only random intercepts '(1|{group})' are supported, got '({term}|{group})'"
            )
        rhs = _RANDOM.sub("", rhs)
    rhs = re.sub(r"\+\s*\+", "+", rhs).strip().strip("+").strip()
    return (rhs or "1"), group


def regression(
    base: AbstractChoiceModel,
    formulas: Mapping[str, str] | Sequence[str] | str,
    data: pd.DataFrame | str | os.PathLike,
    *,
    links: Mapping[str, AbstractLink] | None = None,
    **load_kwargs,
) -> tuple[Regression, Trials, LoadReport]:
    r"""A :class:`~multiscale.behavior.Regression` of ``base`` on the covariates of ``data``.

    Args:
        base: the choice model (e.g. ``ms.behavior.DDM()``); its fields named on the left
            of the formulas become per-trial regressions, the others stay as given.
        formulas: ``"a ~ 1 + instruction"`` strings (or a mapping ``{"a": "1 + instruction"}``);
            ``(1|subject)`` adds a random intercept per subject.
        data: the trial table (DataFrame or CSV path), with the covariates as columns;
            text-valued columns are treatment-coded (the first level in sorted order is
            the reference; the columns' names say which level each coefficient is).
        links: per-parameter inverse links (:class:`~multiscale.behavior.Identity`,
            :class:`~multiscale.behavior.Log`, :class:`~multiscale.behavior.Logit`);
            default log for positive fields, scaled logit for bounded ones, else identity.
        **load_kwargs: passed to :func:`load_trials` (``condition``, ``subject``,
            ``convention``, ``rt_range``).

    Returns:
        ``(model, trials, report)``. The model starts where its predictions equal the
        base model's values: intercepts at $g(\theta_\mathrm{base})$, other coefficients
        0, random-intercept offsets 0 with SD 0.1 (on the link scale).
    """
    formulaic = _formulaic()
    if not isinstance(base, AbstractChoiceModel):
        raise TypeError(
            f"`base` must be an AbstractChoiceModel (e.g. ms.behavior.DDM()), got "
            f"{type(base).__name__}"
        )
    if not isinstance(data, pd.DataFrame):
        data = read_csv(data)
    parsed = _split_formulas(formulas)
    if not parsed:
        raise ValueError("`formulas` is empty: give at least one 'parameter ~ terms'")
    links = dict(links or {})
    unknown = sorted(set(links) - set(parsed))
    if unknown:
        raise ValueError(f"`links` names parameters without a formula: {unknown}")
    trials, report = load_trials(data, **load_kwargs)
    rows = data.reset_index(drop=True).iloc[list(report.rows)].reset_index(drop=True)
    predictors, coefficients, offsets, sds = {}, {}, {}, {}
    dtype = trials.rt.dtype
    for name, rhs in parsed.items():
        link = links.get(name) or default_link(base, name)
        fixed, group = _random_terms(rhs)
        try:
            mm = formulaic.model_matrix(fixed, rows, na_action="raise")
        except Exception as e:  # formulaic's errors name the term; add the parameter
            raise ValueError(f"formula for {name!r} ('{fixed}'): {e}") from None
        columns = tuple(str(c) for c in mm.columns)
        X = jnp.asarray(np.asarray(mm, dtype=float), dtype)
        start = link_predictor(link, np.mean(np.asarray(getattr(base, name), float)))
        for c in columns:
            coefficients[f"{name}:{c}"] = jnp.asarray(start if c == "Intercept" else 0.0, dtype)
        g_idx, labels = None, ()
        if group is not None:
            if group not in rows.columns:
                raise ValueError(
                    f"random intercept '(1|{group})' of {name!r}: no column {group!r}; the "
                    f"columns are {', '.join(map(str, rows.columns))}"
                )
            if rows[group].isna().any():
                raise ValueError(f"grouping column {group!r} has missing entries")
            labels, g = np.unique(rows[group].to_numpy(), return_inverse=True)
            g_idx = jnp.asarray(g, jnp.int32)
            key = f"{name}|{group}"
            offsets[key] = jnp.zeros(len(labels), dtype)
            sds[f"{key}:sd"] = jnp.asarray(0.1, dtype)
        predictors[name] = LinearPredictor(
            X=X,
            columns=columns,
            link=link,
            group=g_idx,
            group_name=group,
            n_groups=len(labels),
            group_labels=tuple(np.asarray(labels).tolist()),
        )
    model = Regression(base, predictors, coefficients, offsets, sds)
    return model, trials, report


def link_predictor(link: AbstractLink, value: float) -> float:
    """The linear predictor $g(\\theta)$ that ``link`` maps to ``value``.

    Used for the starting values of a regression's intercepts and for priors centred on
    them. ``Log`` of a non-positive value and links other than ``Identity``, ``Log`` and
    ``Logit`` give 0; ``Logit`` clips the fraction to [1e-6, 1 - 1e-6] of its range.

    Example:
        >>> import multiscale as ms
        >>> round(ms.data.link_predictor(ms.behavior.Log(), 2.0), 4)
        0.6931
    """
    if isinstance(link, Identity):
        return float(value)
    if isinstance(link, Log):
        return float(np.log(value)) if value > 0 else 0.0
    if isinstance(link, Logit):
        p = np.clip((value - link.low) / (link.high - link.low), 1e-6, 1 - 1e-6)
        return float(np.log(p) - np.log1p(-p))
    return 0.0


def _formulaic():
    try:
        import formulaic
    except ImportError:  # pragma: no cover - formulaic is a dependency
        raise ImportError('model formulas need formulaic: pip install "formulaic>=1.0"') from None
    return formulaic
