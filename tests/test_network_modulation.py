"""Neuromodulators on any rate circuit: modulate_rate_circuit, scale_projections, lesion.

Directions: acetylcholine weights afferent (thalamocortical) over recurrent
(intracortical) transmission (Gil, Connors & Amitai 1997 Neuron 19:679; Hasselmo & Bower
1992 J Neurophysiol 67:1222); noradrenaline is a gain on the net input about a pivot
(Servan-Schreiber, Printz & Cohen 1990 Science 249:892; Aston-Jones & Cohen 2005). For
Wong & Wang's (2006) circuit the general mapping must reproduce ``modulate_circuit``.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.circuit import (
    AbbottChance,
    InputGain,
    PowerLaw,
    RateCircuit,
    Sigmoid,
    ThresholdLinear,
    decision_interneuron_circuit,
    lesion,
    modulate_circuit,
    modulate_rate_circuit,
    resting_currents,
    scale_projections,
)
from multiscale.circuit._network_modulation import _with_gain
from multiscale.synapse import Acetylcholine, Noradrenaline, Serotonin

SHORT = ms.circuit.TrialProtocol(dt=1e-3, t_on=0.3, t1=1.3)


def test_resting_current_of_wong_wang_is_its_spontaneous_state():
    # Wong & Wang 2006 appendix: spontaneous state at 1.78 Hz, input current 0.34718 nA.
    x = resting_currents(ms.circuit.WongWang2006().rate_circuit())
    np.testing.assert_allclose(np.asarray(x), [0.34718], rtol=1e-4)


def test_wong_wang_trials_identical_to_modulate_circuit():
    """Acetylcholine then noradrenaline: afferent, recurrent and gain mappings at once."""
    ww = ms.circuit.WongWang2006()
    ach, ne = Acetylcholine(), Noradrenaline()
    a = modulate_circuit(modulate_circuit(ww, ach, 1.0), ne, 1.0)
    rc = modulate_rate_circuit(ww.rate_circuit(), ach, 1.0)
    b = modulate_rate_circuit(rc, ne, 1.0, x_pivot=0.34718)
    stim = ms.circuit.Stimulus(0.064)
    runs = [
        ms.circuit.simulate(x, stim, key=jr.key(3), protocol=SHORT, save_every=10).r for x in (a, b)
    ]
    assert float(jnp.max(runs[0])) > 10.0  # the trial is a decision, not rest
    np.testing.assert_allclose(np.asarray(runs[1]), np.asarray(runs[0]), rtol=1e-5, atol=1e-4)
    # modulate_circuit dispatches a RateCircuit to modulate_rate_circuit.
    c = modulate_circuit(ww.rate_circuit(), ne, 1.0)
    d = modulate_rate_circuit(ww.rate_circuit(), ne, 1.0)
    assert jax.tree.all(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), c, d))


def test_level_zero_and_serotonin_leave_values_unchanged():
    circuit = decision_interneuron_circuit()
    for mod, level in ((Acetylcholine(), 0.0), (Noradrenaline(), 0.0), (Serotonin(), 1.0)):
        out = modulate_rate_circuit(circuit, mod, level)
        for x, y in zip(
            jnp.asarray(resting_currents(out)), jnp.asarray(resting_currents(circuit)), strict=True
        ):
            assert abs(float(x) - float(y)) < 1e-6


def test_acetylcholine_scales_intracortical_down_and_afferent_up():
    """B-T1 ordinal: recurrent (out of E, onto E and interneurons) down, stimulus up."""
    circuit = decision_interneuron_circuit()
    out = modulate_rate_circuit(circuit, Acetylcholine(), 1.0)
    afferent = float(out.stimulus.gain) / float(circuit.stimulus.gain)
    assert afferent == pytest.approx(1.2, rel=1e-6)
    for before, after in zip(circuit.projections, out.projections, strict=True):
        w0, w1 = _weights(before.weight), _weights(after.weight)
        if before.pre == 0:  # out of the choice (excitatory) pools: intracortical
            np.testing.assert_allclose(w1, w0 / 1.05, rtol=1e-6)
        else:
            np.testing.assert_array_equal(w1, w0)
    assert afferent > 1.0 / 1.05  # afferent over recurrent


def test_nicotinic_and_muscarinic_switches():
    """B-T1: nicotinic (afferent only) enhances thalamocortical input alone; muscarinic
    (recurrent only) leaves the afferent input and scales intracortical synapses down."""
    circuit = decision_interneuron_circuit()
    nic = modulate_rate_circuit(circuit, Acetylcholine(recurrent_suppression=0.0), 1.0)
    mus = modulate_rate_circuit(circuit, Acetylcholine(afferent_gain=0.0), 1.0)
    assert float(nic.stimulus.gain) > float(circuit.stimulus.gain)
    assert float(mus.stimulus.gain) == pytest.approx(float(circuit.stimulus.gain))
    for p0, pn, pm in zip(circuit.projections, nic.projections, mus.projections, strict=True):
        np.testing.assert_allclose(_weights(pn.weight), _weights(p0.weight), rtol=1e-7)
        if p0.pre == 0:
            assert np.all(np.abs(_weights(pm.weight)) < np.abs(_weights(p0.weight)))


def _weights(weight):
    return np.concatenate([np.ravel(np.asarray(x, float)) for x in jax.tree.leaves(weight)])


@pytest.mark.parametrize(
    "transfer",
    [AbbottChance(), ThresholdLinear(2.0, 0.1), Sigmoid(50.0, 20.0, 0.2), PowerLaw(0.04, 2.0)],
)
def test_gain_scales_the_net_input_about_the_pivot(transfer):
    m, xp = jnp.asarray(1.3), jnp.asarray(0.35)
    g = _with_gain(transfer, m, xp)
    assert type(g) is (InputGain if isinstance(transfer, PowerLaw) else type(transfer))
    x = jnp.linspace(0.2, 0.6, 9)
    np.testing.assert_allclose(
        np.asarray(g(x)), np.asarray(transfer(xp + m * (x - xp))), rtol=1e-5, atol=1e-4
    )
    np.testing.assert_allclose(float(g(xp)), float(transfer(xp)), rtol=1e-6)


def test_noradrenaline_keeps_the_resting_state_of_the_interneuron_circuit():
    circuit = decision_interneuron_circuit()
    out = modulate_rate_circuit(circuit, Noradrenaline(gain=0.5), 1.0)
    np.testing.assert_allclose(
        np.asarray(resting_currents(out)), np.asarray(resting_currents(circuit)), atol=2e-4
    )
    assert float(out.populations[0].transfer.a) == pytest.approx(270.0 * 1.5)


def test_scale_projections_and_lesion():
    circuit = decision_interneuron_circuit()
    sst = 3
    out = lesion(circuit, sst)
    for before, after in zip(circuit.projections, out.projections, strict=True):
        w = _weights(after.weight)
        if before.pre == sst:
            assert np.all(w == 0.0)
        else:
            np.testing.assert_array_equal(w, _weights(before.weight))
    half = scale_projections(circuit, [0], 0.5)
    assert float(half.projections[0].weight.self_) == pytest.approx(0.13045)


def test_errors_name_the_argument():
    circuit = decision_interneuron_circuit()
    with pytest.raises(TypeError, match="RateCircuit"):
        modulate_rate_circuit(ms.circuit.WongWang2006(), Acetylcholine(), 1.0)
    with pytest.raises(TypeError, match="modulator"):
        modulate_rate_circuit(circuit, object(), 1.0)
    with pytest.raises(ValueError, match="recurrent"):
        modulate_rate_circuit(circuit, Acetylcholine(), 1.0, recurrent=[99])
    with pytest.raises(ValueError, match="population"):
        lesion(circuit, 7)
    no_choice = RateCircuit(circuit.populations, circuit.projections, circuit.stimulus, None)
    with pytest.raises(ValueError, match="recurrent"):
        modulate_rate_circuit(no_choice, Acetylcholine(), 1.0)
    with pytest.raises(ValueError, match="level"):
        modulate_rate_circuit(circuit, Acetylcholine(), -1.0)
