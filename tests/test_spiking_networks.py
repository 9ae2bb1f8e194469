"""Spiking networks: the exact PSP of a current synapse, the Poisson input's statistics,
the benchmark builders, and the published network states (slow).

References for the analytic PSP: Rotter & Diesmann 1999 (Biol Cybern 81:381), the exact
integration of a LIF membrane driven by an exponentially decaying current.
"""

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms
from multiscale.circuit import spiking as sp


def test_current_psp_is_exact_on_the_step_grid():
    # Neuron 0 is driven to fire once; neuron 1 receives one synapse of w nA with delay D.
    w, tau_s, tau_m, g_L = 0.2, 5e-3, 20e-3, 10.0
    conn = sp.dense(jnp.asarray([[0.0, 0.0], [w, 0.0]]))
    neuron = sp.LIF(
        tau_m=tau_m,
        g_L=g_L,
        E_L=-70.0,
        V_th=jnp.asarray([-69.5, 0.0]),
        V_reset=-70.0,
        t_ref=0.05,
        I_e=jnp.asarray([0.06, 0.0]),
    )
    net = sp.SpikingNetwork(
        neuron=neuron,
        receptors=(sp.ExpCurrent(tau=tau_s),),
        projections=(sp.Projection(conn, receptor=0, delay=1e-3),),
        inputs=(),
        V0=jnp.asarray([-70.0, -70.0]),
        sizes=(2,),
        names=("P",),
        dt=1e-4,
    )
    protocol = ms.circuit.TrialProtocol(dt=1e-4, t_on=0.0, t1=0.03, segment=300)
    traj = ms.circuit.simulate(net, ms.circuit.Stimulus(), key=jr.key(0), protocol=protocol)
    V1 = np.asarray(traj.state.V)[:, 1]
    arrival = int(np.argmax(V1 > -70.0 + 1e-6))  # first saved state with the current on
    t = np.arange(len(V1) - arrival) * 1e-4  # time since the state before arrival's step
    C = g_L * tau_m
    # The current jumps at the start of the step before the first depolarised state.
    t1 = t + 1e-4
    psp = (
        1e3 * w / C * tau_m * tau_s / (tau_m - tau_s) * (np.exp(-t1 / tau_m) - np.exp(-t1 / tau_s))
    )
    assert np.abs(V1[arrival:] - (-70.0 + psp)).max() < 2e-4
    assert psp.max() > 1.0  # a millivolt-sized PSP was tested


def test_poisson_input_counts_have_poisson_mean_and_variance():
    # A non-leaky integrator with a voltage-jump receptor sums the input spikes it receives.
    n, rate, sources, J, T = 2000, 50.0, 20, 0.1, 0.1
    net = sp.SpikingNetwork(
        neuron=sp.LIF(tau_m=1e6, E_L=0.0, V_th=1e9, V_reset=0.0),
        receptors=(sp.DeltaVoltage(),),
        projections=(),
        inputs=(
            sp.PoissonInput(rate=rate, weight=J, receptor=0, start=0, stop=n, n_sources=sources),
        ),
        V0=jnp.zeros((n,)),
        sizes=(n,),
        names=("P",),
        dt=1e-4,
    )
    counts = np.asarray(sp.run(net, key=jr.key(0), t1=T).V) / J
    lam = rate * sources * T  # 100 expected input spikes per neuron
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n)
    assert abs(counts.var() / lam - 1) < 4 * math.sqrt(2 / (n - 1))
    assert np.allclose(counts, np.round(counts), atol=1e-3)  # whole spikes


