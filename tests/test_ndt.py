"""Shapes of the non-decision-time distribution of the circuit likelihood."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import stats

import multiscale as ms
from multiscale.behavior import CircuitBehavior, HazardReadout
from multiscale.behavior._ndt import ExponentialNDT, NormalNDT
from multiscale.circuit import TrialProtocol, WongWang2006


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


@pytest.mark.parametrize("sd", [0.005, 0.05, 0.2])
def test_exponential_ndt_is_the_ex_gaussian(sd):
    """The shifted exponential (mean t_nd, SD s_nd) smoothed by N(0, s_min^2) is the
    ex-Gaussian of Hohle (1965, J Exp Psychol 69:382): scipy's exponnorm with
    K = s_nd / s_min, loc = t_nd - s_nd, scale = s_min (to 1e-5), finite for a narrow
    s_nd where the direct formula overflows."""
    t = np.linspace(-0.2, 1.5, 301)
    ours = np.asarray(ExponentialNDT().cdf(jnp.asarray(t), 0.3, sd, 0.02))
    ref = stats.exponnorm.cdf(t, sd / 0.02, loc=0.3 - sd, scale=0.02)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_ndt_cdf_gradients_match_differences():
    """d/d(mean) and d/d(sd) of the ex-Gaussian CDF under jit against central differences."""

    def total(p):
        t = jnp.linspace(0.0, 0.8, 81)
        return jnp.sum(ExponentialNDT().cdf(t, p[0], p[1], _f(0.02)) ** 2)

    p = jnp.array([0.25, 0.06])
    g = np.asarray(jax.jit(jax.grad(total))(p))
    h = 1e-3
    for i in range(2):
        e = jnp.zeros(2).at[i].set(h)
        fd = (float(total(p + e)) - float(total(p - e))) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=2e-3)


@pytest.mark.parametrize("ndt", [NormalNDT(), ExponentialNDT()])
def test_draws_follow_the_cdf(ndt):
    """Draws used by the trial sampler follow the CDF the likelihood uses (KS test)."""
    x = np.asarray(ndt.sample(jr.key(3), _f(0.3), _f(0.05), _f(0.02), (4000,), jnp.float32))
    assert np.all(x >= 0)
    cdf = lambda t: np.asarray(ndt.cdf(jnp.asarray(t), 0.3, 0.05, 0.02))  # noqa: E731
    assert stats.kstest(x, cdf).pvalue > 1e-3


def _model():
    return CircuitBehavior(
        circuit=WongWang2006(),
        readout=HazardReadout(threshold=_f(15.0), non_decision_time=_f(0.25)),
        ndt_sd=0.06,
        lapse=0.01,
        protocol=TrialProtocol(dt=1e-3, t_on=0.1, t1=0.9),
    )


@pytest.mark.slow
def test_trial_likelihood_with_exponential_ndt():
    """The normal default is unchanged; the exponential shape gives another, finite
    likelihood whose gradient in the NDT mean and SD matches central differences on the
    same paths (the NDT enters after the time loop, so the loss is smooth in them)."""
    model = _model()
    trials = ms.behavior.CircuitTrials(
        [0.0, 0.256], condition=[0, 0, 1, 1], correct=[True, False, True, True],
        rt=[0.55, 0.7, 0.45, 0.5],
    )  # fmt: skip
    keys = jr.split(jr.key(0), 64)
    ll = ms.behavior.trial_log_likelihood
    plain = np.asarray(ll(model, trials, keys))
    np.testing.assert_array_equal(np.asarray(ll(model, trials, keys, ndt=NormalNDT())), plain)
    where = lambda m: (m.readout.non_decision_time, m.ndt_sd)  # noqa: E731

    @jax.jit
    def nll(p):
        m = eqx.tree_at(where, model, (p[0], p[1]))
        return -jnp.sum(ll(m, trials, keys, ndt=ExponentialNDT()))

    p = jnp.array([0.25, 0.06])
    assert np.isfinite(float(nll(p))) and abs(float(nll(p)) + plain.sum()) > 0.01
    g = np.asarray(jax.grad(nll)(p))
    h = 1e-3
    for i in range(2):
        e = jnp.zeros(2).at[i].set(h)
        fd = (float(nll(p + e)) - float(nll(p - e))) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=0.02, abs=1e-3)


def test_bad_ndt():
    trials = ms.behavior.CircuitTrials([0.0], condition=[0], correct=[True], rt=[0.5])
    with pytest.raises(TypeError, match="AbstractNDT"):
        ms.behavior.trial_log_likelihood(_model(), trials, jr.split(jr.key(0), 4), ndt="gamma")
