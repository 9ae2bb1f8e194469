"""Circuit-projection rules online within a trial (``run_session(..., online_every=k)``):
the same rule interface stepped inside the integration loop, checked against a
hand-written loop over integration steps."""

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

SHORT = mc.TrialProtocol(dt=1e-3, t_on=0.05, t1=0.4)  # 350 stimulus steps
ETA = 1e-3  # Hebb, nA per Hz^2 per s: J_N11 grows ~5 % in one trial at 20-40 Hz


def _ww_dense(rule):
    """Wong-Wang's reduced circuit with its recurrent NMDA weights as a Dense matrix."""
    ww = mc.WongWang2006()
    W = jnp.array([[ww.J_N11, -ww.J_N12], [-ww.J_N12, ww.J_N11]])
    net = ww.rate_circuit()
    proj = eqx.tree_at(
        lambda p: (p.weight, p.rule),
        net.projections[0],
        (mc.Dense(W), rule),
        is_leaf=lambda x: x is None,
    )
    return eqx.tree_at(lambda c: c.projections, net, (proj,))


def _first_trial_stimulus(learner, key):
    """Trial 1's stimulus: equal initial weights give u1 = u2 (c = 0, no relabelling)."""
    k = jr.split(key, 2)[0]
    k_sens, k_circ, _ = jr.split(k, 3)
    x = learner.sensory.rates(1.0, 0.3, key=k_sens)
    u = learner.initial_weights().T @ x
    c = jnp.abs((u[0] - u[1]) / (u[0] + u[1]))
    return mc.Stimulus(coherence=c, mu0=0.5 * (u[0] + u[1])), k_circ


def _reference_loop(circuit, stim, key, every, feedback=True):
    """A plain Python loop over integration steps: the circuit's step function, Hebb's
    update dW = eta * post x pre * (k dt) on the mean rates of every block of k stimulus
    steps (a shorter last block closes the epoch), the next step with the new weights
    (``feedback=False``: the circuit keeps its initial weights during the trial)."""
    noise = mc.CounterNoise()
    ns = noise.init(key)
    drive = circuit.stimulus_input(stim)
    W = W_start = np.asarray(circuit.projections[0].weight.W, np.float64)
    state = circuit.init((), jnp.float32)
    acc, n = np.zeros(2), 0
    n_steps, n_off = SHORT.n_steps, SHORT.n_off

    @jax.jit
    def one_step(W, state, drive, k):
        net = eqx.tree_at(lambda c: c.projections[0].weight.W, circuit, W)
        xi = noise.normals(ns, k, circuit.n_noise)
        return net.discretise(SHORT.dt)(state, drive, xi)

    for k in range(n_steps):
        on = bool(SHORT.stimulus_on(k))
        W32 = jnp.asarray(W if feedback else W_start, jnp.float32)
        d = drive if on else jnp.zeros_like(drive)
        state, r = one_step(W32, state, d, jnp.asarray(k, jnp.int32))
        if on:
            acc, n = acc + np.asarray(r, np.float64), n + 1
            if n == every or k == n_off - 1:
                m = acc / n
                W = W + ETA * np.outer(m, m) * n * SHORT.dt
                acc, n = np.zeros(2), 0
    return W


def test_within_trial_hebb_matches_a_step_loop_and_differs_from_between_trials():
    """Hebb on the recurrent NMDA projection of the reduced Wong-Wang circuit, stepped
    every 50 integration steps (50 ms) of the stimulus epoch: the weights after trial 1
    equal those of a hand-written step loop to float32 rounding; they differ from the
    same loop with the weights frozen during the trial (so the changed weights do drive
    the rest of the trial) and from the between-trial update (one step on the
    end-of-trial rates) by far more."""
    hebb = ms.Hebb(eta=ETA, bounds=ms.HardBounds(-1.0, 1.0))
    circuit = _ww_dense(hebb)
    learner = mp.Learner(circuit=circuit, rule=ms.Hebb(eta=0.0))
    task = mp.Task(jnp.array([1.0, 1.0]), 0.3)
    readout = mb.ThresholdReadout()
    key = jr.key(5)

    def run(every):
        return jax.jit(
            lambda k: mp.run_session(
                learner, task, key=k, readout=readout, protocol=SHORT, online_every=every
            )
        )(key)

    online, between = run(50), run(None)
    stim, k_circ = _first_trial_stimulus(learner, key)
    expected = _reference_loop(circuit, stim, k_circ, 50)
    W0 = np.asarray(circuit.projections[0].weight.W)
    W_online = np.asarray(online.circuit_weights[0][0])
    dW = expected - W0
    assert np.abs(dW).min() > 1e-3  # every weight changed by > 0.4 %
    np.testing.assert_allclose(W_online - W0, dW, rtol=1e-4, atol=1e-8)
    frozen = _reference_loop(circuit, stim, k_circ, 50, feedback=False)
    assert np.abs(frozen - expected).max() > 100 * 1e-4 * np.abs(dW).max()
    W_between = np.asarray(between.circuit_weights[0][0])
    assert np.abs(W_between - W_online).max() > 0.5 * np.abs(dW).max()
    # Learning goes on in trial 2 with the learned matrix.
    assert not np.allclose(np.asarray(online.circuit_weights[0][1]), W_online)
    assert np.all(np.asarray(online.result) == 0)


def test_online_every_needs_a_positive_int_and_a_learning_projection():
    learner = mp.Learner(circuit=_ww_dense(ms.Hebb(eta=ETA)), rule=ms.Hebb(eta=0.0))
    task = mp.Task(jnp.array([1.0]), 0.3)
    with pytest.raises(ValueError, match="online_every"):
        mp.run_session(
            learner,
            task,
            key=jr.key(0),
            readout=mb.ThresholdReadout(),
            protocol=SHORT,
            online_every=0,
        )
    with pytest.raises(ValueError, match="projection with a rule"):
        mp.run_session(
            mp.Learner(),
            task,
            key=jr.key(0),
            readout=mb.ThresholdReadout(),
            protocol=SHORT,
            online_every=50,
        )


def test_gradient_through_within_trial_learning_matches_finite_differences(float64):
    """d(J_11 after one trial)/d eta of the online Hebb rule, through the checkpointed
    integration loop that carries the rule's state, against central differences."""
    task = mp.Task(jnp.array([1.0]), 0.3)
    readout = mb.ThresholdReadout()

    def j11(eta):
        hebb = ms.Hebb(eta=eta, bounds=ms.HardBounds(-1.0, 1.0))
        learner = mp.Learner(circuit=_ww_dense(hebb), rule=ms.Hebb(eta=0.0))
        res = mp.run_session(
            learner, task, key=jr.key(3), readout=readout, protocol=SHORT, online_every=50
        )
        return res.circuit_weights[0][0, 0, 0]

    eta, h = 1e-3, 1e-6
    grad = float(jax.jit(jax.grad(j11))(jnp.asarray(eta)))
    f = jax.jit(j11)
    fd = float((f(jnp.asarray(eta + h)) - f(jnp.asarray(eta - h))) / (2 * h))
    assert grad > 0  # a larger rate potentiates more
    np.testing.assert_allclose(grad, fd, rtol=1e-5)
