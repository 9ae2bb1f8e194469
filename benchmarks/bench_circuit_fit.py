"""A trial-level circuit fit: the 2600-trial, four-start goal of issue 5, and its cost per step.

Workload: 2604 trials (434 per coherence at 0, 3.2, 6.4, 12.8, 25.6, 51.2 %) drawn from
the circuit's own generative model (:func:`multiscale.behavior.sample_circuit_trials`: the
Wong-Wang appendix circuit, hazard readout, NDT 0.3 s), fitted by maximum likelihood of
every trial's choice and RT (:func:`multiscale.fit.fit_circuit_trials`: J_A_ext, the
threshold and the non-decision time free, 2.6 s trials at dt = 1 ms).

Timed, in one run on one machine:

1. One loss-and-gradient evaluation of all starts (what every optimiser step costs) vs the
   number of noise paths per condition, for: what a user would write with the library's
   per-trial pieces (``simulate`` with a saved trajectory, ``apply_readout``, average
   over paths, ``jax.value_and_grad``; the likelihood's implementation before the fused
   loop), the fused loop in reverse mode, the fused loop in forward mode on one device,
   and forward mode with the starts split across one CPU device per core.
2. The whole fit: 4 starts, 2048 fitting paths per condition (the >= 2000 the
   likelihood's docstring recommends), 40 Adam + up to 10 L-BFGS steps, then the NLL on
   5000 fresh paths and the Laplace SEs; goal: under 5 minutes on 2 cores.

Run: ``python benchmarks/bench_circuit_fit.py [--quick]``; writes
benchmarks/results/circuit_fit.md.
"""

import argparse
import os
import pathlib
import platform
import statistics
import time

import jax

jax.config.update("jax_num_cpu_devices", len(os.sched_getaffinity(0)))

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.random as jr  # noqa: E402

import multiscale as ms  # noqa: E402
from multiscale.behavior import apply_readout, rt_density  # noqa: E402
from multiscale.circuit import Stimulus, simulate  # noqa: E402
from multiscale.fit._trial_fit import trial_problem  # noqa: E402


@eqx.filter_jit
def _values_and_grads(problem, us, trials, keys):
    """Loss and gradient of every start, the starts split across the CPU devices as
    ``ms.fit.fit`` splits them (one loop per device)."""
    vg = jax.vmap(jax.value_and_grad(problem.nll), in_axes=(0, None, None))
    n_dev = min(jax.device_count(), us.shape[0])
    if n_dev == 1 or us.shape[0] % n_dev:
        return vg(us, trials, keys)
    spec = jax.sharding.PartitionSpec
    auto = (jax.sharding.AxisType.Auto,)
    mesh = jax.make_mesh((n_dev,), ("starts",), axis_types=auto, devices=jax.devices()[:n_dev])
    split = jax.shard_map(
        vg, mesh=mesh, in_specs=(spec("starts"), spec(), spec()), out_specs=spec("starts"),
        check_vma=False,
    )  # fmt: skip
    return split(us, trials, keys)

COHERENCE = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)


