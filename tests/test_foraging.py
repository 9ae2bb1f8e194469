"""Dynamic foraging: baited task, binary-synapse rule, choice objects, matching analysis.

Soltani & Wang 2006 (J Neurosci 26:3731) on the task of Sugrue et al. 2004.
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

# One compiled program per task length and forager structure, shared by the tests (the
# fixed policy's probability is an array, so different policies reuse it).
_run = eqx.filter_jit(mp.run_foraging)


def _fixed(p_a):
    return mp.Forager(choice=mp.FixedChoice(jnp.asarray(p_a)))


# --- the rule ---------------------------------------------------------------------------


def test_rule_update_equations():
    rule = ms.StochasticBinarySynapses(q_plus=0.2, q_minus=0.1)
    s = rule.init(jnp.array([0.4, 0.7]))
    # Rewarded choice of A: c_A += q+ (1 - c_A); B untouched.
    np.testing.assert_allclose(rule.step(s, 0, 1.0).c, [0.4 + 0.2 * 0.6, 0.7], rtol=1e-6)
    # Unrewarded choice of B: c_B -= q- c_B; A untouched.
    np.testing.assert_allclose(rule.step(s, 1, 0.0).c, [0.4, 0.7 - 0.1 * 0.7], rtol=1e-6)
    # Undecided: nothing changes, whatever the reward.
    np.testing.assert_array_equal(rule.step(s, -1, 1.0).c, s.c)
    # A fractional reward gives the expected update.
    half = rule.step(s, 0, 0.5).c[0]
    expected = 0.5 * (0.4 + 0.2 * 0.6) + 0.5 * (0.4 - 0.1 * 0.4)
    np.testing.assert_allclose(half, expected, rtol=1e-6)


def test_rule_unchosen_variant():
    rule = ms.StochasticBinarySynapses(q_plus=0.2, q_minus=0.1, g_unchosen=0.5)
    s = rule.init(jnp.array([0.4, 0.7]))
    # Rewarded A: the unchosen B synapses depress with g q+.
    np.testing.assert_allclose(rule.step(s, 0, 1.0).c[1], 0.7 - 0.5 * 0.2 * 0.7, rtol=1e-6)
    # Unrewarded A: the unchosen B synapses potentiate with g q-.
    np.testing.assert_allclose(rule.step(s, 0, 0.0).c[1], 0.7 + 0.5 * 0.1 * 0.3, rtol=1e-6)


def test_rule_steady_state_is_the_return(float64):
    # q+ = q-, g = 0: c* = R whatever the choice probabilities.
    rule = ms.StochasticBinarySynapses(q_plus=0.1, q_minus=0.1)
    R = jnp.array([0.3, 0.2])
    np.testing.assert_allclose(rule.steady_state(jnp.array([0.7, 0.3]), R), R, rtol=1e-12)
    # General case: the expected update leaves the fixed point unchanged.
    rule = ms.StochasticBinarySynapses(q_plus=0.15, q_minus=0.05, g_unchosen=0.3)
    P = jnp.array([0.6, 0.4])
    c = ms.BinarySynapseState(rule.steady_state(P, R))
    expected = sum(P[i] * rule.step(c, i, R[i]).c for i in range(2))
    np.testing.assert_allclose(expected, c.c, rtol=1e-12)
    assert not np.allclose(c.c, R)


# --- the task ---------------------------------------------------------------------------


def test_baiting_semantics():
    # Always choose A: B is armed at some trial and stays armed, never collected.
    task = mp.block_task([(3, 1)], [400], total=0.4)
    res = _run(_fixed(1.0), task, key=jr.key(0))
    armed_b = np.asarray(res.armed[:, 1])
    first = int(np.argmax(armed_b))
    assert first < 100 and np.all(armed_b[first:])
    assert np.all(np.asarray(res.choice) == 0)
    # A reward is collected exactly when the chosen target was armed.
    np.testing.assert_array_equal(np.asarray(res.reward) == 1, np.asarray(res.armed[:, 0]))
    # Baiting probability 1: every choice of A is rewarded.
    task = mp.ForagingTask(jnp.tile(jnp.array([1.0, 0.0]), (400, 1)))
    res = _run(_fixed(1.0), task, key=jr.key(1))
    np.testing.assert_array_equal(res.reward, 1.0)


def test_armed_carry_over_between_trials():
    # An armed target that is not chosen is still armed on the next trial.
    task = mp.block_task([(1, 1)], [400], total=0.6)
    res = _run(_fixed(0.5), task, key=jr.key(2))
    armed, ch = np.asarray(res.armed), np.asarray(res.choice)
    for i in range(2):
        left = armed[:-1, i] & (ch[:-1] != i)  # armed and not taken
        assert np.all(armed[1:, i][left])
        taken = armed[:-1, i] & (ch[:-1] == i)  # collected: re-armed only by baiting
        assert 0.15 < armed[1:, i][taken].mean() < 0.45  # ~ p_i = 0.3


def test_fixed_policy_return_matches_analytic():
    p, P = (0.225, 0.075), 0.6
    task = mp.block_task([(3, 1)], [400])
    res = [_run(_fixed(P), task, key=k) for k in jr.split(jr.key(3), 40)]
    ch = np.concatenate([np.asarray(r.choice)[50:] for r in res])
    rw = np.concatenate([np.asarray(r.reward)[50:] for r in res])
    expected = mp.baited_return(jnp.asarray(p), jnp.array([P, 1 - P]))
    measured = [rw[ch == 0].mean(), rw[ch == 1].mean()]
    np.testing.assert_allclose(measured, expected, atol=0.015)


def test_matching_point_of_soltani_wang():
    # S&W 2006 Fig. 5A: 3:1 baiting, total 0.3, matching at P_A = 0.782.
    assert abs(float(mb.matching_probability(jnp.array([0.225, 0.075]))) - 0.782) < 5e-4
    # Equal baiting: matching at 0.5.
    assert abs(float(mb.matching_probability(jnp.array([0.15, 0.15]))) - 0.5) < 1e-5


def test_sugrue_task_blocks():
    task = mp.sugrue_task(2000, key=jr.key(4))
    p = np.asarray(task.p_bait)
    np.testing.assert_allclose(p.sum(1), 0.3, rtol=1e-5)
    ratios = np.maximum(p[:, 0], p[:, 1]) / np.minimum(p[:, 0], p[:, 1])
    assert set(np.round(np.unique(ratios), 3)) <= {8.0, 6.0, 3.0, 1.0}
    block = np.asarray(task.block)
    assert block[0] == 0 and np.all(np.diff(block) >= 0)
    lengths = np.bincount(block)[:-1]  # the last block is cut by the session's end
    assert np.all((lengths >= 100) & (lengths < 200))
    # Within a block the schedule is constant.
    for b in np.unique(block):
        assert len(np.unique(p[block == b], axis=0)) == 1


# --- choices ----------------------------------------------------------------------------


def test_reduced_choice_probability():
    choice = mp.ReducedChoice(sigma=0.1)
    c = jnp.array([0.33, 0.27])  # S&W Fig. 1 strengths
    np.testing.assert_allclose(choice.probability(c), 1 / (1 + np.exp(-0.6)), rtol=1e-5)
    out = jax.vmap(lambda k: choice(c, key=k))(jr.split(jr.key(5), 4000))
    assert abs(float(jnp.mean(out.choice == 0)) - 0.6457) < 0.03
    assert np.all(np.isnan(np.asarray(out.decision_time)))


def test_circuit_choice_and_undecided_trials():
    task = mp.block_task([(3, 1)], [6])

    # Two subjects in one program: default inputs, and no input at all (never decides).
    @jax.vmap
    def run(gain, base):
        choice = mp.CircuitChoice(
            readout=mb.ThresholdReadout(),
            rate_gain=gain,
            rate_base=base,
            protocol=mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1),
        )
        return mp.run_foraging(mp.Forager(choice=choice, c0=0.3), task, key=jr.key(6))

    res = run(jnp.array([40.0, 0.0]), jnp.array([20.0, 0.0]))
    assert res.choice.shape == (2, 6) and np.all(np.asarray(res.result) == 0)
    ch0 = np.asarray(res.choice[0])
    assert set(ch0.tolist()) <= {-1, 0, 1} and np.sum(ch0 >= 0) >= 4
    dt0 = np.asarray(res.decision_time[0])
    assert np.all(np.isfinite(dt0[ch0 >= 0])) and np.all(np.isnan(dt0[ch0 < 0]))
    # Undecided trials: no reward, no plasticity, nothing collected.
    assert int(res.n_undecided[1]) == 6 and float(jnp.sum(res.reward[1])) == 0.0
    np.testing.assert_allclose(res.c_end[1], 0.3, rtol=1e-6)
    armed = np.asarray(res.armed[1])
    assert np.all(armed[1:] >= armed[:-1])
    # A soft readout gives choice probabilities, not indicators. One noise path usually
    # decides clearly (p_a rounds to 0 or 1 in float32), so look across 8 trials.
    short = mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=0.6)
    soft = mp.Forager(choice=mp.CircuitChoice(readout=mb.HazardReadout(), protocol=short), c0=0.3)
    res = mp.run_foraging(soft, mp.block_task([(3, 1)], [8]), key=jr.key(8))
    p_a = np.asarray(res.p_a)
    assert np.all((p_a >= 0) & (p_a <= 1)) and np.any((p_a > 0) & (p_a < 1)), p_a


# --- jit, vmap, grad --------------------------------------------------------------------


def test_jit_vmap_and_single_trace():
    task = mp.block_task([(3, 1), (1, 3)], [60, 60])

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(forager, keys):
        return jax.vmap(lambda k: mp.run_foraging(forager, task, key=k))(keys)

    keys = jr.split(jr.key(9), 5)
    res = run(mp.Forager(rule=ms.StochasticBinarySynapses(q_plus=jnp.asarray(0.1))), keys)
    assert res.choice.shape == (5, 120) and res.c.shape == (5, 120, 2)
    assert res.c_end.shape == (5, 2) and res.armed.dtype == jnp.bool_
    assert res.c.dtype == jnp.result_type(float)
    # A new parameter value reuses the compiled program, and changes the session.
    other = run(mp.Forager(rule=ms.StochasticBinarySynapses(q_plus=jnp.asarray(0.3))), keys)
    assert not np.array_equal(np.asarray(other.c), np.asarray(res.c))
    # c stays a fraction.
    assert np.all((np.asarray(res.c) >= 0) & (np.asarray(res.c) <= 1))


def test_grad_matches_finite_differences(float64):
    """d(mean P_A over a session)/d(q+), pathwise given the sampled choices."""
    task = mp.block_task([(3, 1), (1, 3)], [40, 40])

    def score(q_plus):
        forager = mp.Forager(rule=ms.StochasticBinarySynapses(q_plus=q_plus, q_minus=0.1))
        return jnp.mean(mp.run_foraging(forager, task, key=jr.key(10)).p_a)

    value_and_grad = jax.jit(jax.value_and_grad(score))
    g = value_and_grad(0.12)[1]
    h = 1e-6
    fd = (value_and_grad(0.12 + h)[0] - value_and_grad(0.12 - h)[0]) / (2 * h)
    assert abs(float(fd)) > 0
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)


# --- matching analysis ------------------------------------------------------------------


def test_block_and_local_counts():
    choice = jnp.array([0, 0, 1, -1, 1, 1, 0, 1])
    reward = jnp.array([1, 0, 1, 0, 0, 1, 1, 0])
    block = jnp.array([0, 0, 0, 0, 1, 1, 1, 1])
    c = mb.block_counts(choice, reward, block, n_blocks=2)
    np.testing.assert_array_equal(c.choices, [[2, 1], [1, 3]])
    np.testing.assert_array_equal(c.rewards, [[1, 1], [1, 1]])
    c = mb.block_counts(choice, reward, block, n_blocks=2, skip=1)
    np.testing.assert_array_equal(c.choices, [[1, 1], [1, 2]])
    loc = mb.local_counts(choice, reward, window=4)
    assert loc.choices.shape == (5, 2)
    np.testing.assert_array_equal(loc.choices[0], [2, 1])
    np.testing.assert_array_equal(loc.rewards[4], [1, 1])
    # Batched over subjects, with a shared block vector.
    two = mb.block_counts(
        jnp.stack([choice, choice]), jnp.stack([reward, reward]), block, n_blocks=2
    )
    assert two.choices.shape == (2, 2, 2)


def test_fit_matching_recovers_known_law():
    a, k = 0.7, 1.3
    r = jnp.array([[8.0, 1.0], [6.0, 1.0], [3.0, 1.0], [1.0, 1.0], [1.0, 3.0], [1.0, 8.0]]) * 10
    ratio = k * (r[:, 0] / r[:, 1]) ** a
    choices = jnp.stack([ratio, jnp.ones_like(ratio)], axis=-1) * 50
    fit = mb.fit_matching(mb.MatchingCounts(choices, r))
    np.testing.assert_allclose(fit.sensitivity, a, rtol=1e-4)
    np.testing.assert_allclose(fit.bias, k, rtol=1e-4)
    assert int(fit.n_log) == 6
    # Perfect matching in fraction space: slope 1.
    fit = mb.fit_matching(mb.MatchingCounts(r, r))
    np.testing.assert_allclose([fit.fraction_slope, fit.sensitivity], 1.0, rtol=1e-5)
    # Zero counts are left out of the log fit.
    zero = mb.MatchingCounts(jnp.array([[5.0, 0.0], [4.0, 2.0], [2.0, 4.0]]), r[:3])
    assert int(mb.fit_matching(zero).n_log) == 2


def test_reduced_model_undermatches_mean_field():
    # Mean field of S&W Fig. 5B, C: below matching, closer for smaller sigma.
    p = jnp.array([0.225, 0.075])
    P10 = float(mb.mean_field_choice(mp.Forager(choice=mp.ReducedChoice(0.1)), p))
    P05 = float(mb.mean_field_choice(mp.Forager(choice=mp.ReducedChoice(0.05)), p))
    assert 0.5 < P10 < P05 < 0.782


# --- bad input --------------------------------------------------------------------------


def test_bad_input_raises():
    with pytest.raises(ValueError, match="q_plus"):
        ms.StochasticBinarySynapses(q_plus=1.5)
    with pytest.raises(ValueError, match="q_minus"):
        ms.StochasticBinarySynapses(q_minus=-0.1)
    with pytest.raises(ValueError, match="c0"):
        ms.StochasticBinarySynapses().init(jnp.array([0.5]))
    # Wrong types: a ValueError from multiscale, or the TypeError of the runtime type
    # checker (jaxtyping + beartype) that the test suite switches on.
    with pytest.raises((ValueError, TypeError), match="choice"):
        rule = ms.StochasticBinarySynapses()
        rule.step(rule.init(jnp.array([0.5, 0.5])), jnp.asarray(0.0), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        mp.ReducedChoice(sigma=0.0)
    with pytest.raises(ValueError, match="p_a"):
        mp.FixedChoice(p_a=1.2)
    with pytest.raises((ValueError, TypeError), match="readout"):
        mp.CircuitChoice(readout=mb.DDM())
    with pytest.raises(ValueError, match="t1"):  # a trial that ends before the targets
        mp.CircuitChoice(
            readout=mb.ThresholdReadout(), protocol=mc.TrialProtocol(dt=1e-3, t_on=0.1, t1=0.05)
        )
    with pytest.raises((ValueError, TypeError), match="p_bait"):
        mp.ForagingTask(jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="p_bait"):
        mp.ForagingTask(jnp.full((5, 2), 1.5))
    with pytest.raises(ValueError, match="ratios"):
        mp.block_task([(3, -1)], [10])
    with pytest.raises(ValueError, match="lengths"):
        mp.block_task([(3, 1), (1, 3)], [10])
    with pytest.raises(ValueError, match="total"):
        mp.block_task([(3, 1)], [10], total=1.5)
    with pytest.raises(ValueError, match="n_trials"):
        mp.sugrue_task(0, key=jr.key(0))
    with pytest.raises(ValueError, match="c0"):
        mp.Forager(c0=jnp.array([0.5, 1.5]))
    with pytest.raises((ValueError, TypeError), match="choice"):
        mp.Forager(choice=mb.ThresholdReadout())
    with pytest.raises((ValueError, TypeError), match="task"):
        mp.run_foraging(mp.Forager(), jnp.ones((5, 2)), key=jr.key(0))
    with pytest.raises(ValueError, match="ReducedChoice"):
        mb.mean_field_choice(mp.Forager(choice=mp.FixedChoice()), jnp.array([0.2, 0.1]))
    with pytest.raises((ValueError, TypeError), match="choice"):
        mb.block_counts(jnp.zeros(4), jnp.zeros(4), jnp.zeros(4, int), n_blocks=1)
    with pytest.raises(ValueError, match="block"):
        mb.block_counts(jnp.zeros(4, int), jnp.zeros(4), jnp.zeros(3, int), n_blocks=1)
    with pytest.raises(ValueError, match="window"):
        mb.local_counts(jnp.zeros(4, int), jnp.zeros(4), window=5)
    with pytest.raises((ValueError, TypeError), match="counts"):
        mb.fit_matching(jnp.ones((3, 2)))
