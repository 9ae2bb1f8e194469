"""Spiking core: surrogate gradients, LIF integration, sparse projections, checks, batches.

Analytic references: the LIF f-I curve (Tuckwell 1988; Gerstner et al. 2014, Neuronal
Dynamics, eq. 1.11 with an absolute refractory period) and the exact subthreshold solution
of the LIF equation under a constant current.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from multiscale import RESULTS
from multiscale.circuit import spiking as sp


def _single_population(n, *, I_e=0.0, dt=1e-4, **kw):
    neuron = sp.LIF(tau_m=0.02, g_L=10.0, E_L=-70.0, V_th=-50.0, V_reset=-65.0, t_ref=2e-3, I_e=I_e)
    return sp.SpikingNetwork(
        neuron=neuron,
        receptors=(sp.ExpCurrent(tau=5e-3),),
        projections=(),
        inputs=(),
        V0=jnp.full((n,), -70.0),
        sizes=(n,),
        names=("P",),
        dt=dt,
        **kw,
    )


@pytest.mark.parametrize("surrogate", [sp.FastSigmoid(), sp.ArcTan(width=0.5), sp.Triangle()])
def test_surrogate_forward_is_exact_and_derivative_integrates_to_one(surrogate):
    x = jnp.linspace(-1000.0, 1000.0, 400_001)
    assert jnp.array_equal(surrogate(x), (x >= 0).astype(x.dtype))
    d = jax.vmap(jax.grad(surrogate))(x)
    assert jnp.allclose(d, surrogate.derivative(x))
    # A pseudo-derivative of a unit step: area 1 (the slow tails leave < 1e-3 beyond 1 V).
    assert float(jnp.sum(d) * (x[1] - x[0])) == pytest.approx(1.0, abs=2e-3)


def test_lif_rate_matches_the_analytic_f_i_curve():
    # T = t_ref + tau_m ln((V_inf - V_r)/(V_inf - theta)), V_inf = E_L + I/g_L; spikes on a
    # 0.1 ms grid add at most one step per interval.
    currents = jnp.asarray([0.25, 0.3, 0.5, 1.0])  # nA
    net = _single_population(4, I_e=currents)
    out = sp.run(net, key=jr.key(0), t1=1.0)
    V_inf = -70.0 + 1e3 * np.asarray(currents) / 10.0
    T = 2e-3 + 0.02 * np.log((V_inf + 65.0) / (V_inf + 50.0))
    # The first interval starts from E_L rather than V_r: count whole intervals after it.
    first = 0.02 * np.log((V_inf + 70.0) / (V_inf + 50.0))
    expected = np.floor((1.0 - first) / (T + 0.5e-4)) + 1
    assert np.abs(np.asarray(out.count) - expected).max() <= 1
    assert np.allclose(np.asarray(out.cv), 0.0, atol=0.01)  # regular firing


def test_subthreshold_solution_is_exact_for_any_step():
    # Below threshold V(t) = V_inf + (E_L - V_inf) exp(-t / tau_m), exact at every dt.
    for dt in (1e-4, 1e-3):
        net = _single_population(1, I_e=0.15, dt=dt)
        out = sp.run(net, key=jr.key(0), t1=0.05)
        exact = (-70.0 + 15.0) + (-70.0 + 55.0) * math.exp(-0.05 / 0.02)
        assert float(out.V[0]) == pytest.approx(exact, abs=1e-4)


def test_fixed_indegree_and_probability_statistics_and_memory():
    c = sp.fixed_indegree(300, 200, 30, 1.5, key=jr.key(0))
    assert np.all(np.bincount(np.asarray(c.post), minlength=200) == 30)
    idx_w = c.pre.nbytes + c.post.nbytes + c.weight.nbytes
    assert c.nbytes() <= 1.5 * idx_w
    c = sp.fixed_probability(300, 200, 0.1, 1.5, key=jr.key(1))
    n = c.n_synapses
    assert abs(n - 6000) < 5 * math.sqrt(6000 * 0.9)
    assert c.nbytes() <= 1.5 * (c.pre.nbytes + c.post.nbytes + c.weight.nbytes)
    c = sp.fixed_indegree(50, 40, 50, 1.0, key=jr.key(2), multapses=False)
    assert all(len(set(np.asarray(c.pre)[np.asarray(c.post) == j])) == 50 for j in range(40))


@pytest.mark.parametrize("capacity", [(1, 3), 64])
def test_event_driven_equals_segment_sum(capacity):
    c = sp.fixed_probability(120, 90, 0.1, 1.0, key=jr.key(0))
    c = eqx.tree_at(lambda x: x.weight, c, jr.normal(jr.key(1), c.weight.shape))
    event = jax.jit(lambda s: c.propagate(s, sp.EventDriven(capacity=capacity)))
    for p in (0.005, 0.05, 0.5):  # below, between and above the capacities
        s = (jr.uniform(jr.key(2), (120, 3)) < p).astype(jnp.float32)
        a = c.propagate(s, sp.SegmentSum())
        assert jnp.allclose(a, event(s), atol=1e-5)
    W = np.zeros((90, 120), np.float32)
    np.add.at(W, (np.asarray(c.post), np.asarray(c.pre)), np.asarray(c.weight))
    assert jnp.allclose(sp.dense(W).propagate(s, None), a, atol=1e-4)


def test_bad_connectivity_is_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="probability `p`"):
        sp.fixed_probability(10, 10, 1.5, 1.0, key=jr.key(0))
    with pytest.raises(ValueError, match="probability `p`"):
        sp.fixed_probability(10, 10, -0.1, 1.0, key=jr.key(0))
    with pytest.raises(ValueError, match="`indegree`"):
        sp.fixed_indegree(10, 10, 11, 1.0, key=jr.key(0))
    with pytest.raises(ValueError, match="capacity"):
        sp.EventDriven(capacity=(8, 4))


def _pair(delay=1e-4, dt=1e-4, t_ref=2e-3, tau_m=0.02):
    c = sp.fixed_indegree(10, 10, 2, 0.01, key=jr.key(0))
    neuron = sp.LIF(tau_m=tau_m, g_L=10.0, E_L=-70.0, V_th=-50.0, V_reset=-65.0, t_ref=t_ref)
    return sp.SpikingNetwork(
        neuron=neuron,
        receptors=(sp.ExpCurrent(tau=5e-3),),
        projections=(sp.Projection(c, receptor=0, delay=delay),),
        inputs=(sp.PoissonInput(rate=500.0, weight=0.5, receptor=0, start=0, stop=10),),
        V0=jnp.full((10,), -70.0),
        sizes=(10,),
        names=("P",),
        dt=dt,
    )


def test_bad_timing_is_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="`delay`"):
        sp.run(_pair(delay=1.5e-4), key=jr.key(0), t1=0.01)
    with pytest.raises(ValueError, match="`delay`"):
        sp.run(_pair(delay=5e-5), key=jr.key(0), t1=0.01)
    with pytest.raises(ValueError, match="`t_ref`"):
        sp.run(_pair(t_ref=5e-5), key=jr.key(0), t1=0.01)
    with pytest.raises(ValueError, match="tau_m"):
        sp.run(_pair(dt=5e-3, delay=5e-3, t_ref=5e-3, tau_m=5e-3), key=jr.key(0), t1=0.05)
    with pytest.raises(ValueError, match="LIF `tau_m`"):
        sp.LIF(tau_m=-0.02)


def test_negative_tau_under_jit_raises_naming_the_field():
    net = _pair()

    @jax.jit
    def go(tau):
        bad = eqx.tree_at(lambda n: n.receptors[0].tau, net, tau)
        return sp.run(bad, key=jr.key(0), t1=0.002).rate

    with pytest.raises(Exception, match="ExpCurrent `tau`"):
        jax.block_until_ready(go(jnp.asarray(-5e-3)))


def test_batched_trials_equal_single_trials_and_chunking_is_invisible():
    net = _pair()
    key = jr.key(3)
    batch = sp.run(net, key=key, t1=0.05, trials=3)
    chunked = sp.run(net, key=key, t1=0.05, trials=3, chunk=1)  # compiled as one trial
    assert jnp.array_equal(batch.count, chunked.count)
    for i, k in enumerate(jr.split(key, 3)):
        one = sp.run(net, key=k, t1=0.05)
        assert jnp.array_equal(one.count, batch.count[i])
    assert not jnp.array_equal(batch.count[0], batch.count[1])  # trials differ
    assert batch.count.sum() > 0


@pytest.mark.slow  # three compilations of the loop: 20-60 s on the shared cores
def test_a_diverging_member_is_flagged_and_leaves_the_others_untouched():
    net = _pair()
    # A finite but absurd weight drives the membrane to infinity (no range is broken).
    weights = jnp.asarray([0.5, 1e38, 0.6])

    def one(w):
        n = eqx.tree_at(lambda n: n.inputs[0].weight, net, w)
        out = sp.run(n, key=jr.key(0), t1=0.02, throw=False)
        return out.count, out.result

    counts, results = jax.vmap(one)(weights)
    assert results.tolist() == [RESULTS.ok, RESULTS.nonfinite, RESULTS.ok]
    for i in (0, 2):
        assert jnp.array_equal(counts[i], one(weights[i])[0])

    def with_tau(tau):  # a traced tau is checked where it is used
        n = eqx.tree_at(lambda n: n.neuron.tau_m, net, tau)
        return sp.run(n, key=jr.key(0), t1=0.002, throw=False).result

    codes = jax.vmap(with_tau)(jnp.asarray([0.02, -0.02]))
    assert codes.tolist() == [RESULTS.ok, RESULTS.invalid]


def test_adaptation_slows_and_lengthens_the_intervals():
    plain = sp.run(_single_population(1, I_e=0.5), key=jr.key(0), t1=0.5)
    adapted = sp.run(
        _single_population(1, I_e=0.5, adaptation=sp.Adaptation(a=0.0, b=0.02, tau_w=0.1)),
        key=jr.key(0),
        t1=0.5,
    )
    assert float(adapted.count[0]) < 0.8 * float(plain.count[0])
    assert float(adapted.cv[0]) > 0.05 > float(plain.cv[0])  # intervals lengthen


def _conductance_pair(dt):
    # Neuron 0 starts above threshold and fires once at step 0; its spike opens a 6 nS
    # excitatory conductance on neuron 1 at t = 1 ms (the delay), for every dt.
    neuron = sp.LIF(
        tau_m=0.02,
        g_L=10.0,
        E_L=-60.0,
        V_th=jnp.asarray([-50.0, 0.0]),
        V_reset=-60.0,
        t_ref=0.5,
    )
    return sp.SpikingNetwork(
        neuron=neuron,
        receptors=(sp.ExpConductance(tau=5e-3, E_rev=0.0),),
        projections=(
            sp.Projection(sp.dense(jnp.asarray([[0.0, 0.0], [6.0, 0.0]])), 0, delay=1e-3),
        ),
        inputs=(),
        V0=jnp.asarray([-40.0, -60.0]),
        sizes=(2,),
        names=("P",),
        dt=dt,
    )


def test_conductance_step_converges_at_second_order(float64):
    V = {}
    for dt in (2e-4, 1e-4, 5e-5, 1e-5):
        V[dt] = float(sp.run(_conductance_pair(dt), key=jr.key(0), t1=0.006, throw=False).V[1])
    errors = [abs(V[dt] - V[1e-5]) for dt in (2e-4, 1e-4, 5e-5)]
    assert V[1e-5] > -60.0 + 0.5  # a sizeable EPSP
    for coarse, fine in zip(errors[:-1], errors[1:], strict=True):
        assert 3.0 < coarse / fine < 5.5  # halving dt divides the error by about 4


_TWO_DEVICES = """
import jax
jax.config.update("jax_num_cpu_devices", 2)
import jax.numpy as jnp, jax.random as jr
from multiscale.circuit import spiking as sp
net = sp.brunel_network(jr.key(0), scale=0.02, g=5.0, eta=2.0)
one = sp.run(net, key=jr.key(3), t1=0.01, trials=5, chunk=2)
two = sp.run(net, key=jr.key(3), t1=0.01, trials=5, chunk=2, devices=2)
assert len(jax.devices()) == 2 and two.count.shape == one.count.shape == (5, 250)
assert jnp.array_equal(one.count, two.count) and float(one.count.sum()) > 0
assert jnp.array_equal(one.V, two.V) and two.count.devices() == {jax.devices()[0]}
print("ok")
"""


@pytest.mark.slow  # 13 CPU s: a fresh interpreter and three compilations
def test_trials_spread_over_two_devices_give_the_same_spikes():
    # One loop per device (chunks dispatched round-robin, one thread per device, the last
    # chunk padded); each trial's spikes and final state are those of the one-device run. A fresh interpreter, as the CPU device count
    # is fixed when JAX starts.
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _TWO_DEVICES], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]


def test_chunks_over_device_threads_keep_their_order_and_raise_errors():
    # ``run(devices=N)`` advances each device's chunks from a thread of its own; the
    # chunks come back in trial order and an error in any thread reaches the caller.
    from multiscale.circuit.spiking._run import _over_devices

    d = jax.local_devices()[0]
    out = _over_devices(lambda start, net, dev: [start], [0, 4, 8, 12, 16], jnp.zeros(1), [d, d])
    assert out == [[0], [4], [8], [12], [16]]

    def failing(start, net, dev):
        if start == 8:
            raise FloatingPointError("chunk at trial 8")
        return [start]

    with pytest.raises(FloatingPointError, match="trial 8"):
        _over_devices(failing, [0, 4, 8, 12, 16], jnp.zeros(1), [d, d])


def test_devices_must_be_a_count_of_local_devices():
    for bad in (0, len(jax.local_devices()) + 1):
        with pytest.raises(ValueError, match="`devices`"):
            sp.run(_single_population(2), key=jr.key(0), t1=0.01, trials=2, devices=bad)
