"""Validation targets: the Bayesian fits are calibrated (simulation-based calibration).

A correct sampler on a correct likelihood gives ranks of prior draws among posterior draws
that are uniform (Talts et al. 2018); central 90 % posterior intervals then hold the truth
in 90 % of data sets, and posterior means lie within two posterior SDs of the truth in
about 95 % of them.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd

from ..behavior import DDM
from ..data import regression
from ..fit import (
    Gamma,
    HalfNormal,
    Normal,
    Prior,
    Uniform,
    regression_priors,
    simulation_based_calibration as sbc,
)
from ._registry import holds, in_range, target

_SOURCE = (
    "Talts, Betancourt, Simpson, Vehtari & Gelman 2018 arXiv:1804.06788 (simulation-based "
    "calibration: uniform ranks, chi-squared test on 10 bins); NUTS of Hoffman & Gelman 2014 "
    "J Mach Learn Res 15:1593"
)


def _checks(cal, n: int, label: str):
    """Uniform ranks (chi-squared p above 0.01 / parameters: Bonferroni over the
    parameters tested together), 90 % coverage within 3 binomial SDs of 0.9, recovery
    within 2 posterior SDs in >= 90 % of data sets, divergences in <= 5 % of them."""
    out = []
    k = len(cal.names)
    alpha = 0.01 / k
    half = 3 * np.sqrt(0.09 / n)
    for name, (_stat, p) in cal.chi2().items():
        out.append(holds(f"{label} {name}: ranks uniform", f"chi2 p > {alpha:.2g}", p, p > alpha))
    for name, cover in cal.coverage(0.9).items():
        out.append(in_range(f"{label} {name}: 90 % coverage", 0.9 - half, 0.9 + half, cover))
    for name, frac in cal.within_sd(2.0).items():
        out.append(
            holds(f"{label} {name}: recovered within 2 posterior SD", ">= 0.9", frac, frac >= 0.9)
        )
    bad = int((cal.divergences > 0).sum())
    out.append(holds(f"{label}: data sets with divergences", "<= 5 %", bad, bad <= 0.05 * n))
    return out


@target(name="ddm_posterior_calibration", scale="fit", source=_SOURCE, slow=True)
def _ddm():
    start = DDM(v=0.5, a=1.0, t0=0.2)
    priors = (
        Prior(lambda m: m.v, Normal(0.5, 1.0)),
        Prior(lambda m: m.a, Gamma(10.0, 8.0)),
        Prior(lambda m: m.t0, Uniform(0.1, 0.5)),
    )
    cal = sbc(start, priors, jnp.zeros(100), key=jr.key(11), n_datasets=200, target_accept=0.9)
    return _checks(cal, 200, "DDM, 200 data sets x 100 trials")


@target(name="hierarchical_ddm_posterior_calibration", scale="fit", source=_SOURCE, slow=True)
def _hierarchical():
    n_sub, per = 5, 40
    df = pd.DataFrame(
        {
            "subj_idx": np.repeat(np.arange(n_sub), per),
            "rt": 0.6,
            "response": np.tile([0, 1], n_sub * per // 2),
        }
    )
    model, trials, _ = regression(DDM(v=0.5, a=1.2, t0=0.3), ["a ~ 1 + (1|subj_idx)", "v ~ 1"], df)
    priors = regression_priors(model, scale=0.5, sd=HalfNormal(0.3))
    cal = sbc(
        model,
        priors,
        jnp.zeros(trials.n_trials),
        key=jr.key(3),
        n_datasets=100,
        target_accept=0.9,
    )
    return _checks(cal, 100, "hierarchical DDM (a ~ 1 + (1|subject)), 100 data sets")
