r"""Dynamic foraging with baited targets: matching behavior from stochastic synapses.

The task is the two-target dynamic foraging task of Sugrue, Corrado & Newsome 2004, as
modelled by Soltani & Wang 2006. Each trial, in one ``lax.scan`` step:

1. **Baiting.** Each target $i \in \{A, B\}$ that holds no reward is armed with
   probability $p_i$ (the block's baiting probability); an armed target stays armed
   until it is chosen (a discrete-trial concurrent variable-interval schedule).
2. **Choice.** A choice object picks a target from the synaptic strengths
   $c = (c_A, c_B)$, the fractions of potentiated input synapses onto the two choice
   populations: :class:`CircuitChoice` runs one Wong–Wang trial, :class:`ReducedChoice`
   uses Soltani & Wang's sigmoid $P_A = 1/(1 + e^{-(c_A - c_B)/\sigma})$, and
   :class:`FixedChoice` ignores $c$ (a fixed policy, for the task's own statistics).
   A circuit trial in which neither population reaches threshold is **undecided**:
   choice $-1$, no reward is collected, the armed state carries over and the synapses
   do not change; such trials are kept and counted (:attr:`ForagingResult.n_undecided`).
3. **Outcome.** Choosing an armed target yields a reward and disarms it.
4. **Plasticity.** :class:`~multiscale.synapse.StochasticBinarySynapses` updates $c$.

With this timing the probability that target $i$ is armed when chosen, under a fixed
policy choosing it with probability $P$, is its return

$$R(p, P) = \frac{p}{p + P - pP}$$

(:func:`baited_return`); it reproduces the matching point $P_A = 0.782$ that Soltani &
Wang (Fig. 5A) give for baiting probabilities 3:1 with total 0.3.

**Circuit mapping.** The input neurons fire at a fixed rate and their synapses onto
population $i$ transmit only when potentiated (the depressed efficacy is neglected), so
the external input rate onto population $i$ is $u_i = u_0 + g\,c_i$ (Hz; ``rate_base``,
``rate_gain``) and its current $J_{A,\mathrm{ext}}\,u_i$. This is passed to
:func:`~multiscale.circuit.simulate` as a :class:`~multiscale.circuit.Stimulus` with
$\mu_0 = (u_A + u_B)/2$ and coherence $|u_A - u_B|/(u_A + u_B)$, the two populations
relabelled when $u_B > u_A$ (the circuit is symmetric). Population 1 is target A.

Gradients are pathwise *given* the sampled choices and baiting (as in
:func:`~multiscale.population.run_session`): with :class:`ReducedChoice` the choice
probabilities ``p_a`` are smooth in every parameter of the rule and the choice.

References:
    Sugrue LP, Corrado GS, Newsome WT (2004) Science 304:1782 (task; ratios 8:1, 6:1,
    3:1, 1:1). Soltani A, Wang X-J (2006) J Neurosci 26:3731 (model; Fig. 5). Iigaya K
    et al. (2019) Nat Commun 10:1466 (Sugrue's task: total ~0.35, blocks ~100 trials).
"""

import abc
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray, Real

from .._checks import error_if
from ..circuit import (
    AbstractCircuit,
    AbstractDecision,
    AbstractOnlineReadout,
    Stimulus,
    TrialProtocol,
    WongWang2006,
    simulate,
)
from ..synapse import BinarySynapseState, StochasticBinarySynapses

Param = Float[ArrayLike, ""]

SUGRUE_RATIOS: tuple[tuple[int, int], ...] = ((8, 1), (6, 1), (3, 1), (1, 1))
"""Ratios of the two baiting rates used by Sugrue et al. 2004 (either side richer)."""


def _float():
    return jnp.result_type(float)


def _concrete(x):
    """``x`` as a NumPy array, or None when it is a tracer."""
    try:
        return np.asarray(x, dtype=float)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


