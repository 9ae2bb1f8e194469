"""``multiscale fit --model gddm``: the generalised DDM by maximum likelihood.

The drift is proportional to the condition ($v_c = k c$), the bound collapses
exponentially ($B(t) = B e^{-t/\\tau}$), the decision variable leaks at rate
$\\lambda$ and the non-decision time is uniform on $[t_0, t_0 + s_{t0}]$, with a 2 %
uniform contaminant; the likelihood of every trial's choice and RT comes from the
Fokker-Planck solution on a 100-interval grid with 5 ms steps (PyDDM's default;
Shinn et al. 2020). Six free parameters (k, leak, B, tau, t0, st0) by L-BFGS, Laplace
standard errors by the delta method.

References:
    Shinn M, Lam NH, Murray JD (2020) A flexible framework for simulating and fitting
    generalized drift-diffusion models. eLife 9:e56938.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import GDDM, ExponentialCollapse, FokkerPlanck
from ..fit import Free, fit, lbfgs
from ._fit_models import _laplace_result

_UNITS = {
    "k": "1/s per unit condition (drift = k * condition)",
    "leak": "1/s (> 0 leaks towards 0)",
    "B": "bound at t = 0 (noise units; separation 2B)",
    "tau": "s (bound collapse time constant)",
    "t0": "s (shortest non-decision time)",
    "st0": "s (width of the uniform non-decision time)",
}
_DEFAULTS = dict(steps=150, patience=20, tol=1e-4)


def _f(x) -> jnp.ndarray:
    return jnp.asarray(x, jnp.float32)


def _fit_gddm_command(trials, report, seed: int, progress, options: dict | None) -> dict:
    """``--model gddm``: the leaky collapsing-bound DDM fitted to every trial."""
    options = _DEFAULTS | (options or {})
    rt = np.asarray(trials.rt)
    t_max = float(np.ceil(max(2.0, float(rt.max())) * 10) / 10)  # whole 5 ms steps
    n_conditions = int(np.unique(np.asarray(trials.condition)).size)
    model = GDDM(
        v=0.0,
        k=_f(5.0),
        leak=_f(0.5),
        bound=ExponentialCollapse(B=_f(1.0), tau=_f(1.0)),
        t0=_f(float(0.8 * np.quantile(rt, 0.02))),
        st0=_f(0.1),
        p_outlier=0.02,
        rt_max=t_max,
        solver=FokkerPlanck(dt=0.005, n_x=100, t_max=t_max, max_conditions=n_conditions),
    )
    free = [
        Free(lambda m: m.k, name="k"),
        Free(lambda m: m.leak, name="leak"),
        Free(lambda m: m.bound.B, name="B"),
        Free(lambda m: m.bound.tau, name="tau"),
        Free(lambda m: m.t0, name="t0"),
        Free(lambda m: m.st0, name="st0"),
    ]

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    progress.start(f"fitting the GDDM to {trials.n_trials} trials")
    fitted, hist = fit(
        model, nll, trials, free=free, optimizer=lbfgs(), key=jr.key(seed), progress=False,
        **options,
    )  # fmt: skip
    progress.start("computing the log-likelihood and the standard errors")
    name = (
        "gddm (drift = k * condition, leak, exponentially collapsing bound, uniform "
        "non-decision time, z = 0.5, 2% uniform contaminant; Fokker-Planck likelihood, "
        "100 intervals, 5 ms steps; subjects pooled)"
    )
    return _laplace_result(name, fitted, free, nll, trials, hist, report, _UNITS)
