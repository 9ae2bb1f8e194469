r"""Optimisers as optax transformations: Adam, L-BFGS with a line search, and the two chained.

All three are ``optax`` ``GradientTransformation`` objects, so :func:`~multiscale.fit.fit`
and :func:`~multiscale.fit.optimize` run them (in jitted chunks, vmapped over starts)
like any optax optimiser, and any optax optimiser can replace them. Each constructor is
cached: the same arguments give the same object, so repeated fits reuse the compiled loop.
Each works under strict dtype promotion (the package's tests run with it), which
``optax.adam`` (an int32 step count raised to float powers) and ``optax.lbfgs`` (an
int32 memory index mixed with floats) do not.

- :func:`adam` (Kingma & Ba 2015): first-order and robust to a rough loss (the circuit
  likelihood on common random numbers jumps where a path changes its choice).
- :func:`lbfgs` (Liu & Nocedal 1989): quasi-Newton directions from the last
  ``memory_size`` gradient differences, with a line search satisfying the strong Wolfe
  conditions (the zoom algorithm, Nocedal & Wright 2006, Algorithms 3.5-3.6), for a
  smooth loss near its optimum. The line search stores the value and gradient at the
  accepted point; :func:`~multiscale.fit.fit` reads them back
  (``optax.value_and_grad_from_state``), so each step costs the line search's evaluations
  only.
- :func:`adam_then_lbfgs`: Adam for ``adam_steps`` steps, then L-BFGS from where Adam
  is, in one transformation.

References:
    Kingma DP, Ba J (2015) Adam: a method for stochastic optimization. International
    Conference on Learning Representations; arXiv:1412.6980.
    Liu DC, Nocedal J (1989) On the limited memory BFGS method for large scale
    optimization. Math Program 45:503-528.
    Nocedal J, Wright SJ (2006) Numerical Optimization, 2nd ed. Springer.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class AdamState(NamedTuple):
    """State of :func:`adam`: step count (a float of the parameters' dtype), two moments."""

    count: jax.Array
    mu: Any
    nu: Any


@functools.lru_cache(maxsize=32)
def adam(
    learning_rate: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""Adam with every scalar, the step count included, in the parameters' dtype.

    $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$,
    $\Delta\theta = -\eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)\; m_t / (\sqrt{v_t} +
    \epsilon)$ (Kingma & Ba 2015, Algorithm 1 in the efficient form of their Section 2).

    Args:
        learning_rate: $\eta$, in the units of the optimised (unconstrained) parameters.
        b1, b2: decay rates of the moment estimates.
        eps: $\epsilon$.

    Returns:
        An optax ``GradientTransformation``.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = adam(0.1)
        >>> u, s = opt.update(jnp.array([2.0, -3.0]), opt.init(jnp.zeros(2)))
        >>> [round(float(x), 4) for x in u]  # the first step is -lr * sign(g)
        [-0.1, 0.1]
    """

    def init(params):
        dtype = jax.tree.leaves(params)[0].dtype
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdamState(jnp.zeros((), dtype), zeros, zeros)

    def update(grads, state, params=None):
        del params
        count = state.count + 1
        c = lambda x: jnp.asarray(x, count.dtype)
        mu = jax.tree.map(lambda m, g: c(b1) * m + c(1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: c(b2) * v + c(1 - b2) * g**2, state.nu, grads)
        scale = c(learning_rate) * jnp.sqrt(1 - c(b2) ** count) / (1 - c(b1) ** count)
        updates = jax.tree.map(lambda m, v: -scale * m / (jnp.sqrt(v) + c(eps)), mu, nu)
        return updates, AdamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def _standard_promotion(opt: optax.GradientTransformationExtraArgs):
    """``opt`` traced under standard dtype promotion (optax mixes int32 counters and floats)."""

    def init(params):
        with jax.numpy_dtype_promotion("standard"):
            return opt.init(params)

    def update(updates, state, params=None, **extra):
        with jax.numpy_dtype_promotion("standard"):
            return opt.update(updates, state, params, **extra)

    return optax.GradientTransformationExtraArgs(init, update)


@functools.lru_cache(maxsize=32)
def lbfgs(
    memory_size: int = 10,
    max_linesearch_steps: int = 20,
    max_learning_rate: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""L-BFGS with a strong-Wolfe (zoom) line search: ``optax.lbfgs`` with
    ``optax.scale_by_zoom_linesearch``.

    The first step is the gradient scaled to unit length (no curvature is known yet);
    later steps use the inverse-Hessian estimate from the last ``memory_size`` pairs of
    parameter and gradient differences. Its ``update`` needs ``value=``, ``grad=`` and
    ``value_fn=`` (which :func:`~multiscale.fit.fit` passes).

    Args:
        memory_size: number of difference pairs kept.
        max_linesearch_steps: most evaluations of the loss and its gradient per step.
        max_learning_rate: cap on the step length along the direction (None: none); a cap
            keeps the first trial steps of a simulation-based loss in its valid range.

    Returns:
        An optax ``GradientTransformationExtraArgs``.
    """
    search = optax.scale_by_zoom_linesearch(
        max_linesearch_steps=max_linesearch_steps, max_learning_rate=max_learning_rate
    )
    return _standard_promotion(optax.lbfgs(memory_size=memory_size, linesearch=search))


class AdamThenLBFGSState(NamedTuple):
    """State of :func:`adam_then_lbfgs`: steps taken and each stage's state."""

    count: jax.Array
    adam: AdamState
    lbfgs: Any


@functools.lru_cache(maxsize=32)
def adam_then_lbfgs(
    adam_steps: int,
    learning_rate: float = 0.03,
    memory_size: int = 10,
    max_linesearch_steps: int = 20,
    max_learning_rate: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""Adam for the first ``adam_steps`` steps, then L-BFGS (:func:`adam`, :func:`lbfgs`).

    Adam brings a start near the optimum on a possibly rough loss; L-BFGS then converges
    quickly where the loss is smooth. L-BFGS starts with an empty memory at the point
    Adam reached. The stage is chosen by ``lax.cond`` on the step count: unbatched only
    the chosen stage runs; under ``vmap`` (several starts in :func:`~multiscale.fit.fit`)
    ``cond`` becomes a select and both stages are computed every step.

    Args:
        adam_steps: number of Adam steps before the switch.
        learning_rate: Adam's learning rate.
        memory_size, max_linesearch_steps, max_learning_rate: as in :func:`lbfgs`.

    Returns:
        An optax ``GradientTransformationExtraArgs`` (``update`` needs ``value=``,
        ``grad=`` and ``value_fn=``).
    """
    if adam_steps < 0:
        raise ValueError(f"adam_steps must be >= 0, got {adam_steps}")
    first = adam(learning_rate)
    second = lbfgs(memory_size, max_linesearch_steps, max_learning_rate)

    def init(params):
        return AdamThenLBFGSState(jnp.zeros((), jnp.int32), first.init(params), second.init(params))

    def update(grads, state, params=None, **extra):
        def run_adam(_):
            updates, new = first.update(grads, state.adam, params)
            return updates, AdamThenLBFGSState(state.count + 1, new, state.lbfgs)

        def run_lbfgs(_):
            updates, new = second.update(grads, state.lbfgs, params, **extra)
            return updates, AdamThenLBFGSState(state.count + 1, state.adam, new)

        return jax.lax.cond(state.count < adam_steps, run_adam, run_lbfgs, None)

    return optax.GradientTransformationExtraArgs(init, update)
