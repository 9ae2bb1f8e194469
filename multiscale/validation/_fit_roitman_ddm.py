"""Palmer's proportional-rate diffusion on the Roitman & Shadlen summary.

The reference parameters k = 13.14, A = 0.715, t_R = 0.323 s are a maximum-likelihood fit of
Palmer, Huk & Shadlen's (2005) equations to the Roitman & Shadlen (2002) trials (both
monkeys, RT 100-1650 ms, choices and SEM-weighted mean RTs). They reproduce the accuracies
within 0.025 and the mean RTs within 12 ms, which is what a 3-parameter model reaches here.
"""

import jax.numpy as jnp
import jax.random as jr

from ..behavior import ProportionalRateDDM, ddm_choice_probability, ddm_mean_rt
from ..data import roitman_shadlen_2002
from ..fit import fit_proportional_rate_summary
from ._registry import target, within

_SOURCE = (
    "Roitman & Shadlen 2002 J Neurosci 22:9475 (data, via PyDDM docs); Palmer, Huk & Shadlen "
    "2005 J Vis 5:376 eqs. 4-7 (k = 13.14, A = 0.715, t_R = 0.323 s fitted to the trials)"
)


@target(name="proportional_rate_roitman_shadlen", scale="fit", source=_SOURCE, slow=True)
def _proportional_rate():
    df = roitman_shadlen_2002()
    c = jnp.asarray(df["coherence"].to_numpy(), jnp.float32)
    out = []
    # (1) The trial-level fit's parameters, through our closed forms, reproduce the embedded data.
    ref = ProportionalRateDDM(k=13.14, a=2 * 0.715, t0=0.323, p_outlier=0.0)
    p_ref = [float(x) for x in ddm_choice_probability(ref, c)]
    rt_ref = [float(x) for x in ddm_mean_rt(ref, c)]
    # (2) Our own fit to the summary (binomial + Gaussian mean-RT likelihood;
    # multiscale.fit.fit_proportional_rate_summary).
    fitted, _, _ = fit_proportional_rate_summary(key=jr.key(0))
    p_fit = [float(x) for x in ddm_choice_probability(fitted, c)]
    p_data = [float(x) for x in df["p_correct"]]
    rt_data = [float(x) for x in df["mean_rt"]]
    for i, coh in enumerate(df["coherence"]):
        label = f"{100 * coh:g}%"
        out.append(within(f"P(correct) {label}, trial fit", p_data[i], p_ref[i], atol=0.025))
        out.append(within(f"mean RT {label} (s), trial fit", rt_data[i], rt_ref[i], atol=0.012))
        out.append(within(f"P(correct) {label}, refit", p_data[i], p_fit[i], atol=0.025))
    out.append(within("k (refit)", 13.14, float(fitted.k), rtol=0.05))
    out.append(within("A (refit)", 0.715, float(fitted.a) / 2, rtol=0.05))
    out.append(within("t_R (refit), s", 0.323, float(fitted.t0), rtol=0.05))
    return out
