"""Trials coded for the circuit's likelihood: coherence levels, the chosen side, RTs.

The circuit's two populations favour the two directions of motion; a trial of
:class:`~multiscale.behavior.Trials` (signed coherence, or accuracy coding) is recoded as
the unsigned coherence's index, whether the population favoured by the stimulus was chosen,
and the reaction time, so the likelihood simulates each coherence level once.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ._choice_rt import Trials


class CircuitTrials(eqx.Module):
    """Trials for the circuit likelihood: one row per trial, conditions by index.

    Attributes:
        coherence: coherence of each condition as a fraction in [0, 1], ``(conditions,)``.
        condition: index into ``coherence`` of each trial, ``(trials,)``.
        correct: True where population 1 (the stimulus-favoured one) was chosen; at
            $c = 0$ an arbitrary but fixed side, ``(trials,)``.
        rt: reaction time, s, ``(trials,)``; finite and > 0.

    Example:
        >>> import multiscale as ms
        >>> t = ms.behavior.CircuitTrials([0.0, 0.512], condition=[0, 1, 1],
        ...                          correct=[True, True, False], rt=[0.8, 0.45, 0.5])
        >>> t.n_trials
        3
    """

    coherence: Float[Array, " conditions"]
    condition: Int[Array, " trials"]
    correct: Bool[Array, " trials"]
    rt: Float[Array, " trials"]

    def __init__(self, coherence, condition, correct, rt):
        dtype = jnp.result_type(float)
        self.coherence = jnp.asarray(coherence, dtype)
        condition = np.asarray(condition) if not isinstance(condition, jax.Array) else condition
        if not jnp.issubdtype(condition.dtype, jnp.integer):
            raise ValueError(
                f"CircuitTrials `condition` must hold integer indices into `coherence`, got "
                f"dtype {condition.dtype}"
            )
        self.condition = jnp.asarray(condition, jnp.int32)
        correct = correct if isinstance(correct, jax.Array) else np.asarray(correct)
        if correct.dtype != bool:
            try:
                values = np.asarray(correct)
            except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
                values = np.zeros(0)  # built inside jit/vmap: values are not known here
            if not np.all((values == 0) | (values == 1)):
                raise ValueError("CircuitTrials `correct` must be True/False or 1/0")
        self.correct = jnp.asarray(correct).astype(bool)
        self.rt = jnp.asarray(rt, dtype)

    def __check_init__(self):
        if self.coherence.ndim != 1 or self.coherence.shape[0] < 1:
            raise ValueError(
                f"CircuitTrials `coherence` must be 1-d, got shape {self.coherence.shape}"
            )
        shapes = {f: getattr(self, f).shape for f in ("condition", "correct", "rt")}
        if len(set(shapes.values())) != 1 or len(self.rt.shape) != 1:
            raise ValueError(
                f"CircuitTrials `condition`, `correct` and `rt` must have one shape "
                f"(trials,), got {shapes}"
            )
        try:
            coh, cond, rt = map(np.asarray, (self.coherence, self.condition, self.rt))
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            return  # built inside jit/vmap: values are not known here
        if not np.all((coh >= 0) & (coh <= 1)):
            raise ValueError(
                "CircuitTrials `coherence` must be fractions in [0, 1] (51.2 % is 0.512)"
            )
        bad = (cond < 0) | (cond >= coh.shape[0])
        if np.any(bad):
            raise ValueError(
                f"CircuitTrials `condition` has indices outside 0..{coh.shape[0] - 1} "
                f"(e.g. {cond[bad][0]}); it indexes `coherence`"
            )
        if not np.all(np.isfinite(rt)) or np.any(rt <= 0):
            raise ValueError("CircuitTrials `rt` must be finite and > 0 seconds")

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.rt.shape[0])


def circuit_trials(trials: Trials) -> CircuitTrials:
    """:class:`CircuitTrials` from :class:`~multiscale.behavior.Trials` with signed coherence.

    As :func:`~multiscale.fit.summarize_trials`: the condition is the coherence as a
    fraction (negative: the other direction), trials are pooled by $|c|$, and a trial is
    correct when its choice (1 = upper) matches the sign of $c$ (upper at $c = 0$).
    """
    c = np.asarray(trials.condition, float)
    if np.any(np.abs(c) > 1.0):
        raise ValueError(
            "the condition must be the coherence as a fraction in [-1, 1] for the circuit "
            f"(51.2 % is 0.512); got values up to {np.max(np.abs(c)):g}"
        )
    levels, index = np.unique(np.abs(c), return_inverse=True)
    choice = np.asarray(trials.choice) == 1
    correct = np.where(c >= 0, choice, ~choice)
    return CircuitTrials(levels, index.astype(np.int32), correct, np.asarray(trials.rt))
