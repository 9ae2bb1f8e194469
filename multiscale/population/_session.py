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
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Real, Shaped

from ..circuit import (
    AbstractCircuit,
    AbstractDecision,
    AbstractOnlineReadout,
    Dense,
    RateCircuit,
    Stimulus,
    TrialProtocol,
    WongWang2006,
    simulate,
)
from ..synapse import (
    AbstractRateRule,
    ModulatorSignals,
    RewardModulatedHebb,
    apply_mask,
    check_mask,
    with_weights,
)
from ._critical_period import AbstractPlasticityGate

Param = Float[ArrayLike, ""]

SESSION_PROTOCOL = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)
"""A session trial: 1 ms steps, stimulus from 0.1 s, 1.1 s long (1 s of stimulus)."""


def _check_nonneg(owner, obj, names):
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, int | float) and not value >= 0:
            raise ValueError(f"{owner} `{name}` must be >= 0, got {value}")


class SensoryPopulation(eqx.Module):
    r"""Direction-tuned sensory units: $x_j = [x_0 + g\,c\,s\,p_j + \sigma\xi_j]_+$ (Hz).

    Units alternate in preference, $p = (+1, -1, +1, \dots)$. Rates are constant over
    the trial; $\xi_j \sim N(0, 1)$ per unit and trial.

    Attributes:
        n_units: number of units (even), static.
        baseline: $x_0$, Hz (15).
        gain: $g$, Hz per unit coherence (15).
        noise: $\sigma$, Hz (2).
    """

    n_units: int = eqx.field(static=True, default=4)
    baseline: Param = 15.0
    gain: Param = 15.0
    noise: Param = 2.0

    def __check_init__(self):
        if not (isinstance(self.n_units, int) and self.n_units >= 2 and self.n_units % 2 == 0):
            raise ValueError(
                f"SensoryPopulation `n_units` must be an even int >= 2, got {self.n_units}"
            )
        _check_nonneg("SensoryPopulation", self, ("baseline", "gain", "noise"))

    @property
    def preferred(self) -> Float[Array, " units"]:
        """Preferred direction of each unit, +1 or -1."""
        return jnp.where(jnp.arange(self.n_units) % 2 == 0, 1.0, -1.0)

    def rates(
        self, direction: Param, coherence: Param, *, key: PRNGKeyArray
    ) -> Float[Array, " units"]:
        """Rates (Hz) on one trial of ``direction`` (+1/-1) and ``coherence`` (fraction)."""
        dtype = jnp.result_type(float)
        mean = jnp.asarray(self.baseline, dtype) + jnp.asarray(self.gain, dtype) * jnp.asarray(
            coherence, dtype
        ) * jnp.asarray(direction, dtype) * self.preferred.astype(dtype)
        xi = jr.normal(key, (self.n_units,), dtype)
        return jax.nn.relu(mean + jnp.asarray(self.noise, dtype) * xi)


class RewardPrediction(eqx.Module):
    r"""A Rescorla–Wagner critic whose prediction error is released as dopamine.

    $$\delta = R - V,\qquad V \leftarrow V + \alpha_V\,\delta,\qquad
      d_0 = k_+\,[\delta]_+ - k_-\,[-\delta]_+ .$$

    $k_\pm$ default to 50 s⁻¹ per unit reward: ``daspnet.m``'s burst of 0.5 per 10-ms
    update (Izhikevich 2007) for a fully unexpected reward. Blunted dopamine
    (e.g. depletion, Clarke et al. 2011) is a smaller $k_+$ and/or $k_-$.

    Attributes:
        alpha: learning rate of the prediction $V$, in [0, 1] (0.1).
        burst_gain: $k_+$, 1/s per unit positive RPE (50).
        dip_gain: $k_-$, 1/s per unit negative RPE (50).
        v0: initial prediction $V$ (0.5: chance in a two-choice task).
    """

    alpha: Param = 0.1
    burst_gain: Param = 50.0
    dip_gain: Param = 50.0
    v0: Param = 0.5

    def __check_init__(self):
        _check_nonneg("RewardPrediction", self, ("alpha", "burst_gain", "dip_gain"))
        if isinstance(self.alpha, int | float) and self.alpha > 1:
            raise ValueError(f"RewardPrediction `alpha` must be in [0, 1], got {self.alpha}")

    def dopamine(self, rpe: Float[Array, ""]) -> Float[Array, ""]:
        """Dopamine burst (> 0) or dip (< 0), 1/s, for a prediction error."""
        return jnp.asarray(self.burst_gain) * jax.nn.relu(rpe) - jnp.asarray(
            self.dip_gain
        ) * jax.nn.relu(-rpe)


