r"""Adam, then L-BFGS with an Armijo backtracking search taken one evaluation per step.

For a loss that is expensive (a simulation) and rough (a Monte Carlo likelihood on
common random numbers jumps by up to nats where a path changes its choice), the usual
line searches cost too much: ``optax.lbfgs``'s zoom search runs its trial evaluations
inside a ``while_loop``, so the simulation is traced and compiled a second time (20 s
on two CPU cores, measured, for a fit that needs about as long), and the strong-Wolfe
curvature condition rarely holds on a rough loss, so the zoom stalls.

:func:`adam_then_lbfgs_armijo` spreads the search over the optimiser's steps instead:
every ``update`` receives the loss and gradient at the point it proposed last time,
accepts it if Armijo's sufficient-decrease condition holds
(:math:`f(x + \alpha d) \le f(x) + c_1 \alpha\, d^\top \nabla f(x)`; Nocedal & Wright
2006, Algorithm 3.1), and otherwise halves the step and proposes again from the last
accepted point (the *incumbent*). Each call therefore costs exactly the one evaluation
that :func:`~multiscale.fit.fit` makes per step, the simulation is compiled once, and
the search runs unchanged under ``vmap`` over starts (each start backtracks on its own).

The stages, for each start:

1. **Adam** (Kingma & Ba 2015; robust to the loss's jumps) for at most ``adam_steps``
   steps, keeping the best point visited; the stage ends early after ``patience`` steps
   without a gain of ``tol`` in that best value.
2. **L-BFGS** (Liu & Nocedal 1989; the direction of :func:`optax.scale_by_lbfgs`, from
   the differences between accepted points only) from the best point Adam visited. A
   direction that is not one of descent is replaced by the negative gradient; each
   direction is capped at ``max_step`` in every coordinate (long first steps on a rough
   loss mostly end in several halvings). The start *finishes* when an accepted step
   gains less than ``tol``, when ``backtracks`` halvings fail (the search cannot find a
   lower point: a kink or a flat stretch of the Monte Carlo loss), or after
   ``lbfgs_steps`` accepted steps.

The state exposes ``incumbent`` and ``incumbent_value`` (the best point and its loss)
and ``finished``: :func:`~multiscale.fit.fit` reports and returns the incumbent (never
an unaccepted trial point) and stops once every start has finished. A non-finite loss at
a trial point counts as a failed Armijo test.

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

from ._optimizers import AdamState, adam


class ArmijoLBFGSState(NamedTuple):
    """State of :func:`adam_then_lbfgs_armijo` (one start).

    Attributes:
        count: ``update`` calls so far (= loss evaluations).
        lbfgs_stage: False during Adam, True once L-BFGS has started.
        adam: Adam's moments.
        lbfgs: the L-BFGS memory (:func:`optax.scale_by_lbfgs`), fed accepted points only.
        since, record: Adam's early stopping: steps since ``incumbent_value`` last fell
            below ``record - tol``, and that record.
        incumbent, incumbent_value, incumbent_grad: the best accepted point, its loss and
            gradient.
        direction, slope, alpha: the current search direction (capped), its slope
            $d^\\top \\nabla f$ at the incumbent, and the step fraction being tried.
        backtracks: halvings so far on the current direction.
        lbfgs_steps: accepted L-BFGS steps.
        finished: the start has stopped (the parameters stay at the incumbent).
    """

    count: jax.Array
    lbfgs_stage: jax.Array
    adam: AdamState
    lbfgs: Any
    since: jax.Array
    record: jax.Array
    incumbent: Any
    incumbent_value: jax.Array
    incumbent_grad: Any
    direction: Any
    slope: jax.Array
    alpha: jax.Array
    backtracks: jax.Array
    lbfgs_steps: jax.Array
    finished: jax.Array


def _where(c, a, b):
    return jax.tree.map(lambda x, y: jnp.where(c, x, y), a, b)


def _vdot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


@functools.lru_cache(maxsize=32)
def adam_then_lbfgs_armijo(
    adam_steps: int,
    learning_rate: float = 0.03,
    *,
    patience: int = 20,
    tol: float = 1e-2,
    lbfgs_steps: int = 30,
    max_step: float = 0.1,
    backtracks: int = 12,
    c1: float = 1e-4,
    memory_size: int = 10,
) -> optax.GradientTransformationExtraArgs:
    r"""Adam, then L-BFGS with a one-evaluation-per-step Armijo backtracking search.

    See the module docstring. Its ``update`` needs ``value=``, the loss at ``params``
    (:func:`~multiscale.fit.fit` passes it).

    Args:
        adam_steps: most Adam steps (0: L-BFGS from the start).
        learning_rate: Adam's step, in the units of the optimised parameters.
        patience, tol: Adam ends after ``patience`` steps without a gain of ``tol`` in the
            best loss; an accepted L-BFGS step gaining less than ``tol`` ends the start.
        lbfgs_steps: most accepted L-BFGS steps.
        max_step: cap on each coordinate of an L-BFGS step (0.1 on a log scale: 10 %).
        backtracks: most halvings of one step; 12 reach $2^{-11}$ of it (the stiffest
            direction of the trial-level circuit fit, about 2e5 nats per unit log for
            2604 trials, needs steps of ~5e-4 near the optimum; with 6 halvings the
            search failed there, measured).
        c1: Armijo's sufficient-decrease constant.
        memory_size: L-BFGS memory.

    Returns:
        An optax ``GradientTransformationExtraArgs``.
    """
    if adam_steps < 0 or lbfgs_steps < 0 or patience < 1 or backtracks < 1:
        raise ValueError(
            "adam_steps and lbfgs_steps must be >= 0, patience and backtracks >= 1; got "
            f"{adam_steps}, {lbfgs_steps}, {patience}, {backtracks}"
        )
    if not (max_step > 0 and 0 < c1 < 1 and tol >= 0):
        raise ValueError(f"need max_step > 0, 0 < c1 < 1, tol >= 0; got {max_step}, {c1}, {tol}")
    first = adam(learning_rate)
    # optax's L-BFGS mixes an int32 counter with floats: traced under standard promotion.
    memory = optax.scale_by_lbfgs(memory_size)

    def init(params):
        dtype = jax.tree.leaves(params)[0].dtype
        with jax.numpy_dtype_promotion("standard"):
            lbfgs_state = memory.init(params)
        zeros = jax.tree.map(jnp.zeros_like, params)
        inf, zero = jnp.asarray(jnp.inf, dtype), jnp.zeros((), dtype)
        i0 = jnp.zeros((), jnp.int32)
        return ArmijoLBFGSState(
            i0, jnp.asarray(False), first.init(params), lbfgs_state, i0, inf,
            params, inf, zeros, zeros, zero, zero, i0, i0, jnp.asarray(False),
        )  # fmt: skip

    def propose(x, g, lbfgs_state):
        """A capped L-BFGS direction from the accepted point ``x`` with gradient ``g``."""
        with jax.numpy_dtype_promotion("standard"):
            d, lbfgs_state = memory.update(g, lbfgs_state, x)
        d = jax.tree.map(jnp.negative, d)
        descent = _vdot(d, g) < 0
        d = _where(descent, d, jax.tree.map(jnp.negative, g))
        largest = jnp.max(jnp.stack([jnp.max(jnp.abs(v)) for v in jax.tree.leaves(d)]))
        scale = jnp.minimum(1.0, max_step / jnp.maximum(largest, 1e-12)).astype(largest.dtype)
        d = jax.tree.map(lambda v: v * scale, d)
        return d, _vdot(d, g), lbfgs_state

    def update(grads, state, params=None, *, value, **extra):
        del extra
        s = state
        one = jnp.ones((), jnp.int32)
        dtype = s.incumbent_value.dtype
        finite = jnp.isfinite(value)
        value = jnp.where(finite, value, jnp.inf).astype(dtype)
        grads = _where(finite, grads, jax.tree.map(jnp.zeros_like, grads))

        # Adam stage: keep the best point visited; switch when out of steps or patience.
        better = value < s.incumbent_value
        inc = _where(better, params, s.incumbent)
        inc_v = jnp.where(better, value, s.incumbent_value)
        inc_g = _where(better, grads, s.incumbent_grad)
        gained = inc_v < s.record - tol
        since = jnp.where(gained, 0, s.since + 1)
        record = jnp.minimum(s.record, inc_v)
        adam_upd, adam_state = first.update(grads, s.adam, params)
        switch = (s.count + 1 >= adam_steps) | (since >= patience)
        d0, slope0, lb0 = propose(inc, inc_g, s.lbfgs)
        adam_next = ArmijoLBFGSState(
            s.count + 1, switch, adam_state, _where(switch, lb0, s.lbfgs), since, record,
            inc, inc_v, inc_g, _where(switch, d0, s.direction), jnp.where(switch, slope0, s.slope),
            jnp.ones((), dtype), jnp.zeros((), jnp.int32), s.lbfgs_steps,
            switch & (lbfgs_steps == 0),
        )  # fmt: skip
        # Adam's own step, or (switching) the first L-BFGS trial point from the incumbent.
        target = _where(
            switch,
            jax.tree.map(jnp.add, inc, d0),
            jax.tree.map(jnp.add, params, adam_upd),
        )

        # L-BFGS stage: ``params`` is the trial point incumbent + alpha * direction.
        ok = finite & (value <= s.incumbent_value + c1 * s.alpha * s.slope)
        n_acc = s.lbfgs_steps + one
        stop_acc = (s.incumbent_value - value < tol) | (n_acc >= lbfgs_steps)
        d1, slope1, lb1 = propose(params, grads, s.lbfgs)
        n_back = s.backtracks + one
        give_up = n_back >= backtracks
        half = 0.5 * s.alpha
        accepted = ArmijoLBFGSState(
            s.count + 1, s.lbfgs_stage, s.adam, lb1, s.since, s.record, params, value, grads,
            d1, slope1, jnp.ones((), dtype), jnp.zeros((), jnp.int32), n_acc, stop_acc,
        )  # fmt: skip
        rejected = s._replace(count=s.count + 1, alpha=half, backtracks=n_back, finished=give_up)
        lbfgs_next = _where(ok, accepted, rejected)
        lbfgs_target = _where(
            lbfgs_next.finished,
            lbfgs_next.incumbent,
            jax.tree.map(lambda x, d: x + lbfgs_next.alpha * d, lbfgs_next.incumbent,
                         lbfgs_next.direction),
        )  # fmt: skip

        in_lbfgs = s.lbfgs_stage
        new = _where(in_lbfgs, lbfgs_next, adam_next)
        target = _where(in_lbfgs, lbfgs_target, target)
        # A finished start stays at its incumbent and its state stops changing.
        new = _where(s.finished, s._replace(count=s.count + 1), new)
        target = _where(new.finished, new.incumbent, target)
        updates = jax.tree.map(jnp.subtract, target, params)
        return updates, new

    return optax.GradientTransformationExtraArgs(init, update)


def armijo_state(opt_state) -> ArmijoLBFGSState | None:
    """The :class:`ArmijoLBFGSState` inside an optimiser state, or None if there is none."""
    is_state = lambda x: isinstance(x, ArmijoLBFGSState)
    found = [x for x in jax.tree.leaves(opt_state, is_leaf=is_state) if is_state(x)]
    return found[0] if found else None
