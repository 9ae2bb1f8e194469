"""PyDDM side of ``bench_gddm.py``; run by it in an environment that has PyDDM (0.9).

    python benchmarks/_gddm_pyddm.py fit DATA.npz       # PyDDM's own fit
    python benchmarks/_gddm_pyddm.py nll DATA.npz P.json  # NLL of parameter sets

``fit`` fits the benchmark's model (drift k * coh - leak * x, noise 1, linearly collapsing
bound max(B - slope * t, 0), start 0, non-decision time t0, uniform mixture 0.02 over
[0, T_dur]) with PyDDM's defaults (differential evolution, dx = dt = 0.005) and prints one
JSON line: parameters, PyDDM's loss, fit time. ``nll`` prints the negative log-likelihood
of each parameter set with PyDDM's solver at dx = dt = 0.001 (an independent check of the
NLL that ``bench_gddm.py`` computes with multiscale's fine grid).
"""

import json
import logging
import sys
import time

import numpy as np
import pandas as pd
import pyddm

logging.getLogger("pyddm").setLevel(logging.ERROR)
PARAMS = ("k", "B", "slope", "leak", "t0")
RANGES = {"k": (0.0, 20.0), "B": (0.3, 2.5), "slope": (0.0, 1.5), "leak": (0.0, 5.0),
          "t0": (0.0, 0.6)}  # fmt: skip


def model(parameters, dx=0.005, dt=0.005, t_dur=2.5, mixture=0.02):
    return pyddm.gddm(
        drift=lambda k, leak, x, coh: k * coh - leak * x,
        noise=1.0,
        bound=lambda B, slope, t: max(B - slope * t, 0.0),
        nondecision="t0",
        mixture_coef=mixture,
        parameters=parameters,
        conditions=["coh"],
        dx=dx,
        dt=dt,
        T_dur=t_dur,
    )


def sample(path):
    d = np.load(path)
    df = pd.DataFrame(dict(rt=d["rt"], correct=d["choice"], coh=d["coh"]))
    s = pyddm.Sample.from_pandas_dataframe(df, rt_column_name="rt", correct_column_name="correct")
    return s, float(d["t_dur"]), float(d["p_outlier"])


def fit(path):
    s, t_dur, mixture = sample(path)
    m = model(dict(RANGES), t_dur=t_dur, mixture=mixture)
    start = time.perf_counter()
    m.fit(s, verbose=False)
    elapsed = time.perf_counter() - start
    names, values = m.get_model_parameter_names(), map(float, m.get_model_parameters())
    values = dict(zip(names, values, strict=True))
    values.setdefault("t0", values.get("nondectime"))  # gddm renames a lone "t0"
    out = {p: values[p] for p in PARAMS}
    print(json.dumps(dict(params=out, loss=float(m.get_fit_result().value()), seconds=elapsed,
                          version=pyddm.__version__)))  # fmt: skip


def nll(path, params_path):
    s, t_dur, mixture = sample(path)
    sets = json.loads(open(params_path).read())
    out = []
    for p in sets:
        m = model({k: float(p[k]) for k in PARAMS}, dx=0.001, dt=0.001, t_dur=t_dur,
                  mixture=mixture)  # fmt: skip
        out.append(float(pyddm.get_model_loss(m, s, lossfunction=pyddm.LossLikelihood)))
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "fit":
        fit(sys.argv[2])
    else:
        nll(sys.argv[2], sys.argv[3])
