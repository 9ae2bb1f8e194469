r"""Training sessions: decision trials in which dopamine-gated plasticity changes the circuit.

A reduced form of Law & Gold 2009. Direction-tuned sensory units (MT-like) feed the two
populations of the Wong–Wang circuit through plastic weights $W$ (units × 2). Each
trial, in one ``lax.scan`` step:

1. a motion direction $s = \pm 1$ at coherence $c$ gives sensory rates
   $x_j = [x_0 + g\,c\,s\,p_j + \sigma\xi_j]_+$ (Hz; $p_j = \pm1$ the unit's preference);
2. the circuit receives $u = W^\top x$ (Hz) as its external input rates, i.e.
   currents $J_{A,\mathrm{ext}}u_i$ (:class:`~multiscale.circuit.Stimulus` with
   $\mu_0 = (u_1 + u_2)/2$, $c' = (u_1 - u_2)/(u_1 + u_2)$), and an online readout
   gives the choice and RT;
3. the choice is rewarded ($R = 1$) when it matches the option currently mapped to the
   direction (the mapping flips at a reversal); an undecided trial earns nothing;
4. a Rescorla–Wagner critic gives the reward-prediction error $\delta = R - V$,
   released as a dopamine burst (or dip) $d_0$ after ``reward_delay``;
5. the rule of $W$ (default :class:`~multiscale.synapse.RewardModulatedHebb`, a
   three-factor rule) has seen the stimulus epoch with presynaptic rates $x$ and the
   circuit's end-of-trial rates; for a three-factor rule this wrote an eligibility
   trace, which the burst converts into $\Delta W$; then the inter-trial interval
   passes (traces and dopamine decay).

**Any rule, on any projection.** Every rule of :mod:`multiscale.synapse` has the same
interface (:class:`~multiscale.synapse.AbstractRateRule`), and the session runs each
one the same way, for $W$ and for every projection of a
:class:`~multiscale.circuit.RateCircuit` that carries a ``rule`` (recurrent ones
included; its weight must be a :class:`~multiscale.circuit.Dense` matrix):

``signal(levels) → step(stimulus epoch) → relax(reward_delay) → signal(outcome) → relax(iti)``

With ``online_every=k`` the circuit's projection rules take the step online instead:
every $k$ integration steps of the stimulus epoch, on the mean rates of those steps,
and the trial's dynamics run on with the changed weights (the rest of the sequence is
unchanged; the rule of $W$ still steps once, its sensory rates being constant).

The signals (:class:`~multiscale.synapse.ModulatorSignals`) carry the trial's
acetylcholine, noradrenaline and serotonin levels (:class:`Task`) and, at the outcome,
the dopamine burst $d_0$; a rule uses what it reads (a three-factor rule the burst, a
:class:`~multiscale.synapse.Modulated` rule its modulator's level) and ignores the
rest. Like the rule of $W$, a projection's rule sees the end-of-trial rates of its pre-
and postsynaptic populations (Hz) as the rates of the stimulus epoch; its weight matrix
$W_p$ (post × pre, nA) is the rule's weights transposed, and the next trial runs with
the learned $W_p$. A trial run relabelled (below) carries the learned matrices along:
the two choice units are exchanged in them, and back in the rates the rules see.

The circuit is symmetric in its two populations, so a trial with $u_2 > u_1$ is run
with the populations relabelled ($|c'|$) and the result relabelled back: the
stimulus of :func:`~multiscale.circuit.simulate` takes coherences in [0, 1].

Gradients. Choices are sampled, so the gradient of a session statistic is the
pathwise gradient *given* the sampled choices (rewards are held fixed; no
score-function term). With :class:`~multiscale.behavior.HazardReadout` the choice is
drawn from its smooth choice probabilities and ``p_correct`` (the probability of the
rewarded option) is smooth in every parameter.

References:
    Law C-T, Gold JI (2009) Nat Neurosci 12:655.
    Izhikevich EM (2007) Cereb Cortex 17:2443; Frémaux N, Gerstner W (2016) Front
    Neural Circuits 9:85.
    Clarke HF et al. (2011) J Neurosci 31:4290 (reversal under DA depletion).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Real

from ..circuit import (
    AbstractDecision,
    AbstractOnlineReadout,
    Stimulus,
    TrialProtocol,
    simulate,
)
from ..synapse import (
    ModulatorSignals,
    apply_mask,
    with_weights,
)
from ._learner import (
    Learner as Learner,
    RewardPrediction as RewardPrediction,
    SensoryPopulation as SensoryPopulation,
)
from ._session_projections import (
    _choice_permutations,
    _plastic_projections,
    _population_rates,
    _simulate_online,
    _with_projection_weights,
)
from ._task import Task as Task, reversal_task as reversal_task

SESSION_PROTOCOL = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)
"""A session trial: 1 ms steps, stimulus from 0.1 s, 1.1 s long (1 s of stimulus)."""


class SessionResult(eqx.Module):
    """Per-trial record of a session (leading subject axes after ``vmap``).

    Attributes:
        choice: 0 or 1 (population 1 or 2), -1 if undecided.
        reward: 1.0 for a rewarded trial, else 0.0.
        p_correct: probability of the rewarded option given a decision (the readout's
            smooth probability for a soft readout, 0/1 for a hard one).
        rt: reaction time, s (NaN if undecided under a hard readout).
        rpe: reward-prediction error $\\delta$.
        dopamine: released dopamine $d_0$, 1/s.
        weights: weights after the trial, shape (trials, units, 2).
        result: 0 if the trial's circuit state stayed finite, 1 otherwise.
        circuit_weights: for each projection of the circuit that carries a rule, in
            order, its weight matrix ``Dense.W`` (post × pre, nA) after each trial,
            shape (trials, post, pre); ``()`` when no projection learns.
    """

    choice: Int[Array, "*batch trials"]
    reward: Float[Array, "*batch trials"]
    p_correct: Float[Array, "*batch trials"]
    rt: Float[Array, "*batch trials"]
    rpe: Float[Array, "*batch trials"]
    dopamine: Float[Array, "*batch trials"]
    weights: Float[Array, "*batch trials units 2"]
    result: Int[Array, "*batch trials"]
    circuit_weights: tuple = ()


def _decide(res, swap, u):
    """Choice (0/1/-1), choice probabilities (2,) and RT from a readout's decision.

    The choice is drawn from the decision's probabilities with the uniform ``u`` (a hard
    readout's are 0 or 1, so its choice is the one made); ``swap`` exchanges the two
    populations (the stimulus favoured the second).
    """
    if not isinstance(res, AbstractDecision):
        raise TypeError(
            "`readout` must give an AbstractDecision (e.g. ThresholdReadout or "
            f"HazardReadout); got {type(res).__name__}"
        )
    p = res.choice_probabilities()
    p = jnp.where(swap, p[::-1], p)
    choice = jnp.where(u < p[0], 0, jnp.where(u < p[0] + p[1], 1, -1))
    rts = res.reaction_times()
    rts = jnp.where(swap, rts[::-1], rts)
    rt = jnp.where(choice >= 0, rts[jnp.maximum(choice, 0)], jnp.nan)
    return choice, p, rt


def _gate(learner, state, w_before, index):
    """Scale a rule's weight change over the trial by the learner's gate."""
    if learner.gate is None:
        return state
    w = w_before + learner.gate(index).astype(w_before.dtype) * (state.weights - w_before)
    return with_weights(state, w)


def run_session(
    learner: Learner,
    task: Task,
    *,
    key: PRNGKeyArray,
    readout: AbstractOnlineReadout,
    protocol: TrialProtocol = SESSION_PROTOCOL,
    reward_delay: float = 0.5,
    iti: float = 2.0,
    online_every: int | None = None,
) -> SessionResult:
    """Run one subject's session of ``task.n_trials`` trials (see the module docstring).

    Args:
        learner: the subject.
        task: the trial schedule.
        key: PRNG key (split per trial into sensory noise, circuit noise and choice draw).
        readout: online readout (``ThresholdReadout`` or ``HazardReadout``).
        protocol: the trial's timing (:data:`SESSION_PROTOCOL`: 1 ms steps, stimulus from
            0.1 s, 1.1 s trials); the Hebbian drive lasts the stimulus epoch ``t1 - t_on``.
        reward_delay: from the end of the trial to the dopamine burst, s.
        iti: from the burst to the next trial, s.
        online_every: None: the circuit's projection rules step once per trial, on the
            end-of-trial rates. An int k >= 1: they step online within the trial,
            every k integration steps of the stimulus epoch (module docstring).

    Returns:
        :class:`SessionResult`. Batch subjects with ``jax.vmap`` over ``key`` (and over
        learner parameters with ``eqx.filter_vmap``).
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a Task, got {type(task).__name__}")
    if not (reward_delay >= 0 and iti >= 0):
        raise ValueError(
            f"need reward_delay, iti >= 0 (s); got reward_delay={reward_delay}, iti={iti}"
        )
    t_on, t1 = protocol.t_on, protocol.t1
    rule, critic, circuit = learner.rule, learner.critic, learner.circuit
    dtype = jnp.result_type(float)
    state0 = rule.init(learner.initial_weights().astype(dtype))
    stim_epoch = t1 - t_on
    plastic = _plastic_projections(circuit)
    rules = tuple(circuit.projections[i].rule for i in plastic)
    proj_state0 = tuple(
        r.init(jnp.asarray(circuit.projections[i].weight.W, dtype).T)
        for r, i in zip(rules, plastic, strict=True)
    )
    perms = _choice_permutations(circuit) if plastic else []
    online = online_every is not None
    if online and not (isinstance(online_every, int) and online_every >= 1 and plastic):
        raise ValueError(
            "`online_every` must be an int >= 1 (integration steps) and the circuit must "
            f"have a projection with a rule; got online_every={online_every!r} and "
            f"{len(plastic)} learning projections"
        )

    def outcome(rule_, st, w_before, levels, d0, index):
        """After the activity: delay, outcome, interval, and the learner's gate."""
        ach, ne, ser = levels
        st = rule_.relax(st, reward_delay)
        st = rule_.signal(st, ModulatorSignals(d0, ach, ne, ser))
        st = rule_.relax(st, iti)
        return _gate(learner, st, w_before, index)

    def learn(rule_, st, pre, post, levels, d0, index):
        """One trial of any rule: levels, activity, delay, outcome, interval."""
        w_before = st.weights
        st = rule_.signal(st, ModulatorSignals(0.0, *levels))
        st = rule_.step(st, pre, post, stim_epoch)
        return outcome(rule_, st, w_before, levels, d0, index)

    def trial(carry, inp):
        state, proj_states, V = carry
        direction, coherence, mapping, scale, levels, k, index = inp
        k_sens, k_circ, k_choice = jr.split(k, 3)
        x = learner.sensory.rates(direction, coherence, key=k_sens)
        u = state.weights.T @ x
        total = jnp.maximum(u[0] + u[1], jnp.asarray(1e-9, dtype))
        c = (u[0] - u[1]) / total
        swap = c < 0
        stim = Stimulus(coherence=jnp.abs(c), mu0=0.5 * total)
        net = _with_projection_weights(circuit, plastic, proj_states, swap, perms)
        if online:
            w_before = tuple(st.weights for st in proj_states)
            signalled = tuple(
                r.signal(st, ModulatorSignals(0.0, *levels))
                for r, st in zip(rules, proj_states, strict=True)
            )
            r_last, decision, result, proj_states = _simulate_online(
                circuit,
                plastic,
                rules,
                signalled,
                stim,
                key=k_circ,
                protocol=protocol,
                readout=readout,
                swap=swap,
                perms=perms,
                every=online_every,
            )
        else:
            traj = simulate(net, stim, key=k_circ, protocol=protocol, readout=readout, save_every=0)
            r_last, decision, result = traj.r[-1], traj.readout, traj.result
        r_choice = net.choice_rates(r_last)
        r_end = jnp.where(swap, r_choice[::-1], r_choice)
        choice, p, rt = _decide(decision, swap, jr.uniform(k_choice, (), dtype))
        target = jnp.where(direction * mapping > 0, 0, 1)
        reward = (choice == target).astype(dtype)
        p_correct = p[target] / jnp.maximum(jnp.sum(p), jnp.asarray(1e-12, dtype))
        rpe = reward - V
        d0 = scale * critic.dopamine(rpe)
        state = learn(rule, state, x, r_end, levels, d0, index)
        if learner.mask is not None:
            state = with_weights(state, apply_mask(state.weights, learner.mask))
        if online:
            proj_states = tuple(
                outcome(r, st, w0, levels, d0, index)
                for r, st, w0 in zip(rules, proj_states, w_before, strict=True)
            )
        elif plastic:
            rates = _population_rates(r_last, net, swap, perms)
            pre_post = [
                (rates[circuit.projections[i].pre], rates[circuit.projections[i].post])
                for i in plastic
            ]
            proj_states = tuple(
                learn(r, st, pre, post, levels, d0, index)
                for r, st, (pre, post) in zip(rules, proj_states, pre_post, strict=True)
            )
        V = V + jnp.asarray(critic.alpha, dtype) * rpe
        w_proj = tuple(st.weights.T for st in proj_states)
        out = (choice, reward, p_correct, rt, rpe, d0, state.weights, result, w_proj)
        return (state, proj_states, V), out

    keys = jr.split(key, task.n_trials)
    trials = jnp.arange(task.n_trials)
    levels = (task.acetylcholine, task.noradrenaline, task.serotonin)
    xs = (task.direction, task.coherence, task.mapping, task.dopamine_scale, levels, keys, trials)
    V0 = jnp.asarray(critic.v0, dtype)
    _, outs = jax.lax.scan(trial, (state0, proj_state0, V0), xs)
    return SessionResult(*outs)


def moving_accuracy(reward: Real[ArrayLike, "*batch trials"], window: int) -> Array:
    """Fraction rewarded in a sliding window of ``window`` trials (valid part only)."""
    r = jnp.asarray(reward)
    if not (isinstance(window, int) and 1 <= window <= r.shape[-1]):
        raise ValueError(f"`window` must be an int in [1, {r.shape[-1]}], got {window!r}")
    cs = jnp.cumsum(r, axis=-1)
    cs = jnp.concatenate([jnp.zeros(r.shape[:-1] + (1,), r.dtype), cs], axis=-1)
    return (cs[..., window:] - cs[..., :-window]) / window
