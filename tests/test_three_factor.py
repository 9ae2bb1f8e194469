"""Dopamine-gated three-factor plasticity (Izhikevich 2007; Frémaux & Gerstner 2016)."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import multiscale.synapse as ms

TAU_CD = 1.0 * 0.2 / 1.2  # tau_c tau_d / (tau_c + tau_d), s


def _ode_reference(rule, c0, d0, T, drive=0.0):
    """(c, d, w) after T s, integrated with diffrax Tsit5 at tight tolerances."""

    def f(t, y, args):
        del t, args
        c, d, w = y
        return jnp.stack([-c / rule.tau_c + drive, -d / rule.tau_d, (d + rule.d_tonic) * c])

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(f),
        diffrax.Tsit5(),
        0.0,
        T,
        1e-3,
        jnp.array([c0, d0, 0.0]),
        stepsize_controller=diffrax.PIDController(rtol=1e-11, atol=1e-13),
        max_steps=100_000,
    )
    return sol.ys[-1]


def _state(c0, d0=0.0):
    return ms.ThreeFactorState(jnp.zeros((1, 1)), jnp.full((1, 1), c0), jnp.asarray(d0))


def test_closed_form_and_diffrax_reference(float64):
    """Target 7: one burst d0 on a trace c gives dw = c d0 tau_c tau_d/(tau_c + tau_d)."""
    rule = ms.DopamineSTDP(d_tonic=0.0, bounds=ms.HardBounds(-jnp.inf, jnp.inf))
    s = rule.relax(rule.reward(_state(0.37), 50.0), 30.0)
    np.testing.assert_allclose(float(s.weights[0, 0]), 0.37 * 50.0 * TAU_CD, rtol=1e-12)
    # The exact flow over a finite interval, with drive and tonic dopamine, against diffrax.
    rule = ms.DopamineSTDP(d_tonic=0.2, bounds=ms.HardBounds(-jnp.inf, jnp.inf))
    rhb = ms.RewardModulatedHebb(eta=1e-3, d_tonic=0.3, bounds=ms.HardBounds(-jnp.inf, jnp.inf))
    for r, x, y in ((rule, 12.0, 7.0), (rhb, 20.0, 30.0)):
        drive = float(r.hebbian(jnp.asarray(x), jnp.asarray(y)))
        s = r.step(r.reward(_state(0.4), 20.0), jnp.array([x]), jnp.array([y]), 0.7)
        ref = _ode_reference(r, 0.4, 20.0, 0.7, drive)
        got = np.array([s.eligibility[0, 0], s.dopamine, s.weights[0, 0]])
        np.testing.assert_allclose(got, np.asarray(ref), rtol=1e-9, atol=1e-12)


def test_spike_driven_pairing_then_reward(float64):
    """Pre->post at +10 ms writes c = A+ e^{-1/2}; a burst 1 s later converts it exactly."""
    rule = ms.DopamineSTDP(d_tonic=0.0)
    trains = ms.pairing(0.01, 1.0, 1)  # pre 50 ms, post 60 ms
    res = ms.simulate_dopamine_stdp(rule, trains, jnp.array([1.06]), t1=30.0, w0=1.0)
    c_at_reward = 0.1 * np.exp(-0.5) * np.exp(-1.0)
    np.testing.assert_allclose(float(res.delta_w), c_at_reward * 50.0 * TAU_CD, rtol=1e-10)
    # Without dopamine (and no tonic term) the weight does not move at all.
    none = ms.simulate_dopamine_stdp(rule, trains, jnp.array([jnp.inf]), t1=30.0, w0=1.0)
    assert float(none.delta_w) == 0.0
    # With only the tonic term it moves by d_tonic * c * tau_c (1 - e^{-T/tau_c}).
    tonic = ms.simulate_dopamine_stdp(
        ms.DopamineSTDP(), trains, jnp.array([jnp.inf]), t1=30.06, w0=1.0
    )
    expected = 0.2 * 0.1 * np.exp(-0.5) * 1.0 * -np.expm1(-30.0)
    np.testing.assert_allclose(float(tonic.delta_w), expected, rtol=1e-10)
    # Post before pre: negative eligibility, so the same reward depresses.
    anti = ms.simulate_dopamine_stdp(
        rule, ms.pairing(-0.01, 1.0, 1), jnp.array([1.06]), t1=30.0, w0=1.0
    )
    assert float(anti.delta_w) < 0


def test_eligibility_window_timing():
    """The same burst potentiates inside the ~1 s window and essentially not 10 s later."""
    rule = ms.DopamineSTDP(d_tonic=0.0)
    trains = ms.pairing(0.01, 1.0, 1)

    @jax.jit
    @jax.vmap
    def dw(delay):
        return ms.simulate_dopamine_stdp(
            rule, trains, (0.06 + delay)[None], t1=0.06 + delay + 5.0, w0=0.0
        ).delta_w

    out = np.asarray(dw(jnp.array([0.5, 1.0, 3.0, 10.0])))
    assert np.all(np.diff(out) < 0) and out[0] > 0
    np.testing.assert_allclose(out[3] / out[0], np.exp(-9.5), rtol=1e-4)
    assert out[3] < 1e-3 * out[0]


def test_rewarded_synapse_grows_to_the_ceiling():
    """Repeated rewarded pairings drive w towards the 4 mV bound; unrewarded ones do not."""
    rule = ms.DopamineSTDP()
    trains = ms.pairing(0.01, 0.2, 100)  # a pairing every 5 s
    rewards = trains.post + 1.0
    grown = ms.simulate_dopamine_stdp(rule, trains, rewards, t1=510.0, w0=1.0)
    quiet = ms.simulate_dopamine_stdp(rule, trains, jnp.array([jnp.inf]), t1=510.0, w0=1.0)
    assert float(grown.w) == pytest.approx(4.0)
    # Unrewarded, only the tonic term acts (0.2/s x c x tau_c per pairing): far slower.
    np.testing.assert_allclose(float(quiet.delta_w), 100 * 0.2 * 0.1 * np.exp(-0.5), rtol=1e-3)
    assert float(quiet.w) < 2.5


def test_rate_form_jit_vmap_grad(float64):
    rule = ms.RewardModulatedHebb(eta=1e-3)

    def final_w(tau_c, delay):
        r = eqx.tree_at(lambda r: r.tau_c, rule, tau_c)
        s = r.init(jnp.full((3, 2), 0.5))
        s = r.step(s, jnp.array([25.0, 15.0, 12.0]), jnp.array([30.0, 2.0]), 1.0)
        s = r.reward(r.relax(s, delay), 40.0)
        return jnp.sum(r.relax(s, 5.0).weights[:, 0])

    g = jax.jit(jax.grad(final_w))(1.0, 0.5)
    h = 1e-6
    fd = (final_w(1.0 + h, 0.5) - final_w(1.0 - h, 0.5)) / (2 * h)
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)
    many = jax.vmap(final_w, in_axes=(None, 0))(1.0, jnp.array([0.0, 1.0, 4.0]))
    assert many.shape == (3,) and np.all(np.diff(np.asarray(many)) < 0)
    s0 = rule.init(jnp.full((3, 2), 0.5))
    s1 = rule.step(s0, jnp.ones(3), jnp.ones(2), 1.0)
    assert jax.tree.map(lambda a: (a.shape, a.dtype), s0) == jax.tree.map(
        lambda a: (a.shape, a.dtype), s1
    )


def test_spike_driven_grad_matches_finite_differences(float64):
    def dw(tau_d):
        rule = ms.DopamineSTDP(tau_d=tau_d, d_tonic=0.0)
        return ms.simulate_dopamine_stdp(
            rule, ms.pairing(0.01, 2.0, 5), jnp.array([1.5, 3.0]), t1=10.0, w0=1.0
        ).delta_w

    g = jax.grad(dw)(0.2)
    fd = (dw(0.2 + 1e-6) - dw(0.2 - 1e-6)) / 2e-6
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)


def test_bad_input_raises():
    rule = ms.DopamineSTDP()
    s = rule.init(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="dopamine"):
        rule.reward(s, jnp.ones(2))
    # Under the runtime jaxtyping checks of the test suite the shape annotation catches it
    # first (a TypeError); without them check_rates raises the ValueError.
    with pytest.raises((ValueError, TypeError), match="pre_rate"):
        rule.step(s, jnp.ones(3), jnp.ones(2), 1.0)
    with pytest.raises(ValueError, match="tau_c"):
        ms.DopamineSTDP(tau_c=-1.0)
    with pytest.raises(ValueError, match="eta"):
        ms.RewardModulatedHebb(eta=-1.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="duration"):
        rule.relax(s, -1.0)
    with pytest.raises(ValueError, match="spike_times"):
        ms.simulate_dopamine_stdp(rule, ms.pairing(0.01, 1.0, 1), jnp.array([2.0, 1.0]), t1=5.0)
