"""Saturating coherence gain and urgency (NakaRushtonGain, SaturatingUrgency)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiscale.circuit import NakaRushtonGain, PowerGain, RampUrgency, SaturatingUrgency


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


C = jnp.array([0.0, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0])


def test_naka_rushton_edges_saturation_and_power_limit():
    """g(0) = 0, g(1) = 1; g(c50) = (1 + c50^n) / 2 (half its unscaled maximum, Naka &
    Rushton 1966, J Physiol 185:536); c50 -> infinity is the power law c^n."""
    g = NakaRushtonGain(exponent=_f(1.5), c50=_f(0.2))
    v = np.asarray(g(C))
    assert v[0] == 0.0 and v[-1] == pytest.approx(1.0, rel=1e-6)
    assert float(g(_f(0.2))) == pytest.approx((1 + 0.2**1.5) / 2, rel=1e-5)
    assert np.all(np.diff(v) > 0)
    # saturating: the increments per unit coherence fall above c50
    assert (v[6] - v[5]) / 0.488 < (v[5] - v[4]) / 0.256 < (v[4] - v[3]) / 0.128
    far = NakaRushtonGain(exponent=_f(0.9), c50=_f(1e4))
    np.testing.assert_allclose(np.asarray(far(C)), np.asarray(PowerGain(_f(0.9))(C)), atol=1e-3)


def test_naka_rushton_gradients_are_finite_at_zero_and_match_differences():
    def total(n, c50):
        return jnp.sum(NakaRushtonGain(exponent=n, c50=c50)(C))

    grad = jax.jit(jax.grad(total, argnums=(0, 1)))
    dn, dc = (float(x) for x in grad(_f(1.2), _f(0.3)))
    h = 1e-3
    fd_n = (float(total(_f(1.2 + h), _f(0.3))) - float(total(_f(1.2 - h), _f(0.3)))) / (2 * h)
    fd_c = (float(total(_f(1.2), _f(0.3 + h))) - float(total(_f(1.2), _f(0.3 - h)))) / (2 * h)
    assert np.isfinite([dn, dc]).all()
    assert dn == pytest.approx(fd_n, rel=5e-3)
    assert dc == pytest.approx(fd_c, rel=5e-3)
    assert float(jax.grad(lambda n: NakaRushtonGain(n, _f(0.3))(_f(0.0)))(_f(1.2))) == 0.0


def test_saturating_urgency_levels_off_and_is_the_ramp_for_long_tau():
    t = jnp.linspace(0.0, 2.0, 21)
    u = SaturatingUrgency(slope=_f(0.02), tau=_f(0.5))
    v = np.asarray(u(t))
    assert v[0] == 0.0 and np.all(np.diff(v) > 0)
    assert v[-1] == pytest.approx(0.01 * (1 - np.exp(-4.0)), rel=1e-5)  # plateau s * tau
    ramp = np.asarray(RampUrgency(slope=_f(0.02))(t))
    long = np.asarray(SaturatingUrgency(slope=_f(0.02), tau=_f(1e4))(t))
    np.testing.assert_allclose(long, ramp, rtol=1e-4, atol=1e-9)


def test_saturating_urgency_gradient_in_tau_matches_differences():
    t = jnp.array([0.3, 0.8, 1.5])

    def total(tau):
        return jnp.sum(SaturatingUrgency(slope=_f(0.014), tau=tau)(t))

    d = float(jax.jit(jax.grad(total))(_f(0.7)))
    h = 1e-3
    fd = (float(total(_f(0.7 + h))) - float(total(_f(0.7 - h)))) / (2 * h)
    assert d > 0 and d == pytest.approx(fd, rel=5e-3)


def test_out_of_range_parameters_are_rejected():
    with pytest.raises(ValueError, match="c50"):
        NakaRushtonGain(exponent=1.0, c50=0.0)
    with pytest.raises(ValueError, match="tau"):
        SaturatingUrgency(slope=0.01, tau=-1.0)
