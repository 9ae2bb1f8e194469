"""Oscillation tools against signals whose spectra are known.

A sinusoid in noise must peak within one frequency bin of its frequency; the spectral
density must integrate to the variance (Parseval) and agree with ``scipy.signal.welch``;
coherence is 1 for a signal with a scaled copy of itself and about ``1/n_segments`` for
independent noise; the closed-form spectrum of an Ornstein-Uhlenbeck process (Lorentzian)
matches the Welch estimate of a simulated one and :func:`linear_noise_spectrum`.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.signal

import multiscale as ms
from multiscale.circuit import (
    band_power,
    coherence,
    linear_noise_spectrum,
    peak_frequency,
    power_spectrum,
)

DT = 1e-3


def _t(n):
    return jnp.arange(n, dtype=jnp.result_type(float)) * DT


def _sine_plus_noise(f0, n=20_000, noise=1.0, key=None):
    key = jr.key(0) if key is None else key
    t = _t(n)
    return jnp.sin(2 * jnp.pi * f0 * t) + noise * jr.normal(key, (n,))


@pytest.mark.parametrize("f0", [7.3, 40.0, 61.7])
def test_sinusoid_in_noise_peaks_within_one_bin(f0):
    segment = 1000  # 1 Hz bins
    s = power_spectrum(_sine_plus_noise(f0), DT, segment=segment)
    df = 1.0 / (segment * DT)
    assert abs(float(s.peak_frequency()) - f0) < df
    # The sinusoid's power (1/2) is concentrated near f0; white noise of variance 1
    # spreads over 500 Hz (0.002 per Hz).
    assert float(s.band_power((f0 - 3, f0 + 3))) == pytest.approx(0.5 + 6 * 0.002, rel=0.15)


def test_welch_matches_scipy_and_parseval():
    x = np.asarray(_sine_plus_noise(23.0, n=8192, key=jr.key(3)))
    s = power_spectrum(jnp.asarray(x), DT, segment=512, overlap=0.5)
    f_ref, p_ref = scipy.signal.welch(x, fs=1 / DT, nperseg=512, noverlap=256)
    np.testing.assert_allclose(np.asarray(s.freqs), f_ref, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(s.power), p_ref, rtol=2e-4, atol=1e-9)
    # One segment of the whole signal, no window correction: Parseval within the Hann loss.
    total = float(band_power(s.freqs, s.power, (0.0, 500.0)))
    assert total == pytest.approx(np.var(x), rel=0.05)


def test_batch_axes_are_kept_and_axis_argument():
    x = jnp.stack([_sine_plus_noise(10.0), _sine_plus_noise(30.0, key=jr.key(1))])
    s = power_spectrum(x.T, DT, segment=1000, axis=0)
    assert s.power.shape == (2, 501)
    np.testing.assert_allclose(np.asarray(s.peak_frequency((5.0, 100.0))), [10.0, 30.0], atol=1)


def test_coherence_identical_one_independent_near_zero():
    x = _sine_plus_noise(40.0, key=jr.key(4))
    y = jr.normal(jr.key(5), x.shape)
    same = coherence(x, 3.0 * x + 1.0, DT, segment=500)
    np.testing.assert_allclose(np.asarray(same.coherence)[1:], 1.0, atol=1e-4)
    indep = coherence(x, y, DT, segment=500)
    # 79 half-overlapping segments: the bias is ~1/n_eff; its mean over frequencies must
    # be small, far from 1.
    assert float(indep.band_mean((1.0, 499.0))) < 0.05
    # A shared 40 Hz component makes the two coherent at 40 Hz only.
    shared = coherence(x, y + jnp.sin(2 * jnp.pi * 40.0 * _t(x.shape[0])), DT, segment=500)
    assert float(shared.band_mean((39.0, 41.0))) > 0.5
    assert float(shared.band_mean((100.0, 200.0))) < 0.05


def test_ornstein_uhlenbeck_lorentzian(float64):
    """OU process dx = -x/tau dt + sqrt(q) dW: one-sided P(f) = 2q / ((1/tau)^2 + (2 pi f)^2)."""
    tau, q, n = 0.02, 4.0, 100_000
    a = jnp.exp(-DT / tau)
    sd = jnp.sqrt(q * tau / 2 * (1 - a**2))
    xi = jr.normal(jr.key(7), (n,))
    x = jax.lax.scan(lambda c, e: (a * c + sd * e, a * c + sd * e), 0.0, xi)[1]
    s = power_spectrum(x, DT, segment=1000)
    freqs = s.freqs[1:60]
    exact = 2 * q / ((1 / tau) ** 2 + (2 * jnp.pi * freqs) ** 2)
    closed = linear_noise_spectrum(jnp.array([[-1 / tau]]), jnp.array([[q]]), freqs)[0]
    np.testing.assert_allclose(np.asarray(closed), np.asarray(exact), rtol=1e-10)
    # 199 segments: each bin's estimate has ~10 % relative error; the mean over bins less.
    ratio = np.asarray(s.power[1:60] / exact)
    assert abs(ratio.mean() - 1) < 0.05 and np.all(np.abs(ratio - 1) < 0.35)


def test_jit_vmap_grad_of_band_power_and_peak(float64):
    """d/d(amplitude) of the band power of A sin(2 pi f t) + noise is ~A (power A^2/2)."""
    noise = jr.normal(jr.key(2), (4000,))
    t = _t(4000)

    @jax.jit
    def gamma_power(amp, f0):
        x = amp * jnp.sin(2 * jnp.pi * f0 * t) + 0.5 * noise
        return power_spectrum(x, DT, segment=500).band_power((30.0, 50.0))

    g = jax.jit(jax.grad(gamma_power))(1.5, 40.0)
    h = 1e-5
    fd = (gamma_power(1.5 + h, 40.0) - gamma_power(1.5 - h, 40.0)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)
    assert float(g) == pytest.approx(1.5, rel=0.1)
    amps = jnp.array([0.5, 1.0, 2.0])
    p = jax.vmap(gamma_power, in_axes=(0, None))(amps, 40.0)
    assert np.all(np.diff(np.asarray(p)) > 0)

    @jax.jit
    def peak(f0):
        return power_spectrum(jnp.sin(2 * jnp.pi * f0 * t), DT, segment=500).peak_frequency()

    # The refined peak follows the frequency between bins (2 Hz bins here).
    gp = jax.grad(peak)(40.7)
    fdp = (peak(40.7 + 1e-4) - peak(40.7 - 1e-4)) / 2e-4
    assert float(gp) == pytest.approx(float(fdp), rel=1e-4)
    assert 0.5 < float(gp) < 1.5
    assert abs(float(peak(40.7)) - 40.7) < 0.3


def test_bad_inputs_raise_clear_errors():
    x = jnp.zeros(100)
    with pytest.raises(ValueError, match="segment"):
        power_spectrum(x, DT, segment=1000)
    with pytest.raises(ValueError, match="overlap"):
        power_spectrum(x, DT, segment=50, overlap=1.0)
    with pytest.raises(ValueError, match="dt"):
        power_spectrum(x, -1e-3)
    with pytest.raises(ValueError, match="same shape"):
        coherence(x, jnp.zeros(99), DT, segment=50)
    with pytest.raises(ValueError, match="2 segments"):
        coherence(x, x, DT, segment=100)
    with pytest.raises(ValueError, match="band"):
        band_power(jnp.arange(5.0), jnp.ones(5), (10.0, 5.0))
    with pytest.raises(ValueError, match="none of the spectrum"):
        power_spectrum(x, DT, segment=50).band_power((600.0, 700.0))
    with pytest.raises(ValueError, match="freqs"):
        peak_frequency(jnp.arange(5.0), jnp.ones(4))
    with pytest.raises(ValueError, match="square"):
        linear_noise_spectrum(jnp.ones((2, 3)), jnp.ones((2, 2)), jnp.arange(3.0))


def test_exported():
    assert ms.circuit.Spectrum is not None and ms.circuit.Coherence is not None
    assert isinstance(power_spectrum(jnp.ones(10), DT), eqx.Module)


def test_docstring_examples():
    import doctest

    from multiscale.circuit import _spectra

    assert doctest.testmod(_spectra).failed == 0
