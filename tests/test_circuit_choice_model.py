"""The decision circuit as a choice model: the same Trials, likelihood and simulator
interface as the DDM family (Wong & Wang 2006 circuit; small settings for speed)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.behavior import (
    CircuitBehavior,
    CircuitChoiceModel,
    HazardReadout,
    Trials,
    circuit_trials,
    sample_circuit_trials,
    trial_log_likelihood,
)
from multiscale.circuit import TrialProtocol, WongWang2006


def _behavior():
    f = lambda x: jnp.asarray(x, jnp.float32)
    return CircuitBehavior(
        circuit=WongWang2006(J_A_ext=f(5.2e-4)),
        readout=HazardReadout(threshold=f(15.0), non_decision_time=f(0.3)),
        protocol=TrialProtocol(dt=1e-3, t_on=0.1, t1=0.8),
        rt_max=1.2,
    )


@pytest.fixture(scope="module")
def data():
    behavior = _behavior()
    model = CircuitChoiceModel.for_trials(
        behavior,
        Trials(rt=[0.5, 0.5], choice=[1, 1], condition=[0.128, 0.512]),
        n_paths=32,
        key=jr.key(0),
    )
    signed = jnp.asarray(np.tile([0.128, -0.128, 0.512, -0.512], 30), jnp.float32)
    trials = model.simulate(signed, key=jr.key(1))
    return model, trials


def test_is_a_choice_model_with_the_circuit_likelihood(data):
    model, trials = data
    assert isinstance(model, ms.behavior.AbstractChoiceModel)
    ll = model.log_density(trials)
    # Identical to the circuit likelihood on the indexed container.
    ref = trial_log_likelihood(model.behavior, circuit_trials(trials), model.keys)
    np.testing.assert_allclose(np.asarray(ll), np.asarray(ref), rtol=1e-6)
    assert float(ms.behavior.log_likelihood(model, trials)) == pytest.approx(
        float(jnp.sum(ll)), rel=1e-6
    )


def test_simulate_matches_the_circuit_sampler(data):
    model, _ = data
    # One trial per signed coherence: choices follow the sign of the coherence at 51.2 %.
    c = jnp.asarray(np.repeat([0.512, -0.512], 40), jnp.float32)
    t = model.simulate(c, key=jr.key(5))
    cond = np.asarray(t.condition)
    choice = np.asarray(t.choice)
    assert np.mean(choice[cond > 0] == 1) > 0.8 and np.mean(choice[cond < 0] == 0) > 0.8
    # Same draws as sample_circuit_trials with the same key and order.
    ref = sample_circuit_trials(model.behavior, jnp.asarray([0.512]), 40, key=jr.key(5))
    np.testing.assert_allclose(np.asarray(t.rt[cond > 0]), np.asarray(ref.rt))


@pytest.mark.slow
def test_gradient_through_the_common_interface(data):
    model, trials = data

    def nll(J):
        m = eqx.tree_at(lambda m: m.behavior.circuit.J_A_ext, model, J)
        return -jnp.sum(m.log_density(trials))

    g = jax.grad(nll)(jnp.asarray(5.2e-4, jnp.float32))
    h = 2e-6
    fd = (nll(jnp.asarray(5.2e-4 + h)) - nll(jnp.asarray(5.2e-4 - h))) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=0.05)


def test_bad_input():
    behavior = _behavior()
    with pytest.raises(ValueError, match="fraction"):
        CircuitChoiceModel.for_trials(
            behavior, Trials(rt=[0.5], choice=[1], condition=[12.8]), key=jr.key(0)
        )
    with pytest.raises(ValueError, match="n_paths"):
        CircuitChoiceModel.for_trials(
            behavior, Trials(rt=[0.5], choice=[1], condition=[0.1]), n_paths=0, key=jr.key(0)
        )
    model = CircuitChoiceModel.for_trials(
        behavior, Trials(rt=[0.5], choice=[1], condition=[0.1]), n_paths=4, key=jr.key(0)
    )
    with pytest.raises(Exception, match="coherence levels"):
        model.log_density(Trials(rt=[0.5], choice=[1], condition=[0.3]))
    with pytest.raises(TypeError, match="CircuitBehavior"):
        CircuitChoiceModel(ms.behavior.DDM(), jnp.zeros(1), jr.split(jr.key(0), 2))


@pytest.mark.slow
def test_circuit_fit_takes_the_common_trials(data):
    model, trials = data
    kw = dict(
        key=jr.key(2),
        n_paths=8,
        n_paths_eval=8,
        steps=0,
        lbfgs_steps=0,
        n_starts=1,
        model=model.behavior,
    )
    a = ms.fit.fit_circuit_trials(trials, **kw)
    b = ms.fit.fit_circuit_trials(circuit_trials(trials), **kw)
    assert a.nll == pytest.approx(b.nll, rel=1e-6)
