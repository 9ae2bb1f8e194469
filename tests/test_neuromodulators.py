"""Acetylcholine, noradrenaline and serotonin: plasticity wrapper and circuit modulation.

Checks: level 0 is the base rule (and circuit) bit for bit; the documented factors at
level > 0 for several rules (Hebb, BCM, Oja, STDP rate forms, three-factor); jit, vmap,
one compilation for a sweep of levels, and gradients with respect to the level against
central finite differences in float64; bad input raises clear errors.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.circuit as mc
import multiscale.synapse as ms
from multiscale.synapse._plasticity._neuromodulators import check_level

INF = float("inf")

MODULATORS = [ms.Acetylcholine(), ms.Noradrenaline(), ms.Serotonin()]
RULES = [
    ms.Hebb(eta=1e-3),
    ms.Oja(eta=1e-4),
    ms.BCM(eta=1e-6, tau_theta=5.0),
    ms.PairSTDP(),
    ms.pfister_visual_all_to_all_minimal(),
    ms.InhibitorySTDP(),
    ms.SynapticScaling(),
    ms.RewardModulatedHebb(eta=1e-3),
    ms.DopamineSTDP(),
]
X = [jnp.array([20.0, 1.0]), jnp.array([3.0, 12.0])]
Y = [jnp.array([3.0, 10.0, 30.0]), jnp.array([15.0, 2.0, 8.0])]


def _session(rule, state, levels=None):
    """Two steps (and, for three-factor rules, a reward and a relax after each)."""
    for k in range(2):
        kw = {} if levels is None else {"level": levels[k]}
        state = rule.step(state, X[k], Y[k], 0.5, **kw)
        if isinstance(rule, ms.AbstractThreeFactorRule) or (
            isinstance(rule, ms.Modulated) and isinstance(rule.rule, ms.AbstractThreeFactorRule)
        ):
            state = rule.reward(state, 20.0 * (-1.0) ** k)
            state = rule.relax(state, 1.0, **kw)
    return state


def _ids(objs):
    return [type(o).__name__ for o in objs]


# --------------------------------------------------------------------------- level 0


@pytest.mark.parametrize("modulator", MODULATORS, ids=_ids(MODULATORS))
@pytest.mark.parametrize("rule", RULES, ids=_ids(RULES))
def test_zero_level_is_base_rule_exactly(rule, modulator):
    w0 = jnp.array([[0.3, 0.5, 0.7], [0.6, 0.2, 0.4]])
    base = _session(rule, rule.init(w0))
    wrapped = ms.Modulated(rule, modulator)
    mod = _session(wrapped, wrapped.init(w0), levels=(0.0, 0.0))
    for a, b in zip(jax.tree.leaves(mod.base), jax.tree.leaves(base), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(mod.weights), np.asarray(base.weights))


def test_zero_level_circuit_is_unchanged():
    circuit = mc.WongWang2006()
    for modulator in MODULATORS:
        mod = mc.modulate_circuit(circuit, modulator, 0.0)
        for name in ("a", "b", "J_N11", "J_N12", "J_A_ext", "I_0", "d"):
            assert float(getattr(mod, name)) == np.float32(getattr(circuit, name)), name


# --------------------------------------------------------------------------- the factors


def _changes(rule, modulator, level, x, y, w0):
    base = rule.step(rule.init(w0), x, y, 1.0)
    wrapped = ms.Modulated(rule, modulator)
    mod = wrapped.step(wrapped.init(w0), x, y, 1.0, level=level)
    return np.asarray(base.weights - w0), np.asarray(mod.weights - w0)


def test_noradrenaline_boosts_any_rule_by_one_plus_kappa_level(float64):
    w0 = jnp.full((2, 3), 0.5)
    na = ms.Noradrenaline(learning_boost=2.0)
    for rule in (
        ms.Hebb(eta=1e-5, bounds=ms.HardBounds(-INF, INF)),
        ms.Oja(eta=1e-5),
        ms.BCM(eta=1e-7, bounds=ms.HardBounds(-INF, INF)),
        ms.PairSTDP(),
    ):
        base, mod = _changes(rule, na, 0.75, X[0], Y[0], w0)
        np.testing.assert_allclose(mod, (1 + 2.0 * 0.75) * base, rtol=1e-5, atol=1e-12)


def test_acetylcholine_enhances_active_and_suppresses_inactive_synapses():
    ach = ms.Acetylcholine(active_boost=3.0, inactive_suppression=1.0, activity_threshold=5.0)
    rule = ms.Hebb(eta=1e-5, bounds=ms.HardBounds(-INF, INF))
    base, mod = _changes(rule, ach, 0.5, jnp.array([20.0, 1.0]), Y[0], jnp.zeros((2, 3)))
    np.testing.assert_allclose(mod[0], 2.5 * base[0], rtol=1e-6)  # 1 + 3 x 0.5
    np.testing.assert_allclose(mod[1], base[1] / 1.5, rtol=1e-6)  # 1 / (1 + 1 x 0.5)


def test_serotonin_slows_and_biases_bcm_towards_depression():
    ht = ms.Serotonin(patience=1.0, ltd_bias=3.0)
    rule = ms.BCM(eta=1e-6, tau_theta=1e9, y0=10.0, bounds=ms.HardBounds(-INF, INF))
    y = jnp.array([15.0, 5.0])  # above and below theta = 10 Hz: LTP and LTD
    base, mod = _changes(rule, ht, 1.0, jnp.array([10.0]), y, jnp.zeros((1, 2)))
    assert base[0, 0] > 0 > base[0, 1]
    np.testing.assert_allclose(mod[0, 0], base[0, 0] / 2.0, rtol=1e-6)
    np.testing.assert_allclose(mod[0, 1], base[0, 1] * 4.0 / 2.0, rtol=1e-6)


def test_three_factor_relax_is_modulated_with_the_trial_rates(float64):
    rule = ms.RewardModulatedHebb(eta=1e-3, bounds=ms.HardBounds(-INF, INF))
    w0 = jnp.zeros((2, 1))
    x, y = jnp.array([20.0, 1.0]), jnp.array([25.0])
    base = rule.relax(rule.reward(rule.step(rule.init(w0), x, y, 0.5), 30.0), 5.0)
    for modulator, factor in (
        (ms.Noradrenaline(learning_boost=1.0), np.array([1.8, 1.8])),
        (ms.Acetylcholine(), np.array([1.8, 1 / 1.8])),
    ):
        wrapped = ms.Modulated(rule, modulator)
        s = wrapped.step(wrapped.init(w0), x, y, 0.5)  # level 0: the trial itself is base
        s = wrapped.relax(wrapped.reward(s, 30.0), 5.0, level=0.8)
        np.testing.assert_allclose(
            np.asarray(s.weights[:, 0]), factor * np.asarray(base.weights[:, 0]), rtol=1e-12
        )
        np.testing.assert_array_equal(np.asarray(s.base.eligibility), base.eligibility)


def test_modulated_change_respects_the_rule_bounds():
    rule = ms.Hebb(eta=1e-3, bounds=ms.HardBounds(0.0, 1.0))
    wrapped = ms.Modulated(rule, ms.Noradrenaline(learning_boost=10.0))
    s = wrapped.step(wrapped.init(jnp.full((1, 1), 0.5)), jnp.array([10.0]), jnp.array([10.0]), 1.0)
    s = wrapped.step(s, jnp.array([10.0]), jnp.array([10.0]), 1.0, level=5.0)
    assert float(s.weights[0, 0]) == 1.0


def test_modulators_compose_by_wrapping():
    rule = ms.Hebb(eta=1e-5, bounds=ms.HardBounds(-INF, INF))
    inner = ms.Modulated(rule, ms.Acetylcholine())
    outer = ms.Modulated(inner, ms.Noradrenaline(learning_boost=1.0))
    w0 = jnp.zeros((2, 1))
    s = outer.init(w0, level=1.0)
    s = eqx.tree_at(lambda t: t.base, s, inner.set_level(s.base, 1.0))
    s = outer.step(s, jnp.array([20.0, 1.0]), jnp.array([10.0]), 1.0)
    base = rule.step(rule.init(w0), jnp.array([20.0, 1.0]), jnp.array([10.0]), 1.0)
    np.testing.assert_allclose(
        np.asarray(s.weights[:, 0]),
        np.array([4.0, 1.0]) * np.asarray(base.weights[:, 0]),
        rtol=1e-6,
    )
    assert outer.bounds is rule.bounds


# --------------------------------------------------------------------------- jit, vmap, grad


def _trial_series(modulator, rule):
    wrapped = ms.Modulated(rule, modulator)
    xs = jnp.stack([jnp.array([20.0, 1.0, 8.0]), jnp.array([2.0, 15.0, 6.0])] * 3)
    ys = jnp.stack([jnp.array([15.0, 5.0]), jnp.array([4.0, 12.0])] * 3)

    def run(levels):
        def body(state, inp):
            x, y, lv = inp
            state = wrapped.step(state, x, y, 0.5, level=lv)
            return state, state.weights

        state0 = wrapped.init(jnp.full((3, 2), 0.5, levels.dtype))
        return jax.lax.scan(body, state0, (xs, ys, levels))

    return run


@pytest.mark.parametrize("modulator", MODULATORS, ids=_ids(MODULATORS))
def test_jit_vmap_and_one_compilation_for_a_sweep(modulator):
    rule = ms.BCM(eta=1e-6, tau_theta=5.0, bounds=ms.HardBounds(-INF, INF))
    run = jax.jit(eqx.debug.assert_max_traces(_trial_series(modulator, rule), max_traces=1))
    levels = jnp.linspace(0.0, 2.0, 6)
    outs = [run(scale * levels) for scale in (0.5, 1.0, 3.0)]  # one compilation
    state, ws = outs[1]
    # State dtype and shape are stable across steps (scan would fail otherwise).
    assert ws.shape == (6, 3, 2) and ws.dtype == jnp.float32
    assert state.level.dtype == jnp.float32 and state.pre_rate.shape == (3,)
    assert not np.allclose(outs[0][1], outs[2][1])
    batch = jax.jit(jax.vmap(lambda lv: _trial_series(modulator, rule)(lv)[1]))(
        jnp.stack([0.5 * levels, 3.0 * levels])
    )
    np.testing.assert_allclose(batch[0], outs[0][1], rtol=1e-6)
    np.testing.assert_allclose(batch[1], outs[2][1], rtol=1e-6)


@pytest.mark.parametrize("modulator", MODULATORS, ids=_ids(MODULATORS))
def test_grad_wrt_level_matches_finite_differences(modulator, float64):
    # Unrolled and eager (no compilation): three trials whose changes straddle the
    # activity threshold (ACh) and the BCM threshold (LTP and LTD, 5-HT).
    wrapped = ms.Modulated(
        ms.BCM(eta=1e-4, tau_theta=5.0, bounds=ms.HardBounds(-INF, INF)), modulator
    )
    xs = [jnp.array([20.0, 1.0, 8.0]), jnp.array([2.0, 15.0, 6.0]), jnp.array([9.0, 3.0, 30.0])]
    ys = [jnp.array([15.0, 5.0]), jnp.array([4.0, 12.0]), jnp.array([11.0, 7.0])]
    probe = jnp.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]])

    def loss(level):
        state = wrapped.init(jnp.full((3, 2), 0.5))
        for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
            state = wrapped.step(state, x, y, 0.5, level=level * (0.5 + 0.5 * k))
        return jnp.sum(state.weights**2) + jnp.sum(probe * state.weights)

    eps = 1e-6
    for level in (0.0, 0.7):
        g = float(jax.grad(loss)(jnp.asarray(level)))
        if level:
            fd = (loss(level + eps) - loss(level - eps)) / (2 * eps)
        else:  # one-sided at the boundary of the admissible levels
            fd = (loss(level + eps) - loss(level)) / eps
        np.testing.assert_allclose(g, float(fd), rtol=1e-5 if level else 1e-4)
        assert g != 0.0


def test_three_factor_grad_wrt_surprise_level(float64):
    rule = ms.RewardModulatedHebb(eta=1e-3)
    wrapped = ms.Modulated(rule, ms.Noradrenaline(learning_boost=2.0))

    def final_weight(level):
        s = wrapped.step(
            wrapped.init(jnp.full((1, 1), 0.5)), jnp.array([20.0]), jnp.array([20.0]), 0.5
        )
        s = wrapped.relax(wrapped.reward(s, 10.0), 5.0, level=level)
        return s.weights[0, 0]

    g = jax.grad(final_weight)(0.3)
    fd = (final_weight(0.3 + 1e-6) - final_weight(0.3 - 1e-6)) / 2e-6
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)


def test_circuit_trial_grad_wrt_level(float64):
    # Acetylcholine and noradrenaline at one level, so one compilation checks both paths.
    stim = mc.Stimulus(coherence=0.1)
    protocol = mc.TrialProtocol(dt=1e-3, t_on=0.02, t1=0.1, segment=50)
    key = jr.key(0)

    def final_S(level):
        c = mc.modulate_circuit(mc.WongWang2006(), ms.Acetylcholine(), level)
        c = mc.modulate_circuit(c, ms.Noradrenaline(), level)
        tr = mc.simulate(c, stim, key=key, protocol=protocol, save_every=0)
        return tr.S[-1, 0] - tr.S[-1, 1]

    g = jax.jit(jax.grad(final_S))(0.5)
    f = jax.jit(final_S)
    fd = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)
    assert abs(float(g)) > 0


# --------------------------------------------------------------------------- circuit


def test_circuit_effects():
    circuit = mc.WongWang2006()
    na = mc.modulate_circuit(circuit, ms.Noradrenaline(gain=0.1), 1.0)
    np.testing.assert_allclose(float(na.a), 297.0, rtol=1e-6)
    # The rate at the pivot (spontaneous state current) is unchanged; slopes scale by 1.1.
    x = jnp.asarray(0.34718)
    np.testing.assert_allclose(float(na.rate(x)), float(circuit.rate(x)), rtol=1e-6)
    u_pivot = float(circuit.a) * 0.34718 - float(circuit.b)
    u1 = float(na.a) * 0.45 - float(na.b)
    np.testing.assert_allclose(u1 - u_pivot, 1.1 * float(circuit.a) * (0.45 - 0.34718), rtol=1e-5)
    ach = mc.modulate_circuit(
        circuit, ms.Acetylcholine(afferent_gain=0.5, recurrent_suppression=0.25), 2.0
    )
    np.testing.assert_allclose(float(ach.J_A_ext), 2.0 * 5.2e-4, rtol=1e-6)
    np.testing.assert_allclose(float(ach.J_N11), 0.2609 / 1.5, rtol=1e-6)
    np.testing.assert_allclose(float(ach.J_N12), 0.0497 / 1.5, rtol=1e-6)
    assert float(ach.a) == 270.0
    ht = mc.modulate_circuit(circuit, ms.Serotonin(), 3.0)
    for name in ("a", "b", "J_N11", "J_N12", "J_A_ext"):
        assert float(getattr(ht, name)) == np.float32(getattr(circuit, name))
    # Traced levels: one compiled function for every level.
    f = jax.jit(
        eqx.debug.assert_max_traces(
            lambda lv: mc.modulate_circuit(circuit, ms.Noradrenaline(), lv).a, max_traces=1
        )
    )
    assert float(f(0.0)) == 270.0 and float(f(1.0)) > 270.0


# --------------------------------------------------------------------------- errors


def test_bad_levels_raise():
    wrapped = ms.Modulated(ms.Hebb(), ms.Acetylcholine())
    state = wrapped.init(jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="level"):
        wrapped.init(jnp.zeros((2, 3)), level=-0.1)
    with pytest.raises(ValueError, match="level"):
        wrapped.step(state, X[0], Y[0], 1.0, level=float("nan"))
    # A non-scalar level: ValueError from the check, or TypeError from the runtime
    # jaxtyping check of the annotation when that is on (as in this test suite).
    with pytest.raises((ValueError, TypeError), match="level"):
        wrapped.set_level(state, jnp.ones(2))
    with pytest.raises(ValueError, match="scalar"):
        check_level(jnp.ones(2), jnp.float32)
    with pytest.raises(ValueError, match="level"):
        ms.Noradrenaline().effect(-1.0)
    with pytest.raises(ValueError, match="level"):
        mc.modulate_circuit(mc.WongWang2006(), ms.Acetylcholine(), -1.0)
    jitted = jax.jit(lambda lv: wrapped.step(state, X[0], Y[0], 1.0, level=lv).weights)
    # Inside jit the check is an eqx.error_if (raised through the XLA runtime).
    with pytest.raises((eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError), match="level"):
        jitted(jnp.asarray(-1.0)).block_until_ready()


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="active_boost"):
        ms.Acetylcholine(active_boost=-1.0)
    with pytest.raises(ValueError, match="gain"):
        ms.Noradrenaline(gain=float("nan"))
    with pytest.raises(ValueError, match="patience"):
        ms.Serotonin(patience=-0.5)
    with pytest.raises(TypeError, match="modulator"):
        ms.Modulated(ms.Hebb(), "acetylcholine")
    with pytest.raises(TypeError, match="rule"):
        ms.Modulated(ms.Acetylcholine(), ms.Acetylcholine())
    wrapped = ms.Modulated(ms.Hebb(), ms.Noradrenaline())
    state = wrapped.init(jnp.zeros((2, 3)))
    # relax is part of every rule's interface: a Hebb rule holds its weights without activity.
    np.testing.assert_array_equal(np.asarray(wrapped.relax(state, 1.0).weights), 0.0)
    with pytest.raises(TypeError, match="three-factor"):
        wrapped.reward(state, 1.0)
    with pytest.raises((ValueError, TypeError), match="pre_rate"):
        wrapped.step(state, jnp.ones(3), Y[0], 1.0)
    with pytest.raises(TypeError, match="modulator"):
        mc.modulate_circuit(mc.WongWang2006(), ms.Hebb(), 1.0)
    with pytest.raises(TypeError, match="circuit"):
        mc.modulate_circuit(ms.Hebb(), ms.Noradrenaline(), 1.0)


def test_with_weights_reaches_through_wrapped_states():
    """Sessions gate and mask weights with ``with_weights``; it must work on wrapped rules."""
    rule = ms.Modulated(ms.Modulated(ms.Hebb(eta=1e-3), ms.Acetylcholine()), ms.Noradrenaline())
    state = rule.init(jnp.zeros((3, 2)))
    new = ms.with_weights(state, jnp.ones((3, 2)))
    np.testing.assert_array_equal(np.asarray(new.weights), np.ones((3, 2)))
    assert isinstance(new.base.base, type(state.base.base))
