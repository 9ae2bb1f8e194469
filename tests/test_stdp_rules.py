"""Pair and triplet STDP (event-driven and rate forms) and the Shouval–Bear–Cooper rule.

References: closed forms of single pairs and triplets worked out by hand, a brute-force
sum over all spike pairs, Monte-Carlo Poisson runs for the rate form, and
``scipy.integrate.solve_ivp`` run piece by piece between spikes for the calcium rule.
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import multiscale.synapse as ms

# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("delta_t", [-0.05, -0.01, -0.001, 0.002, 0.01, 0.04])
def test_single_pair_is_the_exponential_window(delta_t):
    rule = ms.PairSTDP(tau_plus=0.0168, tau_minus=0.0337)
    dw = float(ms.simulate_stdp(rule, ms.pairing(delta_t, 1.0, 1)).delta_w)
    if delta_t > 0:
        expected = 0.005 * np.exp(-delta_t / 0.0168)
    else:
        expected = -0.00525 * np.exp(delta_t / 0.0337)
    np.testing.assert_allclose(dw, expected, rtol=1e-5)
    np.testing.assert_allclose(dw, float(rule.window(delta_t)), rtol=1e-5)


@pytest.mark.parametrize("scheme", [ms.AllToAll(), ms.NearestSpike()])
def test_triplet_closed_form_pre_post_post_pre(scheme, float64):
    # pre at 0, post at 10 and 30 ms, pre at 50 ms.
    rule = ms.TripletSTDP(
        tau_plus=0.0168, tau_minus=0.0337, tau_x=0.101, tau_y=0.125,
        A2_plus=1e-3, A3_plus=6e-3, A2_minus=7e-3, A3_minus=2e-3, scheme=scheme,
    )  # fmt: skip
    trains = ms.SpikeTrains(jnp.array([0.0, 0.05]), jnp.array([0.01, 0.03]))
    e = np.exp
    first = e(-0.01 / 0.0168) * 1e-3
    second = e(-0.03 / 0.0168) * (1e-3 + 6e-3 * e(-0.02 / 0.125))
    if isinstance(scheme, ms.AllToAll):
        o1 = e(-0.04 / 0.0337) + e(-0.02 / 0.0337)
    else:
        o1 = e(-0.02 / 0.0337)
    third = -o1 * (7e-3 + 2e-3 * e(-0.05 / 0.101))
    res = ms.simulate_stdp(rule, trains, w0=1.0)
    np.testing.assert_allclose(float(res.delta_w), first + second + third, rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(res.ws) - 1.0, np.cumsum([0.0, first, second, third]), rtol=1e-12, atol=1e-15
    )


def test_all_to_all_pair_rule_equals_sum_over_all_pairs(float64):
    rng = np.random.default_rng(3)
    pre = np.sort(rng.uniform(0, 1.0, 25))
    post = np.sort(rng.uniform(0, 1.0, 30))
    rule = ms.PairSTDP(tau_plus=0.0168, tau_minus=0.0337)
    d = post[None, :] - pre[:, None]
    brute = np.sum(np.where(d > 0, 0.005 * np.exp(-d / 0.0168), -0.00525 * np.exp(d / 0.0337)))
    res = ms.simulate_stdp(rule, ms.SpikeTrains(pre, post))
    np.testing.assert_allclose(float(res.delta_w), brute, rtol=1e-10)


def test_padding_with_inf_changes_nothing():
    rule = ms.pfister_visual_nearest_full()
    a = ms.simulate_stdp(rule, ms.pairing(0.01, 20.0, 10))
    tr = ms.pairing(0.01, 20.0, 10)
    pad = jnp.full((5,), jnp.inf)
    b = ms.simulate_stdp(
        rule, ms.SpikeTrains(jnp.concatenate([tr.pre, pad]), jnp.concatenate([tr.post, pad]))
    )
    np.testing.assert_allclose(float(a.w), float(b.w), rtol=1e-6)


# --------------------------------------------------------------------------- rate form


def _poisson(key, rate, T, n_max):
    isi = jax.random.exponential(key, (n_max,)) / rate
    t = jnp.cumsum(isi)
    return jnp.where(t < T, t, jnp.inf)


@pytest.mark.parametrize(
    "make", [ms.pfister_visual_all_to_all_full, ms.pfister_visual_nearest_full]
)
def test_rate_drift_matches_poisson_monte_carlo(make, getkey):
    rule = make()
    rx, ry, T = 20.0, 30.0, 20.0

    def run(key):
        k1, k2 = jax.random.split(key)
        trains = ms.SpikeTrains(_poisson(k1, rx, T, 800), _poisson(k2, ry, T, 1100), T)
        return ms.simulate_stdp(rule, trains).delta_w / T

    rates = np.asarray(jax.jit(jax.vmap(run))(jax.random.split(getkey(), 256)), dtype=float)
    expected = float(rule.drift(jnp.array(rx), jnp.array(ry)))
    sem = rates.std(ddof=1) / np.sqrt(rates.size)
    assert abs(rates.mean() - expected) < 4 * sem + 1e-4 * abs(expected)
    # Pfister & Gerstner's all-to-all rate formula, written out.
    if isinstance(rule.scheme, ms.AllToAll):
        pg = (
            rx
            * ry
            * (
                rule.tau_plus * rule.A2_plus
                + rule.tau_plus * rule.tau_y * rule.A3_plus * ry
                - rule.tau_minus * rule.A2_minus
                - rule.tau_minus * rule.tau_x * rule.A3_minus * rx
            )
        )
        np.testing.assert_allclose(expected, pg, rtol=1e-5)


def test_pair_rate_step_closed_form_and_state_stability():
    rule = ms.PairSTDP()
    state = rule.init(jnp.full((3, 2), 0.5))
    x, y = jnp.array([1.0, 5.0, 10.0]), jnp.array([2.0, 20.0])
    step = jax.jit(rule.step)
    new = step(state, x, y, 2.0)
    expected = 0.5 + 2.0 * np.outer(x, y) * (0.005 * 0.02 - 0.00525 * 0.02)
    np.testing.assert_allclose(np.asarray(new.weights), expected, rtol=1e-5)
    for _ in range(3):
        new = step(new, x, y, 2.0)
        assert new.weights.shape == (3, 2) and new.weights.dtype == jnp.float32


# --------------------------------------------------------------------------- bounds


def test_bounds_keep_weights_inside():
    hard = ms.pfister_visual_all_to_all_minimal(bounds=ms.HardBounds(0.0, 1.0))
    soft = ms.pfister_visual_all_to_all_minimal(bounds=ms.SoftBounds(0.0, 1.0))
    for rule, w0 in ((hard, 0.99), (soft, 0.99), (hard, 0.01), (soft, 0.01)):
        for dt in (0.01, -0.01):
            res = ms.simulate_stdp(rule, ms.pairing(dt, 50.0, 200), w0=w0)
            ws = np.asarray(res.ws)
            assert np.all((ws >= 0.0) & (ws <= 1.0))
    # Soft bounds scale each increment by the distance to the bound it approaches.
    b = ms.SoftBounds(0.0, 2.0)
    np.testing.assert_allclose(float(b.apply(jnp.array(1.5), jnp.array(0.1))), 1.5 + 0.1 * 0.25)
    np.testing.assert_allclose(float(b.apply(jnp.array(1.5), jnp.array(-0.1))), 1.5 - 0.1 * 0.75)


def test_soft_bounds_flow_is_exact(float64):
    b = ms.SoftBounds(-1.0, 2.0)
    for drift in (0.7, -0.4):
        sol = solve_ivp(
            lambda t, w, drift=drift: drift * (2.0 - w if drift > 0 else w + 1.0) / 3.0,
            (0, 5.0),
            [0.3],
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            float(b.flow(jnp.array(0.3), jnp.array(drift), 5.0)), sol.y[0, -1], rtol=1e-9
        )


# --------------------------------------------------------------------------- jit / vmap / grad


def test_whole_stdp_curve_is_one_vmapped_call():
    rule = ms.pfister_visual_all_to_all_full()
    dts = jnp.linspace(-0.1, 0.1, 201)

    @eqx.filter_jit
    def curve(rule, dts):
        return jax.vmap(lambda d: ms.simulate_stdp(rule, ms.pairing(d, 1.0, 60)).delta_w)(dts)

    out = curve(rule, dts)
    assert out.shape == (201,) and out.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(out)))
    assert float(out[150]) > 0 > float(out[50])  # +50 ms LTP, -50 ms LTD


@pytest.mark.parametrize("field", ["tau_plus", "tau_minus", "tau_y", "A3_plus", "A2_minus"])
def test_grad_matches_finite_differences(field, float64):
    base = ms.pfister_visual_all_to_all_full()
    trains = ms.pairing(0.01, 20.0, 15)

    def f(v):
        rule = eqx.tree_at(lambda r: getattr(r, field), base, v)
        return ms.simulate_stdp(rule, trains).delta_w

    v0 = jnp.asarray(getattr(base, field), dtype=jnp.float64)
    h = 1e-6 * abs(float(v0))
    fd = (f(v0 + h) - f(v0 - h)) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(f)(v0)), float(fd), rtol=1e-6)


def test_grad_of_rate_step(float64):
    rule = ms.PairSTDP(bounds=ms.SoftBounds(0.0, 1.0))
    state = rule.init(jnp.full((1, 1), 0.4))

    def f(tau):
        r = eqx.tree_at(lambda r: r.tau_plus, rule, tau)
        return r.step(state, jnp.array([10.0]), jnp.array([15.0]), 3.0).weights[0, 0]

    t0 = jnp.asarray(0.02)
    fd = (f(t0 + 1e-7) - f(t0 - 1e-7)) / 2e-7
    np.testing.assert_allclose(float(jax.grad(f)(t0)), float(fd), rtol=1e-6)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, field",
    [({"tau_plus": -0.02}, "tau_plus"), ({"tau_minus": 0.0}, "tau_minus"),
     ({"A_plus": -0.005}, "A_plus"), ({"A_minus": float("nan")}, "A_minus")],
)  # fmt: skip
def test_bad_pair_parameters_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ms.PairSTDP(**kwargs)


def test_bad_triplet_and_bounds():
    good = dict(tau_plus=0.0168, tau_minus=0.0337, tau_x=0.1, tau_y=0.1,
                A2_plus=0.0, A3_plus=1e-3, A2_minus=1e-3, A3_minus=0.0)  # fmt: skip
    with pytest.raises(ValueError, match="tau_y"):
        ms.TripletSTDP(**{**good, "tau_y": -0.1})
    with pytest.raises(ValueError, match="A3_plus"):
        ms.TripletSTDP(**{**good, "A3_plus": -1e-3})
    with pytest.raises(ValueError, match="w_min"):
        ms.HardBounds(1.0, 0.5)
    with pytest.raises(ValueError, match="w_min"):
        ms.SoftBounds(0.0, float("inf"))
    with pytest.raises(ValueError, match="ascending"):
        ms.simulate_stdp(ms.PairSTDP(), ms.SpikeTrains(jnp.array([0.2, 0.1]), jnp.array([0.3])))


def test_negative_duration_is_caught_inside_jit():
    rule = ms.PairSTDP()
    state = rule.init(jnp.zeros((1, 1)))
    with pytest.raises(Exception, match="duration"):
        jax.jit(rule.step)(state, jnp.ones(1), jnp.ones(1), -1.0).weights.block_until_ready()


# --------------------------------------------------------------------------- Shouval, Bear & Cooper


def test_shouval_omega_and_eta():
    r = ms.ShouvalBearCooper()
    np.testing.assert_allclose(float(r.Omega(0.0)), 0.25, atol=1e-9)
    assert float(r.Omega(0.45)) < 0.05  # between the thresholds: depression target
    np.testing.assert_allclose(float(r.Omega(2.0)), 1.0, atol=1e-6)
    np.testing.assert_allclose(1.0 / float(r.eta(0.0)), 0.1 / 1e-5 + 1.0, rtol=1e-6)  # ~2.8 h
    with pytest.raises(ValueError, match="alpha1"):
        ms.ShouvalBearCooper(alpha1=-0.35)


def test_shouval_matches_piecewise_solve_ivp(float64):
    rule = ms.ShouvalBearCooper()
    trains = ms.pairing(0.01, 5.0, 2)
    ts = jnp.linspace(0.0, 0.6, 31)
    # Tolerances as arrays, so that one compiled solve serves every tolerance.
    run = eqx.filter_jit(
        lambda ctrl: ms.simulate_shouval(rule, trains, ts, w0=0.3, stepsize_controller=ctrl)
    )

    def ctrl(rtol):
        return diffrax.PIDController(rtol=jnp.asarray(rtol), atol=jnp.asarray(rtol * 1e-2))

    res = run(ctrl(1e-8))
    vf = jax.jit(lambda t, y: rule.vector_field(t, y, trains))
    jumps = sorted({0.0, 0.6, *np.asarray(rule.calcium.jump_times(trains)).tolist()})
    jumps = [j for j in jumps if j <= 0.6]
    y = np.array([0.0, 0.3])
    tsn = np.asarray(ts)
    out = np.zeros((tsn.size, 2))
    for a, b in zip(jumps[:-1], jumps[1:], strict=True):
        inside = (tsn >= a) & (tsn <= b)
        sol = solve_ivp(lambda t, y: np.asarray(vf(t, jnp.asarray(y))), (a, b), y,
                        dense_output=True, rtol=1e-11, atol=1e-13, method="DOP853")  # fmt: skip
        out[inside] = sol.sol(tsn[inside]).T
        y = sol.y[:, -1]
    np.testing.assert_allclose(np.asarray(res.Ca), out[:, 0], atol=1e-7)
    np.testing.assert_allclose(np.asarray(res.w), out[:, 1], atol=1e-7)
    # Converges as the tolerance tightens (the steep Omega sigmoids, beta = 80/uM, make
    # w the hard component: the default rtol 1e-5 gives errors of about 2e-4).
    errors = []
    for rtol in (1e-5, 1e-6, 1e-7):
        w = run(ctrl(rtol)).w
        errors.append(np.abs(np.asarray(w) - out[:, 1]).max())
    assert errors[0] < 1e-3 and errors[1] < errors[0] / 5 and errors[2] < errors[1] / 5


@pytest.mark.slow  # reverse-mode through an adaptive diffrax solve: ~10 s to compile
def test_shouval_grad_matches_finite_differences(float64):
    trains = ms.pairing(0.01, 5.0, 1)

    def f(alpha2):
        r = ms.ShouvalBearCooper(alpha2=alpha2)
        ctrl = diffrax.PIDController(rtol=1e-9, atol=1e-11)
        return ms.simulate_shouval(r, trains, jnp.array([0.0, 0.2]), stepsize_controller=ctrl).w[-1]

    value_and_grad = jax.jit(jax.value_and_grad(f))
    a = jnp.asarray(0.55)
    fd = (value_and_grad(a + 1e-5)[0] - value_and_grad(a - 1e-5)[0]) / 2e-5
    np.testing.assert_allclose(float(value_and_grad(a)[1]), float(fd), rtol=1e-4)
