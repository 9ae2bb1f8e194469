"""The architecture of DESIGN.md, enforced: imports point down the scales only."""

import ast
import pathlib
import subprocess
import sys

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "multiscale"

# Each scale may import the scales listed for it (and the private top-level modules).
ALLOWED = {
    "synapse": set(),
    "circuit": {"synapse"},
    "population": {"synapse", "circuit"},
    "behavior": {"synapse", "circuit", "population"},
    "data": {"synapse", "circuit", "population", "behavior"},
    "fit": {"synapse", "circuit", "population", "behavior", "data"},
    "sweep": {"synapse", "circuit", "population", "behavior", "data"},
    "plot": {"synapse", "circuit", "population", "behavior", "data", "fit", "sweep"},
    # The wings sit on top: they may use every scale, and nothing imports them.
    "validation": {"synapse", "circuit", "population", "behavior", "data", "fit", "sweep"},
    "cli": {
        "synapse",
        "circuit",
        "population",
        "behavior",
        "data",
        "fit",
        "sweep",
        "plot",
        "validation",
    },
}


def _imported_modules(path: pathlib.Path) -> list[str]:
    """Dotted names of every module (and imported name) ``path`` imports, resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names = [node.module or ""]
            else:
                # Resolve relative imports against the file's package.
                rel = path.relative_to(PKG.parent).with_suffix("").parts[: -node.level]
                base = ".".join(rel + ((node.module,) if node.module else ()))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
        found.extend(names)
    return found


def _imported_scales(path: pathlib.Path, scale: str) -> set[str]:
    found = set()
    for name in _imported_modules(path):
        parts = name.split(".")
        if parts[0] == "multiscale" and len(parts) > 1 and parts[1] in ALLOWED:
            if parts[1] != scale:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("scale", sorted(ALLOWED))
def test_imports_point_down_the_scales(scale):
    bad = {}
    for path in (PKG / scale).rglob("*.py"):
        wrong = _imported_scales(path, scale) - ALLOWED[scale]
        if wrong:
            bad[str(path.relative_to(PKG))] = sorted(wrong)
    assert not bad, f"imports against the direction of DESIGN.md: {bad}"


def test_private_core_imports_no_scale():
    for path in PKG.glob("_*.py"):
        if path.name not in ("__init__.py", "__main__.py"):
            assert not _imported_scales(path, ""), path.name


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_no_import_of_another_folders_private_module(folder):
    # Folders meet through each other's public names (their __init__), never through a
    # private module: multiscale.circuit._noise is circuit's own business.
    bad = {}
    for path in (PKG / folder).rglob("*.py"):
        for name in _imported_modules(path):
            parts = name.split(".")
            if len(parts) > 2 and parts[0] == "multiscale" and parts[1] in ALLOWED:
                if parts[1] != folder and parts[2].startswith("_"):
                    bad.setdefault(str(path.relative_to(PKG)), []).append(name)
    assert not bad, f"imports of another folder's private modules: {bad}"


def test_nothing_imports_the_wings():
    for folder in ALLOWED:
        if folder in ("validation", "cli"):
            continue
        for path in (PKG / folder).rglob("*.py"):
            wings = _imported_scales(path, folder) & {"validation", "cli"}
            assert not wings, f"{path.relative_to(PKG)} imports {wings}"


def test_files_are_small():
    # One concept per file (STYLE.md rule 16): 500 lines is the ceiling.
    long = {
        str(p.relative_to(PKG)): n
        for p in PKG.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long, f"files over 500 lines: {long}"


def test_import_is_light():
    # Plotting, labelled arrays and SciPy are loaded only by the functions that need them.
    # (Import time itself is a performance number: it is measured, not asserted; see
    # benchmarks/. JAX and equinox dominate it.)
    heavy = ("matplotlib", "xarray", "netCDF4", "scipy")
    code = f"import sys, multiscale; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import multiscale loaded {out.stdout.strip()}"


def test_one_time_loop_over_circuit_state():
    # The circuit's dynamics are stepped only by circuit/_integrate.py: no other module
    # calls a circuit's step function or its Wong-Wang vector field inside a loop.
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = str(path.relative_to(PKG))
        if rel in ("circuit/_integrate.py", "circuit/_rate_circuit.py", "circuit/_wong_wang.py"):
            continue
        # A circuit that wraps another (e.g. adds an input) builds its step from the inner
        # circuit's step inside its own ``discretise``: composition, not a loop.
        tree = ast.parse(path.read_text())
        inside = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "discretise":
                inside |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if called and node.func.attr == "discretise" and id(node) not in inside:
                offenders.append(rel)
                break
    assert not offenders, f"modules that step a circuit outside the integrator: {offenders}"


def test_no_module_names_the_wong_wang_type_outside_circuit():
    # The scales that run circuits take any AbstractCircuit; only defaults may build one.
    # (The phase-plane plot is an analysis of the Wong-Wang model itself.)
    annotated = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] not in ("population", "behavior", "fit", "sweep", "data"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
                if "WongWang2006" in ast.unparse(node.annotation):
                    annotated.append(str(rel))
    assert not annotated, f"annotations that require the Wong-Wang class: {sorted(set(annotated))}"