class Learner(eqx.Module):
    """A subject: circuit, sensory front end, plasticity rule, critic and initial weights.

    Attributes:
        circuit: the decision circuit.
        sensory: the sensory units.
        rule: the plasticity rule of the sensory→decision weights: any
            :class:`~multiscale.synapse.AbstractRateRule` (three-factor, Hebb, Oja, BCM,
            STDP in rate form, scaling, iSTDP, a :class:`~multiscale.synapse.Modulated`
            rule, ...). Rules on the circuit's own projections live in their
            ``Projection.rule`` slot.
        critic: reward prediction and dopamine release.
        weights: initial weights, shape (units, 2), dimensionless (input rate to
            population i is $\\sum_j W_{ji} x_j$). Default: 0.5 everywhere (no preference).
        gate: learning-rate factor by age, e.g. a
            :class:`~multiscale.population.CriticalPeriod` (None: always 1). Each trial
            the weights move by gate × the rule's change, for ``rule`` and for every
            learning projection of the circuit.
        mask: existing synapses, boolean, shape (units, 2) (None: all); silent sites
            are held at 0 (structural plasticity, :mod:`multiscale.synapse`).
    """

    circuit: AbstractCircuit = WongWang2006()
    sensory: SensoryPopulation = SensoryPopulation()
    rule: AbstractRateRule = RewardModulatedHebb()
    critic: RewardPrediction = RewardPrediction()
    weights: Float[Array, "units 2"] | None = None
    gate: AbstractPlasticityGate | None = None
    mask: Shaped[Array, "..."] | None = None

    def __check_init__(self):
        if not isinstance(self.rule, AbstractRateRule):
            raise TypeError(
                "Learner `rule` must be an AbstractRateRule (e.g. ms.synapse.Hebb(), "
                f"ms.synapse.RewardModulatedHebb()), got {type(self.rule).__name__}"
            )
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"Learner `circuit` must be an AbstractCircuit, got {type(self.circuit).__name__}"
            )
        _plastic_projections(self.circuit)  # a rule that cannot act on its projection raises

    def initial_weights(self) -> Float[Array, "units 2"]:
        if self.weights is None:
            w = jnp.full((self.sensory.n_units, 2), 0.5, jnp.result_type(float))
        else:
            w = jnp.asarray(self.weights)
            if w.shape != (self.sensory.n_units, 2):
                raise ValueError(
                    f"Learner `weights` must have shape ({self.sensory.n_units}, 2), got {w.shape}"
                )
        if self.mask is None:
            return w
        return apply_mask(w, check_mask(self.mask, w, "Learner `mask`"))


class Task(eqx.Module):
    """The trial schedule of a session (all arrays of length n_trials).

    Attributes:
        direction: motion direction per trial, +1 or -1.
        coherence: coherence per trial, fraction in [0, 1].
        mapping: +1 where direction +1 is rewarded for choosing population 1, -1 where
            the mapping is reversed.
        dopamine_scale: multiplies the dopamine signal per trial (1 = intact).
        acetylcholine: acetylcholine level per trial (dimensionless, >= 0; 0 = baseline),
            delivered to the rules with the trial's :class:`~multiscale.synapse.ModulatorSignals`.
        noradrenaline: noradrenaline level per trial (dimensionless, >= 0).
        serotonin: serotonin level per trial (dimensionless, >= 0).

    Levels may be scalars (the same on every trial). Negative or non-finite levels raise
    ``ValueError`` naming the field (inside ``jit``: ``eqx.error_if``).
    """

    direction: Float[Array, " trials"]
    coherence: Float[Array, " trials"]
    mapping: Float[Array, " trials"]
    dopamine_scale: Float[Array, " trials"]
    acetylcholine: Float[Array, " trials"]
    noradrenaline: Float[Array, " trials"]
    serotonin: Float[Array, " trials"]

    def __init__(
        self,
        direction,
        coherence,
        mapping=None,
        dopamine_scale=None,
        *,
        acetylcholine=0.0,
        noradrenaline=0.0,
        serotonin=0.0,
    ):
        dtype = jnp.result_type(float)
        direction = jnp.asarray(direction, dtype)
        if direction.ndim != 1 or direction.shape[0] < 1:
            raise ValueError(
                f"Task `direction` must be 1-D with at least one trial, got shape {direction.shape}"
            )
        n = direction.shape[0]
        ones = jnp.ones((n,), dtype)

        def per_trial(v):
            return (
                jnp.broadcast_to(jnp.asarray(v, dtype), (n,))
                if jnp.ndim(v) == 0
                else (jnp.asarray(v, dtype))
            )

        fields = {
            "coherence": per_trial(coherence),
            "mapping": ones if mapping is None else jnp.asarray(mapping, dtype),
            "dopamine_scale": ones
            if dopamine_scale is None
            else jnp.asarray(dopamine_scale, dtype),
            "acetylcholine": per_trial(acetylcholine),
            "noradrenaline": per_trial(noradrenaline),
            "serotonin": per_trial(serotonin),
        }
        for name, value in fields.items():
            if value.shape != (n,):
                raise ValueError(
                    f"Task `{name}` must have shape ({n},) (one value per trial), got {value.shape}"
                )
        self.direction = direction
        self.coherence = fields["coherence"]
        self.mapping = fields["mapping"]
        self.dopamine_scale = fields["dopamine_scale"]
        for name in ("acetylcholine", "noradrenaline", "serotonin"):
            setattr(self, name, _check_levels(name, fields[name]))

    @property
    def n_trials(self) -> int:
        return self.direction.shape[0]


