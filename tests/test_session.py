"""Training sessions: practice, reversal and blunted dopamine (Law & Gold 2009; ref. 8)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
import multiscale.population as mp
import multiscale.synapse as ms

N_TRIALS, REVERSAL, N_SUBJECTS = 120, 60, 8
SHORT = mc.TrialProtocol(dt=1e-3, t_on=0.05, t1=0.4)  # short trials for the gradient checks


@pytest.fixture(scope="module")
def sessions():
    """Intact and blunted (dopamine gains x 0.25) learners, 8 subjects each, one compile."""
    task = mp.reversal_task(N_TRIALS, key=jr.key(1), coherence=0.2, reversal_at=REVERSAL)
    gains = jnp.array([50.0, 12.5])  # 1/s per unit RPE: intact, blunted
    keys = jr.split(jr.key(2), N_SUBJECTS)
    readout = mb.ThresholdReadout()

    @eqx.filter_jit
    def run(gains):
        def condition(g):
            learner = mp.Learner(critic=mp.RewardPrediction(burst_gain=g, dip_gain=g))
            return jax.vmap(lambda k: mp.run_session(learner, task, key=k, readout=readout))(keys)

        return jax.vmap(condition)(gains)

    return run(gains)


def _block(x, start, stop):
    return float(np.nanmean(np.asarray(x)[..., start:stop]))


def test_practice_raises_accuracy_and_shortens_rt(sessions):
    intact = jax.tree.map(lambda a: a[0], sessions)
    assert intact.reward.shape == (N_SUBJECTS, N_TRIALS)
    assert np.all(np.asarray(intact.result) == 0)
    early, late = _block(intact.reward, 0, 15), _block(intact.reward, 45, 60)
    assert early < 0.8 and late > 0.9 and late - early > 0.15, (early, late)
    rt_early, rt_late = _block(intact.rt, 0, 15), _block(intact.rt, 45, 60)
    assert rt_late < rt_early - 0.05, (rt_early, rt_late)


def test_reversal_drops_and_recovers_slower_with_blunted_dopamine(sessions):
    acc = np.asarray(sessions.reward)  # (condition, subject, trial)
    before = acc[0, :, REVERSAL - 15 : REVERSAL].mean()
    right_after = acc[0, :, REVERSAL : REVERSAL + 10].mean()
    recovered = acc[0, :, -15:].mean()
    assert right_after < 0.5 < before, (before, right_after)
    assert recovered > 0.6 and recovered > right_after + 0.4, (right_after, recovered)
    # Clarke et al. 2011 (ordinal): reversal learning is impaired with less dopamine.
    # Measured as accuracy over the second half of the post-reversal trials.
    post_intact = acc[0, :, REVERSAL + 30 :].mean()
    post_blunted = acc[1, :, REVERSAL + 30 :].mean()
    assert post_blunted < post_intact - 0.15, (post_intact, post_blunted)
    # The learned weights follow the mapping: after the reversal they point the other way.
    w = np.asarray(sessions.weights[0])  # (subject, trial, units, 2)
    pref = (w[:, :, 0, 0] - w[:, :, 0, 1]).mean(0)  # unit preferring +1 onto population 1
    assert pref[REVERSAL - 1] > 0.3 and pref[-1] < -0.3


def test_dopamine_and_rpe_are_consistent(sessions):
    s = jax.tree.map(lambda a: np.asarray(a[0]), sessions)
    np.testing.assert_allclose(s.dopamine, 50.0 * s.rpe, rtol=1e-5, atol=1e-5)
    # Rewarded trials carry positive prediction errors, unrewarded ones negative.
    assert np.all(s.rpe[s.reward == 1] > 0) and np.all(s.rpe[s.reward == 0] < 0)
    no_da = mp.run_session(
        mp.Learner(),
        mp.Task(jnp.ones(5), 0.2, dopamine_scale=jnp.zeros(5)),
        key=jr.key(0),
        readout=mb.ThresholdReadout(),
    )
    # Without dopamine (and no tonic term) the weights never move.
    np.testing.assert_array_equal(np.asarray(no_da.weights), 0.5)


def test_session_gradient_matches_finite_differences(float64):
    """d(mean soft P(correct) over the last trials)/d(eta), pathwise given the choices."""
    task = mp.Task(jnp.array([1.0, -1.0, 1.0]), 0.3)
    readout = mb.HazardReadout()

    def score(eta):
        learner = mp.Learner(rule=ms.RewardModulatedHebb(eta=eta))
        res = mp.run_session(learner, task, key=jr.key(3), readout=readout, protocol=SHORT, iti=1.0)
        return jnp.mean(res.p_correct[1:])

    f = jax.jit(score)
    g = jax.jit(jax.grad(score))(2e-4)
    h = 1e-7
    fd = (f(2e-4 + h) - f(2e-4 - h)) / (2 * h)
    assert abs(float(fd)) > 0
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-4)


def test_session_gradient_wrt_dopamine_gain_matches_finite_differences(float64):
    """d(mean soft P(correct))/d(dopamine burst and dip gain), pathwise given the choices."""
    task = mp.Task(jnp.array([1.0, -1.0, 1.0]), 0.3)
    readout = mb.HazardReadout()

    def score(gain):
        learner = mp.Learner(critic=mp.RewardPrediction(burst_gain=gain, dip_gain=gain))
        res = mp.run_session(learner, task, key=jr.key(3), readout=readout, protocol=SHORT, iti=1.0)
        return jnp.mean(res.p_correct[1:])

    f = jax.jit(score)
    g = jax.jit(jax.grad(score))(50.0)
    h = 1e-4
    fd = (f(50.0 + h) - f(50.0 - h)) / (2 * h)
    assert abs(float(fd)) > 0
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-4)


def test_bad_input_raises():
    readout = mb.ThresholdReadout()
    with pytest.raises(ValueError, match="at least one trial"):
        mp.Task(jnp.zeros((0,)), 0.2)
    with pytest.raises(ValueError, match="n_trials"):
        mp.reversal_task(0, key=jr.key(0))
    with pytest.raises(ValueError, match="eta"):
        mp.Learner(rule=ms.RewardModulatedHebb(eta=-1e-4))
    with pytest.raises(ValueError, match="dopamine_scale"):
        mp.Task(jnp.ones(4), 0.2, dopamine_scale=jnp.ones(3))
    with pytest.raises(ValueError, match="burst_gain"):
        mp.RewardPrediction(burst_gain=-1.0)
    with pytest.raises(ValueError, match="weights"):
        mp.run_session(
            mp.Learner(weights=jnp.ones((3, 2))),
            mp.Task(jnp.ones(2), 0.2),
            key=jr.key(0),
            readout=readout,
        )
    # A trial that ends before the stimulus onset: the protocol refuses it.
    with pytest.raises(ValueError, match="t_on"):
        mp.run_session(
            mp.Learner(),
            mp.Task(jnp.ones(2), 0.2),
            key=jr.key(0),
            readout=readout,
            protocol=mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=0.05),
        )
