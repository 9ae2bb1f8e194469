"""Figures for dynamic foraging: choice fraction over a session, and the matching law.

For :func:`multiscale.population.run_foraging` sessions and the counts and fits of
:mod:`multiscale.behavior` (:func:`~multiscale.behavior.block_counts`,
:func:`~multiscale.behavior.fit_matching`).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..behavior import MatchingCounts, MatchingFit
from ..population import ForagingResult, ForagingTask


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def _moving_fraction(hit: np.ndarray, valid: np.ndarray, window: int) -> np.ndarray:
    """Moving fraction of ``hit`` among ``valid`` trials over the last axis (valid part)."""
    pad = [(0, 0)] * (hit.ndim - 1) + [(1, 0)]
    h = np.pad(np.cumsum(hit & valid, axis=-1), pad)
    n = np.pad(np.cumsum(valid, axis=-1), pad)
    hw, nw = h[..., window:] - h[..., :-window], n[..., window:] - n[..., :-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nw > 0, hw / nw, np.nan)


def foraging_session(
    result: ForagingResult,
    task: ForagingTask | None = None,
    *,
    window: int = 20,
    ax: Axes | None = None,
) -> Axes:
    """Moving fraction of choices of A, and of rewards obtained from A, over trials.

    Each curve is a moving fraction over ``window`` trials drawn at the window's last
    trial (undecided trials left out); with a leading subject axis the mean over
    subjects is drawn. With ``task``, the scheduled fraction $p_A/(p_A + p_B)$ is drawn
    as a step line.

    Args:
        result: a :class:`~multiscale.population.ForagingResult`, fields (trials,) or
            (subjects, trials).
        task: the session's :class:`~multiscale.population.ForagingTask` (optional).
        window: moving-window length, trials.
        ax: axes (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    choice = np.asarray(result.choice).reshape(-1, np.shape(result.choice)[-1])
    reward = np.asarray(result.reward).reshape(choice.shape) > 0
    n = choice.shape[-1]
    if not (isinstance(window, int) and 1 <= window <= n):
        raise ValueError(f"`window` must be an int in [1, {n}], got {window!r}")
    x = np.arange(window - 1, n)
    cf = np.nanmean(_moving_fraction(choice == 0, choice >= 0, window), axis=0)
    rf = np.nanmean(_moving_fraction(choice == 0, reward, window), axis=0)
    ax.plot(x, cf, color="k", label="choices of A")
    ax.plot(x, rf, color="tab:blue", alpha=0.7, label="rewards from A")
    if task is not None:
        ax.step(
            np.arange(task.n_trials),
            np.asarray(task.reward_fraction),
            where="post",
            color="tab:red",
            lw=1,
            label="scheduled $p_A/(p_A+p_B)$",
        )
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("trial")
    ax.set_ylabel("fraction for target A")
    ax.legend(frameon=False, fontsize="small")
    return ax


def matching_law(
    counts: MatchingCounts, fit: MatchingFit | None = None, *, ax: Axes | None = None
) -> Axes:
    """Choice fraction against reward fraction per group (block or window).

    The diagonal is perfect matching; with ``fit``, its fraction-space line and the
    matching-law sensitivity $a$ are drawn as well.

    Args:
        counts: :class:`~multiscale.behavior.MatchingCounts` (any leading shape).
        fit: :func:`~multiscale.behavior.fit_matching` of the same counts (optional).
        ax: axes (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    x = np.asarray(counts.reward_fraction).ravel()
    y = np.asarray(counts.choice_fraction).ravel()
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="matching")
    ax.plot(x, y, "o", color="k", ms=3, alpha=0.5)
    if fit is not None:
        s, b = float(fit.fraction_slope), float(fit.fraction_intercept)
        ax.plot(
            [0, 1],
            [b, b + s],
            color="tab:red",
            label=f"slope {s:.2f}; sensitivity a = {float(fit.sensitivity):.2f}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("reward fraction (A)")
    ax.set_ylabel("choice fraction (A)")
    ax.legend(frameon=False, fontsize="small")
    return ax
