r"""Fitting plasticity-rule parameters to a learning curve.

Data. $S$ subjects ran the same trial schedule (a :class:`~multiscale.population.Task`);
the learning curve pools them per block of $b$ trials: $k_j$ rewarded trials among $n_j$
decided ones in block $j$.

Model. A :class:`~multiscale.population.Learner` runs the schedule in
:func:`~multiscale.population.run_session` with the smooth
:class:`~multiscale.behavior.HazardReadout`, for $M$ simulated subjects with fixed keys
(common random numbers, so the objective is a deterministic function of the
parameters). Its curve $p_j$ is the mean probability of the rewarded option, given a
decision, over the trials of block $j$ and the simulated subjects. With a lapse rate
$\epsilon$ (a guess on a fraction $\epsilon$ of trials, so no block can give $-\infty$),

$$\mathrm{NLL} = -\sum_j \big[k_j \log \tilde p_j + (n_j - k_j)\log(1 - \tilde p_j)\big],
  \qquad \tilde p_j = \epsilon/2 + (1 - \epsilon)\,p_j ,$$

the binomial likelihood of the block counts without its constant. Trials of one block
are treated as exchangeable: the likelihood reads the curve, not the sequence of
choices.

Gradients. The simulated subjects' choices are sampled, so the gradient is
:func:`~multiscale.population.run_session`'s pathwise gradient given those choices: it
sees how a parameter moves every trial's choice probability through the weights, not how
it would flip a sampled choice and hence a reward. Measured on 32-subject curves, Adam on
this gradient stops up to ~25 % away from the objective's minimum (at
$\eta = 5\times10^{-5}$ it stopped at $6.2\times10^{-5}$, 14 nats above the grid point
at the generating value). So with one free parameter the fit ends with a golden-section
search (Kiefer 1953) of the objective itself, $\pm 0.4$ in $\log x$ around Adam's
point, to 0.02 in $\log x$: about ten forward evaluations, no gradient.

References:
    Law C-T, Gold JI (2009) Nat Neurosci 12:655 (learning curves of the reduced model).
"""

import time
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray

from ..behavior import HazardReadout
from ..circuit import AbstractOnlineReadout
from ..population import Learner, Task, run_session
from ._fit import FitHistory, fit
from ._scaling import float_count_adam, free_parameter_names, log_scaled


class LearningCurve(eqx.Module):
    """Block counts of a learning curve, pooled over subjects.

    Attributes:
        rewarded: rewarded trials per block, shape (blocks,).
        decided: decided trials per block (undecided trials are counted out, not
            scored as errors), shape (blocks,).
        block: trials per block, static.
    """

    rewarded: Float[Array, " blocks"]
    decided: Float[Array, " blocks"]
    block: int = eqx.field(static=True)

    @property
    def n_blocks(self) -> int:
        return self.rewarded.shape[0]

    @property
    def accuracy(self) -> Float[Array, " blocks"]:
        """Fraction rewarded among decided trials per block (NaN for an empty block)."""
        return self.rewarded / self.decided


def learning_curve(
    choice: ArrayLike, reward: ArrayLike, block: int, *, subjects_axis: bool = True
) -> LearningCurve:
    """Pool trial outcomes of subjects into a :class:`LearningCurve`.

    Args:
        choice: per trial 0 or 1 (the population chosen), -1 if undecided; shape
            (subjects, trials), or (trials,) with ``subjects_axis=False``.
        reward: per trial 1 if rewarded, 0 if not; same shape.
        block: trials per block; must divide the number of trials.
        subjects_axis: whether the leading axis indexes subjects.

    Returns:
        The pooled counts (undecided trials excluded from both counts).
    """
    choice, reward = np.asarray(choice), np.asarray(reward, float)
    if not subjects_axis:
        choice, reward = choice[None], reward[None]
    if choice.ndim != 2 or choice.shape != reward.shape:
        raise ValueError(
            "`choice` and `reward` must have the same shape (subjects, trials), got "
            f"{choice.shape} and {reward.shape}"
        )
    n_trials = choice.shape[1]
    if not (isinstance(block, int) and block >= 1 and n_trials % block == 0):
        raise ValueError(
            f"`block` must be an int >= 1 that divides {n_trials} trials, got {block!r}"
        )
    if not np.all(np.isin(choice, (-1, 0, 1))):
        raise ValueError("`choice` must hold 0, 1 or -1 (undecided)")
    if not np.all(np.isin(reward, (0.0, 1.0))):
        raise ValueError("`reward` must hold 0 or 1")
    if np.any((choice < 0) & (reward > 0)):
        raise ValueError("an undecided trial (choice -1) cannot be rewarded")
    decided = (choice >= 0).reshape(choice.shape[0], -1, block).sum(axis=(0, 2))
    rewarded = reward.reshape(choice.shape[0], -1, block).sum(axis=(0, 2))
    dtype = jnp.result_type(float)
    return LearningCurve(jnp.asarray(rewarded, dtype), jnp.asarray(decided, dtype), block)


