"""Offline (sleep) phases, critical periods and lesions (ordinal; see multiscale.validation._behavior_offline)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.population as mp
import multiscale.synapse as ms
from multiscale.validation import _behavior_offline as offline

# A learned-looking weight matrix: strong onto the preferred population, weak elsewhere.
W_LEARNED = [[0.95, 0.05], [0.11, 0.9], [0.85, 0.2], [0.03, 0.97]]


def test_sleep_downscales_keeps_ratios_and_prunes_weak(getkey):
    w = jnp.asarray(W_LEARNED)
    phase = mp.SleepPhase(
        scaling=ms.SynapticScaling(r_target=24.0, tau_scale=20.0),
        structural=ms.StructuralPlasticity(threshold=0.1),
        n_replays=60,
    )
    res = jax.jit(lambda k: mp.sleep(mp.Learner(weights=w), phase, key=k))(getkey())
    assert res.drive.shape == (60, 2) and res.mask.dtype == jnp.bool_
    drive = np.asarray(res.drive)
    # Replay drive starts near the naive learner's 30 Hz and is scaled towards 24 Hz.
    assert drive[:5].mean() > 28 and abs(drive[-10:].mean() - 24.0) < 1.5, drive
    # Multiplicative: one factor per population (column), so ratios are kept.
    factor = np.asarray(res.scaled) / np.asarray(w)
    np.testing.assert_allclose(factor, factor[:1].repeat(4, 0), rtol=1e-5)
    assert np.all(factor < 0.9)  # net downscaling
    # Pruning: 0.11 was above threshold before sleep and is pushed below it.
    below_before = int((np.asarray(w) < 0.1).sum())
    removed = int((~np.asarray(res.mask)).sum())
    assert below_before == 2 and removed == 3, (below_before, removed)
    assert not bool(res.mask[1, 0]) and float(res.weights[1, 0]) == 0.0


def test_sleep_gradient_matches_finite_differences(float64, getkey):
    """d(squared weight norm after sleep)/d(scaling set point), float64."""
    w = jnp.asarray(W_LEARNED, jnp.float64)
    k = getkey()

    def norm(r_target):
        phase = mp.SleepPhase(
            scaling=ms.SynapticScaling(r_target=r_target, tau_scale=20.0), n_replays=10
        )
        return jnp.sum(mp.sleep(mp.Learner(weights=w), phase, key=k).weights ** 2)

    g = jax.jit(jax.grad(norm))(24.0)
    h = 1e-5
    f = jax.jit(norm)
    fd = (f(24.0 + h) - f(24.0 - h)) / (2 * h)
    assert float(g) > 0  # a higher set point keeps the synapses stronger
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)


def test_critical_period_gate_closes_and_reopens(float64):
    cp = mp.CriticalPeriod(onset=100.0, width=10.0, floor=0.1)
    g = jax.vmap(cp)(jnp.array([0.0, 100.0, 400.0]))
    np.testing.assert_allclose(np.asarray(g), [1.0, 0.55, 0.1], atol=1e-4)
    reopened = mp.CriticalPeriod(onset=100.0, width=10.0, floor=0.1, reopen_at=300.0)
    assert float(reopened(250.0)) < 0.11 and float(reopened(400.0)) > 0.99
    pulse = eqx.tree_at(lambda c: c.reopen_duration, reopened, 50.0)
    assert float(pulse(325.0)) > 0.8 and float(pulse(450.0)) < 0.11
    # Smooth in its parameters: d g / d onset against central differences.
    dg = jax.grad(lambda on: mp.CriticalPeriod(onset=on, width=10.0)(90.0))(100.0)
    h = 1e-6
    fd = (
        mp.CriticalPeriod(onset=100.0 + h, width=10.0)(90.0)
        - mp.CriticalPeriod(onset=100.0 - h, width=10.0)(90.0)
    ) / (2 * h)
    np.testing.assert_allclose(float(dg), float(fd), rtol=1e-6)


def test_session_gate_and_mask(getkey):
    """A closed gate freezes the weights; silent sites stay at 0 while the rest learn."""
    mask = jnp.ones((4, 2), bool).at[0, 1].set(False).at[3, 0].set(False)
    open_ = mp.CriticalPeriod(onset=jnp.asarray(1e6), floor=jnp.asarray(0.0))
    closed = mp.CriticalPeriod(onset=jnp.asarray(-1e6), floor=jnp.asarray(0.0))
    learners = jax.tree.map(
        lambda *a: jnp.stack(a), *(mp.Learner(mask=mask, gate=g) for g in (open_, closed))
    )
    task = mp.Task(jnp.where(jr.bernoulli(getkey(), 0.5, (20,)), 1.0, -1.0), 0.3)
    k = getkey()
    res = jax.jit(
        jax.vmap(lambda lrn: mp.run_session(lrn, task, key=k, readout=mb.ThresholdReadout()))
    )(learners)
    w_open, w_closed = np.asarray(res.weights[0]), np.asarray(res.weights[1])
    assert np.all(w_open[:, ~np.asarray(mask)] == 0.0) and np.all(w_closed[:, 0, 1] == 0.0)
    assert np.abs(w_open[-1] - w_open[0]).max() > 0.05  # learning with the gate open
    np.testing.assert_allclose(w_closed[-1], w_closed[0], atol=1e-6)  # gate closed


def test_lesion_removes_the_requested_fraction(getkey):
    w = jnp.asarray(W_LEARNED)
    lrn = mp.lesion_synapses(mp.Learner(), w, 0.25, key=getkey())
    assert int(lrn.mask.sum()) == 6
    np.testing.assert_array_equal(np.asarray(lrn.initial_weights()), np.where(lrn.mask, w, 0.0))


def test_bad_input_raises():
    with pytest.raises(ValueError, match="n_replays"):
        mp.SleepPhase(n_replays=0)
    with pytest.raises(ValueError, match="floor"):
        mp.CriticalPeriod(floor=1.5)
    with pytest.raises(ValueError, match="width"):
        mp.CriticalPeriod(width=0.0)
    with pytest.raises(ValueError, match="boolean"):
        mp.Learner(mask=jnp.ones((4, 2))).initial_weights()
    with pytest.raises(ValueError, match="shape"):
        mp.Learner(mask=jnp.ones((3, 2), bool)).initial_weights()
    with pytest.raises(ValueError, match="fraction"):
        mp.lesion_synapses(mp.Learner(), jnp.ones((4, 2)), 2.0, key=jr.key(0))


@pytest.mark.slow
def test_lifetime_experiments_ordinal():
    """Sleep keeps accuracy, critical period closes/reopens, lesion recovers (8 subjects)."""
    e = offline.lifetime_experiments()
    s = offline.sleep_summary(e)
    assert abs(s["acc_after"] - s["acc_before"]) < 0.05, s
    assert s["removed"] > s["below_threshold_before"], s
    # Weight ratios within a population survive scaling exactly (before pruning).
    factor = e["w_scaled"].sum(1) / e["w_before"].sum(1)  # (subject, population)
    assert np.all(factor < 0.95)  # net downscaling
    np.testing.assert_allclose(
        e["w_scaled"], factor[:, None, :] * e["w_before"], rtol=1e-5, atol=1e-7
    )
    juv, adult, reo = (e[k][:, :40].mean() for k in ("juvenile", "adult", "reopened"))
    assert adult < juv - 0.15 and reo > adult + 0.15, (juv, adult, reo)
    pre, after = e["train_reward"][:, -20:].mean(), e["post_lesion"][:, :20].mean()
    regrow, control = e["regrowth"][:, -20:].mean(), e["no_regrowth"][:, -20:].mean()
    assert after < pre - 0.2 and regrow > after + 0.15 and regrow > control + 0.15
