"""Published spiking models on the spiking core: construction of the Potjans & Diesmann
(2014) microcircuit (NEST's down-scaling), and networks with online plasticity."""

import math

import jax.random as jr
import numpy as np
import pytest

from multiscale.circuit.spiking import _potjans_diesmann as pd


def test_pd_psc_per_psp():
    # Potjans & Diesmann 2014: a 0.15 mV PSP is a PSC of about 87.81 pA (C_m 250 pF,
    # tau_m 10 ms, tau_s 0.5 ms), the conversion of NEST's helpers.py.
    assert 0.15 * pd.psc_per_psp() == pytest.approx(87.81, rel=1e-4)


def test_pd_synapse_numbers_and_indegrees():
    # K = ln(1 - C)/ln(1 - 1/(N_x N_y)): 2.9888e8 recurrent synapses at full scale,
    # in-degree L2/3E <- L2/3E 2199.9, L4I <- L6E 1608.1, L5E <- L5I 496.5.
    K = pd.synapse_numbers()
    assert K.sum() == pytest.approx(2.9888e8, rel=1e-4)
    indeg = K / pd.N_FULL[:, None]
    assert indeg[0, 0] == pytest.approx(2199.9, abs=0.05)
    assert indeg[3, 6] == pytest.approx(1608.1, abs=0.05)
    assert indeg[4, 5] == pytest.approx(496.5, abs=0.05)
    assert pd.N_FULL.sum() == 77169


def test_pd_dc_compensation():
    # No compensation at full in-degree; the DC equivalent of the Poisson drive
    # nu_bg K_ext J tau_s is 562.0 pA (L2/3E) ... 1018.6 pA (L6E).
    np.testing.assert_array_equal(pd.dc_compensation(1.0), 0.0)
    dc_equiv = pd.BG_RATE * pd.K_EXT * 0.15 * pd.psc_per_psp() * pd.TAU_S * 1e-3
    np.testing.assert_allclose(dc_equiv[[0, 6]], [562.0, 1018.6], rtol=1e-4)
    # The compensation is proportional to 1 - sqrt(kappa).
    np.testing.assert_allclose(
        pd.dc_compensation(0.25) / pd.dc_compensation(0.01), 0.5 / 0.9, rtol=1e-12
    )


def test_pd_network_at_10_percent():
    net = pd.potjans_diesmann(jr.key(0), scale=0.1, delay_bin=5)
    assert net.sizes == (2068, 583, 2192, 548, 485, 106, 1440, 295)
    n_syn = sum(p.connectivity.n_synapses for p in net.projections)
    expected = np.rint(0.01 * pd.synapse_numbers()).sum()
    assert n_syn == expected
    assert n_syn == pytest.approx(2.9888e6, rel=1e-3)
    w = np.concatenate([np.asarray(p.connectivity.weight) for p in net.projections])
    # Weights scale by 1/sqrt(0.1): excitatory 87.81 pA -> 277.7 pA, SD 10 %.
    exc = w[(w > 0) & (w < 0.4)]
    assert exc.mean() == pytest.approx(87.81e-3 / math.sqrt(0.1), rel=5e-3)
    assert exc.std() / exc.mean() == pytest.approx(0.1, rel=0.05)
    # The DC compensation is the neurons' bias current (nA).
    np.testing.assert_allclose(
        np.asarray(net.neuron.I_e)[[0, -1]], pd.dc_compensation(0.1)[[0, -1]] * 1e-3, rtol=1e-5
    )
    # K_ext scales with kappa: 160 trains of 8 Hz onto L2/3E.
    assert net.inputs[0].n_sources == 160
    # Delays N(1.5 ms, 0.75 ms) from E and N(0.75, 0.375) from I sources, redrawn below
    # 0.1 ms: the truncated normals' means (1.554 and 0.785 ms) survive the binning.
    d = np.concatenate([np.full(p.connectivity.n_synapses, p.delay) for p in net.projections])
    for sign, mu in ((1, 1.5e-3), (-1, 0.75e-3)):
        a = (1e-4 - mu) / (0.5 * mu)
        phi = math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        mean = mu + 0.5 * mu * phi / (0.5 * math.erfc(a / math.sqrt(2)))
        assert d[sign * w > 0].mean() == pytest.approx(mean, rel=0.03)


