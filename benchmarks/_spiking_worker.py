"""The multiscale side of ``bench_spiking.py``: one COBA run (or a batch) in this process,
or, with ``--pd``, the Potjans-Diesmann microcircuit at scale 0.1 (see ``pd_main``).

Prints one JSON line (the keys of ``peers/_coba.py``'s results), or ``{"missing": why}``
when this checkout has no ``multiscale.circuit.spiking`` COBA constructor. Timing: the
first call of ``spiking.run`` compiles and runs; ``sim_s`` is the median of the following
``--repeats`` calls on fresh keys (same network); ``build_s`` is network construction plus
the first call minus ``sim_s``.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time


def _setup(a) -> None:
    """Pin the process to ``a.cores`` cores and make ``a.devices`` CPU devices, before JAX
    starts. XLA's CPU runtime runs independent kernels of a step on a pool of threads;
    for one small network the hand-offs between them cost more than they gain, so one
    core is the like-for-like partner of a single-threaded peer."""
    if a.cores:
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[: a.cores])
    if a.devices > 1:
        import jax

        jax.config.update("jax_num_cpu_devices", a.devices)


def _extra(a) -> dict:
    return {"cores": a.cores or os.cpu_count(), "devices": a.devices}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=0, help="0: one trial without a trial axis")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--t1", type=float, default=1.0)
    p.add_argument(
        "--pd",
        action="store_true",
        help="Potjans-Diesmann at scale 0.1 instead of COBA: 0.5 s warm-up + 1 s, timed whole",
    )
    p.add_argument(
        "--cores",
        type=int,
        default=0,
        help="run on this many of the allowed cores (process affinity, set before JAX "
        "starts; 0: all)",
    )
    p.add_argument(
        "--devices",
        type=int,
        default=1,
        help="CPU devices (jax_num_cpu_devices) and spiking.run(devices=...) for batches",
    )
    a = p.parse_args(argv)
    _setup(a)
    if a.pd:
        return pd_main(a)
    try:
        from multiscale.circuit import spiking

        build_net, run = spiking.coba_network, spiking.run
    except (ImportError, AttributeError) as e:
        out = {"missing": f"multiscale.circuit.spiking.coba_network/run not available: {e}"}
        print(json.dumps(out), flush=True)
        return out
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little") % 2**30
    trials = a.trials or None
    t0 = time.perf_counter()
    net = build_net(jr.key(seed))
    jax.block_until_ready(jax.tree_util.tree_leaves(net))
    t_first = time.perf_counter()
    dev = {"devices": a.devices} if trials else {}
    res = run(net, key=jr.key(seed + 1), t1=a.t1, trials=trials, **dev)
    jax.block_until_ready(res.rate)
    first = time.perf_counter() - t_first
    times, cpus = [], []
    for r in range(a.repeats):
        t1, c1 = time.perf_counter(), time.process_time()
        res = run(net, key=jr.key(seed + 2 + r), t1=a.t1, trials=trials, **dev)
        jax.block_until_ready(res.rate)
        times.append(time.perf_counter() - t1)
        cpus.append(time.process_time() - c1)
    sim = statistics.median(times) if times else first
    rate = np.asarray(res.rate)  # (*trials, neurons), Hz
    cv = np.asarray(res.cv)
    n_e = net.sizes[0]
    per_trial_rate = rate.mean(axis=-1)
    out = {
        "engine": "multiscale",
        "mode": f"spiking.run, {a.trials} trials batched" if a.trials else "spiking.run",
        "threads": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "build_s": (t_first - t0) + first - sim,
        "sim_s": sim,
        "per_bio_s": sim / a.t1,
        "cpu_per_bio_s": statistics.median(cpus) / a.t1 if cpus else None,
        "seed": seed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rate_hz": float(rate.mean()),
        "rate_e_hz": float(rate[..., :n_e].mean()),
        "rate_i_hz": float(rate[..., n_e:].mean()),
        "cv_isi": float(np.nanmean(cv)),
        "python": sys.version.split()[0],
        **_extra(a),
    }
    if a.trials:
        out["trials"] = a.trials
        out["per_trial_s"] = sim / a.trials
        out["cpu_per_trial_s"] = statistics.median(cpus) / a.trials if cpus else None
        out["trial_rate_hz"] = [float(x) for x in per_trial_rate]
        out["trial_cv_isi"] = [float(x) for x in np.nanmean(cv, axis=-1)]
        out["n_nonfinite"] = int(jnp.sum(res.result != 0))
    print(json.dumps(out), flush=True)
    return out


def pd_main(a) -> dict:
    """Potjans-Diesmann at NEST's scale 0.1: one 1.5 s run (0.5 s warm-up, then the 1 s
    whose per-population rates are reported, as ``peers/pd_nest.py``), compiled by a first
    identical run; ``per_bio_s`` is the timed run's wall time over its 1.5 s, ``cpu_s`` its
    CPU time; ``build_s`` network construction plus the first run minus the timed one."""
    try:
        from multiscale.circuit import spiking
        from multiscale.circuit.spiking._potjans_diesmann import potjans_diesmann
    except (ImportError, AttributeError) as e:
        out = {"missing": f"multiscale Potjans-Diesmann not available: {e}"}
        print(json.dumps(out), flush=True)
        return out
    import jax
    import jax.random as jr
    import numpy as np

    seed = 55 if a.seed is None else a.seed
    t_warm, t_sim = 0.5, 1.0
    t0 = time.perf_counter()
    net = potjans_diesmann(jr.key(seed), scale=0.1).with_delay_ring()
    jax.block_until_ready(jax.tree_util.tree_leaves(net))
    t_first = time.perf_counter()
    run = lambda k: spiking.run(net, key=jr.key(k), t1=t_warm + t_sim, save_every=1)
    jax.block_until_ready(run(seed + 1).population_rate)
    first = time.perf_counter() - t_first
    c1, w1 = time.process_time(), time.perf_counter()
    res = run(seed + 2)
    pop = np.asarray(res.population_rate)
    sim, cpu = time.perf_counter() - w1, time.process_time() - c1
    rates = pop[int(round(t_warm / net.dt)) :].mean(axis=0)
    out = {
        "engine": "multiscale",
        "mode": "spiking.run, ring-buffer delivery",
        "threads": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "build_s": (t_first - t0) + first - sim,
        "sim_s": sim,
        "cpu_s": cpu,
        "per_bio_s": sim / (t_warm + t_sim),
        "cpu_per_bio_s": cpu / (t_warm + t_sim),
        "seed": seed,
        "n_neurons": int(net.n_neurons),
        "n_synapses": int(sum(p.connectivity.n_synapses for p in net.projections)),
        "pop_rates_hz": [float(r) for r in rates],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "python": sys.version.split()[0],
        **_extra(a),
    }
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
