"""HSSM 0.5 Bayesian DDM fit of one CSV data set; prints one JSON line.

Workloads (``benchmarks/bench_bayes.py`` writes the data and the same priors for multiscale):

HSSM's ``"ddm"`` has its bounds at -a and +a (ssm-simulators), so its ``a`` is half the
boundary separation that multiscale calls a; the a priors below are multiscale's, halved.

- ``single``: one subject, model ``"ddm"`` (v, a, z, t free; unit noise), no lapse
  mixture (``p_outlier=None``), priors v ~ Normal(0, 2), a ~ Uniform(0.15, 1.5),
  z ~ Uniform(0.1, 0.9), t ~ Uniform(0, 0.6).
- ``hier``: ``v ~ 1 + (1|subj_idx)`` (identity link), ``a ~ 1 + (1|subj_idx)`` and
  ``t ~ 1 + (1|subj_idx)`` (log links); intercepts v ~ Normal(0, 2),
  log a ~ Normal(log(1 / 2), 1) (multiscale's log a ~ Normal(0, 1) on HSSM's half scale),
  log t ~ Normal(log 0.2, 1); subject effects ~ Normal(0, sigma) with
  sigma ~ HalfNormal(0.5) (bambi's non-centred parameterisation); z shared,
  z ~ Uniform(0.1, 0.9); ``link_settings="log_logit"`` for HSSM's initial values.

Reported: the build time of ``hssm.HSSM(...)``, the wall time of ``model.sample(...)``
(compilation included: PyMC compiles its PyTensor graph and numpyro its JAX program inside
it), the minimum bulk ESS and maximum R-hat over the named parameters, divergences and the
posterior means. Run with the interpreter of the ``bench`` extra (Python >= 3.12).
"""

import argparse
import json
import os
import resource
import sys
import time
import warnings


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (PyMC's chain processes)."""
    return sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF),
                  resource.getrusage(resource.RUSAGE_CHILDREN))
    )  # fmt: skip


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--workload", choices=("single", "hier"), default="single")
    p.add_argument("--sampler", default="pymc", help="pymc (HSSM's default here), numpyro, ...")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--a-start", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--centred",
        action="store_true",
        help="hier: bambi's centred subject effects (noncentered=False) instead of its default",
    )
    a = p.parse_args(argv)
    warnings.simplefilter("ignore")
    t_import = time.perf_counter()
    import arviz as az
    import hssm
    import numpy as np
    import pandas as pd

    t_import = time.perf_counter() - t_import
    data = pd.read_csv(a.data)
    shared = [
        {"name": "v", "prior": {"name": "Normal", "mu": 0.0, "sigma": 2.0}},
        {"name": "z", "prior": {"name": "Uniform", "lower": 0.1, "upper": 0.9}},
        {"name": "t", "prior": {"name": "Uniform", "lower": 0.0, "upper": 0.6}},
    ]
    if a.workload == "single":
        include = shared + [
            {"name": "a", "prior": {"name": "Uniform", "lower": 0.15, "upper": 1.5}}
        ]
        names = ["v", "a", "z", "t"]
    else:
        intercept = {
            "v": {"name": "Normal", "mu": 0.0, "sigma": 2.0},
            "a": {"name": "Normal", "mu": float(np.log(a.a_start / 2)), "sigma": 1.0},
            "t": {"name": "Normal", "mu": float(np.log(0.2)), "sigma": 1.0},
        }
        include = [shared[1]] + [
            {
                "name": name,
                "formula": f"{name} ~ 1 + (1|subj_idx)",
                "link": "identity" if name == "v" else "log",
                "prior": {
                    "Intercept": intercept[name],
                    "1|subj_idx": {
                        "name": "Normal",
                        "mu": 0.0,
                        "sigma": {"name": "HalfNormal", "sigma": 0.5},
                    },
                },
            }
            for name in ("v", "a", "t")
        ]
        names = [f"{n}{s}" for n in ("v", "a", "t") for s in ("_Intercept", "_1|subj_idx_sigma")]
        names.append("z")
    t0 = time.perf_counter()
    # "log_logit" (HSSM's preset for hierarchical models) only sets the initial values here
    # (t_Intercept -4, a_Intercept 0 on the log scale): the links are given explicitly, and
    # with the identity-link defaults (t_Intercept 0.025 read as log t) the chains start with
    # t above every RT and never move.
    extra = {"link_settings": "log_logit"} if a.workload == "hier" else {}
    if a.centred:
        extra["noncentered"] = False
    model = hssm.HSSM(data=data, model="ddm", include=include, p_outlier=None, lapse=None, **extra)
    build = time.perf_counter() - t0
    kw = dict(chains=a.chains, tune=a.warmup, draws=a.draws, random_seed=a.seed)
    kw["sampler"] = a.sampler
    if a.sampler == "pymc":
        kw["cores"] = a.cores
    t0, c0 = time.perf_counter(), _cpu()
    idata = model.sample(**kw)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    post = idata.posterior
    names = [n for n in names if n in post]
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat = az.rhat(idata, var_names=names)
    div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    out = {
        "engine": f"HSSM {hssm.__version__}",
        "sampler": a.sampler,
        "workload": a.workload,
        "centred": a.centred,
        "trials": len(data),
        "import_s": t_import,
        "build_s": build,
        "sample_s": wall,
        "sample_cpu_s": cpu,
        "min_ess_bulk": float(min(float(ess[n].min()) for n in names)),
        "ess_bulk": {n: float(ess[n].min()) for n in names},
        "max_rhat": float(max(float(rhat[n].max()) for n in names)),
        "divergences": div,
        "means": {n: float(post[n].mean()) for n in names},
        "sds": {n: float(post[n].std()) for n in names},
        "all_vars": sorted(map(str, post.data_vars)),
        "versions": {
            m: __import__(m).__version__ for m in ("pymc", "bambi", "pytensor", "jax", "numpyro")
        },
        "floatX": str(__import__("pytensor").config.floatX),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
