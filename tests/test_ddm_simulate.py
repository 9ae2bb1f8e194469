"""ddm_simulate: exact draws with the likelihood's parameters (sv, sz, st0, contaminant).

The sample is compared with the closed-form choice probability, mean and variance of RT
and with the defective CDF (``ddm_defective_cdf``), each within 4 standard errors.
"""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import multiscale as ms

B = ms.behavior
N = 40_000
_simulate = eqx.filter_jit(B.ddm_simulate)
_cdf = eqx.filter_jit(B.ddm_defective_cdf)
_moments = eqx.filter_jit(
    lambda m: (B.ddm_choice_probability(m, 0.0), B.ddm_mean_rt(m, 0.0), B.ddm_rt_variance(m, 0.0))
)


def test_sample_matches_closed_forms_and_defective_cdf(float64):
    m = B.DDM(v=1.0, a=1.2, z=0.4, t0=0.3, sv=1.2, sz=0.3, st0=0.15, p_outlier=0.0)
    trials = _simulate(m, jnp.zeros(N), key=jr.key(1))
    rt, choice = np.asarray(trials.rt), np.asarray(trials.choice)
    assert rt.min() >= 0.3 - 0.075
    p, mean, var = (float(x) for x in _moments(m))
    assert abs(choice.mean() - p) < 4 * np.sqrt(p * (1 - p) / N)
    assert abs(rt.mean() - mean) < 4 * np.sqrt(var / N)
    se_var = np.sqrt((np.mean((rt - rt.mean()) ** 4) - var**2) / N)
    assert abs(rt.var() - var) < 4 * se_var
    # The shape of the distribution: P(choice, RT <= t) at times through the onset
    # (within st0 of the support's start) and the body.
    times = np.array([0.25, 0.3, 0.35, 0.45, 0.7, 1.2])
    for c in (0, 1):
        f, _ = _cdf(m, jnp.asarray(times), c, 0.0)
        emp = np.array([np.mean((choice == c) & (rt <= t)) for t in times])
        se = np.sqrt(np.asarray(f) * (1 - np.asarray(f)) / N)
        assert np.all(np.abs(emp - np.asarray(f)) < 4 * se + 1e-4), (c, emp, np.asarray(f))


def test_contaminant_drift_per_condition_and_reproducibility(float64):
    # Proportional-rate drift per trial; 20 % contaminants, uniform on (0, rt_max]:
    # the share of RTs below the support's start t0 = 0.3 s is p_outlier * 0.3 / rt_max.
    m = B.ProportionalRateDDM(k=10.0, a=1.4, t0=0.3, p_outlier=0.2, rt_max=2.0)
    condition = jnp.asarray(np.resize([0.0, 0.256], N))
    a, b = _simulate(m, condition, key=jr.key(3)), _simulate(m, condition, key=jr.key(3))
    np.testing.assert_array_equal(np.asarray(a.rt), np.asarray(b.rt))
    rt, choice = np.asarray(a.rt), np.asarray(a.choice)
    early = np.mean(rt < 0.3)
    assert abs(early - 0.2 * 0.15) < 4 * np.sqrt(0.03 * 0.97 / N)
    # Choice probability at 25.6 % coherence: (1 - p_o) P + p_o / 2.
    strong = np.asarray(condition) > 0
    p = 0.8 * float(B.ddm_choice_probability(m, 0.256)) + 0.1
    assert abs(choice[strong].mean() - p) < 4 * np.sqrt(p * (1 - p) / strong.sum())
    assert np.array_equal(np.asarray(a.condition), np.asarray(condition))
    # The AbstractChoiceModel interface: simulate and log_density of the same model.
    trials = m.simulate(condition[:8], key=jr.key(4))
    assert np.all(np.isfinite(np.asarray(m.log_density(trials))))
