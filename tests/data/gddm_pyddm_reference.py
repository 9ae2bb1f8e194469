"""Reference first-passage densities of generalised DDMs from PyDDM's own solvers.

Run with a Python that has PyDDM (0.9) installed, not the multiscale environment:

    python3 -m venv /tmp/pyddm-venv && /tmp/pyddm-venv/bin/pip install pyddm
    /tmp/pyddm-venv/bin/python tests/data/gddm_pyddm_reference.py

It writes ``gddm_pyddm_reference.npz`` next to itself (read by ``tests/test_gddm.py``, so
the test runs without PyDDM). For each parameter set it stores, on a 5 ms grid from 0 to
``T_DUR``:

- ``fine_{i}``: PyDDM's implicit (backward Euler, C) solver at dx = 2.5e-4, dt = 2.5e-5,
  the finest resolution that runs in about a minute per set. Its own error is first order
  in dt and in the bound's interpolation between grid points; against PyDDM's analytic
  solution (set 0 and 2) it is below 1e-3 per second.
- ``default_{i}``: the same solver at PyDDM's default dx = dt = 0.005.
- ``analytic_{i}`` (sets without leak whose bound is constant or collapses linearly):
  PyDDM's analytic solution (Anderson 1960 series for the linear collapse).

Densities are in 1/s (PyDDM's ``Solution.pdf``), shape ``(2, times)`` with row 0 the
lower bound ("error") and row 1 the upper ("correct"). Parameters follow multiscale's
GDDM: drift v, leak (PyDDM ``DriftLinear(x=-leak)``), noise sigma, relative start z
(PyDDM ``ICPointRatio(x0=2z-1)``), and the bound.
"""

import json
import pathlib
import time

import numpy as np
import pyddm
from pyddm import (
    BoundCollapsingExponential,
    BoundCollapsingLinear,
    BoundConstant,
    DriftLinear,
    ICPointRatio,
    Model,
    NoiseConstant,
    OverlayNone,
)

T_DUR = 3.0
GRID = 0.005
FINE = dict(dx=2.5e-4, dt=2.5e-5)
DEFAULT = dict(dx=0.005, dt=0.005)


class BoundWeibull(pyddm.Bound):
    """B(t) = B (1 - (1 - c)(1 - exp(-(t/lam)^k))) (Hawkins et al. 2015)."""

    name = "weibull"
    required_parameters = ["B", "lam", "k", "c"]

    def get_bound(self, t, **kwargs):
        return self.B * (1.0 - (1.0 - self.c) * (1.0 - np.exp(-((t / self.lam) ** self.k))))


class BoundHyperbolic(pyddm.Bound):
    """B(t) = B (1 - kappa t / (t + t_half))."""

    name = "hyperbolic"
    required_parameters = ["B", "kappa", "t_half"]

    def get_bound(self, t, **kwargs):
        return self.B * (1.0 - self.kappa * t / (t + self.t_half))


# Start points are chosen so that 2B z / dx is a whole number at both resolutions (PyDDM
# puts the start on the grid point below it).
SETS = [
    dict(v=1.5, leak=0.0, sigma=1.0, z=0.4, bound=("constant", dict(B=0.8))),
    dict(v=1.0, leak=2.0, sigma=1.0, z=0.5, bound=("constant", dict(B=1.0))),
    dict(v=0.8, leak=0.0, sigma=1.0, z=0.55, bound=("linear", dict(B=1.0, slope=0.3))),
    dict(v=2.0, leak=1.5, sigma=1.0, z=0.5, bound=("linear", dict(B=1.2, slope=0.4))),
    dict(v=0.5, leak=-0.5, sigma=1.0, z=0.45, bound=("exponential", dict(B=1.0, tau=1.0))),
    dict(v=1.2, leak=1.0, sigma=1.0, z=0.5, bound=("weibull", dict(B=1.2, lam=0.8, k=3.0, c=0.2))),
    dict(v=-0.7, leak=0.5, sigma=1.0, z=0.6, bound=("hyperbolic", dict(B=1.0, kappa=0.6, t_half=0.5))),
    dict(v=0.5, leak=3.0, sigma=0.8, z=0.5, bound=("constant", dict(B=0.6))),
    dict(v=0.3, leak=0.5, sigma=1.0, z=0.5, bound=("linear", dict(B=0.6, slope=0.4))),
    dict(v=4.0, leak=0.8, sigma=1.0, z=0.5, bound=("weibull", dict(B=0.7, lam=0.3, k=1.5, c=0.3))),
]  # fmt: skip


def pyddm_bound(kind, p):
    if kind == "constant":
        return BoundConstant(B=p["B"])
    if kind == "linear":
        return BoundCollapsingLinear(B=p["B"], t=p["slope"])
    if kind == "exponential":
        return BoundCollapsingExponential(B=p["B"], tau=1.0 / p["tau"])
    if kind == "weibull":
        return BoundWeibull(**p)
    return BoundHyperbolic(**p)


def model(s, dx, dt):
    kind, p = s["bound"]
    return Model(
        drift=DriftLinear(drift=s["v"], x=-s["leak"], t=0.0),
        noise=NoiseConstant(noise=s["sigma"]),
        bound=pyddm_bound(kind, p),
        IC=ICPointRatio(x0=2.0 * s["z"] - 1.0),
        overlay=OverlayNone(),
        dx=dx,
        dt=dt,
        T_dur=T_DUR,
    )


def on_grid(m, sol):
    """(2, times) densities at t = 0, 5 ms, ..., T_DUR from a solution on m's grid."""
    step = int(round(GRID / m.dt))
    return np.stack([sol.pdf("error")[::step], sol.pdf("correct")[::step]])


def main():
    out = {"t": np.arange(int(round(T_DUR / GRID)) + 1) * GRID}
    for i, s in enumerate(SETS):
        start = time.perf_counter()
        fine = model(s, **FINE)
        out[f"fine_{i}"] = on_grid(fine, fine.solve_numerical_implicit())
        default = model(s, **DEFAULT)
        out[f"default_{i}"] = on_grid(default, default.solve_numerical_implicit())
        if s["leak"] == 0.0 and s["bound"][0] in ("constant", "linear"):
            out[f"analytic_{i}"] = on_grid(fine, fine.solve_analytical())
        print(f"set {i}: {time.perf_counter() - start:.1f} s", flush=True)
    out["sets"] = np.array(json.dumps(SETS))
    out["pyddm_version"] = np.array(pyddm.__version__)
    path = pathlib.Path(__file__).with_suffix(".npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
