r"""Fitting loops: a pure ``optimize`` (jit/vmap-able) and the interactive ``fit``.

The model's constrained fields (declared with ``eqx.field(metadata=constraint(...))``)
are optimised on the real line, $x = T(u)$; which leaves are trained is chosen by a filter
(``eqx.is_inexact_array`` by default, or a pytree of bools shaped like the model), as in
``eqx.partition``, never by names.
"""

import sys
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from .._autodiff import AbstractDifferentiation, ReverseMode
from .._constraints import to_constrained, to_unconstrained
from ._backtracking import armijo_state
from ._convergence import OptimumCheck, check_optimum, parameter_names
from ._newton import NewtonState
from ._optimizers import adam
from ._parameters import Free, Parameterization, parameterize

LossFn = Callable[[Any, Any], Array]
_REVERSE = ReverseMode()


class FitHistory(eqx.Module):
    """What happened during :func:`fit`.

    Attributes:
        loss: loss of the best start at each step taken, shape ``(steps_taken,)``.
        start_losses: final loss of every start, shape ``(starts,)``.
        best_start: index of the start that was kept.
        steps_taken: number of optimiser steps run (fewer than asked after early stopping).
        converged: True only when the optimiser stopped (``stopped``) **and** the returned
            point passed the optimum check (``check``: finite derivatives, positive
            definite Hessian, Newton decrement below tolerance; see
            :func:`~multiscale.fit.check_optimum`). False when the step budget ran out,
            when the check failed, and when no check was run.
        stopped: True when the loss stopped decreasing: early stopping triggered (no
            improvement larger than ``tol`` within ``patience`` steps), or the last
            ``patience`` steps before the budget ran out gained at most ``tol``.
        check: the :class:`~multiscale.fit.OptimumCheck` of the returned point (None when
            the fit ran with ``check=False``).
        opt_state: the optimiser's final state for the returned start (e.g. the
            :class:`~multiscale.fit.ArmijoLBFGSState` of
            :func:`~multiscale.fit.adam_then_lbfgs_armijo`, with its step counts).
    """

    loss: Float[Array, " steps"]
    start_losses: Float[Array, " starts"]
    best_start: int
    steps_taken: int
    converged: bool
    stopped: bool = False
    check: OptimumCheck | None = None
    opt_state: Any = None

    @property
    def gradient_norm(self) -> float:
        """Norm of the gradient at the returned point (unconstrained coordinates), or NaN."""
        return float("nan") if self.check is None else self.check.gradient_norm

    @property
    def min_eigenvalue(self) -> float:
        """Smallest eigenvalue of the Hessian at the returned point, or NaN."""
        return float("nan") if self.check is None else self.check.min_eigenvalue

    @property
    def unidentified(self) -> tuple[str, ...]:
        """Names of the parameters along directions of (near) zero curvature."""
        return () if self.check is None else self.check.unidentified

    @property
    def reason(self) -> str:
        """Why ``converged`` is False ("" when it is True)."""
        if self.converged:
            return ""
        if self.check is not None and self.check.reason:
            return self.check.reason
        if not self.stopped:
            return "the step budget ran out before the loss stopped decreasing"
        return "the optimum was not checked (check=False)"


class _FilterView(eqx.Module):
    """Model from the trained leaves: the constrained fields mapped back, $x = T(u)$."""

    static: Any

    def __call__(self, params):
        return to_constrained(eqx.combine(params, self.static))


class _Objective(eqx.Module):
    """``params -> loss_fn(model(params), data)``; a pytree, so jit caches it by structure."""

    loss_fn: LossFn
    view: Any
    data: Any

    def __call__(self, params):
        return self.loss_fn(self.view(params), self.data)


def _split(model, filter_spec, free: Sequence[Free] | None = None):
    """``(params, view)``: the trained values and the function that rebuilds the model."""
    if free is not None:
        if filter_spec is not eqx.is_inexact_array:
            raise ValueError("give either `free` or `filter_spec`, not both")
        return parameterize(model, free)
    params, static = eqx.partition(to_unconstrained(model), filter_spec)
    return params, _FilterView(static)


def _objective(loss_fn: LossFn, view, data):
    return _Objective(loss_fn, view, data)


def _value_and_grad(f, params, opt_state, differentiation: AbstractDifferentiation):
    """Loss and gradient; read from the state when a line search stored them there."""
    stored = optax.tree.get(opt_state, "value") is not None
    if stored and optax.tree.get(opt_state, "grad") is not None:
        # The line search evaluated both at the point it accepted, which is ``params``
        # (infinite at the start: then they are computed).
        wrapped = differentiation.wrap(f)
        return optax.value_and_grad_from_state(wrapped)(params, state=opt_state)
    return differentiation.value_and_grad(f)(params)


