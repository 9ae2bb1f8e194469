"""BCM with a sliding threshold, Hebb and Oja rate rules.

References: ``scipy.integrate.solve_ivp`` of the rules' ODEs at constant rates, closed
forms (the BCM selective fixed point y* = n y0, Oja's principal eigenvector), and
central finite differences for gradients.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import multiscale.synapse as ms
from multiscale.validation._synapse_stdp import crossover_frequency, oja_learn, selective_response

INF = float("inf")

# --------------------------------------------------------------------------- BCM


def test_bcm_step_matches_solve_ivp(float64):
    rule = ms.BCM(eta=1e-4, tau_theta=2.0, y0=5.0, bounds=ms.HardBounds(-INF, INF))
    x, y = np.array([3.0, 8.0]), np.array([4.0, 12.0, 7.0])
    w0 = np.full((2, 3), 0.5)
    theta0 = np.array([5.0, 1.0, 30.0])

    def rhs(t, s):
        theta = s[:3]
        dw = rule.eta * np.outer(x, y * (y - theta))
        return np.concatenate([(y**2 / rule.y0 - theta) / rule.tau_theta, dw.ravel()])

    sol = solve_ivp(rhs, (0, 3.0), np.concatenate([theta0, w0.ravel()]), rtol=1e-12, atol=1e-14)
    state = rule.step(
        rule.init(jnp.asarray(w0), theta=jnp.asarray(theta0)), jnp.asarray(x), jnp.asarray(y), 3.0
    )
    np.testing.assert_allclose(np.asarray(state.theta), sol.y[:3, -1], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(state.weights).ravel(), sol.y[3:, -1], rtol=1e-10)


def test_bcm_threshold_slides_to_mean_square_rate():
    rule = ms.BCM(tau_theta=1.0, y0=10.0)
    state = rule.init(jnp.full((1, 1), 0.5))
    state = rule.step(state, jnp.zeros(1), jnp.array([20.0]), 30.0)
    np.testing.assert_allclose(float(state.theta[0]), 20.0**2 / 10.0, rtol=1e-5)


def test_bcm_crossover_at_threshold_when_theta_is_frozen():
    # With tau_theta >> stimulation the LTD/LTP crossover is at f* = theta / gain.
    rule = ms.BCM(tau_theta=1e9, y0=10.0, bounds=ms.HardBounds(-INF, INF))
    freqs = np.geomspace(1.0, 100.0, 201)
    dw = np.asarray(
        ms.bcm_frequency_response(rule, freqs, history_rate=10.0, history_duration=1.0, gain=0.5)
    )
    np.testing.assert_allclose(crossover_frequency(freqs, dw), 10.0 / 0.5, rtol=1e-3)


def test_bcm_metaplasticity_shifts_crossover_up():
    rule = ms.BCM()
    freqs = np.geomspace(0.5, 100.0, 41)
    cross = [
        crossover_frequency(
            freqs,
            np.asarray(
                ms.bcm_frequency_response(rule, freqs, history_rate=h, history_duration=3600.0)
            ),
        )
        for h in (5.0, 10.0, 20.0)
    ]
    assert cross[0] < cross[1] < cross[2]


def test_bcm_selective_fixed_point_three_patterns():
    resp = np.sort(selective_response(3, y0=2.0, n_rounds=10000))
    np.testing.assert_allclose(resp[-1], 3 * 2.0, rtol=0.02)
    assert np.all(np.abs(resp[:-1]) < 1e-3)


def test_bcm_grad_matches_finite_differences(float64):
    def f(tau_theta):
        rule = ms.BCM(eta=1e-6, tau_theta=tau_theta, bounds=ms.SoftBounds(0.0, 1.0))
        return ms.bcm_frequency_response(
            rule, jnp.array([3.0, 30.0]), history_rate=12.0, history_duration=600.0
        ).sum()

    t0 = jnp.asarray(900.0)
    fd = (f(t0 + 1e-3) - f(t0 - 1e-3)) / 2e-3
    np.testing.assert_allclose(float(jax.grad(f)(t0)), float(fd), rtol=1e-6)


def test_bcm_vmap_over_rules_and_stable_state():
    etas = jnp.array([1e-7, 2e-7, 5e-7])
    rules = eqx.filter_vmap(lambda e: ms.BCM(eta=e))(etas)

    @eqx.filter_vmap
    def run(rule):
        state = rule.init(jnp.full((2, 1), 0.5))

        def body(s, _):
            new = rule.step(s, jnp.array([5.0, 50.0]), jnp.array([20.0]), 1.0)
            return new, None

        return jax.lax.scan(body, state, None, length=5)[0]

    out = run(rules)
    assert out.weights.shape == (3, 2, 1) and out.theta.shape == (3, 1)
    assert out.weights.dtype == jnp.float32 and out.theta.dtype == jnp.float32
    d = np.asarray(out.weights[:, 1, 0] - 0.5)
    assert np.all(np.diff(d) > 0)  # faster learning with larger eta


# --------------------------------------------------------------------------- Hebb and Oja


def test_hebb_is_exact_and_clipped():
    rule = ms.Hebb(eta=1e-3)
    state = rule.step(
        rule.init(jnp.full((2, 2), 0.5)), jnp.array([1.0, 10.0]), jnp.array([2.0, 40.0]), 1.0
    )
    expected = np.clip(0.5 + 1e-3 * np.outer([1.0, 10.0], [2.0, 40.0]), 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(state.weights), expected, rtol=1e-6)


def test_oja_step_matches_solve_ivp(float64):
    rule = ms.Oja(eta=0.3)
    x, y, w0 = np.array([1.5, -0.5]), np.array([2.0, 0.0]), np.array([[0.2, 0.4], [-0.1, 0.3]])
    sol = solve_ivp(
        lambda t, w: (rule.eta * (np.outer(x, y) - y**2 * w.reshape(2, 2))).ravel(),
        (0, 1.7),
        w0.ravel(),
        rtol=1e-12,
        atol=1e-14,
    )
    state = rule.step(rule.init(jnp.asarray(w0)), jnp.asarray(x), jnp.asarray(y), 1.7)
    np.testing.assert_allclose(np.asarray(state.weights).ravel(), sol.y[:, -1], rtol=1e-10)


def test_oja_converges_to_unit_principal_eigenvector():
    C = np.array([[2.0, 0.8], [0.8, 1.0]])
    w = oja_learn(C, n_samples=8000, seed=3)
    v = np.linalg.eigh(C)[1][:, -1]
    np.testing.assert_allclose(abs(w @ v) / np.linalg.norm(w), 1.0, atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(w), 1.0, atol=2e-2)


def test_oja_grad_matches_finite_differences(float64):
    x, y = jnp.array([1.0, 2.0]), jnp.array([1.5])

    def f(eta):
        rule = ms.Oja(eta=eta)
        return rule.step(rule.init(jnp.full((2, 1), 0.3)), x, y, 0.8).weights.sum()

    e0 = jnp.asarray(0.4)
    fd = (f(e0 + 1e-6) - f(e0 - 1e-6)) / 2e-6
    np.testing.assert_allclose(float(jax.grad(f)(e0)), float(fd), rtol=1e-7)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: ms.BCM(tau_theta=-1.0), "tau_theta"),
        (lambda: ms.BCM(eta=-1e-7), "eta"),
        (lambda: ms.BCM(y0=0.0), "y0"),
        (lambda: ms.Hebb(eta=-1.0), "eta"),
        (lambda: ms.Oja(eta=-0.1), "eta"),
        (lambda: ms.BCM(bounds=ms.HardBounds(1.0, 1.0)), "w_min"),
        (lambda: ms.Hebb(bounds=ms.SoftBounds(2.0, 1.0)), "w_min"),
    ],
)
def test_bad_parameters_name_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_bad_frequencies_and_rate_shapes():
    rule = ms.BCM()
    with pytest.raises(Exception, match="frequencies"):
        ms.bcm_frequency_response(
            rule, jnp.array([-1.0, 10.0]), history_rate=5.0, history_duration=1.0
        )
    state = rule.init(jnp.zeros((2, 1)))
    with pytest.raises(Exception, match="pre_rate|pre"):
        rule.step(state, jnp.ones(3), jnp.ones(1), 1.0)
