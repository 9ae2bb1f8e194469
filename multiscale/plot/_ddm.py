"""Drift-diffusion figures: psychometric and chronometric curves, RT density over data."""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..behavior import (
    AbstractDDM,
    Trials,
    ddm_choice_probability,
    ddm_log_density,
    ddm_mean_rt,
)


def _summary(data) -> pd.DataFrame:
    """Per-condition ``coherence, n, p_correct, mean_rt`` from Trials or a summary DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Trials):
        df = pd.DataFrame(
            dict(
                coherence=np.asarray(data.condition),
                correct=np.asarray(data.choice),
                rt=np.asarray(data.rt),
            )
        )
        g = df.groupby("coherence")
        return pd.DataFrame(
            dict(n=g.size(), p_correct=g["correct"].mean(), mean_rt=g["rt"].mean())
        ).reset_index()
    raise TypeError(f"data must be a Trials or a summary DataFrame, got {type(data).__name__}")


def _model_grid(summary: pd.DataFrame) -> np.ndarray:
    c = summary["coherence"].to_numpy(float)
    return np.linspace(0.0, c.max() * 1.05, 200)


def ddm_psychometric(data, model: AbstractDDM | None = None, *, ax=None, label: str = "model"):
    """P(choice 1) (P(correct) with accuracy coding) against the condition value.

    Args:
        data: :class:`~multiscale.behavior.Trials` or a summary DataFrame with columns
            ``coherence`` and ``p_correct`` (e.g. ``ms.data.roitman_shadlen_2002()``).
        model: optional DDM whose closed-form choice probability is drawn as a line.
        ax: Axes to draw on (default: a new figure).

    Returns:
        The Axes.
    """
    ax = plt.subplots()[1] if ax is None else ax
    s = _summary(data)
    ax.plot(100 * s["coherence"], s["p_correct"], "o", color="k", label="data")
    if model is not None:
        c = _model_grid(s)
        ax.plot(
            100 * c,
            np.asarray(ddm_choice_probability(model, jnp.asarray(c, jnp.float32))),
            "-",
            label=label,
        )
    ax.set_xlabel("condition (coherence, %)")
    ax.set_ylabel("P(correct)")
    ax.legend(frameon=False)
    return ax


def ddm_chronometric(data, model: AbstractDDM | None = None, *, ax=None, label: str = "model"):
    """Mean RT (s) against the condition value, data points and the model's closed form."""
    ax = plt.subplots()[1] if ax is None else ax
    s = _summary(data)
    ax.plot(100 * s["coherence"], s["mean_rt"], "o", color="k", label="data")
    if model is not None:
        c = _model_grid(s)
        ax.plot(
            100 * c, np.asarray(ddm_mean_rt(model, jnp.asarray(c, jnp.float32))), "-", label=label
        )
    ax.set_xlabel("condition (coherence, %)")
    ax.set_ylabel("mean RT (s)")
    ax.legend(frameon=False)
    return ax


def ddm_rt_density(
    trials: Trials, model: AbstractDDM, *, condition: float | None = None, bins: int = 40, ax=None
):
    """RT histograms of both choices (choice 1 up, choice 0 mirrored down) with the model's density.

    Args:
        trials: the data.
        model: a DDM; its joint density $p(c, t)$ (1/s) is drawn over the histograms, which are
            normalised to the same scale (count / (n · bin width)).
        condition: draw only trials with this condition value (default: all trials, and the
            model density averaged over the trials' conditions).
        bins: number of histogram bins.
        ax: Axes to draw on.

    Returns:
        The Axes.
    """
    ax = plt.subplots()[1] if ax is None else ax
    rt, choice, cond = (np.asarray(x) for x in (trials.rt, trials.choice, trials.condition))
    if condition is not None:
        sel = np.isclose(cond, condition)
        rt, choice, cond = rt[sel], choice[sel], cond[sel]
    edges = np.linspace(0.0, np.quantile(rt, 0.995) * 1.1, bins + 1)
    width = edges[1] - edges[0]
    for c, sign in ((1, 1.0), (0, -1.0)):
        h, _ = np.histogram(rt[choice == c], edges)
        ax.bar(
            edges[:-1],
            sign * h / (rt.size * width),
            width=width,
            align="edge",
            alpha=0.4,
            color="C0" if c else "C3",
            label=f"data, choice {c}",
        )
    t = np.linspace(edges[0] + 1e-3, edges[-1], 300)
    levels, counts = np.unique(cond, return_counts=True)
    for c, sign in ((1, 1.0), (0, -1.0)):
        dens = np.zeros_like(t)
        for level, n in zip(levels, counts, strict=True):
            lp = ddm_log_density(
                model,
                jnp.asarray(t, jnp.float32),
                jnp.full(t.shape, c, jnp.int32),
                jnp.full(t.shape, level, jnp.float32),
            )
            dens += n / rt.size * np.exp(np.asarray(lp))
        ax.plot(t, sign * dens, color="k", lw=1.5, label="model" if c else None)
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.set_xlabel("RT (s)")
    ax.set_ylabel("density (1/s); choice 0 below")
    ax.legend(frameon=False)
    return ax
