"""Figures of the decision circuit and of behavior: trajectories, phase plane, curves, RTs."""

import matplotlib.pyplot as plt
import numpy as np

from ..behavior import ChoiceSummary, Decision, WeibullFit
from ..circuit import CircuitTrajectory, WongWang2006, fixed_point, nullclines


def _axes(ax):
    return plt.subplots()[1] if ax is None else ax


def _coherence_axis(ax, c_percent, x):
    """Log coherence axis labelled at the coherences (0 % drawn at half the smallest)."""
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{v:g}" for v in c_percent])
    ax.minorticks_off()


def decision_trajectories(
    trajectory: CircuitTrajectory, *, threshold: float = 15.0, n_max: int = 20, ax=None
):
    """Rates of both populations (Hz) against time (s) for up to ``n_max`` trials."""
    ax = _axes(ax)
    ts = np.asarray(trajectory.ts).reshape(-1, trajectory.ts.shape[-1])[:n_max]
    r = np.asarray(trajectory.r).reshape((-1,) + trajectory.r.shape[-2:])[:n_max]
    for i in range(r.shape[0]):
        ax.plot(ts[i], r[i, :, 0], color="C0", lw=0.8, alpha=0.7)
        ax.plot(ts[i], r[i, :, 1], color="C3", lw=0.8, alpha=0.7)
    ax.axhline(threshold, color="k", ls="--", lw=0.8)
    ax.plot([], [], color="C0", label="population 1 (favoured)")
    ax.plot([], [], color="C3", label="population 2")
    ax.set(xlabel="time (s)", ylabel="rate (Hz)")
    ax.legend(frameon=False)
    return ax


def phase_plane(
    circuit: WongWang2006,
    *,
    mu0: float = 30.0,
    coherence: float = 0.0,
    trajectory: CircuitTrajectory | None = None,
    n: int = 150,
    ax=None,
):
    """Nullclines of the noise-free circuit in the $(S_1, S_2)$ plane, fixed points, and trials."""
    ax = _axes(ax)
    grid, n1, n2 = (np.asarray(a) for a in nullclines(circuit, mu0, coherence=coherence, n=n))
    ax.plot(n1, grid, color="C0", label=r"$\dot S_1 = 0$")
    ax.plot(grid, n2, color="C3", label=r"$\dot S_2 = 0$")
    for guess in ([0.7, 0.05], [0.05, 0.7], [0.4, 0.4], [0.1, 0.1]):
        fp = fixed_point(circuit, mu0, np.asarray(guess), coherence=coherence)
        if float(fp.residual) < 1e-4:
            stable = bool(fp.stable)
            ax.plot(*np.asarray(fp.S), "o", ms=7, color="k", mfc="k" if stable else "w")
    if trajectory is not None:
        S = np.asarray(trajectory.S).reshape((-1,) + trajectory.S.shape[-2:])
        for i in range(min(S.shape[0], 20)):
            ax.plot(S[i, :, 0], S[i, :, 1], color="0.5", lw=0.6, alpha=0.6)
    ax.set(xlabel="$S_1$", ylabel="$S_2$", xlim=(0, 0.8), ylim=(0, 0.8), aspect="equal")
    ax.legend(frameon=False, loc="upper right")
    return ax


