r"""Fitting the Wong–Wang circuit to trial-level choices and reaction times.

The loss is minus the sum of :func:`~multiscale.fit.trial_log_likelihood` over the trials
on a fixed set of noise paths (common random numbers), a deterministic function of the
parameters that is smooth except where a path changes its choice or its crossing time
jumps (past a near-miss of the threshold); with few paths these jumps make the loss rough
by several to tens of nats (measured; see the likelihood module), hence the >= 2000
paths per condition recommended for real data.
The free parameters are chosen by a filter as in :func:`~multiscale.fit.fit_circuit_summary`
(default :func:`~multiscale.fit.circuit_free_parameters`: $J_{A,\mathrm{ext}}$, $\theta$
and $t_\mathrm{nd}$, all scalars) and optimised on $u = \log(x / x_\mathrm{init})$, which
puts a relative change of each parameter on one scale and keeps it positive (measured
Hessian diagonal in $u$ at a start 10-15 % off: 1.3e5, 7.8e3 and 1.6e4 nats for 900
trials, within a factor of 20). A full rescaling by the outer product of per-trial
gradients at the start (whitening) was tried and is not used: from the same start it
sent the threshold the wrong way (12.4 Hz for 17) and stopped 11 nats above the
generating parameters' NLL.

Optimisation goes through :func:`~multiscale.fit.fit` like every other fit: ``n_starts``
starting points run in parallel (one ``vmap`` over starts of the loss and its gradient,
split across devices when there are several), with the optax-shaped transformation
:func:`~multiscale.fit.adam_then_lbfgs_armijo`. Adam (robust to the loss's jumps) moves
every start towards the optimum; then L-BFGS polishes every start from the best point its
Adam visited, with an Armijo backtracking line search taken one evaluation per optimiser
step, so the simulation is compiled once (``optax.lbfgs``'s zoom search traces it again
inside its ``while_loop``: 20 s of compilation on two CPU cores, measured, and its
curvature condition stalls on the rough loss). The fit stops when every start's search
has ended; the start with the lowest loss wins, and the optimum check (gradient,
positive definite Hessian, Newton decrement at most ``tol`` nats) decides ``converged``.

Speed. The gradient is taken in forward mode when few scalars are free (at most
``FORWARD_MODE_MAX_PARAMETERS``): one tangent per parameter rides along in the time loop,
nothing is stored or recomputed (:mod:`multiscale.fit._first_passage`). With several
devices the starts are split across them; on a CPU, ask JAX for one device per core
(``jax.config.update("jax_num_cpu_devices", 2)`` before the first computation; the
``multiscale fit`` command does this). Measured here, 2 cores, 2604 trials, 6 coherences,
4 starts x 2048 paths, one loss-and-gradient evaluation: 26 s with stored trajectories
and reverse mode (before), 5.6 s fused loop and forward mode on one device, 3.4 s on two.

The NLL reported for model comparison is re-evaluated on **fresh** paths, more of them.
On the fitting paths two biases compete: the upward bias of the log of a path average
(larger for fewer paths; see the likelihood module) and the optimism of having adapted
the parameters to those paths' noise. Measured on ~1000 synthetic trials (validation
targets), 256 fitting paths against 2048 fresh ones: the fresh NLL was 2.6 and 7.2
nats *lower*, i.e. at 256 paths the upward bias dominates.

Standard errors are Laplace's: $\mathrm{Cov}(\hat u) \approx H^{-1}$ with $H$ the Hessian
(forward-over-forward autodiff through the time loop) of the fitting
loss in $u$ at the optimum, on the fitting paths, mapped to each parameter's units by the
delta method, $x = x_\mathrm{ref} e^u \Rightarrow \mathrm{SE}(x) = x\,\mathrm{SE}(u)$.
This is the curvature of the common-random-number objective between path flips: the
Monte Carlo error of the likelihood itself (a different set of paths moves the optimum)
is not included, and between flips a rough loss is more curved than the smooth
likelihood it estimates, so the SEs are lower bounds. Measured: 300 synthetic trials,
64 paths, $J_{A,\mathrm{ext}}$ alone free: SE 0.4 %, against 0.7 % from a quadratic
through the loss over $\pm 10\,\%$ on 1024 paths; 2604 synthetic trials, six
coherences, 256 paths (the ``multiscale fit`` defaults): $J_{A,\mathrm{ext}}$ 2.8 % above
its generating value with an SE of 0.07 %.
"""

import dataclasses
import time
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Key, PRNGKeyArray

