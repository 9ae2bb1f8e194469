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
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gpu_workloads import (  # noqa: E402
    GOAL_TRIAL_STEPS_PER_S,
    RUNNERS,
    SYNTHETIC_DDM as SYNTHETIC_DDM,
    device_info,
    peak_memory_gb,
)

WORKLOADS = ("trials", "ddm_fit", "sweep", "session", "circuit_fit")
TOTAL_BUDGET_S = 480.0  # 8 minutes
# Seconds per workload, process start and compilation included; they sum to the total.
BUDGETS_S = {"trials": 60.0, "ddm_fit": 60.0, "sweep": 90.0, "session": 90.0, "circuit_fit": 180.0}
DATA = "/work/shared/data/roitman2002_monkey_n.csv"

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
    report({"device": device_info()})
    kw = {"data": data} if name in ("ddm_fit", "circuit_fit") else {}
    RUNNERS[name](sizes, lambda r: report({"result": r, "peak_memory_gb": peak_memory_gb()}),
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


def _finite(x):
    """``x`` with NaN and infinities as None, so that the file is strict JSON."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


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
    path.write_text(json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n")
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
