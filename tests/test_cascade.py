"""Cascade model of metaplasticity (Fusi, Drew & Abbott 2005) and the binary synapse."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.synapse as ms


def _reference(n, x, ts):
    """S(t) in float64 NumPy, built from the rule independently of the package."""
    q = x ** np.arange(n)
    q[-1] = x ** (n - 1) / (1 - x)
    p = x ** np.arange(1, n + 1) / (1 - x)
    p[-1] = 0.0
    m_pot, m_dep = np.eye(2 * n), np.eye(2 * n)
    for i in range(n):  # weak level i is state i, strong level i is state n + i
        m_pot[i, i] -= q[i]
        m_pot[i, n] += q[i]
        m_dep[n + i, n + i] -= q[i]
        m_dep[n + i, 0] += q[i]
        if i < n - 1:
            m_pot[n + i, n + i] -= p[i]
            m_pot[n + i, n + i + 1] += p[i]
            m_dep[i, i] -= p[i]
            m_dep[i, i + 1] += p[i]
    pi = np.full(2 * n, 1 / (2 * n))
    d, w = pi @ (m_pot - m_dep), np.repeat([0.0, 1.0], n)
    m = (m_pot + m_dep) / 2
    return np.array([d @ np.linalg.matrix_power(m, int(t)) @ w for t in ts])


def test_transition_matrices_and_equilibrium():
    model = ms.CascadeSynapse(n=3, x=0.5)
    q, p = (np.asarray(a) for a in model.probabilities())
    np.testing.assert_allclose(q, [1.0, 0.5, 0.5])  # x^0, x^1, x^2/(1 - x)
    np.testing.assert_allclose(p, [1.0, 0.5, 0.0])  # x/(1 - x), x^2/(1 - x), 0
    m_pot, m_dep = (np.asarray(a) for a in ms.memory_transition_matrices(model))
    # States: weak levels 1-3, then strong levels 1-3. Potentiation switches weak
    # level i to strong level 1 with q_i and deepens strong level i with p_i.
    expected_pot = np.array(
        [
            [0.0, 0, 0, 1.0, 0, 0],
            [0, 0.5, 0, 0.5, 0, 0],
            [0, 0, 0.5, 0.5, 0, 0],
            [0, 0, 0, 0.0, 1.0, 0],
            [0, 0, 0, 0, 0.5, 0.5],
            [0, 0, 0, 0, 0, 1.0],
        ]
    )
    np.testing.assert_allclose(m_pot, expected_pot)
    swap = np.roll(np.eye(6), 3, axis=0)  # depression is potentiation with the sides swapped
    np.testing.assert_allclose(m_dep, swap @ expected_pot @ swap)

    for model in (
        ms.CascadeSynapse(n=7, x=0.3),
        ms.CascadeSynapse(n=12),
        ms.BinaryMemorySynapse(q=0.3),
    ):
        m_pot, m_dep = (np.asarray(a, dtype=float) for a in ms.memory_transition_matrices(model))
        for m in (m_pot, m_dep):
            assert np.all(m >= 0) and np.all(m <= 1)
            np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)
        pi = np.asarray(ms.memory_equilibrium(model), dtype=float)
        np.testing.assert_allclose(pi.sum(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(pi @ (m_pot + m_dep) / 2, pi, atol=1e-7)
        # Every state equally occupied (the cascade's boundary terms ensure it).
        np.testing.assert_allclose(pi, 1.0 / pi.size, rtol=1e-5)


def test_signal_closed_forms_and_float32_accuracy():
    ts = np.array([0, 1, 2, 5, 20])
    q = 0.3
    np.testing.assert_allclose(
        ms.memory_signal(ms.BinaryMemorySynapse(q=q), ts), q * (1 - q) ** ts, rtol=1e-5
    )
    # Float32 binary powers against float64 matrix powers, up to t = 1e8 events: the
    # absolute error stays ~1e-7 S(0) (module docstring). S(0) = sum(q)/n = 1/(n(1 - x)).
    ts = np.concatenate([[0], np.unique(np.round(np.logspace(0, 8, 33)))]).astype(np.int32)
    for n, x in ((6, 0.5), (20, 0.35)):
        got = np.asarray(ms.memory_signal(ms.CascadeSynapse(n=n, x=x), ts), dtype=float)
        assert got[0] == pytest.approx(1 / (n * (1 - x)), rel=1e-6)
        ref = _reference(n, x, ts)
        np.testing.assert_allclose(got, ref, rtol=1e-2, atol=1e-6 / n)
    # Any shape of t; the SNR is sqrt(N) S.
    t2 = jnp.array([[0, 10], [100, 1000]])
    cascade = ms.CascadeSynapse(n=6)
    assert ms.memory_signal(cascade, t2).shape == (2, 2)
    np.testing.assert_allclose(
        ms.memory_snr(cascade, t2, 1e6), 1e3 * ms.memory_signal(cascade, t2), rtol=1e-6
    )


def test_lifetime():
    q, n_syn = 0.2, 1e6
    expected = int(np.floor(np.log(q * np.sqrt(n_syn)) / -np.log1p(-q)))
    assert int(ms.memory_lifetime(ms.BinaryMemorySynapse(q=q), n_syn)) == expected
    assert int(ms.memory_lifetime(ms.BinaryMemorySynapse(q=q), 10.0)) == -1  # SNR(0) = 0.63 < 1
    cascade = ms.CascadeSynapse(n=10)
    life = int(ms.memory_lifetime(cascade, n_syn))
    snr = ms.memory_snr(cascade, jnp.array([life, life + 1]), n_syn)
    assert float(snr[0]) >= 1.0 > float(snr[1])
    lives = [int(ms.memory_lifetime(cascade, n)) for n in (1e4, 1e5, 1e6)]  # one compilation
    assert lives[0] < lives[1] < lives[2] == life


_R, _N, _T = 64, 2000, 60  # replicas, synapses, events after storage


@pytest.mark.parametrize("model", [ms.CascadeSynapse(n=5), ms.BinaryMemorySynapse(q=0.2)])
def test_simulation_matches_mean_field(model):
    """The mean measured signal over 64 runs of 2000 synapses equals S(t) of the mean field.

    Each run's signal has standard deviation ~1/sqrt(N) = 0.022, so the mean over runs has
    a standard error ~0.0028; every t = 0..60 must lie within 4.5 estimated standard
    errors (a false alarm over all 61 times has probability ~2e-3 by Student's t with 63
    degrees of freedom; the keys are fixed, so the test is deterministic).
    """
    keys = jr.split(jr.key(7), _R)
    run = jax.jit(jax.vmap(lambda k: ms.simulate_memory(model, _N, _T, key=k)))
    res = run(keys)
    assert res.signal.shape == (_R, _T + 1) and res.state.shape == (_R, _N)
    assert res.signal.dtype == jnp.float32 and res.state.dtype == jnp.int32
    sig = np.asarray(res.signal, dtype=float)
    mean_field = np.asarray(ms.memory_signal(model, np.arange(_T + 1)), dtype=float)
    z = (sig.mean(0) - mean_field) / (sig.std(0, ddof=1) / np.sqrt(_R))
    assert np.max(np.abs(z)) < 4.5, np.round(z, 2)
    # The noise of the measured signal is 1/sqrt(N): SNR = sqrt(N) S.
    assert np.std(sig - mean_field) * np.sqrt(_N) == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(res.snr, sig * np.sqrt(_N), rtol=1e-6)
    # Final states cover the levels as the equilibrium says (uniform over 2n states).
    counts = np.bincount(np.asarray(res.state).ravel(), minlength=2 * model.n_levels)
    np.testing.assert_allclose(counts / counts.sum(), 1 / (2 * model.n_levels), atol=0.01)
    # Same keys, same runs.
    np.testing.assert_array_equal(np.asarray(run(keys).signal), sig)


def test_jit_vmap_grad_and_one_compilation():
    ts = jnp.array([0, 3, 30, 300])
    xs = jnp.array([0.2, 0.35, 0.5])

    @eqx.debug.assert_max_traces(max_traces=1)
    def signal(x):
        return ms.memory_signal(ms.CascadeSynapse(n=8, x=x), ts)

    sweep = jax.jit(jax.vmap(signal))
    batched = sweep(xs)
    assert batched.shape == (3, 4) and batched.dtype == jnp.float32
    for i, x in enumerate((0.2, 0.35, 0.5)):
        np.testing.assert_allclose(batched[i], _reference(8, x, np.asarray(ts)), rtol=1e-4)
    sweep(xs + 0.01)  # new parameter values reuse the one trace
    # vmap over N of the lifetime; a gradient of the binary SNR against its closed form
    # (the cascade's gradient is checked against finite differences below).
    lives = jax.vmap(lambda n: ms.memory_lifetime(ms.BinaryMemorySynapse(q=0.5), n))(
        jnp.array([1e2, 1e4])
    )
    assert lives.tolist() == [int(np.log2(0.5 * 10)), int(np.log2(0.5 * 100))]
    gq = jax.grad(lambda q: ms.memory_snr(ms.BinaryMemorySynapse(q=q), 5, 100.0))(0.3)
    assert float(gq) == pytest.approx(10 * (0.7**5 - 5 * 0.3 * 0.7**4), rel=1e-5)


def test_gradient_matches_finite_differences(float64):
    ts = jnp.array([0, 1, 7, 60, 900])

    def signal(x):
        return ms.memory_signal(ms.CascadeSynapse(n=8, x=x), ts)

    x0 = jnp.asarray(0.4)
    assert signal(x0).dtype == jnp.float64
    grads = np.asarray(jax.jacrev(signal)(x0))  # reverse mode, through both scans
    eps = 1e-6
    fd = (np.asarray(signal(x0 + eps)) - np.asarray(signal(x0 - eps))) / (2 * eps)
    assert np.all(np.abs(fd) > 1e-6), fd  # S(t) depends on x at every t tested
    np.testing.assert_allclose(grads, fd, rtol=1e-6, atol=1e-10)
    # dS(0)/dx = 1/(n (1 - x)^2).
    assert grads[0] == pytest.approx(1 / (8 * 0.6**2), rel=1e-10)


def test_bad_inputs_raise():
    for n in (1, 0, True):
        with pytest.raises(ValueError, match="`n`"):
            ms.CascadeSynapse(n=n)
    for x in (0.0, -0.1, 0.6, float("nan")):
        with pytest.raises(ValueError, match="`x`"):
            ms.CascadeSynapse(n=5, x=x)
    for q in (0.0, 1.5, float("inf")):
        with pytest.raises(ValueError, match="`q`"):
            ms.BinaryMemorySynapse(q=q)
    model = ms.CascadeSynapse(n=4)
    for n_syn in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="n_synapses"):
            ms.memory_snr(model, 3, n_syn)
        with pytest.raises(ValueError, match="n_synapses"):
            ms.memory_lifetime(model, n_syn)
    with pytest.raises(ValueError, match="`t`"):
        ms.memory_signal(model, -1)
    with pytest.raises(ValueError, match="`t`"):
        ms.memory_signal(model, 2.5)
    with pytest.raises(ValueError, match="`t`"):
        ms.memory_signal(model, np.array([0, 2**31], dtype=np.int64))
    with pytest.raises(ValueError, match="threshold"):
        ms.memory_lifetime(model, 1e4, threshold=float("nan"))
    # (Under the test suite's runtime type checking the annotation catches it first.)
    with pytest.raises((ValueError, TypeError), match="model"):
        ms.memory_signal(ms.TsodyksMarkram(), 0)
    key = jr.key(0)
    for n_syn in (0, 3, -2):
        with pytest.raises(ValueError, match="n_synapses"):
            ms.simulate_memory(model, n_syn, 10, key=key)
    with pytest.raises(ValueError, match="n_events"):
        ms.simulate_memory(model, 10, -1, key=key)


def test_plot_cascade_memory_returns_axes():
    import matplotlib.pyplot as plt

    import multiscale.plot as mplot

    fig, ax = plt.subplots()
    model = ms.BinaryMemorySynapse(q=0.3)
    out = mplot.plot_cascade_memory([model], n_synapses=1e4, t_max=100, labels=["fast"], ax=ax)
    assert out is ax and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fast"]
    with pytest.raises(ValueError, match="labels"):
        mplot.plot_cascade_memory([model], labels=["a", "b"], ax=ax)
    plt.close(fig)
