"""The multiscale side of ``bench_spiking.py``: one COBA run (or a batch) in this process.

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


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=0, help="0: one trial without a trial axis")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--t1", type=float, default=1.0)
    a = p.parse_args(argv)
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
    res = run(net, key=jr.key(seed + 1), t1=a.t1, trials=trials)
    jax.block_until_ready(res.rate)
    first = time.perf_counter() - t_first
    times = []
    for r in range(a.repeats):
        t1 = time.perf_counter()
        res = run(net, key=jr.key(seed + 2 + r), t1=a.t1, trials=trials)
        jax.block_until_ready(res.rate)
        times.append(time.perf_counter() - t1)
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
        "seed": seed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rate_hz": float(rate.mean()),
        "rate_e_hz": float(rate[..., :n_e].mean()),
        "rate_i_hz": float(rate[..., n_e:].mean()),
        "cv_isi": float(np.nanmean(cv)),
        "python": sys.version.split()[0],
    }
    if a.trials:
        out["trials"] = a.trials
        out["per_trial_s"] = sim / a.trials
        out["trial_rate_hz"] = [float(x) for x in per_trial_rate]
        out["trial_cv_isi"] = [float(x) for x in np.nanmean(cv, axis=-1)]
        out["n_nonfinite"] = int(jnp.sum(res.result != 0))
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
