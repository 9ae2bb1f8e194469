"""``multiscale bench``: run the peer-comparison scripts of ``benchmarks/``.

Benchmarks live in the source repository, not in the installed package, because they
need the peers of the ``bench`` extra (SciPy, Brian2, PyDDM, BrainPy). Each script
writes its markdown section to ``benchmarks/results/<name>.md``; this command runs the
scripts, prints those sections and assembles ``benchmarks/RESULTS.md``.

``bench_gpu.py`` (``multiscale bench gpu``, or ``--gpu`` where the parser offers it) is the
accelerator run: it is left out of "all" because its full sizes are meant for a GPU (with
``--quick`` it runs its CPU sizes), and it writes ``results/gpu_<device>_<date>.md`` and
``.json`` for each run, so that runs on different cards sit side by side.
"""

import argparse
import pathlib
import subprocess
import sys

from ._run import BadInput, Outcome, Progress, run

GPU = "gpu"  # benchmarks/bench_gpu.py
ON_REQUEST = (GPU,)  # run only when named, never as part of "all"


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


def bench_command(args, progress: Progress) -> Outcome:
    """The ``bench`` subcommand: run the chosen scripts, print their sections.

    Ctrl-C stops the running script (it receives the same interrupt); the sections of the
    scripts that finished are already in ``benchmarks/results/``.
    """
    try:
        folder = find_benchmarks()
    except FileNotFoundError as e:
        raise BadInput(str(e)) from None
    scripts = sorted(folder.glob("bench_*.py"))
    available = {s.stem.removeprefix("bench_"): s for s in scripts}
    names = list(args.names)
    if getattr(args, "gpu", False) and GPU not in names:
        names.append(GPU)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise BadInput(f"unknown benchmark(s) {unknown}; available: {sorted(available)}")
    if names:
        chosen = [available[n] for n in names]
    else:  # all but the accelerator run, whose full sizes are for a GPU
        chosen = [s for name, s in available.items() if name not in ON_REQUEST]
    status, finished = 0, []
    for script in chosen:
        progress.phase = f"running {script.name}"
        print(f"== {script.stem} ==", flush=True)
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        rc = subprocess.call(cmd, cwd=folder.parent)
        if rc != 0:
            print(f"{script.name} failed with exit status {rc}", file=sys.stderr)
            status = 1
        section = folder / "results" / f"{script.stem.removeprefix('bench_')}.md"
        # bench_gpu.py prints its own dated section; results/gpu.md only describes it.
        if section.exists() and script.stem != f"bench_{GPU}":
            print(section.read_text(), flush=True)
        finished.append(script.stem)
        progress.kept = (
            f"finished: {', '.join(finished)} (their sections are in {folder / 'results'})"
        )
    print(f"wrote {assemble_results(folder)}")
    return Outcome(status=status)


def run_benchmarks(names: list[str], *, quick: bool = False, gpu: bool = False) -> int:
    """``multiscale bench NAMES`` from Python; returns the exit status.

    ``gpu``: also run ``bench_gpu.py`` (the accelerator goals; ``quick``: its CPU sizes).
    """
    args = argparse.Namespace(names=list(names), quick=quick, gpu=gpu)
    return run("multiscale bench", lambda p: bench_command(args, p))
