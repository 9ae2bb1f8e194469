"""``multiscale bench``: run the peer-comparison scripts of ``benchmarks/``.

Benchmarks live in the source repository, not in the installed package, because they
need the peers of the ``bench`` extra (SciPy, Brian2, PyDDM, BrainPy). Each script
writes its markdown section to ``benchmarks/results/<name>.md``; this command runs the
scripts, prints those sections and assembles ``benchmarks/RESULTS.md``.
"""

import pathlib
import subprocess
import sys


def find_benchmarks() -> pathlib.Path:
    """The ``benchmarks/`` folder of the source checkout: the working directory or the package's."""
    candidates = [
        pathlib.Path.cwd() / "benchmarks",
        pathlib.Path(__file__).resolve().parents[1] / "benchmarks",
    ]
    for c in candidates:
        if c.is_dir() and any(c.glob("bench_*.py")):
            return c
    raise FileNotFoundError(
        "no benchmarks/ folder with bench_*.py scripts found; run `multiscale bench` from a "
        "source checkout of multiscale (git clone ...; pip install '.[bench]')"
    )


def assemble_results(folder: pathlib.Path) -> pathlib.Path:
    """Concatenate ``results/*.md`` under a header into ``RESULTS.md``."""
    sections = sorted((folder / "results").glob("*.md"))
    head = (
        "# Benchmark results\n\n"
        "Each section is written by `benchmarks/bench_<name>.py` (run all with "
        "`multiscale bench`). Timings are medians after compilation unless stated; "
        "every section names the machine it ran on.\n"
    )
    text = head + "".join("\n" + s.read_text().strip() + "\n" for s in sections)
    out = folder / "RESULTS.md"
    out.write_text(text)
    return out


def run_benchmarks(names: list[str], *, quick: bool = False) -> int:
    try:
        folder = find_benchmarks()
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    scripts = sorted(folder.glob("bench_*.py"))
    available = {s.stem.removeprefix("bench_"): s for s in scripts}
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"error: unknown benchmark(s) {unknown}; available: {sorted(available)}",
            file=sys.stderr,
        )
        return 2
    chosen = [available[n] for n in names] if names else scripts
    status = 0
    for script in chosen:
        print(f"== {script.stem} ==", flush=True)
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        rc = subprocess.call(cmd, cwd=folder.parent)
        if rc != 0:
            print(f"{script.name} failed with exit status {rc}", file=sys.stderr)
            status = 1
        section = folder / "results" / f"{script.stem.removeprefix('bench_')}.md"
        if section.exists():
            print(section.read_text())
    print(f"wrote {assemble_results(folder)}")
    return status
