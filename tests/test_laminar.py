"""The laminar column of Mejias, Murray, Kennedy & Wang 2016 (Sci Adv 2:e1601335).

Targets: the fixed points and linearised rhythms of the isolated layers (computed from the
parameters of the authors' code: gamma 34-45 Hz in L2/3 and 7-9 Hz in L5/6 for inputs 4-8,
as the code's comments state), the simulated spectra peaking near them, and the
interlaminar alpha component in L2/3.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.circuit import (
    laminar_column,
    layer_frequency,
    linearise_column,
    power_spectrum,
)

# Linearisation of the isolated layer (paper's instantaneous coupling): input to E ->
# (r_E, r_I) Hz, L2/3 eigenfrequency and E-spectrum peak, Hz. L5/6 values are 1/5 (only
# tau differs). Computed from Mejias et al.'s parameters (fixed point of r = phi(J r + I),
# Jacobian (-1 + phi'(x) J)/tau, noise diag(sigma^2/tau)).
LINEAR = {
    4.0: ((1.50, 1.65), 34.7, 33.9),
    6.0: ((2.20, 2.29), 40.6, 40.0),
    8.0: ((2.92, 2.97), 44.5, 44.0),
}
NO_INPUT = ms.circuit.Stimulus(0.0, mu0=0.0)


def _simulate(col, T, key, dt=2e-4):
    protocol = ms.circuit.TrialProtocol(dt=dt, t_on=0.1, t1=T, segment=1000)
    run = jax.jit(
        lambda k: ms.circuit.simulate(col, NO_INPUT, key=k, protocol=protocol, save_every=5).r
    )
    return run(key)  # (time, units), 1 ms samples


@pytest.mark.parametrize("drive", sorted(LINEAR))
def test_isolated_layers_linearised(drive, float64):
    (rE, rI), f_eig, f_peak = LINEAR[drive]
    # The instantaneous-coupling limit of the column (tau_syn -> 0): the paper's equations.
    col = laminar_column(
        input_superficial=drive, input_deep=drive, interlaminar=False, tau_syn=1e-6
    )
    lin = linearise_column(col)
    np.testing.assert_allclose(np.asarray(lin.rates), [rE, rI, rE, rI], atol=0.01)
    assert bool(lin.stable)
    assert float(layer_frequency(lin, col, "L23E")) == pytest.approx(f_eig, abs=0.5)
    assert float(layer_frequency(lin, col, "L56E")) == pytest.approx(f_eig / 5, abs=0.5)
    assert float(lin.peak_frequency(0)) == pytest.approx(f_peak, abs=0.5)
    assert float(lin.peak_frequency(2)) == pytest.approx(f_peak / 5, abs=0.5)
    # The default 0.5 ms synapse on each projection moves the rhythms by < 0.7 Hz.
    col = laminar_column(input_superficial=drive, input_deep=drive, interlaminar=False)
    lin = linearise_column(col)
    assert float(layer_frequency(lin, col, "L23E")) == pytest.approx(f_eig, abs=0.7)
    assert float(lin.peak_frequency(0)) == pytest.approx(f_peak, abs=0.7)


def test_noiseless_simulation_settles_on_the_fixed_point():
    col = laminar_column()
    col = eqx.tree_at(lambda c: c.sigma, col, jnp.zeros(4))
    r = _simulate(col, 2.0, jr.key(0))
    lin = linearise_column(col)
    np.testing.assert_allclose(np.asarray(r[-1]), np.asarray(lin.rates), rtol=2e-3)


@pytest.mark.slow
def test_simulated_spectra_gamma_superficial_alpha_deep():
    """20 s at input 6: peaks within the tolerances of the paper-code targets (L2/3 +-5 Hz,
    L5/6 +-1.5 Hz of the linearised values), and each layer's rhythm dominates its band."""
    col = laminar_column(input_superficial=6.0, input_deep=6.0, interlaminar=False)
    r = _simulate(col, 20.0, jr.key(1))[2000:]  # drop 2 s
    s = power_spectrum(r.T, 1e-3, segment=2000)
    lin = linearise_column(col)
    f23 = float(s.peak_frequency((15.0, 80.0))[0])
    f56 = float(s.peak_frequency((2.0, 20.0))[2])
    assert f23 == pytest.approx(float(lin.peak_frequency(0)), abs=5.0)
    assert f56 == pytest.approx(float(lin.peak_frequency(2)), abs=1.5)
    gamma, alpha = (30.0, 50.0), (6.0, 12.0)
    assert float(s.band_power(gamma)[0]) > float(s.band_power(gamma)[2])
    assert float(s.band_power(alpha)[2]) > float(s.band_power(alpha)[0])
    ff, fb = col.feedforward(r), col.feedback(r)
    assert ff.shape == fb.shape == (r.shape[0], 1)
    np.testing.assert_array_equal(np.asarray(ff[:, 0]), np.asarray(r[:, 0]))
    np.testing.assert_array_equal(np.asarray(fb[:, 0]), np.asarray(r[:, 2]))


