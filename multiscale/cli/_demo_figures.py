r"""The demo's figures: binomial error bars, and 0 % coherence drawn at 0.

Accuracies carry Wilson score intervals (Wilson 1927; Brown, Cai & DasGupta 2001 recommend
them over the Wald interval, which collapses to zero width at 0 or 100 % correct):

$$ \frac{\hat p + z^2/2n}{1 + z^2/n} \pm \frac{z}{1 + z^2/n}
   \sqrt{\frac{\hat p (1 - \hat p)}{n} + \frac{z^2}{4 n^2}}, \qquad z = 1.96 \ (95\,\%). $$

Coherence axes are symmetric-log (linear from 0 to 3.2 %, logarithmic above), so the 0 %
condition sits at 0 instead of being dropped or moved, as a log axis would force.
"""

import pathlib

import jax.numpy as jnp
import numpy as np

_LINTHRESH = 3.2  # %, the smallest non-zero coherence of Roitman & Shadlen (2002)


def wilson_interval(k, n, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of a binomial proportion ``k / n``.

    Args:
        k: successes (may be expected, non-integer counts); ``0 <= k <= n``.
        n: trials, > 0.
        z: standard-normal quantile (1.96: 95 %).

    Returns:
        Lower and upper bounds, arrays shaped like ``k``.
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"wilson_interval needs 0 <= k <= n and n > 0, got k={k}, n={n}")
    p = k / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); the sum above rounds.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def _coherence_axis(ax, c_percent) -> None:
    ax.set_xscale("symlog", linthresh=_LINTHRESH, linscale=0.6)
    ax.set_xticks(c_percent, [f"{v:g}" for v in c_percent])
    ax.minorticks_off()
    ax.set_xlim(-0.4, 1.25 * max(c_percent))
    ax.set_xlabel("coherence (%; linear to 3.2, log above)")


def _bars(ax, x, k, n, **style):
    low, high = wilson_interval(k, n)
    p = np.asarray(k, float) / np.asarray(n, float)
    return ax.errorbar(x, p, yerr=[p - low, high - p], capsize=2, **style)


def psychometric(ax, summary, *, fit=None, data=None, label="model"):
    """P(correct) per coherence with Wilson 95 % bars (model and data), Weibull fit."""
    c = 100 * np.asarray(summary.coherence)
    decided = np.asarray(summary.n_decided, float)
    some = decided > 0  # a coherence without decided trials has no accuracy to show
    k = np.minimum(np.asarray(summary.n_correct, float), decided)
    line = _bars(ax, c[some], k[some], decided[some], fmt="o", label=label)
    if fit is not None:
        cc = np.concatenate([np.linspace(0, _LINTHRESH, 30), np.geomspace(_LINTHRESH, c.max(), 80)])
        p = np.asarray(fit(jnp.asarray(cc / 100, dtype=jnp.asarray(fit.alpha).dtype)))
        ax.plot(
            cc,
            p,
            color=line[0].get_color(),
            label=rf"Weibull $\alpha$ = {100 * float(fit.alpha):.1f} %, "
            rf"$\beta$ = {float(fit.beta):.2f}",
        )
    if data is not None:
        n = np.asarray(data["n"], float)
        k = np.round(np.asarray(data["p_correct"], float) * n)
        _bars(ax, 100 * np.asarray(data["coherence"]), k, n, fmt="s", color="k", mfc="w",
              label="data (95 % Wilson)")  # fmt: skip
    _coherence_axis(ax, c)
    ax.set(ylabel="P(correct)", ylim=(0.4, 1.02))
    ax.legend(frameon=False, fontsize=7)
    return ax


def chronometric(ax, summary, *, data=None, label="model"):
    """Mean RT (s) of correct (filled) and error (open) trials per coherence."""
    c = 100 * np.asarray(summary.coherence)
    line = ax.plot(c, np.asarray(summary.mean_rt_correct), "o-", label=f"{label}, correct")[0]
    ax.plot(c, np.asarray(summary.mean_rt_error), "o--", mfc="w", color=line.get_color(),
            label=f"{label}, error")  # fmt: skip
    if data is not None:
        dc = 100 * np.asarray(data["coherence"])
        ax.plot(dc, np.asarray(data["mean_rt_correct"]), "s-", color="k", label="data, correct")
        ax.plot(dc, np.asarray(data["mean_rt_error"]), "s--", color="k", mfc="w",
                label="data, error")  # fmt: skip
    _coherence_axis(ax, c)
    ax.set(ylabel="mean RT (s)")
    ax.legend(frameon=False, fontsize=7)
    return ax


def figures(out: pathlib.Path, syn, circ, ddm) -> list[str]:
    """Draw the four figures into ``out``; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import plot

    names = []

    def save(fig, name, title):
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out / name, dpi=120)
        names.append(name)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot.stdp_curve(syn["delta_t"], syn["ratios"], ax=axes[0], label="GB2012 cortical, 1 Hz")
    plot.frequency_dependence(syn["freqs"], syn["plus"], syn["minus"], ax=axes[1])
    save(fig, "1_synapse_stdp.png", "Synapse: calcium-based STDP (Graupner & Brunel 2012) "
         "vs Sjöström et al. 2001")  # fmt: skip

    data, control = circ["data"], circ["results"]["control"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    psychometric(axes[0], control.summary, fit=control.weibull, data=data)
    chronometric(axes[1], control.summary, data=data)
    save(fig, "2_circuit_vs_monkeys.png", "Circuit → behavior: fitted Wong & Wang 2006 vs "
         f"Roitman & Shadlen 2002 (non-decision time {1e3 * circ['t_nd']:.0f} ms)")  # fmt: skip

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot.ddm_psychometric(data, ddm["model"], ax=axes[0], label="proportional-rate DDM")
    n = np.asarray(data["n"], float)
    k = np.round(np.asarray(data["p_correct"], float) * n)
    _bars(axes[0], 100 * np.asarray(data["coherence"]), k, n, fmt="none", color="k")
    plot.ddm_chronometric(data, ddm["model"], ax=axes[1], label="proportional-rate DDM")
    save(fig, "3_ddm_fit.png", "Coarsest scale: Palmer, Huk & Shadlen 2005 diffusion fitted "
         "to the same data (95 % Wilson bars)")  # fmt: skip

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, r in circ["results"].items():
        psychometric(axes[0], r.summary, fit=r.weibull, label=name)
        chronometric(axes[1], r.summary, label=name)
    save(fig, "4_nmda_manipulation.png", "Scales linked: NMDA receptor changes move the "
         "psychometric and RT curves")  # fmt: skip
    plt.close("all")
    return names
