r"""The reinforcement-learning drift-diffusion model (RLDDM) and its trial container.

Learning (Pedersen, Frank & Biele 2017): in each block of trials (one subject, one
``split_by`` condition, in trial order) two options carry expected rewards $Q_0, Q_1$,
both starting at $q_\mathrm{init}$. On trial $t$ the drift toward option 1 (the upper
boundary) is proportional to their difference,

$$v_t = s\,(Q_{1,t} - Q_{0,t}),$$

the choice $c_t$ and RT follow the DDM with boundary $a$, relative start $z$ and
non-decision time $t_0$ (:func:`~multiscale.behavior.ddm_log_density`, with the same
contaminant), and the chosen option's value moves toward the feedback $r_t$ by the
prediction error,

$$Q_{c_t,t+1} = Q_{c_t,t} + \alpha\,(r_t - Q_{c_t,t}),$$

with a separate rate $\alpha^-$ for negative prediction errors when given (the
dopamine burst / dip asymmetry of Frank, Seeberger & O'Reilly 2004). The likelihood is
exact: the values are a deterministic function of the past choices and feedback, run by
one ``lax.scan`` over the trials.

Data follow HDDM's RLDDM convention (``subj_idx, response, rt, trial, split_by,
feedback, q_init``; :func:`multiscale.data.load_rl_trials`).

References:
    Pedersen ML, Frank MJ, Biele G (2017) The drift diffusion model as the choice rule
    in reinforcement learning. Psychon Bull Rev 24:1234-1251.
    Frank MJ, Seeberger LC, O'Reilly RC (2004) By carrot or by stick: cognitive
    reinforcement learning in parkinsonism. Science 306:1940-1943.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._constraints import Bounded, Positive
from ._choice_rt import Trials
from ._ddm import DDM, _param, ddm_log_density, ddm_simulate
from ._model import AbstractChoiceModel


class RLTrials(Trials):
    """Trials of a learning task: :class:`Trials` plus feedback and block structure.

    Trials are ordered by block, and in trial order within a block.

    Attributes:
        feedback: reward received on each trial (e.g. 0 or 1), ``(trials,)``.
        block: index of each trial's block (one subject and ``split_by`` condition),
            contiguous, ``(trials,)``.
        q_init: initial value of both options in each trial's block, ``(trials,)``.
    """

    feedback: Float[Array, " trials"]
    block: Int[Array, " trials"]
    q_init: Float[Array, " trials"]

    def __init__(
        self,
        rt,
        choice,
        feedback,
        block=None,
        q_init=0.5,
        condition=None,
        subject=None,
    ):
        super().__init__(rt, choice, condition, subject)
        dtype = self.rt.dtype
        self.feedback = jnp.asarray(feedback, dtype)
        self.block = (
            jnp.zeros(self.rt.shape, jnp.int32) if block is None else jnp.asarray(block, jnp.int32)
        )
        self.q_init = jnp.broadcast_to(jnp.asarray(q_init, dtype), self.rt.shape)

    def __check_init__(self):
        if self.feedback.shape != self.rt.shape or self.block.shape != self.rt.shape:
            raise ValueError(
                "RLTrials `feedback` and `block` must have the shape of `rt`, got "
                f"{self.feedback.shape}, {self.block.shape} and {self.rt.shape}"
            )

    def first(self) -> Array:
        """True on the first trial of each block (the values are reset there)."""
        return jnp.concatenate([jnp.ones((1,), bool), self.block[1:] != self.block[:-1]])


class RLDDM(AbstractChoiceModel):
    r"""Q-learning with the DDM as its choice rule (see the module docstring).

    Attributes:
        alpha: learning rate $\alpha$ in (0, 1) (of positive prediction errors when
            ``alpha_negative`` is given).
        scaler: drift per unit value difference $s$, 1/s.
        a: boundary separation (> 0).
        t0: non-decision time, s.
        z: relative start point in (0, 1) (0.5).
        alpha_negative: learning rate of negative prediction errors, or ``None`` (one
            rate for both).
        p_outlier: weight of the contaminant (0.02), as in :class:`DDM`.
        rt_max: upper end of the contaminant's RT range, s (set it above the slowest RT).
    """

    alpha: Float[ArrayLike, ""] = _param(Bounded(0.0, 1.0), 0.2)
    scaler: Float[ArrayLike, ""] = _param(Positive(), 3.0)
    a: Float[ArrayLike, ""] = _param(Positive(), 1.5)
    t0: Float[ArrayLike, ""] = _param(Positive(), 0.3)
    z: Float[ArrayLike, ""] = _param(Bounded(0.0, 1.0), 0.5)
    alpha_negative: Float[ArrayLike, ""] | None = eqx.field(
        default=None, metadata={"constraint": Bounded(0.0, 1.0)}
    )
    p_outlier: Float[ArrayLike, ""] | float = _param(Bounded(0.0, 1.0), 0.02, convert=False)
    rt_max: Float[ArrayLike, ""] | float = _param(Positive(), 5.0, convert=False)

    def __check_init__(self):
        for name, lo, hi in (("alpha", 0, 1), ("z", 0, 1)):
            try:
                x = float(getattr(self, name))
            except (TypeError, jax.errors.ConcretizationTypeError):
                continue
            if not lo < x < hi:
                raise ValueError(f"RLDDM `{name}` must lie in ({lo}, {hi}), got {x}")

    def _rates(self, pe):
        if self.alpha_negative is None:
            return jnp.asarray(self.alpha, pe.dtype)
        return jnp.where(pe >= 0, jnp.asarray(self.alpha, pe.dtype), self.alpha_negative)

    def drifts(self, trials: RLTrials) -> Float[Array, " trials"]:
        """The drift $v_t$ of each trial, from the values learnt on the earlier trials."""
        if not isinstance(trials, RLTrials):
            raise TypeError(
                "RLDDM needs RLTrials (feedback and blocks; see ms.data.load_rl_trials), got "
                f"{type(trials).__name__}"
            )
        dtype = trials.rt.dtype
        scaler = jnp.asarray(self.scaler, dtype)

        def body(q, x):
            first, q0, choice, fb = x
            q = jnp.where(first, jnp.full((2,), q0, dtype), q)
            v = scaler * (q[1] - q[0])
            pe = fb - q[choice]
            q = q.at[choice].add(self._rates(pe) * pe)
            return q, v

        xs = (trials.first(), trials.q_init, trials.choice, trials.feedback)
        _, v = jax.lax.scan(body, jnp.zeros((2,), dtype), xs)
        return v

    def _ddm(self, v) -> DDM:
        return DDM(
            v=v, a=self.a, z=self.z, t0=self.t0, p_outlier=self.p_outlier, rt_max=self.rt_max
        )

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        """$\\log p(c_t, \\mathrm{RT}_t \\mid \\text{past choices and feedback})$ per trial."""
        v = self.drifts(trials)
        return ddm_log_density(self._ddm(v), trials.rt, trials.choice, trials.condition)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> RLTrials:
        """One block of a two-armed bandit: ``condition`` is the reward probability of
        option 1 (upper boundary) on each trial, option 0 pays with one minus it (the
        probabilistic selection task's pairs). Feedback is 1 (reward) or 0; values start
        at 0.5. ``jit``-able; every trial ends with a response."""
        p_upper = jnp.asarray(condition, jnp.result_type(float))
        n = p_upper.shape[0]
        dtype = p_upper.dtype
        keys = jr.split(key, n)

        def body(q, x):
            p, k = x
            k_ddm, k_fb = jr.split(k)
            v = jnp.asarray(self.scaler, dtype) * (q[1] - q[0])
            t = ddm_simulate(self._ddm(v[None]), jnp.zeros((1,), dtype), key=k_ddm)
            choice = t.choice[0]
            p_reward = jnp.where(choice == 1, p, 1.0 - p)
            fb = jr.bernoulli(k_fb, p_reward).astype(dtype)
            pe = fb - q[choice]
            q = q.at[choice].add(self._rates(pe) * pe)
            return q, (t.rt[0], choice, fb)

        _, (rt, choice, fb) = jax.lax.scan(body, jnp.full((2,), 0.5, dtype), (p_upper, keys))
        return RLTrials(rt, choice, fb, jnp.zeros(n, jnp.int32), 0.5, condition=p_upper)