@pytest.mark.slow
def test_interlaminar_coupling_gives_superficial_alpha():
    """With coupling on, L2/3 spectra acquire an alpha component (Mejias et al. 2016, via
    the Open Source Brain re-implementation): more 6-12 Hz power in L2/3 E."""
    key = jr.key(2)
    alpha = (6.0, 12.0)
    power = []
    for coupled in (False, True):
        col = laminar_column(interlaminar=coupled)
        r = _simulate(col, 12.0, key)[2000:]
        power.append(float(power_spectrum(r[:, 0], 1e-3, segment=2000).band_power(alpha)))
    assert power[1] > 1.3 * power[0]  # measured x2.1 over 50 s (validation target)


def test_grad_jit_vmap_of_gamma_peak(float64):
    """The linearised L2/3 gamma peak rises with superficial input; its derivative matches
    central differences, under jit and vmap."""

    def gamma_peak(drive):
        col = laminar_column(input_superficial=drive, interlaminar=False)
        return linearise_column(col).peak_frequency(0, (15.0, 80.0))

    f = jax.jit(gamma_peak)
    g = jax.jit(jax.grad(gamma_peak))(6.0)
    fd = (f(6.0 + 1e-4) - f(6.0 - 1e-4)) / 2e-4
    assert float(g) == pytest.approx(float(fd), rel=1e-3)
    assert float(g) > 0
    peaks = jax.vmap(f)(jnp.array([4.0, 6.0, 8.0]))
    assert np.all(np.diff(np.asarray(peaks)) > 0)


def test_grad_of_simulated_band_power(float64):
    """d(gamma band power of L2/3 E over 1 s)/d(input) matches central differences (same key)."""
    protocol = ms.circuit.TrialProtocol(dt=2e-4, t_on=0.1, t1=1.0, segment=500)

    @jax.jit
    def gamma_power(drive):
        col = laminar_column(input_superficial=drive, interlaminar=False)
        r = ms.circuit.simulate(col, NO_INPUT, key=jr.key(3), protocol=protocol, save_every=5).r
        return power_spectrum(r[200:, 0], 1e-3, segment=200).band_power((30.0, 50.0))

    g = jax.grad(gamma_power)(6.0)
    fd = (gamma_power(6.0 + 1e-5) - gamma_power(6.0 - 1e-5)) / 2e-5
    assert float(g) == pytest.approx(float(fd), rel=1e-4)


def test_bad_inputs():
    col = laminar_column()
    bad = eqx.tree_at(lambda c: c.circuit.populations[2].tau, col, -0.03)
    protocol = ms.circuit.TrialProtocol(dt=2e-4, t_on=0.1, t1=0.2)

    @jax.jit
    def run(c):
        return ms.circuit.simulate(c, NO_INPUT, key=jr.key(0), protocol=protocol).r

    with pytest.raises(Exception, match="tau"):
        run(bad).block_until_ready()
    assert bool(bad.violations()) and not bool(col.violations())
    with pytest.raises(ValueError, match="sigma"):
        ms.circuit.LaminarColumn(col.circuit, jnp.ones(3))
    with pytest.raises(ValueError, match="drive"):
        linearise_column(col, drive=jnp.zeros(3))
    with pytest.raises(ValueError, match="layer"):
        col.units("L4E")
    with pytest.raises(ValueError, match="n_channels"):
        laminar_column(n_channels=0)
    with pytest.raises(ValueError, match="dt"):
        ms.circuit.simulate(
            col, NO_INPUT, key=jr.key(0), protocol=ms.circuit.TrialProtocol(dt=1e-3, t1=1.0)
        )


