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
Adam of the summary fit, robust to the loss's jumps) moves every start towards the
optimum; then L-BFGS polishes every start from the best point Adam visited. The L-BFGS
direction is optax's (:func:`optax.scale_by_lbfgs`, the preconditioner of
:func:`optax.lbfgs`); its step is chosen by an Armijo backtracking line search run in
Python on the same compiled loss, because ``optax.lbfgs``'s own line search traces the
simulation again inside its ``while_loop`` and took 20 s to compile on two CPU cores
(measured) for a fit whose optimisation needs about as long. The start with the lowest
loss wins.

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

import time
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, Key, PRNGKeyArray

from .._autodiff import AbstractDifferentiation, ForwardMode, ReverseMode
from ..behavior import (
    NDT_SD_MIN,
    CircuitBehavior,
    CircuitTrials,
    Trials,
    circuit_trials,
    trial_log_likelihood,
)
from ._circuit_fit import circuit_free_parameters, default_circuit_behavior
from ._fit import FitHistory
from ._scaling import float_count_adam, free_parameter_names, log_scaled
from ._uncertainty import aic, bic, covariance_from_hessian

_REVERSE = ReverseMode()

FORWARD_MODE_MAX_PARAMETERS = 8
"""Most free scalars for which :func:`fit_circuit_trials` uses forward mode by default."""


class TrialProblem(eqx.Module):
    r"""The loss over a flat vector $u$ of log-scaled free parameters; the rest fixed."""

    ref: Float[Array, " p"]
    rest: CircuitBehavior
    treedef: Any = eqx.field(static=True)
    ndt_sd_min: float = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    differentiation: AbstractDifferentiation = eqx.field(static=True, default=_REVERSE)

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
        )
        return -jnp.sum(ll)


def trial_problem(model, filter_spec, ndt_sd_min, chunk, differentiation=_REVERSE) -> TrialProblem:
    """The fit's loss over $u$ for ``model`` with the leaves ``filter_spec`` selects free."""
    scaled, _ = log_scaled(model, filter_spec)  # checks: positive float leaves
    leaves, treedef = jax.tree.flatten(scaled.ref)
    if any(jnp.ndim(x) != 0 for x in leaves):
        raise ValueError("the free circuit parameters must be scalars")
    ref = jnp.stack([jnp.asarray(x) for x in leaves])
    return TrialProblem(ref, scaled.rest, treedef, float(ndt_sd_min), int(chunk), differentiation)


@eqx.filter_jit
def _values_and_grads(problem: TrialProblem, us, trials, keys):
    """Loss and gradient at every start, ``(starts,)`` and ``(starts, p)``.

    With several devices (e.g. ``jax.config.update("jax_num_cpu_devices", 2)`` on a
    2-core CPU) the starts are split across them (padded to a multiple of the devices):
    each device runs its own time loop, which on CPU beats XLA's threading inside one
    loop (measured: one device ran a step batch faster pinned to one core than on two).
    """
    vg = jax.vmap(jax.value_and_grad(problem.nll), in_axes=(0, None, None))
    n_dev = min(jax.device_count(), us.shape[0])
    n_starts = us.shape[0]
    if n_dev > 1:
        # Pad with copies of the last start to a multiple of the devices; dropped below.
        us = jnp.concatenate([us, jnp.repeat(us[-1:], (-n_starts) % n_dev, axis=0)])
        spec = jax.sharding.PartitionSpec
        mesh = jax.make_mesh(
            (n_dev,),
            ("starts",),
            axis_types=(jax.sharding.AxisType.Auto,),
            devices=jax.devices()[:n_dev],
        )
        vg = jax.shard_map(
            vg,
            mesh=mesh,
            in_specs=(spec("starts"), spec(), spec()),
            out_specs=spec("starts"),
            check_vma=False,
        )
        us = jax.lax.with_sharding_constraint(us, jax.sharding.NamedSharding(mesh, spec("starts")))
    f, g = vg(us, trials, keys)
    f, g = f[:n_starts], g[:n_starts]
    bad = ~(jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=1))
    return jnp.where(bad, jnp.inf, f), jnp.where(bad[:, None], 0.0, g)


@eqx.filter_jit
def trial_nll(problem: TrialProblem, u, trials, keys):
    """The compiled loss (NLL, nats) of ``problem`` at ``u`` on the paths ``keys``."""
    return problem.nll(u, trials, keys)


@eqx.filter_jit
def _transform(opt, grads, state, params):
    return jax.vmap(opt.update)(grads, state, params)


def _adam_stage(problem, us, data, learning_rate, steps, patience, tol):
    """Adam on every start; returns the best point each start visited, its loss and grad."""
    opt = float_count_adam(learning_rate)
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


def _lbfgs_stage(problem, us, f, g, data, steps, tol, max_step=0.1, backtracks=12):
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
        # and long trial steps on a rough loss mostly end in several halvings. Up to 12
        # halvings (to 0.002 %): from a start near the optimum the stiff J_A_ext
        # (curvature ~2e5 nats per unit log, 2604 trials) needs steps of ~0.05 %; with
        # 6 halvings the search failed there and the fit stopped at its start (measured).
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


@eqx.filter_jit
def _hessian(problem: TrialProblem, u, trials, keys):
    """Hessian of the loss in $u$, forward over forward mode through the plain loop.

    Measured (one start, 2048 paths, 2604 trials, 3 parameters): 10 s, against 29 s for
    ``jax.hessian`` (forward over reverse through the checkpointed loop).
    """
    plain = TrialProblem(
        problem.ref, problem.rest, problem.treedef, problem.ndt_sd_min, problem.chunk, _REVERSE
    )
    return jax.jacfwd(jax.jacfwd(plain.nll))(u, trials, keys)


def _laplace_se(problem: TrialProblem, u, data, values):
    """Laplace SEs in the parameters' units (delta method from $u$) and a note if NaN."""
    cov = covariance_from_hessian(_hessian(problem, u, *data))
    se = values * jnp.sqrt(jnp.diag(cov))
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
    problem = trial_problem(model, filter_spec, ndt_sd_min, chunk, differentiation)
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
    nll = float(trial_nll(problem, u, trials, fresh))
    names = free_parameter_names(model, filter_spec)
    values = problem.ref * jnp.exp(u)
    se, se_note = _laplace_se(problem, u, data, values)
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
        se={name: float(v) for name, v in zip(names, se, strict=True)},
        se_note=se_note,
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
