"""Tests of the decision readouts, summaries, psychometric fits and the synapse-to-behavior link."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
from multiscale.validation._behavior_psychophysics import behavior_comparisons

DT = 5e-4
P05 = mc.TrialProtocol(dt=DT, t_on=0.5)  # 0.5 ms steps, stimulus on from 0.5 s


def _ramp(t_cross_1, slope=20.0, n=2000):
    """Rates: population 1 ramps through 15 Hz at ``t_cross_1``; population 2 stays at 2 Hz."""
    ts = jnp.arange(n, dtype=jnp.float32) * DT
    r1 = 15.0 + slope * (ts + DT - t_cross_1)
    return ts, jnp.stack([r1, jnp.full_like(ts, 2.0)], axis=-1)


def test_threshold_crossing_time_and_choice():
    ts, r = _ramp(0.7)
    trace = mb.apply_readout(mb.ThresholdReadout(window=0.0), ts, r, protocol=P05)
    d = trace.result
    assert int(d.choice) == 0 and bool(d.correct) and bool(d.decided)
    assert float(d.decision_time) == pytest.approx(0.2, abs=DT)
    assert float(d.rt) == pytest.approx(0.3, abs=DT)
    assert int(jnp.sum(trace.per_step)) == 1


def test_boxcar_delays_crossing_by_half_window():
    ts, r = _ramp(0.7)
    d = mb.apply_readout(mb.ThresholdReadout(window=0.05), ts, r, protocol=P05).result
    # A linear ramp averaged over 50 ms lags by 25 ms.
    assert float(d.decision_time) == pytest.approx(0.225, abs=2 * DT)


def test_pre_stimulus_crossing_ignored_and_undecided_flagged():
    ts = jnp.arange(1000, dtype=jnp.float32) * DT
    r = jnp.stack([jnp.where(ts < 0.2, 30.0, 2.0), jnp.full_like(ts, 2.0)], axis=-1)
    d = mb.apply_readout(
        mb.ThresholdReadout(window=0.0), ts, r, protocol=mc.TrialProtocol(dt=DT, t_on=0.3)
    ).result
    assert int(d.choice) == -1 and not bool(d.decided)
    assert bool(jnp.isnan(d.decision_time)) and bool(jnp.isnan(d.rt))


def test_soft_readout_probabilities_sum_to_one():
    ts, r = _ramp(0.7, slope=5.0)
    trace = mb.apply_readout(mb.HazardReadout(), ts, r, protocol=P05)
    s = trace.result
    total = float(jnp.sum(s.p_choice) + s.p_undecided)
    assert total == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(
        np.asarray(jnp.sum(trace.per_step, 0)), np.asarray(s.p_choice), rtol=1e-6
    )


def test_soft_readout_converges_to_hard_readout(key):
    traj = mc.simulate(
        mc.WongWang2006(), mc.Stimulus(coherence=0.064), key=key, readout=mb.ThresholdReadout()
    )
    hard = mb.apply_readout(mb.ThresholdReadout(), traj.ts, traj.r, protocol=P05).result
    assert bool(hard.decided)
    # The readout run inside the scan and over the saved trajectory agree (same running
    # sums; the step's end time may differ by one rounding of k * dt + dt).
    assert int(traj.readout.choice) == int(hard.choice)
    assert float(traj.readout.decision_time) == pytest.approx(float(hard.decision_time), abs=1e-6)
    errors = []
    for T in (1.0, 0.3, 0.1, 0.01, 0.001):
        soft = mb.apply_readout(
            mb.HazardReadout(temperature=T, rate=1e5), traj.ts, traj.r, protocol=P05
        ).result
        p_wrong = 1.0 - float(soft.p_choice[hard.choice])
        dt_error = abs(float(soft.mean_decision_time[hard.choice] - hard.decision_time))
        errors.append((p_wrong, dt_error))
    p_wrong, dt_error = np.asarray(errors).T
    # The smoothed rate moves ~0.01 Hz per step, so T must fall below that to resolve the
    # step of the crossing; the soft event time is then the step's midpoint (DT/2 early).
    assert np.all(np.diff(dt_error) <= 1e-6) and dt_error[-1] <= DT / 2 + 1e-5
    assert p_wrong[-1] < 1e-5 and p_wrong[-1] <= p_wrong.min() + 1e-5, p_wrong


def test_summary_counts_undecided_and_quantiles():
    choice = jnp.asarray([[0, 0, 1, -1], [0, 1, 1, 1]])
    rt = jnp.asarray([[0.5, 0.7, 0.9, jnp.nan], [0.4, 0.6, 0.8, 1.0]])
    d = mb.Decision(choice=choice, decision_time=rt - 0.1, rt=rt)
    s = mb.summarize(d, jnp.asarray([0.1, 0.2]))
    np.testing.assert_allclose(np.asarray(s.n_decided), [3, 4])
    np.testing.assert_allclose(np.asarray(s.p_undecided), [0.25, 0.0])
    np.testing.assert_allclose(np.asarray(s.p_correct), [2 / 3, 1 / 4])
    np.testing.assert_allclose(np.asarray(s.mean_rt_correct), [0.6, 0.4])
    np.testing.assert_allclose(np.asarray(s.mean_rt_error), [0.9, 0.8], rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(s.rt_quantiles_error[1]),
        np.quantile([0.6, 0.8, 1.0], [0.1, 0.3, 0.5, 0.7, 0.9]),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="coherences"):
        mb.summarize(d, jnp.asarray([0.1, 0.2, 0.3]))


def test_weibull_and_logistic_fits_recover_parameters():
    c = jnp.asarray([0.0, 0.032, 0.064, 0.128, 0.256, 0.512])
    n = jnp.full((6,), 1e5)
    true = mb.WeibullFit(jnp.asarray(0.072), jnp.asarray(1.25), jnp.asarray(0.0))
    fit = mb.fit_weibull(c, true(c) * n, n)
    assert float(fit.alpha) == pytest.approx(0.072, rel=1e-3)
    assert float(fit.beta) == pytest.approx(1.25, rel=1e-3)
    logistic = mb.LogisticFit(jnp.asarray(0.0), jnp.asarray(20.0), jnp.asarray(0.0))
    lfit = mb.fit_logistic(c, logistic(c) * n, n)
    assert float(lfit.slope) == pytest.approx(20.0, rel=1e-3)
    assert abs(float(lfit.bias)) < 1e-3


def test_behavior_target_ordinal_claims_fast():
    """Validation target 10 with 600 trials per coherence (the full run is a slow target)."""
    comparisons, exp = behavior_comparisons(600, seed=1)
    failed = [(c.name, c.measured) for c in comparisons if not c.passed]
    assert not failed, failed
    chrono = mb.chronometric(exp.summary)
    assert chrono.mean_rt_correct.shape == (6,)


def _nmda_manipulations(key, n_trials):
    base = mc.WongWang2006()
    weaker = eqx.tree_at(lambda c: (c.J_N11, c.J_N12), base, (0.2609 * 0.97, 0.0497 * 0.97))
    faster = eqx.tree_at(lambda c: c.nmda.tau_decay, base, 0.09)
    runs = {
        n: mb.psychophysics(c, key=key, n_trials=n_trials)
        for n, c in (("base", base), ("weaker", weaker), ("faster", faster))
    }
    rt = {n: np.asarray(r.summary.mean_rt_correct) for n, r in runs.items()}
    alpha = {n: float(r.weibull.alpha) for n, r in runs.items()}
    return rt, alpha


def test_nmda_manipulations_slow_decisions(key):
    # Less NMDA (weaker recurrence J_N, or faster decay tau_decay of the synapse model)
    # slows decisions at every coherence (common random numbers across circuits).
    rt, _ = _nmda_manipulations(key, 80)
    for n in ("weaker", "faster"):
        assert np.all(rt[n] > rt["base"]), (n, rt[n], rt["base"])


@pytest.mark.slow
def test_nmda_manipulations_change_psychometric_threshold(key):
    rt, alpha = _nmda_manipulations(key, 1500)
    for n in ("weaker", "faster"):
        assert np.all(rt[n] > rt["base"]), (n, rt[n], rt["base"])
        # Slower integration trades speed for accuracy: the threshold falls.
        assert alpha[n] < alpha["base"] - 0.003, alpha


def test_gradient_of_rt_and_accuracy_wrt_nmda_rate_constant(float64, key):
    keys = jr.split(key, 4)
    stim = mc.Stimulus(coherence=0.128)
    protocol = mc.TrialProtocol(t_on=0.1, t1=1.1, segment=100)
    readout = mb.HazardReadout(temperature=0.5)

    def behavior(alpha):
        c = eqx.tree_at(lambda m: m.nmda.alpha, mc.WongWang2006(), alpha)
        run = lambda k: (
            mc.simulate(c, stim, key=k, protocol=protocol, readout=readout, save_every=0).readout
        )
        soft = jax.vmap(run)(keys)
        return jnp.stack([jnp.mean(soft.expected_rt), jnp.mean(soft.p_correct)])

    x = jnp.asarray(500.0)
    jac = jax.jit(jax.jacrev(behavior))(x)
    h = 1e-2
    up, down = jax.jit(jax.vmap(behavior))(jnp.stack([x + h, x - h]))
    fd = (up - down) / (2 * h)
    assert np.all(np.isfinite(np.asarray(jac)))
    np.testing.assert_allclose(np.asarray(jac), np.asarray(fd), rtol=1e-4, atol=1e-9)
    # Faster NMDA saturation (larger alpha, larger gamma) speeds decisions.
    assert float(jac[0]) < 0


def test_expected_rt_gradient_finite_when_the_losing_choice_underflows(key):
    """At 51.2 % the wrong choice's mass underflows in float32; the gradients stay finite.

    Regression: mean_decision_time divided the moment by that mass, and the quotient's
    gradient (moment / mass**2) overflowed, so d(expected RT) was NaN (float32).
    """
    readout = mb.HazardReadout()

    def trial(alpha):
        c = eqx.tree_at(lambda m: m.nmda.alpha, mc.WongWang2006(), alpha)
        stim = mc.Stimulus(coherence=0.512)
        protocol = mc.TrialProtocol(t_on=0.1, t1=1.2)
        return mc.simulate(
            c, stim, key=key, protocol=protocol, readout=readout, save_every=0
        ).readout

    alpha = jnp.asarray(500.0, jnp.float32)
    res = jax.jit(trial)(alpha)
    assert float(res.p_choice[1]) < 1e-19  # the case this test is about
    assert np.isnan(float(res.mean_decision_time[1]))
    for stat in (lambda r: r.expected_rt, lambda r: r.mean_decision_time[0]):
        g = jax.jit(jax.grad(lambda a, s=stat: s(trial(a))))(alpha)
        assert np.isfinite(float(g)) and float(g) != 0.0
