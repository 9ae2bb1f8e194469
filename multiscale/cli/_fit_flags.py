"""``multiscale fit --out FILE`` and ``--sampler nuts``: saving a fit and sampling the
DDM's posterior (``--formula`` fits: see :func:`regression_priors`).

The posterior is drawn by NUTS (Hoffman & Gelman 2014) from the maximum-likelihood fit,
with weakly-informative priors on the proportional-rate DDM's three free parameters:

- ``k`` ~ Normal(0, 20) 1/s per unit condition (drift = k * condition; the fitted value
  for motion coherence as a fraction is about 5-20/s, Palmer et al. 2005),
- ``a`` ~ Gamma(2, 1) (mean 2, 95 % of the mass in 0.24-5.6, boundary separation in
  noise units),
- ``t0`` ~ Uniform(0, median RT) s (the non-decision time lies below the median RT).

Convergence is judged by ArviZ's rank-normalised R-hat < 1.01, bulk and tail ESS >= 100
per chain and no divergent transition (Vehtari et al. 2021); a posterior that fails is
reported with a warning line, never silently.

References:
    Hoffman MD, Gelman A (2014) The No-U-Turn sampler: adaptively setting path lengths
    in Hamiltonian Monte Carlo. J Mach Learn Res 15:1593-1623.
    Palmer J, Huk AC, Shadlen MN (2005) The effect of stimulus strength on the speed and
    accuracy of a perceptual decision. J Vis 5:376-404.
    Vehtari A, Gelman A, Simpson D, Carpenter B, Bürkner PC (2021) Rank-normalization,
    folding, and localization: an improved R-hat for assessing convergence of MCMC.
    Bayesian Anal 16:667-718.
"""

import json
import math
import os
from pathlib import Path

import jax.random as jr
import numpy as np

from ..fit import Free, Gamma, Normal, Prior, Uniform, sample_posterior, save_point_estimates

_DDM_NAMES = ("k", "a", "t0")


def check_out(out: str | os.PathLike | None, sampler: str = "mle") -> None:
    """Refuse ``--out`` before any fitting: an existing file or an unknown suffix."""
    if out is None:
        return
    suffix = Path(out).suffix
    allowed = (".nc",) if sampler == "nuts" else (".json", ".nc")
    if suffix not in allowed:
        raise ValueError(
            f"--out {out}: the file must end in {' or '.join(allowed)}"
            + (" (a posterior is written as ArviZ netCDF)" if sampler == "nuts" else "")
        )
    if os.path.exists(out):
        raise FileExistsError(
            f"--out {out} exists; choose another name (fits never overwrite files)"
        )


def ddm_free() -> list[Free]:
    """The DDM branch's free parameters, by name (for saving and loading point estimates)."""
    return [Free(lambda m, f=f: getattr(m, f), name=f) for f in _DDM_NAMES]


def save_fit(out, fitted, free, result: dict) -> None:
    """Write the point estimates of a fit and its summary (``info``) to ``out``."""
    info = {k: result[k] for k in ("model", "nll", "n_trials", "converged") if k in result}
    save_point_estimates(out, fitted, free, info=info)
    result["output"] = str(out)


def save_result(out, result: dict) -> None:
    """Write a fit's point estimates (and SEs) from its result, for the fits that return no
    model (circuit, RLDDM, GDDM): the layout of :func:`~multiscale.fit.save_point_estimates`
    (``parameters``: name -> value, ``info``) plus ``se``: name -> Laplace SE. ``.json``
    or ``.nc`` (netCDF, the values as scalar variables and ``se``/``info`` as JSON
    attributes); an existing file is never replaced."""
    values = {n: float(p["value"]) for n, p in result["parameters"].items()}
    se = {
        n: _finite(p["se"]) if p.get("se") is not None else None
        for n, p in result["parameters"].items()
    }
    info = {k: result[k] for k in ("model", "nll", "n_trials", "converged") if k in result}
    path = Path(out)
    if path.suffix == ".json":
        text = json.dumps({"parameters": values, "se": se, "info": info}, indent=2)
        with open(path, "x") as f:  # "x": never overwrite
            f.write(text)
    else:
        import xarray as xr

        if path.exists():
            raise FileExistsError(f"--out {out} exists")
        ds = xr.Dataset({n: ((), v) for n, v in values.items()})
        ds.attrs["info"] = json.dumps(info)
        ds.attrs["se"] = json.dumps(se)
        ds.to_netcdf(path)
    result["output"] = str(out)


def ddm_priors(trials) -> list[Prior]:
    """Weakly-informative priors on k, a and t0 (see the module docstring)."""
    median = float(np.median(np.asarray(trials.rt)))
    return [
        Prior(lambda m: m.k, Normal(0.0, 20.0), name="k"),
        Prior(lambda m: m.a, Gamma(2.0, 1.0), name="a"),
        Prior(lambda m: m.t0, Uniform(0.0, median), name="t0"),
    ]


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def sample_ddm(fitted, trials, seed: int, draws: int, chains: int):
    """NUTS from the MLE ``fitted`` (warm-up = ``draws``); return the posterior and its
    JSON-ready summary."""
    start = fitted
    median = float(np.median(np.asarray(trials.rt)))
    if not 0.0 < float(fitted.t0) < median:  # inside the prior's support
        import equinox as eqx

        start = eqx.tree_at(lambda m: m.t0, fitted, 0.5 * median)
    posterior = sample_posterior(
        start, trials, ddm_priors(trials), key=jr.key(seed + 1), chains=chains,
        warmup=draws, draws=draws, predictive=None,
    )  # fmt: skip
    priors = {"k": "Normal(0, 20)", "a": "Gamma(2, 1)", "t0": f"Uniform(0, {median:.4g})"}
    return posterior, _summary(posterior, chains, draws, priors)


