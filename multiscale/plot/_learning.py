"""Figures for learning sessions and neuromodulated plasticity.

Learning curves and weight trajectories of :func:`multiscale.population.run_session`,
and the two-pathway weights of a tagging-and-capture protocol
(:func:`multiscale.synapse.simulate_tagging`). Leading batch axes (subjects, cells) are
averaged, with a shaded band of ± 1 standard error of the mean across them.
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from jaxtyping import ArrayLike
from matplotlib.axes import Axes

from ..population import SessionResult
from ..synapse import Induction, TaggingResult


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def _moving(x: np.ndarray, window: int) -> np.ndarray:
    # NaN-aware moving mean over the last axis (valid part only): undecided trials have
    # no RT and are left out of their windows.
    ok = np.isfinite(x)
    cs = np.cumsum(np.where(ok, x, 0.0), axis=-1)
    cn = np.cumsum(ok, axis=-1)
    pad = [(0, 0)] * (x.ndim - 1) + [(1, 0)]
    cs, cn = np.pad(cs, pad), np.pad(cn, pad)
    n = cn[..., window:] - cn[..., :-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cs[..., window:] - cs[..., :-window]) / n, np.nan)


def _mean_band(ax, x, y, *, color, label=None, ls="-"):
    """Mean over leading axes of ``y`` (..., time) with a ± SEM band; returns the line."""
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    n = np.sum(np.isfinite(y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nanmean(np.where(np.isfinite(y), y, np.nan), axis=0) if y.shape[0] else y[0]
        sem = np.nanstd(y, axis=0, ddof=1) / np.sqrt(n) if y.shape[0] > 1 else None
    (line,) = ax.plot(x, m, ls, color=color, label=label)
    if sem is not None:
        ax.fill_between(x, m - sem, m + sem, color=line.get_color(), alpha=0.25, lw=0)
    return line


def learning_curve(
    result: SessionResult,
    *,
    window: int = 10,
    reversal_at: int | None = None,
    label: str | None = None,
    color: str | None = None,
    show_rt: bool = True,
    ax: Axes | None = None,
    rt_ax: Axes | None = None,
) -> Axes:
    """Moving accuracy (left axis) and moving mean RT (right axis) over trials.

    Each quantity is a moving mean over ``window`` trials, drawn at the window's last
    trial; with a leading subject axis the mean over subjects is drawn with a ± SEM
    band. Accuracy is the fraction rewarded (undecided trials count as errors); RT
    leaves undecided trials out.

    Args:
        result: a :class:`~multiscale.population.SessionResult`, fields (trials,) or
            (subjects, trials).
        window: moving-window length, trials.
        reversal_at: index of the first reversed trial, marked by a vertical line.
        label: legend label of the accuracy line.
        color: colour of both lines (the next colour of ``ax`` if ``None``).
        show_rt: also draw the RT (dashed) on ``rt_ax``.
        ax: axes for accuracy (the current axes if ``None``).
        rt_ax: axes for RT, in s (a twin of ``ax`` if ``None``).

    Returns:
        The accuracy Axes.
    """
    ax = _axes(ax)
    reward = np.asarray(result.reward, dtype=float)
    if reward.ndim not in (1, 2):
        raise ValueError(
            f"`result` must have fields (trials,) or (subjects, trials), got {reward.shape}"
        )
    n = reward.shape[-1]
    if not (isinstance(window, int) and 1 <= window <= n):
        raise ValueError(f"`window` must be an int in [1, {n}], got {window!r}")
    trials = np.arange(window, n + 1)
    line = _mean_band(ax, trials, _moving(reward, window), color=color, label=label)
    color = line.get_color()
    ax.set_xlabel("trial")
    ax.set_ylabel(f"accuracy ({window}-trial moving mean)")
    ax.set_ylim(0.0, 1.05)
    ax.axhline(0.5, color="0.7", lw=0.8, ls=":")
    if reversal_at is not None:
        ax.axvline(reversal_at, color="0.4", lw=1.0, ls="--")
    if show_rt:
        rt_ax = ax.twinx() if rt_ax is None else rt_ax
        rt = np.asarray(result.rt, dtype=float)
        _mean_band(rt_ax, trials, _moving(rt, window), color=color, ls="--")
        rt_ax.set_ylabel("mean RT (s), dashed")
    if label is not None:
        ax.legend(frameon=False, loc="lower right")
    return ax


def weight_trajectory(
    weights: SessionResult | ArrayLike,
    *,
    times: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    reversal_at: float | None = None,
    xlabel: str = "trial",
    ylabel: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Weights over trials (or time), one line per synapse, mean ± SEM over subjects.

    Args:
        weights: a :class:`~multiscale.population.SessionResult` (its ``weights``,
            (subjects, trials, units, 2), are drawn as each unit's preference
            $W_{j1} - W_{j2}$ for population 1 over 2), or an array (time, lines) or
            (subjects, time, lines).
        times: x values (default 1, 2, ... per trial).
        labels: one legend label per line (default "unit j" for a session).
        reversal_at: x of a reversal, marked by a vertical line.
        xlabel, ylabel: axis labels.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    if isinstance(weights, SessionResult):
        w = np.asarray(weights.weights, dtype=float)
        w = w[..., 0] - w[..., 1]
        ylabel = ylabel or "preference W₁ − W₂"
        if labels is None:
            labels = [f"unit {j}" for j in range(w.shape[-1])]
    else:
        w = np.asarray(weights, dtype=float)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(
            f"`weights` must be (time, lines) or (subjects, time, lines), got {w.shape}"
        )
    x = np.arange(1, w.shape[1] + 1) if times is None else np.asarray(times, dtype=float)
    if x.shape != (w.shape[1],):
        raise ValueError(f"`times` must have shape ({w.shape[1]},), got {x.shape}")
    if labels is not None and len(labels) != w.shape[2]:
        raise ValueError(f"`labels` must have {w.shape[2]} entries, got {len(labels)}")
    for j in range(w.shape[2]):
        _mean_band(
            ax,
            x,
            w[:, :, j],
            color=f"C{j % 10}",
            label=None if labels is None else labels[j],
        )
    if reversal_at is not None:
        ax.axvline(reversal_at, color="0.4", lw=1.0, ls="--")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or "weight")
    if labels is not None:
        ax.legend(frameon=False)
    return ax


def tagging_protocol(
    result: TaggingResult,
    *,
    induction: Induction | None = None,
    labels: Sequence[str] = ("A", "B"),
    show_late: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Weights of each pathway (%, 100 = rest) over hours in a tagging-and-capture run.

    Solid lines are the total weights; dashed lines (``show_late``) the part carried by
    the late phase, i.e. the total minus the early (tag) part. Stimuli of ``induction``
    are marked with triangles at the top, in their pathway's colour.

    Args:
        result: a :class:`~multiscale.synapse.TaggingResult`, optionally with a leading
            batch axis (cells), averaged with a ± SEM band.
        induction: the stimuli that were applied (times in s).
        labels: one name per pathway.
        show_late: also draw the late-phase part.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    w = np.asarray(result.weights, dtype=float)
    early = np.asarray(result.early, dtype=float)
    ts = np.asarray(result.ts, dtype=float)
    if w.ndim == 2:
        w, early = w[None], early[None]
    if w.ndim != 3:
        raise ValueError(
            f"`result.weights` must be (time, pathways) or (cells, time, pathways), got {w.shape}"
        )
    ts = ts.reshape(-1, ts.shape[-1])[0] / 3600.0
    if len(labels) != w.shape[2]:
        raise ValueError(f"`labels` must have {w.shape[2]} entries, got {len(labels)}")
    for k in range(w.shape[2]):
        c = f"C{k % 10}"
        _mean_band(ax, ts, 100.0 * w[:, :, k], color=c, label=f"pathway {labels[k]}")
        if show_late:
            _mean_band(ax, ts, 100.0 * (w[:, :, k] - early[:, :, k]), color=c, ls="--")
    if induction is not None:
        t = np.asarray(induction.time, dtype=float) / 3600.0
        path = np.asarray(induction.pathway)
        on = (np.asarray(induction.p_ltp) > 0) | (np.asarray(induction.p_ltd) > 0)
        for tk, pk in zip(t[on], path[on], strict=True):
            ax.plot(
                [tk],
                [1.0],
                "v",
                color=f"C{int(pk) % 10}",
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
    ax.axhline(100.0, color="0.7", lw=0.8)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("weight (% of rest); dashed: late phase")
    ax.legend(frameon=False)
    return ax
