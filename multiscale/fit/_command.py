"""``multiscale fit DATA.csv --model ddm --condition COLUMN [--json]``: the library side."""

import math
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import ProportionalRateDDM, ddm_log_likelihood
from ..data import load_trials
from ._fit import fit
from ._newton import newton
from ._uncertainty import aic, bic, n_parameters, standard_errors

# One optimiser object for every call, so that repeated fits reuse the compiled loop.
# Damped Newton: three parameters, so the exact Hessian is cheap and ~10 steps suffice.
_NEWTON = newton()


def _nll(model, trials):
    return -ddm_log_likelihood(model, trials)


def fit_ddm_trials(trials, *, key, steps: int = 100):
    """Maximum-likelihood proportional-rate DDM (``k``, ``a``, ``t0``) for one data set.

    ``z = 1/2``, no across-trial variability, 2 % uniform contaminant on
    ``[0, max(2 s, max RT)]`` (fixed). Returns ``(model, standard errors, filter_spec)``.
    """
    rt = np.asarray(trials.rt)
    model = ProportionalRateDDM(
        k=5.0,
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        p_outlier=0.02,
        rt_max=jnp.asarray(max(2.0, float(rt.max())), jnp.float32),
    )
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(lambda m: (m.k, m.a, m.t0), spec, (True, True, True))
    fitted, hist = fit(
        model,
        _nll,
        trials,
        optimizer=_NEWTON,
        steps=steps,
        key=key,
        filter_spec=spec,
        patience=5,
        tol=1e-4,
        chunk=5,
    )
    return fitted, standard_errors(fitted, _nll, trials, spec), spec, hist


def fit_command(
    path: str | os.PathLike,
    model: str = "ddm",
    condition: str | None = None,
    seed: int = 0,
    as_json: bool = False,
) -> dict:
    """Fit a model to a CSV of trials; return a JSON-ready dict of the result.

    Args:
        path: CSV with one row per trial (HDDM, HSSM or PyDDM columns; RT in s).
        model: ``"ddm"`` (proportional-rate DDM: drift = k * condition) or ``"circuit"``.
        condition: column whose value scales the drift (e.g. coherence as a fraction).
        seed: PRNG seed.
        as_json: kept for the CLI; the result is always plain JSON types.

    Returns:
        dict with ``model``, ``parameters`` (name -> {value, se, unit}), ``nll`` (RT
        density in 1/s, nats), ``n_trials``, ``n_parameters``, ``aic``, ``bic`` and the
        data ``report`` (convention and filtered counts).
    """
    del as_json
    if model == "circuit":
        raise NotImplementedError(
            "the circuit fit is not available from `multiscale fit` yet; use --model ddm"
        )
    if model != "ddm":
        raise ValueError(f"model must be 'ddm' or 'circuit', got {model!r}")
    trials, report = load_trials(path, condition=condition)
    fitted, se, spec, hist = fit_ddm_trials(trials, key=jr.key(seed))
    nll = float(_nll(fitted, trials))
    k = n_parameters(fitted, spec)
    params = {
        "k": (fitted.k, se.k, "1/s per unit condition (drift = k * condition)"),
        "a": (fitted.a, se.a, "boundary separation (noise units; Palmer's A = a/2)"),
        "t0": (fitted.t0, se.t0, "s"),
    }
    return {
        "model": "ddm (proportional-rate; z = 0.5, 2% uniform contaminant; subjects pooled)",
        "parameters": {
            name: {"value": float(v), "se": float(s), "unit": u}
            for name, (v, s, u) in params.items()
        },
        "nll": nll,
        "n_trials": trials.n_trials,
        "n_parameters": k,
        "aic": float(aic(nll, k)),
        "bic": float(bic(nll, k, trials.n_trials)),
        "converged": bool(hist.converged),
        "report": str(report),
    }


def format_fit(result: dict) -> str:
    """Human-readable table of a :func:`fit_command` result."""
    lines = [f"model: {result['model']}", result["report"], ""]
    lines.append(f"{'parameter':10s} {'value':>10s} {'SE':>10s}  unit")
    for name, p in result["parameters"].items():
        se = "nan" if math.isnan(p["se"]) else f"{p['se']:.4g}"
        lines.append(f"{name:10s} {p['value']:>10.4g} {se:>10s}  {p['unit']}")
    lines.append("")
    lines.append(
        f"NLL {result['nll']:.3f} (RT density in 1/s), n = {result['n_trials']}, "
        f"AIC {result['aic']:.2f}, BIC {result['bic']:.2f}"
    )
    return "\n".join(lines)
