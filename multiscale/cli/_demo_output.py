"""Where the demo writes: the output-folder rule, and its results table as CSV.

The rule. ``multiscale demo --out OUT`` writes into ``OUT`` only if it

- does not exist (it is created), or is an empty folder; or
- is a previous demo's output: it holds the marker file ``.multiscale-demo`` and nothing
  but files the demo writes (``report.md``, ``results.csv``, the four figures).

Anything else (a file, a folder with other content, an old output without the marker) is
refused before any work, unless ``--force``: the demo then writes its own files there,
overwriting same-named ones, and leaves every other file alone. The marker is written
first, so an interrupted demo's folder is still recognised as the demo's.
"""

import csv
import json
import pathlib
import time

from ._run import BadInput

MARKER = ".multiscale-demo"
FILES = frozenset(
    {
        "report.md",
        "results.csv",
        "1_synapse_stdp.png",
        "2_circuit_vs_monkeys.png",
        "3_ddm_fit.png",
        "4_nmda_manipulation.png",
    }
)


def prepare_out(out: str | pathlib.Path, *, force: bool = False) -> pathlib.Path:
    """Check ``out`` against the rule above, create it and write the marker."""
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        raise BadInput(f"--out {str(path)!r} is a file; give a folder for the demo's output")
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir())
        others = [e for e in entries if e not in FILES and e != MARKER]
        previous = MARKER in entries and not others
        if entries and not previous and not force:
            shown = ", ".join(repr(e) for e in (others or entries)[:3])
            raise BadInput(
                f"--out {str(path)!r} is not empty and is not a previous demo's output (it "
                f"holds {shown}{', ...' if len(others or entries) > 3 else ''}); choose a new "
                "folder, or pass --force to write the demo's files there (other files are "
                "left alone)"
            )
    path.mkdir(parents=True, exist_ok=True)
    stamp = {"written_by": "multiscale demo", "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (path / MARKER).write_text(json.dumps(stamp) + "\n")
    return path


def write_results_csv(path: pathlib.Path, rows, header) -> None:
    """The summary table as CSV (one row per quantity, the printed columns)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
