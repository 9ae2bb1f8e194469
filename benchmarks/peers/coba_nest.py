"""NEST peer of the COBA benchmark (Brette et al. 2007, benchmark 1; see ``_coba.py``).

The network of NEST's own example of the benchmark (``brette_et_al_2007/coba.py``):
``iaf_cond_exp`` neurons (NEST integrates V and the two conductances with the GSL's
adaptive Runge-Kutta-Fehlberg 4(5) inside each 0.1 ms step), fixed in-degree
connectivity (64 excitatory and 16 inhibitory inputs per neuron, int(0.02 N_E) and
int(0.02 N_I)), synaptic delay 0.1 ms (one step), the 300 Hz Poisson kick from 1 to
51 ms onto the first 50 excitatory neurons. All 4000 neurons are recorded (the example
records 500 per population) so that the rate and the ISI CV cover the whole network.

Timing: ``build_s`` is creating and connecting the network, ``sim_s`` the wall time of
``nest.Simulate`` for 1 s of biological time; peak memory is the process's maximum RSS.

Run (peers venv, see benchmarks/README.md):
``python benchmarks/peers/coba_nest.py --threads 2``; prints one JSON line.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _coba as c  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    import nest

    t_import = time.perf_counter() - t_start
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    seed = a.seed if a.seed is not None else int(np.random.SeedSequence().entropy % 2**30) + 1
    t0 = time.perf_counter()
    nest.SetKernelStatus(
        {"resolution": c.DT, "local_num_threads": a.threads, "rng_seed": seed, "print_time": False}
    )
    params = {
        "E_L": c.E_L,
        "V_th": c.V_TH,
        "V_reset": c.V_RESET,
        "t_ref": c.T_REF,
        "E_ex": c.E_E,
        "E_in": c.E_I,
        "C_m": c.C_M,
        "g_L": c.G_L,
        "tau_syn_ex": c.TAU_E,
        "tau_syn_in": c.TAU_I,
        "V_m": c.E_L,
    }
    pop = nest.Create("iaf_cond_exp", c.N, params=params)
    pe, pi = pop[: c.N_E], pop[c.N_E :]
    kick = nest.Create(
        "poisson_generator",
        params={"rate": c.KICK_RATE_HZ, "start": c.KICK_START, "stop": c.KICK_STOP},
    )
    rec = nest.Create("spike_recorder")
    syn_e = {"synapse_model": "static_synapse", "weight": c.W_E, "delay": c.DT}
    syn_i = {"synapse_model": "static_synapse", "weight": -c.W_I, "delay": c.DT}
    ce, ci = int(c.P_CONN * c.N_E), int(c.P_CONN * c.N_I)
    nest.Connect(pe, pop, {"rule": "fixed_indegree", "indegree": ce}, syn_e)
    nest.Connect(pi, pop, {"rule": "fixed_indegree", "indegree": ci}, syn_i)
    nest.Connect(kick, pe[: c.N_KICK], "all_to_all", syn_e)
    nest.Connect(pop, rec)
    nest.Prepare()  # so that the simulation timing excludes NEST's own set-up
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Run(c.T_BIO_MS)
    sim = time.perf_counter() - t1
    nest.Cleanup()
    ev = rec.get("events")
    first = pop[0].global_id
    stats = c.spike_stats(np.asarray(ev["times"]), np.asarray(ev["senders"]) - first)
    out = {
        "engine": "nest",
        "mode": "iaf_cond_exp",
        "threads": a.threads,
        "version": nest.__version__,
        "import_s": t_import,
        "build_s": build,
        "sim_s": sim,
        "per_bio_s": sim / (c.T_BIO_MS / 1000.0),
        "seed": seed,
        "n_synapses": int(nest.num_connections) - c.N - c.N_KICK,
        "peak_rss_mb": c.peak_rss_mb(),
        **stats,
    }
    c.emit(out)
    return out


if __name__ == "__main__":
    main()
