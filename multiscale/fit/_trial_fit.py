r"""Fitting the Wong–Wang circuit to trial-level choices and reaction times.

The loss is minus the sum of :func:`~multiscale.fit.trial_log_likelihood` over the trials
on a fixed set of noise paths (common random numbers), a deterministic function of the
parameters that is smooth except where a path changes its choice or its crossing time
jumps (past a near-miss of the threshold); with few paths these jumps make the loss rough
by several to tens of nats (measured; see the likelihood module), hence the >= 2000
paths per condition recommended for real data.
The free parameters are any leaves of the model, each a :class:`~multiscale.fit.Free`
(a ``where=`` accessor and its transform; default
:func:`~multiscale.fit.circuit_free_parameters`: $J_{A,\mathrm{ext}}$, $\theta$ and
$t_\mathrm{nd}$, each as :class:`~multiscale.fit.LogScale` of its starting value, i.e.
optimised on $u = \log(x / x_\mathrm{init})$), which
puts a relative change of each parameter on one scale and keeps it positive (measured
Hessian diagonal in $u$ at a start 10-15 % off: 1.3e5, 7.8e3 and 1.6e4 nats for 900
trials, within a factor of 20). A full rescaling by the outer product of per-trial
gradients at the start (whitening) was tried and is not used: from the same start it
sent the threshold the wrong way (12.4 Hz for 17) and stopped 11 nats above the
generating parameters' NLL.

Optimisation runs through :func:`~multiscale.fit.fit` with optax transformations. By
default in two stages: Adam (:func:`~multiscale.fit.adam`, robust to the loss's jumps) on
``n_starts`` starting points in parallel (``vmap``; start 0 is the given model, the others
perturbed in $u$), then L-BFGS with a strong-Wolfe line search
(:func:`~multiscale.fit.lbfgs`) from the best of them, where the loss is smooth enough
for curvature to help. One transformation that switches from one to the other
(:func:`~multiscale.fit.adam_then_lbfgs`) is not the default: vmapped over starts its
``lax.cond`` becomes a select, and every Adam step would also run the line search's
simulations. Any optax transformation can replace both stages (``optimizer=``).

Speed. The gradient is taken in forward mode when few scalars are free (at most
``FORWARD_MODE_MAX_PARAMETERS``): one tangent per parameter that the time loop reads rides
along in it, nothing is stored or recomputed (:mod:`multiscale.behavior`'s first-passage
masses); :func:`~multiscale.fit.fit` differentiates the rest of the loss in reverse mode.
Measured here, 2 cores, 2604 trials, 6 coherences, 4 starts x 2048 paths, one
loss-and-gradient evaluation: 26 s with stored trajectories and reverse mode, 5.6 s with
the fused loop and forward mode (the benchmark ``bench_circuit_fit.py``).

The NLL reported for model comparison is re-evaluated on **fresh** paths, more of them.
On the fitting paths two biases compete: the upward bias of the log of a path average
(larger for fewer paths; see the likelihood module) and the optimism of having adapted
the parameters to those paths' noise. Measured on ~1000 synthetic trials (validation
targets), 256 fitting paths against 2048 fresh ones: the fresh NLL was 2.6 and 7.2
nats *lower*, i.e. at 256 paths the upward bias dominates.

Standard errors are Laplace's: $\mathrm{Cov}(\hat u) \approx H^{-1}$ with $H$ the Hessian
(forward-over-forward autodiff through the time loop) of the fitting
loss in the unconstrained coordinates $u$ at the optimum, on the fitting paths, mapped to
each parameter's units by the delta method, $\mathrm{SE}(x_i) = |dx_i/du_i|\,
\mathrm{SE}(u_i)$ ($= x_i\,\mathrm{SE}(u_i)$ on a log scale). The same Hessian, with the
gradient, is the fit's optimum check (:func:`~multiscale.fit.check_derivatives`).
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
from collections.abc import Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Float, Key, PRNGKeyArray

from .._autodiff import AbstractDifferentiation, ForwardMode, ReverseMode
from ..behavior import NDT_SD_MIN, CircuitBehavior, CircuitTrials, trial_log_likelihood
from ._circuit_fit import circuit_free_parameters, default_circuit_behavior
from ._convergence import check_derivatives
from ._fit import FitHistory, fit
from ._optimizers import adam, lbfgs
from ._parameters import Free, Parameterization, parameterize
from ._uncertainty import aic, bic, covariance_from_hessian

_REVERSE = ReverseMode()

FORWARD_MODE_MAX_PARAMETERS = 8
"""Most free scalars for which :func:`fit_circuit_trials` uses forward mode by default."""


class TrialLoss(eqx.Module):
    """The fit's loss ``(model, (trials, keys)) -> NLL`` (nats), a pytree so that jit caches it.

    ``differentiation`` is how the first-passage masses (the time loop) are differentiated;
    the rest of the loss is differentiated by whoever calls it.
    """

    ndt_sd_min: float = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    differentiation: AbstractDifferentiation = eqx.field(static=True, default=_REVERSE)

    def __call__(self, model: CircuitBehavior, data) -> Float[Array, ""]:
        trials, keys = data
        ll = trial_log_likelihood(
            model,
            trials,
            keys,
            ndt_sd_min=self.ndt_sd_min,
            chunk=self.chunk,
            differentiation=self.differentiation,
        )
        return -jnp.sum(ll)


@eqx.filter_jit
def trial_nll(loss: TrialLoss, model: CircuitBehavior, trials, keys) -> Float[Array, ""]:
    """The compiled loss (NLL, nats) of ``model`` on the paths ``keys``."""
    return loss(model, (trials, keys))


@eqx.filter_jit
def _derivatives(loss: TrialLoss, view: Parameterization, u, trials, keys):
    """Loss, gradient and Hessian in $u$, forward over forward through the plain loop.

    Measured (one start, 2048 paths, 2604 trials, 3 parameters): 10 s, against 29 s for
    ``jax.hessian`` (forward over reverse through the checkpointed loop).
    """
    plain = TrialLoss(loss.ndt_sd_min, loss.chunk, _REVERSE)
    f = lambda v: plain(view(v), (trials, keys))
    basis = jnp.eye(u.shape[0], dtype=u.dtype)

    def gradient(v):
        value, g = jax.vmap(lambda t: jax.jvp(f, (v,), (t,)), out_axes=(None, 0))(basis)
        return g, (value, g)

    hessian, (value, grad) = jax.jacfwd(gradient, has_aux=True)(u)
    return value, grad, hessian


@eqx.filter_jit
def _values(view: Parameterization, u):
    """The free values $x = T(u)$ in their units, flat, and $dx/du$ (diagonal)."""

    def x(v):
        model = view(v)
        return jnp.concatenate([jnp.ravel(w(model)).astype(v.dtype) for w in view.wheres])

    return x(u), jnp.diag(jax.jacfwd(x)(u))


def _laplace_se(hessian, dx_du):
    """Laplace SEs in the parameters' units (delta method from $u$) and a note if NaN."""
    cov = covariance_from_hessian(hessian)
    se = jnp.abs(dx_du) * jnp.sqrt(jnp.diag(cov))
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
        history: :class:`~multiscale.fit.FitHistory`: the best start's loss before each
            Adam and then each L-BFGS step, every start's loss after Adam, the winning
            start, and the optimum check of the returned point (``history.check``, from
            the same Hessian as the SEs; ``history.converged``).
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
    trials: CircuitTrials,
    key: PRNGKeyArray,
    *,
    model: CircuitBehavior | None = None,
    free: Sequence[Free] | None = None,
    n_paths: int = 2000,
    n_paths_eval: int = 5000,
    n_starts: int = 4,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 100,
    lbfgs_steps: int = 30,
    learning_rate: float = 0.03,
    start_scale: float = 0.1,
    patience: int = 20,
    tol: float = 1e-2,
    check_tol: float = 1e-2,
    differentiation: AbstractDifferentiation | None = None,
    ndt_sd_min: float = NDT_SD_MIN,
    chunk: int = 1024,
    paths: Key[Array, " paths"] | None = None,
    paths_eval: Key[Array, " paths_eval"] | None = None,
) -> CircuitTrialFit:
    r"""Fit the circuit's free parameters to trial-level choices and RTs (maximum likelihood).

    Args:
        trials: :class:`~multiscale.behavior.CircuitTrials` (RT in s, at most ``model.rt_max``).
        key: PRNG key: fitting paths, start perturbations and fresh evaluation paths.
        model: initial :class:`~multiscale.behavior.CircuitBehavior` (default
            :func:`~multiscale.fit.default_circuit_behavior`).
        free: the free parameters, a list of :class:`~multiscale.fit.Free` (any leaf,
            however deep, with its transform; default
            :func:`~multiscale.fit.circuit_free_parameters` of ``model``).
        n_paths: noise paths per condition for fitting (common random numbers; >= 2000
            for real data).
        n_paths_eval: fresh paths per condition for the reported NLL (>= 5000).
        n_starts: starting points run in parallel with ``vmap``; start 0 is ``model``.
        optimizer: an optax transformation run by :func:`~multiscale.fit.fit` for
            ``steps`` steps on every start; default: :func:`~multiscale.fit.adam` with
            ``learning_rate`` for ``steps`` steps, then :func:`~multiscale.fit.lbfgs`
            for ``lbfgs_steps`` steps from the best start (module docstring).
        steps: maximum steps of ``optimizer`` (of Adam by default); early stopping after
            ``patience`` steps without a gain of ``tol`` nats, checked every 10 steps.
        lbfgs_steps: maximum L-BFGS steps of the default optimiser (stops when two steps
            gain < ``tol``).
        learning_rate: Adam's step in the unconstrained coordinates (a relative change on
            a log scale).
        start_scale: SD of the other starts' perturbation of $u$ (0.1: about ±10 %).
        patience, tol: early stopping.
        check_tol: the optimum check's largest acceptable $\lambda^2/2$, nats.
        differentiation: ``ForwardMode()`` (one tangent per free scalar in the time loop)
            or ``ReverseMode()``; default: forward mode when at most
            ``FORWARD_MODE_MAX_PARAMETERS`` scalars are free (module docstring).
        ndt_sd_min: floor on the SD of the non-decision time, s.
        chunk: paths simulated at once (memory).
        paths: keys of the fitting paths (default: ``n_paths`` keys drawn from ``key``).
        paths_eval: keys of the fresh paths (default: ``n_paths_eval`` keys from ``key``).

    Returns:
        A :class:`CircuitTrialFit`. Its ``se`` are the Laplace standard errors from the
        Hessian of the fitting loss (the common-random-number objective on the fitting
        paths) in $u$ at the optimum, by the delta method in each parameter's units; they
        leave out the Monte Carlo noise of the likelihood (see the module docstring).

    Example:
        Free the NMDA decay time constant of the circuit as well, on a log scale::

            free = [*ms.fit.circuit_free_parameters(model),
                    ms.fit.Free(lambda m: m.circuit.nmda.tau_decay, ms.fit.LogScale(0.1))]
            r = ms.fit.fit_circuit_trials(trials, jr.key(0), model=model, free=free, ...)
    """
    if not isinstance(trials, CircuitTrials):
        raise TypeError(f"`trials` must be CircuitTrials, got {type(trials).__name__}")
    if steps < 1 or lbfgs_steps < 0 or n_starts < 1:
        raise ValueError(
            f"steps must be >= 1, lbfgs_steps >= 0 and n_starts >= 1, got {steps}, "
            f"{lbfgs_steps}, {n_starts}"
        )
    model = default_circuit_behavior() if model is None else model
    free = circuit_free_parameters(model) if free is None else list(free)
    u0, view = parameterize(model, free)
    if differentiation is None:
        few = u0.shape[0] <= FORWARD_MODE_MAX_PARAMETERS
        differentiation = ForwardMode() if few else ReverseMode()
    if not isinstance(differentiation, AbstractDifferentiation):
        raise TypeError(
            f"`differentiation` must be ForwardMode() or ReverseMode(), got {differentiation!r}"
        )
    loss = TrialLoss(float(ndt_sd_min), int(chunk), differentiation)
    k_fit, k_start, k_eval = jr.split(key, 3)
    data = (trials, jr.split(k_fit, n_paths) if paths is None else paths)
    stop = dict(patience=patience, tol=tol, progress=False, check=False)
    t0 = time.perf_counter()
    first = adam(learning_rate) if optimizer is None else optimizer
    fitted, hist = fit(
        model, loss, data, optimizer=first, steps=steps, key=k_start, free=free,
        n_starts=n_starts, start_scale=start_scale, chunk=min(10, steps), **stop,
    )  # fmt: skip
    trace, taken, stopped = [hist.loss], 0, hist.stopped
    if optimizer is None and lbfgs_steps:
        # One start, so no vmap: the line search's while_loop stops per step.
        fitted, hist_l = fit(
            fitted, loss, data, optimizer=lbfgs(), steps=lbfgs_steps, key=k_start, free=free,
            chunk=min(2, lbfgs_steps), **(stop | dict(patience=2)),
        )  # fmt: skip
        trace.append(hist_l.loss)
        taken, stopped = hist_l.steps_taken, hist_l.stopped
    u = view.unconstrained(fitted)
    jax.block_until_ready(u)
    seconds = time.perf_counter() - t0
    value, grad, hessian = _derivatives(loss, view, u, *data)
    check = check_derivatives(value, grad, hessian, names=view.names, tol=check_tol)
    values, dx_du = _values(view, u)
    se, se_note = _laplace_se(hessian, dx_du)
    fresh = jr.split(k_eval, n_paths_eval) if paths_eval is None else paths_eval
    nll = float(trial_nll(loss, fitted, trials, fresh))
    names = view.names
    k = len(names)
    history = FitHistory(
        loss=jnp.concatenate(trace),
        start_losses=hist.start_losses,
        best_start=hist.best_start,
        steps_taken=hist.steps_taken + taken,
        converged=bool(stopped and check.passed),
        stopped=bool(stopped),
        check=check,
    )
    return CircuitTrialFit(
        model=fitted,
        parameters={name: float(v) for name, v in zip(names, np.asarray(values), strict=True)},
        se={name: float(v) for name, v in zip(names, np.asarray(se), strict=True)},
        se_note=se_note,
        nll=nll,
        nll_fit=float(value),
        n_parameters=k,
        aic=float(aic(nll, k)),
        bic=float(bic(nll, k, trials.n_trials)),
        n_trials=trials.n_trials,
        history=history,
        lbfgs_steps=taken,
        seconds=seconds,
    )
