"""A coherence gain composed with a decision circuit (multiscale.circuit._stimulus_gain)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.behavior import CircuitBehavior, HazardReadout
from multiscale.circuit import (
    CoherenceGain,
    PowerGain,
    RampUrgency,
    Stimulus,
    TrialProtocol,
    Urgent,
    WongWang2006,
)


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


def test_power_gain_values_and_edges():
    """g(c) = c^m (Eckhoff et al. 2008, New J Phys 10:015006): g(0) = 0, g(1) = 1, and
    m < 1 raises weak coherences more than strong ones."""
    g = PowerGain(0.5)
    c = jnp.array([0.0, 0.032, 0.128, 0.512, 1.0])
    np.testing.assert_allclose(np.asarray(g(c)), np.sqrt([0.0, 0.032, 0.128, 0.512, 1.0]))
    ratio = np.asarray(g(c[1:4]) / c[1:4])
    assert np.all(np.diff(ratio) < 0)


def test_power_gain_gradient_is_finite_at_zero_and_matches_differences():
    """d g / d m = c^m log c: finite (zero) at c = 0 under jit and grad, and equal to a
    central difference elsewhere."""

    def total(m, c):
        return jnp.sum(PowerGain(m)(c))

    grad = jax.jit(jax.grad(total))
    assert float(grad(_f(0.7), jnp.zeros(3))) == 0.0
    c = jnp.array([0.032, 0.256])
    h = 1e-4
    fd = (float(total(_f(0.7 + h), c)) - float(total(_f(0.7 - h), c))) / (2 * h)
    exact = float(jnp.sum(c**0.7 * jnp.log(c)))
    assert float(grad(_f(0.7), c)) == pytest.approx(exact, rel=1e-5)
    assert fd == pytest.approx(exact, rel=1e-3)


def test_unit_exponent_is_the_circuit():
    circuit, short = WongWang2006(), TrialProtocol(dt=1e-3, t_on=0.1, t1=0.4)
    a = ms.circuit.simulate(circuit, Stimulus(0.128), key=jr.key(1), protocol=short)
    b = ms.circuit.simulate(
        CoherenceGain(circuit, PowerGain(1.0)), Stimulus(0.128), key=jr.key(1), protocol=short
    )
    np.testing.assert_allclose(np.asarray(b.r), np.asarray(a.r), atol=1e-4)


def test_gain_changes_only_the_input_difference():
    """Wong & Wang's (2006) input J mu0 (1 +- g(c)): the mean over the two populations is
    unchanged and the difference scales by g(c) / c."""
    circuit = WongWang2006()
    plain = circuit.stimulus_input(Stimulus(0.064))
    gained = CoherenceGain(circuit, PowerGain(0.5)).stimulus_input(Stimulus(0.064))
    np.testing.assert_allclose(float(jnp.sum(gained)), float(jnp.sum(plain)), rtol=1e-6)
    ratio = float((gained[0] - gained[1]) / (plain[0] - plain[1]))
    assert ratio == pytest.approx(0.064**0.5 / 0.064, rel=1e-5)


@pytest.mark.slow
def test_trial_likelihood_gradient_in_the_exponent():
    """Forward-mode gradient of the trial NLL in the exponent, through the urgency
    wrapper, against a central difference on the same paths (common random numbers)."""
    protocol = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)
    inner = CoherenceGain(WongWang2006(J_A_ext=_f(5.2e-4)), PowerGain(_f(0.8)))
    model = CircuitBehavior(
        circuit=Urgent(inner, RampUrgency(_f(0.004))),
        readout=HazardReadout(threshold=_f(15.0), non_decision_time=_f(0.2)),
        ndt_sd=0.05,
        lapse=0.01,
        protocol=protocol,
    )
    trials = ms.behavior.CircuitTrials(
        [0.0, 0.064, 0.256], condition=[0, 0, 1, 1, 2, 2],
        correct=[True, False, True, False, True, True], rt=[0.7, 0.8, 0.6, 0.7, 0.5, 0.6],
    )  # fmt: skip
    keys = jr.split(jr.key(0), 256)
    where = lambda m: m.circuit.circuit.gain.exponent  # noqa: E731

    def nll(m_):
        m = eqx.tree_at(where, model, m_)
        return -jnp.sum(
            ms.behavior.trial_log_likelihood(m, trials, keys, differentiation=ms.ForwardMode())
        )

    g = float(jax.grad(nll)(_f(0.8)))
    h = 1e-3  # the loss is curved in m: a wider step (5e-3) is off by 19 %
    fd = (float(nll(_f(0.8 + h))) - float(nll(_f(0.8 - h)))) / (2 * h)
    assert np.isfinite(g) and g != 0.0
    assert g == pytest.approx(fd, rel=0.03)


def test_bad_input():
    with pytest.raises(ValueError, match="exponent"):
        PowerGain(exponent=0.0)
    with pytest.raises(TypeError, match="AbstractCircuit"):
        CoherenceGain("not a circuit", PowerGain())
    with pytest.raises(TypeError, match="AbstractCoherenceGain"):
        CoherenceGain(WongWang2006(), 0.8)
    good = CoherenceGain(WongWang2006(), PowerGain(0.8))
    bad = eqx.tree_at(lambda c: c.gain.exponent, good, _f(-1.0))
    assert not bool(jnp.any(good.violations()))
    assert bool(jnp.any(bad.violations()))
