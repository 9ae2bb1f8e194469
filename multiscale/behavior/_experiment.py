"""A psychophysics experiment on a decision circuit: trials, summary and fits in one call."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..circuit import AbstractCircuit, AbstractOnlineReadout, Stimulus, TrialProtocol
from ..population import TrialBatch, run_trials
from ._curves import ChoiceSummary, WeibullFit, psychometric, summarize, summarize_soft
from ._readouts import Decision, ThresholdReadout

# Coherences of Roitman & Shadlen 2002 (fractions).
ROITMAN_COHERENCES = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)
_THRESHOLD = ThresholdReadout()
_PROTOCOL = TrialProtocol()
_STIMULUS = Stimulus()


class Psychophysics(eqx.Module):
    """Trials, their per-coherence summary and the Weibull fit of one experiment."""

    trials: TrialBatch
    summary: ChoiceSummary
    weibull: WeibullFit


def psychophysics(
    circuit: AbstractCircuit,
    *,
    key: PRNGKeyArray,
    n_trials: int,
    coherence: Float[Array, " c"] | None = None,
    readout: AbstractOnlineReadout = _THRESHOLD,
    stimulus: Stimulus = _STIMULUS,
    protocol: TrialProtocol = _PROTOCOL,
    chunk_size: int | None = None,
) -> Psychophysics:
    """Run ``n_trials`` trials per coherence of one circuit (no member axis) and summarise.

    Defaults are Wong & Wang's (2006) settings: dt 0.5 ms, 0.5 s pre-stimulus from
    S = 0.1, 50 ms boxcar rate, threshold 15 Hz, 2 s of stimulus.
    Coherence defaults to Roitman & Shadlen's (0 to 51.2 %).
    """
    if coherence is None:
        coherence = jnp.asarray(ROITMAN_COHERENCES, jnp.result_type(float))
    trials = run_trials(
        circuit,
        coherence,
        key=key,
        n_trials=n_trials,
        readout=readout,
        stimulus=stimulus,
        protocol=protocol,
        chunk_size=chunk_size,
    )
    if trials.result.ndim != 2:
        raise ValueError("`psychophysics` takes one circuit; use run_trials for a member axis")
    if isinstance(trials.readout, Decision):
        summary = summarize(trials.readout, coherence)
    else:
        summary = summarize_soft(trials.readout, coherence)
    return Psychophysics(trials, summary, psychometric(summary))
