"""``multiscale fit DATA.csv --model ddm|circuit --condition COLUMN``: fit and report.

The DDM is fitted in three phases, each kept when a later one is interrupted (Ctrl-C):
the maximum-likelihood fit, the log-likelihood (NLL, AIC, BIC), then the Laplace standard
errors. The circuit fits return everything at once, so an interrupted circuit fit keeps
nothing.
"""

import os

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .._checks import runtime_checks
from ..behavior import ProportionalRateDDM, circuit_trials
from ..data import load_trials, read_csv
from ..fit import (
    aic,
    bic,
    ddm_negative_log_likelihood,
    default_circuit_behavior,
    fit,
    fit_circuit_summary,
    fit_circuit_trials,
    n_parameters,
    newton,
    standard_errors,
    summarize_trials,
)
from ._devices import one_device_per_core
from ._fit_by import fit_by_command
from ._fit_circuit_free import circuit_model_and_spec, resolve_free, values_at
from ._fit_depends import fit_depends_command, parse_depends
from ._fit_flags import (
    check_out,
    ddm_free,
    sample_ddm,
    sample_regression,
    save_fit,
    save_result,
)
from ._fit_gddm import _fit_gddm_command
from ._fit_models import _fit_regression_command, _fit_rlddm_command
from ._fit_race import fit_race_command
from ._fit_report import _convergence, format_fit
from ._run import Outcome, Progress

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


def _fit_circuit_summary_command(trials, report, seed: int, options: dict | None, paths):
    """``--model circuit --likelihood summary``: summary per condition, then the fit."""
    options = dict(n_paths=64, steps=150, n_starts=4, n_paths_eval=256) | (options or {})
    if paths is not None and options.get("filter_spec") is None:
        options["model"], options["filter_spec"] = circuit_model_and_spec(
            paths, options.get("model")
        )
    data = summarize_trials(trials)
    r = fit_circuit_summary(data, key=jr.key(seed), **options)
    values = values_at(r.model, paths or resolve_free(None))
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
        "convergence": _convergence(r.history),
        "report": str(report) + note,
    }


def _fit_circuit_trials_command(trials, report, seed: int, options: dict | None, paths):
    """``--model circuit`` (``--likelihood trial``): maximum likelihood of every trial."""
    options = _TRIAL_DEFAULTS | (options or {})
    data = circuit_trials(trials)
    if options.get("model") is None:
        # The contaminant's RT range must cover every trial (as the DDM branch's rt_max).
        model = default_circuit_behavior()
        rt_max = max(float(model.rt_max), float(np.max(np.asarray(trials.rt))))
        options["model"] = eqx.tree_at(lambda m: m.rt_max, model, rt_max)
    if paths is not None and options.get("filter_spec") is None:
        options["model"], options["filter_spec"] = circuit_model_and_spec(paths, options["model"])
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
        "convergence": _convergence(r.history),
        "report": str(report) + note,
    }


_MODELS = ("ddm", "circuit", "rlddm", "gddm", "lba", "racing")
_DDM_UNITS = {
    "k": "1/s per unit condition (drift = k * condition)",
    "a": "boundary separation (noise units; Palmer's A = a/2)",
    "t0": "s",
}
_DDM_MODEL = "ddm (proportional-rate; z = 0.5, 2% uniform contaminant; subjects pooled)"
# The recipe of multiscale.fit.fit_ddm_trials (start, free parameters, damped Newton
# steps, early stopping), run phase by phase so that Ctrl-C during the standard errors
# keeps the fit; tests/test_cli_fit.py checks that both give the same fit.
_NEWTON = newton()
_DDM_FIT = dict(steps=100, patience=5, tol=1e-4, chunk=5)
_ddm_nll = eqx.filter_jit(ddm_negative_log_likelihood)


def _ddm_start(trials):
    rt = np.asarray(trials.rt)
    model = ProportionalRateDDM(
        k=5.0,
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        p_outlier=0.02,
        rt_max=jnp.asarray(max(2.0, float(rt.max())), jnp.float32),
    )
    spec = jax.tree.map(lambda _: False, model)
    return model, eqx.tree_at(lambda m: (m.k, m.a, m.t0), spec, (True, True, True))