class ForagingTask(eqx.Module):
    """The baiting schedule of a session.

    Attributes:
        p_bait: probability per trial that an unarmed target is armed, columns target A
            and B, shape (trials, 2), in [0, 1].
        block: block index of each trial (0, 1, ...), shape (trials,).
    """

    p_bait: Float[Array, "trials 2"]
    block: Int[Array, " trials"]

    def __init__(self, p_bait: Real[ArrayLike, "trials 2"], block=None):
        p = jnp.asarray(p_bait, _float())
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 1:
            raise ValueError(
                f"ForagingTask `p_bait` must have shape (trials >= 1, 2), got {p.shape}"
            )
        values = _concrete(p)
        if values is not None and not np.all((values >= 0) & (values <= 1)):
            raise ValueError("ForagingTask `p_bait` are probabilities and must be in [0, 1]")
        b = jnp.zeros(p.shape[0], jnp.int32) if block is None else jnp.asarray(block)
        if b.shape != (p.shape[0],) or not jnp.issubdtype(b.dtype, jnp.integer):
            raise ValueError(
                f"ForagingTask `block` must be ints of shape ({p.shape[0]},): {b.shape}"
            )
        self.p_bait = p
        self.block = b

    @property
    def n_trials(self) -> int:
        return self.p_bait.shape[0]

    @property
    def reward_fraction(self) -> Float[Array, " trials"]:
        """Scheduled fraction $p_A / (p_A + p_B)$ per trial (NaN where both are 0)."""
        total = jnp.sum(self.p_bait, axis=-1)
        return jnp.where(total > 0, self.p_bait[:, 0] / jnp.where(total > 0, total, 1.0), jnp.nan)


def _probabilities(ratios, total: float) -> np.ndarray:
    r = np.asarray(ratios, dtype=float)
    if r.ndim != 2 or r.shape[1] != 2 or not np.all(r >= 0) or not np.all(r.sum(1) > 0):
        raise ValueError(f"`ratios` must be pairs (r_A, r_B) >= 0, not both 0; got {ratios!r}")
    if not 0 < total <= 1:
        raise ValueError(f"`total` baiting probability per trial must be in (0, 1], got {total}")
    p = total * r / r.sum(1, keepdims=True)
    if np.any(p > 1):
        raise ValueError(f"`total` {total} and `ratios` give a baiting probability > 1")
    return p


def block_task(
    ratios: Sequence[Sequence[float | int]], lengths: Sequence[int], *, total: float = 0.3
) -> ForagingTask:
    """A schedule of blocks with given baiting ratios and lengths.

    Args:
        ratios: one pair ``(r_A, r_B)`` per block, e.g. ``[(3, 1), (1, 3)]``.
        lengths: trials per block (ints >= 1), same length as ``ratios``.
        total: $p_A + p_B$, the summed baiting probability per trial (0.3, Soltani &
            Wang 2006 Fig. 5).

    Example:
        >>> task = block_task([(3, 1), (1, 3)], [100, 100])
        >>> [round(float(p), 3) for p in task.p_bait[0]], task.n_trials
        ([0.225, 0.075], 200)
    """
    p = _probabilities(ratios, total)
    lengths = list(lengths)
    if len(lengths) != p.shape[0] or not all(isinstance(n, int) and n >= 1 for n in lengths):
        raise ValueError(f"`lengths` must be {p.shape[0]} ints >= 1 (one per ratio): {lengths!r}")
    block = np.repeat(np.arange(len(lengths)), lengths)
    return ForagingTask(p[block], jnp.asarray(block, jnp.int32))