from .._autodiff import AbstractDifferentiation, ForwardMode, ReverseMode
from ..behavior import (
    NDT_SD_MIN,
    AbstractNDT,
    CircuitBehavior,
    CircuitTrials,
    NormalNDT,
    Trials,
    circuit_trials,
    trial_log_likelihood,
)
from ._backtracking import adam_then_lbfgs_armijo
from ._circuit_fit import circuit_free_parameters, default_circuit_behavior
from ._convergence import check_optimum
from ._fit import FitHistory, fit
from ._scaling import free_parameter_names, log_scaled
from ._uncertainty import aic, bic, covariance_from_hessian

_REVERSE = ReverseMode()
_FORWARD = ForwardMode()
_NORMAL = NormalNDT()

FORWARD_MODE_MAX_PARAMETERS = 8
"""Most free scalars for which :func:`fit_circuit_trials` uses forward mode by default."""

BACKTRACKS = 12
"""Most halvings of one L-BFGS step (see :func:`~multiscale.fit.adam_then_lbfgs_armijo`)."""

CHUNK_STEPS = 4
"""Optimiser steps per compiled call: the granularity at which the fit notices that every
start has finished (at most this many evaluations are spent after that)."""


class TrialProblem(eqx.Module):
    r"""The loss over a flat vector $u$ of log-scaled free parameters; the rest fixed."""

    ref: Float[Array, " p"]
    rest: CircuitBehavior
    treedef: Any = eqx.field(static=True)
    ndt_sd_min: float = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    differentiation: AbstractDifferentiation = eqx.field(static=True, default=_REVERSE)
    ndt: AbstractNDT = eqx.field(static=True, default=_NORMAL)

    def model(self, u: Float[Array, " p"]) -> CircuitBehavior:
        x = self.ref * jnp.exp(u)
        free = jax.tree.unflatten(self.treedef, [x[i] for i in range(x.shape[0])])
        return eqx.combine(free, self.rest)

    def nll(self, u: Float[Array, " p"], trials: CircuitTrials, keys) -> Float[Array, ""]:
        ll = trial_log_likelihood(
            self.model(u),
            trials,
            keys,
            ndt_sd_min=self.ndt_sd_min,
            chunk=self.chunk,
            differentiation=self.differentiation,
            ndt=self.ndt,
        )
        return -jnp.sum(ll)


def trial_problem(
    model, filter_spec, ndt_sd_min, chunk, differentiation=_REVERSE, ndt=_NORMAL
) -> TrialProblem:
    """The fit's loss over $u$ for ``model`` with the leaves ``filter_spec`` selects free."""
    scaled, _ = log_scaled(model, filter_spec)  # checks: positive float leaves
    leaves, treedef = jax.tree.flatten(scaled.ref)
    if any(jnp.ndim(x) != 0 for x in leaves):
        raise ValueError("the free circuit parameters must be scalars")
    ref = jnp.stack([jnp.asarray(x) for x in leaves])
    return TrialProblem(
        ref, scaled.rest, treedef, float(ndt_sd_min), int(chunk), differentiation, ndt
    )


@eqx.filter_jit
def trial_nll(problem: TrialProblem, u, trials, keys):
    """The compiled loss (NLL, nats) of ``problem`` at ``u`` on the paths ``keys``."""
    return problem.nll(u, trials, keys)


class _TrialPoint(eqx.Module):
    """What :func:`~multiscale.fit.fit` moves: the log-scaled free parameters $u$."""

    u: Float[Array, " p"]
    problem: TrialProblem


def _trial_loss(point: _TrialPoint, data) -> Float[Array, ""]:
    trials, keys = data
    return point.problem.nll(point.u, trials, keys)


class _PlainLoss(eqx.Module):
    """The fitting loss of $u$ through the plain loop (twice differentiable)."""

    problem: TrialProblem
    data: tuple

    def __call__(self, u):
        return self.problem.nll(u, *self.data)


def _laplace_se(hessian, values):
    """Laplace SEs in the parameters' units (delta method from $u$) and a note if NaN."""
    se = values * jnp.sqrt(jnp.diag(covariance_from_hessian(jnp.asarray(hessian))))
    if bool(jnp.all(jnp.isfinite(se))):
        return se, ""
    note = (
        "Hessian of the fitting loss not positive definite (a parameter is not identified "
        "by these trials, the fit is not at an interior optimum, or too few paths make the "
        "loss rough there)"
    )
    return jnp.full_like(se, jnp.nan), note


