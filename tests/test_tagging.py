"""Synaptic tagging and capture: TagTriC (Clopath et al. 2008)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.synapse as ms

T_WEAK = 1800.0  # weak tetanus on pathway A (0), s
T1 = 6 * 3600.0


@eqx.debug.assert_max_traces(max_traces=1)
def _capture_run(delay, key):
    # Protocol timing is traced: the weak tetanus on A at T_WEAK, the strong tetanus on B
    # `delay` s later (negative: before).
    ind = ms.weak_tetanus(T_WEAK, 0) + ms.strong_tetanus(T_WEAK + delay, 1)
    res = ms.simulate_tagging(ms.TagTriC(), ind, t1=T1, key=key)
    return res.weights, res.early, res.late


_capture_batch = jax.jit(jax.vmap(jax.vmap(_capture_run, in_axes=(None, 0)), in_axes=(0, None)))


def test_capture_window_early_decay_and_vmap_over_timing(getkey):
    """Weak LTP on A is consolidated only if B's strong tetanus comes within the window.

    One compilation serves every delay (the timing is traced). The early phase of A
    decays with tau_h = 1/k_h = 3600 s whatever happens on B.
    """
    delays = jnp.array([-1800.0, 0.0, 3 * 3600.0])
    keys = jr.split(getkey(), 16)
    w, early, late = (np.asarray(x, dtype=float) for x in _capture_batch(delays, keys))
    captured = late[:, :, -1, 0].mean(1) - 0.3  # gain in the z-up fraction of A
    w_end = w[:, :, -1, 0].mean(1)
    assert captured[0] > 0.05 and captured[1] > 0.05, captured
    assert captured[2] < 0.015, captured
    assert min(captured[:2]) > 4 * captured[2]
    assert w_end[0] > 1.05 and w_end[1] > 1.05 and abs(w_end[2] - 1.0) < 0.03, w_end
    # B consolidates in every case (strong tetanus alone suffices).
    assert np.all(late[:, :, -1, 1].mean(1) > 0.45)

    # Early-phase decay of A: censored-exponential MLE (tag-time / tags lost) from 1 min
    # after the weak tetanus, pooled over all 48 cells (~1900 tags): ~2.3 % standard error.
    x = early[:, :, :, 0].mean((0, 1))[int(T_WEAK / 60) + 1 :]
    tau = np.sum(x[1:] + x[:-1]) / 2 * 60.0 / (x[0] - x[-1])
    assert tau == pytest.approx(3600.0, rel=0.1)
    # Weak early LTP: ~0.4 g_h / (w0 + 0.3 g_z) = +25 % just after, ~5 % of that 3 h later.
    peak = w[2, :, int(T_WEAK / 60) + 1, 0].mean() - 1.0
    later = w[2, :, int((T_WEAK + 3 * 3600) / 60), 0].mean() - 1.0
    assert 0.18 < peak < 0.32 and later < 0.12 * peak

    # Other timings reuse the compiled sweep (assert_max_traces on _capture_run).
    w2 = np.asarray(_capture_batch(delays + 600.0, keys)[0])
    assert not np.allclose(w2[:, :, -1, 0], w[:, :, -1, 0])


def test_step_closed_forms_and_rk4_convergence(float64):
    """Proteins follow their closed forms; z converges under dt -> 0 (RK4)."""
    model = ms.TagTriC(k_h=1e-12)  # tags that last for the whole test
    s0 = model.init()
    assert s0.z.dtype == jnp.float64

    @jax.jit
    def run(state, dt, n):
        # A traced trip count: every (dt, n) below shares one compilation.
        return jax.lax.fori_loop(0, n, lambda i, s: model.step(s, dt), state), None

    # No tags: p decays with tau_pd, z stays at its two stable points.
    s1, _ = run(eqx.tree_at(lambda s: s.p, s0, jnp.asarray(1.0)), 10.0, 360)
    assert float(s1.p) == pytest.approx(np.exp(-3600.0 / 3600.0), rel=1e-12)
    np.testing.assert_array_equal(np.asarray(s1.z), np.asarray(s0.z))

    # All 200 synapses tagged: trigger on, p -> p_inf (1 - exp(-t (1/tau_pd + 1/tau_pm))).
    tagged = s0
    for path in (0, 1):
        tagged = model.induce(tagged, path, 1.0, 0.0, key=jr.key(path))
    assert float(jnp.sum(tagged.h)) == 200.0 and float(model.triggered(tagged)) == 1.0
    s2, _ = run(tagged, 10.0, 360)
    rate = 1 / 3600 + 1 / 360
    assert float(s2.p) == pytest.approx((1 / 360) / rate * (1 - np.exp(-3600 * rate)), rel=1e-12)
    # Every tagged synapse consolidates (z -> 1) with proteins on for 1 h ...
    assert float(jnp.min(s2.z)) > 0.5
    # ... and RK4 at 10 s agrees with 0.5 s to 1e-7 (4th order: the error falls ~1e5x).
    fine, _ = run(tagged, 0.5, 7200)
    coarse_err = float(jnp.max(jnp.abs(s2.z - fine.z)))
    mid, _ = run(tagged, 20.0, 180)
    assert coarse_err < 1e-7
    assert float(jnp.max(jnp.abs(mid.z - fine.z))) > 8 * coarse_err


def test_gradient_matches_finite_differences(float64):
    """d(final weight of A)/d(gamma) and /d(tau_pd) under capture, against central FD."""
    ind = ms.weak_tetanus(600.0, 0) + ms.strong_tetanus(900.0, 1)
    key = jr.key(3)

    def w_a(log_params):
        gamma, tau_pd = jnp.exp(log_params)
        model = ms.TagTriC(gamma=gamma, tau_pd=tau_pd, n_synapses=20, theta_p=12.0)
        return ms.simulate_tagging(model, ind, t1=3 * 3600.0, key=key, save_every=60).weights[-1, 0]

    x0 = jnp.log(jnp.array([0.1, 3600.0]))
    # One compilation for the gradient and the finite differences alike.
    value_and_grad = jax.jit(jax.value_and_grad(w_a))
    g = np.asarray(value_and_grad(x0)[1])
    eps = 1e-5

    def f(x):
        return float(value_and_grad(x)[0])

    fd = np.array([(f(x0 + eps * e) - f(x0 - eps * e)) / (2 * eps) for e in jnp.eye(2)])
    assert np.all(np.abs(g) > 1e-4), g  # the weight does depend on both
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="time"):
        ms.weak_tetanus(-5.0, 0)
    with pytest.raises(ValueError, match="one length"):
        ms.Induction(jnp.array([1.0, 2.0]), jnp.array([0, 1, 0]), 0.5, 0.0)
    with pytest.raises(ValueError, match="one length"):
        ms.Induction(jnp.ones((2, 2)), 0, 0.5, 0.0)
    with pytest.raises(ValueError, match="p_ltp"):
        ms.Induction(1.0, 0, 1.5, 0.0)
    with pytest.raises(ValueError, match="tau_pd"):
        ms.TagTriC(tau_pd=-1.0)
    model, ind, key = ms.TagTriC(), ms.weak_tetanus(10.0, 0), jr.key(0)
    with pytest.raises(ValueError, match="t1"):
        ms.simulate_tagging(model, ind, t1=-3600.0, key=key)
    with pytest.raises(ValueError, match="dt"):
        ms.simulate_tagging(model, ind, t1=3600.0, dt=0.0, key=key)
    with pytest.raises(ValueError, match="< t1"):
        ms.simulate_tagging(model, ms.weak_tetanus(7200.0, 0), t1=3600.0, key=key)
    with pytest.raises(ValueError, match="pathway"):
        ms.simulate_tagging(model, ms.weak_tetanus(10.0, 2), t1=3600.0, key=key)
    with pytest.raises(ValueError, match="multiple"):
        ms.simulate_tagging(model, ind, t1=3601.0, key=key)
