"""``multiscale fit DATA.csv --model ddm|circuit --condition COLUMN``: fit and report."""

import json
import math
import os
import sys

import equinox as eqx
import jax.random as jr
import numpy as np

from ..data import load_trials
from ..fit import (
    aic,
    bic,
    circuit_trials,
    ddm_negative_log_likelihood,
    default_circuit_behavior,
    fit_circuit_summary,
    fit_circuit_trials,
    fit_ddm_trials,
    n_parameters,
    summarize_trials,
)
from ._devices import one_device_per_core

# Units of the circuit parameters a fit may free (the rest are reported without one).
_CIRCUIT_UNITS = {
    "J_A_ext": "nA/Hz (stimulus gain; I = J_A_ext mu0 (1 +/- c))",
    "threshold": "Hz (hazard readout threshold)",
    "non_decision_time": "s",
    "sigma_noise": "nA (noise amplitude)",
    "I_0": "nA (background current)",
    "temperature": "Hz (hazard readout softness)",
}

# Trial-level defaults: the likelihood module's recommendations (>= 2000 fitting paths per
# condition, >= 5000 fresh ones, the 20 ms floor on the NDT SD), four starts split across
# the CPU cores, 40 Adam + up to 10 L-BFGS steps. Measured on two cores
# (benchmarks/RESULTS.md, trial-level circuit fit): a 2604-trial, six-coherence data set in
# under 5 minutes.
_TRIAL_DEFAULTS = dict(
    n_paths=2048, n_paths_eval=5000, steps=40, lbfgs_steps=10, n_starts=4, ndt_sd_min=0.02
)


def _circuit_parameters(values: dict, se: dict) -> dict:
    return {
        name: {
            "value": float(v),
            "se": float(se.get(name, np.nan)),
            "unit": _CIRCUIT_UNITS.get(name, ""),
        }
        for name, v in values.items()
    }


def _fit_circuit_summary_command(trials, report, seed: int, options: dict | None):
    """``--model circuit --likelihood summary``: summary per condition, then the fit."""
    options = dict(n_paths=64, steps=150, n_starts=4, n_paths_eval=256) | (options or {})
    data = summarize_trials(trials)
    r = fit_circuit_summary(data, key=jr.key(seed), **options)
    m = r.model
    values = {
        "J_A_ext": m.circuit.J_A_ext,
        "threshold": m.readout.threshold,
        "non_decision_time": m.readout.non_decision_time,
    }
    note = f"\nSE: {r.se_note}" if r.se_note else ""
    return {
        "model": (
            "circuit (Wong-Wang 2006 appendix + hazard readout; summary likelihood: binomial "
            "correct counts + Gaussian mean RT per |coherence|, "
            f"{options['n_paths']} common-random-number paths per condition, NLL on "
            f"{options['n_paths_eval']} fresh paths, lapse 0.001; subjects pooled; NLL not "
            "comparable with the DDM branch's trial-level NLL)"
        ),
        "likelihood": "summary",
        "parameters": _circuit_parameters(values, r.se),
        "nll": r.nll,
        "n_trials": trials.n_trials,
        "n_parameters": r.n_parameters,
        "aic": r.aic,
        "bic": r.bic,
        "converged": bool(r.history.converged),
        "report": str(report) + note,
    }


