r"""Offline (sleep) phases between sessions, and lesions of learned synapses.

Sleep, after Tononi & Cirelli's synaptic homeostasis hypothesis (SHY; 2006, 2014):
learning during waking leaves synapses net potentiated; during sleep, spontaneous
*replay* of the waking assemblies drives a multiplicative **downscaling** towards a
set point, which keeps the relative strengths (what was learned) and pushes the
weakest synapses below an elimination threshold, where they are **pruned**.

Here, for a :class:`~multiscale.population.Learner`:

1. $N$ replay events of length $T$ each present the task's sensory patterns (a random
   direction $s = \pm 1$ at the task's coherence, with sensory noise; no reward, no
   choice) and give each decision population the replay-evoked input rate
   $y = W^\top x$ (Hz). Without reward the three-factor rule's traces are never
   converted into weight changes (no dopamine; with $d_\mathrm{tonic} = 0$ exactly
   none), so replay acts only through the homeostatic signal.
2. :class:`~multiscale.synapse.SynapticScaling` multiplies the weights onto each
   population by a common factor, $\dot w_{ij} = w_{ij}(r^* - \hat r_j)/(r^*\tau_s)$,
   with $\hat r_j$ the low-pass of $y_j$ and $r^*$ the set point (Hz of replay-evoked
   input). Weight ratios within a population are kept exactly.
3. At the end of the night :class:`~multiscale.synapse.StructuralPlasticity` removes
   the synapses that ended below its threshold (and may grow new ones at silent sites).

The feedforward drive $y$ stands in for the circuit's activity during replay: running
the attractor circuit offline would cost a full trial per replay and is not needed
for the homeostatic signal, which only sees the mean input. The numbers (set point,
threshold, time constants) are ours and serve ordinal demonstrations; SHY gives the
direction of the effect, not these values.

References:
    Tononi G, Cirelli C (2006) Sleep function and synaptic homeostasis. Sleep Med Rev
    10:49. Tononi G, Cirelli C (2014) Sleep and the price of plasticity: from synaptic
    and cellular homeostasis to memory consolidation and integration. Neuron 81:12.
    Turrigiano GG et al. (1998) Nature 391:892 (multiplicative scaling).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ..synapse import (
    ScalingState,
    StructuralPlasticity,
    StructuralState,
    SynapticScaling,
    apply_mask,
    check_mask,
    prune_weakest,
)
from ._session import Learner


class SleepPhase(eqx.Module):
    r"""An offline phase: replay with multiplicative downscaling, then pruning.

    Attributes:
        scaling: the homeostatic rule; its ``r_target`` is the set point of the
            replay-evoked input rate per population, Hz
            (``SynapticScaling(r_target=24, tau_scale=20)``: 20 % below the naive
            learner's 30 Hz, i.e. a net downscaling).
        structural: pruning/synaptogenesis applied at the end of the night
            (``StructuralPlasticity(threshold=0.1)``).
        n_replays: number of replay events $N$, static (100).
        replay_duration: $T$, s per replay event (1).
        coherence: coherence of the replayed patterns, fraction (0.2).
    """

    scaling: SynapticScaling = SynapticScaling(r_target=24.0, tau_scale=20.0)
    structural: StructuralPlasticity = StructuralPlasticity(threshold=0.1)
    n_replays: int = eqx.field(static=True, default=100)
    replay_duration: Float[ArrayLike, ""] = 1.0
    coherence: Float[ArrayLike, ""] = 0.2

    def __check_init__(self):
        if not (isinstance(self.n_replays, int) and self.n_replays >= 1):
            raise ValueError(f"SleepPhase `n_replays` must be an int >= 1, got {self.n_replays}")
        for name in ("replay_duration", "coherence"):
            v = getattr(self, name)
            if isinstance(v, int | float) and not v >= 0:
                raise ValueError(f"SleepPhase `{name}` must be >= 0, got {v}")


class SleepResult(eqx.Module):
    """Outcome of :func:`sleep` (leading batch axes after ``vmap``).

    Attributes:
        weights: weights after the night, shape (units, 2) (0 at pruned sites).
        mask: synapses that exist after the night, boolean, shape (units, 2).
        scaled: weights after downscaling, before pruning, shape (units, 2).
        drive: replay-evoked input rate to each population per replay, Hz,
            shape (replays, 2).
    """

    weights: Float[Array, "*batch units 2"]
    mask: Bool[Array, "*batch units 2"]
    scaled: Float[Array, "*batch units 2"]
    drive: Float[Array, "*batch replays 2"]


def sleep(learner: Learner, phase: SleepPhase, *, key: PRNGKeyArray) -> SleepResult:
    """Run one offline phase on ``learner``'s weights and mask (module docstring).

    Args:
        learner: the subject; its ``weights`` (e.g. the last weights of a session) and
            ``mask`` are the state that sleeps.
        phase: the offline phase.
        key: PRNG key (replayed directions, sensory noise, synaptogenesis).

    Returns:
        :class:`SleepResult`; continue with :func:`with_synapses`.
    """
    if not isinstance(phase, SleepPhase):
        raise ValueError(f"`phase` must be a SleepPhase, got {type(phase).__name__}")
    w0 = learner.initial_weights()
    dtype = w0.dtype
    mask = (
        jnp.ones(w0.shape, bool) if learner.mask is None else check_mask(learner.mask, w0, "mask")
    )
    k_replay, k_struct = jr.split(key)
    sensory = learner.sensory
    # The homeostatic rate estimate starts at the drive of the mean (noise-free) pattern.
    x_mean = jnp.full((sensory.n_units,), jnp.asarray(sensory.baseline, dtype))
    state0 = ScalingState(w0, w0.T @ x_mean)
    T = jnp.asarray(phase.replay_duration, dtype)

    def replay(state, k):
        k_dir, k_sens = jr.split(k)
        direction = jnp.where(jr.bernoulli(k_dir), 1.0, -1.0).astype(dtype)
        x = sensory.rates(direction, phase.coherence, key=k_sens)
        y = state.weights.T @ x
        return phase.scaling.step(state, x, y, T), y

    state, drive = jax.lax.scan(replay, state0, jr.split(k_replay, phase.n_replays))
    scaled = apply_mask(state.weights, mask)
    night = T * phase.n_replays
    after = phase.structural.step(StructuralState(scaled, mask), night, key=k_struct)
    return SleepResult(after.weights, after.mask, scaled, drive)


def with_synapses(learner: Learner, weights: Float[Array, "units 2"], mask: ArrayLike) -> Learner:
    """``learner`` with its initial weights and mask replaced (to continue training)."""
    w = jnp.asarray(weights)
    m = check_mask(mask, w)
    return eqx.tree_at(
        lambda lrn: (lrn.weights, lrn.mask), learner, (w, m), is_leaf=lambda x: x is None
    )


def lesion_synapses(
    learner: Learner,
    weights: Float[Array, "units 2"],
    fraction: Float[ArrayLike, ""],
    *,
    key: PRNGKeyArray,
) -> Learner:
    r"""``learner`` continuing from ``weights`` with a random fraction of its synapses removed.

    $\lfloor f\,n\rfloor$ of the $n$ existing synapses (``learner.mask``; default all),
    drawn uniformly at random, are removed: a partial deafferentation. The returned
    learner trains on with the survivors (silent sites stay at 0).

    Args:
        learner: the subject.
        weights: weights at the time of the lesion, shape (units, 2).
        fraction: $f$ in [0, 1].
        key: PRNG key for which synapses are removed.
    """
    w = jnp.asarray(weights)
    mask = jnp.ones(w.shape, bool) if learner.mask is None else check_mask(learner.mask, w)
    # The weakest fraction of i.i.d. uniform scores is a uniformly random subset.
    scores = jr.uniform(key, w.shape, w.dtype)
    survivors = prune_weakest(scores, fraction, mask)
    return with_synapses(learner, apply_mask(w, survivors), survivors)
