"""``multiscale fit --formula`` (DDM regressions) and ``--model rlddm``: fixed-effects
maximum likelihood with Laplace standard errors by the delta method."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import DDM, RLDDM
from ..data import load_rl_trials, load_trials, regression
from ..fit import Free, aic, bic, fit, lbfgs, parameterize
from ._fit_report import _convergence


def _link_unit(model, field: str) -> str:
    link = type(model.predictors[field].link).__name__.lower()
    return {"log": "log scale", "logit": "logit scale", "identity": "identity"}.get(link, link)


def _fit_regression_command(path, formulas, condition, rt_range, seed, progress):
    """``--formula``: a DDM whose parameters are regressions on the data's columns."""
    trials, _ = load_trials(path, condition=condition, rt_range=rt_range)
    rt = np.asarray(trials.rt)
    base = DDM(
        v=0.0,
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        p_outlier=0.02,
        rt_max=jnp.asarray(max(2.0, float(rt.max())), jnp.float32),
    )
    progress.start("building the design matrices")
    model, trials, report = regression(base, formulas, path, condition=condition, rt_range=rt_range)
    if model.offsets:
        raise ValueError(
            "random intercepts '(1|group)' need the Bayesian fit (ms.fit.sample_posterior "
            "with ms.fit.regression_priors); the command line fits fixed effects by maximum "
            "likelihood"
        )
    free = [Free(lambda m, k=k: m.coefficients[k], name=k) for k in model.coefficients]
    for field in ("v", "a", "t0"):
        if field not in model.predictors:
            free.append(Free(lambda m, f=field: getattr(m.base, f), name=field))

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    progress.start(f"fitting the regression DDM to {trials.n_trials} trials")
    fitted, hist = fit(
        model, nll, trials, free=free, optimizer=lbfgs(), steps=500, key=jr.key(seed),
        progress=False,
    )  # fmt: skip
    units = {}
    for name in parameterize(fitted, free)[1].names:
        field = name.split(":")[0]
        units[name] = (
            f"{field} coefficient, {_link_unit(model, field)}" if ":" in name else "DDM field"
        )
    result = _laplace_result(
        "DDM regression: " + "; ".join(formulas), fitted, free, nll, trials, hist, report, units
    )
    return result, fitted, free, trials


def _laplace_result(name, fitted, free, nll, trials, hist, report, units) -> dict:
    """The command's JSON-ready result: values, Laplace SEs, NLL, AIC/BIC, convergence."""
    values, se, value, k, rebuild = _laplace(fitted, free, nll, trials, hist)
    return {
        "model": name,
        "likelihood": "trial",
        "parameters": {
            n: {"value": float(v), "se": float(e), "unit": units[n]}
            for n, v, e in zip(rebuild.names, values, se, strict=True)
        },
        "nll": value,
        "n_trials": trials.n_trials,
        "n_parameters": k,
        "aic": float(aic(value, k)),
        "bic": float(bic(value, k, trials.n_trials)),
        "converged": bool(hist.converged),
        "convergence": _convergence(hist),
        "report": str(report),
    }


def _laplace(fitted, free, nll, trials, hist=None):
    """Values, Laplace SEs (delta method from the unconstrained scale), NLL and the
    parameterisation of a fit by ``fit(..., free=free)``. The NLL and Hessian of the fit's
    optimum check (``hist.check``, the same point and coordinates) are reused when finite:
    computing them again costs a second compilation (e.g. 14 s of CPU time for the racing
    diffusion model)."""
    u, rebuild = parameterize(fitted, free)
    k = int(u.shape[0])
    check = getattr(hist, "check", None)
    hess = None if check is None else check.hessian
    if hess is not None and np.shape(hess) == (k, k) and np.all(np.isfinite(hess)):
        value, hess = float(check.value), np.asarray(hess, float)
    else:
        value = float(nll(fitted, trials))
        hess = np.asarray(jax.hessian(lambda u: nll(rebuild(u), trials))(u), float)
    try:
        cov_u = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov_u = np.full_like(hess, np.nan)
    slope = np.asarray(jax.jacfwd(lambda u: _flat(rebuild, u))(u), float).diagonal()
    se = np.sqrt(np.clip(np.diag(cov_u), 0, None)) * np.abs(slope)
    values = np.asarray(_flat(rebuild, u), float)
    return values, se, value, k, rebuild


_RLDDM_UNITS = {
    "alpha": "learning rate (0-1)",
    "scaler": "1/s drift per unit value difference",
    "a": "boundary separation",
    "t0": "s",
}


def _fit_rlddm_command(path, seed, progress) -> dict:
    """``--model rlddm``: Q-learning with the DDM choice rule (HDDM's RLDDM columns)."""
    progress.start("reading the learning-task data")
    trials, report = load_rl_trials(path)
    rt = np.asarray(trials.rt)
    start = RLDDM(
        alpha=0.2,
        scaler=2.0,
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        rt_max=float(max(2.0, rt.max())),
    )
    free = [Free(lambda m, f=f: getattr(m, f), name=f) for f in _RLDDM_UNITS]

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    progress.start(f"fitting the RLDDM to {trials.n_trials} trials")
    fitted, hist = fit(
        start, nll, trials, free=free, optimizer=lbfgs(), steps=500, key=jr.key(seed),
        n_starts=4, progress=False,
    )  # fmt: skip
    return _laplace_result(
        "RLDDM (Pedersen, Frank & Biele 2017)", fitted, free, nll, trials, hist, report,
        _RLDDM_UNITS,
    )  # fmt: skip


def _flat(rebuild, u):
    parts = rebuild._split(u)
    return jnp.concatenate(
        [t.forward(p).reshape(-1) for t, p in zip(rebuild.transforms, parts, strict=True)]
    )