def _fit_circuit_trials_command(trials, report, seed: int, options: dict | None):
    """``--model circuit`` (``--likelihood trial``): maximum likelihood of every trial."""
    options = _TRIAL_DEFAULTS | (options or {})
    data = circuit_trials(trials)
    if options.get("model") is None:
        # The contaminant's RT range must cover every trial (as the DDM branch's rt_max).
        model = default_circuit_behavior()
        rt_max = max(float(model.rt_max), float(np.max(np.asarray(trials.rt))))
        options["model"] = eqx.tree_at(lambda m: m.rt_max, model, rt_max)
    r = fit_circuit_trials(data, key=jr.key(seed), **options)
    note = f"\nSE: {r.se_note}" if r.se_note else ""
    ndt_sd = float(np.hypot(float(r.model.ndt_sd), options["ndt_sd_min"]))
    return {
        "model": (
            "circuit (Wong-Wang 2006 appendix + hazard readout; trial-level likelihood of "
            "choice and RT per |coherence|, RT density in 1/s from "
            f"{options['n_paths']} common-random-number paths per condition, normal "
            f"non-decision time of SD {1e3 * ndt_sd:.0f} ms, lapse 0.001; NLL on "
            f"{options['n_paths_eval']} fresh paths, a Monte Carlo estimate comparable with "
            "the DDM branch's trial-level NLL; SEs: Laplace, curvature of the fitting paths' "
            "loss (Monte Carlo error not included); subjects pooled)"
        ),
        "likelihood": "trial",
        "parameters": _circuit_parameters(r.parameters, r.se),
        "nll": r.nll,
        "n_trials": r.n_trials,
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
    likelihood: str = "trial",
    circuit_options: dict | None = None,
) -> dict:
    """Fit a model to a CSV of trials; return a JSON-ready dict of the result.

    Args:
        path: CSV with one row per trial (HDDM, HSSM or PyDDM columns; RT in s).
        model: ``"ddm"`` (proportional-rate DDM: drift = k * condition) or ``"circuit"``.
        condition: column whose value scales the drift (e.g. coherence as a fraction).
        seed: PRNG seed.
        as_json: kept for the CLI; the result is always plain JSON types.
        likelihood: for ``model="circuit"``: ``"trial"`` (default; maximum likelihood of
            every trial's choice and RT, :func:`~multiscale.fit.fit_circuit_trials`) or
            ``"summary"`` (choice counts and mean RT per coherence,
            :func:`~multiscale.fit.fit_circuit_summary`). The DDM is always fitted
            trial by trial.
        circuit_options: keyword arguments of the circuit fit that ``likelihood`` picks
            (trial default: 2048 fitting paths, 5000 fresh paths, 40 Adam and 10 L-BFGS
            steps, 4 starts, NDT SD floor 20 ms; summary default: 64 paths, 150 steps, 4
            starts, 256 fresh paths). For the circuit the condition must be the
            coherence as a fraction (sign = direction).

    Returns:
        dict with ``model``, ``likelihood`` (``"trial"`` or ``"summary"``),
        ``parameters`` (name -> {value, se, unit}), ``nll`` (nats; for ``"trial"`` of the
        RT density in 1/s), ``n_trials``, ``n_parameters``, ``aic``, ``bic``,
        ``converged`` and the data ``report`` (convention and filtered counts).

    Raises:
        ValueError: an unknown model or likelihood, ``likelihood="summary"`` with the
            DDM, or data the loader rejects.
    """
    del as_json
    if model not in ("ddm", "circuit"):
        raise ValueError(f"model must be 'ddm' or 'circuit', got {model!r}")
    if likelihood not in ("trial", "summary"):
        raise ValueError(f"likelihood must be 'trial' or 'summary', got {likelihood!r}")
    if model == "ddm" and likelihood != "trial":
        raise ValueError(
            "--likelihood summary applies to --model circuit only; the DDM is always fitted "
            "by its trial-level likelihood"
        )
    trials, report = load_trials(path, condition=condition)
    if model == "circuit" and likelihood == "summary":
        return _fit_circuit_summary_command(trials, report, seed, circuit_options)
    if model == "circuit":
        return _fit_circuit_trials_command(trials, report, seed, circuit_options)
    fitted, se, spec, hist = fit_ddm_trials(trials, key=jr.key(seed))
    nll = float(ddm_negative_log_likelihood(fitted, trials))
    k = n_parameters(fitted, spec)
    params = {
        "k": (fitted.k, se.k, "1/s per unit condition (drift = k * condition)"),
        "a": (fitted.a, se.a, "boundary separation (noise units; Palmer's A = a/2)"),
        "t0": (fitted.t0, se.t0, "s"),
    }
    return {
        "model": "ddm (proportional-rate; z = 0.5, 2% uniform contaminant; subjects pooled)",
        "likelihood": "trial",
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
    width = max(len("parameter"), *(len(name) for name in result["parameters"]))
    lines.append(f"{'parameter':{width}s} {'value':>10s} {'SE':>10s}  unit")
    for name, p in result["parameters"].items():
        se = "nan" if math.isnan(p["se"]) else f"{p['se']:.4g}"
        lines.append(f"{name:{width}s} {p['value']:>10.4g} {se:>10s}  {p['unit']}")
    lines.append("")
    summary = result.get("likelihood") == "summary"
    kind = "summary likelihood" if summary else "trial likelihood, RT density in 1/s"
    lines.append(
        f"NLL {result['nll']:.3f} ({kind}), n = {result['n_trials']}, "
        f"AIC {result['aic']:.2f}, BIC {result['bic']:.2f}"
    )
    return "\n".join(lines)


def fit_main(args) -> int:
    """The ``fit`` subcommand: fit, print a table or JSON; exit status 2 on bad input."""
    one_device_per_core()
    try:
        result = fit_command(
            args.data,
            model=args.model,
            condition=args.condition,
            seed=args.seed,
            likelihood=args.likelihood,
        )
    except (FileNotFoundError, ValueError, NotImplementedError) as e:
        # Bad input is the user's to fix: say what, without a traceback.
        print(f"multiscale fit: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(format_fit(result))
    return 0