def sugrue_task(
    n_trials: int,
    *,
    key: PRNGKeyArray,
    ratios: Sequence[Sequence[float | int]] = SUGRUE_RATIOS,
    total: float = 0.3,
    block_min: int = 100,
    block_max: int = 200,
    block_mean: float | int = 120.0,
) -> ForagingTask:
    r"""Random blocks of Sugrue et al. 2004: a random ratio per block, the richer side at random.

    Block lengths are exponential(``block_mean``) truncated to ``[block_min, block_max)``
    (exponential(120) kept in [100, 200) in the Sugrue task of Song, Yang & Wang's
    ``pyrl``; "about every 100 trials" in Iigaya et al. 2019). Each block's ratio is
    drawn uniformly from ``ratios``, the richer side at random.

    Args:
        n_trials: session length (int >= 1).
        key: PRNG key.
        ratios: baiting-rate ratios (Sugrue et al. 2004: 8:1, 6:1, 3:1, 1:1).
        total: summed baiting probability per trial (0.3: Soltani & Wang 2006 Fig. 5;
            Iigaya et al. 2019 give ~0.35 for the monkeys' task).
        block_min, block_max: bounds of a block's length, trials.
        block_mean: mean of the exponential before truncation, trials.
    """
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"`n_trials` must be an int >= 1, got {n_trials!r}")
    if not (isinstance(block_min, int) and isinstance(block_max, int)) or not (
        1 <= block_min < block_max and block_mean > 0
    ):
        raise ValueError(
            "need ints 1 <= block_min < block_max and block_mean > 0, got "
            f"{block_min!r}, {block_max!r}, {block_mean!r}"
        )
    p = jnp.asarray(_probabilities(ratios, total), _float())
    pairs, block = _random_blocks(p, key, n_trials, block_min, block_max, float(block_mean))
    return ForagingTask(pairs[block], block)


