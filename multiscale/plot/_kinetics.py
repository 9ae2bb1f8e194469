"""Figures for receptor kinetics, the Mg²⁺ block, short-term plasticity and spine calcium."""

import matplotlib.pyplot as plt
import numpy as np
from jaxtyping import ArrayLike
from matplotlib.axes import Axes

from ..synapse import (
    AbstractReceptor,
    MgBlock,
    ReceptorTrajectory,
    ShortTermTrajectory,
    conductance,
)


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def receptor_response(
    traj: ReceptorTrajectory,
    receptor: AbstractReceptor | None = None,
    *,
    V: float = -65.0,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Time course of one receptor's response (time axis in ms).

    Args:
        traj: from :func:`multiscale.synapse.simulate_receptor` (one trajectory).
        receptor: if given, the conductance (nS) is drawn, evaluated at ``V`` (mV) for a
            receptor with a Mg²⁺ block; otherwise the state: ``r`` (and ``G`` for GABA_B).
        V: membrane potential for the Mg²⁺ block, mV.
        label: legend label.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    t_ms = 1e3 * np.asarray(traj.ts)
    if receptor is not None:
        ax.plot(t_ms, np.asarray(conductance(receptor, traj, V)), label=label)
        ax.set_ylabel("conductance (nS)")
    else:
        ax.plot(t_ms, np.asarray(traj.r), label=label or "r (open / bound fraction)")
        if traj.ys.shape[-1] > 1:
            ax.plot(t_ms, np.asarray(traj.G), label="G (activated G-protein)")
        ax.set_ylabel("state")
    ax.set_xlabel("time (ms)")
    if label is not None or receptor is None:
        ax.legend(frameon=False)
    return ax


def mg_block_curve(
    block: MgBlock | None = None,
    *,
    V: ArrayLike | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Unblocked NMDA fraction $B(V)$ against membrane potential (Jahr & Stevens 1990).

    Args:
        block: an :class:`~multiscale.synapse.MgBlock` (1 mM Mg²⁺ if ``None``).
        V: membrane potentials, mV (−100 to +40 mV if ``None``).
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    block = MgBlock() if block is None else block
    V = np.linspace(-100.0, 40.0, 281) if V is None else np.asarray(V, dtype=float)
    ax.plot(V, np.asarray(block(V)), label=f"[Mg²⁺] = {float(block.Mg):g} mM")
    ax.set_xlabel("membrane potential (mV)")
    ax.set_ylabel("unblocked fraction B(V)")
    ax.set_ylim(0.0, 1.0)
    ax.legend(frameon=False)
    return ax


def short_term_efficacies(
    spike_times: ArrayLike,
    result: ShortTermTrajectory,
    *,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Efficacy $u_n R_n$ of each spike of a train (Tsodyks–Markram), against spike time (ms).

    Args:
        spike_times: the spike times (s) given to
            :func:`~multiscale.synapse.short_term_efficacy`; ``+inf`` padding is skipped.
        result: its :class:`~multiscale.synapse.ShortTermTrajectory`.
        label: legend label.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    t = np.asarray(spike_times, dtype=float)
    real = np.isfinite(t)
    ax.plot(1e3 * t[real], np.asarray(result.efficacy)[real], "o-", label=label)
    ax.set_xlabel("spike time (ms)")
    ax.set_ylabel("efficacy u·R")
    if label is not None:
        ax.legend(frameon=False)
    return ax


def spine_calcium_trace(
    ts: ArrayLike,
    calcium: ArrayLike,
    *,
    thresholds: tuple[float, ...] = (0.35, 0.55),
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Spine calcium (µM) against time (ms), with plasticity thresholds as dashed lines.

    Args:
        ts: save times, s.
        calcium: from :func:`~multiscale.synapse.spine_calcium`, µM.
        thresholds: calcium levels to mark, µM (the LTD and LTP onsets of Shouval, Bear
            & Cooper 2002: 0.35 and 0.55 µM).
        label: legend label.
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    ax.plot(1e3 * np.asarray(ts), np.asarray(calcium), label=label)
    for theta in thresholds:
        ax.axhline(theta, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("[Ca²⁺] (µM)")
    if label is not None:
        ax.legend(frameon=False)
    return ax