def test_poisson_levels_are_the_poisson_cdf_and_saturate_at_one():
    # Counts are drawn by inversion: count = #{j: u > F_j}. The levels must be the Poisson
    # CDF, the truncation at max_count must lose less than 1e-10 of the mass, and levels
    # past the float resolution must be exactly 1 (never exceeded by u < 1), not a few
    # ulps below it (which gave the largest count to a rare draw).
    from multiscale.circuit.spiking._step import _poisson_levels, poisson_max_count

    for lam in (0.16, 2.0, 30.0):
        m = poisson_max_count(lam, 1, 1.0)
        pmf = [math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1)) for k in range(m + 1)]
        assert 1.0 - sum(pmf) < 1e-10 <= 1.0 - sum(pmf[:-1])
        F = np.asarray(_poisson_levels(jnp.asarray(lam), m + 1), float)
        np.testing.assert_allclose(F, np.cumsum(pmf)[: len(F)], atol=2e-6)  # float32 sums
        assert np.all(np.diff(F) >= 0) and F[-1] < 1.0
    full = np.asarray(_poisson_levels(jnp.asarray(0.16), 16), np.float32)  # concrete: trimmed
    assert len(full) == 5 and np.all(full < 1.0)


def test_benchmark_builders_have_the_published_structure():
    net = sp.coba_network(jr.key(0))
    assert net.sizes == (3200, 800)
    ce, ci = (p.connectivity for p in net.projections)
    # NEST's fixed in-degree rule: C_E = int(0.02 * 3200) = 64, C_I = int(0.02 * 800) = 16.
    assert np.all(np.bincount(np.asarray(ce.post), minlength=4000) == 64)
    assert np.all(np.bincount(np.asarray(ci.post), minlength=4000) == 16)
    assert float(ce.weight[0]) == 6.0 and float(ci.weight[0]) == 67.0
    # Memory: the synapse lists alone (plus one offset per neuron).
    for c in (ce, ci):
        assert c.nbytes() <= 1.5 * (c.pre.nbytes + c.post.nbytes + c.weight.nbytes)
    net = sp.brunel_network(jr.key(0), scale=0.1)
    assert net.sizes == (1000, 250)
    assert net.inputs[0].n_sources == 100
    # nu_thr = theta / (J C_E tau_m): 100 Hz at C_E = 100; eta = 2.
    assert float(net.inputs[0].rate) == pytest.approx(200.0)


@pytest.mark.slow  # 10 s, mostly compilation
def test_small_brunel_network_runs_batched_and_finite():
    net = sp.brunel_network(jr.key(0), scale=0.02, g=5.0, eta=2.0)
    out = sp.run(net, key=jr.key(1), t1=0.05, trials=2)
    assert out.rate.shape == (2, 250)
    assert bool(jnp.all(out.result == ms.RESULTS.ok))
    assert float(out.rate.mean()) > 1.0


@pytest.mark.slow
def test_coba_and_brunel_validation_targets():
    from multiscale.validation import _circuit_spiking  # noqa: F401  (registers them)
    from multiscale.validation._registry import _REGISTRY

    for name in ("coba_brette2007_bernoulli", "brunel2000_states", "cuba_brette2007"):
        checks = _REGISTRY[name].checks()
        assert all(c.passed for c in checks), [(c.name, c.measured) for c in checks]


def test_projections_crossed_in_one_pass_give_the_same_spikes(monkeypatch):
    # Projections that share a delay are merged into one event list per step; the spikes
    # must be those of crossing them one by one.
    net = sp.cuba_network(jr.key(0), n=200, p=0.1)
    net = sp.SpikingNetwork(
        neuron=net.neuron,
        receptors=net.receptors,
        projections=net.projections,
        inputs=(sp.PoissonInput(rate=800.0, weight=0.02, receptor=0, start=0, stop=200),),
        V0=net.V0,
        sizes=net.sizes,
        names=net.names,
        dt=net.dt,
        propagation=sp.EventDriven(capacity=4),  # small: the dense fallback is used too
    )
    merged = sp.run(net, key=jr.key(1), t1=0.05)
    import multiscale.circuit.spiking._step as step_module

    monkeypatch.setattr(step_module, "_merge", lambda *args: None)
    # The same propagation written differently, so that the run is compiled again.
    again = eqx.tree_at(lambda n: n.propagation, net, sp.EventDriven(capacity=(4,)))
    separate = sp.run(again, key=jr.key(1), t1=0.05)
    assert float(merged.count.sum()) > 20
    assert jnp.array_equal(merged.count, separate.count)
