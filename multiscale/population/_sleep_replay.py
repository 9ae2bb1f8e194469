r"""Sleep replay: compressed reactivation of learned assemblies, and downscaling.

Two tasks share part of their sensory units, so that learning the second overwrites the
first one's synapses onto the decision circuit (interference), and a night of replay
followed by downscaling restores the first without losing the second (González,
Sokolov, Krishnan, Delanois & Bazhenov 2020, an NREM-sleep thalamocortical model; here
in rate form on the decision circuit's input weights).

**Tasks.** $n$ sensory units; task A uses units $[0, n_A)$ and task B units
$[n_A - n_o, n_A - n_o + n_B)$ ($n_o$ shared). Each task codes its two stimuli
$s = \pm 1$ by a preference $p^T_j = \pm 1$ per unit (drawn per subject, as many
$+1$ as $-1$): on a trial
$x_j = [x_0 + g\,s\,p^T_j + \sigma\xi_j]_+$ (Hz) on the task's units and
$[x_0 + \sigma\xi_j]_+$ elsewhere. Stimulus $s = +1$ is rewarded for decision population
1. On the shared units the two codes agree on every other unit and conflict on the
rest.

**Wake training** (the "sequence input" of González et al.: the task's assembly and its
correct output are driven together) is a covariance Hebbian rule on the weights
$W$ (units × 2, dimensionless),

$$\Delta w_{jc} = \varepsilon\,\eta\,T\,(x_j - x_0)\,(y_c - \bar y),\qquad
  w \in [w_\min, w_\max],$$

with $y$ the teacher rates ($r_\mathrm{hi}$ on the correct population, $r_\mathrm{lo}$
on the other; $\bar y$ their mean), $T$ the trial's duration (s) and plasticity factor
$\varepsilon = 1$ ($j$ a sensory unit, $c$ a decision population). Bounds as in the
authors' code: $w_\max = 2\,w_0$, $w_\min = 0$. Interference needs the bounds: without
them B's changes on the shared units would add to A's, and the agreeing and conflicting
halves would cancel in A's evidence; at the bounds B's conflicting changes overwrite A's
while the agreeing ones cannot add.

**Sleep** (``SleepReplay``): ``n_events`` sharp-wave-ripple-like events of
``event_duration`` (0.1 s: ripples last ~50–120 ms, Davidson et al. 2009; a whole waking
trial is compressed into one event, Nádasdy et al. 1999). Each event reactivates one
stored assembly (task and stimulus drawn at random; the sensory assemblies themselves,
whose recurrent connections are not modelled, are untouched by learning the output
weights). No teacher: the decision populations respond with their own winner-take-all
choice, the one with the larger input $u = W^\top x$ plus Gaussian noise, and the same
Hebbian rule runs with the sleep plasticity factor $\varepsilon = 0.75$ of González et
al.'s code. A conflicting shared synapse is pushed one way by A's replays and the other by
B's, and ends near neutral; the task-unique synapses of both tasks are strengthened.
Then **downscaling** (synaptic homeostasis, Tononi & Cirelli 2014; :func:`downscale`):
every synapse below the ``spared_fraction`` largest of the subject shrinks, so that the
mean weight falls by ``shrinkage`` (de Vivo et al. 2017: axon–spine interfaces ~18 %
smaller after sleep, proportionally to size, sparing the largest; ~80 % of synapses are
the weaker, more plastic ones, so ``spared_fraction = 0.2``). The 18 % is thus an input,
not a result. Scaling is multiplicative and per postsynaptic neuron (Turrigiano et al.
1998): each decision population's scaled synapses share one factor, chosen so that the
summed weight onto each population falls to the same set point, 0.82 times the mean
over the two populations before. The control ("quiet wake") spends the night without
replay and without downscaling; a second control ("downscaling only") skips the replay.

**Why the new task gains.** Replay potentiates each task's synapses in its own code
(B's stimulus-driven evidence $g\sum_j p^B_j (w_{j1} - w_{j2})$ rises by ~17 %, its
unique synapses reach their bound). At the bounds, however, a replay's changes no
longer cancel across the balanced code (the saturated half cannot move, the other
half does), so the two decision populations drift apart in total input: a
stimulus-independent bias $x_0 \sum_j (w_{j1} - w_{j2})$ that grows from ~2.3 Hz
(r.m.s. over subjects, after B's training) to ~3.6 Hz over the night and costs as much
accuracy as the larger evidence gains. A single downscaling factor for all synapses
keeps the bias and shrinks the evidence, so the new task gained nothing measurable
(+0.007 accuracy, 95 % CI −0.009 to +0.023, in an earlier version of this model).
Scaling each population to one set point removes the bias; replay's strengthening of
both tasks then shows up in their accuracy (``multiscale validate``: sleep minus
downscaling only, for each task).

Choices and reaction times are read through the decision circuit: a test trial presents
a task's stimulus, gives the circuit $u = W^\top x$ (Hz) as in
:func:`~multiscale.population.run_session`, and its online readout decides.

**Numbers.** The plasticity factor (0.75), the bounds ($2\,w_0$), the ripple length,
the spared fraction and the shrinkage come from the sources above; $\eta$, $g$ and the
training lengths are ours, chosen so that B's training damages A (B is trained longer
than A). Replay draws the task and stimulus of each event at random (no recency
weighting: González et al.'s replay is spontaneous, and which assembly wins is not
modelled here). The ordinal effects are the targets.

References:
    González OC, Sokolov Y, Krishnan GP, Delanois JE, Bazhenov M (2020) Can sleep
    protect memories from catastrophic forgetting? eLife 9:e51005.
    de Vivo L, Bellesi M, Marshall W, Bushong EA, Ellisman MH, Tononi G, Cirelli C
    (2017) Ultrastructural evidence for synaptic scaling across the wake/sleep cycle.
    Science 355:507.
    Tononi G, Cirelli C (2014) Neuron 81:12.
    Turrigiano GG, Leslie KR, Desai NS, Rutherford LC, Nelson SB (1998)
    Activity-dependent scaling of quantal amplitude in neocortical neurons. Nature
    391:892.
    Nádasdy Z, Hirase H, Czurkó A, Csicsvari J, Buzsáki G (1999) Replay and time
    compression of recurring spike sequences in the hippocampus. J Neurosci 19:9497.
    Davidson TJ, Kloosterman F, Wilson MA (2009) Hippocampal replay of extended
    experience. Neuron 63:497.
    Wilson MA, McNaughton BL (1994) Reactivation of hippocampal ensemble memories
    during sleep. Science 265:676.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..circuit import (
    AbstractCircuit,
    AbstractOnlineReadout,
    Stimulus,
    TrialProtocol,
    WongWang2006,
    simulate,
)
from ._session import SESSION_PROTOCOL, _decide

Param = Float[ArrayLike, ""]

STAGES = ("after A", "after B", "after sleep", "after quiet wake", "after downscaling only")
"""The test points of :class:`SleepReplayResult` (its leading ``stage`` axis).

