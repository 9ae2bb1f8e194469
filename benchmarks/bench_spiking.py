"""Spiking networks against Brian2, NEST and BrainPy: COBA, 64 batched trials, Potjans-Diesmann.

Workloads (one run, one machine, every engine in a fresh process, interleaved round by
round -- A B C ... A B C ..., the order rotated each round -- so that machine load affects
all alike):

- **COBA**: benchmark 1 of Brette et al. (2007, J Comput Neurosci 23:349), the network of
  Vogels & Abbott (2005, J Neurosci 25:10786): 4000 LIF neurons (80 % excitatory),
  connection probability 0.02, exponential conductances (6 nS, 5 ms, 0 mV; 67 nS, 10 ms,
  -80 mV), the 50 ms Poisson kick, 1 s of biological time at dt = 0.1 ms. Engines:
  multiscale (``spiking.coba_network`` and ``spiking.run``, when this checkout has them),
  Brian2 ``cpp_standalone`` with 1 and 2 OpenMP threads, Brian2 with Cython code
  generation, NEST ``iaf_cond_exp`` with 2 threads (and 1), BrainPy 2.9 with brainevent.
  The peer scripts are ``benchmarks/peers/coba_*.py``; each prints wall time per
  biological second of its simulation loop, build/compile time separately, peak memory,
  the mean rate and the mean ISI CV.
- **64 trials**: multiscale's batched ``spiking.run(..., trials=64)`` against Brian2
  ``cpp_standalone`` (1 thread) running its compiled program 64 times one after another,
  each with a fresh seed; time per trial.
- **Potjans-Diesmann** (2014, Cereb Cortex 24:785) at NEST's down-scaling 0.1
  (``peers/pd_nest.py``, ``peers/pd_brian2.py``, and ``_spiking_worker.py --pd`` for
  multiscale's ``potjans_diesmann``; ``--pd``).

Reported: medians over rounds (min-max), ratios to Brian2 ``cpp_standalone`` with one
thread (the fastest peer) and, when present, to multiscale; rates and CVs side by side;
the machine, its load average before and after, and every engine's version.

Peers are never part of the default or test install: they come from the ``bench`` extra
in a separate interpreter (BrainPy 2.9 needs Python >= 3.12), given by ``--peers-python``
or ``MULTISCALE_PEERS_PYTHON``; see ``benchmarks/README.md``. Without it (or without
multiscale's spiking module) the missing engines are reported as missing.

Run: ``python benchmarks/bench_spiking.py [--quick] [--rounds N] [--pd]``; writes
benchmarks/results/spiking.md. ``--batch-only`` runs the 64-trial rows alone, ``--only``
then picking among them (``--batch-only --only "2 devices,cpp_standalone"``: multiscale
with ``devices=2`` and Brian2).
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
PEERS = HERE / "peers"
WORKER = HERE / "_spiking_worker.py"
DEFAULT_PEERS_PYTHON = "/work/venvs/bench312/bin/python"

# label -> (interpreter: "multiscale" or "peers", script, arguments, module to probe)
COBA = {
    "multiscale": ("multiscale", WORKER, [], None),
    "multiscale, 1 core": ("multiscale", WORKER, ["--cores", "1"], None),
    # XLA's CPU client sizes its thread pool from NPROC (else the cores it may use).
    "multiscale, NPROC=1": ("multiscale", WORKER, ["NPROC=1"], None),
    "Brian2 cpp_standalone, 1 thread": (
        "peers",
        PEERS / "coba_brian2.py",
        ["--mode", "cpp_standalone", "--threads", "1"],
        "brian2",
    ),
    "Brian2 cpp_standalone, 2 threads": (
        "peers",
        PEERS / "coba_brian2.py",
        ["--mode", "cpp_standalone", "--threads", "2"],
        "brian2",
    ),
    "Brian2 Cython (runtime device)": (
        "peers",
        PEERS / "coba_brian2.py",
        ["--mode", "cython"],
        "Cython",
    ),
    "NEST iaf_cond_exp, 2 threads": ("peers", PEERS / "coba_nest.py", ["--threads", "2"], "nest"),
    "NEST iaf_cond_exp, 1 thread": ("peers", PEERS / "coba_nest.py", ["--threads", "1"], "nest"),
    "BrainPy 2.9 + brainevent": ("peers", PEERS / "coba_brainpy.py", [], "brainevent"),
}
BASE = "Brian2 cpp_standalone, 1 thread"
TWO = "multiscale, 2 devices"  # batched trials, one loop per CPU device
PD = {
    "multiscale (PD)": ("multiscale", WORKER, ["--pd"], None),
    "multiscale (PD), 1 core": ("multiscale", WORKER, ["--pd", "--cores", "1"], None),
    "NEST iaf_psc_exp, 2 threads": ("peers", PEERS / "pd_nest.py", ["--threads", "2"], "nest"),
    "NEST iaf_psc_exp, 1 thread": ("peers", PEERS / "pd_nest.py", ["--threads", "1"], "nest"),
    "Brian2 cpp_standalone, 1 thread (PD)": (
        "peers", PEERS / "pd_brian2.py", ["--threads", "1"], "brian2"),
}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="one round, 8 batched trials, no Potjans-Diesmann"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--trials", type=int, default=64, help="batched trials (0: skip)")
    p.add_argument("--pd", action="store_true", help="also Potjans-Diesmann at scale 0.1")
    p.add_argument("--pd-rounds", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated substrings of engine labels")
    p.add_argument(
        "--batch-only", action="store_true", help="only the batched-trial rows (no COBA table)"
    )
    p.add_argument(
        "--peers-python", default=os.environ.get("MULTISCALE_PEERS_PYTHON", DEFAULT_PEERS_PYTHON)
    )
    p.add_argument(
        "--omp-active",
        action="store_true",
        help="leave OpenMP's default (active) wait policy for Brian2 and NEST",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="s per engine run")
    p.add_argument("--out", default=str(HERE / "results" / "spiking.md"))
    p.add_argument(
        "--render-only",
        action="store_true",
        help="write the report from the .json beside --out, running nothing",
    )
    a = p.parse_args(argv)
    if a.rounds < 1 or a.pd_rounds < 1:
        p.error("--rounds and --pd-rounds must be >= 1")
    if a.trials < 0:
        p.error("--trials must be >= 0")
    if a.quick:
        a.rounds, a.trials, a.pd = 1, min(a.trials, 8), False
    return a


def _interpreter(kind: str, a) -> str:
    return sys.executable if kind == "multiscale" else a.peers_python


def _available(engines: dict, a) -> dict:
    """label -> None if runnable, else the reason it is not."""
    why, probed = {}, {}
    for label, (kind, _, _, module) in engines.items():
        if kind == "multiscale":
            code = "from multiscale.circuit.spiking import coba_network, run"
            key = ("multiscale", code)
        else:
            if not pathlib.Path(a.peers_python).exists():
                why[label] = f"no peers interpreter at {a.peers_python}"
                continue
            code = f"import {module}"
            key = ("peers", code)
        if key not in probed:
            r = subprocess.run([_interpreter(kind, a), "-c", code], capture_output=True, text=True)
            probed[key] = (
                None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1]
            )
        why[label] = probed[key]
    return why


def _env(a) -> dict:
    env = dict(os.environ)
    if not a.omp_active:
        # On a shared, oversubscribed machine OpenMP's spinning barriers collapse: one
        # run here took 265 s (NEST) and 78 s (Brian2) per biological second with the
        # default policy, 8-28 s and 0.8-2.6 s passive. Passive is what one sets there.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _run_one(kind: str, script, args: list[str], a) -> dict:
    """One engine run in a fresh process; ``NAME=value`` entries of ``args`` are set in
    its environment instead of passed on."""
    env = _env(a)
    env.update(x.split("=", 1) for x in args if _is_env(x))
    cmd = [_interpreter(kind, a), str(script), *(x for x in args if not _is_env(x))]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=a.timeout, env=env, cwd=HERE.parent
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {a.timeout:.0f} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in r.stdout.strip().splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {r.returncode}: {tail[:200]}"}
    out = json.loads(lines[-1])
    out["process_wall_s"] = wall
    return out


def _is_env(arg: str) -> bool:
    name, eq, _ = arg.partition("=")
    return bool(eq) and name.isupper() and not name.startswith("-")


def run_rounds(engines: dict, rounds: int, a, tag: str, raw: dict) -> dict:
    """label -> list of result dicts, engines interleaved and rotated round by round.

    Every result is also stored in ``raw[tag]`` and written to the ``.json`` beside
    ``--out`` as soon as it arrives, so an interrupted run keeps what it measured
    (``--render-only`` writes the report from that file).
    """
    labels = list(engines)
    res = raw.setdefault(tag, {})
    for k in labels:
        res.setdefault(k, [])
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            kind, script, args, _ = engines[label]
            out = _run_one(kind, script, args, a)
            res[label].append(out)
            pathlib.Path(a.out).with_suffix(".json").write_text(json.dumps(raw, indent=1))
            msg = out.get("error") or out.get("missing") or _summary(out)
            print(f"[{tag}] round {r} {label}: {msg}", flush=True)
    return res


def _summary(out: dict) -> str:
    msg = f"{out['per_bio_s']:.3f} s per biological s, build {out['build_s']:.1f} s"
    if "per_trial_s" in out:
        msg += f", {out['per_trial_s']:.3f} s per trial"
    if "trial_wall_s" in out:
        msg += f", {statistics.median(out['trial_wall_s']):.3f} s per repeated run"
    if "rate_hz" in out:
        msg += f", {out['rate_hz']:.1f} Hz, CV {out['cv_isi']:.2f}"
    if "pop_rates_hz" in out:
        msg += ", rates " + " ".join(f"{x:.2f}" for x in out["pop_rates_hz"]) + " Hz"
    return msg


def _med(runs: list[dict], key: str):
    v = [x[key] for x in runs if key in x and "error" not in x]
    return (statistics.median(v), min(v), max(v), len(v)) if v else None


def _fmt(m, digits=3) -> str:
    if m is None:
        return "-"
    med, lo, hi, n = m
    f = f"{{:.{digits}f}}"
    return f.format(med) if n == 1 else f"{f.format(med)} ({f.format(lo)}-{f.format(hi)})"


def _revision() -> str:
    """This checkout's commit of multiscale's spiking code, and whether it is modified."""

    def git(*args):
        r = subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True,
                           text=True)  # fmt: skip
        return r.stdout.strip() if r.returncode == 0 else ""

    rev = git("log", "-1", "--format=%h", "--", "multiscale/circuit/spiking") or "none"
    dirty = git("status", "--porcelain", "--", "multiscale/circuit/spiking")
    return rev + (" with uncommitted changes" if dirty else "")


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


def coba_table(res: dict, why: dict) -> list[str]:
    base = _med(res.get(BASE, []), "per_bio_s")
    ms = _med(res.get("multiscale", []), "per_bio_s")
    lines = [
        "| engine | s per biological s | CPU s per biological s | build / compile, s | "
        "peak memory, MB | rate, Hz | rate E / I, Hz | ISI CV | / Brian2 cpp 1 thread | "
        "/ multiscale | version |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in [k for k in COBA if k in res or k in why]:
        runs = res.get(label, [])
        if why.get(label):
            lines.append(f"| {label} | not run: {why[label]} |  |  |  |  |  |  |  |  |  |")
            continue
        errs = [x.get("error") or x.get("missing") for x in runs if "per_bio_s" not in x]
        per = _med(runs, "per_bio_s")
        if per is None:
            lines.append(
                f"| {label} | failed: {errs[0] if errs else '?'} |  |  |  |  |  |  |  |  |  |"
            )
            continue
        ver = next(x.get("version") or f"jax {x.get('jax')}" for x in runs if "per_bio_s" in x)
        re_, ri = _med(runs, "rate_e_hz"), _med(runs, "rate_i_hz")
        cpu = _med(runs, "cpu_per_bio_s") or _med(runs, "program_cpu_s")
        lines.append(
            f"| {label} | {_fmt(per)} | {_fmt(cpu)} | {_fmt(_med(runs, 'build_s'), 1)} | "
            f"{_fmt(_med(runs, 'peak_rss_mb'), 0)} | {_fmt(_med(runs, 'rate_hz'), 1)} | "
            f"{re_[0]:.1f} / {ri[0]:.1f} | {_fmt(_med(runs, 'cv_isi'), 2)} | "
            + (f"{per[0] / base[0]:.2f}x | " if base else "- | ")
            + (f"{per[0] / ms[0]:.2f}x | " if ms else "- | ")
            + f"{ver} |"
            + (f" ({len(errs)} failed: {errs[0]})" if errs else "")
        )
    return lines


def batch_section(res: dict, trials: int) -> list[str]:
    b2 = [x for x in res.get(BASE, []) if "trial_wall_s" in x]
    lines = _batch_brian2(b2, res, trials)
    for label in ("multiscale", TWO):
        if label in res or (label == "multiscale" and TWO not in res):
            lines += _batch_multiscale(label, res, b2, trials)
    return lines


def _batch_brian2(b2, res, trials) -> list[str]:
    lines = [f"**{trials} independent trials.**"]
    if b2:
        walls = [w for x in b2 for w in x["trial_wall_s"]]
        sims = [s for x in b2 for s in x["trial_sim_s"]]
        rates = [r for x in b2 for r in x["trial_rate_hz"]]
        dead = sum(r < 5.0 for r in rates)
        lines.append(
            f"Brian2 cpp_standalone (1 thread), compiled once, its program run {trials} times "
            f"one after another ({len(b2)} round(s)): {statistics.median(walls):.3f} s per "
            f"trial, median wall time of a run of the program (its simulation loop alone "
            f"{statistics.median(sims):.3f} s); total {sum(walls) / len(b2):.1f} s per "
            f"{trials} trials. Trial rates {min(rates):.1f}-{max(rates):.1f} Hz (median "
            f"{statistics.median(rates):.1f}); {dead} of {len(rates)} trials fell silent "
            "(< 5 Hz) after the kick."
            + (
                f" CPU time {statistics.median(c for x in b2 for c in x['trial_cpu_s']):.3f} "
                "s per run of the program."
                if all("trial_cpu_s" in x for x in b2)
                else ""
            )
        )
    else:
        errs = [x.get("error") for x in res.get(BASE, [])]
        lines.append(
            f"Brian2 cpp_standalone repeated runs: not measured ({errs[:1] or 'missing'})."
        )
    return lines


def _batch_multiscale(label, res, b2, trials) -> list[str]:
    ms = [x for x in res.get(label, []) if "per_trial_s" in x]
    lines = []
    if ms:
        per = statistics.median(x["per_trial_s"] for x in ms)
        rates = [r for x in ms for r in x["trial_rate_hz"]]
        how = "" if label == "multiscale" else " over 2 CPU devices (`devices=2`)"
        lines.append(
            f"multiscale, {trials} trials batched in one `spiking.run`{how} ({len(ms)} round(s)): "
            f"{per:.3f} s per trial ({statistics.median(x['sim_s'] for x in ms):.2f} s for the "
            f"batch after compilation; compilation "
            f"{statistics.median(x['build_s'] for x in ms):.1f} s). Trial rates "
            f"{min(rates):.1f}-{max(rates):.1f} Hz (median {statistics.median(rates):.1f}); "
            f"{sum(r < 5.0 for r in rates)} of {len(rates)} trials fell silent (< 5 Hz). "
            "On CPU `spiking.run` advances the trials in chunks whose state fits about "
            "768 KiB (4 trials of COBA)."
            + (
                f" CPU time {statistics.median(x['cpu_per_trial_s'] for x in ms):.3f} s per trial."
                if all(x.get("cpu_per_trial_s") for x in ms)
                else ""
            )
        )
        if b2:
            ratio = statistics.median(w for x in b2 for w in x["trial_wall_s"]) / per
            lines.append(
                f"Per trial ({label}), Brian2 / multiscale = **{ratio:.2f}x** wall (goal >= 3x)."
            )
            cpus = [c for x in b2 for c in x.get("trial_cpu_s", [])]
            if cpus and all(x.get("cpu_per_trial_s") for x in ms):
                mine = statistics.median(x["cpu_per_trial_s"] for x in ms)
                lines.append(f"In CPU seconds: {statistics.median(cpus) / mine:.2f}x.")
    else:
        errs = [x.get("missing") or x.get("error") for x in res.get(label, [])]
        lines.append(f"{label} batched trials: not measured ({errs[:1] or 'not present'}).")
    return lines


def main(argv=None) -> str:
    a = parse_args(argv)
    pick = [s.strip() for s in a.only.split(",") if s.strip()]
    engines = {k: v for k, v in COBA.items() if not pick or any(s in k for s in pick)}
    if a.batch_only:  # ``pick`` then chooses among the batched rows
        engines = {k: COBA[k] for k in ("multiscale", BASE)}
    if a.render_only:
        raw = json.loads(pathlib.Path(a.out).with_suffix(".json").read_text())
        for k, v in raw.get("args", {}).items():
            setattr(a, k, v)
        text = render(a, raw.get("coba", {}), raw.get("why", {}), raw.get("trials", {}),
                      raw.get("pd", {}), tuple(raw["load0"]), tuple(raw["load1"]),
                      raw["started"], raw.get("multiscale_rev", "?"))  # fmt: skip
        pathlib.Path(a.out).write_text(text)
        print(text)
        return text
    why = _available(engines, a)
    runnable = {k: v for k, v in engines.items() if not why[k]}
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    kept = {k: getattr(a, k) for k in ("rounds", "trials", "omp_active", "quick", "batch_only")}
    raw = {"why": why, "load0": load0, "load1": load0, "started": started, "args": kept,
           "multiscale_rev": _revision()}  # fmt: skip
    res = {} if a.batch_only else run_rounds(runnable, a.rounds, a, "coba", raw)
    batch = {}
    if a.trials and (BASE in runnable or "multiscale" in runnable):
        be = {}
        if "multiscale" in runnable:
            be["multiscale"] = ("multiscale", WORKER, ["--trials", str(a.trials), "--repeats", "1"],
                                None)  # fmt: skip
            be[TWO] = ("multiscale", WORKER, ["--trials", str(a.trials), "--repeats", "1",
                                              "--devices", "2"], None)  # fmt: skip
        if BASE in runnable:
            kind, script, args, mod = runnable[BASE]
            be[BASE] = (kind, script, [*args, "--repeats", str(a.trials)], mod)
        if a.batch_only and pick:
            be = {k: v for k, v in be.items() if any(s in k for s in pick)}
        batch = run_rounds(be, max(1, min(a.rounds, 2)), a, "trials", raw)
    pd = {}
    if a.pd:
        pe = {k: v for k, v in PD.items() if not pick or any(t in k for t in pick)}
        pwhy = _available(pe, a)
        why.update(pwhy)
        pd = run_rounds({k: v for k, v in pe.items() if not pwhy[k]}, a.pd_rounds, a, "pd", raw)
    load1 = os.getloadavg()
    raw["load1"] = load1
    pathlib.Path(a.out).with_suffix(".json").write_text(json.dumps(raw, indent=1))
    text = render(a, res, why, batch, pd, load0, load1, started, raw["multiscale_rev"])
    pathlib.Path(a.out).write_text(text)
    print(text)
    return text


def render(a, res, why, batch, pd, load0, load1, started, rev="?") -> str:
    lines = [
        "## Spiking networks: COBA, batched trials, Potjans-Diesmann (`bench_spiking.py`)",
        "",
        f"Machine: {_machine()}; load average (1 min) {load0[0]:.1f} before and "
        f"{load1[0]:.1f} after this run ({started}): **the machine was shared with other "
        "jobs**, so read absolute times as upper bounds and compare engines within the run. "
        f"{a.rounds} interleaved round(s), each engine a fresh process per round; medians "
        "(min-max). OpenMP wait policy: "
        + ("default (active)." if a.omp_active else "passive (`OMP_WAIT_POLICY=PASSIVE`).")
        + (" Quick sizes." if a.quick else "")
        + f" multiscale's spiking code: commit {rev}.",
        "",
        "**COBA** (Brette et al. 2007 benchmark 1: 4000 LIF neurons, p = 0.02, 6 / 67 nS, "
        "the 50 ms kick; 1 s at dt = 0.1 ms). s per biological s: the simulation loop "
        "only; build: code generation, compilation (cached by Brian2 and Cython after the "
        "first run), network construction, XLA compilation for JAX engines. Rate: all "
        "4000 neurons over the whole second; ISI CV: mean over neurons with >= 2 ISIs. "
        "Ratio columns divide the engine's time by Brian2 cpp_standalone's (1 thread) or "
        "by multiscale's: above 1 is slower. Peak memory of Brian2 cpp_standalone is the "
        "compiled program's own (the Python process that generates it peaks near 140 MB). "
        "CPU s: the process's CPU time during the timed `spiking.run` calls for "
        "multiscale; for Brian2 cpp_standalone that of one whole run of its compiled "
        "program (synapse creation and output included: an upper bound on its loop's). "
        "On a shared machine CPU time is the fairer measure. 'multiscale, 1 core' is the "
        "worker with its process affinity set to one core before JAX starts: XLA's CPU "
        "runtime otherwise hands a step's independent kernels to a pool of threads, "
        "which for a network this small costs more CPU time than it saves; a pinned "
        "process cannot move off a busy core, so under load its wall time is pessimistic. "
        "'multiscale, NPROC=1' is the worker with `NPROC=1` in its environment: XLA's CPU "
        "client then makes a pool of one thread, which runs the step's kernels one after "
        "another without tying the process to a core.",
        "",
        *(
            coba_table(res, {k: v for k, v in why.items() if k in COBA})
            if res or not getattr(a, "batch_only", False)
            else ["(COBA single trials not run: `--batch-only`.)"]
        ),
        "",
    ]
    lines += [
        "Same network, each engine in its own idiom: Brian2 and BrainPy draw Bernoulli "
        "connections (p = 0.02), NEST and multiscale a fixed in-degree (64 + 16); NEST "
        "integrates with adaptive RK45 (GSL) inside each step, Brian2 with exponential "
        "Euler, BrainPy with `exp_auto`; the peers start every neuron at E_L = -60 mV "
        "(NEST's example), multiscale's `coba_network` from N(-65, 5) mV. The "
        "self-sustained state is metastable: a run whose activity dies after the kick "
        "has a rate below 1 Hz, which the medians absorb. For scale, the issue's "
        "figures on a quiet 2-core Zen 5 machine: Brian2 cpp_standalone 0.09-0.10 s per "
        "biological s with 1 thread (0.12-0.31 s with 2), Cython 0.24-0.29 s, BrainPy "
        "1.25-1.44 s, NEST (2 threads) 3.1-3.6 s; rates 17-20 Hz and CV 1.4.",
        "",
    ]
    if batch:
        lines += batch_section(batch, a.trials) + [""]
    if pd:
        lines += pd_section(pd) + [""]
    return "\n".join(lines)


def pd_section(res: dict) -> list[str]:
    lines = [
        "**Potjans-Diesmann microcircuit at scale 0.1** (NEST's example down-scaling: "
        "N and in-degrees x 0.1, weights / sqrt(0.1), DC compensation; Poisson background; "
        "1 s after the network is built; rates per population over the second).",
        "",
        "| engine | s per biological s | build, s | peak memory, MB | neurons | synapses | "
        "rates L2/3E L2/3I L4E L4I L5E L5I L6E L6I, Hz |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, runs in res.items():
        ok = [x for x in runs if "per_bio_s" in x]
        if not ok:
            err = runs[0].get("error") if runs else "not run"
            lines.append(f"| {label} | failed: {err} |  |  |  |  |  |")
            continue
        rates = [statistics.median(x["pop_rates_hz"][i] for x in ok) for i in range(8)]
        lines.append(
            f"| {label} | {_fmt(_med(runs, 'per_bio_s'))} | {_fmt(_med(runs, 'build_s'), 1)} | "
            f"{_fmt(_med(runs, 'peak_rss_mb'), 0)} | {ok[0]['n_neurons']} | "
            f"{ok[0]['n_synapses']:.3g} | {' '.join(f'{r:.2f}' for r in rates)} |"
        )
    ms = [x for x in res.get("multiscale (PD)", []) if "per_bio_s" in x]
    if ms:
        cpu = statistics.median(x["cpu_per_bio_s"] for x in ms)
        lines.append("")
        lines.append(
            f"multiscale CPU time: {cpu:.2f} CPU s per biological s (median). "
            + " ".join(
                f"{k}: multiscale {_med(res[k], 'per_bio_s')[0] / _med(ms, 'per_bio_s')[0]:.2f}x "
                "faster (wall)."
                for k in res
                if k.startswith("NEST") and _med(res[k], "per_bio_s")
            )
        )
    lines.append("")
    lines.append(
        "Seed 55 in every round (the seed of NEST's reference data), so each engine's "
        "rates repeat exactly from round to round. "
        "multiscale: `potjans_diesmann(scale=0.1)` (Poisson background, every delay as "
        "drawn), each step's spikes delivered once into a ring buffer of future input; one "
        "1.5 s run (0.5 s warm-up + the 1 s of the rates) timed whole, XLA on its default "
        "threads; build = construction + XLA compilation. "
        "NEST's 10 %-scale reference rates (its example's reference data, 1 s after 500 ms): "
        "0.40 2.02 3.88 4.96 6.58 7.73 0.83 6.99 Hz."
    )
    return lines


if __name__ == "__main__":
    main()
