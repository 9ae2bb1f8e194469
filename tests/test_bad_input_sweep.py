"""Bad input to the sweep designs and to ``sweep()``: each case raises a message naming the
argument (or the swept parameter by its path) that is wrong.

Where an argument has the wrong *type*, the test suite's runtime type checks (jaxtyping +
beartype, see pyproject.toml) may raise first, with a ``TypeError`` that also names the
argument; those cases accept either. Value errors are always our own ``ValueError``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from multiscale.sweep import Grid, Halton, LatinHypercube, RandomUniform, sweep
from multiscale.synapse import SaturatingNMDA, TsodyksMarkram

TAU = lambda m: m.tau_decay  # noqa: E731
KEY = jr.key(0)
BOTH = (TypeError, ValueError)


class Pair(eqx.Module):
    nmda: SaturatingNMDA
    stp: TsodyksMarkram


class Weights(eqx.Module):
    w: jax.Array
    g: float = 1.0


def gating(model, key):
    del key
    return model.steady_gating(40.0)


def _sweep(design=None, model=None, fn=gating, **kwargs):
    kwargs.setdefault("key", KEY)
    design = Grid({TAU: [0.05, 0.1]}) if design is None else design
    model = SaturatingNMDA() if model is None else model
    return sweep(fn, model, design, progress=False, **kwargs)


def _many_parameters(n):
    return {(lambda m, i=i: getattr(m, f"p{i}")): (0.0, 1.0) for i in range(n)}


# (id, call, exception types, message pattern). Each call takes the test's tmp_path.
CASES = [
    # Grid
    ("grid-empty", lambda p: Grid({}), ValueError, r"Grid: `values` must be a non-empty dict"),
    ("grid-not-a-dict", lambda p: Grid([0.1, 0.2]), BOTH, r"values"),
    ("grid-string-key", lambda p: Grid({"tau_decay": [0.1]}), ValueError, r"never by strings"),
    ("grid-no-values", lambda p: Grid({TAU: []}), ValueError, r"`tau_decay` must be a non-empty"),
    ("grid-2d", lambda p: Grid({TAU: [[0.1, 0.2]]}), ValueError, r"`tau_decay`.*1-D"),
    ("grid-strings", lambda p: Grid({TAU: ["a", "b"]}), ValueError, r"`tau_decay` must be numbers"),
    (
        "grid-bools",
        lambda p: Grid({TAU: [True, False]}),
        ValueError,
        r"`tau_decay` must be numbers",
    ),
    ("grid-nan", lambda p: Grid({TAU: [0.1, np.nan]}), ValueError, r"`tau_decay`.*finite"),
    ("grid-repeat", lambda p: Grid({TAU: [0.1, 0.1]}), ValueError, r"`tau_decay` repeat"),
    (
        "grid-nested-path",
        lambda p: Grid({lambda m: m.nmda.tau_decay: []}),
        ValueError,
        r"`nmda\.tau_decay` must be a non-empty",
    ),
    (
        "grid-duplicate-parameter",
        lambda p: Grid({TAU: [0.1], (lambda m: m.tau_decay): [0.2]}),
        ValueError,
        r"`tau_decay` is listed twice in `values`",
    ),
    # Sampled designs
    (
        "bounds-empty",
        lambda p: RandomUniform({}, 5, key=KEY),
        ValueError,
        r"RandomUniform: `bounds` must be a non-empty dict",
    ),
    (
        "low-above-high",
        lambda p: RandomUniform({TAU: (0.2, 0.1)}, 5, key=KEY),
        ValueError,
        r"range of `tau_decay` in `bounds` must be finite with low < high",
    ),
    (
        "low-equals-high",
        lambda p: LatinHypercube({TAU: (0.1, 0.1)}, 5, key=KEY),
        ValueError,
        r"`tau_decay`.*low < high",
    ),
    (
        "bound-infinite",
        lambda p: Halton({TAU: (0.1, np.inf)}, 5),
        ValueError,
        r"`tau_decay`.*finite",
    ),
    (
        "bound-not-a-pair",
        lambda p: LatinHypercube({TAU: 0.2}, 5, key=KEY),
        ValueError,
        r"`tau_decay` in `bounds` must be a pair",
    ),
    (
        "bound-triple",
        lambda p: Halton({TAU: (0.1, 0.2, 0.3)}, 5),
        ValueError,
        r"`tau_decay` in `bounds` must be a pair",
    ),
    (
        "bound-strings",
        lambda p: Halton({TAU: ("0.1", "0.2")}, 5),
        ValueError,
        r"`tau_decay` in `bounds` must be a pair \(low, high\) of numbers",
    ),
    ("n-zero", lambda p: Halton({TAU: (0.1, 0.2)}, 0), ValueError, r"Halton: `n`.*>= 1"),
    ("n-negative", lambda p: Halton({TAU: (0.1, 0.2)}, -3), ValueError, r"`n`.*>= 1"),
    ("n-bool", lambda p: Halton({TAU: (0.1, 0.2)}, True), ValueError, r"`n`.*int"),
    ("n-float", lambda p: Halton({TAU: (0.1, 0.2)}, 2.5), BOTH, r"\bn\b"),
    (
        "design-key-int",
        lambda p: RandomUniform({TAU: (0.1, 0.2)}, 5, key=0),
        ValueError,
        r"RandomUniform: `key` must be one PRNG key",
    ),
    (
        "design-key-batch",
        lambda p: LatinHypercube({TAU: (0.1, 0.2)}, 5, key=jr.split(KEY, 2)),
        ValueError,
        r"LatinHypercube: `key` must be one PRNG key.*shape \(2,\)",
    ),
    (
        "halton-too-many",
        lambda p: Halton(_many_parameters(21), 5),
        ValueError,
        r"Halton: `bounds` names 21 parameters",
    ),
    # sweep()
    ("fn-not-callable", lambda p: _sweep(fn=3), BOTH, r"fn"),
    (
        "design-a-dict",
        lambda p: sweep(gating, SaturatingNMDA(), {TAU: [0.1]}, key=KEY),
        BOTH,
        "design",
    ),
    (
        "design-duplicate-path",
        lambda p: _sweep(Grid({TAU: [0.1], (lambda m: vars(m)["tau_decay"]): [0.2]})),
        ValueError,
        r"`design` varies the parameter `tau_decay` twice",
    ),
    (
        "where-unknown",
        lambda p: _sweep(Grid({lambda m: m.tau_nope: [0.1]})),
        ValueError,
        r"swept parameter `tau_nope` is not a parameter of SaturatingNMDA",
    ),
    (
        "where-unknown-nested",
        lambda p: _sweep(
            Grid({lambda m: m.nmda.tau_nope: [0.1]}), Pair(SaturatingNMDA(), TsodyksMarkram())
        ),
        ValueError,
        r"`nmda\.tau_nope` is not a parameter of Pair",
    ),
    (
        "where-a-module",
        lambda p: _sweep(Grid({lambda m: m.nmda: [0.1]}), Pair(SaturatingNMDA(), TsodyksMarkram())),
        ValueError,
        r"`nmda` selects a SaturatingNMDA, not a parameter",
    ),
    (
        "where-an-array",
        lambda p: _sweep(Grid({lambda m: m.w: [0.1]}), Weights(jnp.ones(3)), fn=lambda m, k: m.w),
        ValueError,
        r"`w` has shape \(3,\)",
    ),
    ("chunk-zero", lambda p: _sweep(chunk_size=0), ValueError, r"`chunk_size` must be an int >= 1"),
    ("chunk-negative", lambda p: _sweep(chunk_size=-2), ValueError, r"`chunk_size`.*>= 1"),
    ("chunk-bool", lambda p: _sweep(chunk_size=True), ValueError, r"`chunk_size`.*int"),
    ("chunk-float", lambda p: _sweep(chunk_size=2.5), BOTH, r"chunk_size"),
    (
        "budget-zero",
        lambda p: _sweep(memory_budget=0),
        ValueError,
        r"`memory_budget` must be a positive",
    ),
    (
        "budget-negative",
        lambda p: _sweep(memory_budget=-1e6),
        ValueError,
        r"`memory_budget`.*positive",
    ),
    ("budget-nan", lambda p: _sweep(memory_budget=float("nan")), ValueError, r"`memory_budget`"),
    ("budget-string", lambda p: _sweep(memory_budget="1 GB"), BOTH, r"memory_budget"),
    ("budget-too-small", lambda p: _sweep(memory_budget=10), ValueError, r"raise `memory_budget`"),
    ("key-int", lambda p: _sweep(key=0), ValueError, r"sweep: `key` must be one PRNG key"),
    ("key-batch", lambda p: _sweep(key=jr.split(KEY, 3)), ValueError, r"`key`.*shape \(3,\)"),
    ("devices-empty", lambda p: _sweep(devices=[]), ValueError, r"`devices` must be a non-empty"),
    ("devices-strings", lambda p: _sweep(devices=["cpu"]), ValueError, r"`devices`"),
    ("callback-not-callable", lambda p: _sweep(callback=3), BOTH, r"callback"),
    ("out-a-file", lambda p: _sweep(out=_file(p)), ValueError, r"`out` must be a folder"),
    ("out-not-empty", lambda p: _sweep(out=_folder(p)), ValueError, r"`out` folder .* not empty"),
    (
        "status-float",
        lambda p: _sweep(fn=lambda m, k: {"S": gating(m, k), "status": jnp.float32(0.5)}),
        ValueError,
        r"'status' that `fn` returns must be one integer code",
    ),
    (
        "status-vector",
        lambda p: _sweep(fn=lambda m, k: {"S": gating(m, k), "status": jnp.zeros(2, jnp.int32)}),
        ValueError,
        r"'status'.*shape \(2,\)",
    ),
]


def _file(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("mine")
    return path


def _folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    return tmp_path / "mine"


def test_enough_cases():
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("call", "errors", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(tmp_path, call, errors, match):
    with pytest.raises(errors, match=match):
        call(tmp_path)
    # Nothing of the user's was touched.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert path.read_text() == "mine"
