"""Parameter sweeps at scale: throughput, growth with size, compile once, 1 vs 2 devices.

Workload (one member): a Tsodyks–Markram synapse (U, tau_rec, tau_facil from a Latin
hypercube) driven by its own 50-spike Poisson train at 20 Hz (drawn from the member's
key); readout: the mean efficacy of the train. Sizes 1e4, 1e5, 3e5, 1e6 parameter sets
(``--quick``: 1e3, 1e4, 1e5), each in a fresh process (for its peak memory).

Compared on the same workload:
- ``multiscale.sweep.sweep`` (chunks of 65536 members, one compiled program);
- NumPy, vectorized over members (the recursion in a loop over spikes), the natural
  hand-written alternative;
- a Python loop calling a jitted one-member function (2000 members, extrapolated).

Then the decision circuit (``multiscale.sweep.DecisionSummary``: 4 trials of the Wong &
Wang 2006 circuit per set at 12.8 % coherence) for 1e3, 1e4, 3e4 sets (``--quick``: 1e3,
1e4), against a Python loop of a jitted one-set function.

Run: ``python benchmarks/bench_sweep.py [--quick]``; writes benchmarks/results/sweep.md.
"""

import argparse
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

CHUNK = 65536
N_SPIKES = 50
RATE = 20.0


def _workload():
    import jax.numpy as jnp
    import jax.random as jr

    from multiscale.synapse import short_term_efficacy

    traces = []

    def member(model, key):
        traces.append(1)
        times = jnp.cumsum(jr.exponential(key, (N_SPIKES,)) / RATE)
        return {"mean_efficacy": jnp.mean(short_term_efficacy(model, times).efficacy)}

    return member, traces


def _design(n):
    import jax.random as jr

    from multiscale.sweep import LatinHypercube

    bounds = {
        lambda m: m.U: (0.05, 0.9),
        lambda m: m.tau_rec: (0.05, 1.5),
        lambda m: m.tau_facil: (0.0, 1.0),
    }
    return LatinHypercube(bounds, n, key=jr.key(0))


def _numpy_sweep(table, times):
    """The same recursion, vectorized over members with NumPy (float32 like JAX)."""
    import numpy as np

    U, tau_rec, tau_facil = (table[:, j].astype(np.float32) for j in range(3))
    delta = np.diff(times, axis=1, prepend=times[:, :1])
    u, R = U.copy(), np.ones_like(U)
    total = u * R
    for k in range(1, times.shape[1]):
        d = delta[:, k]
        with np.errstate(divide="ignore", over="ignore"):
            d_f = np.where(tau_facil > 0, np.exp(-d / np.maximum(tau_facil, 1e-30)), 0.0)
        d_r = np.exp(-d / tau_rec)
        u_next = U + u * (1 - U) * d_f
        R = 1 - (1 - R * (1 - u)) * d_r
        u = u_next
        total = total + u * R
    return total / times.shape[1]


