"""Fitting a plasticity learning rate to a simulated learning curve (issue 6)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
import multiscale.fit as mf
import multiscale.population as mp
import multiscale.synapse as ms

N_TRIALS, BLOCK, TRUE_ETA = 100, 10, 1e-4
SESSION = dict(protocol=mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=0.8))


def _data(n_subjects=16):
    task = mp.reversal_task(N_TRIALS, key=jr.key(1), coherence=0.2)
    learner = mp.Learner(rule=ms.RewardModulatedHebb(eta=TRUE_ETA))
    run = lambda k: mp.run_session(learner, task, key=k, readout=mb.HazardReadout(), **SESSION)
    res = jax.jit(jax.vmap(run))(jr.split(jr.key(100), n_subjects))
    return task, mf.learning_curve(res.choice, res.reward, BLOCK)


def test_learning_curve_pools_blocks_and_excludes_undecided():
    choice = np.array([[0, 1, -1, 0], [1, 1, 0, 0]])
    reward = np.array([[1, 0, 0, 1], [1, 0, 1, 1]])
    curve = mf.learning_curve(choice, reward, 2)
    np.testing.assert_array_equal(np.asarray(curve.decided), [4, 3])
    np.testing.assert_array_equal(np.asarray(curve.rewarded), [2, 3])
    np.testing.assert_allclose(np.asarray(curve.accuracy), [0.5, 1.0])


def test_learning_curve_rejects_bad_input():
    with pytest.raises(ValueError, match="divides"):
        mf.learning_curve(np.zeros((2, 5), int), np.zeros((2, 5)), 2)
    with pytest.raises(ValueError, match="0, 1 or -1"):
        mf.learning_curve(np.full((1, 4), 3), np.zeros((1, 4)), 2)
    with pytest.raises(ValueError, match="undecided"):
        mf.learning_curve(np.full((1, 2), -1), np.ones((1, 2)), 2)
    with pytest.raises(ValueError, match="same shape"):
        mf.learning_curve(np.zeros((1, 4), int), np.zeros((1, 2)), 2)


def test_fit_finds_the_likelihood_minimum_and_recovers_the_learning_rate():
    """From eta 3x too small, Adam on the pathwise gradient lands at the brute-force minimum.

    The objective (16 simulated subjects, fixed keys) is evaluated on a log grid of eta;
    the fit must land within one grid step (x 1.3) of the grid's minimum, which with 16
    data subjects of 100 trials lies within a factor 2 of the generating eta.
    """
    task, data = _data()
    keys = jr.split(jr.key(7), 16)
    nll = jax.jit(
        lambda eta: mf.learning_curve_nll(
            mp.Learner(rule=ms.RewardModulatedHebb(eta=eta)), task, data, keys, **SESSION
        )
    )
    grid = TRUE_ETA * 1.3 ** np.arange(-3, 5)
    best = grid[int(np.argmin([float(nll(jnp.asarray(e, jnp.float32))) for e in grid]))]
    start = mp.Learner(rule=ms.RewardModulatedHebb(eta=jnp.asarray(TRUE_ETA / 3, jnp.float32)))
    r = mf.fit_learning_rule(
        data,
        task,
        key=jr.key(7),
        learner=start,
        subject_keys=keys,
        n_subjects_eval=16,
        steps=20,
        learning_rate=0.15,
        patience=20,
        **SESSION,
    )
    eta = r.parameters["eta"]
    assert abs(np.log(eta / best)) < np.log(1.3), (eta, best)
    assert abs(np.log(eta / TRUE_ETA)) < np.log(2.0), eta
    assert r.history.loss[-1] < r.history.loss[0]
    assert r.curve.shape == (N_TRIALS // BLOCK,)


def test_fit_rejects_mismatched_task():
    task, data = _data(n_subjects=2)
    short = mp.reversal_task(50, key=jr.key(1))
    with pytest.raises(ValueError, match="learning curve covers"):
        mf.fit_learning_rule(data, short, key=jr.key(0), n_subjects=2, steps=1)
    with pytest.raises(ValueError, match="lapse"):
        mf.fit_learning_rule(data, task, key=jr.key(0), n_subjects=2, steps=1, lapse=1.5)
