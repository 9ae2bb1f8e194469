"""Sleep replay and downscaling (González et al. 2020 eLife; de Vivo et al. 2017 Science)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
import multiscale.population as mp
from multiscale.population._sleep_replay import _train

N = 64


def _ci(x):
    x = np.asarray(x, float)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


@pytest.fixture(scope="module")
def contrasts():
    """Evidence contrast c' (stage, task) per subject: after A, after B, replayed, slept."""
    tasks, training, replay = mp.OverlappingTasks(), mp.WakeTraining(), mp.SleepReplay()

    @jax.jit
    @jax.vmap
    def one(key):
        k_code, k_a, k_b, k_night = jr.split(key, 4)
        codes = tasks.codes(k_code)
        w0 = jnp.full((tasks.n_units, 2), training.w0)
        w_a = _train(tasks, training, w0, codes[0], training.n_trials_a, k_a)
        w_b = _train(tasks, training, w_a, codes[1], training.n_trials_b, k_b)
        slept, replayed = mp.replay_night(tasks, training, replay, w_b, codes, key=k_night)
        stages = jnp.stack([w_a, w_b, replayed, slept])
        return mp.evidence_contrast(tasks, stages, codes), stages

    c, w = one(jr.split(jr.key(0), N))
    return np.asarray(c), np.asarray(w)


def test_codes_balanced_and_half_conflicting_on_shared_units():
    tasks = mp.OverlappingTasks()
    codes = np.asarray(tasks.codes(jr.key(1)))
    assert codes.shape == (2, 30)
    np.testing.assert_array_equal(codes.sum(1), 0.0)
    shared = slice(10, 20)
    assert np.sum(codes[0, shared] == codes[1, shared]) == 5
    assert np.all(codes[0, 20:] == 0) and np.all(codes[1, :10] == 0)


def test_new_task_interferes_and_replay_restores_both(contrasts):
    """González et al. 2020: B damages A; sleep after B restores A."""
    c, _ = contrasts
    assert _ci(c[:, 1, 0] - c[:, 0, 0])[1] < 0  # A after B < A after A
    assert _ci(c[:, 3, 0] - c[:, 1, 0])[0] > 0  # A after sleep > A after B
    assert _ci(c[:, 3, 1] - c[:, 1, 1])[0] > -0.01  # B is not lost (its gain is a known gap)


def test_downscaling_shrinks_18_percent_and_spares_the_largest(contrasts):
    """de Vivo et al. 2017: ~18 % smaller synapses, proportional, largest spared."""
    _, w = contrasts
    replayed, slept = w[:, 2], w[:, 3]
    np.testing.assert_allclose(1 - slept.mean((1, 2)) / replayed.mean((1, 2)), 0.18, atol=1e-4)
    top = replayed >= np.quantile(replayed.reshape(N, -1), 0.8, axis=1)[:, None, None]
    np.testing.assert_array_equal(slept[top], replayed[top])
    ratio = np.where(~top & (replayed > 1e-6), slept / np.where(replayed > 0, replayed, 1), np.nan)
    per_subject = np.nanmax(ratio.reshape(N, -1), 1) - np.nanmin(ratio.reshape(N, -1), 1)
    assert np.all(per_subject < 1e-5)  # one factor: multiplicative


def test_downscale_removes_all_when_spared_hold_more_than_kept():
    w = jnp.array([0.0, 0.01, 0.01, 1.0, 1.0])
    out = np.asarray(mp.downscale(w, 0.5, 0.4))
    np.testing.assert_allclose(out, [0.0, 0.0, 0.0, 1.0, 1.0])


def test_circuit_readout_runs_and_rejects_bad_n_test():
    short = mc.TrialProtocol(dt=1e-3, t_on=0.05, t1=0.6)
    res = mp.simulate_sleep_replay(
        key=jr.key(3), readout=mb.ThresholdReadout(), protocol=short, n_test=4
    )
    assert res.accuracy.shape == (4, 2) and res.rt.shape == (4, 2)
    assert np.all((np.asarray(res.accuracy) >= 0) & (np.asarray(res.accuracy) <= 1))
    np.testing.assert_array_equal(res.weights[1], res.weights[3])  # quiet wake: unchanged
    with pytest.raises(ValueError, match="n_test"):
        mp.simulate_sleep_replay(key=jr.key(3), readout=mb.ThresholdReadout(), n_test=0)
