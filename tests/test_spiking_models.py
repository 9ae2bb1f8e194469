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
