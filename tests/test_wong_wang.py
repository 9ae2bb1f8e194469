"""Tests of the Wong–Wang 2006 circuit, its scan integrator and its diffrax reference."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import multiscale.circuit as mc
from multiscale.circuit._decision_reference import brownian_normals, brownian_path, simulate_sde
from multiscale.synapse import SaturatingNMDA


def test_nmda_kinetics_set_tau_S_and_gamma():
    c = mc.WongWang2006()
    assert float(c.gamma) == pytest.approx(0.641, rel=1e-6)
    assert float(c.tau_S) == pytest.approx(0.1)
    faster = eqx.tree_at(lambda m: m.nmda.tau_decay, c, 0.05)
    assert float(faster.tau_S) == pytest.approx(0.05)
    weaker = eqx.tree_at(lambda m: m.nmda.alpha, c, 250.0)
    assert float(weaker.gamma) == pytest.approx(0.3205, rel=1e-6)


def test_transfer_function_finite_at_removable_singularity(float64):
    c = mc.WongWang2006()
    x0 = jnp.asarray(108.0 / 270.0)  # a x - b = 0
    assert float(c.rate(x0)) == pytest.approx(1.0 / 0.154, rel=1e-9)
    g = jax.grad(lambda x: c.rate(x))(x0)
    # d/dx of exprel(d u)/d at u = 0 is a/2.
    assert float(g) == pytest.approx(270.0 / 2.0, rel=1e-6)
    x = jnp.asarray(0.5)
    u = 270.0 * 0.5 - 108.0
    assert float(c.rate(x)) == pytest.approx(u / (1.0 - np.exp(-0.154 * u)), rel=1e-12)


def test_noise_free_scan_matches_solve_ivp(float64):
    c = mc.WongWang2006(sigma_noise=0.0)
    stim = mc.Stimulus(coherence=0.1)
    protocol = mc.TrialProtocol(dt=5e-5, t_on=0.1, t1=0.6)
    traj = mc.simulate(c, stim, key=jr.key(0), protocol=protocol, save_every=100)

    on_level = c.stimulus_input(stim)
    current = lambda t: jnp.where(t >= protocol.t_on, on_level, 0.0)
    field = jax.jit(lambda t, S: c.vector_field(S, current(t))[0])
    f = lambda t, S: np.asarray(field(jnp.asarray(t), jnp.asarray(S)))

    ref = solve_ivp(
        f, (0.0, 0.6), [0.1, 0.1], t_eval=np.asarray(traj.ts), rtol=1e-10, atol=1e-12, max_step=1e-3
    )
    # Forward Euler is first order: the error at dt = 50 us is of order 1e-4.
    np.testing.assert_allclose(np.asarray(traj.S), ref.y.T, atol=5e-4)


@pytest.mark.slow
def test_noise_free_scan_settles_on_newton_fixed_point(float64):
    c = mc.WongWang2006(sigma_noise=0.0)
    traj = mc.simulate(
        c, mc.Stimulus(mu0=0.0), key=jr.key(0), protocol=mc.TrialProtocol(t1=3.0), save_every=0
    )
    fp = mc.symmetric_fixed_point(c, 0.0, 0.1)
    np.testing.assert_allclose(np.asarray(traj.S[-1]), np.asarray(fp.S), rtol=1e-6)
    assert bool(fp.stable)


def _strong_errors(dts, n_paths, T=0.2):
    c = mc.WongWang2006()
    stim = mc.Stimulus(coherence=0.1)

    def errors(key):
        path = brownian_path(key=key, t1=T, tol=1e-7)
        ref = simulate_sde(c, stim, path, protocol=mc.TrialProtocol(dt=1e-5, t_on=0.05, t1=T))
        out = []
        for dt in dts:
            xi = brownian_normals(path, dt=dt, n_steps=round(T / dt))
            protocol = mc.TrialProtocol(dt=dt, t_on=0.05, t1=T)
            traj = mc.simulate_with_normals(c, stim, xi, protocol=protocol, save_every=0)
            out.append(jnp.max(jnp.abs(traj.S[-1] - ref)))
        return jnp.stack(out)

    return np.asarray(jax.jit(jax.vmap(errors))(jr.split(jr.key(0), n_paths)).mean(0))


def test_scan_converges_to_diffrax_on_same_brownian_path(float64):
    err = _strong_errors((4e-4, 1e-4), n_paths=2)
    # Strong order 1 for additive noise: a 4x smaller step gives a ~4x smaller error.
    assert err[0] / err[1] > 2.5, err
    assert err[1] < 2e-4, err


@pytest.mark.slow
def test_strong_order_one_against_diffrax(float64):
    err = _strong_errors((4e-4, 2e-4, 1e-4, 5e-5), n_paths=8)
    assert np.all(np.diff(err) < 0), err
    # 8x smaller step, error about 8x smaller (measured: 3.2e-4 -> 3.8e-5).
    assert err[0] / err[-1] > 5.0, err
    assert err[-1] < 1e-4, err


def test_jit_vmap_stable_shapes_and_dtypes(key):
    c = mc.WongWang2006()
    protocol = mc.TrialProtocol(t_on=0.0, t1=0.1)
    f = jax.jit(
        jax.vmap(lambda k: mc.simulate(c, mc.Stimulus(coherence=0.2), key=k, protocol=protocol))
    )
    traj = f(jr.split(key, 3))
    assert traj.S.shape == (3, 200, 2) and traj.S.dtype == jnp.float32
    assert traj.r.shape == (3, 200, 2) and traj.ts.shape == (3, 200)
    assert traj.result.shape == (3,) and bool(jnp.all(traj.ok))
    # Saving every 10th step keeps the same samples (both compiled: an eager run may differ
    # from a jitted one in the last bit, as XLA fuses differently).
    sub = jax.jit(
        jax.vmap(
            lambda k: mc.simulate(
                c, mc.Stimulus(coherence=0.2), key=k, protocol=protocol, save_every=10
            )
        )
    )(jr.split(key, 3))
    np.testing.assert_array_equal(np.asarray(sub.S), np.asarray(traj.S[:, ::10]))


def test_same_key_same_trial_and_partial_last_block(key):
    c = mc.WongWang2006()
    protocol = mc.TrialProtocol(t_on=0.0, t1=0.3)
    a = mc.simulate(c, mc.Stimulus(), key=key, protocol=protocol, save_every=0)
    b = mc.simulate(c, mc.Stimulus(), key=key, protocol=protocol, save_every=0)
    np.testing.assert_array_equal(np.asarray(a.S), np.asarray(b.S))
    # 600 steps in segments of 128: four full segments and a last segment of 88 steps.
    m = mc.simulate(
        c, mc.Stimulus(), key=key, protocol=mc.TrialProtocol(t_on=0.0, t1=0.3, segment=128)
    )
    assert m.S.shape == (600, 2) and bool(m.ok)


def test_grad_matches_finite_differences(float64, key):
    stim = mc.Stimulus(coherence=0.05)
    protocol = mc.TrialProtocol(t_on=0.05, t1=0.2, segment=50)
    keys = jr.split(key, 2)

    def loss(tau_decay):
        c = eqx.tree_at(lambda m: m.nmda.tau_decay, mc.WongWang2006(), tau_decay)
        sim = lambda k: mc.simulate(c, stim, key=k, protocol=protocol, save_every=0).S[-1, 0]
        return jnp.mean(jax.vmap(sim)(keys))

    x = jnp.asarray(0.1)
    g = jax.jit(jax.grad(loss))(x)
    h = 1e-5
    up, down = jax.jit(jax.vmap(loss))(jnp.stack([x + h, x - h]))
    fd = (up - down) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [dict(tau_AMPA=0.0), dict(tau_AMPA=-0.002), dict(d=0.0), dict(sigma_noise=-0.1)],
)
def test_bad_circuit_parameters(kwargs):
    with pytest.raises(ValueError, match="WongWang2006"):
        mc.WongWang2006(**kwargs)


def test_non_positive_nmda_time_constant():
    with pytest.raises(ValueError, match="tau_decay"):
        mc.WongWang2006(nmda=SaturatingNMDA(tau_decay=0.0))


@pytest.mark.parametrize("coherence", [-0.1, 1.5, 51.2])
def test_coherence_outside_unit_interval(coherence):
    with pytest.raises(ValueError, match="coherence"):
        mc.Stimulus(coherence=coherence)


def test_traced_coherence_outside_unit_interval_raises(key):
    run = jax.jit(
        lambda c: (
            mc.simulate(
                mc.WongWang2006(),
                mc.Stimulus(coherence=c),
                key=key,
                protocol=mc.TrialProtocol(t_on=0.0, t1=0.01),
            ).S
        )
    )
    run(jnp.asarray(0.5))
    with pytest.raises(Exception, match="coherence"):
        run(jnp.asarray(1.5))


def test_dt_too_large(key):
    # dt = tau_AMPA: the noise time constant is not resolved (named as the user sets it).
    with pytest.raises(ValueError, match=r"too large for `tau_AMPA`"):
        mc.simulate(mc.WongWang2006(), mc.Stimulus(), key=key, protocol=mc.TrialProtocol(dt=2e-3))
    with pytest.raises(ValueError, match="dt"):
        mc.simulate(mc.WongWang2006(), mc.Stimulus(), key=key, protocol=mc.TrialProtocol(dt=-1e-4))


def test_diverging_trial_flagged(key):
    # A NaN parameter is now refused when the circuit is built ...
    with pytest.raises(ValueError, match="I_0"):
        mc.WongWang2006(I_0=jnp.asarray(jnp.nan))
    # ... so the trial is made to diverge instead: a finite but huge background current
    # overflows the gating in float32 within a few steps.
    c = mc.WongWang2006(I_0=1e30)
    protocol = mc.TrialProtocol(t_on=0.0, t1=0.05)
    traj = mc.simulate(c, mc.Stimulus(), key=key, protocol=protocol, save_every=0)
    assert int(traj.result) == 1 and not bool(traj.ok)


def test_fixed_points_saddle_and_attractor(float64):
    c = mc.WongWang2006()
    fp = mc.symmetric_fixed_point(c, 30.0, 0.4)
    lam = np.real(np.asarray(fp.eigenvalues))
    assert lam[0] < 0 < lam[1] and float(fp.residual) < 1e-10
    # The off-diagonal attractor (decision for population 1).
    att = mc.fixed_point(c, 30.0, jnp.asarray([0.7, 0.05]))
    assert bool(att.stable) and float(att.r[0]) > 15.0 > float(att.r[1])


@pytest.mark.slow
def test_nullclines_symmetric_and_through_fixed_points(float64):
    c = mc.WongWang2006()
    grid, n1, n2 = mc.nullclines(c, 30.0, n=41)
    # Nullclines are mirror images at zero coherence.
    np.testing.assert_allclose(np.asarray(n1), np.asarray(n2), atol=1e-8)
    # The off-diagonal attractor lies on the S2-nullcline (where it is single-valued).
    att = mc.fixed_point(c, 30.0, jnp.asarray([0.7, 0.05]))
    S1 = float(att.S[0])
    n2_curve = np.interp(S1, np.asarray(grid), np.asarray(n2))
    assert n2_curve == pytest.approx(float(att.S[1]), abs=5e-3)
