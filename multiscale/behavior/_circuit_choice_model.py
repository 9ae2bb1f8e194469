r"""The decision circuit behind the common choice-model interface.

:class:`CircuitChoiceModel` gives any :class:`~multiscale.behavior.CircuitBehavior` (a
circuit of :mod:`multiscale.circuit` with its readout, non-decision time and lapse) the
interface of the drift-diffusion family (:class:`~multiscale.behavior.AbstractChoiceModel`):
``log_density`` of :class:`~multiscale.behavior.Trials` and ``simulate`` with the same
parameters, so the circuit is fitted, compared and checked by the same code as the DDM,
the LBA and the race models, with one trial container.

The trials' ``condition`` is the signed coherence as a fraction (negative: the other
direction); choice 1 (upper) is the direction of positive coherence. The likelihood is
:func:`~multiscale.behavior.trial_log_likelihood`: the first-passage density averaged
over a fixed set of noise paths (common random numbers, so the log-likelihood is a
smooth deterministic function of the parameters) at each of the model's coherence
levels. The levels are fixed when the model is built (:meth:`CircuitChoiceModel.for_trials`),
because each level costs one simulation of every path; a trial's level is the nearest
one to its $|c|$, and a trial further than ``1e-6`` from every level raises an error.
"""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray

from .._checks import error_if
from ._choice_rt import Trials
from ._circuit_likelihood import (
    NDT_SD_MIN,
    CircuitTrials,
    draw_trials,
    trial_log_likelihood,
)
from ._circuit_model import CircuitBehavior
from ._model import AbstractChoiceModel


class CircuitChoiceModel(AbstractChoiceModel):
    """A :class:`CircuitBehavior` as a choice model (see the module docstring).

    Attributes:
        behavior: the circuit with its readout, non-decision time, lapse and protocol.
        coherence: the coherence levels $|c|$ the likelihood evaluates, fractions,
            ``(conditions,)``.
        keys: the noise-path keys ``(paths,)`` (common random numbers; >= 2000
            recommended, see :func:`~multiscale.behavior.trial_log_likelihood`).
        ndt_sd_min: floor on the SD of the non-decision time, s (static).
        chunk: paths simulated at once (static; memory).
    """

    behavior: CircuitBehavior
    coherence: Float[Array, " conditions"]
    keys: Key[Array, " paths"]
    ndt_sd_min: float = eqx.field(static=True, default=NDT_SD_MIN)
    chunk: int = eqx.field(static=True, default=1024)

    def __check_init__(self):
        if not isinstance(self.behavior, CircuitBehavior):
            raise TypeError(
                "CircuitChoiceModel `behavior` must be an ms.behavior.CircuitBehavior, got "
                f"{type(self.behavior).__name__}"
            )

    @classmethod
    def for_trials(
        cls,
        behavior: CircuitBehavior,
        trials: Trials,
        *,
        n_paths: int = 2000,
        key: PRNGKeyArray,
        **kwargs,
    ) -> "CircuitChoiceModel":
        """The model with the coherence levels of ``trials`` and ``n_paths`` noise paths."""
        if not isinstance(trials, Trials):
            raise TypeError(f"`trials` must be ms.behavior.Trials, got {type(trials).__name__}")
        if not (isinstance(n_paths, int) and n_paths >= 1):
            raise ValueError(f"`n_paths` must be an int >= 1, got {n_paths!r}")
        c = np.abs(np.asarray(trials.condition, float))
        if np.any(c > 1.0):
            raise ValueError(
                "the condition must be the signed coherence as a fraction in [-1, 1] "
                f"(51.2 % is 0.512); got values up to {c.max():g}"
            )
        return cls(behavior, jnp.asarray(np.unique(c)), jr.split(key, n_paths), **kwargs)

    def _indexed(self, trials: Trials) -> CircuitTrials:
        c = jnp.asarray(trials.condition)
        levels = jnp.asarray(self.coherence, c.dtype)
        distance = jnp.abs(jnp.abs(c)[:, None] - levels[None, :])
        index = jnp.argmin(distance, axis=1).astype(jnp.int32)
        index = error_if(
            index,
            jnp.min(distance, axis=1) > 1e-6,
            "a trial's |condition| is not one of the model's coherence levels; build the "
            "model with CircuitChoiceModel.for_trials on these trials",
        )
        upper = trials.choice == 1
        correct = jnp.where(c >= 0, upper, ~upper)
        return CircuitTrials(self.coherence, index, correct, trials.rt)

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        """$\\log p(\\text{choice}, \\text{RT} \\mid c)$ per trial (RT density in 1/s)."""
        return trial_log_likelihood(
            self.behavior,
            self._indexed(trials),
            self.keys,
            ndt_sd_min=self.ndt_sd_min,
            chunk=self.chunk,
        )

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """One trial per signed coherence, each on its own noise path. Trials without a
        decision by the end of the trial (or with RT above ``rt_max``) are dropped, as an
        experiment drops trials without a response, so fewer trials may come back; not
        ``jit``-able for that reason."""
        c = np.asarray(condition, float)
        correct, rt, kept = draw_trials(
            self.behavior, np.abs(c), key=key, ndt_sd_min=self.ndt_sd_min
        )
        upper = np.where(c >= 0, correct, ~correct)
        return Trials(rt=rt[kept], choice=upper[kept].astype(np.int32), condition=c[kept])
