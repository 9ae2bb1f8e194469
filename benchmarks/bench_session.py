"""A learning session as one compiled program: 500 trials x 64 subjects, and its gradient.

Workload (issue 6): the reduced Law & Gold learner of `multiscale.population.run_session`
(4 sensory units -> plastic weights -> Wong-Wang circuit with the hazard readout, 1 s
trials at dt = 1 ms, dopamine-gated three-factor update between trials) on a reversal
task, 500 trials for each of 64 subjects (``vmap`` over subjects, ``lax.scan`` over
trials). Timed: the forward session, and ``value_and_grad`` of the mean soft P(correct)
over the last 100 trials with respect to the learning rate and the dopamine burst gain
(pathwise gradient given the sampled choices). Peer: what a user would otherwise write
with the same library, a Python loop over subjects of one jitted single-subject session.

Run: ``python benchmarks/bench_session.py [--quick]``; writes benchmarks/results/session.md.
"""

import argparse
import os
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import jax.random as jr

import multiscale as ms


def _median_time(f, *args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _temp_mb(jitted, *args) -> float:
    stats = jitted.lower(*args).compile().memory_analysis()
    return float(getattr(stats, "temp_size_in_bytes", float("nan"))) / 2**20


def main(quick: bool) -> str:
    n_trials, n_subjects = (100, 8) if quick else (500, 64)
    repeats = 2 if quick else 3
    task = ms.population.reversal_task(
        n_trials, key=jr.key(1), coherence=0.2, reversal_at=n_trials // 2
    )
    readout = ms.behavior.HazardReadout()
    keys = jr.split(jr.key(2), n_subjects)

    def session(params, key):
        eta, gain = params
        learner = ms.population.Learner(
            rule=ms.synapse.RewardModulatedHebb(eta=eta),
            critic=ms.population.RewardPrediction(burst_gain=gain, dip_gain=gain),
        )
        return ms.population.run_session(learner, task, key=key, readout=readout)

    def score(params, keys):
        res = jax.vmap(lambda k: session(params, k))(keys)
        return jnp.mean(res.p_correct[:, -100:])

    params = (jnp.asarray(2e-4), jnp.asarray(50.0))
    forward = jax.jit(lambda p, k: jax.vmap(lambda kk: session(p, kk))(k).p_correct)
    grad = jax.jit(jax.value_and_grad(score))
    one = jax.jit(lambda p, k: session(p, k).p_correct)

    t = time.perf_counter()
    jax.block_until_ready(forward(params, keys))
    compile_fwd = time.perf_counter() - t
    t_fwd = _median_time(forward, params, keys, repeats=repeats)
    t = time.perf_counter()
    jax.block_until_ready(grad(params, keys))
    compile_grad = time.perf_counter() - t
    t_grad = _median_time(grad, params, keys, repeats=repeats)
    value, (d_eta, d_gain) = grad(params, keys)
    jax.block_until_ready(one(params, keys[0]))
    t = time.perf_counter()
    for k in keys:
        jax.block_until_ready(one(params, k))
    t_loop = time.perf_counter() - t
    mem_fwd, mem_grad = _temp_mb(forward, params, keys), _temp_mb(grad, params, keys)
    steps = n_trials * n_subjects * 1100
    return "\n".join(
        [
            "## Learning sessions (`multiscale.population.run_session`)",
            "",
            f"Machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, "
            f"JAX {jax.__version__} on {jax.default_backend()}. "
            f"Workload: {n_trials} trials x {n_subjects} subjects, 1.1 s trials at 1 ms "
            f"({steps:.2e} circuit steps), reversal at trial {n_trials // 2}"
            + (" (`--quick` sizes)." if quick else "."),
            "",
            "| program | time (s, median) | compile (s) | compiled temp memory (MB) |",
            "|---|---|---|---|",
            f"| session, vmap over subjects | {t_fwd:.2f} | {compile_fwd:.1f} | {mem_fwd:.0f} |",
            f"| value_and_grad (eta, dopamine gain) | {t_grad:.2f} ({t_grad / t_fwd:.1f}x "
            f"forward) | {compile_grad:.1f} | {mem_grad:.0f} |",
            f"| Python loop over subjects of a jitted session | {t_loop:.2f} "
            f"({t_loop / t_fwd:.1f}x the vmapped session) | - | - |",
            "",
            f"Mean soft P(correct), last 100 trials: {float(value):.3f}; d/d eta = "
            f"{float(d_eta):.3g} per unit eta, d/d gain = {float(d_gain):.3g} per 1/s.",
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 trials x 8 subjects")
    args = parser.parse_args()
    text = main(args.quick)
    path = pathlib.Path(__file__).parent / "results" / "session.md"
    path.write_text(text)
    print(text)