def _value_fn(f, opt_state, differentiation: AbstractDifferentiation):
    """The loss handed to the optimiser, which may differentiate it (a line search).

    Wrapped so that its gradients are taken the chosen way; damped Newton takes second
    derivatives, which a forward-mode wrapper does not allow, so it gets the plain loss.
    """
    newton_state = lambda x: isinstance(x, NewtonState)
    if any(newton_state(x) for x in jax.tree.leaves(opt_state, is_leaf=newton_state)):
        return f
    return differentiation.wrap(f)


def _step(
    optimizer: optax.GradientTransformation, f, differentiation: AbstractDifferentiation = _REVERSE
):
    def step(carry, _):
        params, opt_state = carry
        value, grads = _value_and_grad(f, params, opt_state, differentiation)
        finite = jnp.isfinite(value) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)])
        )
        if armijo_state(opt_state) is not None:
            # A backtracking search rejects a non-finite trial point and steps back from
            # it itself, so it sees the failure (as an infinite loss) instead of being
            # frozen on that point; it also vouches for its incumbent, whose loss is
            # the one recorded.
            value = jnp.where(finite, value, jnp.inf)
            grads = jax.tree.map(lambda g: jnp.where(finite, g, 0.0), grads)
            extra = dict(value=value, grad=grads, value_fn=_value_fn(f, opt_state, differentiation))
            updates, new_state = optimizer.update(grads, opt_state, params, **extra)
            recorded = armijo_state(new_state).incumbent_value
            return (optax.apply_updates(params, updates), new_state), recorded
        extra = {}
        if isinstance(optimizer, optax.GradientTransformationExtraArgs):
            extra = dict(value=value, grad=grads, value_fn=_value_fn(f, opt_state, differentiation))
        updates, new_state = optimizer.update(grads, opt_state, params, **extra)
        new_params = optax.apply_updates(params, updates)
        # A non-finite loss or gradient leaves the parameters where they were, so one bad
        # member of a vmapped batch of fits cannot poison its own later steps.
        keep = lambda new, old: jnp.where(finite, new, old)
        new_params = jax.tree.map(keep, new_params, params)
        new_state = jax.tree.map(keep, new_state, opt_state)
        return (new_params, new_state), value

    return step


def optimize(
    model,
    loss_fn: LossFn,
    data,
    *,
    optimizer: optax.GradientTransformation,
    steps: int,
    filter_spec=eqx.is_inexact_array,
    free: Sequence[Free] | None = None,
    differentiation: AbstractDifferentiation = _REVERSE,
):
    r"""Run ``steps`` optimiser steps on ``loss_fn(model, data)``: pure, jit- and vmap-able.

    The batch form of fitting: ``eqx.filter_vmap(lambda m, d: optimize(m, loss, d, ...))``
    fits many subjects at once. No progress bar and no early stopping (see :func:`fit`).

    Args:
        model: initial model (a Module with constrained fields).
        loss_fn: ``(model, data) -> scalar`` to minimise (e.g. a negative log-likelihood).
        data: any pytree passed through to ``loss_fn``.
        optimizer: an optax transformation (``optax.lbfgs()`` for small smooth problems,
            ``optax.adam(lr)`` for noisy ones).
        steps: number of steps (static).
        filter_spec: which leaves are trained (``eqx.partition`` semantics).
        free: instead of ``filter_spec``, the free parameters as ``where=`` accessors with
            transforms (:class:`~multiscale.fit.Free`).
        differentiation: how the loss's gradient is taken (``ReverseMode()`` or
            ``ForwardMode()``, see :func:`fit`).

    Returns:
        ``(fitted model, losses)`` with the loss before each step, shape ``(steps,)``.
    """
    params, view = _split(model, filter_spec, free)
    f = _objective(loss_fn, view, data)
    (params, _), losses = jax.lax.scan(
        _step(optimizer, f, differentiation), (params, optimizer.init(params)), None, length=steps
    )
    return view(params), losses


