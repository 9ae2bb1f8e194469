"""Neuromodulator kinetics, release timing and CARLsim 6's modulated STDP.

CARLsim's rule (Niedermeier et al. 2022) is checked against a direct millisecond loop
of its documented update scheme; the timing rule against a fine Euler integration of
its equations and the ordinal result of Brzosko et al. 2015 (eLife 4:e09685).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
import multiscale.population as mp
import multiscale.synapse as ms

ONE = jnp.array([10.0])


def test_kinetics_tonic_release_and_clearance():
    k = ms.NoradrenalineKinetics(tonic=0.3, tau=0.5)
    t = jnp.array([0.0, 0.5, 1.0, 1.5])
    m = np.asarray(k.concentration(t, jnp.array([0.0, 1.0]), jnp.array([2.0, 1.0]), level=0.2))
    e = np.exp(-1.0)
    expected = 0.5 + np.array([2.0, 2 * e, 2 * e**2 + 1.0, 2 * e**3 + e])
    np.testing.assert_allclose(m, expected, rtol=1e-6)
    np.testing.assert_allclose(float(k.decay(2.0, 0.5)), 2 * e, rtol=1e-6)
    # Which signals each modulator takes as a release, and which as a held level.
    sig = ms.ModulatorSignals(dopamine=3.0, acetylcholine=0.4, noradrenaline=0.5, serotonin=0.6)
    got = [
        (float(c().released(sig)), float(c().held_level(sig)))
        for c in (
            ms.DopamineKinetics,
            ms.AcetylcholineKinetics,
            ms.NoradrenalineKinetics,
            ms.SerotoninKinetics,
        )
    ]
    np.testing.assert_allclose(got, [(3.0, 0.0), (0.0, 0.4), (0.0, 0.5), (0.0, 0.6)], rtol=1e-7)


def _euler(rule, epochs, dt=5e-4):
    """Fine Euler integration of ModulatedEligibility's ODEs over (kind, value) epochs."""
    w, c = 0.5, 0.0
    p = np.zeros(4)
    taus = np.array([k.tau for k in rule.kinetics])
    gains = np.asarray(rule.gains)
    for kind, value in epochs:
        if kind == "release":
            p = p + np.asarray(value)
            continue
        duration, H = value
        for _ in range(int(round(duration / dt))):
            w += dt * (-rule.rho * H + np.sum(gains * p) * c)
            c += dt * (-c / rule.tau_c + H)
            p = p - dt * p / taus
    return w


def test_timing_rule_matches_its_equations_and_the_timing_result(float64):
    rule = ms.ModulatedEligibility(bounds=ms.HardBounds(-1.0, 2.0))
    H = float(rule.eta) * 100.0
    for delay in (0.0, 0.7, 3.0):
        s = rule.init(jnp.full((1, 1), 0.5))
        s = rule.relax(rule.step(s, ONE, ONE, 1.0), delay)
        s = rule.relax(rule.release(s, jnp.array([8.0, 0.0, 0.0, 0.0])), 6.0)
        ref = _euler(
            rule,
            [
                ("run", (1.0, H)),
                ("run", (delay, 0.0)),
                ("release", [8.0, 0, 0, 0]),
                ("run", (6.0, 0.0)),
            ],
        )
        np.testing.assert_allclose(float(s.weights[0, 0]), ref, rtol=5e-3, atol=1e-6)
    # Brzosko et al. 2015: dopamine soon after pairing -> LTP; late or before -> LTD.
    s = rule.step(rule.init(jnp.full((1, 1), 0.5)), ONE, ONE, 1.0)
    burst = ms.ModulatorSignals(dopamine=10.0)
    soon = rule.relax(rule.signal(s, burst), 20.0).weights[0, 0] - 0.5
    late = rule.relax(rule.signal(rule.relax(s, 5.0), burst), 20.0).weights[0, 0] - 0.5
    first = rule.relax(rule.signal(rule.init(jnp.full((1, 1), 0.5)), burst), 2.0)
    before = rule.relax(rule.step(first, ONE, ONE, 1.0), 20.0).weights[0, 0] - 0.5
    assert soon > 0 > late and before < 0, (soon, late, before)
    # He et al. 2015 directions: NE converts traces into LTP, 5-HT into LTD (vs none).
    none = rule.relax(s, 20.0).weights[0, 0]
    ne = rule.relax(rule.release(s, jnp.array([0.0, 10.0, 0.0, 0.0])), 20.0).weights[0, 0]
    sht = rule.relax(rule.release(s, jnp.array([0.0, 0.0, 10.0, 0.0])), 20.0).weights[0, 0]
    assert ne > none > sht


