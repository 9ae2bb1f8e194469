"""Hierarchical (empirical-Bayes) multi-subject DDM fits."""

import equinox as eqx
import jax
import numpy as np
import pytest
from _ddm_sim import simulate_ddm

import multiscale as ms

COHERENCES = (0.064, 0.128, 0.256, 0.512)
TRUE_K = np.array([8.0, 9.0, 10.0, 11.0, 12.0, 9.5, 10.5, 10.0])
A, T0 = 1.4, 0.3


def _subjects(n_trials, seed=0):
    rng = np.random.default_rng(seed)
    rts, choices, conds, subj = [], [], [], []
    for s, (k, n) in enumerate(zip(TRUE_K, n_trials, strict=True)):
        coh = np.resize(COHERENCES, n)
        ch, rt, keep = simulate_ddm(rng, n, k * coh, A, t0=T0, p_outlier=0.02)
        (
            rts.append(rt),
            choices.append(ch),
            conds.append(coh[keep]),
            subj.append(np.full(rt.size, s)),
        )
    cat = np.concatenate
    return ms.behavior.Trials(
        rt=cat(rts), choice=cat(choices), condition=cat(conds), subject=cat(subj)
    )


def _spec(model):
    spec = jax.tree.map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.k, spec, True)


def test_recovers_group_and_shrinks_sparse_subjects():
    # Subject 0 has 40 trials, the others 800: its estimate is pulled to the group.
    n_trials = [40] + [800] * 7
    trials = _subjects(n_trials)
    data = ms.fit.subject_trials(trials)
    start = ms.behavior.ProportionalRateDDM(k=6.0, a=A, t0=T0, p_outlier=0.02)
    res = ms.fit.fit_hierarchical(start, data, filter_spec=_spec(start), n_iterations=20)
    k_subj = np.asarray(res.subjects.k)
    k_group = float(res.group.k)
    assert abs(k_group - TRUE_K.mean()) < 1.0
    np.testing.assert_allclose(k_subj[1:], TRUE_K[1:], rtol=0.1)
    # The spread of k across subjects (SD 1.15) is recovered within a factor of 2.
    assert 0.5 * TRUE_K.std() < float(res.group_sd[0]) < 2.0 * TRUE_K.std()
    # Shrinkage: the sparse subject's posterior SD is the largest and its mode lies
    # between its own maximum-likelihood estimate and the group mean.
    post = np.asarray(res.posterior_sd)[:, 0]
    assert post[0] == post.max()
    single = ms.fit.fit_hierarchical(
        start,
        jax.tree.map(lambda x: x[:1], data),
        filter_spec=_spec(start),
        n_iterations=1,
        initial_sd=1e3,  # effectively no prior: the subject's own ML estimate
    )
    k_ml = float(single.subjects.k[0])
    lo, hi = sorted([k_ml, k_group])
    assert lo - 1e-3 <= k_subj[0] <= hi + 1e-3


def test_bad_input():
    trials = _subjects([30] * 8)
    data = ms.fit.subject_trials(trials)
    m = ms.behavior.ProportionalRateDDM(k=6.0, a=A, t0=T0)
    nothing = jax.tree.map(lambda _: False, m)
    with pytest.raises(ValueError, match="selects no leaves"):
        ms.fit.fit_hierarchical(m, data, filter_spec=nothing)
    with pytest.raises(ValueError, match="initial_sd"):
        ms.fit.fit_hierarchical(m, data, filter_spec=_spec(m), initial_sd=0.0)
    gappy = ms.behavior.Trials(rt=[0.5, 0.6], choice=[1, 0], subject=[0, 2])
    with pytest.raises(ValueError, match="without gaps"):
        ms.fit.subject_trials(gappy)
