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
from ._circuit_fit import fit_circuit_summary, summarize_trials
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


def _fit_circuit_command(trials, report, seed: int, options: dict | None):
    """The ``--model circuit`` branch: summary per condition, then the circuit fit."""
    options = dict(n_paths=64, steps=150, n_starts=4, n_paths_eval=256) | (options or {})
    data = summarize_trials(trials)
    r = fit_circuit_summary(data, key=jr.key(seed), **options)
    m = r.model
    params = {
        "J_A_ext": (m.circuit.J_A_ext, "nA/Hz (stimulus gain; I = J_A_ext mu0 (1 +/- c))"),
        "threshold": (m.readout.threshold, "Hz (hazard readout threshold)"),
        "non_decision_time": (m.readout.non_decision_time, "s"),
    }
    note = f"; SE: {r.se_note}" if r.se_note else ""
    return {
        "model": (
            "circuit (Wong-Wang 2006 appendix + hazard readout; summary likelihood: binomial "
            "correct counts + Gaussian mean RT per |coherence|, "
            f"{options['n_paths']} common-random-number paths per condition, NLL on "
            f"{options['n_paths_eval']} fresh paths, lapse 0.001; subjects pooled; NLL not "
            "comparable with the DDM branch's trial-level NLL)"
        ),
        "parameters": {
            name: {"value": float(v), "se": float(r.se[name]), "unit": u}
            for name, (v, u) in params.items()
        },
        "nll": r.nll,
        "n_trials": trials.n_trials,
        "n_parameters": r.n_parameters,
        "aic": r.aic,
        "bic": r.bic,
        "converged": bool(r.history.converged),
        "report": str(report) + note,
    }


def fit_command(
    path: str | os.PathLike,
    model: str = "ddm",
    condition: str | None = None,
    seed: int = 0,
    as_json: bool = False,
    *,
    circuit_options: dict | None = None,
) -> dict:
    """Fit a model to a CSV of trials; return a JSON-ready dict of the result.

    Args:
        path: CSV with one row per trial (HDDM, HSSM or PyDDM columns; RT in s).
        model: ``"ddm"`` (proportional-rate DDM: drift = k * condition) or ``"circuit"``.
        condition: column whose value scales the drift (e.g. coherence as a fraction).
        seed: PRNG seed.
        as_json: kept for the CLI; the result is always plain JSON types.
        circuit_options: keyword arguments of :func:`~multiscale.fit.fit_circuit_summary`
            for ``model="circuit"`` (default 64 paths, 150 steps, 4 starts, 256 fresh
            paths); the condition must then be the coherence as a fraction (sign =
            direction).

    Returns:
        dict with ``model``, ``parameters`` (name -> {value, se, unit}), ``nll`` (RT
        density in 1/s, nats), ``n_trials``, ``n_parameters``, ``aic``, ``bic`` and the
        data ``report`` (convention and filtered counts).
    """
    del as_json
    if model not in ("ddm", "circuit"):
        raise ValueError(f"model must be 'ddm' or 'circuit', got {model!r}")
    trials, report = load_trials(path, condition=condition)
    if model == "circuit":
        return _fit_circuit_command(trials, report, seed, circuit_options)
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
    kind = "summary likelihood" if result["model"].startswith("circuit") else "RT density in 1/s"
    lines.append(
        f"NLL {result['nll']:.3f} ({kind}), n = {result['n_trials']}, "
        f"AIC {result['aic']:.2f}, BIC {result['bic']:.2f}"
    )
    return "\n".join(lines)
