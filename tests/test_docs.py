"""The documentation site: its generators (docs/gen_*.py) and one strict build.

The generators run inside ``mkdocs build`` as hooks; here each is tested on small inputs
whose right output is known, and on the package itself. The tests need the ``docs``
extra (``pip install ".[docs]"``) and are skipped without it; CI installs it and builds
the site with ``mkdocs build --strict``, whose hooks make the same checks.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE_DIR = ROOT / "multiscale"
sys.path.insert(0, str(DOCS))

griffe = pytest.importorskip("griffe", reason="the docs extra is not installed (griffe)")
latex2mathml = pytest.importorskip(
    "latex2mathml", reason="the docs extra is not installed (latex2mathml)"
)

import gen_api  # noqa: E402
import gen_math  # noqa: E402
import gen_pages  # noqa: E402
import gen_refs  # noqa: E402

# A tiny stand-in for the package, written to a temporary folder: what its API pages
# and cross-references must be is known exactly.
FAKE = {
    "__init__.py": '"""Fake root."""\n',
    "circuit/__init__.py": textwrap.dedent(
        '''\
        """Fake circuit scale."""

        from ._model import Stimulus as Stimulus, simulate as simulate
        from ._other import helper as helper
        from ._other import hidden
        '''
    ),
    "circuit/_model.py": textwrap.dedent(
        '''\
        """Stimuli and their simulation.

        Uses :class:`Stimulus` and :func:`~multiscale.circuit.simulate`.
        """

        import jax


        class Stimulus:
            """A stimulus; see :meth:`on`, :func:`jax.jit` and :mod:`._other`."""

            def on(self):
                """Whether it is on."""

            def _private(self):
                """Private."""


        def simulate(stimulus):
            r"""Simulate :class:`Stimulus`; :func:`helper` and :func:`_secret`.

            Example:
                >>> simulate(None)
                [1.0, 2.0]
            """


        def _secret():
            """Not documented on the site."""
        '''
    ),
    "circuit/_other.py": '"""Other things."""\n\n\ndef helper():\n    """Help."""\n\n\n'
    'def hidden():\n    """Hidden."""\n',
}


@pytest.fixture
def fake_package(tmp_path):
    for name, text in FAKE.items():
        path = tmp_path / "multiscale" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_public_api_reads_redundant_aliases(fake_package):
    api = gen_api.public_api(fake_package / "multiscale")
    # `import hidden` without `as hidden` is not an export.
    assert api == {"multiscale.circuit": ["Stimulus", "simulate", "helper"]}


def test_public_api_of_the_package_matches_the_imported_modules():
    api = gen_api.public_api(PACKAGE_DIR)
    assert set(api) >= {f"multiscale.{m}" for m in ("synapse", "circuit", "behavior", "fit")}
    assert "multiscale.cli" not in api
    for module, names in api.items():
        imported = __import__(module, fromlist=["_"])
        assert names, module
        missing = [n for n in names if not hasattr(imported, n)]
        assert not missing, f"{module} does not define {missing}"


def test_api_page_has_one_directive_per_name_grouped_by_module(fake_package):
    page = gen_api.api_page(fake_package / "multiscale", "multiscale.circuit")
    directives = re.findall(r"^::: (\S+)$", page, re.M)
    assert directives == [
        "multiscale.circuit",
        "multiscale.circuit._model",
        "multiscale.circuit.Stimulus",
        "multiscale.circuit.simulate",
        "multiscale.circuit._other",
        "multiscale.circuit.helper",
    ]
    assert "## Stimuli and their simulation\n" in page
    assert "[](){ #multiscale.circuit._model }" in page


def test_missing_anchors():
    html = '<h2 id="multiscale.circuit.simulate">simulate</h2>'
    assert gen_api.missing_anchors(html, "multiscale.circuit", ["simulate", "Stimulus"]) == [
        "Stimulus"
    ]


def test_sphinx_roles_become_links_to_public_paths(fake_package):
    pkg = griffe.load(
        "multiscale",
        search_paths=[str(fake_package)],
        try_relative_path=False,
        extensions=griffe.load_extensions(gen_api.SphinxRoles),
    )
    module = pkg["circuit._model"].docstring.value
    assert "Stimuli and their simulation" not in module  # the section heading says it
    assert "[`Stimulus`][multiscale.circuit.Stimulus]" in module
    assert "[`simulate()`][multiscale.circuit.simulate]" in module
    stimulus = pkg["circuit._model.Stimulus"].docstring.value
    assert "[`on()`][multiscale.circuit.Stimulus.on]" in stimulus
    assert "`jax.jit()`" in stimulus and "[`jax.jit()`]" not in stimulus  # external: code
    assert "[`_other`][multiscale.circuit._other]" in stimulus
    simulate = pkg["circuit._model.simulate"].docstring.value
    assert "[`helper()`][multiscale.circuit.helper]" in simulate
    assert "`_secret()`" in simulate and "[`_secret()`]" not in simulate  # private: code
    assert "Examples:" in simulate  # Napoleon's "Example:" renamed for griffe


def test_to_mathml_converts_and_rejects():
    mathml = gen_math.to_mathml(r"\frac{a}{b} + \arg\max_x f", display=True)
    assert mathml.startswith("<math") and "<mfrac>" in mathml and 'display="block"' in mathml
    with pytest.raises(gen_math.MathError, match="does not know"):
        gen_math.to_mathml(r"\notacommand{x}", display=False)
    with pytest.raises(gen_math.MathError, match="raw string"):
        gen_math.to_mathml("n \approx 24", display=False)  # "\a": the bug it reports


def test_render_math_replaces_tex_outside_code_only():
    page = (
        '<p><span class="arithmatex">\\(x^2\\)</span></p>'
        '<div class="arithmatex">\\[a &lt; b\\]</div>'
        '<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput">'
        "<p>Drift $v = kC$ and $$y_1$$ but <code>$not$</code></p><div>$z$</div></div>"
        '<div class="highlight"><pre>"$label$"</pre></div>'
    )
    out = gen_math.render_math(page)
    assert "\\(" not in out and "\\[" not in out
    assert out.count("<math") == 5
    assert "<code>$not$</code>" in out and '<pre>"$label$"</pre>' in out
    assert "&lt;" in out or "&#x0003C;" in out


def test_gallery_extracts_each_png(tmp_path):
    png = b"\x89PNG\r\n\x1a\nfake"
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title\n", "## Section\n"]},
            {
                "cell_type": "code",
                "source": "plot()",
                "outputs": [{"data": {"image/png": base64.b64encode(png).decode()}}],
            },
        ]
    }
    (tmp_path / "01_x.ipynb").write_text(json.dumps(notebook))
    page, images = gen_pages.gallery(tmp_path)
    assert images == {"gallery/01_x-1.png": png}
    assert "## [Title](notebooks/01_x.ipynb)" in page
    assert "[![Section](gallery/01_x-1.png){ loading=lazy }](notebooks/01_x.ipynb)" in page
    (tmp_path / "01_x.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(ValueError, match="stores a PNG"):
        gen_pages.gallery(tmp_path)


def test_cli_page_lists_every_subcommand_and_option():
    from multiscale.cli import _main

    parser = _main._parser()
    page = gen_pages.cli_page(parser, PACKAGE_DIR / "cli" / "_sweep.py")
    for name, sub in gen_pages._subparsers(parser).items():
        assert f"## `multiscale {name}`" in page
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for option in action.option_strings:
                assert f"`{option}" in page, (name, option)
    assert "```toml" in page and "[parameters]" in page


def test_citations_match_the_bibliography():
    papers = gen_refs.load_bibliography(DOCS / "bibliography.toml")
    wong = next(p for p in papers if p.surname == "Wong" and p.year == 2006)
    text = "Wong KF, Wang XJ (2006) J Neurosci 26:1314. Ratcliff R, Tuerlinckx F (2002) x."
    assert wong.pattern.search(text)
    wang = next(p for p in papers if p.surname == "Wang" and p.year == 2002)
    assert not wang.pattern.search(text)  # "Wang ... (2006) ... 2002" is not Wang 2002
    assert gen_refs.unplaced_years(text, papers) == []
    assert gen_refs.unplaced_years("Nobody N (1901) Nowhere 1:1.", papers) == ["Nobody N (1901"]
    assert next(p for p in papers if p.authors.startswith("van Rossum")).surname == "van Rossum"


def test_every_cited_year_has_a_full_reference():
    pkg = griffe.load("multiscale", search_paths=[str(ROOT)])
    page, unplaced = gen_refs.references_page(pkg, PACKAGE_DIR, DOCS / "bibliography.toml")
    assert not unplaced, f"add these papers to docs/bibliography.toml: {unplaced}"
    assert "Wong KF, Wang X-J (2006) A recurrent network mechanism" in page


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (mkdocs)")
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        pytest.skip("the docs extra is not installed (no mkdocs command)")
    site_dir = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    return site_dir


def test_strict_build_renders_every_public_name(site):
    for module, names in gen_api.public_api(PACKAGE_DIR).items():
        html = (site / "api" / module.rsplit(".", 1)[1] / "index.html").read_text()
        assert 'class="doc doc-object' in html, module
        assert gen_api.missing_anchors(html, module, names) == [], module
    circuit = (site / "api" / "circuit" / "index.html").read_text()
    assert 'id="multiscale.circuit.simulate"' in circuit
    behavior = (site / "api" / "behavior" / "index.html").read_text()
    ddm = behavior[behavior.index('id="multiscale.behavior.DDM"') :]
    assert "drift-diffusion model with a contaminant mixture" in ddm[:3000]
    # A Sphinx role of the package's docstrings, rendered as a link.
    assert re.search(r'<a class="autorefs autorefs-internal"[^>]*href="[^"]*#multiscale\.', circuit)


def test_strict_build_renders_maths_without_scripts(site):
    behavior = (site / "api" / "behavior" / "index.html").read_text()
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in behavior
    for page in site.rglob("*.html"):
        html = page.read_text()
        assert not re.search(r'<script[^>]+src="(https?:)?//', html), page
        assert '<span class="arithmatex">\\(' not in html, page


def test_strict_build_has_the_generated_pages(site):
    cli = (site / "cli" / "index.html").read_text()
    assert "<code>multiscale sweep</code>" in cli and "The sweep configuration file" in cli
    gallery = (site / "gallery" / "index.html").read_text()
    assert list((site / "gallery").glob("*.png")) and 'href="../notebooks/' in gallery
    assert "Cited by" in (site / "references" / "index.html").read_text()