class CircuitTrialFit(NamedTuple):
    """Result of :func:`fit_circuit_trials`.

    Attributes:
        model: fitted :class:`~multiscale.behavior.CircuitBehavior`.
        parameters: the free parameters in their units, a dict name -> float.
        se: Laplace standard errors of the free parameters in their units, a dict name ->
            float (curvature of the fitting paths' loss; NaN if its Hessian is not
            positive definite, see ``se_note``).
        se_note: why the SEs are NaN, or "" when they are usable.
        nll: NLL (nats, RT density in 1/s) on ``n_paths_eval`` fresh noise paths.
        nll_fit: NLL on the fitting paths (biased; see the module docstring).
        n_parameters, aic, bic: for model comparison, from ``nll`` (BIC's n = trials).
        n_trials: trials fitted.
        history: :class:`~multiscale.fit.FitHistory`: the best loss after each Adam and
            then each L-BFGS step, every start's final loss and the winning start.
        lbfgs_steps: L-BFGS steps taken after Adam.
        seconds: wall time of the optimisation (compilation included), s.
    """

    model: CircuitBehavior
    parameters: dict
    se: dict
    se_note: str
    nll: float
    nll_fit: float
    n_parameters: int
    aic: float
    bic: float
    n_trials: int
    history: FitHistory
    lbfgs_steps: int
    seconds: float


