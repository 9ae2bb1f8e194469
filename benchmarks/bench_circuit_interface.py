"""Before and after the circuit interface: the decision circuit's throughput and likelihood.

The circuit interface (one integrator for every circuit, the circuit composed of
populations and projections) touches the hot path of every circuit workload. This
benchmark times the same workloads with the package **before** it (a git revision,
extracted to a temporary folder) and **after** it (this checkout), each timing in a fresh
process, the two interleaved round by round so that machine load affects both alike:

- ``trials``: 1.2e5 Wong–Wang trials (6 coherences, 2.5 s at 0.5 ms: 5000 steps) through
  ``run_trials`` with the 50 ms boxcar threshold readout;
- ``fit``: the trial-level circuit fit (:func:`~multiscale.fit.fit_circuit_trials`, 4
  starts, 600 synthetic trials, 20 Adam + up to 5 L-BFGS steps, paths per condition a
  quarter of the likelihood's), one whole call including compilation, the fresh NLL and
  the Laplace SEs, as a user waits for it;
- ``likelihood``: the trial-level likelihood (2000 noise paths x 5 coherences = 1e4
  simulated trials, 1000 trials of data) forward, ``value_and_grad`` in reverse mode and
  in forward mode (one and two free parameters) -- the inner loop of the circuit fit.

Reported: medians over rounds of each process's best of 3 warm calls, the after/before
ratio, and forward-mode gradient / forward (goal: <= 2).

Run: ``python benchmarks/bench_circuit_interface.py [--quick] [--before REV] [--rounds N]``;
writes benchmarks/results/circuit_interface.md.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_interface_worker.py"
BEFORE = "3689801"  # main just before the circuit interface


def _extract(rev: str, dest: pathlib.Path) -> pathlib.Path:
    archive = dest / "before.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=f, check=True)
    with tarfile.open(archive) as t:
        t.extractall(dest / "before", filter="data")
    return dest / "before"


def _time(tree: pathlib.Path, args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, str(WORKER), *args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(quick: bool, before: str, rounds: int, only: tuple[str, ...] = ()) -> str:
    n_trials, n_paths = (12000, 256) if quick else (120000, 2000)
    workloads = {
        "trials, 50 ms boxcar readout": ["trials", "--n", str(n_trials)],
        "likelihood, forward": ["likelihood", "--n", str(n_paths), "--mode", "forward"],
        "likelihood, grad (reverse)": ["likelihood", "--n", str(n_paths), "--mode", "rev_grad"],
        "likelihood, grad (forward mode)": [
            "likelihood",
            "--n",
            str(n_paths),
            "--mode",
            "fwd_grad",
        ],
        "likelihood, grad (forward mode, 1 parameter)": [
            "likelihood",
            "--n",
            str(n_paths),
            "--mode",
            "fwd_grad1",
        ],
    }
    workloads["trial-level circuit fit (4 starts, 600 trials, whole call)"] = [
        "fit",
        "--n",
        str(n_paths // 4),
    ]
    if only:
        workloads = {w: a for w, a in workloads.items() if any(o in w for o in only)}
    times = {(w, side): [] for w in workloads for side in ("before", "after")}
    checks = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = _extract(before, pathlib.Path(tmp))
        for r in range(rounds):
            for w, args in workloads.items():
                order = (("before", old), ("after", ROOT))
                for side, tree in order if r % 2 == 0 else order[::-1]:
                    res = _time(tree, args)
                    times[(w, side)].append(res["seconds"])
                    checks[(w, side)] = res["check"]
                    print(f"round {r} {w} {side}: {res['seconds']:.3f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        "# Circuit interface: before and after",
        "",
        f"Before: revision {before}; after: this checkout. {rounds} interleaved rounds, each a "
        "fresh process's best of 3 warm calls; medians (min-max). "
        f"{'Quick sizes. ' if quick else ''}"
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| workload | before, s | after, s | after / before | check before | check after |",
        "|---|---|---|---|---|---|",
    ]
    for w in workloads:
        b, a = times[(w, "before")], times[(w, "after")]
        lines.append(
            f"| {w} | {med[(w, 'before')]:.3f} ({min(b):.3f}-{max(b):.3f}) | "
            f"{med[(w, 'after')]:.3f} ({min(a):.3f}-{max(a):.3f}) | "
            f"{med[(w, 'after')] / med[(w, 'before')]:.3f} | "
            f"{checks[(w, 'before')]:.6g} | {checks[(w, 'after')]:.6g} |"
        )
    if ("likelihood, forward", "after") not in med:
        return "\n".join(lines) + "\n"
    fwd = med[("likelihood, forward", "after")]
    lines += [
        "",
        f"Forward-mode gradient / forward (after): one parameter "
        f"{med[('likelihood, grad (forward mode, 1 parameter)', 'after')] / fwd:.2f}, two "
        f"{med[('likelihood, grad (forward mode)', 'after')] / fwd:.2f} (goal <= 2); "
        f"reverse-mode gradient / forward: "
        f"{med[('likelihood, grad (reverse)', 'after')] / fwd:.2f}.",
        "The checks are the mean RT (trials) and the negative log-likelihood: equal before "
        "and after up to float rounding.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--before", default=BEFORE)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--only", action="append", default=[], help="run the workloads whose name has this text"
    )
    p.add_argument("--out", default="circuit_interface.md", help="file name in results/")
    a = p.parse_args()
    text = main(a.quick, a.before, a.rounds, tuple(a.only))
    out = HERE / "results" / a.out
    out.write_text(text)
    print(text)
