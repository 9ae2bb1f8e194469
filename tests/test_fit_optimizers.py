"""Optimisers as optax transformations through ``fit``: Adam, L-BFGS, Adam then L-BFGS."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import multiscale as ms
from multiscale.fit import adam, adam_then_lbfgs, lbfgs


class _Point(eqx.Module):
    x: jax.Array


def _rosenbrock(m, data):
    # Rosenbrock (1960): minimum 0 at (1, 1) in a curved valley.
    del data
    x, y = m.x[0], m.x[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def test_adam_is_kingma_and_ba(float64):
    # With eps = 0 the efficient form equals optax's Adam exactly (Kingma & Ba 2015).
    grads = [jnp.array([1.0, -2.0]) * (k + 1) ** 0.5 for k in range(20)]
    ours, ref = adam(0.05, eps=0.0), optax.adam(0.05, eps=0.0)
    s1, s2 = ours.init(jnp.zeros(2)), ref.init(jnp.zeros(2))
    for g in grads:
        u1, s1 = ours.update(g, s1)
        with jax.numpy_dtype_promotion("standard"):
            u2, s2 = ref.update(g, s2)
        np.testing.assert_allclose(u1, u2, rtol=1e-12)
    assert adam(0.05, eps=0.0) is ours  # cached: repeated fits reuse the compiled loop


def test_lbfgs_through_fit_is_optax_lbfgs_and_converges(float64):
    start = _Point(jnp.array([-1.2, 1.0]))
    m, hist = ms.fit.fit(start, _rosenbrock, None, optimizer=lbfgs(), steps=200, key=jr.key(0),
                         patience=10, tol=1e-12, chunk=10, progress=False)  # fmt: skip
    np.testing.assert_allclose(m.x, [1.0, 1.0], atol=1e-6)
    assert hist.converged and hist.stopped and hist.check.min_eigenvalue > 0
    # The same iterates as optax's documented L-BFGS loop (value and gradient read back
    # from the line search's state).
    opt = optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=20))
    f = lambda x: _rosenbrock(_Point(x), None)
    vg = optax.value_and_grad_from_state(f)

    @jax.jit
    def step(x, state):
        with jax.numpy_dtype_promotion("standard"):  # optax mixes int32 and int64 here
            v, g = vg(x, state=state)
            u, state = opt.update(g, state, x, value=v, grad=g, value_fn=f)
            return optax.apply_updates(x, u), state

    with jax.numpy_dtype_promotion("standard"):
        x, state = start.x, opt.init(start.x)
    for _ in range(30):
        x, state = step(x, state)
    np.testing.assert_allclose(hist.loss[30], f(x), rtol=1e-8, atol=1e-14)


def test_adam_then_lbfgs_switches_and_runs_vmapped_under_strict_promotion(key):
    x = jr.normal(key, (200,)) * 0.5 + 2.0

    class Gauss(eqx.Module):
        mu: jax.Array
        log_sigma: jax.Array

    def nll(m, x):
        return jnp.sum(0.5 * ((x - m.mu) / jnp.exp(m.log_sigma)) ** 2 + m.log_sigma)

    start = Gauss(jnp.asarray(0.0), jnp.asarray(0.0))
    opt = adam_then_lbfgs(5, learning_rate=0.1)
    # The first five steps are Adam's.
    _, adam_losses = ms.fit.optimize(start, nll, x, optimizer=adam(0.1), steps=5)
    _, both_losses = ms.fit.optimize(start, nll, x, optimizer=opt, steps=5)
    np.testing.assert_allclose(both_losses, adam_losses, rtol=1e-6)
    # Then L-BFGS converges, from three starts at once (vmap), in strict promotion.
    m, hist = ms.fit.fit(start, nll, x, optimizer=opt, steps=60, key=key, n_starts=3,
                         patience=5, tol=1e-6, chunk=5, progress=False)  # fmt: skip
    np.testing.assert_allclose(m.mu, jnp.mean(x), rtol=1e-4)
    np.testing.assert_allclose(jnp.exp(m.log_sigma), jnp.std(x), rtol=1e-4)
    assert hist.converged, hist.reason
    assert hist.start_losses.shape == (3,)
    with pytest.raises(ValueError, match="adam_steps"):
        adam_then_lbfgs(-1)


def test_default_optimizer_runs_under_strict_promotion(key):
    # optax.adam fails under strict dtype promotion; the default Adam does not.
    m, hist = ms.fit.fit(_Point(jnp.array([0.0, 0.0])), lambda m, d: jnp.sum((m.x - d) ** 2),
                         jnp.array([1.0, -1.0]), steps=400, key=key, patience=20, tol=1e-7,
                         progress=False)  # fmt: skip
    np.testing.assert_allclose(m.x, [1.0, -1.0], atol=1e-3)
