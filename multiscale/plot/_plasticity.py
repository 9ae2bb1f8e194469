"""Calcium-based plasticity figures: STDP window and frequency dependence vs Sjöström 2001."""

import matplotlib.pyplot as plt
import numpy as np

# Sjöström, Turrigiano & Nelson 2001 (Neuron 32:1149), regular pairs, mean ± SEM of the
# fractional change (as distributed with the Graupner & Brunel 2012 code,
# sjoestroem_regular_all.dat; the 0.1 Hz column is drawn at 0.1 Hz).
SJOSTROM_2001 = {
    "frequency": np.array([0.1, 10.0, 20.0, 40.0, 50.0]),
    "plus10": (np.array([-4, 14, 29, 53, 56]) / 100, np.array([5, 10, 14, 11, 26]) / 100),
    "minus10": (np.array([-29, -41, -34, 56, 75]) / 100, np.array([8, 11, 10, 32, 19]) / 100),
}


def stdp_curve(delta_ts, ratios, ax=None, *, label=None, **kwargs):
    """Plot w_after/w_before against Δt = t_post - t_pre (s, drawn in ms); returns the Axes."""
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(np.asarray(delta_ts) * 1e3, np.asarray(ratios), label=label, **kwargs)
    ax.axhline(1.0, color="0.6", ls="--", lw=1)
    ax.axvline(0.0, color="0.6", ls="--", lw=1)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(r"$w_\mathrm{after}/w_\mathrm{before}$")
    if label is not None:
        ax.legend(frameon=False)
    return ax


def frequency_dependence(frequencies, plus10, minus10, ax=None, *, data=True):
    """Model ratios at Δt = ±10 ms against pairing frequency (Hz), with Sjöström's data.

    Args:
        frequencies: pairing frequencies, Hz.
        plus10, minus10: model w_after/w_before at Δt = +10 and -10 ms.
        data: overlay the Sjöström 2001 means ± SEM (as 1 + fractional change).
    """
    if ax is None:
        _, ax = plt.subplots()
    f = np.asarray(frequencies)
    ax.plot(f, np.asarray(plus10), "-", color="C3", label="model +10 ms")
    ax.plot(f, np.asarray(minus10), "-", color="C0", label="model -10 ms")
    if data:
        d = SJOSTROM_2001
        for key, color, lab in (("plus10", "C3", "data +10 ms"), ("minus10", "C0", "data -10 ms")):
            mean, sem = d[key]
            ax.errorbar(d["frequency"], 1 + mean, yerr=sem, fmt="o", color=color, mfc="white",
                        capsize=3, label=lab)  # fmt: skip
    ax.axhline(1.0, color="0.6", ls="--", lw=1)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel(r"$w_\mathrm{after}/w_\mathrm{before}$")
    ax.legend(frameon=False, fontsize="small")
    return ax
