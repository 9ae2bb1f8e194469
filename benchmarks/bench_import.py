"""Import time of ``multiscale`` against its unavoidable floor, ``import jax, equinox``.

DESIGN asks for ``import multiscale`` under 2 s. JAX alone can exceed that on a shared
CPU, so the number that multiscale controls is the time it adds on top of JAX and
equinox (diffrax, optax and pandas are loaded at import; matplotlib, xarray, netCDF4 and
SciPy are not, which ``tests/test_architecture.py`` enforces). Each import runs in a
fresh interpreter; medians of repeats.

Run: ``python benchmarks/bench_import.py [--quick]``; writes benchmarks/results/import.md.
"""

import argparse
import pathlib
import platform
import statistics
import subprocess
import sys

_CODE = "import time; t = time.perf_counter(); import {mods}; print(time.perf_counter() - t)"


def _time(mods: str, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _CODE.format(mods=mods)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(float(out.stdout.strip()))
    return statistics.median(runs)


def main(quick: bool) -> str:
    repeats = 3 if quick else 7
    rows = [
        (name, _time(mods, repeats))
        for name, mods in (
            ("jax, equinox (floor)", "jax, equinox"),
            ("jax, equinox, diffrax, optax, pandas", "jax, equinox, diffrax, optax, pandas"),
            ("multiscale", "multiscale"),
        )
    ]
    floor = rows[0][1]
    lines = [
        "## Import time",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(__import__('os').sched_getaffinity(0))} CPU cores. Medians of {repeats} "
        "fresh interpreters.",
        "",
        "| import | time (s) | minus floor (s) |",
        "|---|---|---|",
        *(f"| {n} | {t:.2f} | {t - floor:+.2f} |" for n, t in rows),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    args = parser.parse_args()
    text = main(args.quick)
    path = pathlib.Path(__file__).parent / "results" / "import.md"
    path.write_text(text)
    print(text)
