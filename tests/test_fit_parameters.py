"""``Free(where=...)``: any leaf of any Module freed through a transform, and fitted."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.fit import Bounded, Free, LogScale, Positive, Real, parameterize


class _Receptor(eqx.Module):
    tau_decay: jax.Array = eqx.field(metadata=ms.fit.constraint(Positive()))
    alpha: jax.Array


class _Circuit(eqx.Module):
    nmda: _Receptor
    weights: jax.Array


class _Model(eqx.Module):
    circuit: _Circuit
    threshold: jax.Array


def _model(dtype=jnp.float32):
    a = lambda x: jnp.asarray(x, dtype)
    return _Model(
        circuit=_Circuit(_Receptor(a(0.1), a(0.641)), a([[1.0, 0.2], [0.3, 1.5]])),
        threshold=a(15.0),
    )


def test_deep_leaves_their_declared_constraints_and_names():
    m = _model()
    u, rebuild = parameterize(
        m,
        [
            Free(lambda m: m.circuit.nmda.tau_decay),  # declared Positive
            Free(lambda m: m.circuit.weights, name="W"),
            Free(lambda m: m.threshold, LogScale(15.0)),
        ],
    )
    assert rebuild.names == ("circuit.nmda.tau_decay", "W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]",
                             "threshold")  # fmt: skip
    assert isinstance(rebuild.transforms[0], Positive) and isinstance(rebuild.transforms[1], Real)
    assert u.shape == (6,) and float(u[-1]) == 0.0
    back = rebuild(u)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(m), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(rebuild.unconstrained(back), u, rtol=1e-6)
    # A step in u moves only the free leaves, each through its transform.
    moved = rebuild(u.at[0].add(-50.0).at[-1].add(np.log(2.0)))
    assert 0.0 < float(moved.circuit.nmda.tau_decay) < 1e-10  # still positive
    np.testing.assert_allclose(moved.threshold, 30.0, rtol=1e-6)
    assert float(moved.circuit.nmda.alpha) == pytest.approx(0.641)
    # Jit and vmap over u: the parameterisation is a pytree.
    us = jnp.stack([u, u + 0.1])
    out = eqx.filter_jit(jax.vmap(lambda v: rebuild(v).threshold))(us)
    np.testing.assert_allclose(out, [15.0, 15.0 * np.exp(0.1)], rtol=1e-6)


def test_python_number_leaf_and_model_constraints():
    ddm = ms.behavior.ProportionalRateDDM(k=8.0, a=1.4, t0=0.3, p_outlier=0.02)
    u, rebuild = parameterize(ddm, [Free(lambda m: m.a), Free(lambda m: m.p_outlier)])
    assert isinstance(rebuild.transforms[0], Positive)  # the DDM's declared constraints
    assert isinstance(rebuild.transforms[1], Bounded)
    rebuilt = rebuild(u + 1.0)
    assert float(rebuilt.a) > 1.4 and 0.02 < float(rebuilt.p_outlier) < 1.0


def test_bad_accessors_and_values():
    m = _model()
    with pytest.raises(ValueError, match="one leaf"):
        parameterize(m, [Free(lambda m: m.circuit.nmda)])
    with pytest.raises(ValueError, match="must select one leaf"):
        parameterize(m, [Free(lambda m: m.threshold * 2.0)])
    with pytest.raises(ValueError, match="freed twice: threshold"):
        parameterize(m, [Free(lambda m: m.threshold), Free(lambda m: m.threshold, Positive())])
    with pytest.raises(ValueError, match="outside the domain"):
        parameterize(m, [Free(lambda m: m.circuit.weights, Bounded(0.5, 2.0))])
    with pytest.raises(ValueError, match="empty"):
        parameterize(m, [])
    with pytest.raises(ValueError, match="LogScale needs scale > 0"):
        LogScale(-1.0)


@pytest.mark.parametrize(
    "transform", [Real(), Positive(), Positive(lower=0.5), LogScale(3e-4), Bounded(-1.0, 4.0)]
)
def test_log_det_jacobian_matches_finite_differences(float64, transform):
    u = jnp.linspace(-4.0, 4.0, 9)
    h = 1e-6
    fd = (transform.forward(u + h) - transform.forward(u - h)) / (2 * h)
    np.testing.assert_allclose(transform.log_det_jacobian(u), np.log(np.abs(fd)), atol=1e-8)
    np.testing.assert_allclose(transform.inverse(transform.forward(u)), u, rtol=1e-8, atol=1e-8)


def test_gradient_through_the_parameterization_matches_finite_differences(float64):
    m = _model(jnp.float64)
    u, rebuild = parameterize(
        m,
        [
            Free(lambda m: m.circuit.nmda.tau_decay),
            Free(lambda m: m.circuit.weights, Bounded(-2.0, 3.0)),
            Free(lambda m: m.threshold, LogScale(15.0)),
        ],
    )

    def loss(v):
        x = rebuild(v)
        c = x.circuit
        return (jnp.sum(c.weights**2) * c.nmda.tau_decay + jnp.log(x.threshold) ** 2
                + rebuild.log_det_jacobian(v))  # fmt: skip

    g = jax.grad(loss)(u)
    h = 1e-6
    fd = jnp.stack([(loss(u + h * e) - loss(u - h * e)) / (2 * h) for e in jnp.eye(u.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    assert float(jnp.min(jnp.abs(g))) > 1e-3


class _Gauss(eqx.Module):
    mu: jax.Array = eqx.field(converter=jnp.asarray, metadata=ms.fit.constraint(Real()))
    sigma: jax.Array = eqx.field(converter=jnp.asarray, metadata=ms.fit.constraint(Positive()))


def _gauss_nll(m, x):
    return jnp.sum(0.5 * ((x - m.mu) / m.sigma) ** 2 + jnp.log(m.sigma) + 0.5 * jnp.log(2 * jnp.pi))


def test_fit_with_free_equals_fit_with_filter_spec(key):
    # The same transforms (the declared ones) and the same Newton steps: the same fit, and
    # the Gaussian's analytic maximum-likelihood estimate.
    x = jr.normal(key, (300,)) * 0.5 + 2.0
    start = _Gauss(mu=0.0, sigma=1.0)
    common = dict(optimizer=ms.fit.newton(), steps=60, key=key, patience=5, chunk=5)
    m1, h1 = ms.fit.fit(start, _gauss_nll, x, free=[Free(lambda m: m.mu), Free(lambda m: m.sigma)],
                        **common)  # fmt: skip
    m2, h2 = ms.fit.fit(start, _gauss_nll, x, **common)
    np.testing.assert_allclose([m1.mu, m1.sigma], [m2.mu, m2.sigma], rtol=1e-6)
    np.testing.assert_allclose([m1.mu, m1.sigma], [jnp.mean(x), jnp.std(x)], rtol=1e-4)
    assert h1.converged and h1.check.names == ("mu", "sigma")
    # Only sigma free, on a log scale: mu stays where it is.
    m3, h3 = ms.fit.fit(start, _gauss_nll, x, free=[Free(lambda m: m.sigma, LogScale(1.0))],
                        **common)  # fmt: skip
    assert float(m3.mu) == 0.0 and h3.converged
    np.testing.assert_allclose(m3.sigma, jnp.sqrt(jnp.mean(x**2)), rtol=1e-4)
    # optimize (pure, jit-able) takes the same free list.
    run = eqx.filter_jit(lambda s: ms.fit.optimize(
        s, _gauss_nll, x, optimizer=ms.fit.newton(), steps=20, free=[Free(lambda m: m.mu)]))  # fmt: skip
    m4, _ = run(start)
    np.testing.assert_allclose(m4.mu, jnp.mean(x), rtol=1e-5)
    with pytest.raises(ValueError, match="not both"):
        ms.fit.fit(start, _gauss_nll, x, free=[Free(lambda m: m.mu)],
                   filter_spec=lambda _: True, **common)  # fmt: skip


def test_a_field_checked_positive_is_freed_through_positive_by_default():
    import multiscale as ms

    model = ms.behavior.CircuitBehavior(circuit=ms.circuit.WongWang2006())
    free = [ms.fit.Free(lambda m: m.circuit.nmda.tau_decay), ms.fit.Free(lambda m: m.circuit.I_0)]
    u, p = ms.fit.parameterize(model, free)
    # tau_decay is declared positive by SaturatingNMDA's checks; I_0 is real.
    positive = ms.fit.Positive()
    assert abs(float(u[0]) - float(positive.inverse(jnp.asarray(0.1)))) < 1e-6
    assert abs(float(u[1]) - 0.3255) < 1e-7
    assert abs(float(p(u).circuit.nmda.tau_decay) - 0.1) < 1e-6
    assert float(p(u.at[0].set(-50.0)).circuit.nmda.tau_decay) > 0
