"""Wall time of a whole ``multiscale fit`` (DDM, 2600 trials): first run, second run.

A first run compiles (XLA) for most of its time; the command line stores the compiled
programs in JAX's persistent compilation cache (``multiscale/cli/_cache.py``), so a second
run on the same machine loads them. Each run is a fresh ``python -m multiscale fit`` process
timed from start to exit:

- first: an empty cache folder every time (what a new user sees once);
- second: the same folder, after one run filled it (every later run);
- ``--no-cache``: the command without the cache (the behaviour before it existed);
- floor: ``import multiscale`` alone in a fresh interpreter, which no cache can shorten.

Data: 2600 trials drawn (seed 0) from the Roitman & Shadlen (2002) monkey N file described
in the repository's development data (``--data``); condition ``coh``.

Run: ``python benchmarks/bench_cold_start.py [--quick] [--data CSV]``; writes
benchmarks/results/cold_start.md.
"""

import argparse
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

_DATA = "/work/shared/data/roitman2002_monkey_n.csv"


def _run(args: list[str], cache: pathlib.Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one fresh process, s."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    env.pop("MULTISCALE_NO_CACHE", None)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _stats(runs: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    return (
        f"{statistics.median(wall):.1f} | {min(wall):.1f}-{max(wall):.1f} | {cpu:.1f} | {len(runs)}"
    )


def _median_wall(runs) -> float:
    return statistics.median(w for w, _ in runs)


def main(quick: bool, data: str) -> str:
    import pandas as pd

    repeats = 2 if quick else 5
    work = pathlib.Path(tempfile.mkdtemp(prefix="cold_start_"))
    csv = work / "trials.csv"
    pd.read_csv(data).sample(2600, random_state=0).to_csv(csv, index=False)
    fit = ["-m", "multiscale", "fit", str(csv), "--condition", "coh"]
    load_before = os.getloadavg()[0]
    floor = [_run(["-c", "import multiscale"], work / "unused") for _ in range(repeats)]
    first = [_run(fit, work / f"empty_{i}") for i in range(max(2, repeats - 2))]
    warm = work / "warm"
    _run(fit, warm)  # fills the cache
    second = [_run(fit, warm) for _ in range(repeats)]
    uncached = [_run([*fit, "--no-cache"], work / "off") for _ in range(max(2, repeats - 2))]
    size = sum(p.stat().st_size for p in (warm / "multiscale" / "jax").iterdir())
    load_after = os.getloadavg()[0]
    lines = [
        "## Cold start: `multiscale fit` twice (DDM, 2600 trials)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(os.sched_getaffinity(0))} CPU cores; load average {load_before:.1f} before, "
        f"{load_after:.1f} after (a shared machine: other work slows every row). Each run "
        "is a fresh process timed from start to exit.",
        "",
        "| run | wall median (s) | wall range (s) | CPU median (s) | runs |",
        "|---|---|---|---|---|",
        f"| first (empty compilation cache) | {_stats(first)} |",
        f"| second (cache filled by one run) | {_stats(second)} |",
        f"| `--no-cache` | {_stats(uncached)} |",
        f"| floor: `import multiscale` alone | {_stats(floor)} |",
        "",
        f"Second run / first run (wall): {_median_wall(second) / _median_wall(first):.2f}; "
        f"cache size after one run: {size / 1e6:.1f} MB. CPU is user + system time of all "
        "threads, which other load on the machine changes less than wall time (XLA compiles "
        "on several threads, so a compiling run's CPU time exceeds its wall time on an idle "
        "machine). The second run is the floor (Python, JAX and the package imported) plus "
        "tracing, lowering and loading the cached programs plus the fit itself.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    parser.add_argument("--data", default=_DATA, help="trial CSV with rt, correct, coh columns")
    args = parser.parse_args()
    if not pathlib.Path(args.data).exists():
        sys.exit(f"bench_cold_start: the data file {args.data} is missing; pass --data CSV")
    text = main(args.quick, args.data)
    path = pathlib.Path(__file__).parent / "results" / "cold_start.md"
    path.write_text(text)
    print(text)
