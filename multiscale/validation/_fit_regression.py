"""Validation target: a regression of the decision threshold on single-trial theta.

Cavanagh et al. (2011) found that mid-frontal theta power raises the decision threshold
on high-conflict trials when deep-brain stimulation of the subthalamic nucleus is off,
and that stimulation reverses the relation (their Fig. 4, HDDM regressions). Here the
threshold is regressed on theta and conflict, ``a ~ 1 + theta * conf`` (log link), with
``v ~ 1 + conf`` and a free non-decision time, by maximum likelihood on the pooled trials
of each stimulation condition (not the paper's hierarchical fit), and the theta slope on
high-conflict trials is compared between conditions with Laplace standard errors.
Measured: +0.019 +- 0.013 (off), -0.028 +- 0.014 (on); the difference +0.047 +- 0.018.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import DDM
from ..data import cavanagh_2011, regression
from ..fit import Free, fit, lbfgs, parameterize
from ._registry import holds, target

_SOURCE = (
    "Cavanagh, Wiecki, Cohen, Figueroa, Samanta, Sherman & Frank 2011 Nat Neurosci "
    "14:1462 (Fig. 4: theta-threshold relation on high-conflict trials reversed by DBS); "
    "data: HDDM's example trials of the same study"
)


def _theta_slope(df):
    model, trials, _ = regression(
        DDM(a=2.0, t0=0.3, v=0.5), ["a ~ 1 + theta * conf", "v ~ 1 + conf"], df
    )
    free = [Free(lambda m, k=k: m.coefficients[k], name=k) for k in model.coefficients]
    free.append(Free(lambda m: m.base.t0))

    def nll(m, t):
        return -jnp.sum(m.log_density(t))

    fitted, history = fit(
        model,
        nll,
        trials,
        free=free,
        optimizer=lbfgs(),
        steps=300,
        key=jr.key(0),
        progress=False,
    )
    u, rebuild = parameterize(fitted, free)
    cov = np.linalg.inv(np.asarray(jax.hessian(lambda u: nll(rebuild(u), trials))(u)))
    i = rebuild.names.index("a:theta")
    return float(u[i]), float(np.sqrt(cov[i, i])), bool(history.converged)


@target(name="cavanagh2011_theta_threshold_dbs", scale="fit", source=_SOURCE, slow=True)
def _cavanagh():
    df = cavanagh_2011()
    off, se_off, ok_off = _theta_slope(df[df.dbs == 0].reset_index(drop=True))
    on, se_on, ok_on = _theta_slope(df[df.dbs == 1].reset_index(drop=True))
    diff, se = off - on, float(np.hypot(se_off, se_on))
    return [
        holds(
            "theta slope of log a on HC trials, DBS off minus on: 95 % CI above 0",
            "diff - 1.96 SE > 0",
            f"{diff:+.3f} +- {se:.3f}",
            diff - 1.96 * se > 0,
        ),
        holds("theta slope with DBS off is positive", "> 0", off, off > 0),
        holds("theta slope with DBS on is negative", "< 0", on, on < 0),
        holds(
            "both fits converged (checked optimum)", "True", str(ok_off and ok_on), ok_off and ok_on
        ),
    ]