@eqx.filter_jit
def _random_blocks(p, key, n_trials: int, block_min: int, block_max: int, block_mean: float):
    """Per-block baiting pairs and the block index of each trial (jitted: one dispatch)."""
    n_blocks = -(-n_trials // block_min)
    k_len, k_ratio, k_side = jr.split(key, 3)
    # Inverse CDF of the exponential truncated to [block_min, block_max).
    span = 1.0 - math.exp(-(block_max - block_min) / block_mean)
    u = jr.uniform(k_len, (n_blocks,), p.dtype)
    lengths = jnp.floor(block_min - block_mean * jnp.log1p(-u * span)).astype(jnp.int32)
    lengths = jnp.clip(lengths, block_min, block_max - 1)
    pairs = p[jr.randint(k_ratio, (n_blocks,), 0, p.shape[0])]
    flip = jr.bernoulli(k_side, 0.5, (n_blocks,))
    pairs = jnp.where(flip[:, None], pairs[:, ::-1], pairs)
    ends = jnp.cumsum(lengths)
    trial = jnp.arange(n_trials, dtype=ends.dtype)
    block = jnp.sum(trial[:, None] >= ends[None, :], axis=1).astype(jnp.int32)
    return pairs, block


def baited_return(p_bait: Real[ArrayLike, "..."], p_choice: Real[ArrayLike, "..."]) -> Array:
    r"""Return $R = p / (p + P - pP)$ of a baited target under a fixed choice probability.

    The stationary probability that the target is armed when chosen (rewards per
    choice), for baiting probability $p$ per trial and choice probability $P$ (the
    baiting timing of this module). 0 where $p = P = 0$. The two arguments broadcast
    against each other.
    """
    p = jnp.asarray(p_bait, _float())
    P = jnp.asarray(p_choice, p.dtype)
    den = p + P - p * P
    return jnp.where(den > 0, p / jnp.where(den > 0, den, 1.0), 0.0)


class TrialChoice(eqx.Module):
    """The choice made on one trial.

    Attributes:
        choice: 0 (target A), 1 (target B) or -1 (undecided).
        p_a: probability of choosing A given a decision (0 or 1 for a hard circuit
            readout, NaN when undecided; smooth otherwise).
        decision_time: s from stimulus onset (NaN without a circuit or when undecided).
        result: 0, or 1 if the circuit's state became non-finite.
    """

    choice: Int[Array, ""]
    p_a: Float[Array, ""]
    decision_time: Float[Array, ""]
    result: Int[Array, ""]


class AbstractChoice(eqx.Module):
    """How a target is chosen from the synaptic strengths $c = (c_A, c_B)$."""

    @abc.abstractmethod
    def __call__(self, c: Float[Array, "2"], *, key: PRNGKeyArray) -> TrialChoice:
        """One trial's choice from potentiated fractions ``c`` (shape (2,))."""


def _draw(p_a, key):
    u = jr.uniform(key, (), p_a.dtype)
    choice = jnp.where(u < p_a, 0, 1).astype(jnp.int32)
    nan = jnp.full((), jnp.nan, p_a.dtype)
    return TrialChoice(choice, p_a, nan, jnp.zeros((), jnp.int32))


class ReducedChoice(AbstractChoice):
    r"""Soltani & Wang's reduced choice: $P_A = 1 / (1 + e^{-(c_A - c_B)/\sigma})$.

    The sigmoid that stands for Soltani & Wang's network in their analysis, with
    $\sigma$ a fraction of synapses (10 % and 5 % in their Fig. 5B, C; the form is the one
    their Fig. 5 implies, the text of their equation was not available to us). Always
    decides.

    Attributes:
        sigma: $\sigma$, the spread of the sigmoid in units of $c$ (0.1), > 0.
    """

    sigma: Param = 0.1

    def __check_init__(self):
        if isinstance(self.sigma, int | float) and not self.sigma > 0:
            raise ValueError(f"ReducedChoice `sigma` must be > 0, got {self.sigma}")

    def probability(self, c: Float[Array, "2"]) -> Float[Array, ""]:
        """$P_A$ for strengths ``c``."""
        return jax.nn.sigmoid((c[0] - c[1]) / jnp.asarray(self.sigma, c.dtype))

    def __call__(self, c: Float[Array, "2"], *, key: PRNGKeyArray) -> TrialChoice:
        return _draw(self.probability(c), key)


class FixedChoice(AbstractChoice):
    """A fixed policy: target A with probability ``p_a`` whatever the synapses.

    Attributes:
        p_a: probability of choosing A, in [0, 1].
    """

    p_a: Param = 0.5

    def __check_init__(self):
        if isinstance(self.p_a, int | float) and not 0 <= self.p_a <= 1:
            raise ValueError(f"FixedChoice `p_a` must be in [0, 1], got {self.p_a}")

    def __call__(self, c: Float[Array, "2"], *, key: PRNGKeyArray) -> TrialChoice:
        return _draw(jnp.asarray(self.p_a, c.dtype), key)


class CircuitChoice(AbstractChoice):
    r"""The choice of one Wong–Wang trial with inputs $u_i = u_0 + g\,c_i$ (Hz).

    See the module docstring for the mapping of $c$ to the stimulus. With a hard readout
    (e.g. :class:`~multiscale.behavior.ThresholdReadout`) the choice is the first
    crossing; with a soft one (:class:`~multiscale.behavior.HazardReadout`) it is drawn
    from the readout's choice probabilities, and undecided with the rest.

    The defaults $u_0 = 20$ Hz, $g = 40$ Hz are our choice, not Soltani & Wang's: at
    the $c_A + c_B \approx 0.4$–$0.5$ reached with a total baiting of 0.3, $\mu_0$ is
    28–29 Hz (Wong & Wang: 30 Hz), almost every 1.5-s trial decides, and $P_A$ is close
    to a sigmoid of $c_A - c_B$ with $\sigma \approx 0.05$ (target
    ``foraging_circuit_matching``). With $u_0 = 0$ the mean input falls with $c$ and
    many trials stay undecided.

    Attributes:
        readout: the online readout.
        circuit: the circuit (Wong & Wang 2006 appendix parameters).
        rate_gain: $g$, input rate per unit of potentiated fraction, Hz (40).
        rate_base: $u_0$, input rate independent of $c$, Hz (20).
        protocol: the trial's timing (1 ms steps, targets on from 0.1 s, 1.5 s trials).
    """

    readout: AbstractOnlineReadout
    circuit: AbstractCircuit = WongWang2006()
    rate_gain: Param = 40.0
    rate_base: Param = 20.0
    protocol: TrialProtocol = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.5)

    def __check_init__(self):
        if not isinstance(self.readout, AbstractOnlineReadout):
            got = type(self.readout).__name__
            raise ValueError(f"CircuitChoice `readout` must be an online readout, got {got}")
        for name in ("rate_gain", "rate_base"):
            value = getattr(self, name)
            if isinstance(value, int | float) and not value >= 0:
                raise ValueError(f"CircuitChoice `{name}` must be >= 0 Hz, got {value}")
        if not isinstance(self.protocol, TrialProtocol):
            raise TypeError("CircuitChoice `protocol` must be a TrialProtocol")

    def __call__(self, c: Float[Array, "2"], *, key: PRNGKeyArray) -> TrialChoice:
        dtype = c.dtype
        k_circ, k_draw = jr.split(key)
        u = jnp.asarray(self.rate_base, dtype) + jnp.asarray(self.rate_gain, dtype) * c
        total = u[0] + u[1]
        safe = jnp.where(total > 0, total, jnp.ones_like(total))
        swap = u[1] > u[0]
        coherence = jnp.where(total > 0, jnp.abs(u[0] - u[1]) / safe, jnp.zeros_like(total))
        stim = Stimulus(coherence=coherence, mu0=0.5 * total)
        traj = simulate(
            self.circuit,
            stim,
            key=k_circ,
            protocol=self.protocol,
            readout=self.readout,
            save_every=0,
        )
        res = traj.readout
        nan = jnp.full((), jnp.nan, dtype)
        if not isinstance(res, AbstractDecision):
            raise TypeError(
                "CircuitChoice `readout` must give an AbstractDecision (e.g. "
                f"ThresholdReadout or HazardReadout); got {type(res).__name__}"
            )
        p = res.choice_probabilities()
        p = jnp.where(swap, p[::-1], p)
        draw = jr.uniform(k_draw, (), dtype)
        choice = jnp.where(draw < p[0], 0, jnp.where(draw < p[0] + p[1], 1, -1))
        p_a = jnp.where(
            p[0] + p[1] > 0, p[0] / jnp.maximum(p[0] + p[1], jnp.asarray(1e-12, dtype)), nan
        )
        dts = res.decision_times()
        dts = jnp.where(swap, dts[::-1], dts)
        decision_time = jnp.where(choice >= 0, dts[jnp.maximum(choice, 0)], nan)
        return TrialChoice(
            choice.astype(jnp.int32), p_a, decision_time, traj.result.astype(jnp.int32)
        )


