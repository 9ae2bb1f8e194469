"""The circuit's noise sources: the counter-based generator is statistically sound.

The default :class:`CounterNoise` replaces ``jax.random`` inside the time loop for speed,
so it must give N(0, 1) draws without detectable dependence, and the circuit's behavior
must not depend on which generator is used.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st

import multiscale.behavior as mb
import multiscale.circuit as mc


def _draws(noise, key, trials, steps):
    def one(k):
        state = noise.init(k)
        return jax.vmap(lambda i: noise.normals(state, i))(jnp.arange(steps))

    return np.asarray(jax.jit(jax.vmap(one))(jr.split(key, trials)))  # (trials, steps, 2)


def test_counter_noise_is_standard_normal(key):
    z = _draws(mc.CounterNoise(), key, 500, 2000)
    flat = z.ravel()
    n = flat.size  # 2e6 draws
    assert abs(flat.mean()) < 5 / np.sqrt(n)
    assert abs(flat.var() - 1.0) < 5 * np.sqrt(2 / n)
    assert abs(st.skew(flat)) < 5 * np.sqrt(6 / n)
    assert abs(st.kurtosis(flat)) < 5 * np.sqrt(24 / n)
    assert st.kstest(flat, "norm").pvalue > 1e-4
    # Tails: P(|z| > 3) = 0.0027 within 5 binomial SE.
    p3 = 2 * st.norm.sf(3)
    assert abs(np.mean(np.abs(flat) > 3) - p3) < 5 * np.sqrt(p3 / n)


def test_counter_noise_has_no_detectable_correlations(key):
    z = _draws(mc.CounterNoise(), key, 400, 1000)
    se = 5 / np.sqrt(z[..., 0].size)
    for lag in (1, 2, 3, 7, 100):  # within a trial
        r = np.mean(z[:, lag:, 0] * z[:, :-lag, 0])
        assert abs(r) < se, (lag, r)
    assert abs(np.mean(z[..., 0] * z[..., 1])) < se  # between the two populations
    assert abs(np.mean(z[1:] * z[:-1])) < se  # between trials of neighbouring keys
    assert abs(np.mean(z[:, 1:, 0] * z[:, :-1, 1])) < se  # across populations and steps


def test_noise_is_deterministic_per_key(key):
    noise = mc.CounterNoise()
    a = _draws(noise, key, 3, 50)
    np.testing.assert_array_equal(a, _draws(noise, key, 3, 50))
    assert not np.allclose(a, _draws(noise, jr.fold_in(key, 1), 3, 50))
    c, stim = mc.WongWang2006(), mc.Stimulus(coherence=0.1)
    protocol = mc.TrialProtocol(t_on=0.1, t1=0.2)
    one = mc.simulate(c, stim, key=key, protocol=protocol, save_every=0)
    again = mc.simulate(c, stim, key=key, protocol=protocol, save_every=0)
    np.testing.assert_array_equal(np.asarray(one.S), np.asarray(again.S))


def test_behavior_does_not_depend_on_the_generator(key):
    """Accuracy and mean decision time agree between CounterNoise and ThreefryNoise."""
    circuit, ro = mc.WongWang2006(), mb.ThresholdReadout(window=0.02)
    stim = mc.Stimulus(coherence=0.064)
    protocol = mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=1.6)
    n = 3000

    def batch(noise, k):
        run = lambda k_: (
            mc.simulate(
                circuit, stim, key=k_, protocol=protocol, readout=ro, save_every=0, noise=noise
            ).readout
        )
        return jax.jit(jax.vmap(run))(jr.split(k, n))

    fast = batch(mc.CounterNoise(), key)
    ref = batch(mc.ThreefryNoise(), jr.fold_in(key, 1))
    for d in (fast, ref):
        assert np.mean(np.asarray(d.choice) >= 0) > 0.95
    acc = [np.mean(np.asarray(d.choice)[np.asarray(d.choice) >= 0] == 0) for d in (fast, ref)]
    se = np.sqrt(sum(a * (1 - a) / n for a in acc))
    assert abs(acc[0] - acc[1]) < 4 * se, acc
    dts = [np.asarray(d.decision_time)[np.asarray(d.choice) >= 0] for d in (fast, ref)]
    se = np.sqrt(sum(x.var() / x.size for x in dts))
    assert abs(dts[0].mean() - dts[1].mean()) < 4 * se, [x.mean() for x in dts]


def test_given_normals_reproduce_simulate_with_normals(key):
    c, stim = mc.WongWang2006(), mc.Stimulus(coherence=0.2)
    xi = jr.normal(key, (400, 2))
    protocol = mc.TrialProtocol(dt=5e-4, t_on=0.1, t1=0.2)
    a = mc.simulate_with_normals(c, stim, xi, protocol=protocol, save_every=0)
    b = mc.simulate(c, stim, key=key, protocol=protocol, save_every=0, noise=mc.GivenNormals(xi))
    np.testing.assert_array_equal(np.asarray(a.S), np.asarray(b.S))


def test_bad_noise_object_is_rejected(key):
    P01 = mc.TrialProtocol(t_on=0.05, t1=0.1)  # 200 steps of 0.5 ms
    with pytest.raises(TypeError, match="AbstractCircuitNoise"):
        mc.simulate(mc.WongWang2006(), mc.Stimulus(), key=key, protocol=P01, noise="counter")
    # Too few given normals would otherwise be clamped to the last row, silently.
    short = mc.GivenNormals(jnp.zeros((100, 2)))
    with pytest.raises(ValueError, match="supplies 100 steps but the trial has 200"):
        mc.simulate(mc.WongWang2006(), mc.Stimulus(), key=key, protocol=P01, noise=short)
    # Normals of the wrong width: GivenNormals takes any width now (circuits differ in
    # n_noise), so the mismatch is caught where the circuit uses them. Under the suite's
    # runtime shape checks jaxtyping may reject it first (TypeError).
    wide = mc.GivenNormals(jnp.zeros((200, 3)))
    with pytest.raises((ValueError, TypeError), match=r"shape|xi|needs 2"):
        mc.simulate(mc.WongWang2006(), mc.Stimulus(), key=key, protocol=P01, noise=wide)
    with pytest.raises((ValueError, TypeError), match=r"shape|xi"):
        mc.GivenNormals(jnp.zeros((100,)))


def test_box_muller_matches_its_float64_formula_and_stays_finite_under_jit():
    """The transform is Box–Muller: checked against float64 for random and extreme words.

    The extreme words give u = 2^-24 (the largest radius, 5.77) and u = 1 - 2^-24, and the
    angle's end cells; under jit (where XLA fuses and may reassociate) all stay finite.
    """
    from multiscale.circuit._noise import _box_muller

    rng = np.random.default_rng(0)
    extreme = np.array([0, 1, 511, 512, 2**31, 2**32 - 513, 2**32 - 1], np.uint32)
    h1 = np.concatenate([rng.integers(0, 2**32, 20000, dtype=np.uint32), extreme, extreme])
    h2 = np.concatenate([rng.integers(0, 2**32, 20000, dtype=np.uint32), extreme, extreme[::-1]])
    z = np.asarray(
        jax.jit(lambda a, b: _box_muller(a, b, jnp.float32) * 1.0 + 0.0)(
            jnp.asarray(h1), jnp.asarray(h2)
        )
    )
    assert z.shape == (2, h1.size) and np.all(np.isfinite(z))
    u = (2.0 * (h1 >> 9).astype(np.float64) + 1.0) * 2.0**-24
    phi = (2.0 * (h2 >> 10).astype(np.float64) + 1.0) * np.pi / 4 * 2.0**-22
    radius = np.sqrt(-2.0 * np.log(u))
    sign0 = 1.0 - 2.0 * (h2 & 1)
    sign1 = 1.0 - 2.0 * ((h2 >> 1) & 1)
    ref = np.stack([sign0 * radius * np.cos(phi), sign1 * radius * np.sin(phi)])
    np.testing.assert_allclose(z, ref, rtol=2e-6, atol=2e-6)
    assert np.isclose(np.abs(z).max(), np.sqrt(48 * np.log(2)), rtol=1e-5)


def test_counter_noise_takes_a_batch_of_states(key):
    """A batch of states (2, *batch) gives the per-trial normals, populations first."""
    noise = mc.CounterNoise()
    keys = jr.split(key, 6).reshape(2, 3)
    states = jax.vmap(noise.init, out_axes=-1)(keys.reshape(-1)).reshape(2, 2, 3)
    batched = noise.normals(states, jnp.asarray(17))
    one = jax.vmap(jax.vmap(lambda k: noise.normals(noise.init(k), jnp.asarray(17))))(keys)
    np.testing.assert_array_equal(np.asarray(batched), np.moveaxis(np.asarray(one), -1, 0))
    ref = mc.ThreefryNoise()
    batched = ref.normals(keys, jnp.asarray(3))
    one = jax.vmap(jax.vmap(lambda k: ref.normals(k, jnp.asarray(3))))(keys)
    np.testing.assert_array_equal(np.asarray(batched), np.moveaxis(np.asarray(one), -1, 0))
