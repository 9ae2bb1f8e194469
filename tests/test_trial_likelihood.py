"""The trial-level likelihood of the Wong–Wang circuit (issue: (choice, RT) per trial).

Small settings throughout (trials of 0.6-1.0 s, 8-64 noise paths, two coherences) so
that the file runs in about a minute on two cores; the ~1000-trial recovery and the
comparison with the DDM are validation targets (``multiscale.validation._fit_trial_likelihood``).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from multiscale.behavior import (
    CircuitBehavior,
    CircuitTrials,
    HazardReadout,
    Trials,
    apply_readout,
    circuit_trials,
    first_passage_density,
    rt_density,
    sample_circuit_trials,
    trial_log_likelihood,
)
from multiscale.circuit import Stimulus, TrialProtocol, WongWang2006, simulate
from multiscale.fit import (
    ForwardMode,
    Free,
    LogScale,
    ReverseMode,
    circuit_free_parameters,
    default_circuit_behavior,
    fit_circuit_trials,
    parameterize,
)
from multiscale.fit._trial_fit import TrialLoss, trial_nll


def _model(J=5.2e-4, theta=15.0, ndt=0.3, t1=0.8, rt_max=1.2, dtype=jnp.float32):
    f = lambda x: jnp.asarray(x, dtype)
    return CircuitBehavior(
        circuit=WongWang2006(J_A_ext=f(J)),
        readout=HazardReadout(threshold=f(theta), non_decision_time=f(ndt)),
        protocol=TrialProtocol(dt=1e-3, t_on=0.1, t1=t1),
        rt_max=rt_max,
    )


def test_first_passage_masses_are_a_distribution_and_chunking_is_exact():
    model = _model()
    coh = jnp.array([0.0, 0.256])
    keys = jr.split(jr.key(3), 12)
    fp = eqx.filter_jit(first_passage_density)(model, coh, keys, chunk=5)  # padded chunks
    assert fp.mass.shape == (2, 700, 2) and fp.decision_time.shape == (700,)
    assert float(jnp.min(fp.mass)) >= 0.0
    total = jnp.sum(fp.mass, axis=(1, 2)) + fp.undecided
    np.testing.assert_allclose(total, 1.0, atol=1e-5)
    # Antithetic mirror at c = 0: both choices carry the same masses.
    np.testing.assert_allclose(fp.mass[0, :, 0], fp.mass[0, :, 1], atol=1e-7)
    # One chunk gives the same average as five, and both equal the readout per path.
    one = eqx.filter_jit(first_passage_density)(model, coh, keys, chunk=12)
    np.testing.assert_allclose(fp.mass, one.mass, atol=1e-6)

    def per_path(k):
        traj = simulate(model.circuit, Stimulus(coherence=0.256), key=k, protocol=model.protocol)
        return apply_readout(model.readout, traj.ts, traj.r, protocol=model.protocol).per_step

    direct = jnp.mean(jax.vmap(per_path)(keys), axis=0)[100:]
    np.testing.assert_allclose(fp.mass[1, 1:], direct[1:], atol=1e-6)
    # The RT density integrates to the decided mass (NDT kernel well inside the grid).
    rd = rt_density(model, fp)
    np.testing.assert_allclose(jnp.sum(rd.density, axis=(1, 2)) * 1e-3, rd.p_decided, rtol=2e-3)


def _trials(coherence, condition, correct, rt):
    return CircuitTrials(
        np.asarray(coherence), np.asarray(condition, np.int32), np.asarray(correct), np.asarray(rt)
    )


def test_lapse_keeps_every_trial_finite():
    model = _model()
    keys = jr.split(jr.key(1), 8)
    # An RT far shorter than the non-decision time, an error at 51.2 % (no path errs), an
    # RT at rt_max (beyond every decision) and an ordinary trial.
    trials = _trials([0.512], [0, 0, 0, 0], [True, False, True, True], [0.01, 0.6, 1.2, 0.62])

    @eqx.filter_jit
    def ll_and_grad(m):
        return eqx.filter_value_and_grad(lambda m: jnp.sum(trial_log_likelihood(m, trials, keys)))(
            m
        ), trial_log_likelihood(m, trials, keys)

    (total, g), ll = ll_and_grad(model)
    assert np.all(np.isfinite(np.asarray(ll))) and np.isfinite(float(total))
    floor = np.log(model.lapse * 0.5 / model.rt_max)
    np.testing.assert_allclose(ll[:3], floor, atol=1e-3)  # only the contaminant
    assert float(ll[3]) > floor + 3.0
    assert np.isfinite(float(g.circuit.J_A_ext)) and np.isfinite(float(g.readout.threshold))


@pytest.mark.parametrize("differentiation", [ReverseMode(), ForwardMode()])
def test_gradient_matches_finite_differences(float64, differentiation):
    # With common random numbers the NLL is smooth in the parameters between path flips;
    # at 25.6 % and 51.2 % coherence every path picks the same attractor, so autodiff must
    # match central differences of the same function. Forward mode (tangents through the
    # loop, behind a custom vjp) must give the same gradient, also for the non-decision
    # time, which the loop never reads.
    model = _model(ndt=0.3, dtype=jnp.float64)
    keys = jr.split(jr.key(2), 6)
    coh = np.array([0.256, 0.512])
    rt = np.array([0.55, 0.62, 0.7, 0.8, 0.5, 0.56, 0.6, 0.68])
    trials = _trials(coh, [0, 0, 0, 0, 1, 1, 1, 1], [True] * 8, rt)
    where = lambda m: (m.circuit.J_A_ext, m.readout.non_decision_time)

    def nll(x):
        m = eqx.tree_at(where, model, (x[0], x[1]))
        return -jnp.sum(trial_log_likelihood(m, trials, keys, differentiation=differentiation))

    x = jnp.array([5.2e-4, 0.3])
    f = jax.jit(nll)
    g = jax.jit(jax.grad(nll))(x)
    for i, h in enumerate((1e-8, 1e-5)):
        e = jnp.zeros(2).at[i].set(h)
        fd = (f(x + e) - f(x - e)) / (2 * h)
        np.testing.assert_allclose(g[i], fd, rtol=1e-4, err_msg=f"parameter {i}")
        assert abs(float(g[i])) > 1.0


def test_gradient_in_noise_amplitude_and_background_current(float64):
    # sigma_noise scales every path's noise and I_0 shifts both populations' input: with
    # common random numbers both move the trajectories smoothly, so they can be fitted.
    model = _model(ndt=0.3, dtype=jnp.float64)
    where = lambda m: (m.circuit.sigma_noise, m.circuit.I_0)
    model = eqx.tree_at(where, model, (jnp.asarray(0.02), jnp.asarray(0.3255)))
    keys = jr.split(jr.key(2), 6)
    rt = np.array([0.55, 0.62, 0.7, 0.8, 0.5, 0.56, 0.6, 0.68])
    trials = _trials([0.256, 0.512], [0, 0, 0, 0, 1, 1, 1, 1], [True] * 8, rt)

    def nll(x):
        m = eqx.tree_at(where, model, (x[0], x[1]))
        return -jnp.sum(trial_log_likelihood(m, trials, keys))

    x = jnp.array([0.02, 0.3255])
    f = jax.jit(nll)
    g = jax.jit(jax.grad(nll))(x)
    # I_0 moves every rate with a gain of 270 Hz/nA: the central difference's truncation
    # error is still 3e-4 at h = 1e-6 nA, so its step is 1e-7 (converged to 3e-6 there).
    for i, h in enumerate((1e-6, 1e-7)):
        e = jnp.zeros(2).at[i].set(h)
        fd = (f(x + e) - f(x - e)) / (2 * h)
        np.testing.assert_allclose(g[i], fd, rtol=1e-4, err_msg=f"parameter {i}")
        assert abs(float(g[i])) > 1.0


def test_default_free_parameters_are_log_scales_of_the_start_and_extend_to_any_leaf():
    model = default_circuit_behavior()
    free = circuit_free_parameters(model)
    u, view = parameterize(model, free)
    assert view.names == ("J_A_ext", "threshold", "non_decision_time")
    np.testing.assert_allclose(u, 0.0, atol=1e-7)  # u = log(x / x_start)
    moved = view(jnp.array([np.log(1.1), 0.0, 0.0], u.dtype))
    assert float(moved.circuit.J_A_ext) == pytest.approx(1.1 * 5.2e-4, rel=1e-6)
    # A further leaf, here a Python float of the circuit (the noise amplitude, nA).
    extra = Free(lambda m: m.circuit.sigma_noise, LogScale(0.02), "sigma_noise")
    u, view = parameterize(model, [*free, extra])
    assert view.names[-1] == "sigma_noise" and u.shape == (4,)
    assert float(view(u.at[3].set(np.log(2.0))).circuit.sigma_noise) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="freed twice"):
        parameterize(model, [*free, free[0]])


def test_recovers_stimulus_gain_from_synthetic_trials():
    # Trials drawn from the circuit's own generative model (J_A_ext = 5.2e-4 nA/Hz); only
    # J_A_ext is free, from a start 15 % low. 300 trials on 64 paths: its Laplace SE is
    # 0.4 % (measured; the curvature of a quadratic through the loss over +-10 % on 1024
    # paths gives 0.7 %: the local curvature of a rough loss overstates the information).
    truth = _model(J=5.2e-4, t1=1.0, rt_max=1.5)
    coh = jnp.array([0.128, 0.512])
    trials = sample_circuit_trials(truth, coh, 150, key=jr.key(11), chunk=150)
    assert trials.n_trials >= 295  # a few undecided trials at 12.8 % are dropped
    start = _model(J=4.4e-4, t1=1.0, rt_max=1.5)
    free = [Free(lambda m: m.circuit.J_A_ext, LogScale(4.4e-4), "J_A_ext")]
    paths = jr.split(jr.key(5), 64)
    r = fit_circuit_trials(
        trials, jr.key(12), model=start, free=free, paths=paths, n_paths_eval=64,
        steps=6, lbfgs_steps=6, n_starts=2, learning_rate=0.05, chunk=64,
    )  # fmt: skip
    assert r.n_parameters == 1 and set(r.parameters) == {"J_A_ext"}
    assert abs(r.parameters["J_A_ext"] / 5.2e-4 - 1) < 0.05, r.parameters
    assert float(r.model.readout.threshold) == pytest.approx(15.0)
    assert np.isfinite(r.nll) and r.aic == pytest.approx(2 + 2 * r.nll)
    # Laplace SE: 1 / sqrt of the loss's second derivative in u = log(J / J_start) on the
    # fitting paths (central differences; 0.3 % in J stays between path flips), times J.
    assert r.se_note == "" and set(r.se) == {"J_A_ext"}
    se = r.se["J_A_ext"]
    assert np.isfinite(se) and 0 < se < 0.05 * r.parameters["J_A_ext"], r.se
    loss, j = TrialLoss(0.02, 64), r.parameters["J_A_ext"]
    at = lambda d: eqx.tree_at(lambda m: m.circuit.J_A_ext, start, jnp.asarray(j * np.exp(d)))
    f = lambda d: float(trial_nll(loss, at(d), trials, paths))
    h = 3e-3
    curvature = (f(h) - 2 * f(0.0) + f(-h)) / h**2
    np.testing.assert_allclose(se, r.parameters["J_A_ext"] / np.sqrt(curvature), rtol=5e-2)


def test_circuit_trials_from_signed_coherence():
    t = Trials(rt=[0.5, 0.6, 0.7, 0.8], choice=[1, 0, 0, 1], condition=[0.128, -0.128, 0.0, 0.5])
    ct = circuit_trials(t)
    np.testing.assert_allclose(ct.coherence, [0.0, 0.128, 0.5])
    np.testing.assert_array_equal(ct.condition, [1, 1, 0, 2])
    np.testing.assert_array_equal(ct.correct, [True, True, False, True])
    with pytest.raises(ValueError, match="fraction"):
        circuit_trials(Trials(rt=[0.5], choice=[1], condition=[12.8]))


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="one shape"):
        _trials([0.1], [0, 0], [True], [0.5, 0.6])
    with pytest.raises(ValueError, match="> 0"):
        _trials([0.1], [0, 0], [True, True], [0.5, 0.0])
    with pytest.raises(ValueError, match="indices outside"):
        _trials([0.1, 0.2], [0, 2], [True, True], [0.5, 0.6])
    with pytest.raises(ValueError, match="integer"):
        CircuitTrials(np.array([0.1]), np.array([0.0]), np.array([True]), np.array([0.5]))
    with pytest.raises(ValueError, match="True/False"):
        _trials([0.1], [0], [2], [0.5])
    with pytest.raises(ValueError, match="fractions"):
        _trials([12.8], [0], [True], [0.5])
    model, keys = _model(), jr.split(jr.key(0), 4)
    with pytest.raises(ValueError, match="rt_max"):
        trial_log_likelihood(model, _trials([0.1], [0], [True], [1.5]), keys)
    with pytest.raises(ValueError, match="chunk"):
        first_passage_density(model, jnp.array([0.1]), keys, chunk=0)
    # Keys of the wrong shape: a ValueError, or the runtime shape check's TypeError first.
    with pytest.raises((ValueError, TypeError), match="1-d|keys"):
        first_passage_density(model, jnp.array([0.1]), keys.reshape(2, 2))
    with pytest.raises(TypeError, match="CircuitTrials"):
        trial_log_likelihood(model, Trials(rt=[0.5], choice=[1]), keys)
