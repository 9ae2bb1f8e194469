"""A ready-made sweep function for the decision circuit: accuracy and mean RT of a block."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, PRNGKeyArray

from .._results import RESULTS
from ..behavior import ThresholdReadout
from ..circuit import AbstractCircuit, Stimulus, TrialProtocol, simulate

STATUS_DIVERGED = RESULTS.diverged
"""Status of a member in which a trial of the circuit diverged (NaN/inf state)."""
STATUS_UNDECIDED = RESULTS.undecided
"""Status of a member in which no trial reached the decision threshold."""


class DecisionSummary(eqx.Module):
    r"""Accuracy and mean reaction time of ``n_trials`` trials of a decision circuit.

    Use it as the ``fn`` of :func:`~multiscale.sweep.sweep` over a
    :class:`~multiscale.circuit.WongWang2006` model. Each trial runs with its own key
    (split from the member's key), the stimulus at ``coherence`` and the threshold
    readout (Wong & Wang 2006: 15 Hz, RT = decision time + 100 ms). Over the decided
    trials $D$ of the $N$:

    $$\mathrm{accuracy} = \frac{|\{i \in D: \text{population 1 wins trial } i\}|}{|D|}, \qquad
      \overline{\mathrm{RT}} = \frac{1}{|D|}\sum_{i \in D} \mathrm{RT}_i, \qquad
      p_\mathrm{decided} = |D| / N.$$

    The member's ``status`` is ``RESULTS.invalid`` (4) if a parameter of the member is
    out of its range (e.g. a negative time constant), ``STATUS_DIVERGED`` (2) if any
    trial diverged and ``STATUS_UNDECIDED`` (3) if no trial decided (accuracy and RT are
    then NaN); the other members are unaffected.

    Attributes:
        coherence: motion coherence as a fraction in [0, 1] (0.128 = 12.8 %).
        n_trials: trials per parameter set.
        readout: the decision readout (``ThresholdReadout()``).
        protocol: the trial's timing (0.5 ms steps, 0.5 s before the stimulus, 2.5 s).

    References:
        Wong KF, Wang XJ (2006) J Neurosci 26:1314.
    """

    coherence: float | Array = 0.128
    n_trials: int = eqx.field(static=True, default=64)
    readout: ThresholdReadout = ThresholdReadout()
    protocol: TrialProtocol = TrialProtocol()

    def __check_init__(self):
        if not (isinstance(self.n_trials, int) and self.n_trials >= 1):
            raise ValueError(f"DecisionSummary `n_trials` must be an int >= 1, got {self.n_trials}")

    def __call__(self, circuit: AbstractCircuit, key: PRNGKeyArray) -> dict[str, Array]:
        stimulus = Stimulus(coherence=self.coherence)

        def trial(k):
            return simulate(
                circuit,
                stimulus,
                key=k,
                protocol=self.protocol,
                save_every=0,
                readout=self.readout,
                throw=False,
            )

        trajectory = jax.vmap(trial)(jr.split(key, self.n_trials))
        decision = trajectory.readout
        decided = decision.decided
        dtype = decision.rt.dtype
        n_decided = jnp.sum(decided)
        denominator = jnp.maximum(n_decided, 1).astype(dtype)
        accuracy = jnp.sum(decision.correct & decided).astype(dtype) / denominator
        mean_rt = jnp.sum(jnp.where(decided, decision.rt, 0.0)) / denominator
        nan = jnp.full((), jnp.nan, dtype)
        status = jnp.where(
            jnp.any(trajectory.result == RESULTS.invalid),
            RESULTS.invalid,
            jnp.where(
                jnp.any(trajectory.result != 0),
                STATUS_DIVERGED,
                jnp.where(n_decided == 0, STATUS_UNDECIDED, 0),
            ),
        )
        return {
            "accuracy": jnp.where(n_decided > 0, accuracy, nan),
            "mean_rt": jnp.where(n_decided > 0, mean_rt, nan),
            "p_decided": n_decided.astype(dtype) / self.n_trials,
            "status": status,
        }