class Forager(eqx.Module):
    """A subject of the foraging task: plasticity rule, choice and initial strengths.

    Attributes:
        rule: plasticity of the input synapses onto the two choice populations.
        choice: how a target is chosen (:class:`ReducedChoice`, :class:`CircuitChoice`,
            :class:`FixedChoice`).
        c0: initial potentiated fractions $(c_A, c_B)$, a scalar (both) or shape (2,),
            in [0, 1] (0.5).
    """

    rule: StochasticBinarySynapses = StochasticBinarySynapses()
    choice: AbstractChoice = ReducedChoice()
    c0: Real[ArrayLike, "..."] = 0.5

    def __check_init__(self):
        for name, kind in (("rule", StochasticBinarySynapses), ("choice", AbstractChoice)):
            if not isinstance(getattr(self, name), kind):
                got = type(getattr(self, name)).__name__
                raise ValueError(f"Forager `{name}` must be a {kind.__name__}, got {got}")
        c0 = _concrete(self.c0)
        if c0 is not None and (c0.shape not in ((), (2,)) or not np.all((c0 >= 0) & (c0 <= 1))):
            raise ValueError(f"Forager `c0` must be a scalar or shape (2,) in [0, 1], got {c0}")

    def initial_state(self) -> BinarySynapseState:
        c0 = jnp.asarray(self.c0, _float())
        return self.rule.init(jnp.broadcast_to(c0, (2,)))