def expected_learning_curve(
    learner: Learner,
    task: Task,
    keys: Key[Array, " subjects"],
    *,
    block: int,
    readout: AbstractOnlineReadout | None = None,
    **session,
) -> Float[Array, " blocks"]:
    """Mean probability of the rewarded option per block over simulated subjects.

    Args:
        learner: the subject model.
        task: the schedule every simulated subject runs.
        keys: one PRNG key per simulated subject, shape (subjects,).
        block: trials per block (divides ``task.n_trials``).
        readout: a readout with smooth choice probabilities (default
            :class:`~multiscale.behavior.HazardReadout`).
        **session: further keyword arguments of :func:`~multiscale.population.run_session`.
    """
    if task.n_trials % block:
        raise ValueError(f"`block` ({block}) must divide the task's {task.n_trials} trials")
    readout = HazardReadout() if readout is None else readout
    res = jax.vmap(lambda k: run_session(learner, task, key=k, readout=readout, **session))(keys)
    return jnp.mean(res.p_correct.reshape(keys.shape[0], -1, block), axis=(0, 2))


def learning_curve_nll(
    learner: Learner,
    task: Task,
    data: LearningCurve,
    keys: Key[Array, " subjects"],
    *,
    lapse: float = 0.001,
    readout: AbstractOnlineReadout | None = None,
    **session,
) -> Float[Array, ""]:
    """Binomial NLL (nats, without its constant) of the data's block counts (module docstring)."""
    if task.n_trials != data.n_blocks * data.block:
        raise ValueError(
            f"the task has {task.n_trials} trials but the learning curve covers "
            f"{data.n_blocks} blocks of {data.block}"
        )
    _check_lapse(lapse)
    p = expected_learning_curve(learner, task, keys, block=data.block, readout=readout, **session)
    return _curve_nll(p, data, lapse)


def _check_lapse(lapse: float) -> None:
    if isinstance(lapse, int | float) and not 0.0 <= lapse < 1.0:
        raise ValueError(f"`lapse` is a guessing rate in [0, 1), got {lapse}")


def _curve_nll(p: Float[Array, " blocks"], data: LearningCurve, lapse: float) -> Float[Array, ""]:
    """Binomial NLL of the block counts given the model's curve ``p`` and the lapse rate."""
    eps = jnp.asarray(lapse, p.dtype)
    p = 0.5 * eps + (1 - eps) * p
    k, n = data.rewarded.astype(p.dtype), data.decided.astype(p.dtype)
    return -jnp.sum(k * jnp.log(p) + (n - k) * jnp.log1p(-p))


def learning_rate_parameters(learner: Learner):
    """Filter (pytree of bools) freeing the rule's learning rate ``rule.eta``."""
    spec = jax.tree.map(lambda _: False, learner)
    return eqx.tree_at(lambda m: m.rule.eta, spec, True)


def _golden_section(f, a: float, b: float, tol: float) -> tuple[float, float]:
    """Minimum ``(x, f(x))`` of ``f`` on ``[a, b]`` by golden-section search (Kiefer 1953)."""
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (c, fc) if fc < fd else (d, fd)


class LearningRuleFit(NamedTuple):
    """Result of :func:`fit_learning_rule`.

    Attributes:
        learner: the fitted learner.
        parameters: free parameters by field name (e.g. ``eta``), in their own units.
        adam_parameters: the same after Adam, before the golden-section search.
        nll: NLL on ``n_subjects_eval`` fresh simulated subjects (nats).
        nll_fit: NLL on the fitting subjects.
        curve: the fitted model's curve on the fresh subjects, shape (blocks,).
        history: :class:`~multiscale.fit.FitHistory` of the Adam loop.
        seconds: wall time of the optimisation, compilation included, s.
    """

    learner: Learner
    parameters: dict
    adam_parameters: dict
    nll: float
    nll_fit: float
    curve: Float[Array, " blocks"]
    history: FitHistory
    seconds: float


