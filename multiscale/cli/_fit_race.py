"""``multiscale fit --model lba|racing``: the race models by maximum likelihood.

Both models race two accumulators, one per choice, whose mean rates at condition $c$ are
$v_1 + k c$ (choice 1: the upper boundary, or the correct response with accuracy coding)
and $v_0 - k c$; the first to reach the threshold $b = A + B$ from a uniform start on
$[0, A]$ gives the choice, and the RT adds the non-decision time $t_0$; a 2 % uniform
contaminant on $[0, \\mathrm{rt_{max}}]$ absorbs outliers (as the DDM branch).

- ``lba``: the linear ballistic accumulator (Brown & Heathcote 2008): no noise within a
  trial, normal rates across trials with SD $s = 1$ (fixes the scale).
- ``racing``: the racing diffusion model (Tillman, Van Zandt & Logan 2020): Wiener
  accumulators with noise $\\sigma = 1$ per $\\sqrt{\\mathrm{s}}$ (fixes the scale).

Six free parameters ($v_1$, $v_0$, $k$, $A$, $B$, $t_0$) by L-BFGS (:func:`multiscale.fit.fit`,
four starts), every trial's closed-form likelihood (RT density in 1/s), Laplace
standard errors by the delta method and the optimum check of the fit
(:class:`~multiscale.fit.FitHistory`) for ``converged``.

References:
    Brown SD, Heathcote A (2008) The simplest complete model of choice response time:
    linear ballistic accumulation. Cogn Psychol 57:153-178.
    Tillman G, Van Zandt T, Logan GD (2020) Sequential sampling models without random
    between-trial variability: the racing diffusion model of speeded decision making.
    Psychon Bull Rev 27:911-936.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import LBA, RacingDiffusion
from ..fit import Free, fit, lbfgs
from ._fit_models import _laplace_result

_NAMES = ("v1", "v0", "k", "A", "B", "t0")


def _units(rate: str) -> dict[str, str]:
    return {
        "v1": f"threshold units/s ({rate} of choice 1 at condition 0)",
        "v0": f"threshold units/s ({rate} of choice 0 at condition 0)",
        "k": "threshold units/s per unit condition (v1 + k c, v0 - k c)",
        "A": "threshold units (width of the uniform start range)",
        "B": "threshold units (gap b - A; threshold b = A + B)",
        "t0": "s (non-decision time)",
    }


_MODELS = {
    "lba": (
        LBA,
        "lba (linear ballistic accumulator, Brown & Heathcote 2008; rates v1 + k c and "
        "v0 - k c, across-trial rate SD s = 1, uniform start on [0, A], threshold A + B, "
        "2% uniform contaminant; subjects pooled)",
        _units("mean rate"),
    ),
    "racing": (
        RacingDiffusion,
        "racing (racing diffusion model, Tillman, Van Zandt & Logan 2020; drifts v1 + k c "
        "and v0 - k c, within-trial noise sigma = 1, uniform start on [0, A], threshold "
        "A + B, 2% uniform contaminant; subjects pooled)",
        _units("drift"),
    ),
}
_DEFAULTS = dict(steps=500, n_starts=4, patience=30, tol=1e-5)


def race_free() -> list[Free]:
    """The race models' free parameters, by name (for saving and loading point estimates)."""
    return [Free(lambda m, f=f: getattr(m, f), name=f) for f in _NAMES]


def race_start(model: str, trials):
    """The start of the fit: rates of 2 and 1 threshold units/s, k = 1, A = B = 0.5,
    t0 at 80 % of the 2nd RT percentile, the contaminant over every RT."""
    rt = np.asarray(trials.rt)
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return _MODELS[model][0](
        v1=f32(2.0),
        v0=f32(1.0),
        k=f32(1.0),
        A=f32(0.5),
        B=f32(0.5),
        t0=f32(float(0.8 * np.quantile(rt, 0.02))),
        p_outlier=0.02,
        rt_max=f32(max(2.0, float(rt.max()))),
    )


def fit_race_command(model: str, trials, report, seed: int, progress, options=None):
    """``--model lba|racing``: the result (JSON-ready), the fitted model and its free
    parameters."""
    options = _DEFAULTS | (options or {})
    _, name, units = _MODELS[model]
    free = race_free()

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    progress.start(f"fitting the {model} model to {trials.n_trials} trials")
    fitted, hist = fit(
        race_start(model, trials), nll, trials, free=free, optimizer=lbfgs(),
        key=jr.key(seed), progress=False, **options,
    )  # fmt: skip
    progress.start("computing the log-likelihood and the standard errors")
    result = _laplace_result(name, fitted, free, nll, trials, hist, report, units)
    return result, fitted, free
