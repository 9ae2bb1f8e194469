r"""Palmer's proportional-rate diffusion fitted to the Roitman & Shadlen (2002) summary.

The published fit of these data (Palmer, Huk & Shadlen 2005) weighted each mean RT by its
SEM from the trial data; the package carries only the summary, so the likelihood here is
:func:`~multiscale.behavior.summary_negative_log_likelihood`: binomial on the number of
correct trials plus a Gaussian on each mean RT with standard error
$\sqrt{\mathrm{Var}_\mathrm{model}[RT] / n}$ (the model's own RT variance).

References:
    Palmer J, Huk AC, Shadlen MN (2005) The effect of stimulus strength on the speed and
    accuracy of a perceptual decision. J Vis 5:376-404.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..behavior import ProportionalRateDDM, summary_negative_log_likelihood
from ..data import roitman_shadlen_2002
from ._fit import fit
from ._newton import newton
from ._uncertainty import standard_errors


def _summary_arrays(monkey: str = "both"):
    df = roitman_shadlen_2002(monkey)
    n = df["n"].to_numpy(float)
    return (
        jnp.asarray(df["coherence"].to_numpy(np.float32)),
        jnp.asarray(n.astype(np.float32)),
        jnp.asarray(np.round(df["p_correct"].to_numpy(float) * n).astype(np.float32)),
        jnp.asarray(df["mean_rt"].to_numpy(np.float32)),
    )


def _loss(model, data):
    return summary_negative_log_likelihood(model, *data)


def fit_proportional_rate_summary(*, key: PRNGKeyArray, steps: int = 100):
    """Fit ``k``, ``a`` (= 2A) and ``t0`` (= t_R) to the embedded summary of both monkeys.

    Args:
        key: PRNG key, required (the fit's multi-start machinery takes one; a single
            start here, so the result does not depend on it).
        steps: most damped-Newton steps.

    Returns:
        ``(model, standard_errors, nll)``: the fitted :class:`ProportionalRateDDM`
        (``z = 1/2``, no variabilities, no contaminant), Laplace standard errors as a
        model-shaped pytree, and the negative log-likelihood (nats).
    """
    model = ProportionalRateDDM(k=10.0, a=1.5, t0=0.3, p_outlier=0.0)
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(lambda m: (m.k, m.a, m.t0), spec, (True, True, True))
    data = _summary_arrays()
    fitted, _ = fit(
        model,
        _loss,
        data,
        optimizer=newton(),
        steps=steps,
        key=key,
        filter_spec=spec,
        patience=5,
        tol=1e-6,
        chunk=5,
        progress=False,
    )
    se = standard_errors(fitted, _loss, data, spec)
    return fitted, se, float(_loss(fitted, data))
