"""Forgetting curves of the cascade and binary synapses (Fusi, Drew & Abbott 2005)."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..synapse import (
    AbstractMemorySynapse,
    BinaryMemorySynapse,
    CascadeSynapse,
    memory_lifetime,
    memory_signal,
)


def _label(model: AbstractMemorySynapse) -> str:
    if isinstance(model, CascadeSynapse):
        return f"cascade, n = {model.n}, x = {float(np.asarray(model.x)):.3g}"
    if isinstance(model, BinaryMemorySynapse):
        return f"binary, q = {float(np.asarray(model.q)):.3g}"
    return type(model).__name__


def plot_cascade_memory(
    models: Sequence[AbstractMemorySynapse] | None = None,
    *,
    n_synapses: float | int | None = None,
    t_max: int = 10**6,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Memory signal (or SNR) against events since storage, on log-log axes.

    A power law is a straight line on these axes and an exponential a curve that falls
    off a cliff, which is the contrast of Fusi, Drew & Abbott (2005): the cascade forgets
    as a power law up to $t \\sim x^{-n}$, a binary synapse exponentially.

    Args:
        models: the synapses to compare. Default: a cascade with 15 levels, the binary
            synapse with the same initial signal ($q = 2/15$, fast) and a slow binary
            synapse ($q = 2^{-10}$).
        n_synapses: if given, plot $\\mathrm{SNR} = \\sqrt N\\,S(t)$ instead of $S(t)$,
            with the threshold SNR = 1 dotted and each memory's lifetime marked.
        t_max: last event shown (t runs from 1 to ``t_max`` on a log grid).
        labels: one legend entry per model (default: the model and its parameters).
        ax: axes to draw on (the current axes if ``None``).

    Returns:
        The Axes.
    """
    ax = plt.gca() if ax is None else ax
    if models is None:
        cascade = CascadeSynapse(n=15)
        models = (
            cascade,
            BinaryMemorySynapse(q=float(memory_signal(cascade, 0))),
            BinaryMemorySynapse(q=2.0**-10),
        )
    models = list(models)
    if not models:
        raise ValueError("`models` must hold at least one synapse")
    if labels is not None and len(labels) != len(models):
        raise ValueError(f"`labels` must have {len(models)} entries, got {len(labels)}")
    if not isinstance(t_max, int | np.integer) or not 1 <= t_max <= 2**31 - 1:
        raise ValueError(f"`t_max` must be an int in [1, 2**31 - 1], got {t_max!r}")
    if n_synapses is not None and not (np.isfinite(n_synapses) and n_synapses > 0):
        raise ValueError(f"`n_synapses` must be a finite number > 0, got {n_synapses!r}")
    k = max(2, int(np.ceil(20 * np.log10(max(t_max, 2)))) + 1)
    ts = np.unique(np.round(np.logspace(0, np.log10(t_max), k))).astype(np.int32)
    scale = 1.0 if n_synapses is None else float(np.sqrt(n_synapses))
    for j, model in enumerate(models):
        s = scale * np.asarray(memory_signal(model, np.concatenate([[0], ts])), dtype=float)
        # Below ~1e-7 of the initial signal float32 is noise; log axes need y > 0.
        y = np.where(s[1:] > 1e-7 * s[0], s[1:], np.nan)
        label = _label(model) if labels is None else labels[j]
        (line,) = ax.plot(ts, y, color=f"C{j % 10}", label=label)
        if n_synapses is not None:
            life = int(memory_lifetime(model, n_synapses))
            if 1 <= life <= t_max:
                ax.plot([life], [1.0], "o", color=line.get_color(), ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("plasticity events since storage, t")
    if n_synapses is None:
        ax.set_ylabel("memory signal S(t)")
    else:
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.set_ylabel(f"SNR, N = {n_synapses:.3g} synapses")
    ax.legend(frameon=False)
    return ax
