"""Drift-diffusion model: Navarro-Fuss density, variabilities, closed forms, gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import multiscale as ms
from multiscale.behavior._ddm_density import log_density

B = ms.behavior


def _density_fn(m):
    """Jitted scalar density p(choice, t) of model ``m`` (for scipy quadrature)."""
    f = jax.jit(
        lambda t, c: jnp.exp(B.ddm_log_density(m, t[None], c[None], jnp.zeros_like(t)[None])[0])
    )
    return lambda t, c: float(f(jnp.asarray(t), jnp.asarray(c)))


def _reference_lower(t, v, a, w, n_terms=4000):
    """Lower-boundary density from the large-time series summed to many terms (NumPy)."""
    u = t / a**2
    k = np.arange(1, n_terms)
    s = np.pi * np.sum(k * np.exp(-(k**2) * np.pi**2 * u / 2) * np.sin(k * np.pi * w))
    return np.exp(-v * a * w - v * v * t / 2) / a**2 * s


def _images_lower(t, v, a, w, n_terms=200):
    """Method of images (small-time series) summed to many terms (NumPy)."""
    u = t / a**2
    k = np.arange(-n_terms, n_terms + 1)
    s = np.sum((w + 2 * k) * np.exp(-((w + 2 * k) ** 2) / (2 * u))) / np.sqrt(2 * np.pi * u**3)
    return np.exp(-v * a * w - v * v * t / 2) / a**2 * s


@pytest.mark.parametrize("t", [0.002, 0.005, 0.02, 0.1, 0.4, 1.0, 3.0])
@pytest.mark.parametrize("v, a, w", [(1.3, 1.2, 0.4), (-2.0, 2.0, 0.7), (0.0, 0.8, 0.5)])
def test_density_matches_reference_series(float64, t, v, a, w):
    got = float(jnp.exp(log_density(t, False, v, a, w, 0.0)))
    ref = _images_lower(t, v, a, w) if t / a**2 < 0.05 else _reference_lower(t, v, a, w)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)
    up = float(jnp.exp(log_density(t, True, v, a, w, 0.0)))
    np.testing.assert_allclose(up, _images_lower(t, -v, a, 1 - w), rtol=1e-6, atol=1e-12)


def test_density_few_ms_is_not_large_time_garbage(float64):
    # The large-time series alone with a handful of terms is far off at t = 2 ms.
    t, v, a, w = 0.002, 1.0, 0.5, 0.3
    got = float(jnp.exp(log_density(t, False, v, a, w, 0.0)))
    np.testing.assert_allclose(got, _images_lower(t, v, a, w), rtol=1e-8)
    assert got > 0


@pytest.mark.parametrize("v, a, z", [(1.0, 1.5, 0.5), (-0.7, 2.0, 0.3), (3.0, 0.9, 0.6)])
def test_density_integrates_to_choice_probability(float64, v, a, z):
    m = B.DDM(v=v, a=a, z=z, t0=0.0, p_outlier=0.0)
    dens = _density_fn(m)
    for choice in (0, 1):
        f = lambda t, choice=choice: dens(t, choice)
        mass = integrate.quad(f, 0, 0.05, limit=200)[0] + integrate.quad(f, 0.05, 40, limit=400)[0]
        p_up = (1 - np.exp(-2 * v * z * a)) / (1 - np.exp(-2 * v * a))
        np.testing.assert_allclose(mass, p_up if choice else 1 - p_up, rtol=1e-6)
        np.testing.assert_allclose(float(B.ddm_choice_probability(m, 0.0)), p_up, rtol=1e-10)


def test_mean_decision_time_closed_form(float64):
    m = B.DDM(v=0.8, a=1.6, z=0.35, t0=0.0, p_outlier=0.0)
    dens = _density_fn(m)
    f = lambda t, c: t * dens(t, c)
    mean = sum(integrate.quad(f, 1e-9, 40, args=(c,), limit=400)[0] for c in (0, 1))
    np.testing.assert_allclose(float(B.ddm_mean_decision_time(m, 0.0)), mean, rtol=1e-6)
    # Near v = 0 the Taylor branch agrees with the exact branch.
    m0 = B.DDM(v=2e-4, a=1.6, z=0.35, p_outlier=0.0)
    m1 = B.DDM(v=2e-3, a=1.6, z=0.35, p_outlier=0.0)
    assert (
        abs(float(B.ddm_mean_decision_time(m0, 0.0)) - float(B.ddm_mean_decision_time(m1, 0.0)))
        < 2e-3
    )


def test_rt_variance_closed_form(float64):
    m = B.DDM(v=1.1, a=1.4, z=0.5, t0=0.0, p_outlier=0.0)
    dens = _density_fn(m)
    m1 = sum(integrate.quad(lambda t, c=c: t * dens(t, c), 1e-9, 40, limit=400)[0] for c in (0, 1))
    m2 = sum(
        integrate.quad(lambda t, c=c: t * t * dens(t, c), 1e-9, 40, limit=400)[0] for c in (0, 1)
    )
    np.testing.assert_allclose(float(B.ddm_rt_variance(m, 0.0)), m2 - m1**2, rtol=1e-6)
    small = B.DDM(v=1e-3, a=1.4, p_outlier=0.0)
    np.testing.assert_allclose(float(B.ddm_rt_variance(small, 0.0)), 2 * 0.7**4 / 3, rtol=1e-5)


def test_proportional_rate_matches_palmer_predictions():
    # Palmer, Huk & Shadlen (2005)'s model fitted to Roitman & Shadlen (2002) (k = 13.14,
    # A = 0.715, t_R = 0.323 s).
    m = B.ProportionalRateDDM(k=13.14, a=2 * 0.715, t0=0.323, p_outlier=0.0)
    c = jnp.array([0.0, 0.032, 0.064, 0.128, 0.256, 0.512])
    np.testing.assert_allclose(
        B.ddm_choice_probability(m, c), [0.5, 0.646, 0.769, 0.917, 0.992, 1.0], atol=6e-4
    )
    np.testing.assert_allclose(B.ddm_mean_rt(m, c) * 1000, [833, 818, 780, 677, 532, 429], atol=1.5)


def test_sv_matches_numerical_integral_over_drift(float64):
    v, sv, a, w, t = 1.3, 0.8, 1.2, 0.4, 0.3
    x, wt = np.polynomial.hermite_e.hermegauss(80)
    ref = sum(
        wi * _reference_lower(t, v + sv * xi, a, w) for xi, wi in zip(x, wt, strict=True)
    ) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(float(jnp.exp(log_density(t, False, v, a, w, sv))), ref, rtol=1e-8)


def test_sz_st0_match_adaptive_quadrature(float64):
    base = dict(v=1.0, a=1.5, z=0.45, t0=0.3, p_outlier=0.0)
    m = B.DDM(**base, sz=jnp.array(0.2), st0=jnp.array(0.1))
    m0 = B.DDM(**base)
    point = jax.jit(
        lambda w, tau, rt, c: jnp.exp(
            B.ddm_log_density(
                eqx.tree_at(lambda q: (q.z, q.t0), m0, (w, tau)), rt[None], c[None], jnp.zeros(1)
            )[0]
        )
    )
    mixed = _density_fn(m)
    for rt, c in [(0.45, 1), (0.8, 0), (1.5, 1)]:
        f = lambda w, tau, rt=rt, c=c: float(
            point(jnp.asarray(w), jnp.asarray(tau), jnp.asarray(rt), jnp.asarray(c))
        )
        ref = integrate.dblquad(f, 0.25, 0.35, 0.35, 0.55, epsabs=1e-10)[0] / (0.1 * 0.2)
        got = mixed(rt, c)
        np.testing.assert_allclose(got, ref, rtol=2e-3)


def test_contaminant_keeps_fast_trials_finite():
    m = B.DDM(v=1.0, a=1.5, t0=0.3)
    lp = eqx.filter_jit(B.ddm_log_density)(
        m, jnp.array([0.1, 0.5]), jnp.array([1, 1]), jnp.zeros(2)
    )
    np.testing.assert_allclose(float(lp[0]), np.log(0.02 * 0.5 / 2.0), rtol=1e-5)
    assert np.isfinite(np.asarray(lp)).all()
    g = jax.jit(
        jax.grad(lambda q: B.ddm_log_likelihood(q, B.Trials(rt=[0.1, 0.5], choice=[1, 0])))
    )(m)
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(g))


def test_grad_matches_finite_differences(float64):
    trials = B.Trials(
        rt=np.array([0.35, 0.6, 0.9, 1.7]), choice=[1, 0, 1, 1], condition=[0.1, 0.2, 0.05, 0.1]
    )
    m = B.ProportionalRateDDM(
        k=8.0, a=1.3, z=0.45, t0=0.3, sv=jnp.array(0.5), sz=jnp.array(0.1), st0=jnp.array(0.08)
    )
    f = eqx.filter_jit(lambda q: B.ddm_log_likelihood(q, trials))
    g = eqx.filter_jit(jax.grad(lambda q: B.ddm_log_likelihood(q, trials)))(m)
    for name in ("k", "a", "z", "t0", "sv", "sz", "st0"):
        h = 1e-6
        plus = eqx.tree_at(lambda q, name=name: getattr(q, name), m, getattr(m, name) + h)
        minus = eqx.tree_at(lambda q, name=name: getattr(q, name), m, getattr(m, name) - h)
        fd = (float(f(plus)) - float(f(minus))) / (2 * h)
        np.testing.assert_allclose(float(getattr(g, name)), fd, rtol=1e-5, atol=1e-7)


def test_jit_vmap_dtypes():
    trials = B.Trials(rt=[0.5, 0.7, 0.9], choice=[1, 0, 1], condition=[0.1, 0.1, 0.2])
    ks = jnp.linspace(1.0, 10.0, 5)
    models = eqx.filter_vmap(lambda k: B.ProportionalRateDDM(k=k, a=1.2, t0=0.2))(ks)
    ll = eqx.filter_jit(eqx.filter_vmap(lambda q: B.ddm_log_likelihood(q, trials)))(models)
    assert ll.shape == (5,) and ll.dtype == jnp.float32
    one = eqx.filter_jit(
        lambda k: B.ddm_log_likelihood(B.ProportionalRateDDM(k=k, a=1.2, t0=0.2), trials)
    )
    single = [float(one(k)) for k in ks]
    np.testing.assert_allclose(ll, single, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(a=-1.0), "a"),
        (dict(z=1.2), "z"),
        (dict(t0=-0.1), "t0"),
        (dict(p_outlier=1.0), "p_outlier"),
        (dict(sv=-1.0), "sv"),
    ],
)
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        B.DDM(**kwargs)


def test_trials_reject_bad_values():
    with pytest.raises(ValueError, match="rt"):
        B.Trials(rt=[0.5, -0.1], choice=[1, 0])
    with pytest.raises(ValueError, match="choice"):
        B.Trials(rt=[0.5, 0.6], choice=[1, 2])


def test_plots_return_axes():
    import matplotlib.pyplot as plt

    import multiscale.plot as mp

    m = B.ProportionalRateDDM(k=13.14, a=1.43, t0=0.323)
    df = ms.data.roitman_shadlen_2002()
    trials = B.Trials(
        rt=[0.5, 0.7, 0.9, 0.6], choice=[1, 0, 1, 1], condition=[0.0, 0.0, 0.128, 0.128]
    )
    fig, axs = plt.subplots(1, 4)
    assert mp.ddm_psychometric(df, m, ax=axs[0]) is axs[0]
    assert mp.ddm_chronometric(trials, m, ax=axs[1]) is axs[1]
    assert mp.ddm_rt_density(trials, m, ax=axs[2], bins=5) is axs[2]
    assert mp.ddm_rt_density(trials, m, condition=0.128, ax=axs[3], bins=5) is axs[3]
    plt.close(fig)
