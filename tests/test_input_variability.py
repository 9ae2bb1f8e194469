"""Trial-to-trial variability of the stimulus input (multiscale.circuit._input_variability)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.behavior import ThresholdReadout
from multiscale.circuit import (
    CoherenceVariability,
    CounterNoise,
    GainVariability,
    Stimulus,
    TrialProtocol,
    VariableInput,
    WongWang2006,
)


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


def test_the_gain_is_drawn_once_per_trial_from_its_own_normal():
    """eta is the first normal of the trial's first step; that normal is not also the
    circuit's noise (it is replaced by 0), and later steps keep eta and their normals."""
    circuit = VariableInput(WongWang2006(), GainVariability(sd=_f(0.2)))
    step = jax.jit(circuit.discretise(1e-3))
    noise = CounterNoise()
    keys = jr.split(jr.key(3), 2000)
    states = jax.vmap(noise.init)(keys).T  # (2, trials)
    drive = jnp.broadcast_to(circuit.stimulus_input(Stimulus(0.256))[:, None], (2, 2000))
    s0 = circuit.init((2000,), jnp.result_type(float))
    xi0, xi1 = noise.normals(states, jnp.asarray(0)), noise.normals(states, jnp.asarray(1))
    s1, _ = step(s0, drive, xi0)
    s2, _ = step(s1, drive, xi1)
    eta = np.asarray(s1.eta[0])
    np.testing.assert_array_equal(eta, np.asarray(xi0[0]))
    np.testing.assert_array_equal(np.asarray(s2.eta[0]), eta)
    assert abs(eta.mean()) < 0.07 and abs(eta.std() - 1.0) < 0.05


def test_input_variability_widens_strong_stimulus_decision_times():
    """A drift that varies from trial to trial (Ratcliff & Tuerlinckx 2002, Psychon Bull
    Rev 9:438) mixes fast and slow decisions: at 51.2 % coherence the circuit's decision
    times spread (interquartile range) and their right tail (q90 - q50) lengthens."""
    protocol = TrialProtocol(dt=1e-3, t_on=0.05, t1=0.85)
    keys = jr.split(jr.key(5), 300)

    def times(sd):
        out = ms.circuit.simulate_batch(
            VariableInput(WongWang2006(), GainVariability(sd=_f(sd))), Stimulus(0.512), keys=keys,
            protocol=protocol, readout=ThresholdReadout(threshold=15.0),
        )  # fmt: skip
        d = out.readout
        return np.asarray(d.decision_time)[np.asarray(d.decided)]

    q0 = np.quantile(times(0.0), [0.25, 0.5, 0.75, 0.9])
    q1 = np.quantile(times(0.3), [0.25, 0.5, 0.75, 0.9])
    assert q1[2] - q1[0] > 1.5 * (q0[2] - q0[0])
    assert q1[3] - q1[1] > 1.5 * (q0[3] - q0[1])


def test_gradient_in_sd_matches_differences_on_common_paths():
    """The draw is reparameterised (eta fixed by the key), so the mean rate of a batch of
    fixed paths is differentiable in s_v; forward-mode derivative against a central
    difference on the same paths."""
    protocol = TrialProtocol(dt=1e-3, t_on=0.02, t1=0.3)
    keys = jr.split(jr.key(7), 64)

    def mean_rate(sd):
        out = ms.circuit.simulate_batch(
            VariableInput(WongWang2006(), GainVariability(sd=sd)),
            Stimulus(0.256),
            keys=keys,
            protocol=protocol,
        )
        return jnp.mean(out.r)

    f = jax.jit(mean_rate)
    _, d = jax.jit(lambda s: jax.jvp(mean_rate, (s,), (jnp.ones_like(s),)))(_f(0.2))
    h = 1e-2
    fd = (float(f(_f(0.2 + h))) - float(f(_f(0.2 - h)))) / (2 * h)
    assert abs(float(d)) > 0
    assert float(d) == pytest.approx(fd, rel=2e-2, abs=1e-3)


def test_the_two_variabilities_change_the_input_as_documented():
    """Gain: J (1 + s eta) mu0 (1 +- c); coherence: J mu0 (1 +- (c + s eta))."""
    drive = WongWang2006().stimulus_input(Stimulus(0.256))[:, None] * jnp.ones((1, 3))
    eta = jnp.array([-1.0, 0.0, 2.0])
    g = np.asarray(GainVariability(sd=_f(0.1))(drive, eta, (0, 1)))
    np.testing.assert_allclose(g, np.asarray(drive) * (1 + 0.1 * np.asarray(eta)), rtol=1e-6)
    c = np.asarray(CoherenceVariability(sd=_f(0.1))(drive, eta, (0, 1)))
    mean = np.asarray(drive).mean(axis=0)
    np.testing.assert_allclose(c.mean(axis=0), mean, rtol=1e-6)
    np.testing.assert_allclose((c[0] - c[1]) / (2 * mean), 0.256 + 0.1 * np.asarray(eta), rtol=1e-5)
    with pytest.raises(ValueError, match="sd"):
        GainVariability(sd=-0.1)