def regression_priors(fitted, free, trials) -> tuple[list[Prior], dict[str, str]]:
    """Weakly-informative priors for a ``--formula`` fit: per coefficient Normal(g(start),
    1) for an intercept and Normal(0, 1) otherwise on a log or logit scale (1 is a factor
    e), Normal(0, 20) on the identity scale (a drift per unit covariate, as ``k``); the
    fields without a formula as in the DDM (``v`` Normal(0, 20), ``a`` Gamma(2, 1), ``t0``
    Uniform(0, median RT))."""
    from ..behavior import Identity
    from ..data import link_predictor

    median = float(np.median(np.asarray(trials.rt)))
    priors, text = [], {}
    for f in free:
        name = f.name
        if ":" in name:
            field, column = name.split(":", 1)
            link = fitted.predictors[field].link
            scale = 20.0 if isinstance(link, Identity) else 1.0
            loc = 0.0
            if column == "Intercept":
                loc = link_predictor(link, float(getattr(fitted.base, field)))
            dist = Normal(loc, scale)
            text[name] = f"Normal({loc:.4g}, {scale:g})"
        elif name == "t0":
            dist, text[name] = Uniform(0.0, median), f"Uniform(0, {median:.4g})"
        elif name == "a":
            dist, text[name] = Gamma(2.0, 1.0), "Gamma(2, 1)"
        else:
            dist, text[name] = Normal(0.0, 20.0), "Normal(0, 20)"
        priors.append(Prior(f.where, dist, name=name))
    return priors, text


def sample_regression(fitted, free, trials, seed: int, draws: int, chains: int):
    """NUTS from the ``--formula`` MLE ``fitted`` (warm-up = ``draws``); the posterior and
    its JSON-ready summary."""
    priors, text = regression_priors(fitted, free, trials)
    start = fitted
    median = float(np.median(np.asarray(trials.rt)))
    if "t0" in text and not 0.0 < float(fitted.base.t0) < median:
        import equinox as eqx

        start = eqx.tree_at(lambda m: m.base.t0, fitted, 0.5 * median)
    posterior = sample_posterior(
        start, trials, priors, key=jr.key(seed + 1), chains=chains, warmup=draws,
        draws=draws, predictive=None,
    )  # fmt: skip
    return posterior, _summary(posterior, chains, draws, text)


def _summary(posterior, chains: int, draws: int, priors: dict) -> dict:
    """JSON-ready summary of a posterior: mean, sd, 94 % HDI, R-hat, bulk and tail ESS."""
    import arviz as az  # the `bayes` extra; sample_posterior has checked it is installed

    # az.summary (mean, sd, 94 % HDI), unrounded.
    table = az.summary(posterior.idata, var_names=list(posterior.names), round_to="none")
    ess = posterior.ess
    hdi_low, hdi_high = [c for c in table.columns if c.startswith("hdi_")][:2]
    parameters = {
        name: {
            "mean": float(table.loc[name, "mean"]),
            "sd": float(table.loc[name, "sd"]),
            hdi_low: float(table.loc[name, hdi_low]),
            hdi_high: float(table.loc[name, hdi_high]),
            "r_hat": _finite(posterior.r_hat[name]),
            "ess_bulk": _finite(ess[name][0]),
            "ess_tail": _finite(ess[name][1]),
        }
        for name in posterior.names
    }
    summary = {
        "sampler": "NUTS (blackjax; Stan window adaptation, diagonal mass matrix)",
        "chains": chains,
        "warmup": draws,
        "draws": draws,
        "priors": priors,
        "parameters": parameters,
        "divergences": posterior.divergences,
        "converged": bool(posterior.converged),
    }
    return summary


def format_posterior(post: dict) -> str:
    """The posterior table of ``--sampler nuts``, with a warning when not converged."""
    names = list(post["parameters"])
    first = post["parameters"][names[0]]
    low, high = [k for k in first if k.startswith("hdi_")]
    w = max(9, *(len(n) for n in names))
    lines = [
        f"posterior: {post['chains']} chains x ({post['warmup']} warm-up + {post['draws']} "
        f"draws), priors " + ", ".join(f"{n} ~ {p}" for n, p in post["priors"].items()),
        f"{'parameter':{w}s} {'mean':>10s} {'sd':>10s} {low:>10s} {high:>10s} {'r_hat':>7s} "
        f"{'ess_bulk':>9s} {'ess_tail':>9s}",
    ]
    for name, p in post["parameters"].items():
        r = "-" if p["r_hat"] is None else f"{p['r_hat']:.3f}"
        eb = "-" if p["ess_bulk"] is None else f"{p['ess_bulk']:.0f}"
        et = "-" if p["ess_tail"] is None else f"{p['ess_tail']:.0f}"
        lines.append(
            f"{name:{w}s} {p['mean']:>10.4g} {p['sd']:>10.4g} {p[low]:>10.4g} {p[high]:>10.4g} "
            f"{r:>7s} {eb:>9s} {et:>9s}"
        )
    lines.append(f"divergent transitions: {post['divergences']}")
    if post["converged"]:
        lines.append(
            "posterior converged: yes (R-hat < 1.01, ESS >= 100 per chain, no divergences)"
        )
    else:
        lines.append(
            "WARNING: the posterior has NOT converged (needs R-hat < 1.01, bulk and tail ESS "
            ">= 100 per chain and no divergent transition): do not use it; sample longer "
            "(--draws) or with more chains"
        )
    return "\n".join(lines)
