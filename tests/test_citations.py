"""User-facing text cites papers, never the project's internal reference notes.

Docstrings, validation sources (printed by ``multiscale validate``), the demo report, the
docs and the notebooks' text must name the paper a number comes from (author, year,
journal), not a section of a collection of notes that users do not have.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INTERNAL = re.compile(
    r"reference_values|circuits_spiking_laminar|interneurons_modulation_offline", re.I
)

# Paths (relative to the repository root) not yet cleaned, being edited elsewhere. Shrink
# this list as each is cleaned.
NOT_YET_CLEANED = ("multiscale/fit/_roitman_fit.py",)


def _user_facing_files() -> list[Path]:
    files = [p for p in (ROOT / "multiscale").rglob("*") if p.is_file()]
    files += list((ROOT / "docs").glob("*.md")) + list((ROOT / "notebooks").glob("*.ipynb"))
    files.append(ROOT / "README.md")
    return sorted(p for p in files if p.exists() and "__pycache__" not in p.parts)


def _excluded(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == e or rel.startswith(e + "/") for e in NOT_YET_CLEANED)


def mentions(path: Path) -> list[str]:
    """``"line: text"`` for each line of ``path`` that names an internal reference note."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    return [
        f"{i}: {line.strip()[:120]}"
        for i, line in enumerate(text.splitlines(), 1)
        if INTERNAL.search(line)
    ]


def test_scanner_finds_a_mention(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Rate from Reference_values 6a."""\nx = 1  # Wong & Wang 2006\n')
    assert mentions(f) == ['1: """Rate from Reference_values 6a."""']


def test_no_user_facing_file_cites_the_internal_notes():
    found = {
        p.relative_to(ROOT).as_posix(): m
        for p in _user_facing_files()
        if not _excluded(p) and (m := mentions(p))
    }
    assert not found, (
        "cite the paper (author, year, journal) instead of the internal reference notes:\n"
        + "\n".join(f"{path}:{line}" for path, lines in found.items() for line in lines)
    )
