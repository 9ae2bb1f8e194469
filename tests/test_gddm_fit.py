"""Generalised DDM: parameter recovery by maximum likelihood with ``multiscale.fit``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import multiscale as ms

B = ms.behavior


@pytest.mark.slow
def test_parameter_recovery(float64, key):
    # 74 s on 2 shared cores (load ~10).
    # 2000 simulated trials over five coherences from a leaky GDDM with a linearly
    # collapsing bound; fit the drift per coherence k, the bound B and its slope, and t0
    # by damped Newton from a distant start. The leak is held at its true value: with a
    # collapsing bound it is barely identified at this sample size (Laplace SE ~3.5 1/s
    # when fitted too), as Hawkins et al. (2015) found for collapse against urgency.
    # A coarse grid (h = 2/50, dt = 10 ms; densities within ~2 % of the converged ones)
    # keeps the test fast; the recovery tolerance is about three standard errors.
    solver = B.FokkerPlanck(dt=0.01, n_x=50, t_max=2.5, max_conditions=5)
    coherence = jnp.asarray(np.resize([0.0, 0.064, 0.128, 0.256, 0.512], 2000))
    true = B.GDDM(
        v=0.0, k=6.0, leak=1.0, bound=B.LinearCollapse(B=1.0, slope=0.4), t0=0.3, solver=solver
    )
    data = true.simulate(coherence, key=key)
    assert data.n_trials == 2000
    start = B.GDDM(
        v=0.0, k=3.0, leak=1.0, bound=B.LinearCollapse(B=0.7, slope=0.2), t0=0.2, solver=solver
    )
    fields = lambda m: [m.k, m.bound.B, m.bound.slope, m.t0]
    spec = eqx.tree_at(fields, jax.tree.map(lambda _: False, start), [True] * 4)
    nll = lambda m, d: -jnp.sum(m.log_density(d))
    fit, history = ms.fit.fit(start, nll, data, optimizer=ms.fit.newton(), steps=40, key=key,
                              filter_spec=spec, patience=5, tol=1e-4, chunk=5)  # fmt: skip
    assert history.converged
    assert float(nll(fit, data)) <= float(nll(true, data))
    got = np.array([float(x) for x in fields(fit)])
    se = np.array([float(x) for x in fields(ms.fit.standard_errors(fit, nll, data, spec))])
    want = np.array([6.0, 1.0, 0.4, 0.3])
    assert np.all(np.abs(got - want) < 3.5 * se), (got, se)
    assert np.all(np.abs(got - want) < [0.6, 0.08, 0.08, 0.025]), got