def _carlsim_loop(rule, h, release_at, amount, t_act, t_total, dt=1e-3):
    """CARLsim's scheme step by step: c += h dt; M decays by (1 - dt/tau); every T_u,
    w += s M c and c *= d (M = baseline + phasic)."""
    n_u = int(round(float(rule.update_interval) / dt))
    w, c, p = 0.0, 0.0, 0.0
    tau, base = float(rule.modulator.tau), float(rule.modulator.tonic)
    for i in range(1, int(round(t_total / dt)) + 1):
        if i - 1 == int(round(release_at / dt)):
            p += amount
        if (i - 1) * dt < t_act - 1e-12:
            c += h * dt
        p *= 1.0 - dt / tau
        if i % n_u == 0:
            w += float(rule.scale) * (base + p) * c
            c *= float(rule.decay)
    return w


@pytest.mark.parametrize(
    "rule",
    [
        ms.CarlsimSTDP(bounds=ms.HardBounds(-10.0, 10.0)),
        ms.carlsim_stdp(100, decay=0.95, bounds=ms.HardBounds(-10.0, 10.0)),
        ms.carlsim_stdp(10, bounds=ms.HardBounds(-10.0, 10.0)),
    ],
    ids=["constructor", "100ms-d0.95", "10ms"],
)
def test_carlsim_rule_matches_its_update_loop(rule, float64):
    """Closed-form steps (split at a dopamine release, at off-grid times) = the ms loop."""
    x, y = jnp.array([20.0]), jnp.array([15.0])
    h = float(rule.eligibility_rate(x, y)[0, 0])
    s = rule.init(jnp.zeros((1, 1)))
    s = rule.step(s, x, y, 0.537)
    s = rule.release(s, 20.0)
    s = rule.step(s, x, y, 1.25 - 0.537)
    s = rule.relax(s, 4.0 - 1.25)
    ref = _carlsim_loop(rule, h, 0.537, 20.0, 1.25, 4.0)
    np.testing.assert_allclose(float(s.weights[0, 0]), ref, rtol=1e-9, atol=1e-15)


def test_pka_plc_rule_reshapes_the_window_as_the_documented_table():
    """CARLsim's PKA/PLC table (A+ = 0.08, A- = -0.12): at the baselines (1, 1) the
    amplitudes are A+, A-; rows (1.4, 1.4) and (1.25, 0.75) set by session levels over
    zero tonic levels; the drift uses those amplitudes."""
    rule = ms.PkaPlcSTDP(A_plus=0.08, A_minus=-0.12, bounds=ms.HardBounds(-10.0, 10.0))
    base = [float(a) for a in rule.amplitudes(rule.init(jnp.zeros((1, 1))))]
    np.testing.assert_allclose(base, [0.08, -0.12], rtol=1e-6)
    rule = eqx.tree_at(
        lambda m: (m.noradrenaline, m.acetylcholine),
        rule,
        (ms.NoradrenalineKinetics(tonic=0.0), ms.AcetylcholineKinetics(tonic=0.0)),
    )
    x, y = jnp.array([20.0]), jnp.array([10.0])
    r = lambda rate: 0.02 * rate / (1.0 + 0.02 * rate)  # nearest-spike mean trace  # noqa: E731
    changes = {}
    for ne, ach, a_p, a_m in ((1.4, 1.4, 0.112, -0.168), (1.25, 0.75, 0.14, -0.03)):
        sig = ms.ModulatorSignals(noradrenaline=ne, acetylcholine=ach)
        s = rule.signal(rule.init(jnp.zeros((1, 1))), sig)
        np.testing.assert_allclose([float(a) for a in rule.amplitudes(s)], [a_p, a_m], rtol=1e-5)
        dw = float(rule.step(s, x, y, 2.0).weights[0, 0])
        expected = 2.0 * (10.0 * a_p * r(20.0) + 20.0 * a_m * r(10.0))
        np.testing.assert_allclose(dw, expected, rtol=1e-5)
        changes[(ne, ach)] = dw
    # Noradrenaline over acetylcholine pushes towards potentiation.
    assert changes[(1.25, 0.75)] > 0 > changes[(1.4, 1.4)]
    with pytest.raises(ValueError, match="A_minus"):
        ms.PkaPlcSTDP(A_minus=0.1)