def test_pd_ring_buffer_delivery_gives_the_spikes_of_one_pass_per_delay(monkeypatch):
    # With several delays each step's spikes are delivered once, into a ring buffer of
    # future input; the spikes must be those of crossing every delay's projection with the
    # spikes of d steps ago (the per-target sums run in the same presynaptic order), for
    # the event path, the all-synapse path, one trial and a batch.
    import jax.numpy as jnp

    from multiscale.circuit import spiking as sp

    net = pd.potjans_diesmann(jr.key(0), scale=0.02, delay_bin=3)
    ring = net.with_delay_ring()
    assert ring.delivery is not None and ring.delivery.slots == ring._buffer_slots()
    assert ring.delivery.pre.shape[0] == sum(p.connectivity.n_synapses for p in net.projections)
    t1 = 0.1
    with_ = lambda prop: ring.__class__(**{**vars(ring), "propagation": prop})
    events = sp.run(with_(sp.EventDriven(capacity=1)), key=jr.key(1), t1=t1)  # chunks of 1
    every = sp.run(with_(sp.SegmentSum()), key=jr.key(1), t1=t1)
    batch = sp.run(ring, key=jr.key(1), t1=t1, trials=2)
    monkeypatch.setattr(sp.SpikingNetwork, "with_delay_ring", lambda self: self)
    per_delay = sp.run(net, key=jr.key(1), t1=t1)
    assert float(per_delay.count.sum()) > 50
    assert jnp.array_equal(events.count, per_delay.count)
    assert jnp.array_equal(every.count, per_delay.count)
    single = sp.run(net, key=jr.split(jr.key(1), 2)[1], t1=t1)
    assert jnp.array_equal(batch.count[1], single.count)


# --- Online plasticity in spiking networks -------------------------------------------


def _one_synapse(rule, pre_times, post_times, t1=0.2, dt=1e-4):
    """Run ``rule`` on one synapse with imposed spike times (traces as in the network
    step: decayed, read, then incremented); return its final weight and rule state."""
    import jax
    import jax.numpy as jnp

    n_steps = round(t1 / dt)
    pre = np.zeros((n_steps, 1, 1), np.float32)
    post = np.zeros((n_steps, 1, 1), np.float32)
    pre[np.rint(np.asarray(pre_times) / dt).astype(int)] = 1
    post[np.rint(np.asarray(post_times) / dt).astype(int)] = 1
    fx, fy = math.exp(-dt / rule.tau_pre), math.exp(-dt / rule.tau_post)

    def body(carry, inp):
        w, aux, x, y = carry
        k, s_pre, s_post = inp
        x, y = x * fx, y * fy
        w, aux = rule.update(w, aux, s_pre, s_post, x, y, k.astype(jnp.float32) * dt, dt)
        return (w, aux, x + s_pre, y + s_post), None

    zero = jnp.zeros((1, 1), jnp.float32)
    carry = (zero, rule.init_aux(1, jnp.float32), zero, zero)
    ks = jnp.arange(n_steps)
    (w, aux, _, _), _ = jax.jit(lambda c: jax.lax.scan(body, c, (ks, pre, post)))(carry)
    return float(w[0, 0]), aux


def test_inhibitory_stdp_pairing():
    # Vogels et al. 2011: pre at 10 ms, post at 15 ms: the post spike adds eta x_pre =
    # eta e^{-5/20}; the pre spike subtracts eta alpha (y = 0 then), alpha = 2 rho0 tau.
    from multiscale.circuit.spiking._stdp_networks import InhibitorySTDP

    rule = InhibitorySTDP(eta=1.0, rho0=3.0, tau=0.02, w_max=100.0)
    w, _ = _one_synapse(rule, [0.010], [0.015])
    # w is clipped at 0 after the pre spike (0 - 0.12 -> 0), then the post spike adds.
    assert w == pytest.approx(math.exp(-0.25), rel=1e-4)
    # Symmetric window: post first (at 10 ms), pre at 15 ms: eta (e^{-1/4} - alpha).
    w, _ = _one_synapse(rule, [0.015], [0.010])
    assert w == pytest.approx(math.exp(-0.25) - 0.12, rel=1e-4)