def fit_circuit_trials(
    trials: Trials | CircuitTrials,
    *,
    key: PRNGKeyArray,
    n_paths: int = 2000,
    n_paths_eval: int = 5000,
    steps: int = 100,
    lbfgs_steps: int = 30,
    n_starts: int = 4,
    model: CircuitBehavior | None = None,
    filter_spec=None,
    learning_rate: float = 0.03,
    start_scale: float = 0.1,
    patience: int = 20,
    tol: float = 1e-2,
    ndt_sd_min: float = NDT_SD_MIN,
    chunk: int = 1024,
    paths: Key[Array, " paths"] | None = None,
    paths_eval: Key[Array, " paths_eval"] | None = None,
    differentiation: AbstractDifferentiation | None = None,
    progress: bool | None = None,
    ndt: AbstractNDT = _NORMAL,
) -> CircuitTrialFit:
    r"""Fit the circuit's free parameters to trial-level choices and RTs (maximum likelihood).

    Args:
        trials: :class:`~multiscale.behavior.Trials` with the signed coherence (a
            fraction) as condition, or :class:`~multiscale.behavior.CircuitTrials`
            (RT in s, at most ``model.rt_max``).
        key: PRNG key: fitting paths, start perturbations and fresh evaluation paths.
        n_paths: noise paths per condition for fitting (common random numbers; >= 2000
            for real data).
        n_paths_eval: fresh paths per condition for the reported NLL (>= 5000).
        steps: maximum Adam steps (early stopping: ``patience`` steps without a gain of
            ``tol`` nats in the best loss).
        lbfgs_steps: maximum L-BFGS steps (a start stops when a step gains < ``tol``).
        n_starts: starting points run in parallel with ``vmap``; start 0 is ``model``.
        model: initial :class:`~multiscale.behavior.CircuitBehavior` (default
            :func:`~multiscale.fit.default_circuit_behavior`).
        filter_spec: free leaves (default :func:`~multiscale.fit.circuit_free_parameters`).
        learning_rate: Adam step on $u = \log(x/x_\mathrm{init})$.
        start_scale: SD of the other starts' perturbation of $u$ (0.1: about ±10 %).
        patience, tol: Adam's early stopping; ``tol`` also ends L-BFGS.
        ndt_sd_min: floor on the SD of the non-decision time, s.
        chunk: paths simulated at once (memory).
        paths: keys of the fitting paths (default: ``n_paths`` keys drawn from ``key``).
        paths_eval: keys of the fresh paths (default: ``n_paths_eval`` keys from ``key``).
        differentiation: ``ForwardMode()`` (one tangent per free scalar) or
            ``ReverseMode()``; default: forward mode when at most
            ``FORWARD_MODE_MAX_PARAMETERS`` scalars are free (module docstring).
        progress: show :func:`~multiscale.fit.fit`'s progress bar (default: when stderr
            is a terminal).
        ndt: the shape of the non-decision-time distribution (default normal; see
            :func:`~multiscale.behavior.trial_log_likelihood`).

    Returns:
        A :class:`CircuitTrialFit`. Its ``se`` are the Laplace standard errors from the
        Hessian of the fitting loss (the common-random-number objective on the fitting
        paths) in $u$ at the optimum, by the delta method in each parameter's units; they
        leave out the Monte Carlo noise of the likelihood (see the module docstring).
    """
    if isinstance(trials, Trials):  # the common container: signed coherence as condition
        trials = circuit_trials(trials)
    if not isinstance(trials, CircuitTrials):
        raise TypeError(
            f"`trials` must be ms.behavior.Trials (signed coherence as condition) or "
            f"CircuitTrials, got {type(trials).__name__}"
        )
    if steps < 0 or lbfgs_steps < 0 or n_starts < 1:
        raise ValueError(
            f"steps, lbfgs_steps must be >= 0 and n_starts >= 1, got {steps}, "
            f"{lbfgs_steps}, {n_starts}"
        )
    model = default_circuit_behavior() if model is None else model
    filter_spec = circuit_free_parameters(model) if filter_spec is None else filter_spec
    n_free = sum(jnp.size(x) for x in jax.tree.leaves(eqx.filter(model, filter_spec)))
    if differentiation is None:
        few = n_free <= FORWARD_MODE_MAX_PARAMETERS
        differentiation = ForwardMode() if few else ReverseMode()
    if not isinstance(differentiation, AbstractDifferentiation):
        raise TypeError(
            f"`differentiation` must be ForwardMode() or ReverseMode(), got {differentiation!r}"
        )
    # The fit differentiates the likelihood's path masses the chosen way (forward mode:
    # one tangent per free scalar rides along the time loop, the per-trial part in
    # reverse; measured 1.3x faster per evaluation than forward mode over the whole
    # loss). That custom vjp has no second derivative, so the optimum check and the SEs
    # take the plain loop's Hessian, forward over forward.
    problem = trial_problem(model, filter_spec, ndt_sd_min, chunk, differentiation, ndt)
    plain = trial_problem(model, filter_spec, ndt_sd_min, chunk, ndt=ndt)
    k_fit, k_start, k_eval = jr.split(key, 3)
    data = (trials, jr.split(k_fit, n_paths) if paths is None else paths)
    point = _TrialPoint(jnp.zeros_like(problem.ref), problem)
    spec = eqx.tree_at(lambda m: m.u, jax.tree.map(lambda _: False, point), True)
    optimizer = adam_then_lbfgs_armijo(
        steps + 1,  # the start's evaluation, then ``steps`` Adam steps
        learning_rate,
        patience=patience,
        tol=tol,
        lbfgs_steps=lbfgs_steps,
        backtracks=BACKTRACKS,
    )
    # Budget: every Adam step, and every L-BFGS step with all its halvings; each start
    # stops earlier when its line search ends, and the fit when every start has.
    budget = steps + 1 + lbfgs_steps * BACKTRACKS
    budget += (-budget) % CHUNK_STEPS  # whole chunks: one compiled chunk length
    t0 = time.perf_counter()
    fitted, hist = fit(
        point,
        _trial_loss,
        data,
        optimizer=optimizer,
        steps=budget,
        key=k_start,
        filter_spec=spec,
        n_starts=n_starts,
        start_scale=start_scale,
        patience=budget,
        tol=tol,
        chunk=CHUNK_STEPS,
        progress=progress,
        check=False,
    )
    u = fitted.u
    jax.block_until_ready(u)
    seconds = time.perf_counter() - t0
    names = free_parameter_names(model, filter_spec)
    outcome = check_optimum(
        _PlainLoss(plain, data), u, tol=tol, names=names, differentiation=_FORWARD
    )
    hist = dataclasses.replace(hist, check=outcome, converged=bool(hist.stopped and outcome.passed))
    out = problem.model(u)
    fresh = jr.split(k_eval, n_paths_eval) if paths_eval is None else paths_eval
    nll = float(trial_nll(plain, u, trials, fresh))
    values = problem.ref * jnp.exp(u)
    se, se_note = _laplace_se(outcome.hessian, values)
    k = len(names)
    taken = int(hist.opt_state.lbfgs_steps)
    return CircuitTrialFit(
        model=out,
        parameters={name: float(v) for name, v in zip(names, values, strict=True)},
        se={name: float(v) for name, v in zip(names, se, strict=True)},
        se_note=se_note,
        nll=nll,
        nll_fit=float(hist.start_losses[hist.best_start]),
        n_parameters=k,
        aic=float(aic(nll, k)),
        bic=float(bic(nll, k, trials.n_trials)),
        n_trials=trials.n_trials,
        history=hist,
        lbfgs_steps=taken,
        seconds=seconds,
    )
