"""Values set after construction are checked where they are used (issue: a negative NMDA
decay set with eqx.tree_at gave gating above 1 with status ok, and a sweep reported
"0 failed")."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms

SHORT = ms.circuit.TrialProtocol(dt=1e-3, t_on=0.1, t1=0.6)


def bad_circuit():
    return eqx.tree_at(lambda c: c.nmda.tau_decay, ms.circuit.WongWang2006(), -0.1)


def test_simulate_under_jit_raises_naming_the_field():
    run = eqx.filter_jit(
        lambda c: ms.circuit.simulate(c, ms.circuit.Stimulus(0.1), key=jr.key(0), protocol=SHORT)
    )
    with pytest.raises(Exception, match="SaturatingNMDA `tau_decay` must be finite and > 0"):
        jax.block_until_ready(run(bad_circuit()).r)


def test_batch_without_throw_marks_the_member_invalid():
    # Built valid, then broken after construction (where no __check_init__ sees it).
    circuit = eqx.tree_at(
        lambda c: c.J_N11, ms.circuit.WongWang2006(), jnp.array([0.2609, -0.1, 0.2609])
    )
    out = ms.circuit.simulate_batch(
        circuit, ms.circuit.Stimulus(jnp.full(3, 0.1)), keys=jr.split(jr.key(0), 3),
        protocol=SHORT, throw=False,
    )  # fmt: skip
    assert out.result.tolist() == [ms.RESULTS.ok, ms.RESULTS.invalid, ms.RESULTS.ok]
    with pytest.raises(Exception, match="J_N11"):
        jax.block_until_ready(
            ms.circuit.simulate_batch(
                circuit, ms.circuit.Stimulus(jnp.full(3, 0.1)), keys=jr.split(jr.key(0), 3),
                protocol=SHORT,
            ).r
        )  # fmt: skip


def test_sweep_reports_the_bad_member_and_runs_the_others():
    design = ms.sweep.Grid({lambda c: c.nmda.tau_decay: np.array([-0.1, 0.1])})
    summary = ms.sweep.DecisionSummary(coherence=0.256, n_trials=16, protocol=SHORT)
    ds = ms.sweep.sweep(summary, ms.circuit.WongWang2006(), design, key=jr.key(0), progress=False)
    assert ds["status"].values.tolist() == [ms.RESULTS.invalid, ms.RESULTS.ok]
    assert np.isfinite(ds["accuracy"].values[1])


def test_kinetic_receptor_rate_constant_checked_under_vmap():
    circuit = ms.circuit.WongWang2006(nmda=ms.synapse.nmda())
    bad = eqx.tree_at(lambda c: c.nmda.beta, circuit, -1.0)
    run = eqx.filter_jit(
        jax.vmap(
            lambda k: ms.circuit.simulate(
                bad, ms.circuit.Stimulus(0.1), key=k, protocol=SHORT, save_every=0
            ).r
        )
    )
    with pytest.raises(Exception, match="FirstOrderReceptor `beta`"):
        jax.block_until_ready(run(jr.split(jr.key(0), 2)))


def test_a_nested_part_is_checked_too():
    # The Mg2+ block inside the kinetic NMDA receptor inside the circuit.
    circuit = ms.circuit.WongWang2006(nmda=ms.synapse.nmda())
    bad = eqx.tree_at(lambda c: c.nmda.block.Mg, circuit, -1.0)
    run = eqx.filter_jit(
        lambda c: ms.circuit.simulate(c, ms.circuit.Stimulus(0.1), key=jr.key(0), protocol=SHORT).r
    )
    with pytest.raises(Exception, match="MgBlock `Mg`"):
        jax.block_until_ready(run(bad))
    assert bool(bad.violations()) and not bool(circuit.violations())


def test_population_rate_time_constant_checked_under_jit():
    E = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), size=2, tau=0.02, I_0=1.0)
    ee = ms.circuit.Projection(
        0, 0, ms.synapse.ExponentialSynapse(0.005), ms.circuit.SelfCross(0.5, -0.3)
    )
    circuit = ms.circuit.RateCircuit((E,), (ee,), ms.circuit.StimulusInput(gain=1.0), (0, 1))

    @jax.jit
    def run(tau):
        c = eqx.tree_at(lambda c: c.populations[0].tau, circuit, tau)
        return ms.circuit.simulate(c, ms.circuit.Stimulus(0.0), key=jr.key(0), protocol=SHORT).r

    with pytest.raises(Exception, match="RatePopulation `tau`"):
        jax.block_until_ready(run(jnp.asarray(-0.01)))
    assert np.all(np.isfinite(np.asarray(run(jnp.asarray(0.01)))))