def test_pair_stdp_window_and_bounds():
    # Song, Miller & Abbott 2000: +A+ e^{-dt/tau+} for pre before post, -A- e^{-dt/tau-}
    # for post before pre; weights stay in [0, w_max].
    from multiscale.circuit.spiking._stdp_networks import PairSTDP

    rule = PairSTDP(a_plus=0.5, a_minus=0.525, w_max=1.0)
    w, _ = _one_synapse(rule, [0.010], [0.020])
    assert w == pytest.approx(0.5 * math.exp(-0.5), rel=1e-4)
    w, _ = _one_synapse(rule, [0.010, 0.012, 0.014, 0.016], [0.011, 0.013, 0.015, 0.017])
    assert 0.0 < w <= 1.0


def test_vogels2011_rate_relaxes_small_network():
    # Vogels et al. 2011 Fig. 4: without I -> E inhibition the excitatory neurons fire fast
    # and synchronously; inhibitory STDP (rho0 = 3 Hz) grows the I -> E weights and the
    # excitatory rate relaxes toward rho0. 1000 neurons (in-degrees of the full network),
    # plasticity on from 0.5 s; 2 s.
    import jax.random as jr

    from multiscale.circuit.spiking._stdp_networks import run_plastic
    from multiscale.circuit.spiking._vogels2011 import vogels2011_network

    c = vogels2011_network(jr.key(0), n=1000, t_plastic=0.5)
    out = run_plastic(c, key=jr.key(1), t1=2.0, chunk=0.5)
    e = out.rate[:, :800].mean(axis=1)
    assert out.mean_weight[0, 0] == 0.0 and out.mean_weight[-1, 0] > 0.5
    assert e[0] > 100.0  # uninhibited: fast tonic firing
    assert e[-1] < 0.5 * e[0]
    assert e[-1] > 3.0  # approached from above, not undershot


