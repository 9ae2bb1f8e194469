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
    ReverseMode,
    circuit_free_parameters,
    default_circuit_behavior,
    fit_circuit_trials,
)
from multiscale.fit._trial_fit import trial_nll, trial_problem


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
    spec = circuit_free_parameters(model, extra=("sigma_noise", "I_0"))
    assert (spec.circuit.sigma_noise, spec.circuit.I_0, spec.circuit.J_N11) == (True, True, False)
    assert spec.circuit.J_A_ext and spec.readout.threshold  # the default three stay free
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


def test_freeing_extra_fields_needs_float_arrays():
    model = default_circuit_behavior()
    with pytest.raises(ValueError, match="float array.*tree_at"):
        circuit_free_parameters(model, extra=("I_0",))  # a Python float by default
    with pytest.raises(ValueError, match="not a field"):
        circuit_free_parameters(model, extra=("sigma",))
    model = eqx.tree_at(lambda m: m.readout.temperature, model, jnp.asarray(0.25))
    spec = circuit_free_parameters(model, extra=("temperature",))  # a readout field
    assert spec.readout.temperature is True and spec.circuit.I_0 is False


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
    spec = eqx.tree_at(lambda m: m.circuit.J_A_ext, jax.tree.map(lambda _: False, start), True)
    paths = jr.split(jr.key(5), 64)
    r = fit_circuit_trials(
        trials, key=jr.key(12), model=start, filter_spec=spec, paths=paths, n_paths_eval=64,
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
    problem = trial_problem(start, spec, 0.02, 64)
    u = jnp.log(jnp.asarray([r.parameters["J_A_ext"]], jnp.float32) / problem.ref)
    f = lambda d: float(trial_nll(problem, u + d, trials, paths))
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


_SPLIT_STARTS = """
import sys, jax
jax.config.update("jax_num_cpu_devices", 2)
import jax.random as jr, numpy as np
sys.path.insert(0, sys.argv[1])
from test_trial_likelihood import _split_fit
r = _split_fit()
assert jax.device_count() == 2
print(repr([r.nll_fit, *r.parameters.values()]))
"""


def _split_fit():
    from multiscale.fit import fit_circuit_trials

    trials = CircuitTrials(
        np.array([0.128, 0.512]),
        np.array([0, 0, 1, 1], np.int32),
        np.array([True, False, True, True]),
        np.array([0.55, 0.7, 0.5, 0.6]),
    )
    return fit_circuit_trials(
        trials, key=jr.key(4), model=_model(), n_paths=8, n_paths_eval=8, steps=3,
        lbfgs_steps=2, n_starts=3, chunk=8,
    )  # fmt: skip


def test_starts_split_across_two_cpu_devices_give_the_same_fit():
    # fit() splits its starts across devices when there are several (3 starts: one
    # padded); two CPU devices must only be faster, not different (the device count is
    # fixed at start-up, hence a subprocess).
    import ast
    import pathlib
    import subprocess
    import sys

    here = str(pathlib.Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", _SPLIT_STARTS, here], capture_output=True, text=True, check=True
    ).stdout.strip()
    two = np.asarray(ast.literal_eval(out.splitlines()[-1]))
    r = _split_fit()
    one = np.asarray([r.nll_fit, *r.parameters.values()])
    np.testing.assert_allclose(two, one, rtol=1e-4)