def fit_learning_rule(
    data: LearningCurve,
    task: Task,
    *,
    key: PRNGKeyArray,
    learner: Learner | None = None,
    filter_spec=None,
    n_subjects: int = 64,
    n_subjects_eval: int = 128,
    steps: int = 60,
    learning_rate: float = 0.1,
    n_starts: int = 1,
    patience: int = 15,
    tol: float = 1e-2,
    lapse: float = 0.001,
    readout: AbstractOnlineReadout | None = None,
    progress: bool | None = None,
    subject_keys: Key[Array, " subjects"] | None = None,
    polish: bool = True,
    **session,
) -> LearningRuleFit:
    r"""Fit plasticity parameters of ``learner`` to a learning curve (maximum likelihood).

    Each free leaf $x$ is fitted as $u = \log(x / x_0)$ with Adam on the common-random-
    number NLL of :func:`learning_curve_nll` (``n_subjects`` simulated subjects), with
    :func:`~multiscale.fit.fit`'s progress bar, early stopping and multi-start; with one
    free scalar, a golden-section search of the same NLL then corrects the pathwise
    gradient's bias (module docstring).

    Args:
        data: the observed :class:`LearningCurve`.
        task: the schedule the subjects ran (``task.n_trials`` = blocks × block).
        key: PRNG key for the simulated subjects, the starts and the fresh evaluation.
        learner: initial learner (default: :class:`~multiscale.population.Learner` with
            the rule's ``eta`` as a float array).
        filter_spec: free leaves, positive float arrays (default
            :func:`learning_rate_parameters`).
        n_subjects, n_subjects_eval: simulated subjects for fitting and for the fresh NLL.
        steps, learning_rate, n_starts, patience, tol: Adam and
            :func:`~multiscale.fit.fit` settings (``learning_rate`` is in log units).
        lapse: guessing rate $\epsilon$ of the likelihood.
        readout: smooth readout (default :class:`~multiscale.behavior.HazardReadout`).
        progress: tqdm bar (default: when stderr is a terminal).
        subject_keys: keys of the simulated fitting subjects (default: ``n_subjects``
            keys drawn from ``key``).
        polish: run the golden-section search after Adam (one free scalar only).
        **session: further keyword arguments of :func:`~multiscale.population.run_session`
            (e.g. ``dt``, ``t1``); they must match how the data were produced.
    """
    if not isinstance(data, LearningCurve):
        raise TypeError(f"`data` must be a LearningCurve, got {type(data).__name__}")
    if not isinstance(task, Task):
        raise TypeError(f"`task` must be a Task, got {type(task).__name__}")
    if n_subjects < 1 or n_subjects_eval < 1:
        raise ValueError("n_subjects and n_subjects_eval must be >= 1")
    _check_lapse(lapse)
    if learner is None:
        dtype = jnp.result_type(float)
        learner = Learner()
        learner = eqx.tree_at(lambda m: m.rule.eta, learner, jnp.asarray(learner.rule.eta, dtype))
    filter_spec = learning_rate_parameters(learner) if filter_spec is None else filter_spec
    scaled, spec = log_scaled(learner, filter_spec)
    k_fit, k_start, k_eval = jr.split(key, 3)
    keys = jr.split(k_fit, n_subjects) if subject_keys is None else subject_keys

    def loss(s, d):
        return learning_curve_nll(s.model(), task, d, keys, lapse=lapse, readout=readout, **session)

    t0 = time.perf_counter()
    fitted, history = fit(
        scaled,
        loss,
        data,
        optimizer=float_count_adam(learning_rate),
        steps=steps,
        key=k_start,
        filter_spec=spec,
        n_starts=n_starts,
        start_scale=0.3,
        patience=patience,
        tol=tol,
        chunk=5,
        progress=progress,
    )
    names = free_parameter_names(learner, filter_spec)
    values = lambda m: jax.tree.leaves(eqx.filter(m, filter_spec))
    adam_parameters = {n: float(v) for n, v in zip(names, values(fitted.model()), strict=True)}
    objective = eqx.filter_jit(loss)
    f_fit = float(objective(fitted, data))
    u_leaves, u_def = jax.tree.flatten(fitted.u)
    if polish and len(u_leaves) == 1 and jnp.ndim(u_leaves[0]) == 0:
        u_dtype = u_leaves[0].dtype
        at = lambda u: eqx.tree_at(
            lambda s_: s_.u, fitted, jax.tree.unflatten(u_def, [jnp.asarray(u, u_dtype)])
        )
        u0 = float(u_leaves[0])
        u_best, f_best = _golden_section(
            lambda u: float(objective(at(u), data)), u0 - 0.4, u0 + 0.4, 0.02
        )
        if f_best < f_fit:
            fitted, f_fit = at(u_best), f_best
    out = fitted.model()
    jax.block_until_ready(jax.tree.leaves(out))
    seconds = time.perf_counter() - t0
    fresh = jr.split(k_eval, n_subjects_eval)
    curve = eqx.filter_jit(expected_learning_curve)(
        out, task, fresh, block=data.block, readout=readout, **session
    )
    return LearningRuleFit(
        learner=out,
        parameters={n: float(v) for n, v in zip(names, values(out), strict=True)},
        adam_parameters=adam_parameters,
        nll=float(_curve_nll(curve, data, lapse)),
        nll_fit=f_fit,
        curve=curve,
        history=history,
        seconds=seconds,
    )
