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
AFTER_A, AFTER_B, REPLAYED, SLEPT, DOWNSCALED = range(5)


def _ci(x):
    x = np.asarray(x, float)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    return x.mean() - half, x.mean() + half


@pytest.fixture(scope="module")
def nights():
    """Weights (subject, stage, units, 2) after A, after B, replayed, slept, downscaled only."""
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
        only = mp.downscale(w_b, replay.shrinkage, replay.spared_fraction, axis=-1)
        return jnp.stack([w_a, w_b, replayed, slept, only]), codes

    w, codes = one(jr.split(jr.key(0), N))
    return np.asarray(w), np.asarray(codes)


def _terms(w, codes):
    """Evidence per task (Hz, stimulus-driven part of u_1 - u_2) and the bias (Hz).

    For stimulus s of task T, u_1 - u_2 = s g sum_j p^T_j d_j + x_0 sum_j d_j with
    d_j = w_j1 - w_j2: the first term is the task's learned evidence, the second a
    stimulus-independent imbalance between the two decision populations.
    """
    tasks = mp.OverlappingTasks()
    d = w[..., 0] - w[..., 1]
    signal = tasks.gain * np.einsum("nsu,ntu->nst", d, codes)
    return signal, tasks.baseline * d.sum(-1)


def test_codes_balanced_and_half_conflicting_on_shared_units():
    tasks = mp.OverlappingTasks()
    codes = np.asarray(tasks.codes(jr.key(1)))
    assert codes.shape == (2, 30)
    np.testing.assert_array_equal(codes.sum(1), 0.0)
    shared = slice(10, 20)
    assert np.sum(codes[0, shared] == codes[1, shared]) == 5
    assert np.all(codes[0, 20:] == 0) and np.all(codes[1, :10] == 0)


def test_new_task_interferes_and_replay_strengthens_both(nights):
    """González et al. 2020: B damages A; replay after B strengthens A and B in their codes."""
    w, codes = nights
    signal, _ = _terms(w, codes)
    assert _ci(signal[:, AFTER_B, 0] - signal[:, AFTER_A, 0])[1] < 0  # B overwrites A
    for task in (0, 1):
        # replay potentiates each task's own synapses, and the gain survives downscaling
        assert _ci(signal[:, REPLAYED, task] - signal[:, AFTER_B, task])[0] > 0
        assert _ci(signal[:, SLEPT, task] - signal[:, DOWNSCALED, task])[0] > 0
    c = np.asarray(
        jax.vmap(lambda ww, cd: mp.evidence_contrast(mp.OverlappingTasks(), ww, cd))(w, codes)
    )
    assert _ci(c[:, SLEPT, 0] - c[:, AFTER_B, 0])[0] > 0


def test_bounded_learning_unbalances_populations_and_scaling_restores_them(nights):
    """Per-population scaling to one set point (Turrigiano et al. 1998) removes the bias."""
    w, codes = nights
    _, bias = _terms(w, codes)
    rms = np.sqrt((bias**2).mean(0))
    assert rms[REPLAYED] > rms[AFTER_B] > 1.0  # Hz: replay at the bounds adds to it
    assert rms[SLEPT] < 0.05 and rms[DOWNSCALED] < 0.05


def test_downscaling_shrinks_18_percent_and_spares_the_largest(nights):
    """de Vivo et al. 2017: ~18 % smaller synapses, proportional, largest spared."""
    w, _ = nights
    replayed, slept = w[:, REPLAYED], w[:, SLEPT]
    np.testing.assert_allclose(1 - slept.mean((1, 2)) / replayed.mean((1, 2)), 0.18, atol=1e-4)
    np.testing.assert_allclose(slept.sum(1)[:, 0], slept.sum(1)[:, 1], rtol=1e-4)  # set point
    top = replayed >= np.quantile(replayed.reshape(N, -1), 0.8, axis=1)[:, None, None]
    np.testing.assert_array_equal(slept[top], replayed[top])
    ratio = np.where(~top & (replayed > 1e-6), slept / np.where(replayed > 0, replayed, 1), np.nan)
    spread = np.nanmax(ratio, axis=1) - np.nanmin(ratio, axis=1)  # (subject, population)
    assert np.all(spread < 1e-5)  # one factor per population: multiplicative


def test_global_downscaling_one_factor():
    w = jr.uniform(jr.key(2), (30, 2)) * 0.1
    out = np.asarray(mp.downscale(w, 0.18, 0.2))
    w = np.asarray(w)
    np.testing.assert_allclose(out.mean() / w.mean(), 0.82, rtol=1e-5)
    small = w < np.quantile(w, 0.8)
    ratio = out[small] / w[small]
    assert np.ptp(ratio) < 1e-6 and ratio[0] < 1


def test_downscale_removes_all_when_spared_hold_more_than_kept():
    w = jnp.array([0.0, 0.01, 0.01, 1.0, 1.0])
    out = np.asarray(mp.downscale(w, 0.5, 0.4))
    np.testing.assert_allclose(out, [0.0, 0.0, 0.0, 1.0, 1.0])
    w2 = jnp.array([[1.0, 0.3], [0.1, 0.2], [0.1, 0.2]])  # population 1 spares 1.0 > its share
    out2 = np.asarray(mp.downscale(w2, 0.5, 0.2, axis=-1))
    np.testing.assert_allclose(out2[:, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out2[:, 1], [0.3, 0.0875, 0.0875], rtol=1e-6)


def test_circuit_readout_runs_and_rejects_bad_n_test():
    short = mc.TrialProtocol(dt=1e-3, t_on=0.05, t1=0.6)
    res = mp.simulate_sleep_replay(
        key=jr.key(3), readout=mb.ThresholdReadout(), protocol=short, n_test=4
    )
    assert res.accuracy.shape == (5, 2) and res.rt.shape == (5, 2)
    assert np.all((np.asarray(res.accuracy) >= 0) & (np.asarray(res.accuracy) <= 1))
    np.testing.assert_array_equal(res.weights[1], res.weights[3])  # quiet wake: unchanged
    with pytest.raises(ValueError, match="n_test"):
        mp.simulate_sleep_replay(key=jr.key(3), readout=mb.ThresholdReadout(), n_test=0)