def _fit_ddm_command(trials, report, seed: int, progress: Progress):
    """The DDM branch, phase by phase; ``progress.partial`` holds what finished.
    Returns the result and the fitted model."""
    model, spec = _ddm_start(trials)
    progress.start(f"fitting the DDM to {trials.n_trials} trials")
    fitted, hist = fit(
        model, ddm_negative_log_likelihood, trials, optimizer=_NEWTON, key=jr.key(seed),
        filter_spec=spec, **_DDM_FIT,
    )  # fmt: skip
    k = n_parameters(fitted, spec)
    result = {
        "model": _DDM_MODEL,
        "likelihood": "trial",
        "parameters": {
            name: {"value": float(getattr(fitted, name)), "se": None, "unit": unit}
            for name, unit in _DDM_UNITS.items()
        },
        "nll": None,
        "n_trials": trials.n_trials,
        "n_parameters": k,
        "aic": None,
        "bic": None,
        "converged": bool(hist.converged),
        "convergence": _convergence(hist),
        "report": str(report),
    }

    def keep(what: str) -> None:
        progress.partial = Outcome(text=format_fit(result), data=result)
        progress.kept = what

    keep("the fitted parameters are printed, without their log-likelihood and SEs")
    progress.start("computing the log-likelihood")
    nll = float(_ddm_nll(fitted, trials))
    result.update(nll=nll, aic=float(aic(nll, k)), bic=float(bic(nll, k, trials.n_trials)))
    keep("the fitted parameters and their log-likelihood are printed, without SEs")
    progress.start("computing the standard errors")
    se = standard_errors(fitted, ddm_negative_log_likelihood, trials, spec)
    for name in _DDM_UNITS:
        result["parameters"][name]["se"] = float(getattr(se, name))
    return result, fitted


