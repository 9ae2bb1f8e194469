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

Optimisation: ``n_starts`` starting points run in parallel (one ``vmap`` over starts of
the loss and its gradient, compiled once and shared by both stages). Adam (the float-count
``_adam`` of the summary fit, robust to the loss's jumps) moves every start towards the
optimum; then L-BFGS polishes every start from the best point Adam visited. The L-BFGS
direction is optax's (:func:`optax.scale_by_lbfgs`, the preconditioner of
:func:`optax.lbfgs`); its step is chosen by an Armijo backtracking line search run in
Python on the same compiled loss, because ``optax.lbfgs``'s own line search traces the
simulation again inside its ``while_loop`` and took 20 s to compile on two CPU cores
(measured) for a fit whose optimisation needs about as long. The start with the lowest
loss wins.

The NLL reported for model comparison is re-evaluated on **fresh** paths, more of them.
On the fitting paths two biases compete: the upward bias of the log of a path average
(larger for fewer paths; see the likelihood module) and the optimism of having adapted
the parameters to those paths' noise. Measured on ~1000 synthetic trials (validation
targets), 256 fitting paths against 2048 fresh ones: the fresh NLL was 2.6 and 7.2
nats *lower*, i.e. at 256 paths the upward bias dominates.
"""

import time
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, Key, PRNGKeyArray

from ._circuit_fit import _adam, _names, _scaled, circuit_free_parameters, default_circuit_behavior
from ._circuit_likelihood import CircuitBehavior
from ._fit import FitHistory
from ._trial_likelihood import NDT_SD_MIN, CircuitTrials, trial_log_likelihood
from ._uncertainty import aic, bic


class _Problem(eqx.Module):
    r"""The loss over a flat vector $u$ of log-scaled free parameters; the rest fixed."""

    ref: Float[Array, " p"]
    rest: CircuitBehavior
    treedef: Any = eqx.field(static=True)
    ndt_sd_min: float = eqx.field(static=True)
    chunk: int = eqx.field(static=True)

    def model(self, u: Float[Array, " p"]) -> CircuitBehavior:
        x = self.ref * jnp.exp(u)
        free = jax.tree.unflatten(self.treedef, [x[i] for i in range(x.shape[0])])
        return eqx.combine(free, self.rest)

    def nll(self, u: Float[Array, " p"], trials: CircuitTrials, keys) -> Float[Array, ""]:
        ll = trial_log_likelihood(
            self.model(u), trials, keys, ndt_sd_min=self.ndt_sd_min, chunk=self.chunk
        )
        return -jnp.sum(ll)


def _problem(model, filter_spec, ndt_sd_min, chunk) -> _Problem:
    scaled, _ = _scaled(model, filter_spec)  # checks: positive float leaves
    leaves, treedef = jax.tree.flatten(scaled.ref)
    if any(jnp.ndim(x) != 0 for x in leaves):
        raise ValueError("the free circuit parameters must be scalars")
    ref = jnp.stack([jnp.asarray(x) for x in leaves])
    return _Problem(ref, scaled.rest, treedef, float(ndt_sd_min), int(chunk))


@eqx.filter_jit
def _values_and_grads(problem: _Problem, us, trials, keys):
    """Loss and gradient at every start, ``(starts,)`` and ``(starts, p)``."""
    vg = jax.value_and_grad(problem.nll)
    f, g = jax.vmap(vg, in_axes=(0, None, None))(us, trials, keys)
    bad = ~(jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=1))
    return jnp.where(bad, jnp.inf, f), jnp.where(bad[:, None], 0.0, g)


@eqx.filter_jit
def _nll_at(problem: _Problem, u, trials, keys):
    return problem.nll(u, trials, keys)


@eqx.filter_jit
def _transform(opt, grads, state, params):
    return jax.vmap(opt.update)(grads, state, params)


def _adam_stage(problem, us, data, learning_rate, steps, patience, tol):
    """Adam on every start; returns the best point each start visited, its loss and grad."""
    opt = _adam(learning_rate)
    state = jax.vmap(opt.init)(us)
    f, g = _values_and_grads(problem, us, *data)
    best_u, best_f, best_g = us, f, g
    trace, since, record = [float(jnp.min(f))], 0, float(jnp.min(f))
    for _ in range(steps):
        updates, state = _transform(opt, g, state, us)
        us = us + updates
        f, g = _values_and_grads(problem, us, *data)
        better = f < best_f
        best_u = jnp.where(better[:, None], us, best_u)
        best_g = jnp.where(better[:, None], g, best_g)
        best_f = jnp.where(better, f, best_f)
        trace.append(float(jnp.min(best_f)))
        since = 0 if trace[-1] < record - tol else since + 1
        record = min(record, trace[-1])
        if since >= patience:
            break
    return best_u, best_f, best_g, trace


def _lbfgs_stage(problem, us, f, g, data, steps, tol, max_step=0.1, backtracks=6):
    """L-BFGS (optax's direction, Armijo backtracking) on every start in parallel."""
    lbfgs = optax.scale_by_lbfgs()
    with jax.numpy_dtype_promotion("standard"):
        state = jax.vmap(lbfgs.init)(us)
    trace, taken, active = [], 0, jnp.isfinite(f)
    for _ in range(steps):
        if not bool(jnp.any(active)):
            break
        # optax's L-BFGS mixes its int32 counter with floats; strict promotion (the test
        # suite's setting) rejects that, so the direction is computed under "standard".
        with jax.numpy_dtype_promotion("standard"):
            d, state = _transform(lbfgs, g, state, us)
        d = -d
        slope = jnp.sum(d * g, axis=1)
        d = jnp.where((slope < 0)[:, None], d, -g)  # not a descent direction: gradient
        slope = jnp.sum(d * g, axis=1)
        # Cap each step at max_step in u (10 %): the first direction is the raw gradient,
        # and long trial steps on a rough loss mostly end in several halvings.
        d = (
            d
            * jnp.minimum(1.0, max_step / jnp.maximum(jnp.max(jnp.abs(d), axis=1), 1e-12))[:, None]
        )
        slope = jnp.sum(d * g, axis=1)
        alpha = jnp.ones_like(f)
        done = ~active
        new_u, new_f, new_g = us, f, g
        for _ in range(backtracks):
            trial = us + alpha[:, None] * d
            ft, gt = _values_and_grads(problem, trial, *data)
            ok = ~done & (ft <= f + 1e-4 * alpha * slope)
            new_u = jnp.where(ok[:, None], trial, new_u)
            new_g = jnp.where(ok[:, None], gt, new_g)
            new_f = jnp.where(ok, ft, new_f)
            done = done | ok
            if bool(jnp.all(done)):
                break
            alpha = jnp.where(done, alpha, 0.5 * alpha)
        # A start whose line search failed, or that gained less than tol, has converged.
        active = active & (new_f < f - tol)
        us, f, g = new_u, new_f, new_g
        taken += 1
        trace.append(float(jnp.min(f)))
    return us, f, trace, taken


class CircuitTrialFit(NamedTuple):
    """Result of :func:`fit_circuit_trials`.

    Attributes:
        model: fitted :class:`~multiscale.fit.CircuitBehavior`.
        parameters: the free parameters in their units, a dict name -> float.
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
    trials: CircuitTrials,
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
    chunk: int = 256,
    paths: Key[Array, " paths"] | None = None,
    paths_eval: Key[Array, " paths_eval"] | None = None,
) -> CircuitTrialFit:
    r"""Fit the circuit's free parameters to trial-level choices and RTs (maximum likelihood).

    Args:
        trials: :class:`~multiscale.fit.CircuitTrials` (RT in s, at most ``model.rt_max``).
        key: PRNG key: fitting paths, start perturbations and fresh evaluation paths.
        n_paths: noise paths per condition for fitting (common random numbers; >= 2000
            for real data).
        n_paths_eval: fresh paths per condition for the reported NLL (>= 5000).
        steps: maximum Adam steps (early stopping: ``patience`` steps without a gain of
            ``tol`` nats in the best loss).
        lbfgs_steps: maximum L-BFGS steps (a start stops when a step gains < ``tol``).
        n_starts: starting points run in parallel with ``vmap``; start 0 is ``model``.
        model: initial :class:`~multiscale.fit.CircuitBehavior` (default
            :func:`~multiscale.fit.default_circuit_behavior`).
        filter_spec: free leaves (default :func:`~multiscale.fit.circuit_free_parameters`).
        learning_rate: Adam step on $u = \log(x/x_\mathrm{init})$.
        start_scale: SD of the other starts' perturbation of $u$ (0.1: about ±10 %).
        patience, tol: Adam's early stopping; ``tol`` also ends L-BFGS.
        ndt_sd_min: floor on the SD of the non-decision time, s.
        chunk: paths simulated at once (memory).
        paths: keys of the fitting paths (default: ``n_paths`` keys drawn from ``key``).
        paths_eval: keys of the fresh paths (default: ``n_paths_eval`` keys from ``key``).

    Returns:
        A :class:`CircuitTrialFit`.
    """
    if not isinstance(trials, CircuitTrials):
        raise TypeError(f"`trials` must be CircuitTrials, got {type(trials).__name__}")
    if steps < 0 or lbfgs_steps < 0 or n_starts < 1:
        raise ValueError(
            f"steps, lbfgs_steps must be >= 0 and n_starts >= 1, got {steps}, "
            f"{lbfgs_steps}, {n_starts}"
        )
    model = default_circuit_behavior() if model is None else model
    filter_spec = circuit_free_parameters(model) if filter_spec is None else filter_spec
    problem = _problem(model, filter_spec, ndt_sd_min, chunk)
    k_fit, k_start, k_eval = jr.split(key, 3)
    data = (trials, jr.split(k_fit, n_paths) if paths is None else paths)
    p = problem.ref.shape[0]
    us = start_scale * jr.normal(k_start, (n_starts, p), problem.ref.dtype)
    us = us.at[0].set(0.0)
    t0 = time.perf_counter()
    us, f, g, trace = _adam_stage(problem, us, data, learning_rate, steps, patience, tol)
    taken_adam = len(trace) - 1
    us, f, trace_l, taken = _lbfgs_stage(problem, us, f, g, data, lbfgs_steps, tol)
    best = int(jnp.argmin(f))
    u = us[best]
    jax.block_until_ready(u)
    seconds = time.perf_counter() - t0
    out = problem.model(u)
    fresh = jr.split(k_eval, n_paths_eval) if paths_eval is None else paths_eval
    nll = float(_nll_at(problem, u, trials, fresh))
    names = _names(model, filter_spec)
    values = problem.ref * jnp.exp(u)
    k = len(names)
    history = FitHistory(
        loss=jnp.asarray(trace + trace_l),
        start_losses=f,
        best_start=best,
        steps_taken=taken_adam + taken,
        converged=taken < lbfgs_steps,
    )
    return CircuitTrialFit(
        model=out,
        parameters={name: float(v) for name, v in zip(names, values, strict=True)},
        nll=nll,
        nll_fit=float(f[best]),
        n_parameters=k,
        aic=float(aic(nll, k)),
        bic=float(bic(nll, k, trials.n_trials)),
        n_trials=trials.n_trials,
        history=history,
        lbfgs_steps=taken,
        seconds=seconds,
    )