def test_dopamine_stdp_distal_reward_closed_form():
    # Izhikevich 2007: one pre -> post pairing (10 ms lag) writes c = A+ e^{-10/20} to the
    # eligibility trace; a dopamine pulse d_r at t_r (no tonic dopamine) then changes the
    # weight by c(t_r) d_r tau_c tau_d / ((tau_c + tau_d) tau_w), c(t_r) = c e^{-(t_r -
    # t_pair)/tau_c} (the closed form of Fremaux & Gerstner 2016 for an impulse modulator).
    from multiscale.circuit.spiking._stdp_networks import DopamineSTDP

    kw = dict(a_plus=0.1, a_minus=0.15, w_max=100.0, d0=0.0, d_reward=0.5)
    rule = DopamineSTDP(reward_times=(0.5,), **kw)
    w, aux = _one_synapse(rule, [0.010], [0.020], t1=3.0, dt=2e-4)
    c = 0.1 * math.exp(-0.5) * math.exp(-(0.5 - 0.020) / 1.0)
    expected = c * 0.5 * 1.0 * 0.2 / (1.2 * 0.01)
    assert w == pytest.approx(expected, rel=0.01)
    # The same pairing rewarded through the synapse's own detection, 0.48 s later.
    rule = DopamineSTDP(rewarded=0, reward_delay=0.48, **kw)
    w2, aux = _one_synapse(rule, [0.010], [0.020], t1=3.0, dt=2e-4)
    assert int(aux.rewards[0, 0]) == 1
    assert w2 == pytest.approx(w, rel=1e-3)
    # Post before pre: the trace is negative and the reward depresses (clipped at 0).
    rule = DopamineSTDP(reward_times=(0.5,), **kw)
    w3, _ = _one_synapse(rule, [0.020], [0.010], t1=3.0, dt=2e-4)
    assert w3 == 0.0


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: the LIF substitute of Izhikevich's (2007) network does not show his "
        "Fig. 1 reliably in 200 s. 1000 neurons, ext_rate 7.5 Hz, seeds k / k+1 "
        "(rewards, rewarded synapse mV, bulk mean mV): 0: 39, 3.17, 1.14; 1: 104, 0.00, "
        "1.29; 2: 42, 0.21, 1.09; 3: 3, 0.61, 0.79 (before 955b153's exact Poisson "
        "levels, seed 0: 12, 2.20, 0.85 - the only run that passed). The bulk grows with "
        "the number of rewards (every reward gates all eligibility traces) and the "
        "rewarded synapse grows in 2 of 5 runs"
    ),
)
def test_izhikevich2007_rewarded_synapse_grows():
    # Izhikevich 2007 Fig. 1 (distal reward): pairings of one synapse (pre, then post
    # within 20 ms) are rewarded by dopamine 1 s later, among ~80 000 plastic synapses
    # whose pairings go unrewarded. Izhikevich's run (1 h) brings the rewarded synapse to
    # the 4 mV maximum while the others stay low; here it is only required to grow by
    # more than half and end above twice the bulk mean, while the bulk does not grow.
    # The criterion is the paper's claim and is kept; the model misses it (see the xfail
    # reason, measured 200 s runs). The one passing run (seed 0, 12 rewards, 2.2 mV, bulk
    # 0.85 mV) was a lucky realisation: 955b153 changed the Poisson draws by a few ulps of
    # their levels and the same seed now gives 39 rewards, 3.17 mV and a bulk of 1.14 mV.
    # In seeds 0-2 the rewarded pairing recurs every 2-5 s (E rates rise from 2 to
    # 3.7-4.8 Hz), so dopamine is raised most of the time and gates the (net
    # potentiating) eligibility of all synapses: the bulk mean ends at 1.09-1.29 mV; with
    # 3 rewards (seed 3) it stays at 0.79 mV but the rewarded synapse gets too few.
    # Strict: a run that passes (1 of 5 so far, other draws) shows up as XPASS.
    import jax.random as jr

    from multiscale.circuit.spiking import izhikevich2007_network, run_plastic

    c = izhikevich2007_network(jr.key(0), ext_rate=7.5)
    out = run_plastic(c, key=jr.key(1), t1=200.0, chunk=20.0)
    w = out.weights[0]
    assert int(out.network.initial.aux[0].rewards[0, 0]) >= 5
    assert w[0] > 1.5
    assert np.mean(w) < 1.0
    assert w[0] > 2.0 * np.mean(w)


@pytest.mark.slow
def test_recurrent_pair_stdp_minutes_bounded():
    # Additive pair STDP on recurrent E -> E synapses (Song, Miller & Abbott 2000:
    # A+ = 0.005 w_max, A-/A+ = 1.05, tau = 20 ms, hard bounds) for 2 minutes of simulated
    # time, 1000 neurons. Depression slightly dominates, so the mean weight falls from
    # w0 = 0.5 w_max and settles (measured 0.18 -> 0.163 w_max over the last 100 s) with
    # the excitatory rate (61 Hz in the first 20 s, 11.6-11.8 Hz after 60 s); the weights
    # spread over [0, w_max] and stay inside it.
    import jax.random as jr

    from multiscale.circuit.spiking import recurrent_stdp_network, run_plastic

    c = recurrent_stdp_network(jr.key(0), ext_rate=9.0)
    out = run_plastic(c, key=jr.key(1), t1=120.0, chunk=20.0)
    w = out.weights[0]
    assert w.min() >= 0.0 and w.max() <= 1.0
    assert np.std(w) > 0.05  # STDP spreads the weights (all start at 0.5)
    m = out.mean_weight[:, 0]
    assert m[-1] < 0.5
    assert abs(m[-1] - m[-3]) < 0.03 * m[-1]  # settled over the last 40 s
    e = out.rate[:, :800].mean(axis=1)
    assert np.all(np.isfinite(e)) and abs(e[-1] - e[-3]) < 0.1 * e[-1]
    assert 1.0 < e[-1] < 50.0