SEQUENCE = jnp.array([0] * 8 + [1] + [0] * 3, jnp.int32)  # 8 standards, a deviant, 3 more


def _oddball(rule=None):
    col = ms.circuit.predictive_column()
    keys = jr.split(jr.key(4), 4)
    run = jax.jit(jax.vmap(lambda k: ms.circuit.oddball(col, SEQUENCE, key=k, rule=rule)))
    return run(keys)


def test_repetition_suppression_and_mismatch_response():
    """Bastos et al. 2012 (Neuron 76:695): superficial cells carry prediction errors, so the
    response to a repeated stimulus shrinks and an unexpected one evokes a large response.
    Means over 4 noise seeds; margins are ratios (measured x2-3), not machine-dependent."""
    res = _oddball()
    resp = np.asarray(res.response).mean(0)  # (presentations,)
    first, late = resp[0], resp[4:8].mean()
    deviant = resp[8]
    assert first > 1.5 * late  # repetition suppression
    assert deviant > 1.5 * late  # mismatch (oddball) response
    # The deep layer holds the expectation of the standard, not of the deviant.
    pred = np.asarray(res.prediction).mean(0)
    assert pred[8, 0] > 3 * pred[8, 1]
    # Control: without learning the expectation stays 0 and nothing is suppressed.
    flat = np.asarray(_oddball(ms.circuit.PredictionUpdate(eta=0.0)).response).mean(0)
    assert flat[0] < 1.3 * flat[4:8].mean()
    assert flat[8] < 1.3 * flat[4:8].mean()


def test_oddball_bad_inputs():
    col = ms.circuit.predictive_column()
    with pytest.raises(ValueError, match="sequence"):
        ms.circuit.oddball(col, jnp.array([0.0, 1.0]), key=jr.key(0))
    with pytest.raises(ValueError, match="prediction0"):
        ms.circuit.oddball(col, jnp.array([0, 1]), key=jr.key(0), prediction0=jnp.zeros(3))
    with pytest.raises(ValueError, match="leak"):
        ms.circuit.PredictionUpdate(leak=1.5)


def test_layer_rules_are_configuration():
    """Each layer's excitatory projections carry their own rule and learning rate."""
    col = laminar_column()
    fast, slow = ms.synapse.Hebb(eta=1e-2), ms.synapse.Hebb(eta=1e-3)
    plastic = ms.circuit.with_layer_rules(col, superficial=fast, deep=slow)
    for p in plastic.circuit.projections:
        expected = None if p.pre in (1, 3) else (fast if p.post in (0, 1) else slow)
        assert p.rule == expected
    rates = jnp.array([2.0, 2.3, 2.8, 2.8])
    new = ms.circuit.update_layer_weights(plastic, rates, 1.0)
    change = [
        float(jnp.abs(a.weight.W - b.weight.W).sum())
        for a, b in zip(new.circuit.projections, col.circuit.projections, strict=True)
    ]
    # Hebb's default bounds [0, 1] clip L2/3 E -> E (1.5) to 1; inhibitory ones unchanged.
    assert change[0] == pytest.approx(0.5, abs=1e-6)
    assert change[1] == change[3] == change[5] == change[7] == 0.0
    assert ms.circuit.update_layer_weights(col, rates, 1.0) is not None
    with pytest.raises(ValueError, match="rates"):
        ms.circuit.update_layer_weights(plastic, jnp.ones(3), 1.0)


