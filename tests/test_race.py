"""Racing diffusion model: closed form against quadrature of the Wald distribution over the
start point (SciPy's inverse Gaussian), normalisation, simulation, gradients, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import multiscale as ms

B = ms.behavior


def _wald(t, v, a, sigma):
    """First passage of drift v, noise sigma to distance a: (density, distribution).

    For v > 0 SciPy's inverse Gaussian (mean a/v, shape a^2/sigma^2); for v <= 0 the
    defective density a/(sigma sqrt(2 pi t^3)) exp(-(a - v t)^2 / (2 sigma^2 t)) and its
    integral from 0 by quadrature.
    """
    if v > 0:
        lam = a**2 / sigma**2
        d = stats.invgauss(mu=(a / v) / lam, scale=lam)
        return d.pdf(t), d.cdf(t)

    def f(s):
        return (
            a
            / (sigma * np.sqrt(2 * np.pi * s**3))
            * np.exp(-((a - v * s) ** 2) / (2 * sigma**2 * s))
        )

    return f(t), integrate.quad(f, 0, t, limit=200)[0]


def _finish_reference(t, v, A, b, sigma):
    f = integrate.quad(lambda k: _wald(t, v, b - k, sigma)[0], 0, A)[0] / A
    F = integrate.quad(lambda k: _wald(t, v, b - k, sigma)[1], 0, A)[0] / A
    return f, F


@eqx.filter_jit
def _log_density(m, t, choice, condition):
    return m.log_density(B.Trials(rt=t[None], choice=choice[None], condition=condition[None]))[0]


def _density(m, t, choice, condition=0.0):
    args = jnp.asarray(t, float), jnp.asarray(choice), jnp.asarray(condition, float)
    return float(jnp.exp(_log_density(m, *args)))


def test_closed_form_matches_quadrature(float64):
    # Includes an accumulator with negative drift (it may never finish) and sigma != 1.
    m = B.RacingDiffusion(v1=1.5, v0=0.2, k=0.6, A=0.4, b=1.1, sigma=0.9, t0=0.2, p_outlier=0.0)
    c = 0.5
    v1, v0 = 1.5 + 0.6 * c, 0.2 - 0.6 * c
    p_resp = 1.0  # accumulator 1 (v1 > 0) always finishes, so every trial has a response
    for t in (0.05, 0.3, 0.8, 1.6, 3.0):
        f1, F1 = _finish_reference(t, v1, 0.4, 1.1, 0.9)
        f0, F0 = _finish_reference(t, v0, 0.4, 1.1, 0.9)
        np.testing.assert_allclose(_density(m, t + 0.2, 1, c), f1 * (1 - F0) / p_resp, rtol=1e-7)
        np.testing.assert_allclose(_density(m, t + 0.2, 0, c), f0 * (1 - F1) / p_resp, rtol=1e-7)


def test_distribution_near_zero_drift(float64):
    # The Taylor branch of Mills' ratio divided difference (|2 v sqrt t| < 0.05) joins the
    # direct branch: F is smooth in v across v = 0.
    from multiscale.behavior._race import _uniform_start

    t = jnp.asarray(0.7)
    for v in (0.0, 1e-4, 0.02, 0.03, -0.03):
        f, F = _uniform_start(t, jnp.asarray(v), jnp.asarray(0.3), jnp.asarray(1.0))
        f_ref, F_ref = _finish_reference(0.7, v, 0.3, 1.0, 1.0) if v != 0 else (None, None)
        if v == 0:
            k = np.linspace(0.7, 1.0, 20001)
            F_ref = np.trapezoid(2 * stats.norm.sf(k / np.sqrt(0.7)), k) / 0.3
            f_ref = np.trapezoid(k / np.sqrt(2 * np.pi * 0.7**3) * np.exp(-(k**2) / 1.4), k) / 0.3
        np.testing.assert_allclose(float(F), F_ref, rtol=1e-8)
        np.testing.assert_allclose(float(f), f_ref, rtol=1e-8)


def test_density_integrates_to_one(float64):
    # Conditioned on a response, also when both drifts are negative.
    for v1, v0 in [(2.0, 1.0), (-0.3, -0.8)]:
        m = B.RacingDiffusion(v1=v1, v0=v0, A=0.3, b=0.8, t0=0.1, p_outlier=0.0)
        total = 0.0
        for c in (0, 1):
            f = lambda t, m=m, c=c: _density(m, t, c)
            total += integrate.quad(f, 0.1, 1.1, limit=200)[0]
            total += integrate.quad(f, 1.1, np.inf, limit=200)[0]
        np.testing.assert_allclose(total, 1.0, rtol=1e-7)


def test_zero_start_range_limit(float64):
    trials = B.Trials(rt=[0.4, 0.7, 1.3], choice=[1, 0, 1])
    exact = B.RacingDiffusion(v1=2.0, v0=1.0, A=0, b=1.0, t0=0.1, p_outlier=0.0)
    near = B.RacingDiffusion(v1=2.0, v0=1.0, A=1e-4, b=1.0 + 5e-5, t0=0.1, p_outlier=0.0)
    np.testing.assert_allclose(near.log_density(trials), exact.log_density(trials), atol=1e-6)
    f1, _ = _wald(0.3, 2.0, 1.0, 1.0)
    _, F0 = _wald(0.3, 1.0, 1.0, 1.0)
    np.testing.assert_allclose(
        float(jnp.exp(exact.log_density(trials)[0])), f1 * (1 - F0), rtol=1e-9
    )


def test_simulation_matches_density(key):
    m = B.RacingDiffusion(v1=2.0, v0=-0.3, k=0.5, A=0.4, b=1.0, t0=0.2, p_outlier=0.0)
    n = 20000
    sim = m.simulate(jnp.full(n, 0.4), key=key)
    rt, choice = np.asarray(sim.rt), np.asarray(sim.choice)
    edges = np.linspace(0.2, 4.2, 401)
    mids = 0.5 * (edges[1:] + edges[:-1])
    for c in (0, 1):
        trials = B.Trials(rt=mids, choice=np.full(mids.size, c), condition=np.full(mids.size, 0.4))
        cdf = np.cumsum(np.exp(np.asarray(m.log_density(trials)))) * 0.01
        emp = np.searchsorted(np.sort(rt[choice == c]), edges[1:], side="right") / n
        assert np.abs(emp - cdf).max() < 1.63 / np.sqrt(n) + 2e-3  # KS 99 % + midpoint rule
    # Zero drift is the Levy distribution d^2 / Z^2.
    m0 = B.RacingDiffusion(v1=0.0, v0=0.0, A=0, b=1.0, t0=0.0, p_outlier=0.0)
    one = np.asarray(m0.simulate(jnp.zeros(n), key=jax.random.fold_in(key, 1)).rt)
    # The minimum of two Levy times (distance 1): P(T > t) = (1 - 2 Phi(-1/sqrt t))^2.
    grid = np.array([0.2, 0.5, 1.0, 3.0])
    surv = (1 - 2 * stats.norm.sf(1 / np.sqrt(grid))) ** 2
    emp = np.array([(one > g).mean() for g in grid])
    np.testing.assert_allclose(emp, surv, atol=4 / np.sqrt(n))


def test_jit_vmap_grad(float64):
    trials = B.Trials(rt=[0.45, 0.7, 1.1, 0.6], choice=[1, 0, 1, 1], condition=[0.0, 0.2, 0.2, 0.5])
    m = B.RacingDiffusion(v1=2.1, v0=0.9, k=jnp.asarray(0.4), A=0.35, b=1.05, t0=0.21)
    f = lambda m: jnp.sum(m.log_density(trials))
    np.testing.assert_allclose(eqx.filter_jit(f)(m), f(m), rtol=1e-12)
    batch = eqx.tree_at(lambda x: x.B, m, jnp.asarray([0.5, 0.7, 0.9]))
    axes = eqx.tree_at(
        lambda x: x.B, jax.tree.map(lambda _: None, m), 0, is_leaf=lambda x: x is None
    )
    out = eqx.filter_vmap(f, in_axes=(axes,))(batch)
    np.testing.assert_allclose(out[1], f(m), rtol=1e-12)
    params, static = eqx.partition(m, eqx.is_inexact_array)
    g = lambda p: f(eqx.combine(p, static))
    grad = jax.grad(g)(params)
    leaves, treedef = jax.tree.flatten(params)
    assert len(leaves) == 6
    for i, gi in enumerate(jax.tree.leaves(grad)):
        eps = 1e-6
        up = jax.tree.unflatten(treedef, [x + eps if j == i else x for j, x in enumerate(leaves)])
        dn = jax.tree.unflatten(treedef, [x - eps if j == i else x for j, x in enumerate(leaves)])
        np.testing.assert_allclose(gi, (g(up) - g(dn)) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_parameter_recovery(float64, key):
    # 2000 trials over three conditions; v1, v0, k, B, t0 by damped Newton. The start
    # range A is held at its true value: at this sample size its likelihood is nearly
    # flat (a free fit drives it to ~0 with B and t0 absorbing it, at the same NLL).
    true = B.RacingDiffusion(v1=2.5, v0=1.2, k=1.0, A=0.4, b=1.0, t0=0.25)
    data = true.simulate(jnp.asarray(np.resize([0.0, 0.25, 0.5], 2000)), key=key)
    start = B.RacingDiffusion(v1=1.5, v0=1.5, k=0.3, A=0.4, b=1.3, t0=0.15)
    names = ("v1", "v0", "k", "B", "t0")
    spec = jax.tree.map(lambda _: False, start)
    spec = eqx.tree_at(lambda m: [getattr(m, n) for n in names], spec, [True] * 5)
    nll = lambda m, d: -jnp.sum(m.log_density(d))
    fit, _ = ms.fit.fit(start, nll, data, optimizer=ms.fit.newton(), steps=100, key=key,
                        filter_spec=spec, patience=10, tol=1e-6, chunk=10)  # fmt: skip
    assert float(nll(fit, data)) <= float(nll(true, data))
    se = ms.fit.standard_errors(fit, nll, data, spec)
    got = np.array([float(getattr(fit, n)) for n in names])
    want = np.array([2.5, 1.2, 1.0, 0.6, 0.25])
    se = np.array([float(getattr(se, n)) for n in names])
    assert np.all(np.abs(got - want) < 3.5 * se), (got, se)
    assert np.all(np.abs(got - want) < [0.3, 0.2, 0.3, 0.1, 0.05]), got


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(A=1.2, b=1.0), "A >= b"),
        (dict(B=-0.2), "RacingDiffusion `B`"),
        (dict(A=-0.1), "RacingDiffusion `A`"),
        (dict(sigma=0.0), "RacingDiffusion `sigma`"),
        (dict(t0=-0.1), "RacingDiffusion `t0`"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        B.RacingDiffusion(**kw)


def test_bad_values_raise_under_jit(key):
    m = B.RacingDiffusion()
    trials = B.Trials(rt=[0.5], choice=[1])
    bad = eqx.tree_at(lambda x: x.B, m, jnp.asarray(-0.1))
    with pytest.raises(Exception, match="RacingDiffusion `B`"):
        eqx.filter_jit(lambda x: x.log_density(trials))(bad)
    with pytest.raises(Exception, match="RacingDiffusion `B`"):
        eqx.filter_jit(lambda x: x.simulate(jnp.zeros(3), key=key))(bad)
