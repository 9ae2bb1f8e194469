"""The interface of behavioral models: a likelihood of each trial and a simulator.

Every model of choices and reaction times (the drift–diffusion family, race models, the
decision circuit with its readout) implements :class:`AbstractChoiceModel`: the log
density of each trial's (choice, RT) given its condition, and a simulator that draws
trials from the same parameters. Fitting (:mod:`multiscale.fit`) and model comparison
see models only through this interface.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._choice_rt import Trials


class AbstractChoiceModel(eqx.Module):
    """A model of each trial's choice (0 lower / 1 upper) and RT (s) given its condition.

    Concrete models implement :meth:`log_density` and :meth:`simulate` with the same
    parameters, so that data simulated from a model can be fitted by its likelihood
    (parameter recovery, posterior predictive checks).
    """

    @abc.abstractmethod
    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        """$\\log p(\\text{choice}, \\text{RT} \\mid \\text{condition})$ per trial (RT in 1/s)."""

    @abc.abstractmethod
    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """One simulated trial per entry of ``condition``, drawn with ``key``.

        A model whose trials can end without a response (e.g. no bound crossed before the
        end of a circuit trial) drops those, as an experiment would, so the result may
        hold fewer trials than ``condition``; each model's docstring says whether it can.
        """


def log_likelihood(model: AbstractChoiceModel, trials: Trials) -> Float[Array, ""]:
    """$\\sum_i \\log p(c_i, t_i \\mid x_i)$ (nats; RT density in 1/s) of ``trials``."""
    if not isinstance(model, AbstractChoiceModel):
        raise TypeError(
            f"`model` must be an AbstractChoiceModel (e.g. ms.behavior.DDM), got "
            f"{type(model).__name__}"
        )
    if not isinstance(trials, Trials):
        raise TypeError(
            f"`trials` must be ms.behavior.Trials (see ms.data.load_trials), got "
            f"{type(trials).__name__}"
        )
    return jnp.sum(model.log_density(trials))
