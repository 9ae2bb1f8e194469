"""Several areas: the hierarchy of timescales (Chaudhuri, Knoblauch, Gariel, Kennedy & Wang
2015, Neuron 88:419), local and long-range projections with their own rules, and laminar
areas whose feedforward influence is carried in gamma and feedback in alpha/low-beta
(Mejias, Murray, Kennedy & Wang 2016, Sci Adv 2:e1601335).

The eigen time constants are computed here from the paper's published parameters (the
paper does not print them per area): an isolated area has a slow mode of 41.9 ms at the
bottom of the hierarchy (h = 0) and 400.9 ms at the top (h = 1).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.circuit import (
    ALPHA_LOW_BETA_BAND,
    GAMMA_BAND,
    AreaHierarchy,
    area_pulse,
    directed_influence,
    laminar_areas,
    projection_kinds,
    projection_rules,
    replace_rules,
)

DT = 2e-4  # the Euler step of the authors' replication


def isolated(h: float, **kw) -> AreaHierarchy:
    return AreaHierarchy(h=[h], fln=[[0.0]], **kw)


def chain() -> AreaHierarchy:
    """Three areas with illustrative FLN (not the tracing data): V1 -> V4 -> 24c, feedback."""
    fln = np.array([[0.0, 0.05, 0.0], [0.5, 0.0, 0.1], [0.1, 0.3, 0.0]])
    return AreaHierarchy(h=[0.0, 0.42, 1.0], fln=fln, names=("V1", "V4", "24c"))


@pytest.mark.parametrize(("h", "slow", "fast"), [(0.0, 41.9e-3, 2.06e-3), (1.0, 400.9e-3, 2.21e-3)])
def test_isolated_area_time_constants(h, slow, fast):
    taus = np.asarray(isolated(h).eigen_time_constants())
    np.testing.assert_allclose(taus[0], slow, rtol=1e-3)
    np.testing.assert_allclose(taus[1], fast, rtol=3e-3)


def test_circuit_has_the_papers_modes_plus_inert_copies():
    with jax.enable_x64(True):
        h = AreaHierarchy(h=[0.0, 1.0], fln=[[0.0, 0.05], [0.3, 0.0]], names=("V1", "24c"))
        rest = jnp.array([10.0, 35.0, 10.0, 35.0])  # E, I of each area, Hz
        _, lam = ms.circuit.linearise(h.circuit(), rest)
        lam = np.sort(np.asarray(lam).real)
        paper = np.sort(-1.0 / np.asarray(h.eigen_time_constants()))
    # Every mode of the paper's equations is a mode of the circuit ...
    for x in paper:
        assert np.min(np.abs(lam - x)) < 1e-3 * abs(x)
    # ... and the rest are the copies of the gatings, at exactly -1/tau_E and -1/tau_I.
    extra = list(lam)
    for x in paper:
        extra.pop(int(np.argmin(np.abs(np.asarray(extra) - x))))
    assert np.allclose(np.sort(np.abs(extra))[[0, -1]], [50.0, 100.0], rtol=1e-4)
    assert set(np.round(np.abs(extra), 2)) <= {50.0, 100.0}


@pytest.mark.parametrize("h", [0.0, pytest.param(1.0, marks=pytest.mark.slow)])
def test_pulse_decays_with_the_areas_time_constant(h):
    hier = isolated(h)
    tau = float(hier.eigen_time_constants()[0])
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.1, duration=0.05, t1=0.2 + 2.5 * tau)
    traj = ms.circuit.simulate(hier.circuit(), area_pulse(5.0), key=jr.key(0), protocol=protocol)
    t = np.asarray(traj.ts)
    r_E = np.asarray(traj.state.gating[0])[:, 0]  # the E -> E gating is r_E
    assert np.allclose(r_E[t < 0.1], 10.0, atol=1e-4)  # the backgrounds hold rest
    window = (t > 0.15 + 10 * 2.2e-3) & (t < 0.15 + 2 * tau)  # fast mode gone
    fit = -1.0 / np.polyfit(t[window], np.log(r_E[window] - 10.0), 1)[0]
    # Euler at 0.2 ms shortens it by ~dt/2 (0.24 % at 41.9 ms).
    np.testing.assert_allclose(fit, tau, rtol=0.01)


def test_long_range_excitation_slows_the_network():
    h = chain()
    taus = np.asarray(h.eigen_time_constants())
    top = float(isolated(1.0).eigen_time_constants()[0])
    assert h.spectral_abscissa() < 0
    assert taus[0] > top  # 419 ms > 401 ms with these FLN
    c = h.circuit()
    assert projection_kinds(c).count("long_range") == 2 * 5  # five nonzero FLN entries


def test_rules_by_projection_kind():
    local, long = ms.synapse.BCM(), ms.synapse.Oja()
    c = chain().circuit()
    assert projection_rules(c) == {"local": (None,) * 12, "long_range": (None,) * 10}
    c2 = replace_rules(c, local=local, long_range=long)
    rules = projection_rules(c2)
    assert all(isinstance(r, ms.synapse.BCM) for r in rules["local"])
    assert all(isinstance(r, ms.synapse.Oja) for r in rules["long_range"])
    # Rules given to the hierarchy land in the same slots.
    c3 = eqx.tree_at(lambda m: m.long_range_rule, chain(), long, is_leaf=lambda x: x is None)
    rules3 = projection_rules(c3.circuit())
    assert rules3["local"] == (None,) * 12
    assert all(isinstance(r, ms.synapse.Oja) for r in rules3["long_range"])
    # Replacing one kind leaves the other and the weights alone.
    c4 = replace_rules(c2, local=None)
    assert projection_rules(c4)["local"] == (None,) * 12
    assert all(isinstance(r, ms.synapse.Oja) for r in projection_rules(c4)["long_range"])
    same = lambda a, b: bool(a.weight.w == b.weight.w)  # noqa: E731
    assert all(same(a, b) for a, b in zip(c.projections, c4.projections, strict=True))
    with pytest.raises(ValueError, match="unknown projection kinds"):
        replace_rules(c, lateral=local)


def test_bad_input():
    with pytest.raises(ValueError, match="`fln` must have shape"):
        AreaHierarchy(h=[0.0, 1.0], fln=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`h` must have shape"):
        AreaHierarchy(h=[[0.0]], fln=[[0.0]])
    with pytest.raises(ValueError, match="`fln` must be finite and >= 0"):
        AreaHierarchy(h=[0.0, 1.0], fln=[[0.0, -0.1], [0.2, 0.0]])
    with pytest.raises(ValueError, match="zero diagonal"):
        AreaHierarchy(h=[0.0, 1.0], fln=[[0.1, 0.0], [0.2, 0.0]])
    with pytest.raises(ValueError, match="`h` must lie in"):
        AreaHierarchy(h=[0.0, 2.0], fln=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`names`"):
        AreaHierarchy(h=[0.0], fln=[[0.0]], names=("V1", "V2"))
    with pytest.raises(ValueError, match="`tau_E` must be finite and > 0"):
        isolated(0.0, tau_E=-0.02)
    # Unstable: the error reports the spectral abscissa (eta = 0.8 gives +1.61 1/s).
    with pytest.raises(ValueError, match=r"spectral abscissa .* = 1\.6"):
        isolated(1.0, eta=0.8).circuit()
    unstable = eqx.tree_at(lambda m: m.eta, isolated(1.0), jnp.asarray(0.8))
    with pytest.raises(Exception, match="unstable at rest"):
        jax.jit(lambda m: m.check_stable().h)(unstable)


def test_negative_tau_under_jit():
    bad = eqx.tree_at(lambda m: m.tau_E, isolated(0.0), jnp.asarray(-0.02))
    with pytest.raises(Exception, match="AreaHierarchy `tau_E` must be finite and > 0"):
        jax.jit(lambda m: m.checked().eigen_time_constants())(bad)
    # A circuit whose synaptic time constant was made negative after it was built.
    c = isolated(0.0).circuit()
    c = eqx.tree_at(lambda c: c.projections[0].synapse.tau, c, jnp.asarray(-0.02))
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.01, t1=0.02)
    run = jax.jit(
        lambda c: ms.circuit.simulate(c, area_pulse(1.0), key=jr.key(0), protocol=protocol).r
    )
    with pytest.raises(Exception, match="ExponentialSynapse `tau` must be finite and > 0"):
        run(c)


def test_jit_vmap_grad():
    etas = jnp.array([0.0, 0.3, 0.68])

    def slowest(eta):
        return eqx.tree_at(lambda m: m.eta, isolated(1.0), eta).eigen_time_constants()[0]

    slow = jax.jit(jax.vmap(slowest))(etas)
    assert np.all(np.diff(np.asarray(slow)) > 0)  # more recurrence, slower
    np.testing.assert_allclose(slow[-1], 0.4009, rtol=1e-3)
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.02, duration=0.02, t1=0.1)

    @jax.jit
    def late_rate(w_EE):
        hier = eqx.tree_at(lambda m: m.w_EE, isolated(0.5), w_EE)
        traj = ms.circuit.simulate(
            hier.circuit(), area_pulse(5.0), key=jr.key(0), protocol=protocol, save_every=0
        )
        return traj.state.gating[0][-1, 0]

    # One trial per pulse amplitude, batched with vmap: the response is linear around rest.
    def peak(amplitude):
        traj = ms.circuit.simulate(
            isolated(0.5).circuit(), area_pulse(amplitude), key=jr.key(0), protocol=protocol
        )
        return jnp.max(traj.state.gating[0][:, 0]) - 10.0

    peaks = jax.jit(jax.vmap(peak))(jnp.array([2.5, 5.0]))
    np.testing.assert_allclose(float(peaks[1] / peaks[0]), 2.0, rtol=1e-4)

    with jax.enable_x64(True):
        w = jnp.asarray(24.3)
        g = jax.grad(late_rate)(w)
        eps = 1e-4
        fd = (late_rate(w + eps) - late_rate(w - eps)) / (2 * eps)
        assert np.isfinite(float(g)) and float(g) > 0
        np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)
        tau = jax.jit(slowest)
        d_tau = jax.jit(jax.grad(slowest))(jnp.asarray(0.5))
        fd = (tau(jnp.asarray(0.5 + 1e-6)) - tau(jnp.asarray(0.5 - 1e-6))) / 2e-6
        np.testing.assert_allclose(float(d_tau), float(fd), rtol=1e-5)


# ----------------------------------------------------------------------------------------
# Laminar areas: feedforward gamma, feedback alpha/low-beta (Mejias et al. 2016, Sci Adv
# 2:e1601335; Bastos et al. 2015, Neuron 85:390)
# ----------------------------------------------------------------------------------------

STIM = 15.0  # the authors' Fig. 4a microstimulation, onto L2/3 E and L5/6 E


def _stim(net, area):
    x = jnp.zeros((net.n_channels,)).at[area].set(STIM)
    return net.drive(superficial=x, deep=x)


@pytest.fixture(scope="module")
def two_areas():
    net = laminar_areas()
    return net, {
        name: directed_influence(net, drive=None if area is None else _stim(net, area))
        for name, area in (("rest", None), ("V1", 0), ("V4", 1))
    }


def test_feedforward_gamma_feedback_alpha(two_areas):
    _, di = two_areas
    d = di["V1"]  # V1 driven, as by a visual stimulus
    assert GAMMA_BAND[0] <= float(d.peak(d.granger[0, 1])) <= GAMMA_BAND[1]  # V1 -> V4: 47.5 Hz
    assert (
        ALPHA_LOW_BETA_BAND[0] <= float(d.peak(d.granger[1, 0])) <= ALPHA_LOW_BETA_BAND[1]
    )  # 9 Hz
    assert float(d.band_mean(d.dai(0, 1), GAMMA_BAND)) > 0.5  # 0.94
    assert float(d.band_mean(d.dai(0, 1), ALPHA_LOW_BETA_BAND)) < -0.5  # -0.86
    np.testing.assert_allclose(d.dai(0, 1), -d.dai(1, 0), atol=1e-6)


def test_microstimulation_ff_gamma_fb_alpha(two_areas):
    _, di = two_areas
    ratio = lambda on, area, band: float(  # noqa: E731
        di[on].band_mean(di[on].power[area], band)
        / di["rest"].band_mean(di["rest"].power[area], band)
    )
    # Driving V1 doubles V4's gamma (x1.99) and leaves its alpha (x0.95).
    assert ratio("V1", 1, GAMMA_BAND) > 1.5 > ratio("V1", 1, ALPHA_LOW_BETA_BAND)
    # Driving V4 raises V1's alpha/low-beta (x1.80) and leaves its gamma (x0.98).
    assert ratio("V4", 0, ALPHA_LOW_BETA_BAND) > 1.4 > 1.1 > ratio("V4", 0, GAMMA_BAND)


def test_no_coupling_no_influence():
    d = directed_influence(laminar_areas(G_w=0.0))
    assert float(jnp.max(jnp.abs(d.granger))) < 1e-6


def test_laminar_rules_by_kind(two_areas):
    net, _ = two_areas
    assert projection_kinds(net) == ("local",) * 10 + ("long_range",) * 5
    net2 = replace_rules(net, local=ms.synapse.BCM(), long_range=ms.synapse.Oja())
    rules = projection_rules(net2)
    assert all(isinstance(r, ms.synapse.BCM) for r in rules["local"])
    assert all(isinstance(r, ms.synapse.Oja) for r in rules["long_range"])
    built = laminar_areas(local_rule=ms.synapse.BCM(), long_range_rule=ms.synapse.Oja())
    assert jax.tree.structure(projection_rules(built)) == jax.tree.structure(rules)


def test_laminar_bad_input(two_areas):
    net, _ = two_areas
    with pytest.raises(ValueError, match="`n_areas` must be an int >= 2"):
        laminar_areas(1)
    with pytest.raises(ValueError, match="`fb_selectivity`"):
        laminar_areas(fb_selectivity=1.5)
    with pytest.raises(ValueError, match="`drive` must have shape"):
        directed_influence(net, drive=jnp.zeros(3))
    with pytest.raises(TypeError, match="LaminarColumn"):
        directed_influence(chain().circuit())
    # Unnamed populations with non-matrix weights: the kind cannot be told.
    pop = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), tau=0.01)
    ee = ms.circuit.Projection(0, 0, ms.synapse.ExponentialSynapse(0.005), ms.circuit.Uniform(0.5))
    with pytest.raises(ValueError, match="name the populations"):
        projection_kinds(ms.circuit.RateCircuit((pop,), (ee,)))


@pytest.mark.slow
def test_directed_influence_gradient():
    """d/dc of the mean gamma-band V1 -> V4 influence, c scaling the feedforward weight."""
    with jax.enable_x64(True):
        net = laminar_areas()
        drive = _stim(net, 0)
        k = projection_kinds(net).index("long_range")  # the feedforward projection

        def ff_gamma(c):
            scaled = eqx.tree_at(
                lambda n: n.circuit.projections[k].weight.W,
                net,
                c * net.circuit.projections[k].weight.W,
            )
            d = directed_influence(scaled, drive=drive)
            return d.band_mean(d.granger[0, 1], GAMMA_BAND)

        c = jnp.asarray(1.0)
        g = jax.grad(ff_gamma)(c)
        fd = (ff_gamma(c + 1e-5) - ff_gamma(c - 1e-5)) / 2e-5
        assert float(g) > 0  # a stronger feedforward projection carries more gamma
        np.testing.assert_allclose(float(g), float(fd), rtol=1e-4)


@pytest.mark.slow
def test_simulated_directed_influence_matches_the_linear_one(two_areas):
    """Noise-source ablation in simulation: the same normals with one area's set to zero."""
    net, di = two_areas
    drive = _stim(net, 0)
    dt, every = 2e-4, 5
    protocol = ms.circuit.TrialProtocol(dt=dt, t_on=0.0, t1=21.0, segment=500)
    xi = jr.normal(jr.key(0), (protocol.n_steps, net.n_units))
    area = jnp.tile(jnp.arange(2), 4)

    @jax.jit
    def signal(xi):
        noise = ms.circuit.GivenNormals(xi)
        out = ms.circuit.integrate(
            net.checked(), drive, protocol, noise, xi, ms.circuit.NoReadout(), save_every=every
        )
        r = out.saved[2][int(1.0 / (dt * every)) :]  # 1 s burn-in
        return 0.2 * r[:, 0:2] + 0.8 * r[:, 4:6]  # the recorded signal of V1, V4

    S = [
        ms.circuit.power_spectrum(signal(x).T, dt * every, segment=1000)
        for x in (
            xi,
            xi * (area != 0).astype(xi.dtype)[None],
            xi * (area != 1).astype(xi.dtype)[None],
        )
    ]
    f = S[0].freqs
    ff = jnp.log(S[0].power[1] / S[1].power[1])
    fb = jnp.log(S[0].power[0] / S[2].power[0])
    band = lambda x, b: float(jnp.mean(x[(f >= b[0]) & (f <= b[1])]))  # noqa: E731
    lin = di["V1"]
    # Simulated (20 s): ff gamma 0.25 vs linear 0.30; fb alpha 0.13 vs 0.19.
    assert band(ff, GAMMA_BAND) > 5 * band(ff, ALPHA_LOW_BETA_BAND)
    assert band(fb, ALPHA_LOW_BETA_BAND) > 5 * band(fb, GAMMA_BAND)
    np.testing.assert_allclose(
        band(ff, GAMMA_BAND), float(lin.band_mean(lin.granger[0, 1], GAMMA_BAND)), rtol=0.3
    )
    np.testing.assert_allclose(
        band(fb, ALPHA_LOW_BETA_BAND),
        float(lin.band_mean(lin.granger[1, 0], ALPHA_LOW_BETA_BAND)),
        rtol=0.4,
    )
    # The simulated power of V1's signal in alpha/low-beta matches the linear-noise one.
    p_sim = band(S[0].power[0], ALPHA_LOW_BETA_BAND)
    np.testing.assert_allclose(
        p_sim, float(lin.band_mean(lin.power[0], ALPHA_LOW_BETA_BAND)), rtol=0.15
    )


def test_docstring_examples():
    import doctest

    from multiscale.circuit import _areas, _laminar_areas

    for module in (_areas, _laminar_areas):
        assert doctest.testmod(module).failed == 0