def test_unbounded_layer_rates_scale_the_change(float64):
    bounds = ms.synapse.HardBounds(-jnp.inf, jnp.inf)
    col = ms.circuit.with_layer_rules(
        laminar_column(),
        superficial=ms.synapse.Hebb(eta=1e-2, bounds=bounds),
        deep=ms.synapse.Hebb(eta=1e-3, bounds=bounds),
    )
    rates = jnp.array([2.0, 2.3, 2.8, 2.8])
    new = ms.circuit.update_layer_weights(col, rates, 1.0)
    dW = [
        float((a.weight.W - b.weight.W)[0, 0])
        for a, b in zip(new.circuit.projections, col.circuit.projections, strict=True)
    ]
    assert dW[0] == pytest.approx(1e-2 * 2.0 * 2.0)  # L2/3 E -> E
    assert dW[4] == pytest.approx(1e-3 * 2.8 * 2.8)  # L5/6 E -> E
    assert dW[8] == pytest.approx(1e-3 * 2.0 * 2.8)  # L2/3 E -> L5/6 E (onto deep)
    assert dW[9] == pytest.approx(1e-2 * 2.8 * 2.3)  # L5/6 E -> L2/3 I (onto superficial)


def test_developmental_windows_close_layer_by_layer():
    """Ordinal schedule (Isaac et al. 1997; Stern et al. 2001; Wen & Barth 2011): L4 TC
    LTP present at P5 and lost by P8-9; L2/3 windows open later, L2/3 -> L2/3 later and
    longer than L4 -> L2/3; adult L2/3 and L5 plasticity non-zero."""
    w = ms.circuit.RAT_BARREL_WINDOWS
    tc, l4l23, l23, l5 = (w[k] for k in ("L4 thalamocortical", "L4 -> L2/3", "L2/3 -> L2/3", "L5"))
    assert float(tc(5.0)) > 0.9 and float(tc(10.0)) < 0.05
    assert float(l4l23(8.0)) < 0.1 < 0.5 < float(l4l23(14.0))
    half = lambda g, ages: ages[np.argmax(np.asarray(jax.vmap(g)(ages)) > 0.5)]  # noqa: E731
    ages = jnp.linspace(0.0, 60.0, 601)
    assert float(half(l23, ages)) > float(half(l4l23, ages))
    assert float(l23(25.0)) > float(l4l23(25.0))
    assert float(l23(90.0)) > 0 and float(l5(90.0)) > 0 and float(tc(90.0)) < 1e-6
    rule = ms.circuit.gate_rule(ms.synapse.Hebb(eta=1e-2), tc, 20.0)
    assert float(rule.eta) < 1e-4
    g = jax.grad(lambda a: tc(a))(8.5)
    assert float(g) < 0  # the gate closes smoothly: differentiable in age
    with pytest.raises(ValueError, match="width"):
        ms.circuit.PlasticityWindow(0.0, 8.5, width=-1.0)


def test_docstring_examples():
    import doctest

    from multiscale.circuit import _laminar

    assert doctest.testmod(_laminar).failed == 0


def test_linearisation_agrees_with_the_circuit_linearise(float64):
    """The column's own linearisation and ms.circuit.linearise of its rate circuit (at the
    same fixed point) give the same eigenvalues."""
    col = laminar_column()
    lin = linearise_column(col)
    _, lam = ms.circuit.linearise(col.circuit, lin.rates)
    key = lambda z: np.sort_complex(np.round(np.asarray(z), 6))  # noqa: E731
    np.testing.assert_allclose(key(lam), key(lin.eigenvalues), rtol=1e-6, atol=1e-6)


def test_vmap_over_trials_and_stable_state():
    col = laminar_column()
    protocol = ms.circuit.TrialProtocol(dt=2e-4, t_on=0.1, t1=0.2, segment=100)
    run = jax.jit(
        jax.vmap(
            lambda k: ms.circuit.simulate(col, NO_INPUT, key=k, protocol=protocol, save_every=10)
        )
    )
    traj = run(jr.split(jr.key(5), 3))
    assert traj.r.shape == (3, 100, 4) and traj.r.dtype == jnp.float32
    assert bool(jnp.all(traj.ok))
    assert not np.allclose(np.asarray(traj.r[0]), np.asarray(traj.r[1]))  # own noise each
    assert all(g.shape == (3, 100, 1) for g in traj.state.gating)