def _check_levels(name: str, levels: Array) -> Array:
    """Per-trial modulator levels: finite and >= 0 (``eqx.error_if`` under ``jit``)."""
    try:
        values = np.asarray(levels)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = jnp.any(~(jnp.isfinite(levels) & (levels >= 0)))
        return eqx.error_if(levels, bad, f"Task `{name}` levels must be finite and >= 0")
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(
            f"Task `{name}` levels must be finite and >= 0 (0 = baseline), got min "
            f"{np.nanmin(values) if np.any(~np.isnan(values)) else values[0]}"
        )
    return levels


def reversal_task(
    n_trials: int,
    *,
    key: PRNGKeyArray,
    coherence: float = 0.2,
    reversal_at: int | None = None,
    dopamine_scale: float = 1.0,
) -> Task:
    """Random directions at one coherence; the rewarded mapping flips at ``reversal_at``.

    Args:
        n_trials: number of trials (>= 1).
        key: PRNG key for the directions.
        coherence: fraction in [0, 1].
        reversal_at: index of the first reversed trial (None: no reversal).
        dopamine_scale: dopamine multiplier for the whole session (1 = intact).
    """
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"`n_trials` must be an int >= 1, got {n_trials!r}")
    direction = jnp.where(jr.bernoulli(key, 0.5, (n_trials,)), 1.0, -1.0)
    trial = np.arange(n_trials)
    reversed_ = np.zeros(n_trials, bool) if reversal_at is None else trial >= reversal_at
    mapping = np.where(reversed_, -1.0, 1.0)
    scale = jnp.full((n_trials,), dopamine_scale)
    return Task(direction, coherence, jnp.asarray(mapping), scale)


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


def _plastic_projections(circuit) -> tuple[int, ...]:
    """Indices of the circuit's projections that carry a rule; checks each rule fits.

    Raises ``TypeError``/``ValueError`` naming ``circuit.projections[i]`` when the rule is
    not an :class:`~multiscale.synapse.AbstractRateRule`, the weight is not a
    :class:`~multiscale.circuit.Dense` matrix of shape (post, pre), or the rule's update
    does not give weights of that shape (e.g. a per-synapse parameter of the wrong shape).
    """
    projections = getattr(circuit, "projections", ())
    if not isinstance(circuit, RateCircuit):
        return ()
    out = []
    for i, proj in enumerate(projections):
        if proj.rule is None:
            continue
        name = f"circuit.projections[{i}]"
        if not isinstance(proj.rule, AbstractRateRule):
            raise TypeError(
                f"{name}.rule must be an AbstractRateRule (e.g. ms.synapse.Hebb()), got "
                f"{type(proj.rule).__name__}"
            )
        if not isinstance(proj.weight, Dense):
            raise TypeError(
                f"{name}.rule needs a Dense weight matrix to learn (one weight per synapse), "
                f"got {type(proj.weight).__name__}; write it as Dense(W) of shape (post, pre)"
            )
        n_pre = circuit.populations[proj.pre].size
        n_post = circuit.populations[proj.post].size
        W = jnp.asarray(proj.weight.W)
        if W.shape != (n_post, n_pre):
            raise ValueError(
                f"{name}.weight.W must have shape (post, pre) = ({n_post}, {n_pre}), got {W.shape}"
            )
        dtype = jnp.result_type(float)

        def one_step(rule, w, x, y):
            st = rule.step(rule.init(w), x, y, 1.0)
            return rule.relax(rule.signal(st, ModulatorSignals()), 1.0).weights

        x1, y1 = jnp.ones((n_pre,), dtype), jnp.ones((n_post,), dtype)
        try:
            shape = jax.eval_shape(one_step, proj.rule, W.T.astype(dtype), x1, y1).shape
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{name}.rule cannot act on a ({n_pre}, {n_post}) (pre, post) weight matrix: {err}"
            ) from err
        if shape != (n_pre, n_post):
            raise ValueError(
                f"{name}.rule turns the ({n_pre}, {n_post}) (pre, post) weights into shape "
                f"{shape}; its parameters must broadcast to the projection"
            )
        out.append(i)
    return tuple(out)


