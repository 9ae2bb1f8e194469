"""Pages generated when the site is built: the notebook gallery and the command line.

- :func:`gallery` extracts the PNG figures stored in ``notebooks/*.ipynb`` and lays them
  out by notebook, each linked to its notebook's page.
- :func:`cli_page` documents every subcommand and option of ``multiscale`` from the
  argparse parser itself, and the sweep's TOML format from the docstring of the module
  that reads it, so that the page cannot drift from the code.
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import os
from pathlib import Path


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_figures(notebook: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """A notebook's title (its first ``#`` heading) and its PNG outputs, each with the
    last Markdown heading above it as a caption."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    title, caption, figures = notebook.stem, "", []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _text(cell).splitlines():
                if line.startswith("# ") and title == notebook.stem:
                    title = line[2:].strip()
                elif line.startswith("#"):
                    caption = line.lstrip("#").strip()
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png is not None:
                data = "".join(png) if isinstance(png, list) else png
                figures.append((caption, base64.b64decode(data)))
    return title, figures


def gallery(notebook_dir: Path) -> tuple[str, dict[str, bytes]]:
    """The gallery page's Markdown and its images (``gallery/<notebook>-<n>.png``).

    Raises:
        ValueError: if no notebook holds a figure (their outputs were cleared).
    """
    lines = [
        "# Gallery",
        "",
        "The figures of the example notebooks, as stored in them. Click a figure to open",
        "its notebook, which shows the code that made it.",
        "",
    ]
    images: dict[str, bytes] = {}
    for notebook in sorted(notebook_dir.glob("*.ipynb")):
        title, figures = notebook_figures(notebook)
        if not figures:
            continue
        page = f"notebooks/{notebook.name}"
        lines += [f"## [{title}]({page})", "", '<div class="ms-gallery" markdown>', ""]
        for n, (caption, png) in enumerate(figures, start=1):
            uri = f"gallery/{notebook.stem}-{n}.png"
            images[uri] = png
            alt = (caption or title).replace('"', "'").replace("[", "(").replace("]", ")")
            lines += [f"[![{alt}]({uri}){{ loading=lazy }}]({page})", ""]
        lines += ["</div>", ""]
    if not images:
        raise ValueError(f"no notebook in {notebook_dir} stores a PNG figure; run them first")
    return "\n".join(lines), images


def _options(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | description |", "|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(action.option_strings) or action.metavar or action.dest
        if action.choices is not None and not action.option_strings:
            name = f"{name} {{{','.join(map(str, action.choices))}}}"
        elif action.choices is not None:
            name += f" {{{','.join(map(str, action.choices))}}}"
        elif action.nargs != 0 and action.option_strings:
            name += f" {action.metavar or action.dest.upper()}"
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) else f"`{default}`"
        if action.required and action.option_strings:
            shown = "required"
        help_text = (action.help or "") % {"default": default, "prog": parser.prog}
        rows.append(f"| `{name}` | {shown} | {help_text.replace('|', '&#124;')} |")
    return rows


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_page(parser: argparse.ArgumentParser, sweep_module: Path) -> str:
    """The command-line reference: usage, then each subcommand's options; then the
    sweep config format, from the docstring of the file ``sweep_module``."""
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal width
    lines = [
        "# Command line",
        "",
        "Installing multiscale puts a `multiscale` command on the path (also",
        "`python -m multiscale`). This page is generated from its argument parser.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        *_options(parser),
        "",
    ]
    for name, sub in _subparsers(parser).items():
        lines += [f"## `multiscale {name}`", ""]
        if sub.description:
            lines += [sub.description.strip(), ""]
        lines += ["```text", sub.format_usage().strip(), "```", "", *_options(sub), ""]
    doc = ast.get_docstring(ast.parse(sweep_module.read_text(encoding="utf-8"))) or ""
    summary, _, body = doc.partition("\n")
    if not body.strip():
        raise ValueError(f"{sweep_module} has no docstring describing the sweep config")
    lines += ["## The sweep configuration file", "", summary.strip(), "", *_rst_literals(body)]
    return "\n".join(lines)


def _rst_literals(text: str) -> list[str]:
    """Turn reStructuredText ``::`` literal blocks and double backquotes into Markdown."""
    out: list[str] = []
    block = False
    for line in text.strip().splitlines():
        if block and line.strip() and not line.startswith("    "):
            out += ["```", ""]
            block = False
        if block:
            if line.strip() or out[-1] != "```toml":
                out.append(line[4:])
            continue
        if line.rstrip().endswith("::"):
            out += [line.rstrip()[:-1], "", "```toml"]
            block = True
            continue
        out.append(line.replace("``", "`"))
    if block:
        out.append("```")
    return out
