"""The urgency signal composed with a decision circuit (multiscale.circuit._urgency)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.behavior import CircuitBehavior, HazardReadout, ThresholdReadout
from multiscale.circuit import RampUrgency, Stimulus, TrialProtocol, Urgent, WongWang2006

PROTOCOL = TrialProtocol(dt=1e-3, t_on=0.1, t1=2.1)


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


def test_zero_urgency_is_the_circuit():
    circuit, short = WongWang2006(), TrialProtocol(dt=1e-3, t_on=0.1, t1=0.6)
    a = ms.circuit.simulate(circuit, Stimulus(0.064), key=jr.key(1), protocol=short)
    b = ms.circuit.simulate(
        Urgent(circuit, RampUrgency(0.0)), Stimulus(0.064), key=jr.key(1), protocol=short
    )
    np.testing.assert_allclose(np.asarray(b.r), np.asarray(a.r), atol=1e-3)


def test_ramp_current_and_delay():
    u = RampUrgency(slope=0.02, delay=0.2)
    np.testing.assert_allclose(np.asarray(u(jnp.array([0.0, 0.2, 1.2]))), [0.0, 0.0, 0.02])


def _decision_times(circuit, n=1000):
    out = ms.circuit.simulate_batch(
        circuit,
        Stimulus(0.0),
        keys=jr.split(jr.key(4), n),
        protocol=PROTOCOL,
        readout=ThresholdReadout(threshold=15.0),
    )
    d = out.readout
    return np.asarray(d.decision_time)[np.asarray(d.decided)], float(np.mean(d.decided))


def test_urgency_cuts_the_right_tail_at_zero_coherence():
    """At 0 % coherence the attractor circuit's decision times are right-skewed, as a
    fixed-bound diffusion's are; monkeys' RTs at low coherence are not (Roitman & Shadlen
    2002, J Neurosci 22:9475: monkey N's 0 % RTs have quantiles 0.51, 0.88 and 1.13 s at
    10, 50 and 90 %, (q90 - q50) / (q50 - q10) = 0.66). A rising input to both populations
    (Churchland et al. 2008, Nat Neurosci 11:693; Ditterich 2006, Eur J Neurosci 24:3628)
    must shorten the tail more than the body: lower q90 and a lower skew ratio."""
    circuit = WongWang2006()
    dt0, p0 = _decision_times(circuit)
    dt1, p1 = _decision_times(Urgent(circuit, RampUrgency(0.01)))
    q0, q1 = np.quantile(dt0, [0.1, 0.5, 0.9]), np.quantile(dt1, [0.1, 0.5, 0.9])
    skew = lambda q: (q[2] - q[1]) / (q[1] - q[0])  # noqa: E731
    assert p1 >= p0 > 0.8
    assert q1[2] < q0[2] - 0.1
    assert skew(q1) < skew(q0) - 0.15
    assert skew(q0) > 1.0  # the circuit alone is right-skewed


@pytest.mark.slow
def test_trial_likelihood_gradient_in_the_slope():
    """Forward-mode gradient of the trial NLL in the urgency slope against a central
    difference on the same paths (common random numbers)."""
    protocol = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)
    circuit = Urgent(WongWang2006(J_A_ext=_f(5.2e-4)), RampUrgency(_f(0.004)))
    model = CircuitBehavior(
        circuit=circuit,
        readout=HazardReadout(threshold=_f(15.0), non_decision_time=_f(0.2)),
        ndt_sd=0.05,
        lapse=0.01,
        protocol=protocol,
    )
    trials = ms.behavior.CircuitTrials(
        [0.0, 0.128], condition=[0, 0, 1, 1], correct=[True, False, True, True],
        rt=[0.7, 0.8, 0.5, 0.6],
    )  # fmt: skip
    keys = jr.split(jr.key(0), 256)
    slope = lambda m: m.circuit.urgency.slope  # noqa: E731

    def nll(s):
        m = eqx.tree_at(slope, model, s)
        return -jnp.sum(
            ms.behavior.trial_log_likelihood(m, trials, keys, differentiation=ms.ForwardMode())
        )

    g = float(jax.grad(nll)(_f(0.004)))
    h = 2e-4
    fd = (float(nll(_f(0.004 + h))) - float(nll(_f(0.004 - h)))) / (2 * h)
    assert np.isfinite(g) and g != 0.0
    assert g == pytest.approx(fd, rel=0.1)


def test_bad_input():
    with pytest.raises(ValueError, match="slope"):
        RampUrgency(slope=-0.01)
    with pytest.raises(TypeError, match="AbstractCircuit"):
        Urgent("not a circuit", RampUrgency())
    with pytest.raises(TypeError, match="AbstractUrgency"):
        Urgent(WongWang2006(), 0.01)
    with pytest.raises(ValueError, match="units"):
        Urgent(WongWang2006(), RampUrgency(), units=(0, 0))
    with pytest.raises(ValueError, match="input rows"):
        Urgent(WongWang2006(), RampUrgency(), units=(0, 5)).stimulus_input(Stimulus(0.1))