class ForagingResult(eqx.Module):
    """Per-trial record of a foraging session (leading subject axes after ``vmap``).

    Attributes:
        choice: 0 (A), 1 (B) or -1 (undecided).
        reward: 1.0 on rewarded trials, else 0.0.
        armed: whether each target held a reward when the choice was made (after that
            trial's baiting), shape (..., trials, 2).
        p_a: probability of choosing A given a decision (see :class:`TrialChoice`).
        c: potentiated fractions $(c_A, c_B)$ on which the trial's choice was based
            (before its update), shape (..., trials, 2).
        c_end: potentiated fractions after the last trial, shape (..., 2).
        decision_time: s (NaN without a circuit or when undecided).
        result: 0, or 1 if the circuit's state became non-finite on that trial.
    """

    choice: Int[Array, "*batch trials"]
    reward: Float[Array, "*batch trials"]
    armed: Bool[Array, "*batch trials 2"]
    p_a: Float[Array, "*batch trials"]
    c: Float[Array, "*batch trials 2"]
    c_end: Float[Array, "*batch 2"]
    decision_time: Float[Array, "*batch trials"]
    result: Int[Array, "*batch trials"]

    @property
    def n_undecided(self) -> Int[Array, "*batch"]:
        """Number of undecided trials per session."""
        return jnp.sum(self.choice < 0, axis=-1)


def run_foraging(forager: Forager, task: ForagingTask, *, key: PRNGKeyArray) -> ForagingResult:
    """Run one subject's foraging session (see the module docstring).

    Args:
        forager: the subject.
        task: the baiting schedule.
        key: PRNG key, split per trial into the baiting draws and the choice.

    Returns:
        :class:`ForagingResult`. Batch subjects with ``jax.vmap`` over ``key`` (and over
        parameters with ``eqx.filter_vmap``).

    Example:
        >>> import jax.random as jr
        >>> task = block_task([(3, 1)], [50])
        >>> res = run_foraging(Forager(), task, key=jr.key(0))
        >>> res.choice.shape, res.c.shape
        ((50,), (50, 2))
    """
    for name, value, kind in (("forager", forager, Forager), ("task", task, ForagingTask)):
        if not isinstance(value, kind):
            raise ValueError(f"`{name}` must be a {kind.__name__}, got {type(value).__name__}")
    rule, choose = forager.rule, forager.choice
    state0 = forager.initial_state()
    dtype = state0.c.dtype
    p_bait = error_if(
        task.p_bait.astype(dtype),
        (task.p_bait < 0) | (task.p_bait > 1),
        "ForagingTask `p_bait` must be in [0, 1]",
    )

    def trial(carry, inp):
        state, armed = carry
        p, k = inp
        k_bait, k_choice = jr.split(k)
        armed = armed | (jr.uniform(k_bait, (2,), dtype) < p)
        out = choose(state.c, key=k_choice)
        chosen = jnp.arange(2, dtype=out.choice.dtype) == out.choice
        reward = jnp.any(chosen & armed).astype(dtype)
        new_state = rule.step(state, out.choice, reward)
        record = (out.choice, reward, armed, out.p_a, state.c, out.decision_time, out.result)
        return (new_state, armed & ~chosen), record

    keys = jr.split(key, task.n_trials)
    armed0 = jnp.zeros((2,), bool)
    (state_end, _), outs = jax.lax.scan(trial, (state0, armed0), (p_bait, keys))
    choice, reward, armed, p_a, c, decision_time, result = outs
    return ForagingResult(choice, reward, armed, p_a, c, state_end.c, decision_time, result)
