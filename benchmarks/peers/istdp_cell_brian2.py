"""Brian2 cross-check of multiscale's one-cell inhibitory STDP run (Vogels et al. 2011).

The same conductance-based LIF cell, inputs, weights and rule as
``multiscale.synapse.simulate_istdp_cell`` (80 E + 20 I Poisson inputs at 10 Hz,
w_E = 0.5 nS, eta = 0.2 nS, tau_STDP = 20 ms, alpha = 2 rho0 tau_STDP, w in [0, 100] nS,
dt = 0.5 ms, 40 s), written with Brian2's standard event-driven iSTDP synapse of
Vogels et al. 2011 (ModelDB 143751). Prints the output rate and mean inhibitory weight
in 5-s windows as JSON. Run with a Python that has brian2, e.g.
``/work/venvs/bench312/bin/python benchmarks/peers/istdp_cell_brian2.py --rho0 3``.
"""

import argparse
import json

import brian2 as b2
import numpy as np


def run(rho0, seed=0, t1=40.0, window=5.0, eta=0.2, n_exc=80, n_inh=20, rate=10.0, w_exc=0.5):
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.seed(seed)
    b2.defaultclock.dt = 0.5 * b2.ms
    ns = {  # the model's constants, passed to Brian2 as its namespace
        "C": 200 * b2.pF, "g_L": 10 * b2.nS, "E_L": -60 * b2.mV, "E_E": 0 * b2.mV,
        "E_I": -80 * b2.mV, "V_th": -50 * b2.mV, "V_reset": -60 * b2.mV, "I_b": 200 * b2.pA,
        "tau_E": 5 * b2.ms, "tau_I": 10 * b2.ms, "tau": 20 * b2.ms,
        "alpha": 2 * rho0 * 0.020, "eta": eta, "w_exc": w_exc, "nS": b2.nS,
    }  # fmt: skip
    cell = b2.NeuronGroup(
        1,
        """dv/dt = (g_L*(E_L - v) + gE*(E_E - v) + gI*(E_I - v) + I_b)/C : volt (unless refractory)
        dgE/dt = -gE/tau_E : siemens
        dgI/dt = -gI/tau_I : siemens""",
        threshold="v >= V_th",
        reset="v = V_reset",
        refractory=5 * b2.ms,
        method="euler",
        namespace=ns,
    )
    cell.v = ns["E_L"]
    pe = b2.PoissonGroup(n_exc, rate * b2.Hz)
    pi = b2.PoissonGroup(n_inh, rate * b2.Hz)
    se = b2.Synapses(pe, cell, on_pre="gE_post += w_exc*nS", namespace=ns)
    se.connect()
    si = b2.Synapses(
        pi,
        cell,
        """w : 1
        dApre/dt = -Apre/tau : 1 (event-driven)
        dApost/dt = -Apost/tau : 1 (event-driven)""",
        on_pre="""gI_post += w*nS
        w = clip(w + eta*(Apost - alpha), 0, 100)
        Apre += 1""",
        on_post="""w = clip(w + eta*Apre, 0, 100)
        Apost += 1""",
        namespace=ns,
    )
    si.connect()
    si.w = 0.0
    spikes = b2.SpikeMonitor(cell)
    rates, weights = [], []
    for _ in range(round(t1 / window)):
        n0 = spikes.num_spikes
        b2.run(window * b2.second)
        rates.append((spikes.num_spikes - n0) / window)
        weights.append(float(np.mean(si.w[:])))
    return {
        "rho0": rho0,
        "seed": seed,
        "rate": rates,
        "mean_w": weights,
        "last20": float(np.mean(rates[-4:])),
        "brian2": b2.__version__,
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rho0", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--t1", type=float, default=40.0)
    p.add_argument("--eta", type=float, default=0.2)
    p.add_argument("--n-inh", type=int, default=20)
    p.add_argument("--n-exc", type=int, default=80)
    p.add_argument("--w-exc", type=float, default=0.5)
    a = p.parse_args()
    kw = {"eta": a.eta, "n_exc": a.n_exc, "n_inh": a.n_inh, "w_exc": a.w_exc}
    print(json.dumps(run(a.rho0, a.seed, a.t1, **kw)))
