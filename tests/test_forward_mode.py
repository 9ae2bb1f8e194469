"""``ms.fit.forward_mode``: reverse-mode derivatives computed by forward-mode tangents."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from multiscale.fit import forward_mode


class _Decay(eqx.Module):
    rate: jax.Array
    gain: jax.Array
    tau: float = 0.1  # a Python float: never perturbed


def _simulate(model, drive):
    """A leaky unit over a scan; returns a float trace, a final value and an int count."""

    def step(x, u):
        x = x + 0.01 * (-model.rate * x + model.gain * u) / model.tau
        return x, x

    x_end, trace = jax.lax.scan(step, jnp.asarray(0.0), drive)
    return {"trace": trace, "end": x_end, "count": jnp.sum(trace > 0.5)}


def _loss(sim):
    def loss(model, drive):
        out = sim(model, drive)
        return jnp.sum(out["trace"] ** 2) + 3.0 * out["end"]

    return loss


def test_gradient_matches_reverse_mode_and_ignores_fixed_leaves():
    drive = jnp.sin(jnp.linspace(0.0, 20.0, 400)) + 1.0
    model = _Decay(jnp.asarray(1.5), jnp.asarray(0.7))
    v1, g1 = eqx.filter_value_and_grad(_loss(_simulate))(model, drive)
    v2, g2 = eqx.filter_value_and_grad(_loss(forward_mode(_simulate)))(model, drive)
    np.testing.assert_allclose(v2, v1, rtol=1e-6)
    np.testing.assert_allclose(g2.rate, g1.rate, rtol=1e-4)
    np.testing.assert_allclose(g2.gain, g1.gain, rtol=1e-4)
    assert abs(float(g1.rate)) > 1.0 and abs(float(g1.gain)) > 1.0
    # Only `gain` free: the other leaf is not perturbed and gets no gradient.
    spec = eqx.tree_at(
        lambda m: (m.rate, m.gain), jax.tree.map(lambda _: False, model), (False, True)
    )
    free, fixed = eqx.partition(model, spec)
    g3 = eqx.filter_grad(lambda f: _loss(forward_mode(_simulate))(eqx.combine(f, fixed), drive))(
        free
    )
    assert g3.rate is None
    np.testing.assert_allclose(g3.gain, g1.gain, rtol=1e-4)


def test_works_under_jit_and_vmap_and_outside_grad():
    drive = jnp.linspace(0.0, 1.0, 50)
    models = _Decay(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.5, 0.5, 0.5]))
    wrapped = forward_mode(_simulate)
    out = eqx.filter_jit(eqx.filter_vmap(lambda m: wrapped(m, drive)))(models)
    ref = eqx.filter_vmap(lambda m: _simulate(m, drive))(models)
    np.testing.assert_allclose(out["end"], ref["end"], rtol=1e-6)
    grad = jax.jit(jax.vmap(jax.grad(lambda r: _loss(wrapped)(_Decay(r, jnp.asarray(0.5)), drive))))
    ref_grad = jax.vmap(jax.grad(lambda r: _loss(_simulate)(_Decay(r, jnp.asarray(0.5)), drive)))
    np.testing.assert_allclose(grad(models.rate), ref_grad(models.rate), rtol=1e-4)


def test_differentiation_objects_agree_with_each_other_and_finite_differences(float64):
    # ForwardMode / ReverseMode: the same gradient and Hessian of a loss through a scan,
    # both matching central finite differences in float64.
    from multiscale import ForwardMode, ReverseMode

    drive = jnp.sin(jnp.linspace(0.0, 20.0, 200)) + 1.0

    def loss(x, drive):
        return _loss(_simulate)(_Decay(x[0], x[1]), drive)

    x = jnp.array([1.5, 0.7])
    v_f, g_f = ForwardMode().value_and_grad(loss)(x, drive)
    v_r, g_r = ReverseMode().value_and_grad(loss)(x, drive)
    h = 1e-5
    fd = jnp.stack(
        [(loss(x + h * e, drive) - loss(x - h * e, drive)) / (2 * h) for e in jnp.eye(2)]
    )
    np.testing.assert_allclose(v_f, v_r, rtol=1e-12)
    np.testing.assert_allclose(g_f, g_r, rtol=1e-10)
    np.testing.assert_allclose(g_r, fd, rtol=1e-7)
    H_f = ForwardMode().hessian(loss)(x, drive)
    H_r = ReverseMode().hessian(loss)(x, drive)
    grad = jax.grad(loss)
    fd_h = jnp.stack(
        [(grad(x + h * e, drive) - grad(x - h * e, drive)) / (2 * h) for e in jnp.eye(2)]
    )
    np.testing.assert_allclose(H_f, H_r, rtol=1e-10)
    np.testing.assert_allclose(H_r, fd_h, rtol=1e-6)
    # All three at once (the optimum check's call): the same numbers either way.
    for mode in (ForwardMode(), ReverseMode()):
        v, g, H = mode.value_grad_hessian(loss)(x, drive)
        np.testing.assert_allclose(v, v_r, rtol=1e-12)
        np.testing.assert_allclose(g, g_r, rtol=1e-10)
        np.testing.assert_allclose(H, H_r, rtol=1e-10)
    assert ms_fit_exports_the_objects()


def ms_fit_exports_the_objects():
    import multiscale as ms

    return ms.fit.ForwardMode is ms.ForwardMode and ms.fit.ReverseMode is ms.ReverseMode


def test_fit_in_forward_mode_equals_reverse_mode(float64):
    # The leaky unit's rate and gain fitted to a trace it generated: the same L-BFGS fit
    # with forward-mode gradients (and a forward-over-forward Hessian in the check).
    import jax.random as jr

    import multiscale as ms

    drive = jnp.sin(jnp.linspace(0.0, 20.0, 200)) + 1.0
    target = _simulate(_Decay(jnp.asarray(1.5), jnp.asarray(0.7)), drive)["trace"]

    def loss(model, data):
        return jnp.sum((_simulate(model, data[0])["trace"] - data[1]) ** 2)

    start = _Decay(jnp.asarray(1.0), jnp.asarray(1.0))
    fits = [
        ms.fit.fit(
            start,
            loss,
            (drive, target),
            optimizer=ms.fit.lbfgs(),
            steps=100,
            key=jr.key(0),
            patience=5,
            tol=1e-14,
            chunk=5,
            progress=False,
            differentiation=mode,
        )  # fmt: skip
        for mode in (ms.ReverseMode(), ms.ForwardMode())
    ]
    (m_r, h_r), (m_f, h_f) = fits
    np.testing.assert_allclose([m_f.rate, m_f.gain], [m_r.rate, m_r.gain], rtol=1e-8)
    np.testing.assert_allclose([m_f.rate, m_f.gain], [1.5, 0.7], rtol=1e-6)
    assert h_r.converged and h_f.converged
    np.testing.assert_allclose(h_f.check.eigenvalues, h_r.check.eigenvalues, rtol=1e-8)
    # Damped Newton needs second derivatives: it gets the plain loss in forward mode too.
    m_n, h_n = ms.fit.fit(start, loss, (drive, target), optimizer=ms.fit.newton(), steps=40,
                          key=jr.key(0), patience=5, tol=1e-14, chunk=5, progress=False,
                          differentiation=ms.ForwardMode())  # fmt: skip
    np.testing.assert_allclose([m_n.rate, m_n.gain], [1.5, 0.7], rtol=1e-6)
    assert h_n.converged