def fit_command(
    path: str | os.PathLike,
    model: str = "ddm",
    condition: str | None = None,
    seed: int = 0,
    as_json: bool = False,
    *,
    likelihood: str = "trial",
    circuit_options: dict | None = None,
    rt_range: tuple[float, float] | None = None,
    progress: Progress | None = None,
    formulas: list[str] | None = None,
    output: str | os.PathLike | None = None,
    sampler: str = "mle",
    draws: int = 1000,
    chains: int = 4,
    by: str | None = None,
    gddm_options: dict | None = None,
    depends_on: list[str] | None = None,
    race_options: dict | None = None,
    free: list[str] | None = None,
) -> dict:
    """Fit a model to a CSV of trials; return a JSON-ready dict of the result.

    Args:
        path: CSV with one row per trial (HDDM, HSSM or PyDDM columns; RT in s).
        model: ``"ddm"`` (proportional-rate DDM: drift = k * condition), ``"circuit"``,
            ``"rlddm"``, ``"gddm"`` (leaky collapsing-bound DDM,
            :mod:`multiscale.cli._fit_gddm`), ``"lba"`` (linear ballistic accumulator) or
            ``"racing"`` (racing diffusion model; both :mod:`multiscale.cli._fit_race`).
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
        rt_range: ``(low, high)`` in s: keep only these trials (see
            :func:`~multiscale.data.load_trials`).
        progress: the command line's record of finished phases (for Ctrl-C).
        formulas: DDM only: regressions of DDM parameters on the data's columns, e.g.
            ``["v ~ 0 + coherence", "a ~ 1 + instruction"]`` (:func:`multiscale.data.regression`;
            fixed effects by maximum likelihood, Laplace SEs).
        output: write the point estimates to this ``.json`` or ``.nc`` file (every model;
            the DDM, ``formulas``, ``depends_on``, LBA and racing fits by
            :func:`~multiscale.fit.save_point_estimates`, the circuit, RLDDM and GDDM fits
            from their result, with SEs), or with ``sampler="nuts"`` the posterior as
            ArviZ netCDF (``.nc``); an existing file is refused before fitting.
        sampler: ``"mle"`` (maximum likelihood) or, for the DDM (alone, with ``by`` or
            with ``formulas``), ``"nuts"``: the posterior by NUTS from the MLE
            (weakly-informative priors; see :mod:`multiscale.cli._fit_flags`),
            summarised under ``posterior`` and with ``parameters`` holding the posterior
            means.
        draws: NUTS draws per chain (the warm-up has as many steps).
        chains: NUTS chains.
        free: for ``model="circuit"``: the parameters to free, by path
            (``circuit.sigma_noise``, ``readout.temperature``, or the last part alone;
            :mod:`multiscale.cli._fit_circuit_free`); default ``J_A_ext``, ``threshold``,
            ``non_decision_time``.
        race_options: keyword arguments of ``ms.fit.fit`` for ``model="lba"`` or
            ``"racing"`` (default 500 L-BFGS steps, 4 starts, patience 30, tol 1e-5).
        gddm_options: keyword arguments of ``ms.fit.fit`` for ``model="gddm"`` (default
            150 L-BFGS steps, patience 20, tol 1e-4).
        by: DDM only (maximum likelihood, ``depends_on`` or NUTS): fit each level of
            this column (e.g. the subject) separately (:mod:`multiscale.cli._fit_by`);
            the result holds each level's result under ``levels`` and its parameters as
            ``NAME[LEVEL]``.

    Returns:
        dict with ``model``, ``likelihood`` (``"trial"`` or ``"summary"``),
        ``parameters`` (name -> {value, se, unit}), ``nll`` (nats; for ``"trial"`` of the
        RT density in 1/s), ``n_trials``, ``n_parameters``, ``aic``, ``bic``,
        ``converged`` (True only at a checked optimum: the optimiser stopped, the
        Hessian is positive definite and the Newton decrement small), ``convergence``
        (gradient norm, Newton decrement, smallest Hessian eigenvalue, unidentified
        parameters, the reason when not converged) and the data ``report`` (convention,
        filtered counts, assumptions).

    Raises:
        ValueError: an unknown model or likelihood, ``likelihood="summary"`` with the
            DDM, or data the loader rejects.
    """
    del as_json
    progress = Progress() if progress is None else progress
    if model not in _MODELS:
        raise ValueError(
            f"model must be {', '.join(map(repr, _MODELS[:-1]))} or {_MODELS[-1]!r}, got {model!r}"
        )
    if likelihood not in ("trial", "summary"):
        raise ValueError(f"likelihood must be 'trial' or 'summary', got {likelihood!r}")
    if model != "circuit" and likelihood != "trial":
        raise ValueError(
            "--likelihood summary applies to --model circuit only; the DDM, GDDM, RLDDM and "
            "race models are always fitted by their trial-level likelihood"
        )
    if sampler not in ("mle", "nuts"):
        raise ValueError(f"sampler must be 'mle' or 'nuts', got {sampler!r}")
    if sampler == "nuts" and model != "ddm":
        raise ValueError(
            "--sampler nuts applies to --model ddm (alone, with --by or with --formula); "
            "the other models are fitted by maximum likelihood"
        )
    if min(draws, chains) < 1:
        raise ValueError(f"--draws and --chains must be >= 1, got {draws} and {chains}")
    check_out(output, sampler)  # before minutes of fitting
    depends = parse_depends(depends_on)
    if free and model != "circuit":
        raise ValueError("--free chooses the free parameters of --model circuit")
    paths = resolve_free(free) if free else None
    if depends and (model != "ddm" or sampler != "mle"):
        raise ValueError(
            "--depends-on applies to --model ddm fitted by maximum likelihood (not --sampler nuts)"
        )
    if depends and condition is None and not formulas:
        raise ValueError("--condition is required (the column that scales the drift)")
    if depends:

        def fit_frame(frame, seed, progress):
            return fit_depends_command(
                frame, depends, formulas, condition, rt_range, seed, progress
            )

    if by is not None and depends and not formulas and sampler == "mle" and output is None:
        return fit_by_command(path, by, condition, rt_range, seed, progress, fit_frame=fit_frame)
    if by is not None:
        if model != "ddm" or formulas or output is not None:
            raise ValueError(
                "--by fits the DDM (by maximum likelihood or --sampler nuts); it does not "
                "combine with --model circuit/rlddm/gddm/lba/racing, --formula or --out"
            )
        if depends and sampler != "mle":
            raise ValueError("--depends-on with --by is fitted by maximum likelihood only")
        if condition is None:
            raise ValueError("--condition is required (the column that scales the drift)")
        fit_one = _fit_ddm_command
        if sampler == "nuts":

            def fit_one(trials, report, seed, progress):
                result, fitted = _fit_ddm_command(trials, report, seed, progress)
                _sample_into(result, fitted, trials, seed, draws, chains, progress)
                return result, fitted

        return fit_by_command(path, by, condition, rt_range, seed, progress, fit_one)
    if depends:
        result, fitted, free = fit_frame(read_csv(path), seed, progress)
        if output is not None:
            save_fit(output, fitted, free, result)
        return result
    if formulas:
        if model != "ddm":
            raise ValueError("--formula applies to --model ddm")
        result, fitted, free, trials = _fit_regression_command(
            path, list(formulas), condition, rt_range, seed, progress
        )
        if sampler == "nuts":
            posterior = _sample_into(
                result, fitted, trials, seed, draws, chains, progress,
                lambda: sample_regression(fitted, free, trials, seed, draws, chains),
            )  # fmt: skip
            if output is not None:
                posterior.to_netcdf(output)
                result["output"] = str(output)
            return result
        if output is not None:
            save_fit(output, fitted, free, result)
        return result
    if model == "rlddm":
        return _saved(_fit_rlddm_command(path, seed, progress), output)
    if condition is None:
        raise ValueError("--condition is required (the column that scales the drift)")
    progress.start("reading the data")
    trials, report = load_trials(path, condition=condition, rt_range=rt_range)
    if model == "gddm":
        return _saved(_fit_gddm_command(trials, report, seed, progress, gddm_options), output)
    if model in ("lba", "racing"):
        result, fitted, free = fit_race_command(model, trials, report, seed, progress, race_options)
        if output is not None:
            save_fit(output, fitted, free, result)
        return result
    if model == "circuit":
        progress.start(f"fitting the circuit ({likelihood} likelihood)")
        progress.kept = "the circuit fit returns its parameters and SEs together, so none"
        if likelihood == "summary":
            result = _fit_circuit_summary_command(trials, report, seed, circuit_options, paths)
        else:
            result = _fit_circuit_trials_command(trials, report, seed, circuit_options, paths)
        return _saved(result, output)
    result, fitted = _fit_ddm_command(trials, report, seed, progress)
    if sampler == "nuts":
        posterior = _sample_into(result, fitted, trials, seed, draws, chains, progress)
        if output is not None:
            posterior.to_netcdf(output)
            result["output"] = str(output)
        return result
    if output is not None:
        save_fit(output, fitted, ddm_free(), result)
    return result


