"""mkdocs hooks (``hooks:`` in mkdocs.yml): the generated pages and the build-time checks.

Generated pages (nothing of them is stored in ``docs/``):

- ``api/<subpackage>.md``, one per public subpackage, from its ``__init__.py``
  (``gen_api.api_page``); the build fails if the navigation leaves one out, if a page
  renders no object, or if it lacks the anchor of one of its public names;
- ``references.md``, from ``docs/bibliography.toml`` and the docstrings
  (``gen_refs``); a cited year that no entry matches is a warning (an error in
  ``--strict`` builds);
- ``gallery.md`` and its images, from the figures stored in ``notebooks/*.ipynb``;
- ``cli.md``, from the parser of the ``multiscale`` command.

Every page's TeX becomes MathML (``gen_math``), so that no page loads a script for maths.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import griffe
from gen_api import PACKAGE, api_page, missing_anchors, public_api
from gen_math import MathError, render_math
from gen_pages import cli_page, gallery
from gen_refs import references_page
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / PACKAGE
log = logging.getLogger("mkdocs.plugins.multiscale")


def _api_uri(module: str) -> str:
    return f"api/{module.rsplit('.', 1)[-1]}.md"


def _nav_pages(nav) -> set[str]:
    pages: set[str] = set()
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages |= _nav_pages(value)
        elif isinstance(value, str):
            pages.add(value)
    return pages


def on_config(config):
    listed = _nav_pages(config.nav)
    missing = [_api_uri(m) for m in public_api(PACKAGE_DIR) if _api_uri(m) not in listed]
    if missing:
        raise PluginError(
            f"mkdocs.yml: the API section of `nav` lacks {missing}; add one line per page, "
            "e.g. `- circuit: api/circuit.md` (the pages themselves are generated)"
        )
    return config


def on_files(files, config):
    def add(uri: str, content: str | bytes) -> None:
        files.append(File.generated(config, uri, content=content))

    for module in public_api(PACKAGE_DIR):
        add(_api_uri(module), api_page(PACKAGE_DIR, module))

    pkg = griffe.load(PACKAGE, search_paths=[str(ROOT)], resolve_aliases=True)
    page, unplaced = references_page(pkg, PACKAGE_DIR, ROOT / "docs" / "bibliography.toml")
    for citation in unplaced:
        log.warning(f"references: no entry of docs/bibliography.toml matches {citation}")
    add("references.md", page)

    page, images = gallery(ROOT / "notebooks")
    add("gallery.md", page)
    for uri, png in images.items():
        add(uri, png)

    parser = importlib.import_module(f"{PACKAGE}.cli._main")._parser()
    add("cli.md", cli_page(parser, PACKAGE_DIR / "cli" / "_sweep.py"))
    return files


def on_post_page(output: str, page, config) -> str:
    src = page.file.src_uri
    try:
        output = render_math(output)
    except MathError as error:
        raise PluginError(f"{src}: {error}") from error
    api = public_api(PACKAGE_DIR)
    module = next((m for m in api if _api_uri(m) == src), None)
    if module is not None:
        if 'class="doc doc-object' not in output:
            raise PluginError(f"{src}: the API page of {module} renders no object")
        missing = missing_anchors(output, module, api[module])
        if missing:
            raise PluginError(
                f"{src}: no rendered entry for {', '.join(missing)} (exported by "
                f"{module}); each needs a docstring mkdocstrings can read"
            )
    return output
