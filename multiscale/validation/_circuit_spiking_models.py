"""Published spiking models on the spiking core: the Potjans & Diesmann (2014) cortical
microcircuit at NEST's 10 % scale, and the network of Vogels et al. (2011) with inhibitory STDP.

NEST's example (Potjans & Diesmann 2014, scaled as van Albada et al. 2015) ships the rates of
one 10 %-scale run as reference data; the per-population mean rates over 1 s after a
500 ms warm-up are the targets here, with the tolerance (+-40 %) that a single 1 s run of
a different network realisation allows.
"""

import jax.random as jr
import numpy as np

from ..circuit import spiking
from ..circuit.spiking._potjans_diesmann import POPULATIONS, potjans_diesmann
from ._registry import holds, target, within

#: Mean rates (Hz) of NEST's 10 %-scale reference run (L2/3E ... L6I), 1 s after 500 ms.
PD_REFERENCE_10PCT = (0.402, 2.017, 3.880, 4.958, 6.575, 7.726, 0.831, 6.986)


def pd_rates(seed: int = 0, t_warm: float = 0.5, t_measure: float = 1.0, delay_bin: int = 1):
    """Per-population mean rates (Hz) of the 10 % microcircuit after ``t_warm`` s."""
    net = potjans_diesmann(jr.key(seed), scale=0.1, delay_bin=delay_bin)
    out = spiking.run(net, key=jr.key(1000 + seed), t1=t_warm + t_measure, save_every=1)
    r = np.asarray(out.population_rate)
    return r[int(round(t_warm / net.dt)) :].mean(axis=0)


@target(
    name="potjans_diesmann_10pct_rates",
    scale="circuit",
    source="Potjans & Diesmann 2014 Cereb Cortex 24:785 microcircuit, down-scaled to 10 % of "
    "neurons and in-degrees with weight and DC compensation as NEST's PyNEST example "
    "(van Albada et al. 2015 PLoS Comput Biol 11:e1004490); per-population rates of the "
    "example's 10 % reference data (one run, 1 s after 500 ms), +-40 % for one 1 s run",
    slow=True,
)
def _pd_rates():
    rates = pd_rates()
    out = [
        within(f"{name} rate, Hz", ref, float(r), rtol=0.4)
        for name, ref, r in zip(POPULATIONS, PD_REFERENCE_10PCT, rates, strict=True)
    ]
    e, i = rates[0::2], rates[1::2]
    out.append(holds("I faster than E in every layer", "all 4 layers", f"{e} < {i}", all(e < i)))
    return out


def vogels_before_after(n: int = 2000, t1: float = 11.0, seed: int = 0):
    """E rate per second of the plastic run, and rate, ISI CV and population Fano factor
    (3 ms bins) of 1 s runs with the initial and with the learned I -> E weights."""
    from ..circuit.spiking._stdp_networks import run_plastic
    from ..circuit.spiking._vogels2011 import vogels2011_network

    c = vogels2011_network(jr.key(seed), n=n, t_plastic=1.0)
    out = run_plastic(c, key=jr.key(100 + seed), t1=t1, chunk=1.0)
    n_e = c.network.sizes[0]
    stats = []
    for net in (c.network, c.with_weights(out.weights)):
        r = spiking.run(net, key=jr.key(200 + seed), t1=1.0, save_every=1)
        fano = spiking.population_fano(
            np.asarray(r.population_rate)[2000:], net.sizes, net.dt, bin_width=3e-3
        )
        stats.append((float(np.mean(r.rate[:n_e])), float(np.nanmean(r.cv[:n_e])), float(fano[0])))
    return out.rate[:, :n_e].mean(axis=1), stats


@target(
    name="vogels2011_istdp_network",
    scale="circuit",
    source="Vogels, Sprekeler, Zenke, Clopath & Gerstner 2011 Science 334:1569, Fig. 4 "
    "(network parameters of the authors' and Brian2's scripts): with rho0 = 3 Hz the "
    "excitatory rate relaxes toward 3 Hz within the 10 s run and the synchronous state "
    "becomes asynchronous irregular; 2000 neurons with the full network's in-degrees",
    slow=True,
    known_gap="after 10 s of plasticity the excitatory rate is 8.3 Hz (from 161 Hz before "
    "plasticity; mean I->E weight 1.6 nS), not within 1 Hz of rho0 = 3 Hz. Run on to 40 s "
    "it levels off near 5.5 Hz (weight 1.8 nS, growing 0.005 nS/s): the rule's fixed "
    "point rho0 assumes uncorrelated pre and post trains, while an inhibitory spike "
    "suppresses the next output spike, so the pre trace at post spikes is below its mean "
    "and the drift vanishes above rho0 (as in the one-cell target vogels_istdp_lif_cell, "
    "whose 1.5x excess Brian2 2.10.1 reproduces with the same model: a property of the "
    "model, not a bug). "
    "The transition to the asynchronous irregular state (CV 0.01 -> 0.79, Fano factor "
    "611 -> 43) is reproduced",
)
def _vogels():
    per_second, (before, after) = vogels_before_after()
    return [
        holds(
            "E rate falls during plasticity",
            "last second < 0.1 x the first",
            f"{per_second[0]:.1f} -> {per_second[-1]:.1f} Hz",
            per_second[-1] < 0.1 * per_second[0],
        ),
        holds(
            "synchronous regular before",
            "CV < 0.3 and population Fano > 100",
            f"CV {before[1]:.2f}, Fano {before[2]:.0f}",
            before[1] < 0.3 and before[2] > 100,
        ),
        holds(
            "asynchronous irregular after",
            "CV > 0.7 and Fano < 0.2 x before",
            f"CV {after[1]:.2f}, Fano {after[2]:.0f}",
            after[1] > 0.7 and after[2] < 0.2 * before[2],
        ),
        within("E rate after 10 s of plasticity, Hz", 3.0, per_second[-1], atol=1.0),
    ]
