"""The accelerator goals in one prepared run: trials, a sweep, two fits and learning sessions.

Written for one GPU (the goals are set for one NVIDIA H100) and runnable on CPU at small
sizes. Five workloads, each through the public API only, each in its own process with its
own time budget (a workload that runs over is stopped and reported with what it finished;
a crash or an out-of-memory error in one never stops the others), all within a total
budget of 8 minutes:

1. ``trials``: decision-circuit trials (:func:`multiscale.population.run_trials`, the
   Wong & Wang 2006 circuit, 2.5 s trials at dt = 0.5 ms = 5000 steps, online threshold
   readout), 1e6 trials over the six Roitman & Shadlen (2002) coherences in one call.
   Reported: trial-steps per second = trials x steps / seconds, median of repeats after a
   warm-up call that compiles; goal >= 1e10 on one H100. Also P(correct) per coherence.
2. ``sweep``: 1e5 parameter sets (:func:`multiscale.sweep.sweep` of
   :class:`multiscale.sweep.DecisionSummary`, 4 trials per set at 12.8 % coherence; Latin
   hypercube over NMDA decay and J_N11), chunk size from the sweep's memory planner.
   First run (with compilation) and a second run.
3. ``ddm_fit``: the proportional-rate DDM (:func:`multiscale.fit.fit_ddm_trials`: damped
   Newton, Laplace SEs) on 2600 trials, first call (compilation) and second call.
4. ``circuit_fit``: the trial-level circuit fit (:func:`multiscale.fit.fit_circuit_trials`,
   the defaults of ``multiscale fit --model circuit``: 2048 fitting and 5000 fresh paths
   per condition, 40 Adam + up to 10 L-BFGS steps, 4 starts) on the same trials.
5. ``session``: learning sessions (:func:`multiscale.population.run_session`: the reduced
   Law & Gold learner on a reversal task, 1.1 s trials at 1 ms), 500 trials x 64
   subjects, ``vmap`` over subjects; forward and ``value_and_grad`` with respect to the
   learning rate and the dopamine gain.

Data for the fits: Roitman & Shadlen (2002) monkey N trials when ``--data`` names that
CSV (2600 drawn with seed 0, read by :func:`multiscale.data.load_trials`); otherwise
trials simulated from a proportional-rate DDM (k = 10, a = 1.4, t0 = 0.3 s, 2 % uniform
contaminant on [0, 2 s]; Euler steps of 0.1 ms) at the same six coherences, which the
result names. The device machine carries only the working tree, so copy the CSV into an
ignored folder (e.g. ``.cache/``) and pass it with ``--data``.

Writes ``benchmarks/results/gpu_<device>_<date>.json`` and ``.md`` (device: JAX's
``device_kind`` of the first device; ``--out`` for another folder) with the JAX version,
the sizes, the budgets and every time.

Run: ``python benchmarks/bench_gpu.py`` on the accelerator (``--small`` on CPU, about 2-4
minutes on 2 cores; ``--tiny`` for the test), or ``multiscale bench gpu [--quick]``.
Any size can be set (``--trials 2e6``), any budget (``--budget sweep=120``), and a subset
run (``--only trials,sweep``).

References:
    Wong KF, Wang XJ (2006) J Neurosci 26:1314.
    Roitman JD, Shadlen MN (2002) J Neurosci 22:9475.
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import time

WORKLOADS = ("trials", "ddm_fit", "sweep", "session", "circuit_fit")
COHERENCES = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)
GOAL_TRIAL_STEPS_PER_S = 1e10  # one H100
TOTAL_BUDGET_S = 480.0  # 8 minutes
# Seconds per workload, process start and compilation included; they sum to the total.
BUDGETS_S = {"trials": 60.0, "ddm_fit": 60.0, "sweep": 90.0, "session": 90.0, "circuit_fit": 180.0}
DATA = "/work/shared/data/roitman2002_monkey_n.csv"
SYNTHETIC_DDM = dict(k=10.0, a=1.4, t0=0.3, p_outlier=0.02, rt_max=2.0)

PRESETS = {
    "full": dict(
        trials=1_000_000,
        trial_repeats=3,
        sweep_sets=100_000,
        sweep_trials=4,
        fit_trials=2600,
        circuit_paths=2048,
        circuit_eval_paths=5000,
        circuit_steps=40,
        circuit_lbfgs=10,
        circuit_starts=4,
        session_trials=500,
        session_subjects=64,
    ),  # fmt: skip
    "small": dict(
        trials=12_000,
        trial_repeats=3,
        sweep_sets=1_000,
        sweep_trials=4,
        fit_trials=2600,
        circuit_paths=128,
        circuit_eval_paths=256,
        circuit_steps=10,
        circuit_lbfgs=2,
        circuit_starts=2,
        session_trials=100,
        session_subjects=8,
    ),  # fmt: skip
    "tiny": dict(
        trials=600,
        trial_repeats=1,
        sweep_sets=32,
        sweep_trials=2,
        fit_trials=1200,
        circuit_paths=16,
        circuit_eval_paths=32,
        circuit_steps=2,
        circuit_lbfgs=1,
        circuit_starts=1,
        session_trials=10,
        session_subjects=2,
    ),  # fmt: skip
}
MARK = "BENCH_GPU_RESULT "


# --------------------------------------------------------------------------- workloads


def _device_info() -> dict:
    import jax

    device = jax.devices()[0]
    info = {
        "device_kind": device.device_kind,
        "platform": device.platform,
        "device_count": jax.device_count(),
        "jax_version": jax.__version__,
    }
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        info["memory_limit_gb"] = stats["bytes_limit"] / 1e9
    return info


def _peak_memory_gb() -> float | None:
    import jax

    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return stats["peak_bytes_in_use"] / 1e9
    return None


def _timed(f, *args):
    import jax

    t = time.perf_counter()
    out = jax.block_until_ready(f(*args))
    return out, time.perf_counter() - t


def run_trials_workload(sizes, report, deadline):
    """Decision-circuit trials in one call; trial-steps per second after compilation."""
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    coherence = jnp.asarray(COHERENCES)
    n_per = math.ceil(sizes["trials"] / len(COHERENCES))
    protocol = ms.circuit.TrialProtocol(dt=5e-4, t_on=0.5, t1=2.5)
    n_steps = protocol.n_steps
    n_trials = n_per * len(COHERENCES)
    circuit = ms.circuit.WongWang2006()
    readout = ms.behavior.ThresholdReadout()

    def go(i):
        return ms.population.run_trials(
            circuit, coherence, key=jr.key(i), n_trials=n_per, readout=readout, protocol=protocol
        )

    result = {"trials": n_trials, "steps_per_trial": n_steps, "dt_s": protocol.dt,
              "t1_s": protocol.t1}  # fmt: skip
    out, first = _timed(go, 0)
    result["first_call_s"] = first
    report(result)
    times = []
    for i in range(sizes["trial_repeats"]):
        if times and time.monotonic() + max(times) > deadline:
            break
        out, t = _timed(go, i + 1)
        times.append(t)
        run_s = statistics.median(times)
        result.update(
            run_s=run_s,
            repeats=len(times),
            trial_steps_per_s=n_trials * n_steps / run_s,
            goal_trial_steps_per_s=GOAL_TRIAL_STEPS_PER_S,
        )
        report(result)
    choice = np.asarray(out.readout.choice)  # (coherences, trials)
    decided = choice >= 0
    result["p_decided"] = [float(x) for x in decided.mean(axis=1)]
    result["p_correct"] = [
        float((c == 0).sum() / max(d.sum(), 1)) for c, d in zip(choice, decided, strict=True)
    ]
    result["diverged"] = int(np.count_nonzero(np.asarray(out.result)))
    result["coherence"] = list(COHERENCES)
    report(result)


def run_sweep_workload(sizes, report, deadline):
    """A decision-circuit parameter sweep, chunked by the sweep's memory planner."""
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    n = sizes["sweep_sets"]
    summary = ms.sweep.DecisionSummary(coherence=0.128, n_trials=sizes["sweep_trials"])
    design = ms.sweep.LatinHypercube(
        {lambda m: m.nmda.tau_decay: (0.08, 0.14), lambda m: m.J_N11: (0.25, 0.27)},
        n,
        key=jr.key(0),
    )
    chunks = []

    def go():
        chunks.clear()
        return ms.sweep.sweep(
            summary,
            ms.circuit.WongWang2006(),
            design,
            key=jr.key(1),
            progress=False,
            callback=lambda c, total: chunks.append(total),
        )

    steps = summary.protocol.n_steps
    result = {"sets": n, "trials_per_set": sizes["sweep_trials"], "steps_per_trial": steps}
    t = time.perf_counter()
    ds = go()
    result["first_call_s"] = time.perf_counter() - t
    result["chunks"] = chunks[-1] if chunks else None
    report(result)
    if time.monotonic() + result["first_call_s"] < deadline:
        t = time.perf_counter()
        ds = go()
        run_s = time.perf_counter() - t
        result.update(
            run_s=run_s,
            sets_per_s=n / run_s,
            trial_steps_per_s=n * sizes["sweep_trials"] * steps / run_s,
        )
        report(result)
    if result["chunks"] and time.monotonic() + result["first_call_s"] < deadline:
        # The same sweep with the planned chunk size given: without the planner's compile.
        chunk = -(-n // result["chunks"])
        t = time.perf_counter()
        ms.sweep.sweep(summary, ms.circuit.WongWang2006(), design, key=jr.key(1),
                       progress=False, chunk_size=chunk)  # fmt: skip
        result.update(chunk_size=chunk, run_given_chunk_s=time.perf_counter() - t)
    acc = np.asarray(ds["accuracy"].values, float)
    result["failed"] = int(ds.attrs["n_failed"])
    result["mean_accuracy"] = float(np.nanmean(acc)) if np.isfinite(acc).any() else None
    report(result)


def fit_data(n: int, data: str | None):
    """``(Trials, source)``: ``n`` Roitman & Shadlen trials from ``data``, else simulated."""
    import numpy as np
    import pandas as pd

    import multiscale as ms

    if data and os.path.isfile(data):
        df = pd.read_csv(data)
        df = df.sample(min(n, len(df)), random_state=0)
        source = f"Roitman & Shadlen (2002) trials from {os.path.basename(data)}, seed 0"
    else:
        df = simulate_ddm(n, np.random.default_rng(0), **SYNTHETIC_DDM)
        source = "simulated proportional-rate DDM " + ", ".join(
            f"{k} = {v}" for k, v in SYNTHETIC_DDM.items()
        )
    trials, _ = ms.data.load_trials(df, condition="coh")
    return trials, source


def simulate_ddm(n, rng, *, k, a, t0, p_outlier, rt_max, dt=1e-4):
    """Trials of a proportional-rate DDM (drift k c, unit noise, start a/2) by Euler steps.

    Columns ``rt`` (s), ``coh`` (fraction) and ``correct`` (1 = upper boundary, the
    direction the drift favours); a fraction ``p_outlier`` of the trials is replaced by a
    contaminant (RT uniform on [0, rt_max], either response); decisions after ``rt_max``
    are dropped, as an experiment's deadline would drop them.
    """
    import numpy as np
    import pandas as pd

    coh = np.resize(np.asarray(COHERENCES), n)
    x = np.full(n, a / 2)
    rt = np.full(n, np.inf)
    correct = np.zeros(n, int)
    alive = np.arange(n)
    i = 0
    while alive.size and (i + 1) * dt + t0 <= rt_max:
        i += 1
        x[alive] += k * coh[alive] * dt + math.sqrt(dt) * rng.standard_normal(alive.size)
        up, down = x[alive] >= a, x[alive] <= 0
        done = up | down
        rt[alive[done]] = i * dt + t0
        correct[alive[up]] = 1
        alive = alive[~done]
    out = rng.random(n) < p_outlier
    rt[out] = rng.uniform(0, rt_max, out.sum())
    correct[out] = rng.integers(0, 2, out.sum())
    keep = np.isfinite(rt)
    return pd.DataFrame(dict(rt=rt[keep], coh=coh[keep], correct=correct[keep]))


def run_ddm_fit_workload(sizes, report, deadline, data=None):
    """The proportional-rate DDM fit (damped Newton and Laplace SEs), twice."""
    import jax.random as jr

    import multiscale as ms

    trials, source = fit_data(sizes["fit_trials"], data)
    result = {"fit_trials": int(trials.n_trials), "data": source}
    t = time.perf_counter()
    model, se, _, hist = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
    result["first_call_s"] = time.perf_counter() - t
    report(result)
    if time.monotonic() + result["first_call_s"] < deadline:
        t = time.perf_counter()
        model, se, _, hist = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
        result["run_s"] = time.perf_counter() - t
    result["parameters"] = {p: float(getattr(model, p)) for p in ("k", "a", "t0")}
    result["se"] = {p: float(getattr(se, p)) for p in ("k", "a", "t0")}
    result["converged"] = bool(hist.converged)
    result["steps_taken"] = int(hist.steps_taken)
    report(result)


def run_circuit_fit_workload(sizes, report, deadline, data=None):
    """The trial-level circuit fit with the command line's recipe, at the given sizes."""
    import equinox as eqx
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    trials, source = fit_data(sizes["fit_trials"], data)
    model = ms.fit.default_circuit_behavior()
    rt_max = max(float(model.rt_max), float(np.max(np.asarray(trials.rt))))
    model = eqx.tree_at(lambda m: m.rt_max, model, rt_max)
    options = dict(
        n_paths=sizes["circuit_paths"],
        n_paths_eval=sizes["circuit_eval_paths"],
        steps=sizes["circuit_steps"],
        lbfgs_steps=sizes["circuit_lbfgs"],
        n_starts=sizes["circuit_starts"],
    )
    result = {"fit_trials": int(trials.n_trials), "data": source, **options}
    report(result)
    t = time.perf_counter()
    data = ms.behavior.circuit_trials(trials)
    r = ms.fit.fit_circuit_trials(data, key=jr.key(0), model=model, **options)
    result.update(
        total_s=time.perf_counter() - t,
        optimisation_s=float(r.seconds),
        parameters={k: float(v) for k, v in r.parameters.items()},
        se={k: float(v) for k, v in r.se.items()},
        nll=float(r.nll),
        optimiser_steps=int(r.history.steps_taken),
        converged=bool(r.history.converged),
    )
    report(result)


def run_session_workload(sizes, report, deadline):
    """Learning sessions vmapped over subjects: forward, then value_and_grad."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    import multiscale as ms

    n_trials, n_subjects = sizes["session_trials"], sizes["session_subjects"]
    task = ms.population.reversal_task(
        n_trials, key=jr.key(1), coherence=0.2, reversal_at=n_trials // 2
    )
    readout = ms.behavior.HazardReadout()
    protocol = ms.circuit.TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)  # 1 s of stimulus
    keys = jr.split(jr.key(2), n_subjects)
    last = max(1, min(100, n_trials // 5))

    def session(params, key):
        eta, gain = params
        learner = ms.population.Learner(
            rule=ms.synapse.RewardModulatedHebb(eta=eta),
            critic=ms.population.RewardPrediction(burst_gain=gain, dip_gain=gain),
        )
        return ms.population.run_session(learner, task, key=key, readout=readout, protocol=protocol)

    def score(params, keys):
        return jnp.mean(jax.vmap(lambda k: session(params, k))(keys).p_correct[:, -last:])

    params = (jnp.asarray(2e-4), jnp.asarray(50.0))
    forward = jax.jit(lambda p, k: jax.vmap(lambda kk: session(p, kk))(k).p_correct)
    grad = jax.jit(jax.value_and_grad(score))
    steps = n_trials * n_subjects * protocol.n_steps
    result = {"session_trials": n_trials, "subjects": n_subjects, "circuit_steps": steps}
    _, result["first_call_s"] = _timed(forward, params, keys)
    report(result)
    _, result["run_s"] = _timed(forward, params, keys)
    result["circuit_steps_per_s"] = steps / result["run_s"]
    report(result)
    if time.monotonic() + 3 * result["first_call_s"] > deadline:
        return
    _, result["grad_first_call_s"] = _timed(grad, params, keys)
    report(result)
    (value, (d_eta, d_gain)), result["grad_run_s"] = _timed(grad, params, keys)
    result.update(
        p_correct_last=float(value),
        last_trials=last,
        d_eta=float(d_eta),
        d_gain=float(d_gain),
    )
    report(result)


RUNNERS = {
    "trials": run_trials_workload,
    "sweep": run_sweep_workload,
    "ddm_fit": run_ddm_fit_workload,
    "circuit_fit": run_circuit_fit_workload,
    "session": run_session_workload,
}


def one_device_per_core() -> None:
    """On CPU one JAX device per core (as the command line); no effect on accelerators."""
    import jax

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        jax.config.update("jax_num_cpu_devices", max(1, cores or 1))
    except RuntimeError:
        pass


def run_workload(name, sizes, deadline, data, report) -> None:
    """Run one workload in this process, reporting its result dict as it grows."""
    report({"device": _device_info()})
    kw = {"data": data} if name in ("ddm_fit", "circuit_fit") else {}
    RUNNERS[name](sizes, lambda r: report({"result": r, "peak_memory_gb": _peak_memory_gb()}),
                  deadline, **kw)  # fmt: skip


def worker_main(name: str, sizes: dict, budget: float, data: str | None) -> None:
    one_device_per_core()
    deadline = time.monotonic() + budget

    def report(update):
        print(MARK + json.dumps(update), flush=True)

    run_workload(name, sizes, deadline, data, report)


# --------------------------------------------------------------------------- orchestration


def _merge(entry: dict, update: dict) -> None:
    for key, value in update.items():
        entry[key] = dict(value) if isinstance(value, dict) else value


def _spawn(name, sizes, budget, data) -> dict:
    """One workload in a fresh process, stopped (SIGKILL to its group) after ``budget`` s."""
    entry = {"status": "ok"}
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
           "--sizes-json", json.dumps(sizes), "--worker-budget", str(budget)]  # fmt: skip
    if data:
        cmd += ["--data", data]
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        entry["status"] = f"stopped at its budget of {budget:.0f} s"
    entry["wall_s"] = time.perf_counter() - t
    for line in stdout.splitlines():
        if line.startswith(MARK):
            _merge(entry, json.loads(line[len(MARK) :]))
        else:
            print(line, flush=True)
    if stderr.strip():
        print(stderr, end="", file=sys.stderr, flush=True)
    if proc.returncode not in (0, None) and entry["status"] == "ok":
        lines = stderr.strip().splitlines()
        errors = [x for x in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", x)]
        last = (errors or lines or ["no error message"])[-1]
        entry["status"] = f"failed (exit status {proc.returncode}): {last[:300]}"
    return entry


def _in_process(name, sizes, budget, data) -> dict:
    entry = {"status": "ok"}
    t = time.perf_counter()
    try:
        run_workload(name, sizes, time.monotonic() + budget, data, lambda u: _merge(entry, u))
    except Exception as e:  # noqa: BLE001 - one failing workload never stops the others
        entry["status"] = f"failed: {type(e).__name__}: {str(e)[:300]}"
    entry["wall_s"] = time.perf_counter() - t
    if entry["wall_s"] > budget and entry["status"] == "ok":
        entry["status"] = f"over its budget of {budget:.0f} s (in-process runs are not stopped)"
    return entry


def run_all(sizes, budgets, *, only=None, data=None, isolate=True, total=TOTAL_BUDGET_S):
    """Every workload (or ``only`` those) in turn; returns the result document."""
    start = time.monotonic()
    workloads = {}
    for name in WORKLOADS:
        if only and name not in only:
            continue
        left = total - (time.monotonic() - start)
        budget = min(budgets[name], left)
        if left < 5:  # not enough for a process to start
            workloads[name] = {"status": f"skipped: the total budget of {total:.0f} s is spent"}
            continue
        print(f"== {name} (budget {budget:.0f} s) ==", flush=True)
        entry = (_spawn if isolate else _in_process)(name, sizes, budget, data)
        entry["budget_s"] = budget
        workloads[name] = entry
        print(json.dumps({name: entry.get("result"), "status": entry["status"]}), flush=True)
    devices = [w["device"] for w in workloads.values() if "device" in w]
    import jax  # the version only: this process never starts a backend

    return {
        "benchmark": "bench_gpu.py",
        "date": datetime.date.today().isoformat(),
        "device": devices[0] if devices else {"device_kind": "unknown"},
        "jax_version": jax.__version__,
        "python": sys.version.split()[0],
        "sizes": sizes,
        "total_budget_s": total,
        "total_wall_s": time.monotonic() - start,
        "isolated": isolate,
        "workloads": workloads,
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def _fmt(x, spec=".3g", unit=""):
    return "-" if x is None else f"{x:{spec}}{unit}"


def markdown(doc: dict) -> str:
    """The result document as a markdown section."""
    dev = doc["device"]
    w = doc["workloads"]
    platform = dev.get("platform", "?")
    lines = [
        f"## Accelerator goals on {dev['device_kind']} ({doc['date']}, `bench_gpu.py`)",
        "",
        f"Device: {dev['device_kind']} ({platform}, {dev.get('device_count', '?')} device(s)"
        + (f", {dev['memory_limit_gb']:.0f} GB for XLA" if "memory_limit_gb" in dev else "")
        + f"), JAX {doc['jax_version']}, Python {doc['python']}, float32. Total wall "
        f"{doc['total_wall_s']:.0f} s of a {doc['total_budget_s']:.0f} s budget; "
        + (
            "each workload in its own process (its wall time includes the import and JAX start-up)"
            if doc.get("isolated")
            else "all workloads in one process"
        )
        + "; first call = compilation + one run; run = a later call."
        + (" Not an accelerator: CPU numbers." if platform == "cpu" else ""),
        "",
        "| workload | size | first call (s) | run (s) | throughput | wall / budget (s) | status |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(name, size, first, run, rate):
        e = w.get(name)
        if e is None:
            return
        wall = f"{_fmt(e.get('wall_s'), '.0f')} / {_fmt(e.get('budget_s'), '.0f')}"
        lines.append(f"| {name} | {size} | {_fmt(first, '.2f')} | {_fmt(run, '.3f')} | {rate} | "
                     f"{wall} | {e['status']} |")  # fmt: skip

    get = lambda name: w.get(name, {}).get("result", {}) or {}
    r = get("trials")
    if "trials" in w:
        rate = _fmt(r.get("trial_steps_per_s"), ".3g", " trial-steps/s")
        if r.get("trial_steps_per_s") is not None:
            met = r["trial_steps_per_s"] >= GOAL_TRIAL_STEPS_PER_S
            rate += f" (goal {GOAL_TRIAL_STEPS_PER_S:.0e}: {'met' if met else 'not met'})"
        size = f"{r.get('trials', '?')} trials x {r.get('steps_per_trial', '?')} steps"
        row("trials", size, r.get("first_call_s"), r.get("run_s"), rate)
    r = get("sweep")
    if "sweep" in w:
        size = (f"{r.get('sets', '?')} sets x {r.get('trials_per_set', '?')} trials, "
                f"{r.get('chunks', '?')} chunk(s)")  # fmt: skip
        rate = (
            _fmt(r.get("sets_per_s"), ".3g", " sets/s")
            + ", "
            + _fmt(r.get("trial_steps_per_s"), ".3g", " trial-steps/s")
        )
        if r.get("run_given_chunk_s") is not None:
            rate += f"; {r['run_given_chunk_s']:.3f} s with chunk_size={r['chunk_size']} given"
        row("sweep", size, r.get("first_call_s"), r.get("run_s"), rate)
    r = get("ddm_fit")
    if "ddm_fit" in w:
        p = r.get("parameters")
        est = ", ".join(f"{k} {v:.3g}" for k, v in p.items()) if p else "-"
        row("ddm_fit", f"{r.get('fit_trials', '?')} trials", r.get("first_call_s"),
            r.get("run_s"), est)  # fmt: skip
    r = get("circuit_fit")
    if "circuit_fit" in w:
        size = (f"{r.get('fit_trials', '?')} trials, {r.get('n_paths', '?')} + "
                f"{r.get('n_paths_eval', '?')} paths, {r.get('n_starts', '?')} starts, "
                f"{r.get('steps', '?')} + {r.get('lbfgs_steps', '?')} steps")  # fmt: skip
        p = r.get("parameters")
        est = ", ".join(f"{k} {v:.3g}" for k, v in p.items()) if p else "-"
        row("circuit_fit", size, r.get("total_s"), None, est)
    r = get("session")
    if "session" in w:
        size = f"{r.get('session_trials', '?')} trials x {r.get('subjects', '?')} subjects"
        rate = _fmt(r.get("circuit_steps_per_s"), ".3g", " circuit steps/s")
        if r.get("grad_run_s") is not None:
            rate += (f"; value_and_grad {r['grad_run_s']:.3f} s "
                     f"({r['grad_first_call_s']:.1f} s first)")  # fmt: skip
        row("session", size, r.get("first_call_s"), r.get("run_s"), rate)
    r = get("trials")
    if r.get("p_correct"):
        lines += [
            "",
            "Trials, P(correct) per coherence: "
            + ", ".join(f"{100 * c:g} % {p:.3f}"
                        for c, p in zip(r["coherence"], r["p_correct"], strict=True))
            + f"; diverged trials: {r.get('diverged')}.",
        ]  # fmt: skip
    fits = [get(n).get("data") for n in ("ddm_fit", "circuit_fit") if get(n).get("data")]
    if fits:
        lines += ["", f"Fit data: {fits[0]}."]
    peaks = {n: e.get("peak_memory_gb") for n, e in w.items() if e.get("peak_memory_gb")}
    if peaks:
        lines += ["", "Peak device memory (GB): "
                  + ", ".join(f"{n} {v:.2f}" for n, v in peaks.items()) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


def write(doc: dict, out: pathlib.Path) -> pathlib.Path:
    """Write ``gpu_<device>_<date>.json`` and ``.md`` into ``out`` (never over an earlier run)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"gpu_{_slug(doc['device']['device_kind'])}_{doc['date']}"
    path, i = out / f"{stem}.json", 1
    while path.exists() or path.with_suffix(".md").exists():
        i += 1
        path = out / f"{stem}_{i}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(doc))
    return path


def _parse_budgets(items: list[str]) -> dict:
    budgets = dict(BUDGETS_S)
    for item in items:
        name, _, seconds = item.partition("=")
        if name not in budgets or not seconds:
            raise SystemExit(
                f"--budget takes NAME=SECONDS with NAME in {list(budgets)}, got {item!r}"
            )
        budgets[name] = float(seconds)
    return budgets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", "--quick", action="store_true", help="CPU sizes (minutes)")
    size.add_argument("--tiny", action="store_true", help="test sizes (seconds)")
    for name, value in PRESETS["full"].items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=lambda s: int(float(s)),
                            default=None, help=f"default {value:g} (full size)")  # fmt: skip
    parser.add_argument("--budget", action="append", default=[], metavar="NAME=SECONDS")
    parser.add_argument("--total-budget", type=float, default=TOTAL_BUDGET_S)
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {WORKLOADS}")
    parser.add_argument(
        "--data", default=DATA, help="trial CSV (rt, coh, correct); none: simulated trials"
    )
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results"))
    parser.add_argument("--in-process", action="store_true",
                        help="all workloads in this process (budgets not enforced)")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes-json", help=argparse.SUPPRESS)
    parser.add_argument("--worker-budget", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker, json.loads(args.sizes_json), args.worker_budget, args.data)
        return 0
    sizes = dict(PRESETS["tiny" if args.tiny else "small" if args.small else "full"])
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    only = None
    if args.only:
        only = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(only) - set(WORKLOADS))
        if unknown:
            parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    if args.in_process:
        one_device_per_core()
    doc = run_all(sizes, _parse_budgets(args.budget), only=only, data=args.data,
                  isolate=not args.in_process, total=args.total_budget)  # fmt: skip
    path = write(doc, pathlib.Path(args.out))
    print(markdown(doc))
    print(f"wrote {path} and {path.with_suffix('.md').name}")
    failed = [n for n, e in doc["workloads"].items() if not e["status"].startswith("ok")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
