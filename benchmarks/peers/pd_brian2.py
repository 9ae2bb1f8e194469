"""Brian2 peer of the Potjans-Diesmann microcircuit at NEST's example down-scaling (0.1).

The network of ``pd_nest.py`` (same parameters, down-scaling and DC compensation, taken
from there) written for Brian2's ``cpp_standalone`` device: LIF neurons with exponential
post-synaptic currents, ``dV/dt = (E_L - V)/tau_m + (I + I_DC)/C_m``,
``dI/dt = -I/tau_s`` integrated exactly (Brian2's ``exact``), the refractory clamp of
V; the fixed total numbers of synapses drawn with replacement in NumPy and passed to
``connect(i=..., j=...)``; per-synapse weights (normal, SD 10 %, sign kept) and delays
(normal, SD 50 %, at least one step) drawn likewise and rounded by Brian2 to the step;
the Poisson background as one ``PoissonInput`` per population (K_ext sources of 8 Hz,
binomial per step).

Timing: ``sim_s`` is Brian2's measure of the 1 s simulation loop after a 500 ms warm-up
(the warm-up is the first of two ``run`` calls in the same program); ``build_s`` the
rest of this process's time (code generation, C++ compilation, reused from ``--cache``
when the code is unchanged, synapse creation and the warm-up). Peak memory: the compiled
program's own.

Run (peers venv, see benchmarks/README.md): ``python benchmarks/peers/pd_brian2.py
--threads 1``; prints one JSON line.
"""

import argparse
import math
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _coba as c  # noqa: E402
import pd_nest as pd  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=55)
    p.add_argument("--t-presim", type=float, default=500.0, help="ms")
    p.add_argument("--t-sim", type=float, default=1000.0, help="ms")
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/multiscale-bench"))
    a = p.parse_args(argv)
    import brian2 as b2

    b2.prefs.logging.console_log_level = "WARNING"
    directory = os.path.join(a.cache, f"brian2_pd_t{a.threads}")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = a.threads if a.threads > 1 else 0
    b2.defaultclock.dt = c.DT * b2.ms
    b2.seed(a.seed)
    rng = np.random.default_rng(a.seed)
    ms, mV, pA, pF, Hz = b2.ms, b2.mV, b2.pA, b2.pF, b2.Hz
    s = a.scale
    t0 = time.perf_counter()
    n = np.round(pd.N_FULL * s).astype(int)
    k_tot = np.round(pd.synapse_numbers(pd.N_FULL) * s * s).astype(int)
    k_ext = np.round(pd.K_EXT * s).astype(int)
    w_mean = pd.weights() / math.sqrt(s)
    dc = pd.dc_compensation(s)
    nrn = pd.NEURON
    eqs = """
    dv/dt = (E_L - v) / tau_m + (I + I_dc) / C_m : volt (unless refractory)
    dI/dt = -I / tau_s : amp
    I_dc : amp
    """
    ns = dict(E_L=nrn["E_L"] * mV, tau_m=nrn["tau_m"] * ms, C_m=nrn["C_m"] * pF,
              tau_s=pd.TAU_S * ms)  # fmt: skip
    P = b2.NeuronGroup(int(n.sum()), eqs, threshold=f"v > {nrn['V_th']}*mV",
                       reset=f"v = {nrn['V_reset']}*mV", refractory=nrn["t_ref"] * ms,
                       method="exact", namespace=ns)  # fmt: skip
    start = np.concatenate([[0], np.cumsum(n)])
    v0 = np.concatenate([rng.normal(pd.V0_MEAN[i], pd.V0_SD[i], n[i]) for i in range(8)])
    P.v = v0 * mV
    P.I_dc = np.repeat(dc, n) * pA
    pre, post, wt, dl = [], [], [], []
    for y in range(8):
        for x in range(8):
            k = int(k_tot[y, x])
            if k == 0:
                continue
            pre.append(start[x] + rng.integers(0, n[x], k))
            post.append(start[y] + rng.integers(0, n[y], k))
            mean = w_mean[y, x]
            ww = rng.normal(mean, abs(0.1 * mean), k)
            bad = np.sign(ww) != np.sign(mean)
            while bad.any():  # redraw to keep the sign, as NEST's redraw does
                ww[bad] = rng.normal(mean, abs(0.1 * mean), bad.sum())
                bad = np.sign(ww) != np.sign(mean)
            d = 1.5 if x % 2 == 0 else 0.75
            dd = rng.normal(d, 0.5 * d, k)
            low = dd < c.DT
            while low.any():
                dd[low] = rng.normal(d, 0.5 * d, low.sum())
                low = dd < c.DT
            wt.append(ww)
            dl.append(dd)
    S = b2.Synapses(P, P, "w : amp", on_pre="I_post += w")
    S.connect(i=np.concatenate(pre), j=np.concatenate(post))
    S.w = np.concatenate(wt) * pA
    S.delay = np.concatenate(dl) * ms
    inputs = [
        b2.PoissonInput(
            P[start[y] : start[y + 1]],
            "I",
            N=int(k_ext[y]),
            rate=pd.NU_BG * Hz,
            weight=f"{pd.J / math.sqrt(s)}*pA",
        )  # fmt: skip
        for y in range(8)
    ]
    mon = b2.SpikeMonitor(P)
    net = b2.Network(P, S, mon, *inputs)
    net.run(a.t_presim * ms)
    net.run(a.t_sim * ms)
    b2.device.build(directory=directory, compile=True, run=False)
    results = b2.device.results_dir or os.path.join(directory, "results")
    os.makedirs(results, exist_ok=True)
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "./main", "--results_dir", results],
                          cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=True)  # fmt: skip
    b2.device.run(directory=directory, with_output=False)
    total = time.perf_counter() - t0
    # Brian2 writes the time of the last run() (the measured second) to last_run_info.txt.
    sim = float(b2.device._last_run_time)
    t_ms, idx = np.asarray(mon.t_) * 1e3, np.asarray(mon.i_)
    keep = t_ms > a.t_presim
    counts = np.bincount(idx[keep], minlength=int(n.sum()))
    rates = [float(counts[start[i] : start[i + 1]].sum() / n[i] / (a.t_sim / 1e3))
             for i in range(8)]  # fmt: skip
    out = {"engine": "brian2", "mode": "cpp_standalone", "threads": a.threads, "scale": s,
           "version": b2.__version__, "build_s": total - sim, "sim_s": sim,
           "per_bio_s": sim / (a.t_sim / 1000.0), "seed": a.seed, "n_neurons": int(n.sum()),
           "n_synapses": int(k_tot.sum()), "pop_rates_hz": rates,
           "peak_rss_mb": int(proc.stderr.strip().splitlines()[-1]) / 1024.0}  # fmt: skip
    c.emit(out)
    return out


if __name__ == "__main__":
    main()
