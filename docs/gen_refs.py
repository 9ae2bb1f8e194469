"""The References page: the full citations of ``docs/bibliography.toml``, each with links
to the objects whose docstrings cite it.

Every "References:" section of every docstring is read (through griffe, as the API
pages are); each year cited there must belong to a citation that an entry of the
bibliography matches (its first author's surname, then the year, with no other
four-digit number in between; or the entry's own ``match`` expression).
:func:`references_page` returns the years it could not place, so that the build can
fail on a paper cited without its full reference.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import griffe
from gen_api import PACKAGE, documented_path, public_paths

_YEAR = re.compile(r"(?<![\d.:/\-–])(?:1[89]\d\d|20\d\d)(?![\d:/])")
_INITIALS = re.compile(r"^[A-Z]{1,4}(?:-[A-Za-z]{1,2})?$")


@dataclass(frozen=True)
class Paper:
    """One bibliography entry."""

    authors: str
    year: int
    title: str
    source: str
    match: str | None = None

    @property
    def surname(self) -> str:
        """The first author's surname: the first author without their initials."""
        words = self.authors.split(",")[0].split()
        while len(words) > 1 and _INITIALS.match(words[-1]):
            words.pop()
        return " ".join(words)

    @property
    def pattern(self) -> re.Pattern:
        if self.match is not None:
            return re.compile(self.match)
        number = r"(?<!\d)\d{4}(?!\d)"
        return re.compile(
            rf"\b{re.escape(self.surname)}\b(?:(?!{number}).){{0,120}}?(?<!\d){self.year}(?!\d)",
            re.S,
        )

    def citation(self) -> str:
        title = self.title if self.title.endswith(("?", "!")) else self.title + "."
        return f"{self.authors} ({self.year}) {title} {self.source}."


def load_bibliography(path: Path) -> list[Paper]:
    """The entries of a bibliography TOML file (``[[paper]]`` tables)."""
    with open(path, "rb") as f:
        entries = tomllib.load(f)["paper"]
    return sorted(
        (Paper(**entry) for entry in entries),
        key=lambda p: (p.surname.removeprefix("van ").lower(), p.year),
    )


def _references(obj: griffe.Object) -> str:
    text = []
    for section in obj.docstring.parse("google", warnings=False):  # type: ignore[union-attr]
        title = getattr(section, "title", None) or ""
        if section.kind.value == "admonition" and title.lower().startswith("reference"):
            text.append(section.value.contents)
    return " ".join(" ".join(text).split())


def _docstrings(obj: griffe.Object):
    if obj.docstring is not None:
        yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _docstrings(member)  # type: ignore[arg-type]


def unplaced_years(text: str, papers: list[Paper]) -> list[str]:
    """The citations in ``text`` (one References section) that no paper matches, each as
    the text up to its year."""
    placed = set()
    for paper in papers:
        for m in paper.pattern.finditer(text):
            placed.update(y.end() + m.start() for y in _YEAR.finditer(m.group(0)))
    missing, start = [], 0
    for year in _YEAR.finditer(text):
        if year.end() not in placed:
            missing.append(text[max(start, year.start() - 60) : year.end()].strip())
        start = year.end()
    return missing


def references_page(pkg: griffe.Module, package_dir: Path, bibliography: Path):
    """The References page's Markdown, and the citations no entry matches.

    Returns:
        ``(markdown, unplaced)`` with ``unplaced`` a list of ``"path: citation"``.
    """
    papers = load_bibliography(bibliography)
    public, _ = public_paths(pkg, package_dir)
    cited_by: dict[Paper, list[str]] = {p: [] for p in papers}
    unplaced = []
    for obj in _docstrings(pkg):
        text = " ".join(obj.docstring.value.split())  # type: ignore[union-attr]
        link = _link(pkg, public, obj.path)
        for paper in papers:
            if link and paper.pattern.search(text) and link not in cited_by[paper]:
                cited_by[paper].append(link)
        unplaced += [f"{obj.path}: …{c}" for c in unplaced_years(_references(obj), papers)]
    lines = [
        "# References",
        "",
        "The papers cited in the documentation of multiscale's models and methods, with the",
        "objects whose documentation cites each.",
        "",
    ]
    for paper in papers:
        lines.append(f"- {paper.citation()}")
        if cited_by[paper]:
            lines.append(f"  <br>Cited by: {', '.join(sorted(cited_by[paper]))}")
    return "\n".join(lines) + "\n", unplaced


def _link(pkg: griffe.Module, public: dict[str, str], path: str) -> str | None:
    """An autorefs link to where the site documents ``path`` (or its module's section)."""
    head = path
    while head.startswith(PACKAGE + "."):
        target = documented_path(pkg, public, head)
        if target is not None:
            shown = target.removeprefix(PACKAGE + ".")
            return f"[`{shown}`][{target}]"
        head = head.rpartition(".")[0]
    return None