@pytest.mark.slow
def test_carlsim_in_a_session_dopamine_from_the_outcome_acts():
    """DA_MOD as the Learner's rule: the outcome's dopamine burst changes what is learned."""
    rule = ms.carlsim_stdp(100, decay=0.95, bounds=ms.HardBounds(0.0, 1.0))
    learner = mp.Learner(rule=rule)
    protocol = mc.TrialProtocol(dt=1e-3, t_on=0.05, t1=0.4)

    @jax.jit
    def run(scale):
        task = mp.Task(jnp.array([1.0, -1.0, 1.0]), 0.3, dopamine_scale=jnp.full(3, scale))
        return mp.run_session(
            learner, task, key=jr.key(2), readout=mb.ThresholdReadout(), protocol=protocol
        )

    res = jax.vmap(run)(jnp.array([0.0, 1.0]))
    w = np.asarray(res.weights[:, -1])
    assert np.abs(w[0] - 0.5).max() > 1e-6  # baseline M = 1 already learns (STANDARD)
    assert np.abs(w[1] - w[0]).max() > 1e-6  # the burst (or dip) changes it


def test_bad_input_raises():
    with pytest.raises(ValueError, match="tau"):
        ms.DopamineKinetics(tau=-0.1)
    with pytest.raises(ValueError, match="tonic"):
        ms.SerotoninKinetics(tonic=-1.0)
    with pytest.raises(ValueError, match="A_minus"):
        ms.CarlsimSTDP(A_minus=0.001)
    with pytest.raises(ValueError, match="decay"):
        ms.CarlsimSTDP(decay=1.0)
    with pytest.raises(ValueError, match="modulator.tau"):
        ms.CarlsimSTDP(modulator=ms.DopamineKinetics(1.0, 5e-4))
    with pytest.raises(ValueError, match="update_interval_ms"):
        ms.carlsim_stdp(50)
    with pytest.raises(TypeError, match="modulator"):
        ms.CarlsimSTDP(modulator=ms.Acetylcholine())
    with pytest.raises(ValueError, match="gains"):
        ms.ModulatedEligibility(gains=np.ones(3))
    with pytest.raises(TypeError, match="kinetics"):
        ms.ModulatedEligibility(kinetics=ms.DopamineKinetics())
    with pytest.raises(ValueError, match="tau_c"):
        ms.ModulatedEligibility(tau_c=0.0)
    rule = ms.ModulatedEligibility()
    with pytest.raises(ValueError, match="amounts"):
        rule.release(rule.init(jnp.zeros((1, 1))), jnp.ones(3))
    with pytest.raises(Exception, match="noradrenaline"):
        ms.pka_plc_amplitudes(-1.0, 0.5)
    # Negative time constants set after construction raise under jit, naming the field.
    bad = eqx.tree_at(lambda r: r.kinetics[0].tau, rule, jnp.asarray(-0.2))
    s = bad.init(jnp.full((1, 1), 0.5))
    relax = eqx.filter_jit(lambda r, st, d: r.relax(st, d).weights)
    with pytest.raises(Exception, match="DopamineKinetics `tau`"):
        relax(bad, s, 1.0).block_until_ready()
    bad_c = eqx.tree_at(lambda r: r.modulator.tau, ms.CarlsimSTDP(), jnp.asarray(-0.1))
    with pytest.raises(Exception, match="tau"):
        relax(bad_c, bad_c.init(jnp.zeros((1, 1))), 2.0).block_until_ready()
    with pytest.raises(Exception, match="duration"):
        relax(rule, s, -1.0).block_until_ready()


@pytest.mark.slow
def test_reward_delay_decides_the_sign_in_a_session():
    """ModulatedEligibility as the Learner's rule: the outcome's dopamine comes
    ``reward_delay`` after the trial; soon it converts the trial's trace (weights of the
    active inputs grow on rewarded trials), late it finds none and the pairings depress."""
    rule = ms.ModulatedEligibility(eta=1e-5)
    learner = mp.Learner(rule=rule)
    task = mp.Task(jnp.array([1.0, 1.0, -1.0, 1.0]), 0.5)
    kw = dict(key=jr.key(3), readout=mb.ThresholdReadout(), iti=10.0)
    soon = mp.run_session(learner, task, reward_delay=0.0, **kw)
    late = mp.run_session(learner, task, reward_delay=8.0, **kw)

    def per_trial(res):  # mean weight change of each trial
        w = np.concatenate([np.full((1, 4, 2), 0.5), np.asarray(res.weights)])
        return np.diff(w, axis=0).mean((1, 2))

    rewarded = np.asarray(soon.reward) == 1
    assert rewarded.any() and (~rewarded).any()
    # Soon: a burst converts the trace (LTP), a dip deepens the depression.
    assert np.all(per_trial(soon)[rewarded] > 0) and np.all(per_trial(soon)[~rewarded] < 0)
    # Late: whatever the outcome, the trace is gone and the pairing's depression remains.
    assert np.all(per_trial(late) < 0)
