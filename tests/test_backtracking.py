"""Adam then L-BFGS with a one-evaluation-per-step Armijo search, through ``fit``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from multiscale.fit import ArmijoLBFGSState, adam_then_lbfgs_armijo, fit


class Point(eqx.Module):
    x: jax.Array


def rosenbrock(m, data):
    x = m.x
    return data * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


class Counted(eqx.Module):
    """A loss that records how often it ran, through a host callback."""

    calls: list = eqx.field(static=True)

    def __call__(self, m, data):
        jax.debug.callback(lambda: self.calls.append(1))
        return rosenbrock(m, data)


def test_reaches_the_rosenbrock_minimum_and_passes_the_optimum_check():
    # Rosenbrock (1960) valley, minimum 0 at (1, 1): Adam stalls in the curved valley,
    # L-BFGS with Armijo steps follows it.
    opt = adam_then_lbfgs_armijo(20, 0.05, tol=1e-12, lbfgs_steps=200, max_step=0.5)
    m, hist = fit(
        Point(jnp.array([-1.2, 1.0])), rosenbrock, jnp.asarray(100.0), optimizer=opt,
        steps=3000, key=jr.key(0), patience=3000, chunk=20, check_tol=1e-8,
    )  # fmt: skip
    np.testing.assert_allclose(m.x, [1.0, 1.0], atol=1e-4)
    assert hist.stopped and hist.converged, hist.reason
    state = hist.opt_state
    assert isinstance(state, ArmijoLBFGSState) and bool(state.finished)
    assert 5 < int(state.lbfgs_steps) <= 200
    # The returned point is the incumbent, and the recorded loss is its loss.
    np.testing.assert_allclose(rosenbrock(m, 100.0), hist.start_losses[0], rtol=1e-6, atol=1e-12)
    # The recorded trace of incumbent losses never rises.
    assert np.all(np.diff(np.asarray(hist.loss)) <= 1e-7)


def test_one_loss_evaluation_per_step():
    calls = []
    opt = adam_then_lbfgs_armijo(5, 0.05, tol=0.0, lbfgs_steps=1000)
    _, hist = fit(
        Point(jnp.array([-1.2, 1.0])), Counted(calls), jnp.asarray(100.0), optimizer=opt,
        steps=40, key=jr.key(0), patience=1000, chunk=10, check=False,
    )  # fmt: skip
    # 40 optimiser steps (value and gradient each); the chunk's final loss is read from
    # the state, not evaluated again.
    assert hist.steps_taken == 40 and len(calls) == 40


def test_a_non_finite_trial_point_is_backtracked_from():
    # The loss is infinite past x = 1.5 and its minimum sits just inside, at 1.4: long
    # L-BFGS steps overshoot into the infinite region and must be halved.
    def walled(m, data):
        x = m.x[0]
        return jnp.where(x < 1.5, (x - 1.4) ** 2 - jnp.log(1.5 - x) * data, jnp.inf)

    opt = adam_then_lbfgs_armijo(0, tol=1e-12, lbfgs_steps=100, max_step=5.0)
    m, hist = fit(
        Point(jnp.array([0.0])), walled, jnp.asarray(1e-3), optimizer=opt, steps=400,
        key=jr.key(0), patience=400, chunk=10,
    )  # fmt: skip
    assert np.isfinite(hist.start_losses[0]) and float(m.x[0]) < 1.5
    # Optimum of (x - 1.4)^2 - 1e-3 log(1.5 - x): 2 (x - 1.4) = -1e-3 / (1.5 - x).
    x = float(m.x[0])
    assert abs(2 * (x - 1.4) * (1.5 - x) + 1e-3) < 1e-6
    assert hist.converged


def test_every_start_backtracks_on_its_own_and_the_best_is_kept():
    opt = adam_then_lbfgs_armijo(10, 0.05, tol=1e-10, lbfgs_steps=300, max_step=0.5)
    m, hist = fit(
        Point(jnp.array([-1.2, 1.0])), rosenbrock, jnp.asarray(100.0), optimizer=opt,
        steps=2000, key=jr.key(3), n_starts=3, start_scale=0.5, patience=2000, chunk=25,
    )  # fmt: skip
    assert hist.start_losses.shape == (3,)
    assert int(hist.best_start) == int(np.argmin(hist.start_losses))
    np.testing.assert_allclose(m.x, [1.0, 1.0], atol=1e-3)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="patience"):
        adam_then_lbfgs_armijo(10, patience=0)
    with pytest.raises(ValueError, match="max_step"):
        adam_then_lbfgs_armijo(10, max_step=0.0)
    with pytest.raises(ValueError, match="c1"):
        adam_then_lbfgs_armijo(10, c1=1.5)