def _sample_into(result, fitted, trials, seed, draws, chains, progress, sample=None):
    """NUTS from the DDM's MLE ``fitted``; ``result`` gets the posterior summary, its
    parameters the posterior means and SDs, ``mle`` the MLE. Returns the posterior."""
    progress.kept = "the maximum-likelihood fit is printed, without the posterior"
    progress.partial = Outcome(text=format_fit(result), data=result)
    progress.start(f"sampling the posterior ({chains} chains x {2 * draws} NUTS steps)")
    if sample is None:
        posterior, summary = sample_ddm(fitted, trials, seed, draws, chains)
    else:
        posterior, summary = sample()
    result["mle"] = {n: p["value"] for n, p in result["parameters"].items()}
    result["model"] += (
        "; parameters: posterior mean and sd (NUTS); NLL, AIC, BIC and converged: the "
        "maximum-likelihood fit (under 'mle')"
    )
    for name, p in summary["parameters"].items():
        result["parameters"][name].update(value=p["mean"], se=p["sd"])
    result["posterior"] = summary
    return posterior


def _saved(result: dict, output) -> dict:
    if output is not None:
        save_result(output, result)
    return result


def fit_main(args, progress: Progress) -> Outcome:
    """The ``fit`` subcommand: the fit, as a table or JSON."""
    if args.verbose:
        progress.echo = "multiscale fit"
    one_device_per_core()
    # load_trials has checked the data and the optimiser keeps every parameter in its
    # domain (constraint transforms), so the compiled fit carries no run-time check: a
    # program with one is never stored in the compilation cache (the second run's speed).
    with runtime_checks(False):
        result = fit_command(
            args.data,
            model=args.model,
            condition=args.condition,
            seed=args.seed,
            likelihood=args.likelihood,
            rt_range=None if args.rt_range is None else tuple(args.rt_range),
            progress=progress,
            formulas=args.formula,
            output=args.output,
            sampler=args.sampler,
            draws=args.draws,
            chains=args.chains,
            by=args.by,
            depends_on=args.depends_on,
            free=args.free,
        )
    return Outcome(text=format_fit(result), data=result)
