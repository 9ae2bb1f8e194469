"""DDM choice probability, mean and variance of RT with sv, sz and any start point.

The closed forms (Cox & Miller 1965; Grasman, Wagenmakers & van der Maas 2009, J Math
Psychol 53:55-68) averaged over the drift and start-point distributions are compared with
moments of the independent reference density (``tests/_ddm_sim.py``) integrated by
scipy's adaptive quadrature over time and Gauss-Legendre over the start point (trials
drawn by ``ddm_simulate`` are compared in ``test_ddm_simulate.py``). The former code ignored sv and sz (choice probability
off by up to 0.19, mean decision time by up to 85 %) and assumed z = 1/2 in the variance.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from _ddm_sim import _quad, reference_lower

import multiscale as ms

B = ms.behavior

# (v, a, z, sv, sz): strong variability, a biased start, a drift near 0, a negative drift.
CASES = [
    (2.0, 1.0, 0.3, 2.0, 0.4),
    (0.05, 1.6, 0.62, 1.5, 0.3),
    (-1.2, 2.2, 0.5, 0.8, 0.0),
    (0.9, 1.4, 0.25, 0.0, 0.3),
]


def _reference_moments(v, a, z, sv, sz):
    """P(upper), E[T] and E[T^2] (s, s^2) from the reference density."""
    if sz == 0:
        starts, weights = np.array([z]), np.array([1.0])
    else:
        x, wx = np.polynomial.legendre.leggauss(12)  # moments are polynomial-smooth in w
        starts, weights = z + sz * x / 2, wx / 2
    out = np.zeros(3)
    for w, wt in zip(starts, weights, strict=True):
        for vv, ww, up in ((v, w, 0.0), (-v, 1 - w, 1.0)):
            m = []
            for k in (0, 1, 2):
                f = lambda t, k=k, vv=vv, ww=ww: t**k * reference_lower(t, vv, sv, a, ww)
                # The mass lies within ~10 a^2 s; split the range near the onset.
                m.append(_quad(f, 0.0, 0.1 * a * a) + _quad(f, 0.1 * a * a, 60.0 * a * a))
            out += wt * np.array([up * m[0], m[1], m[2]])
    return out


@eqx.filter_jit
def _closed_forms(params):
    v, a, z, sv, sz = params
    m = B.DDM(v=v, a=a, z=z, t0=0.3, sv=sv, sz=sz, st0=0.1)
    c = jnp.zeros((), v.dtype)
    return (B.ddm_choice_probability(m, c), B.ddm_mean_decision_time(m, c),
            B.ddm_mean_rt(m, c), B.ddm_rt_variance(m, c))  # fmt: skip


@pytest.mark.parametrize(
    "v, a, z, sv, sz",
    [CASES[0], CASES[2], *(pytest.param(*c, marks=pytest.mark.slow) for c in CASES[1::2])],
)
def test_moments_match_reference_quadrature(float64, v, a, z, sv, sz):
    # Measured relative errors: P <= 8e-14, E[T] <= 7e-13, Var <= 1.2e-11.
    # Array fields (sv = sz = 0 included): one compiled program for every case.
    got = _closed_forms(tuple(jnp.asarray(x, jnp.float64) for x in (v, a, z, sv, sz)))
    p, mean_t, mean_rt, var_rt = (float(x) for x in got)
    p_up, m1, m2 = _reference_moments(v, a, z, sv, sz)
    np.testing.assert_allclose(p, p_up, rtol=1e-9)
    np.testing.assert_allclose(mean_t, m1, rtol=1e-9)
    np.testing.assert_allclose(mean_rt, 0.3 + m1, rtol=1e-9)
    # Var[RT] = Var[T] + st0^2/12 (independent uniform non-decision time, st0 = 0.1 s).
    np.testing.assert_allclose(var_rt, m2 - m1**2 + 0.1**2 / 12, rtol=1e-8)


def test_python_zero_fields_take_the_fixed_parameter_forms(float64):
    # sv = sz = 0 as Python numbers skip the averages; the result is the same.
    m = B.DDM(v=-1.2, a=2.2, z=0.35, t0=0.3)
    got = _closed_forms(tuple(jnp.asarray(x, jnp.float64) for x in (-1.2, 2.2, 0.35, 0.0, 0.0)))
    np.testing.assert_allclose(float(B.ddm_choice_probability(m, 0.0)), float(got[0]), rtol=1e-12)
    np.testing.assert_allclose(float(B.ddm_mean_decision_time(m, 0.0)), float(got[1]), rtol=1e-12)


def test_variability_matters_and_conditions_broadcast(float64):
    # With sv = 2 and sz = 0.4 the fixed-parameter forms are far off: the variability
    # is not ignored. Proportional-rate drift over a vector of conditions.
    fixed = B.DDM(v=2.0, a=1.0, z=0.3)
    varied = B.DDM(v=2.0, a=1.0, z=0.3, sv=2.0, sz=0.4)
    dp = float(B.ddm_choice_probability(fixed, 0.0) - B.ddm_choice_probability(varied, 0.0))
    assert abs(dp) > 0.02
    m = B.ProportionalRateDDM(k=8.0, a=1.3, z=0.45, t0=0.3, sv=1.0, sz=0.2)
    c = jnp.asarray([[0.0, 0.05], [0.1, 0.2]])
    p = B.ddm_choice_probability(m, c)
    assert p.shape == (2, 2)
    one = B.DDM(v=8.0 * 0.1, a=1.3, z=0.45, t0=0.3, sv=1.0, sz=0.2)
    np.testing.assert_allclose(
        float(p[1, 0]), float(B.ddm_choice_probability(one, 0.0)), rtol=1e-12
    )