def _choice_permutations(circuit) -> list[np.ndarray]:
    """Per population, the unit order with the two choice units exchanged.

    A trial whose stimulus favours the second choice unit is run relabelled (module
    docstring); with learned weights the relabelling must carry the weights along, which
    is a permutation within a population: both choice units must be in the same one.
    """
    perm = np.arange(circuit.n_units)
    a, b = circuit.choice
    perm[a], perm[b] = b, a
    out, start = [], 0
    for p in circuit.populations:
        part = perm[start : start + p.size] - start
        if np.any(part < 0) or np.any(part >= p.size):
            raise ValueError(
                "a circuit whose projections learn must have its two `choice` units in one "
                f"population (the session relabels them on each trial); got {circuit.choice}"
            )
        out.append(part)
        start += p.size
    return out


def _with_projection_weights(circuit, plastic, states, swap, perms):
    """The circuit with each learning projection's ``Dense.W`` set from its rule state.

    With ``swap`` the choice units are exchanged in every learned matrix (the trial runs
    relabelled).
    """
    for i, st in zip(plastic, states, strict=True):
        proj = circuit.projections[i]
        W = st.weights.T
        W = jnp.where(swap, W[perms[proj.post]][:, perms[proj.pre]], W)
        circuit = eqx.tree_at(lambda c, i=i: c.projections[i].weight.W, circuit, W)
    return circuit


def _population_rates(r, circuit, swap, perms):
    """Rates of every population (Hz) from all units' rates, labels restored."""
    out, start = [], 0
    for p, perm in zip(circuit.populations, perms, strict=True):
        part = r[start : start + p.size]
        out.append(jnp.where(swap, part[perm], part))
        start += p.size
    return out


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

    def learn(rule_, st, pre, post, levels, d0, index):
        """One trial of any rule: levels, activity, delay, outcome, interval."""
        w_before = st.weights
        ach, ne, ser = levels
        st = rule_.signal(st, ModulatorSignals(0.0, ach, ne, ser))
        st = rule_.step(st, pre, post, stim_epoch)
        st = rule_.relax(st, reward_delay)
        st = rule_.signal(st, ModulatorSignals(d0, ach, ne, ser))
        st = rule_.relax(st, iti)
        return _gate(learner, st, w_before, index)

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
        traj = simulate(net, stim, key=k_circ, protocol=protocol, readout=readout, save_every=0)
        r_choice = net.choice_rates(traj.r[-1])
        r_end = jnp.where(swap, r_choice[::-1], r_choice)
        choice, p, rt = _decide(traj.readout, swap, jr.uniform(k_choice, (), dtype))
        target = jnp.where(direction * mapping > 0, 0, 1)
        reward = (choice == target).astype(dtype)
        p_correct = p[target] / jnp.maximum(jnp.sum(p), jnp.asarray(1e-12, dtype))
        rpe = reward - V
        d0 = scale * critic.dopamine(rpe)
        state = learn(rule, state, x, r_end, levels, d0, index)
        if learner.mask is not None:
            state = with_weights(state, apply_mask(state.weights, learner.mask))
        if plastic:
            rates = _population_rates(traj.r[-1], net, swap, perms)
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
        out = (choice, reward, p_correct, rt, rpe, d0, state.weights, traj.result, w_proj)
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
