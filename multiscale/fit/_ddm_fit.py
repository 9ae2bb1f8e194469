"""Maximum-likelihood fit of the proportional-rate DDM to trial-level data (a recipe)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..behavior import ProportionalRateDDM, ddm_log_likelihood
from ._fit import fit
from ._newton import newton
from ._uncertainty import standard_errors

# One optimiser object for every call, so that repeated fits reuse the compiled loop.
# Damped Newton: three parameters, so the exact Hessian is cheap and ~10 steps suffice.
_NEWTON = newton()


def ddm_negative_log_likelihood(model, trials):
    """Minus the summed trial log-likelihood (nats) of ``trials`` under a DDM ``model``."""
    return -ddm_log_likelihood(model, trials)


def fit_ddm_trials(trials, *, key, steps: int = 100):
    """Maximum-likelihood proportional-rate DDM (``k``, ``a``, ``t0``) for one data set.

    ``z = 1/2``, no across-trial variability, 2 % uniform contaminant on
    ``[0, max(2 s, max RT)]`` (fixed). Returns ``(model, standard errors, filter_spec,
    history)``.
    """
    rt = np.asarray(trials.rt)
    model = ProportionalRateDDM(
        k=5.0,
        a=1.5,
        t0=float(0.8 * np.quantile(rt, 0.02)),
        p_outlier=0.02,
        rt_max=jnp.asarray(max(2.0, float(rt.max())), jnp.float32),
    )
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(lambda m: (m.k, m.a, m.t0), spec, (True, True, True))
    fitted, hist = fit(
        model,
        ddm_negative_log_likelihood,
        trials,
        optimizer=_NEWTON,
        steps=steps,
        key=key,
        filter_spec=spec,
        patience=5,
        tol=1e-4,
        chunk=5,
    )
    return fitted, standard_errors(fitted, ddm_negative_log_likelihood, trials, spec), spec, hist