def worker(n: int, n_devices: int) -> dict:
    """One size in this process: sweep, NumPy and loop timings, peak memory."""
    import jax
    import jax.random as jr
    import numpy as np

    from multiscale.sweep import sweep
    from multiscale.synapse import TsodyksMarkram

    member, traces = _workload()
    design = _design(n)
    devices = jax.local_devices()[:n_devices]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chunk = min(CHUNK, n)
    t = time.perf_counter()
    ds = sweep(member, TsodyksMarkram(), design, key=jr.key(1), chunk_size=chunk,
               devices=devices, progress=False)  # fmt: skip
    first = time.perf_counter() - t
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        sweep(member, TsodyksMarkram(), design, key=jr.key(1), chunk_size=chunk,
              devices=devices, progress=False)  # fmt: skip
        runs.append(time.perf_counter() - t)
    # Startup (trace + compile + one chunk) from a sweep of exactly one chunk.
    t = time.perf_counter()
    sweep(member, TsodyksMarkram(), _design(chunk), key=jr.key(1), chunk_size=chunk,
          devices=devices, progress=False)  # fmt: skip
    one_chunk = time.perf_counter() - t
    result = {
        "n": n,
        "devices": len(devices),
        "sweep_s": statistics.median([first, *runs]),
        "one_chunk_s": one_chunk,
        "traces_per_sweep": len(traces) / 4,
        "failed": int((ds["status"].values != 0).sum()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss0 / 1024,
    }
    if n_devices == 1:
        # Correctness: NumPy on the very spike trains of the first members' keys.
        m = min(n, 20_000)
        keys = jax.vmap(lambda i: jr.fold_in(jr.key(1), i))(np.arange(m))
        times = np.asarray(
            jax.vmap(lambda k: jax.numpy.cumsum(jr.exponential(k, (N_SPIKES,)) / RATE))(keys)
        )
        table = design.table()
        ref = _numpy_sweep(table[:m], times)
        result["numpy_max_abs_diff"] = float(np.max(np.abs(ref - ds["mean_efficacy"].values[:m])))
        # Timing: NumPy doing the whole job (its own Poisson trains, then the recursion).
        t = time.perf_counter()
        rng = np.random.default_rng(0)
        trains = np.cumsum(rng.exponential(1.0 / RATE, (n, N_SPIKES)).astype(np.float32), axis=1)
        _numpy_sweep(table, trains)
        result["numpy_s_per_member"] = (time.perf_counter() - t) / n
        # Python loop over a jitted one-member function (2000 members, extrapolated).
        one = jax.jit(lambda U, r, f, k: member(TsodyksMarkram(U, r, f), k))
        one(*table[0], keys[0])["mean_efficacy"].block_until_ready()
        t = time.perf_counter()
        for i in range(min(m, 2000)):
            one(*table[i], keys[i])["mean_efficacy"].block_until_ready()
        result["loop_s_per_member"] = (time.perf_counter() - t) / min(m, 2000)
    return result


CIRCUIT_TRIALS = 4
CIRCUIT_CHUNK = 2048


def circuit_worker(n: int) -> dict:
    """Decision-circuit sweep of ``n`` parameter sets (4 trials of 2.5 s each) in this process."""
    import jax
    import jax.random as jr
    import numpy as np

    from multiscale.circuit import WongWang2006
    from multiscale.sweep import DecisionSummary, LatinHypercube, sweep
    from multiscale.synapse import SaturatingNMDA

    traces = []
    summary = DecisionSummary(coherence=0.128, n_trials=CIRCUIT_TRIALS)

    def fn(circuit, key):
        traces.append(1)
        return summary(circuit, key)

    design = LatinHypercube(
        {lambda m: m.nmda.tau_decay: (0.08, 0.14), lambda m: m.J_N11: (0.25, 0.27)},
        n,
        key=jr.key(0),
    )
    t = time.perf_counter()
    ds = sweep(fn, WongWang2006(), design, key=jr.key(1), chunk_size=min(CIRCUIT_CHUNK, n),
               progress=False)  # fmt: skip
    elapsed = time.perf_counter() - t
    # A Python loop over a jitted one-member function (100 members, extrapolated).
    one = jax.jit(
        lambda tau, J, k: summary(WongWang2006(J_N11=J, nmda=SaturatingNMDA(tau_decay=tau)), k)
    )
    table = design.table()
    one(*table[0], jr.key(0))["accuracy"].block_until_ready()
    t = time.perf_counter()
    for i in range(100):
        one(*table[i % n], jr.fold_in(jr.key(1), i))["accuracy"].block_until_ready()
    loop = (time.perf_counter() - t) / 100
    return {
        "n": n,
        "sweep_s": elapsed,
        "traces": len(traces),
        "status_counts": {
            int(c): int(k)
            for c, k in zip(*np.unique(ds["status"].values, return_counts=True), strict=True)
        },  # fmt: skip
        "loop_s_per_member": loop,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _spawn(n: int, n_devices: int, forced: int | None = None, circuit: bool = False) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    if forced:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={forced}"
    out = subprocess.run(
        [sys.executable, __file__, "--circuit" if circuit else "--worker", str(n), str(n_devices)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(quick: bool) -> str:
    sizes = [1_000, 10_000, 100_000] if quick else [10_000, 100_000, 300_000, 1_000_000]
    rows = [_spawn(n, 1) for n in sizes]
    scale_n = sizes[-1]
    two = [_spawn(scale_n, d, forced=2) for d in (1, 2)]
    circuit_sizes = [1_000, 10_000] if quick else [1_000, 10_000, 30_000]
    circuit = [_spawn(n, 1, circuit=True) for n in circuit_sizes]
    import jax

    lines = [
        "## Parameter sweeps (`multiscale.sweep`)",
        "",
        f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores "
        f"(shared), JAX {jax.__version__} on CPU. Workload per member: Tsodyks–Markram "
        f"synapse with its own {N_SPIKES}-spike 20 Hz Poisson train, mean efficacy; "
        f"Latin-hypercube design over (U, tau_rec, tau_facil); chunks of {CHUNK} members.",
        "",
        "| parameter sets | sweep (s, median of 3) | µs / member | marginal µs / member "
        "| startup: one chunk (s) | traces per sweep | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous = None
    for r in rows:
        # Marginal cost: the slope of time against size from the previous size (linear
        # growth shows as a constant slope); startup (trace, compile) cancels out.
        slope = (
            ""
            if previous is None
            else (f"{1e6 * (r['sweep_s'] - previous['sweep_s']) / (r['n'] - previous['n']):.2f}")
        )
        previous = r
        lines.append(
            f"| {r['n']:.0e} | {r['sweep_s']:.2f} | {1e6 * r['sweep_s'] / r['n']:.2f} | {slope} "
            f"| {r['one_chunk_s']:.2f} | {r['traces_per_sweep']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    peers = [r for r in rows if "numpy_s_per_member" in r]
    best = peers[-1]
    per_member = best["sweep_s"] / best["n"]
    lines += [
        "",
        f"Peers at {best['n']:.0e} sets (per member, whole job; ratio = peer / sweep; the "
        f"jitted loop is timed on 2000 members and extrapolated):",
        "",
        "| method | µs / member | ratio |",
        "|---|---:|---:|",
        f"| multiscale sweep | {1e6 * per_member:.2f} | 1.0 |",
        "| NumPy vectorized over members (own Poisson trains + recursion) "
        f"| {1e6 * best['numpy_s_per_member']:.2f} "
        f"| {best['numpy_s_per_member'] / per_member:.1f} |",
        f"| Python loop of a jitted member | {1e6 * best['loop_s_per_member']:.1f} "
        f"| {best['loop_s_per_member'] / per_member:.0f} |",
        "",
        f"NumPy and sweep agree to {best['numpy_max_abs_diff']:.1e} (max abs difference of "
        f"the mean efficacy, same spike trains).",
        "",
        f"Forced host devices (`--xla_force_host_platform_device_count=2`), {scale_n:.0e} sets: "
        f"1 device {two[0]['sweep_s']:.2f} s, 2 devices {two[1]['sweep_s']:.2f} s "
        f"(speed-up {two[0]['sweep_s'] / two[1]['sweep_s']:.2f}x on 2 shared cores).",
        "",
        "### Decision circuit (Wong & Wang 2006)",
        "",
        f"Per parameter set: {CIRCUIT_TRIALS} trials of 2.5 s at dt = 0.5 ms (5000 steps) at "
        f"12.8 % coherence with the threshold readout (`DecisionSummary`); Latin hypercube over "
        f"(nmda.tau_decay, J_N11); chunks of {CIRCUIT_CHUNK} sets. One run per size.",
        "",
        "| parameter sets | sweep (s) | ms / set | trial-steps / s | traces | status counts "
        "| peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in circuit:
        steps = r["n"] * CIRCUIT_TRIALS * 5000
        lines.append(
            f"| {r['n']:.0e} | {r['sweep_s']:.1f} | {1e3 * r['sweep_s'] / r['n']:.3f} "
            f"| {steps / r['sweep_s']:.2e} | {r['traces']} | {r['status_counts']} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    big = circuit[-1]
    lines += [
        "",
        f"A Python loop over a jitted one-set function: {1e3 * big['loop_s_per_member']:.2f} ms "
        f"/ set, {big['loop_s_per_member'] / (big['sweep_s'] / big['n']):.0f}x the sweep's "
        f"{1e3 * big['sweep_s'] / big['n']:.3f} ms / set at {big['n']:.0e} sets.",
        "",
        f"Not run here: 1e5 and 1e6 circuit sets (at {1e3 * big['sweep_s'] / big['n']:.2f} ms "
        f"/ set, about {1e6 * big['sweep_s'] / big['n'] / 60:.0f} min for 1e6 on these 2 shared "
        "cores), and the Brian2 / BrainPy peers of issue 7. Timings on this shared machine vary "
        "by up to 2x between runs (other jobs run on the same cores).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e3..1e5 instead of 1e4..1e6")
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--circuit", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
    elif args.circuit:
        print(json.dumps(circuit_worker(args.circuit[0])))
    else:
        text = main(args.quick)
        path = pathlib.Path(__file__).parent / "results" / "sweep.md"
        path.write_text(text)
        print(text)
