"""Linear ballistic accumulator: closed form against integration over start and rate,
normalisation, simulation, gradients, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import multiscale as ms

B = ms.behavior


def _finish_reference(t, v, A, b, s):
    """Density and CDF of one accumulator's finishing time, by quadrature over the start.

    T = (b - k) / d with k ~ U[0, A], d ~ N(v, s^2): f(t) = E_k[p_d((b - k)/t) (b - k)/t^2],
    F(t) = E_k[P(d >= (b - k)/t)].
    """
    f = integrate.quad(lambda k: stats.norm.pdf((b - k) / t, v, s) * (b - k) / t**2, 0, A)[0] / A
    F = integrate.quad(lambda k: stats.norm.sf((b - k) / t, v, s), 0, A)[0] / A
    return f, F


@eqx.filter_jit
def _log_density(m, t, choice, condition):
    return m.log_density(B.Trials(rt=t[None], choice=choice[None], condition=condition[None]))[0]


def _density(m, t, choice, condition=0.0):
    args = jnp.asarray(t, float), jnp.asarray(choice), jnp.asarray(condition, float)
    return float(jnp.exp(_log_density(m, *args)))


def test_closed_form_matches_quadrature(float64):
    m = B.LBA(v1=1.3, v0=0.4, k=0.6, A=0.5, b=1.1, s=0.8, t0=0.2, p_outlier=0.0)
    c = 0.5
    v1, v0 = 1.3 + 0.6 * c, 0.4 - 0.6 * c
    p_none = stats.norm.cdf(-v1 / 0.8) * stats.norm.cdf(-v0 / 0.8)
    for t in (0.25, 0.5, 0.9, 1.7, 4.0):
        f1, F1 = _finish_reference(t, v1, 0.5, 1.1, 0.8)
        f0, F0 = _finish_reference(t, v0, 0.5, 1.1, 0.8)
        np.testing.assert_allclose(
            _density(m, t + 0.2, 1, c), f1 * (1 - F0) / (1 - p_none), rtol=1e-8
        )
        np.testing.assert_allclose(
            _density(m, t + 0.2, 0, c), f0 * (1 - F1) / (1 - p_none), rtol=1e-8
        )


def test_density_integrates_to_one(float64):
    # Conditioned on a response: the two defective densities sum to 1 over (t0, inf),
    # also with a rate whose mean is negative.
    for v1, v0 in [(1.2, 0.6), (0.3, -0.5)]:
        m = B.LBA(v1=v1, v0=v0, A=0.4, b=0.9, t0=0.15, p_outlier=0.0)
        total = 0.0
        for c in (0, 1):
            f = lambda t, m=m, c=c: _density(m, t, c)
            total += integrate.quad(f, 0.15, 1.15, limit=200)[0]
            total += integrate.quad(f, 1.15, np.inf, limit=200)[0]
        np.testing.assert_allclose(total, 1.0, rtol=1e-7)


def test_zero_start_range_limit(float64):
    # A = 0 (Python number): T = b / d; the closed form with A -> 0 tends to it.
    trials = B.Trials(rt=[0.4, 0.7, 1.3], choice=[1, 0, 1])
    exact = B.LBA(v1=1.1, v0=0.5, A=0, b=1.0, t0=0.1, p_outlier=0.0)
    near = B.LBA(v1=1.1, v0=0.5, A=1e-5, b=1.0, t0=0.1, p_outlier=0.0)
    np.testing.assert_allclose(near.log_density(trials), exact.log_density(trials), atol=1e-4)
    t = 0.3  # rt 0.4 - t0
    f = stats.norm.pdf(1.0 / t, 1.1, 1.0) / t**2
    s0 = stats.norm.cdf(1.0 / t, 0.5, 1.0)
    p = 1 - stats.norm.cdf(-1.1) * stats.norm.cdf(-0.5)
    np.testing.assert_allclose(float(jnp.exp(exact.log_density(trials)[0])), f * s0 / p, rtol=1e-9)


def test_simulation_matches_density(key):
    m = B.LBA(v1=1.2, v0=-0.2, k=0.5, A=0.5, b=1.0, t0=0.2, p_outlier=0.0)
    n = 20000
    sim = m.simulate(jnp.full(n, 0.4), key=key)
    rt, choice = np.asarray(sim.rt), np.asarray(sim.choice)
    edges = np.linspace(0.2, 3.0, 281)
    mids = 0.5 * (edges[1:] + edges[:-1])
    for c in (0, 1):
        trials = B.Trials(rt=mids, choice=np.full(mids.size, c), condition=np.full(mids.size, 0.4))
        cdf = np.cumsum(np.exp(np.asarray(m.log_density(trials)))) * 0.01
        emp = np.searchsorted(np.sort(rt[choice == c]), edges[1:], side="right") / n
        assert np.abs(emp - cdf).max() < 1.63 / np.sqrt(n) + 2e-3  # KS 99 % + midpoint rule


def test_jit_vmap_grad(float64):
    trials = B.Trials(rt=[0.45, 0.7, 1.1, 0.6], choice=[1, 0, 1, 1], condition=[0.0, 0.2, 0.2, 0.5])
    m = B.LBA(v1=1.1, v0=0.5, k=jnp.asarray(0.4), A=0.45, b=1.05, t0=0.21)
    f = lambda m: jnp.sum(m.log_density(trials))
    np.testing.assert_allclose(eqx.filter_jit(f)(m), f(m), rtol=1e-12)
    batch = eqx.tree_at(lambda x: x.B, m, jnp.asarray([0.45, 0.6, 0.85]))
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
    # 2000 trials over three conditions; fit v1, v0, k, A, B, t0 by damped Newton from a
    # distant start. The start range A trades off against B and t0 and is the least
    # identified (Laplace SE ~0.2 here), so it is checked against its standard error.
    true = B.LBA(v1=1.4, v0=0.6, k=0.8, A=0.5, b=1.0, t0=0.25)
    data = true.simulate(jnp.asarray(np.resize([0.0, 0.25, 0.5], 2000)), key=key)
    start = B.LBA(v1=1.0, v0=0.8, k=0.3, A=0.3, b=1.2, t0=0.15)
    nll = lambda m, d: -jnp.sum(m.log_density(d))
    fit, _ = ms.fit.fit(start, nll, data, optimizer=ms.fit.newton(), steps=100, key=key,
                        patience=10, tol=1e-6, chunk=10)  # fmt: skip
    assert float(nll(fit, data)) <= float(nll(true, data))  # the maximum was found
    se = ms.fit.standard_errors(fit, nll, data)
    names = ("v1", "v0", "k", "A", "B", "t0")
    got = np.array([float(getattr(fit, n)) for n in names])
    want = np.array([1.4, 0.6, 0.8, 0.5, 0.5, 0.25])
    se = np.array([float(getattr(se, n)) for n in names])
    assert np.all(np.abs(got - want) < 3.5 * se), (got, se)
    assert np.all(np.abs(got - want)[[0, 1, 2, 5]] < [0.3, 0.3, 0.3, 0.08]), got
    assert abs(float(fit.b) - 1.0) < 0.15


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(A=1.2, b=1.0), "A >= b"),
        (dict(B=-0.2), "LBA `B`"),
        (dict(B=0.2, b=1.0), "not both"),
        (dict(A=-0.1), "LBA `A`"),
        (dict(s=0.0), "LBA `s`"),
        (dict(t0=-0.1), "LBA `t0`"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        B.LBA(**kw)


def test_bad_values_raise_under_jit(key):
    m = B.LBA(A=0.5, b=1.0)
    trials = B.Trials(rt=[0.5], choice=[1])
    bad = eqx.tree_at(lambda x: x.B, m, jnp.asarray(-0.1))
    with pytest.raises(Exception, match="LBA `B`"):
        eqx.filter_jit(lambda x: x.log_density(trials))(bad)
    with pytest.raises(Exception, match="LBA `B`"):
        eqx.filter_jit(lambda x: x.simulate(jnp.zeros(3), key=key))(bad)
