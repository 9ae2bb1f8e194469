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
}


def _imported_scales(path: pathlib.Path, scale: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
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
        for name in names:
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
    for name in ("_typing.py", "_numerics.py", "_validation.py"):
        assert not _imported_scales(PKG / name, ""), name


def test_import_is_light():
    # Plotting, labelled arrays and SciPy are loaded only by the functions that need them.
    # (Import time itself is a performance number: it is measured, not asserted; see
    # benchmarks/. JAX and equinox dominate it.)
    heavy = ("matplotlib", "xarray", "netCDF4", "scipy")
    code = f"import sys, multiscale; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import multiscale loaded {out.stdout.strip()}"
