"""Maths rendered to MathML when the site is built, so that pages need no script or CDN.

The Markdown pages and the docstrings go through ``pymdownx.arithmatex`` (generic mode),
which wraps each formula in ``<span class="arithmatex">\\(...\\)</span>`` or
``<div class="arithmatex">\\[...\\]</div>``; the notebooks' Markdown cells keep their
``$...$`` and ``$$...$$`` as text. :func:`render_math` replaces both with MathML from
``latex2mathml`` (a PyPI package of the ``docs`` extra), which browsers display natively.
A formula that does not convert cleanly raises :class:`MathError` instead of showing
broken maths.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

_ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_NOTEBOOK_MARKDOWN = re.compile(r'<div class="[^"]*\bjp-RenderedMarkdown\b[^"]*"[^>]*>')
_TOC = re.compile(r'(<span class="md-ellipsis">)(.*?)(</span>)', re.S)
_TOC_MATH = re.compile(r"\\\((.+?)\\\)", re.S)
_DIV = re.compile(r"<div\b|</div>")
# Elements whose text is never maths, and any other tag.
_SKIP = re.compile(r"<(code|pre|script|style)\b.*?</\1>|<[^>]+>", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
# Pandoc's rule: no space after the opening or before the closing $, no digit after it.
_INLINE = re.compile(r"(?<![\\$])\$(?=\S)([^$]+?)(?<=[^\s\\])\$(?!\d)")
# latex2mathml keeps a command it does not know as text: "<mi>\foo</mi>".
_UNKNOWN = re.compile(r">\\[A-Za-z]+<")
# latex2mathml sets \mathrm{d} as <mi>d</mi>, which browsers show in italics; \text is upright.
_MATHRM_LETTER = re.compile(r"\\mathrm\{([A-Za-z])\}")
# Operator names that latex2mathml does not know, written the way it does understand.
_OPERATORS = re.compile(r"\\(arg)(?![A-Za-z])")
# "\a", "\b", "\f", "\v" of a docstring that is not a raw string become control characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class MathError(ValueError):
    """A formula that latex2mathml cannot convert to valid MathML."""


def to_mathml(tex: str, *, display: bool) -> str:
    """MathML for one TeX formula (without its ``$`` delimiters).

    Raises:
        MathError: if the conversion fails, leaves a command unconverted or gives
            malformed XML.
    """
    if _CONTROL.search(tex):
        raise MathError(
            f"${tex!r}$ holds a control character: a backslash escape (such as \\a in "
            '\\approx) was read by Python; make the docstring a raw string (r"""...)'
        )
    source = _MATHRM_LETTER.sub(r"\\text{\1}", tex.strip())
    source = _OPERATORS.sub(r"\\operatorname{\1}", source)
    try:
        mathml = convert(source, display="block" if display else "inline")
    except Exception as error:  # latex2mathml raises many kinds; report them as one
        raise MathError(f"cannot convert ${tex}$ to MathML: {error}") from error
    unknown = _UNKNOWN.findall(mathml)
    if unknown:
        raise MathError(f"${tex}$: latex2mathml does not know {sorted(set(unknown))}")
    try:
        ET.fromstring(mathml)
    except ET.ParseError as error:
        raise MathError(f"${tex}$ gives malformed MathML ({error})") from error
    return mathml


def _arithmatex(match: re.Match) -> str:
    tag, body = match.groups()
    tex = html.unescape(body).strip()
    display = tex.startswith("\\[")
    if not (tex.startswith(("\\(", "\\[")) and tex.endswith(("\\)", "\\]"))):
        raise MathError(f"unexpected arithmatex output {body!r}")
    return f'<{tag} class="arithmatex">{to_mathml(tex[2:-2], display=display)}</{tag}>'


def _dollars(text: str) -> str:
    def block(m: re.Match) -> str:
        tex = html.unescape(m.group(1))
        return f'<div class="arithmatex">{to_mathml(tex, display=True)}</div>'

    def inline(m: re.Match) -> str:
        tex = html.unescape(m.group(1))
        return f'<span class="arithmatex">{to_mathml(tex, display=False)}</span>'

    return _INLINE.sub(inline, _DISPLAY.sub(block, text))


def _notebook_markdown(block: str) -> str:
    out, last = [], 0
    for m in _SKIP.finditer(block):
        out += [_dollars(block[last : m.start()]), m.group(0)]
        last = m.end()
    return "".join(out) + _dollars(block[last:])


def _notebook_cells(page: str) -> str:
    out, last = [], 0
    for start in _NOTEBOOK_MARKDOWN.finditer(page):
        if start.start() < last:
            continue
        depth, end = 0, len(page)
        for tag in _DIV.finditer(page, start.start()):
            depth += 1 if tag.group(0) == "<div" else -1
            if depth == 0:
                end = tag.end()
                break
        out += [page[last : start.end()], _notebook_markdown(page[start.end() : end])]
        last = end
    return "".join(out) + page[last:]


def _toc_label(match: re.Match) -> str:
    # The table of contents repeats a heading's text, with arithmatex's \\( \\) but no span.
    def inline(m: re.Match) -> str:
        return to_mathml(html.unescape(m.group(1)), display=False)

    return match.group(1) + _TOC_MATH.sub(inline, match.group(2)) + match.group(3)


def render_math(page: str) -> str:
    """Replace the TeX of a built HTML page by MathML (see the module docstring)."""
    page = _TOC.sub(_toc_label, page)
    return _notebook_cells(_ARITHMATEX.sub(_arithmatex, page))
