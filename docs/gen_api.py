"""The API reference, generated from the package at build time.

Three pieces, used by ``docs/gen_hooks.py`` (mkdocs hooks) and by mkdocstrings:

- :func:`public_api` reads each subpackage's ``__init__.py`` and lists the names it
  re-exports (``from ._x import Name as Name``, or ``__all__`` where one is defined). This
  is the single definition of "public" that the API pages and their checks share.
- :class:`SphinxRoles` is a griffe extension that rewrites the Sphinx roles written in
  the package's docstrings (``:class:`~multiscale.circuit.Stimulus```, ``:func:`fit```)
  into mkdocs-autorefs links to the public path of their target, so that they render as
  links. Targets that the site does not document (private or external objects) become
  inline code instead of a broken link.
- :func:`missing_anchors` lists the public names of a module that a rendered API page
  has no anchor for; the hooks fail the build on any.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import griffe

PACKAGE = "multiscale"
# Subpackages documented elsewhere than on an API page: the command line has its own page.
NOT_API = frozenset({"cli"})

_ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|mod|obj|exc|const):`(~?)([^`]+)`")
# Napoleon (Sphinx) accepts "Example:" for the section griffe's Google parser knows as
# "Examples:"; without the rename its doctest would render as markdown text.
_EXAMPLE_HEADER = re.compile(r"^([ \t]*)Example:[ \t]*$", re.M)
# "\a", "\b", "\f", "\r", "\v" in a docstring that is not a raw string ("\rho", "\approx")
# are read by Python as control characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _exports(init: Path, module: str) -> list[tuple[str, str]]:
    """``(name, source module)`` of each name one ``__init__.py`` re-exports.

    The names are ``__all__`` if it is defined (their source is then the subpackage
    itself), else every ``from .x import Name as Name`` (and ``import x as x``).
    """
    tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    names: list[tuple[str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                return [(str(ast.literal_eval(e)), module) for e in node.value.elts]  # type: ignore[union-attr]
        if isinstance(node, ast.ImportFrom):
            base = module.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            names += [(a.name, source) for a in node.names if a.asname == a.name]
        elif isinstance(node, ast.Import):
            names += [(a.asname, module) for a in node.names if a.asname == a.name]  # type: ignore[misc]
    return names


def public_api(package_dir: Path) -> dict[str, list[str]]:
    """Public subpackages and their exported names, in the order of their ``__init__``.

    Args:
        package_dir: the folder of the ``multiscale`` package.

    Returns:
        ``{"multiscale.circuit": ["CircuitTrajectory", ...], ...}`` for every subpackage
        whose name does not start with an underscore (the command line excluded).
    """
    return {m: [n for n, _ in pairs] for m, pairs in _api_sources(package_dir).items()}


def _api_sources(package_dir: Path) -> dict[str, list[tuple[str, str]]]:
    api = {}
    for init in sorted(package_dir.glob("*/__init__.py")):
        name = init.parent.name
        if name.startswith("_") or name in NOT_API:
            continue
        module = f"{PACKAGE}.{name}"
        api[module] = _exports(init, module)
    return api


def _module_file(package_dir: Path, module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    path = package_dir / relative / "__init__.py"
    return path if path.exists() else (package_dir / relative).with_suffix(".py")


def module_summary(package_dir: Path, module: str) -> str:
    """First line of a module's docstring (the heading of its section on an API page)."""
    tree = ast.parse(_module_file(package_dir, module).read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    return doc.strip().split("\n", 1)[0].strip().rstrip(".") or module


def api_page(package_dir: Path, module: str) -> str:
    """The markdown of one subpackage's API page: its docstring, then one section per
    private module it re-exports from (that module's docstring, then its public names),
    in the order of the ``__init__``; names re-exported from another public subpackage
    come last. Every name renders through mkdocstrings under its public path."""
    groups: dict[str, list[str]] = {}
    for name, source in _api_sources(package_dir)[module]:
        groups.setdefault(source, []).append(name)
    docstring_only = [
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "",
    ]
    # "[](){ #id }" is an mkdocs-autorefs anchor: cross-references to a module land there.
    lines = [f"# `{module}`", "", f"[](){{ #{module} }}", "", f"::: {module}", *docstring_only]
    private = [s for s in groups if s != module and "._" in s[len(module) :]]
    for source in private + [s for s in groups if s not in private]:
        if source in private:
            heading = f"## {module_summary(package_dir, source)}"
            lines += [f"[](){{ #{source} }}", "", heading, "", f"::: {source}", *docstring_only]
        elif source != module:
            lines += [f"## Re-exported from `{source}`", ""]
        for name in groups[source]:
            lines += [
                f"::: {module}.{name}",
                "    options:",
                "      heading_level: 3",
                "      show_root_full_path: false",
                "",
            ]
    return "\n".join(lines)


def missing_anchors(html: str, module: str, names: list[str]) -> list[str]:
    """The public names of ``module`` that have no ``id="module.name"`` anchor in ``html``."""
    return [n for n in names if f'id="{module}.{n}"' not in html]


def _final(obj: griffe.Object | griffe.Alias) -> griffe.Object | None:
    try:
        return obj.final_target if obj.is_alias else obj  # type: ignore[union-attr,return-value]
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def public_paths(
    pkg: griffe.Module, package_dir: Path
) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Where the site documents each object of the package.

    Returns:
        ``canonical path -> public path`` for the public subpackages, their exported
        names and the private modules whose docstrings head a section of an API page
        (anchored under their own path); and ``short name -> public paths``.
    """
    public: dict[str, str] = {}
    short: dict[str, set[str]] = {}
    for module, pairs in _api_sources(package_dir).items():
        public.setdefault(module, module)
        for name, source in pairs:
            public.setdefault(source, source)
            path = f"{module}.{name}"
            target = _final(pkg[path[len(PACKAGE) + 1 :]])
            if target is None:
                continue
            short.setdefault(name, set()).add(path)
            # A name exported by two subpackages documents under the one that defines it.
            if target.path not in public or target.path.startswith(module + "."):
                public[target.path] = path
    return public, short


def documented_path(pkg: griffe.Module, public: dict[str, str], canonical: str) -> str | None:
    """The public path under which the site documents ``canonical``, or ``None``.

    An object is documented if it is in ``public`` (see :func:`public_paths`), or if it
    is a public member (no leading underscore) of a documented class.
    """
    if canonical in public:
        return public[canonical]
    head, rest = canonical, []
    while "." in head and head not in public:
        head, _, last = head.rpartition(".")
        rest.insert(0, last)
    if head not in public or any(part.startswith("_") for part in rest):
        return None
    if _final(pkg[head[len(PACKAGE) + 1 :]]) is None or pkg[head[len(PACKAGE) + 1 :]].is_module:
        return None  # a module's page section shows its docstring, not its other members
    return ".".join([public[head], *rest])


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx cross-reference roles in docstrings into mkdocs-autorefs links.

    ``:class:`~multiscale.circuit.Stimulus``` becomes ``[`Stimulus`][multiscale.circuit.Stimulus]``
    and ``:func:`simulate``` (a name in the scope of the docstring's object, or a public
    name unique across the package) becomes a link to its public path. A role whose
    target the site does not document becomes inline code.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        del kwargs
        if pkg.name != PACKAGE or pkg.filepath is None:
            return
        package_dir = Path(pkg.filepath).parent  # type: ignore[arg-type]
        self._pkg = pkg
        self._public, self._short = public_paths(pkg, package_dir)
        self._rewrite(pkg)

    def _rewrite(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            if _CONTROL.search(obj.docstring.value):
                griffe.logger.warning(
                    f"{obj.relative_filepath}:{obj.docstring.lineno}: the docstring of "
                    f"{obj.path} holds a control character (a backslash escape such as "
                    '\\r in \\rho read by Python); make it a raw string r"""..."""'
                )
            text = _EXAMPLE_HEADER.sub(r"\1Examples:", obj.docstring.value)
            if obj.is_module and "._" in obj.path:
                # A private module's docstring is the body of a section of an API page
                # whose heading is its first line (``api_page``): drop it here.
                first, _, rest = text.strip().partition("\n")
                text = rest.strip() if first.strip() else text
            obj.docstring.value = _ROLE.sub(lambda m: self._link(obj, m), text)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member)  # type: ignore[arg-type]

    def _link(self, scope: griffe.Object, match: re.Match) -> str:
        kind, tilde, target = match.groups()
        target = target.strip()
        shown = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
        if kind == "meth" or kind == "func":
            shown = shown if shown.endswith(")") else shown + "()"
        public = self._public_path(scope, target)
        return f"[`{shown}`][{public}]" if public else f"`{shown}`"

    def _public_path(self, scope: griffe.Object, target: str) -> str | None:
        canonical = self._canonical(scope, target)
        if canonical is not None:
            return documented_path(self._pkg, self._public, canonical)
        found = self._short.get(target.rsplit(".", 1)[-1], set())
        return next(iter(found)) if len(found) == 1 and "." not in target else None

    def _canonical(self, scope: griffe.Object, target: str) -> str | None:
        if target.startswith("."):
            module = scope.module
            target = module.path.rpartition(".")[0] + target
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            path = target
        else:
            first, _, rest = target.partition(".")
            try:
                path = scope.resolve(first) + (f".{rest}" if rest else "")
            except griffe.NameResolutionError:
                # ``resolve`` sees a class's own members only; try the inherited ones.
                owner = scope if scope.is_class else scope.parent
                if owner is None or not owner.is_class or first not in owner.all_members:
                    return None
                path = f"{owner.path}.{first}" + (f".{rest}" if rest else "")
        if path == PACKAGE:
            return path
        if not path.startswith(PACKAGE + "."):
            return None  # outside the package (jax, optax, ...): not documented here
        try:
            obj = self._pkg[path[len(PACKAGE) + 1 :]]
        except KeyError:
            return None
        final = _final(obj)
        return None if final is None else final.path
