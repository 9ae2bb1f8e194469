"""Acceptance of the circuit interface: a new circuit defined in this file alone.

A three-population rate circuit (two selective excitatory units with NMDA recurrence, as
in Wong & Wang 2006, plus a fast PV-like and a slow SST-like inhibitory population with
their own AMPA and GABA projections) is built from the composition layer and run through
every scale that takes a circuit: one trial, batched trials, hard and soft readouts, the
trial likelihood, a fit of one projection weight chosen by an accessor, and a sweep. No
file of the package names this circuit.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import multiscale as ms
from multiscale.behavior import CircuitBehavior, HazardReadout, ThresholdReadout
from multiscale.circuit import (
    AbbottChance,
    OUNoise,
    Projection,
    RateCircuit,
    RatePopulation,
    SelfCross,
    StimulusInput,
    ThresholdLinear,
    TrialProtocol,
    Uniform,
)
from multiscale.synapse import ExponentialSynapse, SaturatingNMDA

PV_TO_E = 2e-3  # nA per Hz of filtered PV rate


def three_population_circuit(pv_to_e: float = PV_TO_E) -> RateCircuit:
    E = RatePopulation(AbbottChance(), size=2, I_0=0.335, noise=OUNoise(0.02, 0.002), name="E")
    PV = RatePopulation(ThresholdLinear(gain=1.0), size=1, tau=0.005, name="PV")
    SST = RatePopulation(ThresholdLinear(gain=1.0), size=1, tau=0.02, name="SST")
    projections = (
        Projection(0, 0, SaturatingNMDA(), SelfCross(0.2609, -0.0497), s0=0.1),
        Projection(0, 1, ExponentialSynapse(0.002), Uniform(0.5)),  # E -> PV, AMPA
        Projection(1, 0, ExponentialSynapse(0.005), Uniform(-pv_to_e)),  # PV -> E, GABA_A
        Projection(0, 2, ExponentialSynapse(0.002), Uniform(0.3)),  # E -> SST, AMPA
        Projection(2, 0, ExponentialSynapse(0.02), Uniform(-1e-3)),  # SST -> E, slow GABA
        Projection(1, 2, ExponentialSynapse(0.005), Uniform(-0.2)),  # PV -> SST
    )
    return RateCircuit((E, PV, SST), projections, StimulusInput((0, 1), 5.2e-4), choice=(0, 1))


SELF_WEIGHT = lambda m: m.circuit.projections[0].weight.self_  # noqa: E731
SHORT = TrialProtocol(dt=1e-3, t_on=0.1, t1=1.3)


def test_one_trial():
    circuit = three_population_circuit()
    traj = ms.circuit.simulate(
        circuit, ms.circuit.Stimulus(0.128), key=jr.key(0), save_every=10
    )
    assert traj.r.shape == (500, 4) and bool(traj.ok)
    assert len(traj.state.gating) == 6
    r = np.asarray(traj.r)
    assert np.all(r >= 0) and r[:, 2].max() > 1.0  # PV is driven by E


def test_batched_trials_hard_and_soft_readouts():
    circuit = three_population_circuit()
    coherence = jnp.array([0.0, 0.128, 0.512])
    hard = ms.population.run_trials(
        circuit, coherence, key=jr.key(1), n_trials=300, readout=ThresholdReadout()
    )
    decided = np.asarray(hard.readout.decided)
    accuracy = np.asarray(hard.readout.correct).sum(1) / decided.sum(1)
    assert decided.mean() > 0.95
    assert abs(accuracy[0] - 0.5) < 3 * np.sqrt(0.25 / 300)
    assert accuracy[2] > 0.97 and accuracy[1] > 0.8
    rt = np.nanmean(np.asarray(hard.readout.rt), axis=1)
    assert rt[0] > rt[1] > rt[2]  # measured 0.94, 0.74, 0.39 s
    soft = ms.population.run_trials(
        circuit, coherence, key=jr.key(1), n_trials=300, readout=HazardReadout()
    )
    p = np.asarray(soft.readout.p_choice)
    p_correct = p[..., 0].sum(1) / p.sum((1, 2))
    np.testing.assert_allclose(p_correct, accuracy, atol=0.06)


def test_trial_likelihood_and_where_fit():
    truth = CircuitBehavior(
        circuit=three_population_circuit(),
        readout=HazardReadout(non_decision_time=0.3),
        ndt_sd=0.05,
        rt_max=1.6,
        protocol=SHORT,
    )
    coherence = jnp.array([0.064, 0.256])
    data = ms.behavior.sample_circuit_trials(truth, coherence, 120, key=jr.key(2))
    keys = jr.split(jr.key(3), 128)

    def nll(model, data):
        return -jnp.sum(ms.behavior.trial_log_likelihood(model, data, keys, chunk=128))

    assert np.isfinite(float(eqx.filter_jit(nll)(truth, data)))
    true_weight = float(SELF_WEIGHT(truth))
    start = eqx.tree_at(SELF_WEIGHT, truth, jnp.asarray(1.04 * true_weight))
    # Sign descent on the weight itself: fixed steps of 1e-3 nA.
    optimizer = optax.chain(optax.scale_by_sign(), optax.scale(-1e-3))
    fitted, history = ms.fit.fit(
        start, nll, data, optimizer=optimizer, steps=20, key=jr.key(4),
        free=[ms.fit.Free(SELF_WEIGHT, ms.fit.Real())], chunk=10, check=False,
    )
    before = abs(float(SELF_WEIGHT(start)) - true_weight)
    after = abs(float(SELF_WEIGHT(fitted)) - true_weight)
    assert after < 0.5 * before, (float(SELF_WEIGHT(start)), float(SELF_WEIGHT(fitted)))
    # Every other leaf is untouched.
    same = eqx.tree_at(SELF_WEIGHT, fitted, SELF_WEIGHT(start))
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), same, start))


def test_sweep_over_a_projection_weight(tmp_path):
    circuit = three_population_circuit()
    design = ms.sweep.Grid({lambda c: c.projections[1].weight.w: np.array([0.0, 0.5, 1.0])})
    summary = ms.sweep.DecisionSummary(coherence=0.256, n_trials=48, protocol=SHORT)
    ds = ms.sweep.sweep(summary, circuit, design, key=jr.key(5), out=tmp_path / "s", progress=False)
    assert set(np.asarray(ds["status"].values).tolist()) == {0}
    assert np.all(np.isfinite(ds["accuracy"].values))


def test_no_package_file_names_the_test_circuit():
    import pathlib

    root = pathlib.Path(ms.__file__).parent
    assert not any("three_population_circuit" in p.read_text() for p in root.rglob("*.py"))
    with pytest.raises(TypeError, match="AbstractCircuit"):
        ms.population.run_trials(
            object(), [0.1], key=jr.key(0), n_trials=1, readout=ThresholdReadout()
        )
