"""A learning session as one compiled program: 500 trials x 64 subjects, and its gradient.

Two workloads (``--workload learner|circuit|both``):

``circuit`` (W5 of issue 20, results/session_circuit.md): the same session with a rule on
the circuit's own recurrent projection, applied online within each trial. The reduced
Wong-Wang circuit's recurrent NMDA weights are a 2 x 2 ``Dense`` matrix carrying
``Hebb(eta_rec)`` (hard bounds +-1 nA), stepped every 50 integration steps (50 ms) of the
stimulus epoch (``run_session(..., online_every=50)``); the sensory weights learn by the
three-factor rule as below. Timed in interleaved rounds (medians; wall and CPU seconds,
load average): the forward session (vmap over 64 subjects, scan over 500 trials),
``value_and_grad`` of the mean soft P(correct) over the last 100 trials with respect to
ln eta_rec and ln eta (sensory), and the previous path (the same rule stepped once
between trials on the end-of-trial rates). Peer: a NumPy loop over subjects, trials and
steps of the same per-step model (``_session_numpy_peer.py``), timed on a few subjects
and trials and extrapolated linearly (a loop has no batching to amortise).

``learner`` (issue 6, results/session.md):

Workload (issue 6): the reduced Law & Gold learner of `multiscale.population.run_session`
(4 sensory units -> plastic weights -> Wong-Wang circuit with the hazard readout, 1 s
trials at dt = 1 ms, dopamine-gated three-factor update between trials) on a reversal
task, 500 trials for each of 64 subjects (``vmap`` over subjects, ``lax.scan`` over
trials). Timed: the forward session, and ``value_and_grad`` of the mean soft P(correct)
over the last 100 trials with respect to the learning rate and the dopamine burst gain
(pathwise gradient given the sampled choices). Peer: what a user would otherwise write
with the same library, a Python loop over subjects of one jitted single-subject session.

Run: ``python benchmarks/bench_session.py [--quick] [--workload circuit]``.
"""

import argparse
import os
import pathlib
import platform
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

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


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ww_dense(rule):
    """Wong-Wang's reduced circuit with its recurrent NMDA weights a Dense matrix + rule."""
    ww = ms.circuit.WongWang2006()
    W = jnp.array([[ww.J_N11, -ww.J_N12], [-ww.J_N12, ww.J_N11]])
    net = ww.rate_circuit()
    proj = eqx.tree_at(
        lambda p: (p.weight, p.rule),
        net.projections[0],
        (ms.circuit.Dense(W), rule),
        is_leaf=lambda x: x is None,
    )
    return eqx.tree_at(lambda c: c.projections, net, (proj,))


def _timed(f, *args):
    """(wall s, CPU s of this process) of one call."""
    t, c = time.perf_counter(), time.process_time()
    jax.block_until_ready(f(*args))
    return time.perf_counter() - t, time.process_time() - c


def _check_peer_step(peer) -> float:
    """Largest difference of the peer's rates from the circuit's over one 1.1-s trial
    (same normals, no learning), relative to the largest rate: the two step the same
    model."""
    rng = np.random.default_rng(3)
    normals = rng.normal(size=(1100, 2))
    circuit = _ww_dense(None)
    stim = ms.circuit.Stimulus(coherence=0.1, mu0=30.0)
    proto = ms.circuit.TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)  # the session trial
    traj = ms.circuit.simulate_with_normals(
        circuit, stim, jnp.asarray(normals, jnp.float32), protocol=proto, save_every=1
    )
    W = np.asarray(circuit.projections[0].weight.W, np.float64)
    r_peer = peer.rates(W, 30.0, 0.1, normals)
    r_jax = np.asarray(traj.r, np.float64)
    return float(np.max(np.abs(r_peer - r_jax)) / np.max(np.abs(r_jax)))


