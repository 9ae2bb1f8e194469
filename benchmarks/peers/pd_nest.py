"""NEST peer of the Potjans-Diesmann microcircuit at NEST's example down-scaling (0.1).

Potjans & Diesmann (2014, Cereb Cortex 24:785): eight populations (L2/3, L4, L5, L6;
excitatory and inhibitory) of ``iaf_psc_exp`` neurons (tau_m = 10 ms, C_m = 250 pF,
E_L = V_reset = -65 mV, threshold -50 mV, 2 ms refractory, tau_syn = 0.5 ms), connected
by the published probabilities C_yx as K_yx = ln(1 - C_yx) / ln(1 - 1/(N_x N_y))
synapses drawn with replacement (NEST's ``fixed_total_number``); PSC amplitude
87.81 pA (a 0.15 mV PSP), doubled from L4E to L2/3E, -4x from inhibitory neurons, normal
with SD 10 % of the mean, sign kept; delays normal, 1.5 ms (0.75 ms from inhibitory
neurons) with SD half the mean, at least one step; Poisson background of 8 Hz per
external input (K_ext = 1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100). Initial
potentials normal per population (the model's "optimized" means and SDs).

Down-scaling as in NEST's example of the model: N -> round(0.1 N), total synapse numbers
K -> round(0.1 * 0.1 * K), K_ext -> round(0.1 K_ext), weights -> J / sqrt(0.1), and a DC
current per population that restores the full-scale mean input,
``0.001 tau_s (1 - sqrt(0.1)) [sum_x J_yx (K_yx / N_y) nu_x + J K_ext,y nu_bg]`` (pA, with
tau_s in ms, the full-scale in-degrees and the full-scale rates nu_x of the model's
reference run, 0.903 ... 7.829 Hz).

Timing: ``build_s`` is creating and connecting, ``presim_s`` the 500 ms warm-up (not
analysed, as in the example), ``sim_s`` the following 1 s of biological time; rates per
population over that second. Peak memory is the process's maximum RSS.

Run (peers venv, see benchmarks/README.md): ``python benchmarks/peers/pd_nest.py
--threads 2``; prints one JSON line.
"""

import argparse
import math
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _coba as c  # noqa: E402

NAMES = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# Connection probabilities, row = target, column = source (Potjans & Diesmann 2014, Table 5).
C = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
])  # fmt: skip
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
NU_BG = 8.0  # Hz per external input
NU_FULL = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])  # Hz
V0_MEAN = [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]
V0_SD = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]
J = 87.81  # pA
G = -4.0
TAU_S = 0.5  # ms
NEURON = {"tau_m": 10.0, "C_m": 250.0, "E_L": -65.0, "V_reset": -65.0, "V_th": -50.0,
          "t_ref": 2.0, "tau_syn_ex": TAU_S, "tau_syn_in": TAU_S}  # fmt: skip


def weights() -> np.ndarray:
    """Mean PSC amplitudes J_yx (pA), full scale."""
    w = np.tile([J, G * J] * 4, (8, 1))
    w[0, 2] = 2 * J  # L4E -> L2/3E
    return w


def synapse_numbers(n_full: np.ndarray) -> np.ndarray:
    """K_yx = ln(1 - C_yx) / ln(1 - 1/(N_x N_y)), total synapses, full scale."""
    prod = np.outer(n_full, n_full)
    return np.log(1.0 - C) / np.log(1.0 - 1.0 / prod)


def dc_compensation(scale: float) -> np.ndarray:
    """DC (pA) that keeps the full-scale mean input after scaling K by ``scale``."""
    indeg = synapse_numbers(N_FULL) / N_FULL[:, None]
    mean_in = (weights() * indeg) @ NU_FULL + J * K_EXT * NU_BG
    return 0.001 * TAU_S * (1.0 - math.sqrt(scale)) * mean_in


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=55)
    p.add_argument("--t-presim", type=float, default=500.0, help="ms")
    p.add_argument("--t-sim", type=float, default=1000.0, help="ms")
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    import nest

    t_import = time.perf_counter() - t_start
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    s = a.scale
    t0 = time.perf_counter()
    nest.SetKernelStatus({"resolution": c.DT, "local_num_threads": a.threads,
                          "rng_seed": a.seed, "print_time": False})  # fmt: skip
    n = np.round(N_FULL * s).astype(int)
    k_tot = np.round(synapse_numbers(N_FULL) * s * s).astype(int)
    k_ext = np.round(K_EXT * s).astype(int)
    w = weights() / math.sqrt(s)
    dc = dc_compensation(s)
    pops = []
    for i in range(8):
        pop = nest.Create("iaf_psc_exp", int(n[i]), params={**NEURON, "I_e": float(dc[i])})
        pop.V_m = nest.random.normal(mean=V0_MEAN[i], std=V0_SD[i])
        pops.append(pop)
    rec = nest.Create("spike_recorder")
    for y in range(8):
        for x in range(8):
            if k_tot[y, x] == 0:
                continue
            mean, d = w[y, x], (1.5 if x % 2 == 0 else 0.75)
            lo, hi = (0.0, np.inf) if mean > 0 else (-np.inf, 0.0)
            syn = {
                "synapse_model": "static_synapse",
                "weight": nest.math.redraw(nest.random.normal(mean, abs(0.1 * mean)), lo, hi),
                "delay": nest.math.redraw(nest.random.normal(d, 0.5 * d), c.DT, np.inf),
            }
            conn = {"rule": "fixed_total_number", "N": int(k_tot[y, x]),
                    "allow_autapses": True, "allow_multapses": True}  # fmt: skip
            nest.Connect(pops[x], pops[y], conn, syn)
        bg = nest.Create("poisson_generator", params={"rate": NU_BG * float(k_ext[y])})
        nest.Connect(bg, pops[y], "all_to_all",
                     {"weight": J / math.sqrt(s), "delay": 1.5})  # fmt: skip
        nest.Connect(pops[y], rec)
    n_syn = int(nest.num_connections) - int(n.sum()) * 2
    nest.Prepare()
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Run(a.t_presim)
    presim = time.perf_counter() - t1
    t2 = time.perf_counter()
    nest.Run(a.t_sim)
    sim = time.perf_counter() - t2
    nest.Cleanup()
    ev = rec.get("events")
    times, senders = np.asarray(ev["times"]), np.asarray(ev["senders"])
    keep = times > a.t_presim
    rates = []
    for pop in pops:
        lo, hi = pop[0].global_id, pop[-1].global_id
        cnt = np.sum(keep & (senders >= lo) & (senders <= hi))
        rates.append(float(cnt / len(pop) / (a.t_sim / 1000.0)))
    out = {"engine": "nest", "mode": "iaf_psc_exp", "threads": a.threads, "scale": s,
           "version": nest.__version__, "import_s": t_import, "build_s": build,
           "presim_s": presim, "sim_s": sim, "per_bio_s": sim / (a.t_sim / 1000.0),
           "seed": a.seed, "n_neurons": int(n.sum()), "n_synapses": n_syn,
           "pop_rates_hz": rates, "peak_rss_mb": c.peak_rss_mb()}  # fmt: skip
    c.emit(out)
    return out


if __name__ == "__main__":
    main()