def _perturb(params, key: PRNGKeyArray, n_starts: int, scale: float):
    """``n_starts`` copies of the unconstrained params; start 0 is the given one."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jr.split(key, len(leaves))
    out = []
    for leaf, k in zip(leaves, keys, strict=True):
        noise = scale * jr.normal(k, (n_starts, *leaf.shape), leaf.dtype)
        noise = noise.at[0].set(0.0)
        out.append(leaf[None] + noise)
    return jax.tree.unflatten(treedef, out)


@eqx.filter_jit
def _starts(params, key, n_starts, scale, optimizer):
    if n_starts == 1:
        # One start runs unbatched: vmapping L-BFGS's line search costs compile time.
        return params, optimizer.init(params)
    params = _perturb(params, key, n_starts, scale)
    return params, jax.vmap(optimizer.init)(params)


@eqx.filter_jit
def _run_chunk(params, opt_state, view, data, loss_fn, optimizer, n, batched, differentiation):
    def one(p, s):
        f = _objective(loss_fn, view, data)
        step = _step(optimizer, f, differentiation)
        (p, s), losses = jax.lax.scan(step, (p, s), None, length=n)
        vouched = armijo_state(s)
        # A backtracking search knows its incumbent's loss: no extra evaluation.
        final = f(p) if vouched is None else vouched.incumbent_value
        return p, s, losses, final

    if not batched:
        p, s, losses, final = one(params, opt_state)
        return p, s, losses[None], final[None]
    run = jax.vmap(one)
    n_starts = jax.tree.leaves(params)[0].shape[0]
    n_dev = min(jax.device_count(), n_starts)
    if n_dev == 1:
        return run(params, opt_state)
    # Several devices (e.g. ``jax_num_cpu_devices`` = cores on a CPU): the starts are
    # split across them, each device running its own loop, which on a CPU beats XLA's
    # threading inside one loop. Padded with copies of the last start, dropped after.
    pad = (-n_starts) % n_dev
    widen = lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x
    spec = jax.sharding.PartitionSpec
    auto = (jax.sharding.AxisType.Auto,)
    mesh = jax.make_mesh((n_dev,), ("starts",), axis_types=auto, devices=jax.devices()[:n_dev])
    run = jax.shard_map(
        run, mesh=mesh, in_specs=(spec("starts"), spec("starts")), out_specs=spec("starts"),
        check_vma=False,
    )  # fmt: skip
    out = run(jax.tree.map(widen, params), jax.tree.map(widen, opt_state))
    return jax.tree.map(lambda x: x[:n_starts], out)


@eqx.filter_jit
def _select(params, i):
    return jax.tree.map(lambda x: x[i], params)


def fit(
    model,
    loss_fn: LossFn,
    data,
    *,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 1000,
    key: PRNGKeyArray,
    filter_spec=eqx.is_inexact_array,
    free: Sequence[Free] | None = None,
    n_starts: int = 1,
    start_scale: float = 0.5,
    patience: int = 100,
    tol: float = 1e-5,
    chunk: int = 50,
    progress: bool | None = None,
    check: bool = True,
    check_tol: float = 1e-3,
    differentiation: AbstractDifferentiation = _REVERSE,
):
    r"""Minimise ``loss_fn(model, data)`` over the trainable leaves of ``model``.

    Runs the optimiser in jitted chunks of ``chunk`` steps, with a progress bar, early
    stopping (no decrease of the best start's loss by more than ``tol`` in ``patience``
    steps) and multi-start: ``n_starts`` initial points, the given one plus copies whose
    unconstrained trainable values get Gaussian noise of SD ``start_scale``, optimised in
    parallel with ``vmap`` (split across devices when JAX has several, e.g.
    ``jax.config.update("jax_num_cpu_devices", 2)`` on a 2-core CPU: one loop per device);
    the start with the lowest final loss is returned. With an optimiser that keeps an
    incumbent (:func:`~multiscale.fit.adam_then_lbfgs_armijo`), the loss recorded and the
    point returned are its incumbent's, and the fit stops once every start has finished.

    The returned point is then checked (:func:`~multiscale.fit.check_optimum`: gradient,
    Hessian positive definite, Newton decrement), and ``history.converged`` is True only
    when the optimiser stopped and the check passed; ``history.check`` holds the gradient
    norm, the Hessian's eigenvalues and the names of unidentified parameters.

    Args:
        model: initial model; constrained fields are optimised through their transforms.
        loss_fn: ``(model, data) -> scalar`` (e.g. a negative log-likelihood, nats).
        data: pytree passed to ``loss_fn`` unchanged.
        optimizer: optax transformation (default :func:`~multiscale.fit.adam` with
            learning rate 0.02; :func:`~multiscale.fit.lbfgs` for a smooth loss,
            :func:`~multiscale.fit.adam_then_lbfgs`, :func:`~multiscale.fit.newton`
            for a few parameters).
        steps: maximum number of steps.
        key: PRNG key for the multi-start perturbations.
        filter_spec: which leaves are trained (callable or pytree of bools); the
            fields' declared constraints are applied.
        free: instead of ``filter_spec``, the free parameters as ``where=`` accessors,
            each with its transform (:class:`~multiscale.fit.Free`, e.g.
            ``[Free(lambda m: m.circuit.nmda.tau_decay), Free(lambda m: m.readout.threshold,
            LogScale(15.0))]``); any leaf of any Module, however deep.
        n_starts: number of starting points.
        start_scale: SD of the start perturbation on the unconstrained scale.
        patience, tol: early-stopping settings.
        chunk: steps per jitted call (granularity of the progress bar and of stopping).
        progress: show a tqdm bar on stderr; default: only when stderr is a terminal.
        check: check the returned point (one Hessian of the loss: cheap for a few
            parameters of a closed-form likelihood, a few gradients' cost through a
            simulation). With ``False``, ``history.converged`` is False.
        differentiation: how derivatives of the loss are taken: ``ReverseMode()``
            (default) or ``ForwardMode()`` (one tangent per free scalar, nothing stored:
            faster through a long simulation with a few free parameters). It gives the
            gradient of every step and the check's Hessian (forward over reverse, or
            forward over forward); a line search differentiates the loss the same way,
            :func:`~multiscale.fit.newton` (second derivatives) in reverse mode.
        check_tol: largest acceptable $\lambda^2/2$ (nats), the decrease a Newton step
            from the returned point would still bring.

    Returns:
        ``(fitted model, FitHistory)``.

    Example:
        >>> import equinox as eqx, jax.numpy as jnp, jax.random as jr, optax
        >>> class Mean(eqx.Module):
        ...     mu: jnp.ndarray
        >>> x = jnp.array([0.5, 1.5, 1.0])
        >>> loss = lambda m, x: 0.5 * jnp.sum((x - m.mu) ** 2)
        >>> m, hist = fit(Mean(jnp.asarray(0.0)), loss, x, optimizer=optax.lbfgs(),
        ...               steps=50, patience=5, key=jr.key(0), progress=False)
        >>> round(float(m.mu), 4), hist.converged
        (1.0, True)
    """
    from tqdm import tqdm

    if steps < 1 or n_starts < 1 or chunk < 1:
        raise ValueError(
            f"steps, n_starts and chunk must be >= 1, got {steps}, {n_starts}, {chunk}"
        )
    optimizer = adam(0.02) if optimizer is None else optimizer
    params, view = _split(model, filter_spec, free)
    if not jax.tree.leaves(params):
        raise ValueError(
            "no trainable leaves: filter_spec selected nothing (fields given as Python numbers "
            "are constants; pass arrays, or a filter_spec pytree of bools)"
        )
    params, opt_state = _starts(params, key, n_starts, start_scale, optimizer)
    if progress is None:
        progress = sys.stderr.isatty()
    history, best, since_best, taken, stopped = [], jnp.inf, 0, 0, False
    with tqdm(total=steps, disable=not progress, desc="fit", unit="step", file=sys.stderr) as bar:
        while taken < steps:
            n = min(chunk, steps - taken)
            params, opt_state, losses, final = _run_chunk(
                params,
                opt_state,
                view,
                data,
                loss_fn,
                optimizer,
                n,
                n_starts > 1,
                differentiation,
            )
            history.append(losses)
            taken += n
            bar.update(n)
            finals = np.asarray(final)
            current = float(np.min(np.where(np.isfinite(finals), finals, np.inf)))
            bar.set_postfix(loss=f"{current:.6g}")
            if current < best - tol:
                best, since_best = current, 0
            else:
                since_best += n
            if since_best >= patience:
                stopped = True
                break
            vouched = armijo_state(opt_state)
            if vouched is not None and bool(np.all(np.asarray(vouched.finished))):
                stopped = True  # every start's line search has ended
                break
    final = np.asarray(final)
    final = np.where(np.isfinite(final), final, np.inf)
    i = int(np.argmin(final))
    vouched = armijo_state(opt_state)
    if vouched is not None:  # return the accepted point, never an untested trial point
        params = vouched.incumbent
    best_params = params if n_starts == 1 else _select(params, i)
    best_state = opt_state if n_starts == 1 else _select(opt_state, i)
    outcome = None
    if check:
        outcome = check_optimum(
            _objective(loss_fn, view, data),
            best_params,
            tol=check_tol,
            differentiation=differentiation,
            names=view.names
            if isinstance(view, Parameterization)
            else parameter_names(best_params),
        )
    loss = np.concatenate([np.asarray(h)[i] for h in history])
    if not stopped:
        # The budget ran out between two checks of early stopping (every ``chunk`` steps):
        # the loss stopped decreasing if its last ``patience`` steps gained at most tol.
        trace = np.append(loss, final[i])
        stopped = trace.size > patience and trace[-patience - 1] - trace[-patience:].min() <= tol
    loss = jnp.asarray(loss)
    hist = FitHistory(
        loss=loss,
        start_losses=jnp.asarray(final),
        best_start=i,
        steps_taken=taken,
        converged=bool(stopped and outcome is not None and outcome.passed),
        stopped=bool(stopped),
        check=outcome,
        opt_state=best_state,
    )
    return _build(view, best_params), hist


@eqx.filter_jit
def _build(view, params):
    return view(params)