def psychometric_curve(
    summary: ChoiceSummary,
    *,
    fit: WeibullFit | None = None,
    data=None,
    label: str = "model",
    ax=None,
):
    """P(correct) against coherence (%, log axis), with an optional fit and data table.

    ``data`` is anything with ``coherence`` (fraction) and ``p_correct`` columns, e.g.
    ``multiscale.data.roitman_shadlen_2002()``.
    """
    ax = _axes(ax)
    c = np.asarray(summary.coherence) * 100
    x = np.where(c > 0, c, c[c > 0].min() / 2)
    line = ax.plot(x, np.asarray(summary.p_correct), "o", label=label)[0]
    if fit is not None:
        cc = np.geomspace(x.min(), x.max(), 200)
        p = np.asarray(fit(np.asarray(cc / 100, dtype=np.asarray(fit.alpha).dtype)))
        ax.plot(
            cc,
            p,
            color=line.get_color(),
            label=rf"Weibull $\alpha$ = {100 * float(fit.alpha):.1f} %, "
            rf"$\beta$ = {float(fit.beta):.2f}",
        )
    if data is not None:
        dc = np.asarray(data["coherence"]) * 100
        ax.plot(
            np.where(dc > 0, dc, x.min()),
            np.asarray(data["p_correct"]),
            "s",
            color="k",
            mfc="w",
            label="data",
        )
    _coherence_axis(ax, c, x)
    ax.set(xlabel="coherence (%)", ylabel="P(correct)", ylim=(0.4, 1.02))
    ax.legend(frameon=False)
    return ax


def chronometric_curve(summary: ChoiceSummary, *, data=None, label: str = "model", ax=None):
    """Mean RT (s) of correct (filled) and error (open) trials against coherence (%)."""
    ax = _axes(ax)
    c = np.asarray(summary.coherence) * 100
    x = np.where(c > 0, c, c[c > 0].min() / 2)
    line = ax.plot(x, np.asarray(summary.mean_rt_correct), "o-", label=f"{label}, correct")[0]
    ax.plot(
        x,
        np.asarray(summary.mean_rt_error),
        "o--",
        mfc="w",
        color=line.get_color(),
        label=f"{label}, error",
    )
    if data is not None:
        dc = np.asarray(data["coherence"]) * 100
        dx = np.where(dc > 0, dc, x.min())
        ax.plot(dx, np.asarray(data["mean_rt_correct"]), "s-", color="k", label="data, correct")
        ax.plot(
            dx, np.asarray(data["mean_rt_error"]), "s--", color="k", mfc="w", label="data, error"
        )
    _coherence_axis(ax, c, x)
    ax.set(xlabel="coherence (%)", ylabel="mean RT (s)")
    ax.legend(frameon=False)
    return ax


def rt_distributions(decisions: Decision, coherence, *, bins: int = 40, ax=None):
    """Histograms of correct RTs (up) and error RTs (down); ``decisions`` of shape (c, trials)."""
    ax = _axes(ax)
    rt = np.asarray(decisions.rt)
    choice = np.asarray(decisions.choice)
    edges = np.linspace(np.nanmin(rt), np.nanmax(rt), bins + 1)
    for i, c in enumerate(np.asarray(coherence)):
        n = rt.shape[1]
        hc, _ = np.histogram(rt[i][choice[i] == 0], edges)
        he, _ = np.histogram(rt[i][choice[i] == 1], edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        line = ax.step(mid, hc / n, where="mid", label=f"{100 * c:.1f} %")[0]
        ax.step(mid, -he / n, where="mid", color=line.get_color())
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="RT (s)", ylabel="fraction of trials (errors below 0)")
    ax.legend(frameon=False, title="coherence")
    return ax


def quantile_probability(summary: ChoiceSummary, *, ax=None):
    """Quantile-probability plot: RT quantiles against P(response), errors left of 0.5."""
    ax = _axes(ax)
    p = np.asarray(summary.p_correct)
    qc = np.asarray(summary.rt_quantiles_correct)
    qe = np.asarray(summary.rt_quantiles_error)
    for j, q in enumerate(np.asarray(summary.quantiles)):
        x = np.concatenate([1 - p, p])
        y = np.concatenate([qe[:, j], qc[:, j]])
        order = np.argsort(x)
        ax.plot(x[order], y[order], "o-", color=f"C{j}", ms=4, label=f"{q:.1f}")
    ax.axvline(0.5, color="k", lw=0.5)
    ax.set(xlabel="response probability", ylabel="RT quantile (s)", xlim=(0, 1))
    ax.legend(frameon=False, title="quantile")
    return ax
