"""Figures for spike-timing, BCM and Hebbian plasticity rules."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from jaxtyping import ArrayLike
from matplotlib.axes import Axes

from ..synapse import STDPResult


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def stdp_window(
    delta_t: ArrayLike,
    dw: ArrayLike,
    *,
    percent: bool = False,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Weight change against spike timing $\\Delta t = t_\\mathrm{post} - t_\\mathrm{pre}$ (ms).

    Args:
        delta_t: spike-timing differences, s (drawn in ms).
        dw: weight change per ``delta_t`` (e.g. ``simulate_stdp(...).delta_w`` vmapped).
        percent: draw ``100 * dw`` and label the axis in %.
        label: legend label.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    y = np.asarray(dw, dtype=float) * (100.0 if percent else 1.0)
    ax.plot(1e3 * np.asarray(delta_t, dtype=float), y, label=label)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("Δt = t_post − t_pre (ms)")
    ax.set_ylabel("Δw (%)" if percent else "Δw")
    if label is not None:
        ax.legend(frameon=False)
    return ax


def stdp_frequency(
    frequencies: ArrayLike,
    dw_plus: ArrayLike,
    dw_minus: ArrayLike,
    *,
    data: Sequence[tuple[tuple[float, float], tuple[float, float]]] | None = None,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Weight change (%) against pairing frequency at Δt = +10 and −10 ms.

    Args:
        frequencies: pairing frequencies, Hz.
        dw_plus, dw_minus: model weight change in % at +10 ms and −10 ms.
        data: optional measurements per frequency, ``((mean+, sem+), (mean-, sem-))`` in %
            (e.g. Sjöström et al. 2001, ``multiscale.validation._synapse_stdp.SJOSTROM``).
        label: legend label prefix for the model lines.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    f = np.asarray(frequencies, dtype=float)
    prefix = f"{label}, " if label else ""
    ax.plot(f, np.asarray(dw_plus, dtype=float), "-", color="C3", label=f"{prefix}+10 ms")
    ax.plot(f, np.asarray(dw_minus, dtype=float), "-", color="C0", label=f"{prefix}−10 ms")
    if data is not None:
        d = np.asarray(data, dtype=float)
        ax.errorbar(f, d[:, 0, 0], d[:, 0, 1], fmt="o", color="C3", label="data +10 ms")
        ax.errorbar(f, d[:, 1, 0], d[:, 1, 1], fmt="s", color="C0", label="data −10 ms")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel("Δw (%)")
    ax.legend(frameon=False)
    return ax


def stdp_trajectory(
    result: STDPResult, *, label: str | None = None, ax: Axes | None = None
) -> Axes:
    """Weight after each spike event of an event-driven STDP run, against time (s).

    Args:
        result: from :func:`~multiscale.synapse.simulate_stdp`; ``+inf`` padding is skipped.
        label: legend label.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    t = np.asarray(result.ts, dtype=float)
    real = np.isfinite(t)
    w0 = float(result.w - result.delta_w)
    ax.step(np.r_[0.0, t[real]], np.r_[w0, np.asarray(result.ws)[real]], where="post", label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("w")
    if label is not None:
        ax.legend(frameon=False)
    return ax


def bcm_curve(
    frequencies: ArrayLike,
    dw: ArrayLike,
    *,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """BCM frequency–response curve $\\Delta w(f)$ on a logarithmic frequency axis.

    Draw several histories on one Axes (one call each, with ``label``) to show the
    crossover moving with the activity history.

    Args:
        frequencies: stimulation frequencies, Hz.
        dw: weight change per frequency (e.g. from
            :func:`~multiscale.synapse.bcm_frequency_response`).
        label: legend label (e.g. the history rate).
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    ax.semilogx(np.asarray(frequencies, dtype=float), np.asarray(dw, dtype=float), label=label)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("stimulation frequency (Hz)")
    ax.set_ylabel("Δw")
    if label is not None:
        ax.legend(frameon=False)
    return ax
