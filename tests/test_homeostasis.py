"""Synaptic scaling (Turrigiano et al. 1998) and Vogels et al. 2011 iSTDP (scaled down)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.synapse as ms

X = np.array([4.0, 10.0, 1.0, 7.0])  # presynaptic rates, Hz
W0 = np.array([[0.1], [0.3], [0.05], [0.2]])  # y = 5.25 Hz at baseline


def _scale_loop(rule, w0, x, n_steps=400, dt=0.5):
    """Closed loop: a linear rate cell y = w . x (Hz) whose inputs are scaled by the rule."""

    def body(state, _):
        y = (state.weights[:, 0] @ x)[None]
        return rule.step(state, x, y, dt), y[0]

    w0, x = jnp.asarray(w0), jnp.asarray(x)
    return jax.lax.scan(body, rule.init(w0, rate_estimate=(w0[:, 0] @ x)), None, n_steps)


@pytest.mark.parametrize("activity", [0.3, 3.0])
def test_scaling_reaches_target_and_preserves_ratios(float64, activity):
    """TTX-like silencing (x 0.3) scales weights up, bicuculline-like (x 3) down."""
    rule = ms.SynapticScaling(r_target=5.0, tau_scale=10.0, tau_rate=1.0)
    w0 = jnp.asarray(W0)
    state, ys = _scale_loop(rule, w0, activity * X)
    np.testing.assert_allclose(float(ys[-1]), 5.0, rtol=1e-3)
    w = state.weights[:, 0]
    assert (float(w[0]) > 0.1) == (activity < 1.0)
    np.testing.assert_allclose(np.asarray(w / w[1]), np.asarray(w0[:, 0] / w0[1, 0]), rtol=1e-13)


def test_scaling_exact_step_and_float32_ratios():
    rule = ms.SynapticScaling(r_target=5.0, tau_scale=10.0, tau_rate=1.0)
    w0 = jnp.asarray(W0)
    state, _ = _scale_loop(rule, w0, 0.3 * X)
    w = np.asarray(state.weights[:, 0])
    np.testing.assert_allclose(w / w[1], np.asarray(w0[:, 0] / w0[1, 0]), rtol=1e-5)
    # One step at constant rate y: log w changes by (r_t T - int r_hat)/(r_t tau_scale).
    s = rule.init(jnp.ones((1, 1)), rate_estimate=2.0)
    s = rule.step(s, jnp.ones(1), jnp.array([8.0]), 3.0)
    integral = 8.0 * 3.0 + (2.0 - 8.0) * (1 - np.exp(-3.0))
    np.testing.assert_allclose(float(s.weights[0, 0]), np.exp((15.0 - integral) / 50.0), rtol=1e-6)
    np.testing.assert_allclose(float(s.rate_estimate[0]), 8.0 - 6.0 * np.exp(-3.0), rtol=1e-6)


def test_istdp_rate_form_fixed_point_and_grad(float64):
    """Averaged rule: a rate cell y = [40 - w . x_I]_+ settles exactly at rho0 = alpha/2tau."""
    x_inh = jnp.array([10.0, 20.0])

    def final_rate(rho0):
        rule = ms.InhibitorySTDP(eta=2e-2, rho0=rho0)

        def body(state, _):
            y = jax.nn.relu(40.0 - state.weights[:, 0] @ x_inh)[None]
            return rule.step(state, x_inh, y, 0.05), y[0]

        _, ys = jax.lax.scan(body, rule.init(jnp.zeros((2, 1))), None, 3000)
        return ys[-1]

    np.testing.assert_allclose(float(final_rate(3.0)), 3.0, rtol=1e-6)
    np.testing.assert_allclose(float(final_rate(6.25)), 6.25, rtol=1e-6)
    g = jax.grad(final_rate)(4.0)
    fd = (final_rate(4.0 + 1e-5) - final_rate(4.0 - 1e-5)) / 2e-5
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)
    assert float(ms.InhibitorySTDP().alpha) == pytest.approx(0.12)


# Last-20-s rate (Hz) of the same cell, inputs and rule in Brian2 2.10.1 (Stimberg et al.
# 2019, eLife), mean of seeds 0-2 (benchmarks/peers/istdp_cell_brian2.py): 4.45-4.65 Hz
# for rho0 = 3 and 8.2-8.35 Hz for rho0 = 6.
BRIAN2_LATE_RATE = {3.0: 4.55, 6.0: 8.28}


def test_istdp_lif_cell_relaxes_to_target(key):
    """iSTDP brings a LIF cell firing > 15 Hz down towards rho0, lower for a lower rho0.

    The cell settles 1.4-1.5x above rho0 (the registry's known gap
    ``vogels_istdp_lif_cell``), as the same model does in Brian2: the late rate must be
    within 25% of Brian2's (seed-to-seed spread of multiscale: 4.0-5.4 Hz for rho0 = 3).
    """

    @jax.jit
    def run(rho0, k):
        rule = ms.InhibitorySTDP(eta=0.2, rho0=rho0)
        return ms.simulate_istdp_cell(rule, key=k, t1=40.0, w_exc=0.5, window=5.0)

    low, high = run(3.0, key), run(6.0, jr.fold_in(key, 1))
    for res, rho0 in ((low, 3.0), (high, 6.0)):
        rate = np.asarray(res.rate)
        assert rate[0] > 15.0  # before inhibition has grown
        late = rate[-4:].mean()
        assert rho0 <= late <= 1.6 * rho0, (rho0, rate)  # the bound before the Brian2 check
        assert abs(late / BRIAN2_LATE_RATE[rho0] - 1.0) < 0.25, (rho0, rate)
    assert float(np.mean(low.weights)) > float(np.mean(high.weights))


def test_istdp_lif_cell_excess_shrinks_with_weaker_inputs(key):
    """The excess over rho0 comes from single-input spike-timing effects (Vogels et al. 2011).

    An inhibitory spike delays the next output spike, so the pre trace at post spikes is
    below its Poisson mean and the drift vanishes above rho0. Ten times more, ten times
    weaker inputs (800 E + 200 I, w_E 0.05 nS, eta 0.02 nS) shrink that effect: rho0 = 3
    settles at 3.55-3.65 Hz in multiscale and 3.4-3.55 Hz in Brian2 2.10.1 (seeds 0-2),
    vs 4.0-5.4 Hz with 80 + 20 inputs.
    """

    @jax.jit
    def late_rate(k):
        rule = ms.InhibitorySTDP(eta=0.02, rho0=3.0)
        res = ms.simulate_istdp_cell(
            rule, key=k, t1=40.0, n_exc=800, n_inh=200, w_exc=0.05, window=5.0
        )
        return res.rate[-4:].mean()

    late = float(late_rate(key))
    assert 2.7 < late < 3.9, late  # within 1.3x of rho0 (1.4-1.8x with 80 + 20 inputs)


def test_homeostasis_bad_input():
    with pytest.raises(ValueError, match="tau_scale"):
        ms.SynapticScaling(tau_scale=0.0)
    with pytest.raises(ValueError, match="rho0"):
        ms.InhibitorySTDP(rho0=-1.0)
    with pytest.raises(ValueError, match="window"):
        ms.simulate_istdp_cell(ms.InhibitorySTDP(), key=jr.key(0), t1=1.0, window=0.0)
