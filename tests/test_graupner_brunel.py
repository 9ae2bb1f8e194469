"""Graupner & Brunel 2012 calcium rule: model, exact simulation, readout, gradients."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import multiscale.synapse as syn
from multiscale.validation._synapse_calcium import CORTICAL_TABLE, cortical_model_ratios


def _pairing(delta_t, frequency, n_pairs, t0=0.05):
    # Built with NumPy: `synapse.pairing` multiplies a float by `jnp.arange` (int), which the
    # strict dtype promotion of the test suite rejects (reported to the maintainer).
    base = t0 + max(-delta_t, 0.0) + np.arange(n_pairs) / frequency
    return syn.SpikeTrains(base, base + delta_t, base[-1] + abs(delta_t) + 1.0 / frequency)


def test_parameter_units():
    dp = syn.gb2012_dp()
    assert float(dp.tau_Ca) == pytest.approx(0.020)
    assert float(dp.D) == pytest.approx(0.0137)
    assert float(syn.gb2012_cortical().tau) == pytest.approx(346.3615)
    assert float(syn.gb2012_hippocampal().D) == pytest.approx(0.0188008)


@pytest.mark.parametrize(
    "field, value",
    [("tau_Ca", -0.02), ("tau_Ca", 0.0), ("tau", 0.0), ("gamma_p", np.nan), ("D", np.inf)],
)
def test_bad_parameters(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(syn.gb2012_dp(), **{field: value})


def test_bad_substeps_and_unsorted_trains():
    with pytest.raises(ValueError, match="substeps"):
        syn.simulate_graupner_brunel(syn.gb2012_dp(), _pairing(0.01, 1.0, 2), substeps=0)
    with pytest.raises(ValueError, match="ascending"):
        syn.SpikeTrains(jnp.array([0.2, 0.1]), jnp.array([0.3]))


def _reference(rule, pre, post, t_end, rho0):
    """Independent NumPy/SciPy reference: solve_ivp on every constant-drive segment."""
    p = {k: float(getattr(rule, k)) for k in ("tau_Ca", "C_pre", "C_post", "theta_d", "theta_p",
                                               "gamma_d", "gamma_p", "tau", "rho_star", "D")}  # fmt: skip
    events = sorted([(t + p["D"], p["C_pre"]) for t in pre] + [(t, p["C_post"]) for t in post])
    events = [e for e in events if e[0] <= t_end] + [(t_end, 0.0)]
    t, c, rho = 0.0, 0.0, rho0
    for t_next, amp in events:
        cuts = {t, t_next}
        for theta in (p["theta_d"], p["theta_p"]):
            if c > theta:
                cuts.add(min(t_next, t + p["tau_Ca"] * np.log(c / theta)))
        cuts = sorted(cuts)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            c_mid = c * np.exp(-((a + b) / 2 - t) / p["tau_Ca"])
            hp, hd = float(c_mid > p["theta_p"]), float(c_mid > p["theta_d"])

            def f(_, r, hp=hp, hd=hd):
                return (-r * (1 - r) * (p["rho_star"] - r) + p["gamma_p"] * (1 - r) * hp
                        - p["gamma_d"] * r * hd) / p["tau"]  # fmt: skip

            rho = solve_ivp(f, (a, b), [rho], rtol=1e-12, atol=1e-14).y[0, -1]
        c = c * np.exp(-(t_next - t) / p["tau_Ca"]) + amp
        t = t_next
    return rho


@pytest.mark.parametrize("delta_t", [-0.02, 0.01, 0.03])
def test_simulation_matches_solve_ivp(float64, delta_t):
    rule = syn.gb2012_cortical()
    trains = _pairing(delta_t, 20.0, 6)
    out = syn.simulate_graupner_brunel(rule, trains, rho0=0.3)
    ref = _reference(
        rule, np.asarray(trains.pre), np.asarray(trains.post), float(trains.t_end), 0.3
    )
    assert abs(float(out.rho) - ref) < 1e-9
    assert int(out.result) == 0


def test_substep_convergence(float64):
    rule = syn.gb2012_dp()
    trains = _pairing(0.01, 1.0, 10)
    fine = syn.simulate_graupner_brunel(rule, trains, rho0=0.2, substeps=16).rho
    errs = [abs(float(syn.simulate_graupner_brunel(rule, trains, rho0=0.2, substeps=n).rho - fine))
            for n in (1, 2, 4)]  # fmt: skip
    assert errs[2] < 1e-8
    assert errs[0] / errs[1] > 8.0  # fourth order: about 16


def test_time_above_matches_periodic_steady_state(float64):
    rule = syn.gb2012_dp()
    n, f, dt = 200, 5.0, 0.01
    out = syn.simulate_graupner_brunel(rule, _pairing(dt, f, n, t0=0.0))
    a_d, a_p = syn.pairing_time_above(rule, jnp.asarray(dt), jnp.asarray(f))
    # The simulated protocol adds a transient at the start and |dt| + one period at the end.
    T = n / f
    assert float(out.time_d) == pytest.approx(float(a_d) * T, rel=0.02)
    assert float(out.time_p) == pytest.approx(float(a_p) * T, rel=0.02)


def test_float32_matches_float64():
    rule = syn.gb2012_cortical()
    trains = _pairing(0.01, 1.0, 60)
    rho32 = syn.simulate_graupner_brunel(rule, trains, rho0=0.5).rho
    assert rho32.dtype == jnp.float32
    with jax.enable_x64(True):
        rule64 = syn.gb2012_cortical()
        trains64 = _pairing(0.01, 1.0, 60)
        rho64 = syn.simulate_graupner_brunel(rule64, trains64, rho0=0.5).rho
    assert abs(float(rho32) - float(rho64)) < 1e-4


def test_vmap_batch_reports_failure_per_member():
    rule = syn.gb2012_dp()
    trains = jax.tree.map(
        lambda *x: jnp.stack(x), *[_pairing(d, 1.0, 5) for d in (-0.01, 0.01, 0.02)]
    )
    rho0 = jnp.array([0.5, jnp.nan, 0.5])
    out = jax.jit(jax.vmap(lambda t, r: syn.simulate_graupner_brunel(rule, t, rho0=r)))(
        trains, rho0
    )
    assert out.rho.shape == (3,)
    assert out.result.tolist() == [0, 1, 0]
    assert np.isfinite(np.asarray(out.rho)[[0, 2]]).all()


def test_throw_raises():
    trains = _pairing(0.01, 1.0, 2)
    with pytest.raises(Exception, match="non-finite"):
        syn.simulate_graupner_brunel(
            syn.gb2012_dp(), trains, rho0=jnp.nan, throw=True
        ).rho.block_until_ready()


def test_stdp_curve_shape_and_window():
    dts = jnp.linspace(-0.1, 0.1, 201)
    r = syn.stdp_curve(syn.gb2012_dp(), dts, 1.0, 60.0)
    assert r.shape == (201,) and r.dtype == jnp.float32
    assert float(r[110]) > 1.1 and float(r[90]) < 0.95  # +10 ms LTP, -10 ms LTD


def test_stdp_curve_gradient_matches_finite_differences(float64):
    rule = syn.gb2012_dp()
    dts = jnp.array([-0.03, -0.01, 0.005, 0.012, 0.04])
    fields = ("theta_p", "theta_d", "gamma_p", "gamma_d", "tau_Ca")

    def loss(params):
        r = eqx.tree_at(lambda m: [getattr(m, f) for f in fields], rule, list(params))
        return jnp.sum(syn.stdp_curve(r, dts, 1.0, 60.0) ** 2)

    x0 = [jnp.asarray(float(getattr(rule, f))) for f in fields]
    grads = jax.grad(loss)(x0)
    for i, f in enumerate(fields):
        h = 1e-6 * float(x0[i])
        up = [x + h if j == i else x for j, x in enumerate(x0)]
        down = [x - h if j == i else x for j, x in enumerate(x0)]
        fd = (loss(up) - loss(down)) / (2 * h)
        assert float(grads[i]) == pytest.approx(float(fd), rel=1e-5, abs=1e-9), f


def test_rate_form():
    rule = syn.gb2012_cortical()
    init, step = syn.graupner_brunel_rate(rule)
    state = init(jnp.asarray(3.0))
    assert float(state.w) == pytest.approx(3.0)
    high = step(state, jnp.asarray(50.0), jnp.asarray(50.0), jnp.asarray(5.0))
    quiet = step(state, jnp.asarray(0.0), jnp.asarray(0.0), jnp.asarray(5.0))
    assert float(high.w) > float(state.w)
    assert abs(float(quiet.w) - float(state.w)) < 0.05  # only the slow bistable drift
    batched = jax.vmap(step, in_axes=(None, 0, 0, None))(state, jnp.array([1.0, 50.0]),
                                                         jnp.array([1.0, 50.0]), jnp.asarray(5.0))  # fmt: skip
    assert batched.w.shape == (2,)


@pytest.mark.xfail(
    strict=True,
    reason="GB2012 cortical set at 1 Hz, +10 ms: model 1.061 vs Sjöström 0.1 Hz data 0.96 ± 0.05 "
    "(2.0 SEM); the other 9 points lie within 1.5 SEM.",
)
def test_cortical_set_within_1p5_sem_of_sjostrom():
    model = cortical_model_ratios()
    misses = []
    for f, (_, _, dp, sp, dm, sm) in CORTICAL_TABLE.items():
        for r, d, s, lab in ((model[f][0], dp, sp, "+10"), (model[f][1], dm, sm, "-10")):
            if abs(r - (1 + d / 100)) > 1.5 * s / 100:
                misses.append((f, lab, r, d, s))
    assert not misses, misses


def test_rate_form_matches_fine_integration(float64):
    rule = syn.gb2012_cortical()
    init, step = syn.graupner_brunel_rate(rule)
    _, fine = syn.graupner_brunel_rate(rule, substeps=2000)
    for rate in (5.0, 30.0, 80.0):
        args = (init(jnp.asarray(2.0)), jnp.asarray(rate), jnp.asarray(rate), jnp.asarray(10.0))
        assert abs(float(step(*args).rho - fine(*args).rho)) < 2e-3
        assert 0.0 <= float(step(*args).rho) <= 1.0


@pytest.mark.parametrize("field", ["theta_p", "tau_Ca"])
def test_simulation_gradient_matches_finite_differences(float64, field):
    trains = _pairing(0.012, 5.0, 10)
    rule = syn.gb2012_dp()

    @jax.jit
    def loss(x):
        r = eqx.tree_at(lambda m: getattr(m, field), rule, x)
        return syn.simulate_graupner_brunel(r, trains, rho0=0.3).rho

    x0 = jnp.asarray(float(getattr(rule, field)))
    h = 1e-6 * float(x0)
    fd = (loss(x0 + h) - loss(x0 - h)) / (2 * h)
    assert float(jax.jit(jax.grad(loss))(x0)) == pytest.approx(float(fd), rel=1e-5)
