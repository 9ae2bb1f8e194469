"""Neural likelihood estimation (Papamakarios, Sterratt & Murray 2019): the simulator of the
circuit, the mixture density network and the choice model built on it.

The full route (60,000 circuit trials, training, density gap to the circuit's Monte Carlo
likelihood, simulation-based calibration against the circuit) is the slow validation
module ``_fit_neural_likelihood``; here: shapes, determinism, ``jit``/``vmap``/``grad``,
and that training recovers a known density.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.fit._neural_likelihood import (
    CircuitSimulator,
    MixtureDensityNetwork,
    NeuralLikelihoodModel,
    SimulationSet,
    simulate_training_set,
    train_neural_likelihood,
)


def _known_set(n, key):
    """Trials with a known density: P(correct) = sigmoid(3 theta), log RT ~ N(-0.7 +
    0.3 theta, 0.25^2) for correct and N(-0.5 + 0.3 theta, 0.3^2) for errors, theta ~
    U(-1, 1), |c| ignored."""
    k1, k2, k3, k4 = jr.split(key, 4)
    theta = jr.uniform(k1, (n, 1), minval=-1.0, maxval=1.0)
    p = jax.nn.sigmoid(3 * theta[:, 0])
    correct = jr.uniform(k2, (n,)) < p
    mu = jnp.where(correct, -0.7, -0.5) + 0.3 * theta[:, 0]
    sd = jnp.where(correct, 0.25, 0.3)
    rt = jnp.exp(mu + sd * jr.normal(k3, (n,)))
    c = jr.choice(k4, jnp.asarray([0.0, 0.128, 0.512]), (n,))
    lp = jnp.where(correct, jnp.log(p), jnp.log1p(-p))
    lp = lp + jax.scipy.stats.norm.logpdf(jnp.log(rt), mu, sd) - jnp.log(rt)
    data = SimulationSet(
        np.asarray(theta), np.asarray(c), np.asarray(correct), np.asarray(rt), np.ones(n, bool)
    )
    return data, -float(jnp.mean(lp))


def test_training_reaches_the_true_density_on_held_out_trials():
    data, true_nll = _known_set(6000, jr.key(0))
    fit = train_neural_likelihood(
        data, ["theta"], [-1.0], [1.0], key=jr.key(1), steps=600, width=32, depth=2,
        components=2, log_every=50, progress=False,
    )  # fmt: skip
    # Held-out NLL falls, and ends within 0.05 nats/trial of the true density's entropy
    # (the cross-entropy of the data under the true density; 600 held-out trials have a
    # sampling SD of ~0.03 nats on the mean).
    assert fit.valid_nll[-1] < fit.valid_nll[0] - 0.2
    assert abs(fit.valid_nll[-1] - true_nll) < 0.08
    # Deterministic given the key.
    again = train_neural_likelihood(
        data, ["theta"], [-1.0], [1.0], key=jr.key(1), steps=600, width=32, depth=2,
        components=2, log_every=50, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(fit.valid_nll, again.valid_nll)


def _model(key):
    net = MixtureDensityNetwork(2, key=key, width=16, depth=2, components=3)
    theta = {"a": jnp.asarray(0.5), "b": jnp.asarray(2.0)}
    return NeuralLikelihoodModel(theta, net, (0.0, 1.0), (1.0, 3.0), ("a", "b"))


def test_model_is_a_normalised_density_and_samples_from_it():
    model = _model(jr.key(2))
    condition = jnp.full((20000,), -0.128)
    trials = eqx.filter_jit(lambda m, c, k: m.simulate(c, key=k))(model, condition, jr.key(3))
    assert trials.rt.shape == (20000,) and bool(jnp.all(trials.rt > 0))
    # The density integrates to 1 over choices and RT (trapezoid on a log-RT grid).
    t = jnp.exp(jnp.linspace(-8.0, 4.0, 6001))
    total = 0.0
    for choice in (0, 1):
        tr = ms.behavior.Trials(rt=t, choice=jnp.full(t.shape, choice), condition=-0.128 + 0 * t)
        total += float(jnp.trapezoid(jnp.exp(model.log_density(tr)), t))
    assert total == pytest.approx(1.0, abs=1e-3)
    # The sampled choice frequency and median RT agree with the density's.
    one = ms.behavior.Trials(rt=t, choice=jnp.ones_like(t, jnp.int32), condition=-0.128 + 0 * t)
    p_upper = float(jnp.trapezoid(jnp.exp(model.log_density(one)), t))
    assert float(jnp.mean(trials.choice)) == pytest.approx(p_upper, abs=4 * 0.5 / np.sqrt(2e4))


def test_model_log_density_jits_vmaps_and_differentiates():
    model = _model(jr.key(4))
    trials = model.simulate(jnp.asarray([0.0, 0.064, -0.512] * 4), key=jr.key(5))

    def total(theta):
        return jnp.sum(eqx.tree_at(lambda m: m.theta, model, theta).log_density(trials))

    g = jax.jit(jax.grad(total))(model.theta)
    h = 1e-3
    fd = (total({**model.theta, "a": model.theta["a"] + h}) -
          total({**model.theta, "a": model.theta["a"] - h})) / (2 * h)  # fmt: skip
    assert float(g["a"]) == pytest.approx(float(fd), rel=2e-2, abs=1e-2)
    assert float(jnp.abs(g["b"])) > 0
    many = jax.vmap(lambda a: total({"a": a, "b": model.theta["b"]}))(jnp.linspace(0.1, 0.9, 5))
    assert many.shape == (5,) and bool(jnp.all(jnp.isfinite(many)))
    # A contaminant keeps a far-out RT finite.
    lapsed = eqx.tree_at(lambda m: m.lapse, model, 0.01)
    far = ms.behavior.Trials(rt=[1e-4, 2.4], choice=[1, 0], condition=[0.0, 0.0])
    assert bool(jnp.all(lapsed.log_density(far) >= jnp.log(0.01 * 0.5 / 2.5) - 1e-5))


def test_circuit_simulator_is_deterministic_with_fixed_shape():
    behavior = ms.fit.default_circuit_behavior()
    behavior = eqx.tree_at(
        lambda b: b.protocol, behavior, ms.circuit.TrialProtocol(dt=1e-3, t_on=0.05, t1=1.05)
    )
    sim = CircuitSimulator(
        behavior, (lambda b: b.circuit.J_A_ext, lambda b: b.readout.non_decision_time), chunk=16
    )
    priors = (
        ms.fit.Prior(lambda m: m.theta["J"], ms.fit.Uniform(5e-4, 8e-4)),
        ms.fit.Prior(lambda m: m.theta["t"], ms.fit.Uniform(0.2, 0.3)),
    )
    a = simulate_training_set(sim, priors, 48, key=jr.key(6), batch=32, progress=False)
    b = simulate_training_set(sim, priors, 48, key=jr.key(6), batch=32, progress=False)
    np.testing.assert_array_equal(a.rt, b.rt)
    assert a.theta.shape == (48, 2) and a.rt.shape == (48,)
    # Every RT exceeds its trial's non-decision time minus 3 SDs of its 20 ms spread, and
    # strong motion gives mostly correct choices (Wong & Wang 2006: ~100 % at 51.2 %).
    assert np.all(a.rt > a.theta[:, 1] - 0.06)
    strong = a.coherence >= 0.256
    assert a.correct[strong & a.decided].mean() > 0.8


def test_validation_cache_round_trip(tmp_path):
    """The validation module's file cache of the trained network gives back the same
    density and training record (it is reused across processes, so a bad round trip would
    silently change every neural-likelihood target)."""
    from multiscale.fit import NeuralLikelihoodFit
    from multiscale.validation import _fit_neural_likelihood as V

    net = MixtureDensityNetwork(len(V.NAMES), key=jr.key(4), log_rt_shift=-0.3)
    centre = {
        n: jnp.asarray(0.5 * (lo + hi)) for n, lo, hi in zip(V.NAMES, V.LOW, V.HIGH, strict=True)
    }
    model = NeuralLikelihoodModel(centre, net, V.LOW, V.HIGH, V.NAMES)
    fit = NeuralLikelihoodFit(model, np.array([1.0, 0.5]), np.array([1.1, 0.6]))
    path = tmp_path / "cache"
    V._save(path, fit, {"undecided": 0.001})
    back, info = V._load(path, None)
    trials = model.simulate(jnp.asarray([0.0, 0.128, -0.512, 0.256]), key=jr.key(5))
    np.testing.assert_array_equal(back.model.log_density(trials), model.log_density(trials))
    np.testing.assert_array_equal(back.valid_nll, fit.valid_nll)
    assert info["undecided"] == 0.001
