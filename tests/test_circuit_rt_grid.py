"""The circuit likelihood's RT grid does not grow with one late outlier."""

import equinox as eqx
import jax.random as jr
import numpy as np

import multiscale as ms
from multiscale.behavior import CircuitBehavior, CircuitTrials, HazardReadout, trial_log_likelihood
from multiscale.behavior._circuit_likelihood import rt_grid_size


def test_one_outlier_neither_grows_the_grid_nor_breaks_the_others():
    def model(rt_max):
        return CircuitBehavior(
            circuit=ms.circuit.WongWang2006(), readout=HazardReadout(non_decision_time=0.3),
            ndt_sd=0.05, rt_max=rt_max, protocol=ms.circuit.TrialProtocol(1e-3, 0.1, t1=1.1),
        )  # fmt: skip

    keys = jr.split(jr.key(0), 64)
    normal = CircuitTrials([0.256], [0, 0], [True, False], [0.6, 0.9])
    outlier = CircuitTrials([0.256], [0, 0, 0], [True, False, True], [0.6, 0.9, 1e6])
    # 1 s of decision window + 3 s of non-decision time at 1 ms, whatever rt_max is.
    assert rt_grid_size(model(1e6)) == rt_grid_size(model(50.0)) == 4001
    ll = eqx.filter_jit(lambda m, t: trial_log_likelihood(m, t, keys))
    with_outlier = np.asarray(ll(model(1e6), outlier))
    # The outlier has the contaminant's density, lapse / 2 / rt_max.
    np.testing.assert_allclose(with_outlier[2], np.log(1e-3 * 0.5 / 1e6), rtol=1e-6)
    # The others keep their circuit density (the contaminant's share changes with rt_max).
    reference = np.asarray(ll(model(1e6), normal))
    np.testing.assert_allclose(with_outlier[:2], reference, rtol=1e-6)
    assert with_outlier[0] > 0  # a correct trial at 0.6 s: a real density (1/s)