"after downscaling only" is the night's control without replay: the weights after B,
downscaled as after sleep."""


class OverlappingTasks(eqx.Module):
    r"""Two two-choice tasks on partly shared sensory units (module docstring).

    Attributes:
        n_a: units of task A, static (20).
        n_b: units of task B, static (20).
        n_shared: units in both, static (10).
        baseline: $x_0$, Hz (15).
        gain: $g$, Hz (3).
        noise: $\sigma$, Hz (2).
    """

    n_a: int = eqx.field(static=True, default=20)
    n_b: int = eqx.field(static=True, default=20)
    n_shared: int = eqx.field(static=True, default=10)
    baseline: Param = 15.0
    gain: Param = 3.0
    noise: Param = 2.0

    def __check_init__(self):
        if not (0 <= self.n_shared <= min(self.n_a, self.n_b) and self.n_a >= 1 and self.n_b >= 1):
            raise ValueError(
                "OverlappingTasks needs 1 <= n_a, n_b and 0 <= n_shared <= min(n_a, n_b); got "
                f"{self.n_a}, {self.n_b}, {self.n_shared}"
            )

    @property
    def n_units(self) -> int:
        return self.n_a + self.n_b - self.n_shared

    def codes(self, key: PRNGKeyArray) -> Float[Array, "2 units"]:
        """Preferences $p^A, p^B$ (±1 on the task's units, 0 elsewhere), one subject.

        Each code sums to 0 (as many units prefer $s = +1$ as $s = -1$), so both stimuli
        of a task give the same total input and no population is favoured by learning.
        On the shared units B agrees with A on every other unit and conflicts on the rest.
        """
        dtype = jnp.result_type(float)
        n, start_b = self.n_units, self.n_a - self.n_shared
        k_a, k_b = jr.split(key)

        def balanced(k, m, n_plus):
            rank = jnp.argsort(jnp.argsort(jr.uniform(k, (m,))))
            return jnp.where(rank < n_plus, 1.0, -1.0).astype(dtype)

        p_a = balanced(k_a, self.n_a, self.n_a // 2)
        agree = jnp.where(jnp.arange(self.n_shared) % 2 == 0, 1.0, -1.0).astype(dtype)
        shared_b = p_a[start_b:] * agree
        n_unique = self.n_b - self.n_shared
        n_plus = jnp.clip((n_unique - jnp.sum(shared_b)) // 2, 0, n_unique).astype(int)
        unique_b = balanced(k_b, n_unique, n_plus)
        code_a = jnp.zeros((n,), dtype).at[: self.n_a].set(p_a)
        code_b = jnp.zeros((n,), dtype).at[start_b:].set(jnp.concatenate([shared_b, unique_b]))
        return jnp.stack([code_a, code_b])

    def rates(self, code: Float[Array, " units"], s, key: PRNGKeyArray) -> Float[Array, " units"]:
        """Sensory rates (Hz) for stimulus ``s`` (±1) of the task with ``code``."""
        dtype = code.dtype
        mean = jnp.asarray(self.baseline, dtype) + jnp.asarray(self.gain, dtype) * s * code
        xi = jr.normal(key, code.shape, dtype)
        return jax.nn.relu(mean + jnp.asarray(self.noise, dtype) * xi)


class WakeTraining(eqx.Module):
    r"""Teacher-driven covariance Hebbian training (module docstring).

    Attributes:
        eta: $\eta$, 1/(Hz² s) (6e-5).
        r_high: teacher rate of the correct population, Hz (40).
        r_low: teacher rate of the other population, Hz (2).
        trial_duration: $T$, s per training trial (1).
        w0: initial weight (1/15: the input to each population is then 30 Hz at 30
            units of 15 Hz, the Wong–Wang circuit's $\mu_0$).
        n_trials_a: training trials of task A, static (12).
        n_trials_b: training trials of task B, static (16).
    """

    eta: Param = 6e-5
    r_high: Param = 40.0
    r_low: Param = 2.0
    trial_duration: Param = 1.0
    w0: Param = 1.0 / 15.0
    n_trials_a: int = eqx.field(static=True, default=12)
    n_trials_b: int = eqx.field(static=True, default=16)


class SleepReplay(eqx.Module):
    """A night of NREM replay followed by downscaling (module docstring).

    Attributes:
        n_events: replay events, static (400).
        event_duration: s per event (0.1: one ripple).
        plasticity_factor: $\\varepsilon$ in sleep (0.75, González et al. 2020's code).
        choice_noise: s.d. of the noise on the decision populations' inputs in the
            winner-take-all choice of a replay, Hz (1).
        shrinkage: fractional fall of the mean weight over the night (0.18: the ~18 %
            smaller axon–spine interfaces after sleep of de Vivo et al. 2017).
        spared_fraction: fraction of the largest synapses left unscaled (0.2).
        per_population: scale each decision population's synapses towards one shared
            set point (True, :func:`downscale` with ``axis=-1``) or all synapses by one
            factor (False), static.
    """

    n_events: int = eqx.field(static=True, default=400)
    event_duration: Param = 0.1
    plasticity_factor: Param = 0.75
    choice_noise: Param = 1.0
    shrinkage: Param = 0.18
    spared_fraction: Param = 0.2
    per_population: bool = eqx.field(static=True, default=True)


class SleepReplayResult(eqx.Module):
    """Per subject (leading axes after ``vmap``); ``stage`` indexes :data:`STAGES`.

    Attributes:
        weights: weights at each stage, shape (stage, units, 2).
        replayed: weights after the night's replay, before downscaling, (units, 2).
        accuracy: fraction correct of the decided test trials, (stage, task).
        rt: mean reaction time of decided test trials, s, (stage, task).
        undecided: fraction of test trials without a decision, (stage, task).
        codes: the subject's preferences $p^A, p^B$, shape (2, units).
    """

    weights: Float[Array, "*batch 5 units 2"]
    replayed: Float[Array, "*batch units 2"]
    accuracy: Float[Array, "*batch 5 2"]
    rt: Float[Array, "*batch 5 2"]
    undecided: Float[Array, "*batch 5 2"]
    codes: Float[Array, "*batch 2 units"]


def _hebb(w, x, y, x0, y_mean, scale, w_max):
    dw = scale * jnp.outer(x - x0, y - y_mean)
    return jnp.clip(w + dw, 0.0, w_max)


def _train(tasks, training, w, code, n_trials, key):
    dtype = w.dtype
    hi, lo = jnp.asarray(training.r_high, dtype), jnp.asarray(training.r_low, dtype)
    scale = jnp.asarray(training.eta, dtype) * jnp.asarray(training.trial_duration, dtype)
    w_max = 2.0 * jnp.asarray(training.w0, dtype)

    def trial(w, k):
        k_s, k_x = jr.split(k)
        s = jnp.where(jr.bernoulli(k_s), 1.0, -1.0).astype(dtype)
        x = tasks.rates(code, s, k_x)
        y = jnp.where(s > 0, jnp.stack([hi, lo]), jnp.stack([lo, hi]))
        return _hebb(w, x, y, tasks.baseline, 0.5 * (hi + lo), scale, w_max), None

    w, _ = jax.lax.scan(trial, w, jr.split(key, n_trials))
    return w


def replay_night(
    tasks: OverlappingTasks,
    training: WakeTraining,
    replay: SleepReplay,
    weights: Float[Array, "units 2"],
    codes: Float[Array, "2 units"],
    *,
    key: PRNGKeyArray,
) -> tuple[Float[Array, "units 2"], Float[Array, "units 2"]]:
    """One night on ``weights``: replay events, then downscaling.

    Returns:
        (weights after replay and downscaling, weights after replay only).
    """
    dtype = weights.dtype
    hi, lo = jnp.asarray(training.r_high, dtype), jnp.asarray(training.r_low, dtype)
    scale = (
        jnp.asarray(training.eta, dtype)
        * jnp.asarray(replay.event_duration, dtype)
        * jnp.asarray(replay.plasticity_factor, dtype)
    )
    w_max = 2.0 * jnp.asarray(training.w0, dtype)

    def event(w, k):
        k_t, k_s, k_x, k_c = jr.split(k, 4)
        code = jnp.where(jr.bernoulli(k_t), codes[1], codes[0])
        s = jnp.where(jr.bernoulli(k_s), 1.0, -1.0).astype(dtype)
        x = tasks.rates(code, s, k_x)
        u = w.T @ x + jnp.asarray(replay.choice_noise, dtype) * jr.normal(k_c, (2,), dtype)
        y = jnp.where(u[0] >= u[1], jnp.stack([hi, lo]), jnp.stack([lo, hi]))
        return _hebb(w, x, y, tasks.baseline, 0.5 * (hi + lo), scale, w_max), None

    replayed, _ = jax.lax.scan(event, weights, jr.split(key, replay.n_events))
    return _night_downscale(replay, replayed), replayed


def _night_downscale(replay, w):
    axis = -1 if replay.per_population else None
    return downscale(w, replay.shrinkage, replay.spared_fraction, axis=axis)


def downscale(
    weights: Float[Array, "..."],
    shrinkage: Param,
    spared_fraction: Param,
    *,
    axis: int | None = None,
) -> Float[Array, "..."]:
    """Multiplicative downscaling that spares the largest synapses.

    The largest ``spared_fraction`` of all weights (those at or above the
    ``1 - spared_fraction`` quantile) keep their size; every other weight is multiplied by
    a factor chosen so that the mean weight falls by ``shrinkage`` (0.18: de Vivo et al.
    2017). Weight ratios among the scaled synapses are kept exactly.

    With ``axis=None`` one factor serves all synapses. With ``axis`` naming the
    postsynaptic axis (``-1`` for a units × populations matrix) each postsynaptic
    population gets its own factor, chosen so that the summed weight onto it falls to
    ``1 - shrinkage`` times the mean, over populations, of that sum before: synaptic
    scaling towards one set point shared by identical neurons (Turrigiano et al. 1998,
    multiplicative and per neuron). The mean weight then still falls by ``shrinkage``,
    and populations that differed in total input before leave with the same total. If
    a population's spared synapses already exceed its set point, its other synapses are
    removed (factor 0) and it keeps more than the set point.

    References:
        de Vivo L et al. (2017) Science 355:507.
        Turrigiano GG, Leslie KR, Desai NS, Rutherford LC, Nelson SB (1998)
        Activity-dependent scaling of quantal amplitude in neocortical neurons.
        Nature 391:892.
    """
    w = jnp.asarray(weights)
    dtype = w.dtype
    cut = jnp.quantile(w, 1.0 - jnp.asarray(spared_fraction, dtype))
    scaled = w < cut
    small_w = jnp.where(scaled, w, 0.0)
    keep = 1.0 - jnp.asarray(shrinkage, dtype)
    if axis is None:
        target, spared, small = keep * jnp.sum(w), jnp.sum(w - small_w), jnp.sum(small_w)
    else:
        ax = axis % w.ndim
        others = tuple(i for i in range(w.ndim) if i != ax)
        per_pop = jnp.sum(w, axis=others, keepdims=True)
        target = keep * jnp.mean(per_pop)
        spared = jnp.sum(w - small_w, axis=others, keepdims=True)
        small = jnp.sum(small_w, axis=others, keepdims=True)
    factor = jnp.clip((target - spared) / jnp.maximum(small, jnp.finfo(dtype).tiny), 0.0, 1.0)
    return jnp.where(scaled, w * factor, w)


def evidence_contrast(
    tasks: OverlappingTasks, weights: Float[Array, "*stage units 2"], codes: Float[Array, "2 units"]
) -> Float[Array, "*stage 2"]:
    r"""Noise-free coherence each task's stimulus $s = +1$ gives the circuit, per task.

    $c' = (u_1 - u_2)/(u_1 + u_2)$ with $u = W^\top x$ and $x$ the mean rates (Hz): the
    learned evidence; > 0 favours the correct population.
    """
    x = jnp.asarray(tasks.baseline) + jnp.asarray(tasks.gain) * codes  # (task, units)
    u = jnp.einsum("...ic,ti->...tc", weights, x)
    return (u[..., 0] - u[..., 1]) / (u[..., 0] + u[..., 1])


def _test(tasks, circuit, readout, protocol, w, codes, n_test, key):
    """Accuracy, mean RT and undecided fraction per task over ``n_test`` circuit trials."""
    dtype = w.dtype

    def one(code, k):
        k_s, k_x, k_c, k_u = jr.split(k, 4)
        s = jnp.where(jr.bernoulli(k_s), 1.0, -1.0).astype(dtype)
        x = tasks.rates(code, s, k_x)
        u = w.T @ x
        total = jnp.maximum(u[0] + u[1], jnp.asarray(1e-9, dtype))
        c = (u[0] - u[1]) / total
        swap = c < 0
        stim = Stimulus(coherence=jnp.abs(c), mu0=0.5 * total)
        traj = simulate(circuit, stim, key=k_c, protocol=protocol, readout=readout, save_every=0)
        choice, _, rt = _decide(traj.readout, swap, jr.uniform(k_u, (), dtype))
        target = jnp.where(s > 0, 0, 1)
        return choice == target, choice < 0, rt

    def task(code, k):
        ok, und, rt = jax.vmap(lambda kk: one(code, kk))(jr.split(k, n_test))
        decided = ~und
        n_dec = jnp.maximum(jnp.sum(decided.astype(dtype)), 1.0)
        acc = jnp.sum((ok & decided).astype(dtype)) / n_dec
        mean_rt = jnp.sum(jnp.where(decided, rt, 0.0)) / n_dec
        return acc, mean_rt, jnp.mean(und.astype(dtype))

    return jax.vmap(task)(codes, jr.split(key, 2))


def simulate_sleep_replay(
    tasks: OverlappingTasks | None = None,
    training: WakeTraining | None = None,
    replay: SleepReplay | None = None,
    *,
    key: PRNGKeyArray,
    readout: AbstractOnlineReadout,
    circuit: AbstractCircuit | None = None,
    protocol: TrialProtocol = SESSION_PROTOCOL,
    n_test: int = 32,
) -> SleepReplayResult:
    """One subject: train A, train B, then a night of replay, quiet wake, or downscaling only.

    Args:
        tasks, training, replay: the protocol (module docstring; None: the defaults).
        key: PRNG key (codes, training, replay and test trials).
        readout: the circuit's online readout (e.g. ``ThresholdReadout``).
        circuit: the decision circuit (two choice populations; None: ``WongWang2006()``).
        protocol: timing of a test trial.
        n_test: test trials per task and stage.

    Returns:
        :class:`SleepReplayResult`; batch subjects with ``jax.vmap`` over ``key``.
    """
    if not (isinstance(n_test, int) and n_test >= 1):
        raise ValueError(f"`n_test` must be an int >= 1, got {n_test!r}")
    tasks = OverlappingTasks() if tasks is None else tasks
    training = WakeTraining() if training is None else training
    replay = SleepReplay() if replay is None else replay
    circuit = WongWang2006() if circuit is None else circuit
    dtype = jnp.result_type(float)
    k_code, k_a, k_b, k_night, k_test = jr.split(key, 5)
    codes = tasks.codes(k_code)
    w0 = jnp.full((tasks.n_units, 2), jnp.asarray(training.w0, dtype))
    w_a = _train(tasks, training, w0, codes[0], training.n_trials_a, k_a)
    w_b = _train(tasks, training, w_a, codes[1], training.n_trials_b, k_b)
    w_sleep, replayed = replay_night(tasks, training, replay, w_b, codes, key=k_night)
    stages = jnp.stack([w_a, w_b, w_sleep, w_b, _night_downscale(replay, w_b)])
    test = jax.vmap(lambda w, k: _test(tasks, circuit, readout, protocol, w, codes, n_test, k))
    acc, rt, und = test(stages, jr.split(k_test, len(STAGES)))
    return SleepReplayResult(stages, replayed, acc, rt, und, codes)
