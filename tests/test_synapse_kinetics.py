"""Receptor kinetics, Mg block, Tsodyks–Markram short-term plasticity and spine calcium.

References are closed forms derived by hand in the tests, or ``scipy.integrate.solve_ivp``
run piece by piece between the discontinuities of the input.
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import multiscale.synapse as ms
from multiscale import RESULTS

# --------------------------------------------------------------------------- Mg block


def test_mg_block_matches_formula_and_limits():
    V = jnp.linspace(-120.0, 60.0, 37)
    expected = 1.0 / (1.0 + np.exp(-0.062 * np.asarray(V, dtype=float)) / 3.57)
    np.testing.assert_allclose(np.asarray(ms.mg_block(V)), expected, rtol=1e-6)
    assert float(ms.MgBlock(Mg=0.0)(-80.0)) == 1.0
    b = np.asarray(ms.MgBlock(Mg=2.0)(V))
    assert np.all(np.diff(b) > 0) and np.all(b < expected)


def test_mg_block_gradient_finite_at_extremes(float64):
    dB = jax.vmap(jax.grad(lambda v: ms.MgBlock()(v)))(jnp.array([-500.0, -65.0, 500.0]))
    assert np.all(np.isfinite(np.asarray(dB)))
    V, h = -30.0, 1e-5
    fd = (ms.MgBlock()(V + h) - ms.MgBlock()(V - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(ms.MgBlock())(V), fd, rtol=1e-7)


# --------------------------------------------------------------------------- references


def _edges(spikes, Cdur, t1):
    e = sorted(
        {0.0, t1, *[s for s in spikes if s < t1], *[s + Cdur for s in spikes if s + Cdur < t1]}
    )
    return [x for x in e if x <= t1]


def _scipy_piecewise(rhs, y0, spikes, Cdur, Cmax, ts):
    """solve_ivp between pulse edges, with T constant (and known) on each piece."""
    t1 = float(ts[-1])
    edges = _edges(spikes, Cdur, t1)
    y = np.asarray(y0, dtype=float)
    out = np.zeros((len(ts), y.size))
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        mid = 0.5 * (a + b)
        T = Cmax if any(s <= mid < s + Cdur for s in spikes) else 0.0
        inside = (ts >= a) & (ts <= b)
        sol = solve_ivp(
            lambda t, y, T=T: rhs(T, y), (a, b), y, t_eval=ts[inside], rtol=1e-11, atol=1e-13
        )
        out[inside] = sol.y.T
        y = solve_ivp(lambda t, y, T=T: rhs(T, y), (a, b), y, rtol=1e-11, atol=1e-13).y[:, -1]
    return out


SPIKES = [0.002, 0.0105, 0.011, 0.030]  # includes two overlapping pulses


@pytest.mark.parametrize("make", [ms.ampa, ms.nmda, ms.gabaa])
def test_first_order_matches_scipy_and_closed_form(float64, make):
    rec = make()
    ts = np.linspace(0.0, 0.06, 121)

    def rhs(T, y):
        return rec.alpha * T * (1 - y) - rec.beta * y

    ref = _scipy_piecewise(rhs, [0.0], SPIKES, rec.Cdur, rec.Cmax, ts)[:, 0]
    traj = ms.simulate_receptor(
        rec,
        jnp.array(SPIKES + [np.inf]),
        jnp.asarray(ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12),
    )
    exact = ms.first_order_exact(rec, jnp.array(SPIKES + [np.inf]), jnp.asarray(ts))
    np.testing.assert_allclose(np.asarray(exact), ref, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(np.asarray(traj.r), ref, rtol=1e-7, atol=1e-10)
    assert int(traj.result) == RESULTS.ok


def test_gabab_matches_scipy(float64):
    rec = ms.gabab()
    spikes = [0.0, 0.01, 0.02, 0.03]  # a burst: GABA_B needs several spikes
    ts = np.linspace(0.0, 0.4, 81)

    def rhs(T, y):
        return [rec.K1 * T * (1 - y[0]) - rec.K2 * y[0], rec.K3 * y[0] - rec.K4 * y[1]]

    ref = _scipy_piecewise(rhs, [0.0, 0.0], spikes, rec.Cdur, rec.Cmax, ts)
    traj = ms.simulate_receptor(
        rec,
        jnp.array(spikes),
        jnp.asarray(ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12),
    )
    np.testing.assert_allclose(np.asarray(traj.ys), ref, rtol=1e-7, atol=1e-10)
    g_ref = rec.g_max * ref[:, 1] ** 4 / (ref[:, 1] ** 4 + rec.KD)
    np.testing.assert_allclose(np.asarray(ms.conductance(rec, traj)), g_ref, rtol=1e-6, atol=1e-15)


def test_fixed_step_converges_at_solver_order(float64):
    # Heun is second order; with the pulse edges as jump times the order survives the
    # discontinuous input, so halving dt divides the error by about 4.
    rec = ms.ampa()
    spikes = jnp.array([0.0, 0.0123])
    ts = jnp.array([0.02])
    exact = ms.first_order_exact(rec, spikes, ts)[0]
    errs = []
    for dt in (1e-4, 5e-5, 2.5e-5):
        dt = jnp.asarray(dt)  # an array, so that the three solves share one compilation
        traj = ms.simulate_receptor(
            rec,
            spikes,
            ts,
            solver=diffrax.Heun(),
            stepsize_controller=diffrax.ConstantStepSize(),
            dt0=dt,
        )
        errs.append(abs(float(traj.r[0] - exact)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.15)


# --------------------------------------------------------------------------- gradients


def test_grad_r_wrt_alpha_matches_finite_differences(float64):
    spikes = jnp.array([0.0, 0.004, 0.02])
    ts = jnp.array([0.001, 0.005, 0.03])
    controller = diffrax.PIDController(rtol=1e-10, atol=1e-12)

    def r_end(alpha, fn):
        rec = eqx.tree_at(lambda r: r.alpha, ms.nmda(), alpha)
        return fn(rec)

    def sim(rec):
        return ms.simulate_receptor(rec, spikes, ts, stepsize_controller=controller).r[-1]

    def exact(rec):
        return ms.first_order_exact(rec, spikes, ts)[-1]

    a, h = jnp.asarray(72.0), 1e-3
    for fn in (sim, exact):
        g = jax.grad(r_end)(a, fn)
        fd = (r_end(a + h, fn) - r_end(a - h, fn)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_grad_exact_wrt_spike_time_and_beta(float64):
    rec = ms.gabaa()
    ts = jnp.array([0.004])

    def f(spike0, beta):
        r = eqx.tree_at(lambda m: m.beta, rec, beta)
        return ms.first_order_exact(r, jnp.stack([spike0, jnp.asarray(0.0025)]), ts)[0]

    x, b, h = jnp.asarray(0.0005), jnp.asarray(180.0), 1e-7
    gx, gb = jax.grad(f, argnums=(0, 1))(x, b)
    np.testing.assert_allclose(gx, (f(x + h, b) - f(x - h, b)) / (2 * h), rtol=1e-5)
    np.testing.assert_allclose(gb, (f(x, b + 1e-3) - f(x, b - 1e-3)) / 2e-3, rtol=1e-6)


# --------------------------------------------------------------------------- jit / vmap


def test_jit_vmap_grad_stable_dtypes():
    spikes = jnp.array([0.0, 0.01, jnp.inf])
    ts = jnp.linspace(0.0, 0.05, 11)

    def peak(alpha, g_max):
        rec = eqx.tree_at(lambda r: (r.alpha, r.g_max), ms.ampa(), (alpha, g_max))
        traj = ms.simulate_receptor(rec, spikes, ts)
        return jnp.max(ms.current(rec, traj, -65.0))

    @eqx.debug.assert_max_traces(max_traces=1)
    def sweep(alphas, g_max):
        return jax.vmap(peak, in_axes=(0, None))(alphas, g_max)

    sweep = jax.jit(sweep)
    alphas = jnp.array([500.0, 1100.0, 2000.0])
    out = sweep(alphas, jnp.asarray(0.1))
    out2 = sweep(alphas * 1.01, jnp.asarray(0.2))  # a second sweep does not recompile
    assert out.shape == (3,) and out.dtype == jnp.float32 and out2.dtype == jnp.float32
    g = jax.grad(lambda a: peak(a, jnp.asarray(0.1)))(jnp.asarray(1100.0))
    assert g.dtype == jnp.float32 and np.isfinite(float(g))
    traj = ms.simulate_receptor(ms.gabab(), spikes, ts)
    assert traj.ys.shape == (11, 2) and traj.ys.dtype == jnp.float32


def test_vmap_over_spike_trains_and_failing_member_reports_result():
    trains = jnp.array([[0.0, 0.01, jnp.inf], [0.0, 0.002, 0.004]])
    ts = jnp.linspace(0.0, 0.02, 5)
    traj = jax.vmap(lambda s: ms.simulate_receptor(ms.ampa(), s, ts))(trains)
    assert traj.r.shape == (2, 5)
    # A very stiff member exhausts the step budget; the other member is unaffected.
    alphas = jnp.array([1100.0, 1e9])

    def run(alpha):
        rec = eqx.tree_at(lambda r: r.alpha, ms.ampa(), alpha)
        return ms.simulate_receptor(rec, trains[0], ts, max_steps=64, throw=False)

    batch = jax.vmap(run)(alphas)
    ok = np.asarray(batch.result == RESULTS.ok)
    assert ok.tolist() == [True, False]
    np.testing.assert_allclose(
        batch.r[0], ms.first_order_exact(ms.ampa(), trains[0], ts), rtol=1e-4, atol=1e-7
    )


def test_current_units_and_nmda_voltage():
    rec = ms.ampa(g_max=1.0)
    open_state = jnp.ones((1, 1))
    # 1 nS * (-65 mV - 0 mV) = -65 pA = -0.065 nA.
    np.testing.assert_allclose(ms.current(rec, open_state, -65.0), [-0.065], rtol=1e-6)
    n = ms.nmda(g_max=1.0)
    np.testing.assert_allclose(
        ms.current(n, open_state, -20.0), [-0.020 * float(ms.mg_block(-20.0))], rtol=1e-6
    )
    with pytest.raises(ValueError, match="`V`"):
        ms.conductance(n, open_state)
    traj = ms.simulate_receptor(ms.ampa(), jnp.array([0.0]), jnp.array([0.001, 0.002]))
    with pytest.raises(ValueError, match="G-protein"):
        _ = traj.G


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: ms.FirstOrderReceptor(alpha=1.0, beta=-190.0), "beta"),
        (lambda: ms.FirstOrderReceptor(alpha=float("nan"), beta=1.0), "alpha"),
        (lambda: ms.FirstOrderReceptor(alpha=1.0, beta=1.0, Cdur=-1e-3), "Cdur"),
        (lambda: ms.FirstOrderReceptor(alpha=1.0, beta=1.0, E_rev=float("inf")), "E_rev"),
        (lambda: ms.FirstOrderReceptor(alpha=1.0, beta=1.0, g_max=-1.0), "g_max"),
        (lambda: ms.GABABReceptor(K4=-33.0), "K4"),
        (lambda: ms.MgBlock(Mg=-1.0), "Mg"),
        (lambda: ms.TsodyksMarkram(U=0.5, tau_rec=-0.8), "tau_rec"),
        (lambda: ms.TsodyksMarkram(U=1.5, tau_rec=0.8), "U"),
        (lambda: ms.TsodyksMarkram(U=0.5, tau_rec=0.8, tau_facil=float("nan")), "tau_facil"),
        (lambda: ms.SpineCalcium(tau_Ca=0.0), "tau_Ca"),
    ],
)
def test_bad_parameters_name_the_field(build, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        build()


@pytest.mark.parametrize("spikes", [[0.01, 0.0], [0.0, float("nan")], [0.0, float("inf"), 0.1]])
def test_bad_spike_times(spikes):
    ts = jnp.array([0.01])
    with pytest.raises(ValueError, match="spike_times"):
        ms.simulate_receptor(ms.ampa(), jnp.array(spikes), ts)
    with pytest.raises(ValueError, match="spike_times"):
        ms.short_term_efficacy(ms.TsodyksMarkram(), jnp.array(spikes))


def test_bad_save_times_and_state():
    with pytest.raises(ValueError, match="`ts`"):
        ms.simulate_receptor(ms.ampa(), jnp.array([0.0]), jnp.array([0.02, 0.01]))
    with pytest.raises(ValueError, match="`y0`"):
        ms.simulate_receptor(ms.gabab(), jnp.array([0.0]), jnp.array([0.01]), y0=jnp.zeros(1))


# --------------------------------------------------------------------------- Tsodyks–Markram


def test_tm_regular_train_reaches_hand_derived_steady_state():
    # Fixed point of the recursion, derived by hand: u* = U / (1 - (1-U) e^{-D/F}),
    # R* = (1 - e^{-D/D_rec}) / (1 - (1 - u*) e^{-D/D_rec}).
    U, D, F, f = 0.2, 0.3, 0.4, 25.0
    delta = 1.0 / f
    u_star = U / (1 - (1 - U) * np.exp(-delta / F))
    R_star = (1 - np.exp(-delta / D)) / (1 - (1 - u_star) * np.exp(-delta / D))
    model = ms.TsodyksMarkram(U=U, tau_rec=D, tau_facil=F)
    res = ms.short_term_efficacy(model, jnp.arange(200.0) * delta)
    np.testing.assert_allclose(res.u[-1], u_star, rtol=1e-5)
    np.testing.assert_allclose(res.R[-1], R_star, rtol=1e-5)
    np.testing.assert_allclose(res.efficacy[-1], u_star * R_star, rtol=1e-5)
    np.testing.assert_allclose(model.steady_state_efficacy(f), u_star * R_star, rtol=1e-5)


def test_tm_depression_and_facilitation_paired_pulse():
    spikes = jnp.array([0.0, 0.05, jnp.inf])
    dep = ms.short_term_efficacy(ms.TsodyksMarkram(U=0.5, tau_rec=0.8, tau_facil=0.0), spikes)
    ppr = float(dep.efficacy[1] / dep.efficacy[0])
    np.testing.assert_allclose(ppr, 1 - 0.5 * np.exp(-0.05 / 0.8), rtol=1e-6)
    assert ppr < 1 and float(dep.efficacy[2]) == 0.0
    # Illustrative facilitating parameters (small U, long tau_facil).
    fac = ms.short_term_efficacy(ms.TsodyksMarkram(U=0.05, tau_rec=0.1, tau_facil=1.0), spikes)
    assert float(fac.efficacy[1] / fac.efficacy[0]) > 1


def test_tm_grad_jit_vmap(float64):
    spikes = jnp.arange(10.0) * 0.02

    def last(U):
        return ms.short_term_efficacy(
            ms.TsodyksMarkram(U=U, tau_rec=0.5, tau_facil=0.2), spikes
        ).efficacy[-1]

    U, h = jnp.asarray(0.3), 1e-6
    np.testing.assert_allclose(jax.grad(last)(U), (last(U + h) - last(U - h)) / (2 * h), rtol=1e-6)
    out = jax.jit(jax.vmap(last))(jnp.array([0.1, 0.3, 0.9]))
    assert out.shape == (3,) and out.dtype == jnp.float64
    # tau_facil = 0 (no facilitation) keeps a finite gradient.
    g = jax.grad(
        lambda tf: ms.short_term_efficacy(ms.TsodyksMarkram(0.5, 0.5, tf), spikes).efficacy[-1]
    )
    assert np.isfinite(float(g(jnp.asarray(0.0))))


# --------------------------------------------------------------------------- spine calcium


def _pairs(delta_t, n=1, period=1.0, t0=0.05):
    """n pre/post pairs, post ``delta_t`` (s) after pre (built here, in float, for x64 tests)."""
    pre = t0 + period * jnp.arange(float(n))
    return ms.SpikeTrains(pre, pre + delta_t, pre[-1] + period)


def test_spine_calcium_pre_only_matches_closed_form(float64):
    # With no BPAP, V = V_rest and the influx is a sum of two exponentials, so
    # Ca(t) = a sum_i w_i (e^{-t/tau_i} - e^{-t/tau_Ca}) / (1/tau_Ca - 1/tau_i).
    m = ms.SpineCalcium()
    trains = ms.SpikeTrains(jnp.array([0.01]), jnp.array([jnp.inf]))
    ts = jnp.linspace(0.0, 0.4, 81)
    ca = ms.spine_calcium(
        m, trains, ts, stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-13)
    )
    V = -65.0
    a = -2.0 * 0.5 * float(ms.mg_block(V)) * (V - 130.0)
    t = np.maximum(np.asarray(ts) - 0.01, 0.0)
    ref = sum(
        a * w * (np.exp(-t / tau) - np.exp(-t / 0.05)) / (1 / 0.05 - 1 / tau)
        for w, tau in ((0.5, 0.05), (0.5, 0.2))
        if tau != 0.05
    ) + a * 0.5 * t * np.exp(-t / 0.05)  # the resonant term, tau_f = tau_Ca
    np.testing.assert_allclose(np.asarray(ca), ref, rtol=1e-8, atol=1e-12)


def test_spine_calcium_pairing_matches_scipy_and_orders(float64):
    m = ms.SpineCalcium()
    trains = _pairs(0.01, n=3, period=0.2)
    ts = np.linspace(0.0, float(trains.t_end), 301)
    pre, post = np.asarray(trains.pre), np.asarray(trains.post)
    jumps = sorted({0.0, *pre, *(post + 0.002), ts[-1]})

    def rhs(t, y):
        # The model written out again in NumPy (Shouval et al. 2002).
        def latest(spikes):
            past = spikes[spikes <= t]
            return t - past.max() if past.size else None

        s, q = latest(pre), latest(post + 0.002)
        H = 0.0 if s is None else 0.5 * (0.5 * np.exp(-s / 0.05) + 0.5 * np.exp(-s / 0.2))
        V = -65.0 + (
            0.0 if q is None else 100 * (0.75 * np.exp(-q / 0.003) + 0.25 * np.exp(-q / 0.025))
        )
        B = 1 / (1 + np.exp(-0.062 * V) / 3.57)
        return [-2.0 * H * B * (V - 130.0) - y[0] / 0.05]

    ref = np.zeros_like(ts)
    y = [0.0]
    for a, b in zip(jumps[:-1], jumps[1:], strict=True):
        inside = (ts >= a) & (ts <= b)
        sol = solve_ivp(rhs, (a, b), y, t_eval=ts[inside], rtol=1e-10, atol=1e-12)
        ref[inside] = sol.y[0]
        y = solve_ivp(rhs, (a, b), y, rtol=1e-10, atol=1e-12).y[:, -1]
    ca = ms.spine_calcium(
        m,
        trains,
        jnp.asarray(ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12),
    )
    np.testing.assert_allclose(np.asarray(ca), ref, rtol=1e-6, atol=1e-9)
    # Shouval et al. 2002 Fig. 2: pre-before-post gives more calcium than post-before-pre,
    # which gives more than the presynaptic spike alone.
    # One vmap over delta_t; delta_t = +inf puts the post spike at +inf (pre spike alone).
    peaks = jax.vmap(lambda dt: ms.spine_calcium(m, _pairs(dt), jnp.linspace(0.0, 0.3, 601)).max())(
        jnp.array([0.01, -0.01, jnp.inf])
    )
    assert peaks.shape == (3,) and peaks[0] > peaks[1] > peaks[2]


def test_spine_calcium_grad(float64):
    ts = jnp.linspace(0.0, 0.2, 21)

    def total(tau_Ca):
        m = ms.SpineCalcium(tau_Ca=tau_Ca)
        return ms.spine_calcium(
            m, _pairs(0.01), ts, stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12)
        ).sum()

    x, h = jnp.asarray(0.05), 1e-6
    np.testing.assert_allclose(
        jax.grad(total)(x), (total(x + h) - total(x - h)) / (2 * h), rtol=1e-6
    )


# --------------------------------------------------------------------------- plots


def test_plot_functions_return_axes():
    import matplotlib.pyplot as plt

    import multiscale.plot as mplot

    fig, axes = plt.subplots(1, 4)
    spikes = jnp.array([0.0, 0.02, jnp.inf])
    ts = jnp.linspace(0.0, 0.05, 11)
    rec = ms.nmda()
    traj = ms.simulate_receptor(rec, spikes, ts)
    assert mplot.receptor_response(traj, rec, V=-20.0, label="NMDA", ax=axes[0]) is axes[0]
    assert mplot.receptor_response(traj, ax=axes[0]) is axes[0]
    assert mplot.mg_block_curve(ax=axes[1]) is axes[1]
    res = ms.short_term_efficacy(ms.TsodyksMarkram(), spikes)
    assert mplot.short_term_efficacies(spikes, res, ax=axes[2]) is axes[2]
    assert mplot.spine_calcium_trace(ts, np.zeros(11), ax=axes[3]) is axes[3]
    plt.close(fig)