def circuit_workload(quick: bool, rounds: int) -> str:
    """W5: a rule on the circuit's recurrent projection, online within trials."""
    import _session_numpy_peer as peer

    n_trials, n_subjects = (100, 8) if quick else (500, 64)
    every = 50
    task = ms.population.reversal_task(
        n_trials, key=jr.key(1), coherence=0.2, reversal_at=n_trials // 2
    )
    readout = ms.behavior.HazardReadout()
    keys = jr.split(jr.key(2), n_subjects)

    def session(params, key, online):
        log_eta_rec, log_eta = params
        hebb = ms.synapse.Hebb(eta=jnp.exp(log_eta_rec), bounds=ms.synapse.HardBounds(-1.0, 1.0))
        learner = ms.population.Learner(
            circuit=_ww_dense(hebb), rule=ms.synapse.RewardModulatedHebb(eta=jnp.exp(log_eta))
        )
        return ms.population.run_session(
            learner, task, key=key, readout=readout, online_every=online
        )

    def batch(params, keys, online):
        return jax.vmap(lambda k: session(params, k, online))(keys)

    def score(params, keys):
        return jnp.mean(batch(params, keys, every).p_correct[:, -100:])

    peer_err = _check_peer_step(peer)
    print(f"peer vs circuit, rates over a trial: {peer_err:.2e} relative", flush=True)
    params = (jnp.log(jnp.asarray(1e-7)), jnp.log(jnp.asarray(2e-4)))
    programs = {
        "forward, rule online (every 50 steps)": jax.jit(lambda p, k: batch(p, k, every).p_correct),
        "value_and_grad (ln eta_rec, ln eta), rule online": jax.jit(jax.value_and_grad(score)),
        "forward, rule between trials (previous path)": jax.jit(
            lambda p, k: batch(p, k, None).p_correct
        ),
    }
    compile_s, wall, cpu = {}, {n: [] for n in programs}, {n: [] for n in programs}
    load = [os.getloadavg()[0]]
    for name, f in programs.items():
        compile_s[name] = _timed(f, params, keys)[0]
        print(f"first call {name}: {compile_s[name]:.1f} s", flush=True)
    for _ in range(rounds):
        for name, f in programs.items():
            w, c = _timed(f, params, keys)
            wall[name].append(w)
            cpu[name].append(c)
            print(f"{name}: {w:.2f} s wall, {c:.2f} s CPU", flush=True)
        load.append(os.getloadavg()[0])
    value, (d_rec, d_ff) = programs["value_and_grad (ln eta_rec, ln eta), rule online"](
        params, keys
    )
    res_on = jax.jit(lambda p, k: batch(p, k, every))(params, keys)
    res_off = jax.jit(lambda p, k: batch(p, k, None))(params, keys)
    W0 = np.asarray(_ww_dense(None).projections[0].weight.W)
    dj_on = float(np.mean(np.asarray(res_on.circuit_weights[0][:, -1, 0, 0]) - W0[0, 0]))
    dj_off = float(np.mean(np.asarray(res_off.circuit_weights[0][:, -1, 0, 0]) - W0[0, 0]))

    # Peer: NumPy loop, a few subjects x trials, extrapolated linearly in steps.
    peer_subjects, peer_trials = (1, 10) if quick else (2, 40)
    rng = np.random.default_rng(0)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(peer_subjects):
        peer.session(peer_trials, rng)
    peer_wall = (time.perf_counter() - t) / (peer_subjects * peer_trials)
    peer_cpu = (time.process_time() - c) / (peer_subjects * peer_trials)
    load.append(os.getloadavg()[0])
    total = n_trials * n_subjects
    steps = total * 1100

    fwd = "forward, rule online (every 50 steps)"
    med = {n: statistics.median(v) for n, v in wall.items()}
    medc = {n: statistics.median(v) for n, v in cpu.items()}
    rows = []
    for name in programs:
        ratio = f" ({med[name] / med[fwd]:.1f}x)" if name != fwd else ""
        rows.append(
            f"| {name} | {med[name]:.2f}{ratio} | {medc[name]:.2f} | {compile_s[name]:.1f} | "
            f"{steps / med[name]:.2e} |"
        )
    rows.append(
        f"| peer: NumPy loop over subjects, trials, steps ({peer_subjects} x {peer_trials} "
        f"timed, x{total / (peer_subjects * peer_trials):.0f} extrapolated) | "
        f"{peer_wall * total:.0f} ({peer_wall * total / med[fwd]:.0f}x) | "
        f"{peer_cpu * total:.0f} ({peer_cpu * total / medc[fwd]:.0f}x) | - | "
        f"{1100 / peer_wall:.2e} |"
    )
    return "\n".join(
        [
            "## W5: a session with a rule online on a circuit projection "
            "(`bench_session.py --workload circuit`)",
            "",
            f"Machine: {_cpu_model()}, {len(os.sched_getaffinity(0))} CPU cores, "
            f"JAX {jax.__version__} on {jax.default_backend()}; load average "
            f"{min(load):.1f}-{max(load):.1f} during the run (shared machine). Workload: "
            f"{n_trials} trials x {n_subjects} subjects, 1.1 s trials at 1 ms ({steps:.2e} "
            "circuit steps), reversal at half; Hebb on the reduced Wong-Wang circuit's "
            "recurrent NMDA matrix (eta_rec 1e-7 nA/Hz^2/s, hard bounds +-1 nA) stepped "
            "every 50 steps of the stimulus epoch, three-factor rule on the sensory weights"
            + (" (`--quick` sizes)." if quick else ".")
            + f" {rounds} interleaved rounds after one compile call each; medians.",
            "",
            "| program | wall (s, median) | CPU (s, median) | first call (s) | steps/s (wall) |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Mean soft P(correct), last 100 trials: {float(value):.3f}; "
            f"d/d ln eta_rec = {float(d_rec):.3g}, d/d ln eta = {float(d_ff):.3g} (pathwise, "
            "given the sampled choices). Mean change of J_11 over the session: "
            f"{dj_on:+.4f} nA online, {dj_off:+.4f} nA between trials. The peer steps the same "
            f"model as the circuit (rates within {peer_err:.1e} of the largest rate over a "
            "trial on a shared noise path); its per-trial readout and sensory rule are simplified "
            "(`_session_numpy_peer.py`).",
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 trials x 8 subjects")
    parser.add_argument("--workload", choices=("learner", "circuit", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (circuit)")
    args = parser.parse_args()
    results = pathlib.Path(__file__).parent / "results"
    if args.workload in ("learner", "both"):
        text = main(args.quick)
        (results / "session.md").write_text(text)
        print(text)
    if args.workload in ("circuit", "both"):
        text = circuit_workload(args.quick, args.rounds)
        (results / ("session_circuit_quick.md" if args.quick else "session_circuit.md")).write_text(
            text
        )
        print(text)
