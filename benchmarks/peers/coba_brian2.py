"""Brian2 peer of the COBA benchmark (Brette et al. 2007, benchmark 1; see ``_coba.py``).

Modes: ``cpp_standalone`` (the whole run compiled to one C++ program, OpenMP with
``--threads`` threads) and ``cython`` (Brian2's runtime device with Cython code
generation, one thread). The membrane and both conductances are integrated with
Brian2's ``exponential_euler`` (exact for the conductances' decay, exponential Euler for
V given the conductances); ``(unless refractory)`` clamps V for 5 ms after a spike;
connections are independent Bernoulli draws with p = 0.02 (Brian2's own form of the
benchmark; NEST's example uses a fixed in-degree of 64 and 16, the same mean); spikes act
in the step after they are emitted (no extra delay).

Timing: ``sim_s`` is Brian2's own measure of the simulation loop (``_last_run_time``);
``build_s`` is everything else of the first run in this process -- code generation and
C++ or Cython compilation (reused from ``--cache`` when the generated code is unchanged),
plus, for the standalone binary, creating the synapses and writing the results.
``--repeats K`` (standalone only) runs the compiled binary K more times, each with a fresh
random seed (new connectivity and kick), as a user runs independent trials one after
another; ``trial_wall_s`` lists the wall time of each such binary run.

Run (peers venv, see benchmarks/README.md):
``python benchmarks/peers/coba_brian2.py --mode cpp_standalone --threads 2``; prints one
JSON line.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _coba as c  # noqa: E402


def _network(b2, mode: str):
    ms, mV, nS, pF, Hz = b2.ms, b2.mV, b2.nS, b2.pF, b2.Hz
    ns = dict(
        C_m=c.C_M * pF,
        g_L=c.G_L * nS,
        E_L=c.E_L * mV,
        E_e=c.E_E * mV,
        E_i=c.E_I * mV,
        tau_e=c.TAU_E * ms,
        tau_i=c.TAU_I * ms,
    )
    eqs = """
    dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v)) / C_m : volt (unless refractory)
    dg_e/dt = -g_e / tau_e : siemens
    dg_i/dt = -g_i / tau_i : siemens
    """
    P = b2.NeuronGroup(
        c.N,
        eqs,
        threshold=f"v > {c.V_TH}*mV",
        reset=f"v = {c.V_RESET}*mV",
        refractory=c.T_REF * ms,
        method="exponential_euler",
        namespace=ns,
    )
    P.v = c.E_L * mV
    Pe, Pi = P[: c.N_E], P[c.N_E :]
    Ce = b2.Synapses(Pe, P, on_pre=f"g_e += {c.W_E}*nS")
    Ci = b2.Synapses(Pi, P, on_pre=f"g_i += {c.W_I}*nS")
    Ce.connect(p=c.P_CONN)
    Ci.connect(p=c.P_CONN)
    rate = f"{c.KICK_RATE_HZ}*Hz*int(t >= {c.KICK_START}*ms and t < {c.KICK_STOP}*ms)"
    kick = b2.PoissonGroup(c.N_KICK, rates=rate)
    Ck = b2.Synapses(kick, P[: c.N_KICK], on_pre=f"g_e += {c.W_E}*nS")
    Ck.connect(j="i")
    mon = b2.SpikeMonitor(P)
    del Hz
    return b2.Network(P, Ce, Ci, kick, Ck, mon), mon, (Ce, Ci)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["cpp_standalone", "cython"], default="cpp_standalone")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=0)
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/multiscale-bench"))
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    import brian2 as b2

    t_import = time.perf_counter() - t_start
    b2.prefs.logging.console_log_level = "WARNING"
    directory = None
    if a.mode == "cpp_standalone":
        directory = os.path.join(a.cache, f"brian2_coba_t{a.threads}")
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = a.threads if a.threads > 1 else 0
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = c.DT * b2.ms
    b2.seed()  # a random seed: each run (and each binary run) is a new network and kick
    t0 = time.perf_counter()
    net, mon, syn = _network(b2, a.mode)
    net.run(c.T_BIO_MS * b2.ms)
    if a.mode == "cpp_standalone":
        b2.device.build(directory=directory, compile=True, run=True, with_output=False)
    total = time.perf_counter() - t0
    sim = float(b2.device._last_run_time)
    stats = c.spike_stats(np.asarray(mon.t_) * 1e3, np.asarray(mon.i_))
    out = {
        "engine": "brian2",
        "mode": a.mode,
        "threads": a.threads if a.mode != "cython" else 1,
        "version": b2.__version__,
        "import_s": t_import,
        "build_s": total - sim,
        "sim_s": sim,
        "per_bio_s": sim / (c.T_BIO_MS / 1000.0),
        "n_synapses": int(len(syn[0]) + len(syn[1])),
        **stats,
    }
    if a.mode == "cpp_standalone":
        out["peak_rss_mb_self"] = c.peak_rss_mb()
        trials = []
        results = b2.device.results_dir
        for _ in range(max(a.repeats, 1)):
            # Run the compiled program as Brian2 does, under /usr/bin/time: the rusage of a
            # child forked from this (large) Python process inherits its peak RSS.
            t1 = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M %U %S", "./main", "--results_dir", results],
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - t1
            rss, user, system = proc.stderr.strip().splitlines()[-1].split()
            rss_mb = int(rss) / 1024.0
            with open(os.path.join(results, "last_run_info.txt")) as f:
                loop = float(f.read().split()[0])
            st = c.spike_stats(np.asarray(mon.t_) * 1e3, np.asarray(mon.i_))
            trials.append(
                {
                    "wall_s": wall,
                    "sim_s": loop,
                    "rss_mb": rss_mb,
                    "cpu_s": float(user) + float(system),
                    "rate_hz": st["rate_hz"],
                    "cv_isi": st["cv_isi"],
                }
            )
        out["peak_rss_mb"] = max(t["rss_mb"] for t in trials)
        # CPU seconds of a whole run of the program (synapse creation and writing the
        # results included: an upper bound on its loop's CPU time), comparable across
        # engines on a loaded machine where wall times are not.
        out["program_cpu_s"] = float(np.median([t["cpu_s"] for t in trials]))
        if a.repeats:
            out["trial_wall_s"] = [t["wall_s"] for t in trials]
            out["trial_cpu_s"] = [t["cpu_s"] for t in trials]
            out["trial_sim_s"] = [t["sim_s"] for t in trials]
            out["trial_rate_hz"] = [t["rate_hz"] for t in trials]
            out["trial_cv_isi"] = [t["cv_isi"] for t in trials]
    else:
        out["peak_rss_mb"] = c.peak_rss_mb()
    c.emit(out)
    return out


if __name__ == "__main__":
    main()