def _median_time(f, *args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _stored_trajectory_nll(problem, u, trials, keys):
    """The NLL built from per-trial pieces: saved rates, then the readout, per path."""
    model = problem.model(u)

    def path(c, key):
        stim = Stimulus(coherence=c, mu0=model.mu0)
        traj = simulate(model.circuit, stim, key=key, protocol=model.protocol, save_every=1)
        return apply_readout(model.readout, traj.ts, traj.r, protocol=model.protocol)

    def chunk_sum(total, k):
        trace = jax.vmap(lambda c: jax.vmap(lambda kk: path(c, kk))(k))(trials.coherence)
        return (
            total[0] + jnp.sum(trace.per_step, axis=1),
            total[1] + jnp.sum(trace.result.p_undecided, axis=1),
        ), None

    n_steps, n_on = model.protocol.n_steps, model.protocol.n_on
    c = trials.coherence.shape[0]
    init = (jnp.zeros((c, n_steps, 2)), jnp.zeros((c,)))
    (q, surv), _ = jax.lax.scan(jax.checkpoint(chunk_sum), init, keys.reshape(-1, 256))
    q = q / keys.shape[0]
    mass = q[:, n_on:].at[:, 0].add(jnp.sum(q[:, :n_on], axis=1))
    mass = jnp.where((trials.coherence == 0)[:, None, None], 0.5 * (mass + mass[..., ::-1]), mass)
    fp = ms.behavior.FirstPassage(
        decision_time=jnp.zeros(n_steps - n_on), mass=mass, undecided=surv / keys.shape[0]
    )
    rd = rt_density(model, fp, ndt_sd_min=problem.ndt_sd_min)
    x = trials.rt / model.protocol.dt
    j = jnp.clip(jnp.floor(x).astype(jnp.int32), 0, rd.rt.shape[0] - 2)
    frac = x - j
    side = jnp.where(trials.correct, 0, 1)
    g = (1 - frac) * rd.density[trials.condition, j, side]
    g = g + frac * rd.density[trials.condition, j + 1, side]
    decided = jnp.maximum(rd.p_decided, 1e-6)[trials.condition]
    eps = model.lapse
    return -jnp.sum(jnp.log((1 - eps) * g / decided + eps * 0.5 / model.rt_max))


def main(quick: bool) -> str:
    n_per, paths_list, repeats = (100, (256,), 1) if quick else (434, (256, 1024, 2048), 2)
    n_starts = 4
    truth = ms.fit.default_circuit_behavior()
    truth = eqx.tree_at(lambda m: m.readout.non_decision_time, truth, jnp.asarray(0.3))
    coherence = jnp.asarray(COHERENCE)
    trials = ms.behavior.sample_circuit_trials(truth, coherence, n_per, key=jr.key(11))
    start = eqx.tree_at(
        lambda m: (m.circuit.J_A_ext, m.readout.threshold, m.readout.non_decision_time),
        truth,
        (jnp.asarray(5.2e-4 * 1.15), jnp.asarray(17.0), jnp.asarray(0.25)),
    )
    spec = ms.fit.circuit_free_parameters(start)
    us = 0.1 * jr.normal(jr.key(3), (n_starts, 3))
    one_device = jax.devices()[:1]
    rows = []
    for n_paths in paths_list:
        keys = jr.split(jr.key(5), n_paths)
        fwd_p = trial_problem(start, spec, ms.behavior.NDT_SD_MIN, 1024, ms.ForwardMode())
        rev_p = trial_problem(start, spec, ms.behavior.NDT_SD_MIN, 1024, ms.ReverseMode())
        on_one = jax.jit  # fed inputs committed to the first device, it runs there only
        variants = {
            "stored trajectories, reverse mode (per-trial pieces)": on_one(
                jax.vmap(
                    jax.value_and_grad(
                        lambda u, p=rev_p, k=keys: _stored_trajectory_nll(p, u, trials, k)
                    )
                )
            ),
            "fused loop, reverse mode": on_one(
                jax.vmap(jax.value_and_grad(lambda u, p=rev_p, k=keys: p.nll(u, trials, k)))
            ),
            "fused loop, forward mode, 1 device": on_one(
                jax.vmap(jax.value_and_grad(lambda u, p=fwd_p, k=keys: p.nll(u, trials, k)))
            ),
            f"fused loop, forward mode, starts split over {jax.device_count()} CPU devices": (
                lambda u, p=fwd_p, k=keys: _values_and_grads(p, u, trials, k)
            ),
        }
        if quick or n_paths > 1024:
            variants.pop("stored trajectories, reverse mode (per-trial pieces)")
            variants.pop("fused loop, reverse mode")
        values = {}
        for name, f in variants.items():
            x = us if "split" in name else jax.device_put(us, one_device[0])
            t = time.perf_counter()
            out = jax.block_until_ready(f(x))
            first = time.perf_counter() - t
            values[name] = float(out[0][0])
            rows.append((n_paths, name, _median_time(f, x, repeats=repeats), first))
        spread = max(values.values()) - min(values.values())
        rows.append((n_paths, "largest NLL difference between variants (nats)", spread, None))

    fit_paths = 256 if quick else 2048
    eval_paths = 1024 if quick else 5000
    t = time.perf_counter()
    r = ms.fit.fit_circuit_trials(
        trials,
        key=jr.key(7),
        model=start,
        n_paths=fit_paths,
        n_paths_eval=eval_paths,
        steps=40,
        lbfgs_steps=10,
        n_starts=n_starts,
    )
    total = time.perf_counter() - t
    truth_problem = trial_problem(truth, spec, ms.behavior.NDT_SD_MIN, 1024, ms.ForwardMode())
    eval_keys = jr.split(jr.split(jr.key(7), 3)[2], eval_paths)  # the fit's fresh paths
    nll_truth = float(ms.fit._trial_fit.trial_nll(truth_problem, jnp.zeros(3), trials, eval_keys))
    n_steps = truth.protocol.n_steps
    lines = [
        "## Trial-level circuit fit (`bench_circuit_fit.py`)",
        "",
        f"Machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, "
        f"JAX {jax.__version__} on {jax.default_backend()} ({jax.device_count()} CPU devices "
        f"requested, one per core). Data: {trials.n_trials} trials drawn from the circuit "
        f"(J_A_ext = 5.2e-4 nA/Hz, threshold 15 Hz, NDT 0.3 s) at {len(COHERENCE)} "
        f"coherences; {n_steps} steps of 1 ms per path; {n_starts} starts."
        + (" `--quick` sizes." if quick else ""),
        "",
        "**One loss-and-gradient evaluation of all starts** (J_A_ext, threshold, NDT free; "
        "median of repeats after compilation):",
        "",
        "| paths per condition | program | time (s) | first call, with compilation (s) |",
        "|---|---|---|---|",
    ]
    for n_paths, name, secs, first in rows:
        if first is None:
            lines.append(f"| {n_paths} | {name} | {secs:.2g} | - |")
        else:
            lines.append(f"| {n_paths} | {name} | {secs:.2f} | {first:.1f} |")
    p = r.parameters
    lines += [
        "",
        f"**The whole fit** ({n_starts} starts from J_A_ext x1.15, threshold 17 Hz, NDT "
        f"0.25 s, perturbed by 10 %; {fit_paths} fitting paths per condition; 40 Adam + up "
        f"to 10 L-BFGS steps; NLL on {eval_paths} fresh paths; Laplace SEs): "
        f"**{r.seconds:.0f} s** for the optimisation (compilation included), {total:.0f} s "
        f"with the fresh NLL and the SEs. Goal: < 300 s.",
        "",
        "| parameter | truth | fitted | Laplace SE |",
        "|---|---|---|---|",
        f"| J_A_ext (nA/Hz) | 5.2e-4 | {p['J_A_ext']:.4g} | {r.se['J_A_ext']:.2g} |",
        f"| threshold (Hz) | 15 | {p['threshold']:.3g} | {r.se['threshold']:.2g} |",
        f"| non-decision time (s) | 0.3 | {p['non_decision_time']:.4g} | "
        f"{r.se['non_decision_time']:.2g} |",
        "",
        f"NLL on fresh paths {r.nll:.1f} nats (at the generating parameters, same paths: "
        f"{nll_truth:.1f}); on the fitting paths {r.nll_fit:.1f}; "
        f"{r.history.steps_taken} optimiser steps ({r.lbfgs_steps} L-BFGS).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 trials, 256 paths")
    args = parser.parse_args()
    text = main(args.quick)
    path = pathlib.Path(__file__).parent / "results" / "circuit_fit.md"
    path.write_text(text)
    print(text)
