"""Validation target: the Wong–Wang circuit fitted to the Roitman & Shadlen summary.

A 3-parameter model calibrated to this task should reach P(correct) 0.64 / 0.78 / 0.94 at
3.2 / 6.4 / 12.8 % coherence (Roitman & Shadlen 2002); Palmer, Huk & Shadlen's (2005)
proportional-rate diffusion fitted to the trials reaches accuracies within 0.025 and mean RTs within
12 ms. Here the circuit (stimulus gain, readout threshold and non-decision time free; see
:func:`~multiscale.fit.fit_circuit_summary`) is asked for accuracies within 0.03 and mean
correct RTs within 30 ms, with its predictions taken on fresh noise paths.
"""

import jax.random as jr
import numpy as np

from ..data import roitman_shadlen_2002
from ..fit import SummaryData, fit_circuit_summary, fit_proportional_rate_summary
from ._registry import holds, target as register, within

_SOURCE = (
    "Roitman & Shadlen 2002 J Neurosci 22:9475 (data, via PyDDM docs); Wong & Wang 2006 "
    "J Neurosci 26:1314 (circuit); Palmer, Huk & Shadlen 2005 J Vis 5:376 (the accuracy a "
    "3-parameter model reaches)"
)

_GAP = (
    "Measured (key 0, 64 paths x 4 starts, 256 fresh paths): P(correct) 0.664 / 0.819 / 0.984 "
    "at 3.2 / 6.4 / 12.8 % against 0.642 / 0.777 / 0.941, i.e. 0.042 and 0.043 too accurate at "
    "6.4 and 12.8 %; mean correct RTs are within 17 ms. With J_A_ext, the threshold and the "
    "non-decision time free, the appendix circuit cannot lower its mid-coherence accuracy "
    "without changing its RT profile (dP/dlog J_A_ext is only ~0.1 at 6.4 %), and the "
    "accuracy carries almost no gradient over fixed noise paths. Summary NLL on fresh paths "
    "2229 vs 2169 for the proportional-rate DDM."
)


@register(name="circuit_fit_roitman_shadlen", scale="fit", source=_SOURCE, slow=True,
          known_gap=_GAP)  # fmt: skip
def _circuit_fit():
    df = roitman_shadlen_2002()
    n = df["n"].to_numpy(float)
    data = SummaryData(
        coherence=df["coherence"].to_numpy(float),
        n=n,
        n_correct=np.round(df["p_correct"].to_numpy(float) * n),
        mean_rt=df["mean_rt"].to_numpy(float),
    )
    r = fit_circuit_summary(data, key=jr.key(0))
    out = []
    for i, coh in enumerate(df["coherence"]):
        label = f"{100 * coh:g}%"
        p, rt = float(r.summary.p_correct[i]), float(r.summary.mean_rt_correct[i])
        out.append(within(f"P(correct) {label}", float(df["p_correct"][i]), p, atol=0.03))
        out.append(
            within(f"mean correct RT {label} (s)", float(df["mean_rt_correct"][i]), rt, atol=0.03)
        )
    _, _, nll_ddm = fit_proportional_rate_summary(key=jr.key(0))
    out.append(
        holds(
            "circuit summary NLL (fresh paths) vs proportional-rate DDM",
            "circuit NLL <= DDM NLL",
            f"{r.nll:.1f} vs {nll_ddm:.1f}",
            r.nll <= nll_ddm,
        )
    )
    return out
