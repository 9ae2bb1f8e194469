r"""Behavioural tagging: a weak training made lasting by a strong one or by novelty.

A session in three parts, on one time axis (s):

1. **Training** at :data:`TRAINING_TIME` sets synaptic tags on the *memory pathway*
   (pathway 0) of a :class:`~multiscale.synapse.TagTriC` cell (Clopath et al. 2008):
   a weak training is one train with tag probability 0.4 per synapse (fewer tags than
   the protein threshold: early potentiation only), a strong training three trains 600 s
   apart with probability 1 (it makes its own proteins).
2. **Novelty** (optional), ``novelty_delay`` s after training (negative: before), is
   exploration of a novel environment. It releases dopamine that, through D1/D5
   receptors, drives plasticity-related protein synthesis in the same neurons (Moncada
   & Viola 2007). In the TagTriC cell proteins are triggered by the cell's tag count,
   so novelty is three trains on the *novelty pathway* (pathway 1) with tag probability
   ``novelty × d1``: a novel environment (``novelty = 1``) with intact D1/D5 receptors
   (``d1 = 1``) crosses the protein threshold; a familiar one (``novelty = 0.3``, our
   choice) or a D1/D5 antagonist (``d1 = 0``) does not. Proteins made by either pathway
   are captured by the tags still alive on the memory pathway.
3. **Test**: the memory is the mean weight of the memory pathway relative to rest
   minus 1, $m$ (0: forgotten). It sets the stimulus→choice association of a
   :class:`~multiscale.population.Learner`: the sensory weights become
   $W_{ji} = \tfrac12\,[1 + g\,m\,p_j e_i]_+$ with $p_j = \pm 1$ the sensory unit's
   preference, $e = (+1, -1)$, and $g$ (``gain``, 2, our choice) the behavioural weight
   of the synaptic change; at the default front end the circuit's effective coherence
   on a full-strength stimulus is $g\,m$. A block of test trials with plasticity off
   (dopamine scale 0) is then run by :func:`~multiscale.population.run_session`, and
   its accuracy is the behaviour: chance (0.5) when $m = 0$.

Everything in step 1–2 after the tags are set is the published TagTriC model; the tag
probabilities of the trainings and of novelty are our reduction (see
:mod:`multiscale.synapse` for the weak/strong protocols). The published results used as
targets are ordinal: a weak training alone is remembered for an hour but not a day;
a strong training, or novelty close in time (we use 1 h before or after), makes it
last; novelty far from training, a familiar environment, or blocked D1/D5 receptors do
not (Frey & Morris 1997; Moncada & Viola 2007).

References:
    Frey U, Morris RGM (1997) Nature 385:533.
    Moncada D, Viola H (2007) J Neurosci 27:7476.
    Clopath C, Ziegler L, Vasilaki E, Büsing L, Gerstner W (2008) PLoS Comput Biol
    4:e1000248.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..circuit import AbstractOnlineReadout, TrialProtocol
from ..synapse import Induction, TaggingResult, TagTriC, simulate_tagging
from ._session import SESSION_PROTOCOL, Learner, SessionResult, Task, run_session

Param = Float[ArrayLike, ""]

TRAINING_TIME = 4 * 3600.0
"""Time of the training in a tagging run, s (4 h: novelty can come up to 4 h before)."""

_WEAK_P, _NOVEL_P = 0.4, 1.0
_TRAINS = jnp.array([0.0, 600.0, 1200.0])


class BehavioralTagging(eqx.Module):
    """One training, optional novelty and the synapses that remember them.

    Attributes:
        synapses: the TagTriC cell (2 pathways: memory, novelty).
        strong: 1 for a strong training (three trains, p = 1), 0 for a weak one (one
            train, p = 0.4); values between scale the second and third trains.
        novelty: 1 for a novel environment, 0.3 for a familiar one, 0 for none (tag
            probability of the novelty trains before the D1/D5 factor).
        novelty_delay: from training to novelty, s (negative: novelty first).
        d1: D1/D5 receptor availability in [0, 1] (0: antagonist).
    """

    synapses: TagTriC = TagTriC()
    strong: Param = 0.0
    novelty: Param = 0.0
    novelty_delay: Param = 3600.0
    d1: Param = 1.0

    def __check_init__(self):
        if self.synapses.n_pathways != 2:
            raise ValueError(
                f"BehavioralTagging needs a 2-pathway TagTriC, got {self.synapses.n_pathways}"
            )
        for name in ("strong", "novelty", "d1"):
            v = getattr(self, name)
            if isinstance(v, int | float) and not 0.0 <= v <= 1.0:
                raise ValueError(f"BehavioralTagging `{name}` must lie in [0, 1], got {v}")
        v = self.novelty_delay
        if isinstance(v, int | float) and not -TRAINING_TIME <= v:
            raise ValueError(
                f"BehavioralTagging `novelty_delay` must be >= -{TRAINING_TIME} s, got {v}"
            )

    def induction(self) -> Induction:
        """Training trains on pathway 0, novelty trains on pathway 1 (six events)."""
        f = jnp.result_type(float)
        t_train = TRAINING_TIME + _TRAINS.astype(f)
        t_nov = TRAINING_TIME + jnp.asarray(self.novelty_delay, f) + _TRAINS.astype(f)
        strong = jnp.asarray(self.strong, f)
        p_train = jnp.stack([_WEAK_P + (1 - _WEAK_P) * strong, strong, strong])
        p_nov = jnp.broadcast_to(jnp.asarray(self.novelty, f) * jnp.asarray(self.d1, f), (3,))
        return Induction(
            jnp.concatenate([t_train, t_nov]),
            jnp.array([0, 0, 0, 1, 1, 1]),
            jnp.concatenate([p_train, p_nov]),
            0.0,
        )


def simulate_behavioral_tagging(
    experiment: BehavioralTagging, *, hours_after: float, key: PRNGKeyArray
) -> TaggingResult:
    """Run the synapses from t = 0 to ``hours_after`` h after training (10 s steps,
    samples every 10 min). ``hours_after`` is a Python number; everything in
    ``experiment`` may be traced (one compile for a sweep over delays or D1 levels)."""
    if not (isinstance(hours_after, int | float) and hours_after > 1.0):
        raise ValueError(f"`hours_after` must be a number > 1 (h), got {hours_after!r}")
    steps = int(round(hours_after * 6))  # 10-min samples after training
    t1 = TRAINING_TIME + steps * 600.0
    return simulate_tagging(
        experiment.synapses, experiment.induction(), t1=t1, key=key, dt=10.0, save_every=60
    )


def memory_at(result: TaggingResult, hours_after: float) -> Float[Array, "*batch"]:
    """Memory $m$: the memory pathway's weight relative to rest, minus 1, at
    ``hours_after`` h after training (the nearest 10-min sample)."""
    i = int(round((TRAINING_TIME + hours_after * 3600.0) / 600.0))
    if not 0 <= i < result.ts.shape[-1]:
        raise ValueError(f"`hours_after` = {hours_after} is outside the simulated run")
    return result.weights[..., i, 0] - 1.0


def recall_block(
    memory: Param,
    *,
    key: PRNGKeyArray,
    readout: AbstractOnlineReadout,
    learner: Learner | None = None,
    n_trials: int = 20,
    gain: Param = 2.0,
    coherence: Param = 1.0,
    protocol: TrialProtocol = SESSION_PROTOCOL,
) -> SessionResult:
    """A test block: ``learner`` with the association set by ``memory`` (module
    docstring), ``n_trials`` trials of random direction at ``coherence``, plasticity off.

    ``learner`` defaults to :class:`~multiscale.population.Learner` (Wong–Wang circuit,
    4 sensory units, three-factor rule: with dopamine scale 0 it does not learn).

    Returns the block's :class:`~multiscale.population.SessionResult`; the accuracy is
    :func:`recall_accuracy` of it. Batch subjects and conditions with ``jax.vmap``.
    """
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"`n_trials` must be an int >= 1, got {n_trials!r}")
    learner = Learner() if learner is None else learner
    f = jnp.result_type(float)
    k_dir, k_run = jr.split(key)
    pref = learner.sensory.preferred.astype(f)
    assoc = jnp.outer(pref, jnp.array([1.0, -1.0], f))
    w = 0.5 * jax.nn.relu(1.0 + jnp.asarray(gain, f) * jnp.asarray(memory, f) * assoc)
    learner = eqx.tree_at(lambda lr: lr.weights, learner, w, is_leaf=lambda x: x is None)
    direction = jnp.where(jr.bernoulli(k_dir, 0.5, (n_trials,)), 1.0, -1.0).astype(f)
    task = Task(direction, coherence, None, jnp.zeros((n_trials,), f))
    return run_session(learner, task, key=k_run, readout=readout, protocol=protocol)


def recall_accuracy(block: SessionResult) -> Float[Array, "*batch"]:
    """Fraction of decided test trials that chose the trained option (NaN if none)."""
    decided = (block.choice >= 0).astype(block.reward.dtype)
    return jnp.sum(block.reward, axis=-1) / jnp.sum(decided, axis=-1)
