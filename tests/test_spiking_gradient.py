"""Gradients through spikes: the surrogate gradient of a trial-averaged rate with respect to
the recurrent weight, against central finite differences of the rate itself.

The surrogate replaces the Heaviside derivative by a smooth pseudo-derivative (Neftci,
Mostafa & Zenke 2019, IEEE Signal Process Mag 36:51), so its gradient is biased: it is not
the derivative of the (piecewise constant in each trial) rate. What it must give is the
direction and the order of magnitude of the change of the expected rate, which the finite
difference of the rate averaged over trials with common random numbers estimates.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from multiscale.circuit import spiking as sp

N = 100


def _network():
    c = sp.fixed_indegree(N, N, 20, 1.0, key=jr.key(0))
    return sp.SpikingNetwork(
        neuron=sp.LIF(tau_m=0.02, g_L=10.0, E_L=-70.0, V_th=-50.0, V_reset=-65.0, t_ref=2e-3),
        receptors=(sp.ExpCurrent(tau=5e-3),),
        projections=(sp.Projection(c, receptor=0, delay=1e-3),),
        inputs=(sp.PoissonInput(rate=2000.0, weight=0.05, receptor=0, start=0, stop=N),),
        V0=jnp.full((N,), -70.0),
        sizes=(N,),
        names=("E",),
        dt=1e-4,
        propagation=sp.SegmentSum(),  # the gradient reaches silent neurons' synapses too
        surrogate=sp.ArcTan(width=2.0),
    )


@pytest.mark.slow  # 17 s: one compiled backward pass and two forward batches
def test_surrogate_gradient_of_the_rate_agrees_with_finite_differences():
    net = _network()
    w_like = net.projections[0].connectivity.weight

    def rate(w):
        m = eqx.tree_at(
            lambda x: x.projections[0].connectivity.weight, net, w * jnp.ones_like(w_like)
        )
        out = sp.run(m, key=jr.key(1), t1=0.1, trials=8, segment=250)
        return jnp.mean(out.count) / 0.1  # Hz

    w0, h = 0.01, 0.004  # nA per spike; h spans many spike-count changes
    g = float(jax.grad(rate)(w0))
    fd = float((rate(w0 + h) - rate(w0 - h)) / (2 * h))
    assert fd > 0  # more recurrent excitation, more spikes
    # Measured: surrogate 7.4e3 Hz/nA against 2.6e3 from finite differences (200 neurons,
    # 0.2 s, 16 trials): the arctan surrogate of width 2 mV overestimates by about 3x.
    assert g > 0 and 0.2 < g / fd < 5.0, (g, fd)
