"""A sweep folder is resumed only by the same sweep: what its identity covers, what it
refuses, and ``overwrite``."""

import functools
import json
import os
import subprocess
import sys
import textwrap
import threading
import types

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import xarray as xr

from multiscale.circuit import WongWang2006
from multiscale.sweep import DecisionSummary, Grid, sweep
from multiscale.sweep._identity import Unidentifiable
from multiscale.sweep._store import sweep_identity
from multiscale.synapse import SaturatingNMDA

TAU = lambda m: m.tau_decay  # noqa: E731
GRID = Grid({TAU: [0.05, 0.1, 0.15, 0.2, 0.25]})
FINGERPRINT = {"kind": "Grid", "shape": [5], "table": GRID.table()}


def identity(fn, model=None, key=None):
    model = SaturatingNMDA() if model is None else model
    key = jr.key(0) if key is None else key
    return sweep_identity(fn, model, ["tau_decay"], FINGERPRINT, key)


class Scaled(eqx.Module):
    """A callable Module like ``DecisionSummary``: an array field and a static field."""

    c: jax.Array
    power: int = eqx.field(static=True, default=1)

    def __call__(self, model, key):
        del key
        return model.steady_gating(40.0) * self.c**self.power


class ScaledTwice(eqx.Module):
    c: jax.Array
    power: int = eqx.field(static=True, default=1)

    def __call__(self, model, key):
        del key
        return 2 * model.steady_gating(40.0) * self.c**self.power


def scaled_by(c):
    return lambda model, key: model.steady_gating(40.0) * c


def with_default(model, key, c=1.0):
    del key
    return model.steady_gating(40.0) * c


def with_keyword_default(model, key, *, c=1.0):
    del key
    return model.steady_gating(40.0) * c


GAIN = jnp.asarray(1.0)


def reads_global(model, key):
    del key
    return model.steady_gating(40.0) * GAIN


def calls_a_function_that_reads_a_global(model, key):
    return reads_global(model, key) + 0.0


params = types.ModuleType("sweep_identity_test_params")  # stands for a module of user code
params.GAIN = 1.0


def reads_a_module_attribute(model, key):
    del key
    return model.steady_gating(40.0) * params.GAIN


class Plain:
    """A callable object that is neither a dataclass nor a pytree."""

    def __init__(self, c):
        self.c = c

    def __call__(self, model, key):
        del key
        return model.steady_gating(40.0) * self.c


def test_the_reported_case_decision_summary_coherence():
    """``DecisionSummary(coherence=jnp.asarray(0.0))`` vs ``0.512``: an array field of fn."""
    circuit = WongWang2006()
    low = identity(DecisionSummary(coherence=jnp.asarray(0.0)), circuit)
    assert low != identity(DecisionSummary(coherence=jnp.asarray(0.512)), circuit)
    assert low == identity(DecisionSummary(coherence=jnp.asarray(0.0)), circuit)
    assert low != identity(DecisionSummary(coherence=jnp.asarray(0.0), n_trials=32), circuit)
    assert low != identity(DecisionSummary(coherence=jnp.asarray(0.0)), WongWang2006(J_N11=0.27))


def test_what_the_identity_covers():
    global GAIN
    base = identity(scaled_by(1.0))
    assert base == identity(scaled_by(1.0))  # rebuilt, equal: the same identity
    changes = {
        "closure value": scaled_by(2.0),
        "closure array": scaled_by(jnp.ones(())),
        "closure dtype": scaled_by(jnp.ones((), jnp.float16)),
        "closure shape": scaled_by(jnp.ones((1,))),
        "code": lambda model, key: model.steady_gating(40.0) * 1.0 + 0.0,
        "attribute read": lambda model, key: model.steady_gating(41.0) * 1.0,
        "module field": Scaled(jnp.asarray(1.0)),
        "function's name": with_default,
        "the key": None,
    }
    seen = {base}
    for what, fn in changes.items():
        value = identity(scaled_by(1.0), key=jr.key(1)) if fn is None else identity(fn)
        assert value not in seen, what
        seen.add(value)
    # Each kind of hidden input, changed, changes the identity.
    assert identity(Scaled(jnp.asarray(1.0))) != identity(Scaled(jnp.asarray(0.5)))
    assert identity(Scaled(jnp.asarray(1.0))) != identity(Scaled(jnp.asarray(1.0), power=2))
    assert identity(Scaled(jnp.asarray(1.0))) != identity(ScaledTwice(jnp.asarray(1.0)))
    assert identity(with_default) != identity(functools.partial(with_default, c=2.0))
    assert identity(functools.partial(with_default, c=2.0)) != identity(
        functools.partial(with_default, c=3.0)
    )
    assert identity(jax.jit(scaled_by(1.0))) != identity(jax.jit(scaled_by(2.0)))
    assert identity(eqx.filter_jit(scaled_by(1.0))) != identity(eqx.filter_jit(scaled_by(2.0)))
    assert identity(jax.vmap(scaled_by(1.0))) != identity(jax.vmap(scaled_by(2.0)))
    assert identity(with_default) != identity(with_default, SaturatingNMDA(tau_decay=0.2))
    before = [identity(f) for f in (with_default, with_keyword_default)]
    with_default.__defaults__, with_keyword_default.__kwdefaults__ = (2.0,), {"c": 2.0}
    try:
        after = [identity(f) for f in (with_default, with_keyword_default)]
    finally:
        with_default.__defaults__, with_keyword_default.__kwdefaults__ = (1.0,), {"c": 1.0}
    assert before[0] != after[0] and before[1] != after[1]
    before = [identity(f) for f in (reads_global, calls_a_function_that_reads_a_global)]
    GAIN = jnp.asarray(0.5)
    try:
        after = [identity(f) for f in (reads_global, calls_a_function_that_reads_a_global)]
    finally:
        GAIN = jnp.asarray(1.0)
    assert before[0] != after[0] and before[1] != after[1]
    before = identity(reads_a_module_attribute)
    params.GAIN = 0.5
    try:
        assert identity(reads_a_module_attribute) != before
    finally:
        params.GAIN = 1.0
    assert identity(Plain(1.0)) == identity(Plain(1.0)) != identity(Plain(2.0))
    assert identity(Plain(1.0).__call__) != identity(Plain(2.0).__call__)


def test_a_changed_function_is_refused_not_resumed(tmp_path):
    """The probe's fault: rerunning after changing fn's hidden inputs reused old chunks."""
    out = tmp_path / "s"
    first = sweep(Scaled(jnp.asarray(1.0)), SaturatingNMDA(), GRID, key=jr.key(0), out=out,
                  chunk_size=2, progress=False)  # fmt: skip
    for changed in (Scaled(jnp.asarray(0.5)), Scaled(jnp.asarray(1.0), power=2), scaled_by(0.5)):
        with pytest.raises(ValueError, match="holds a different sweep"):
            sweep(changed, SaturatingNMDA(), GRID, key=jr.key(0), out=out, progress=False)
    # The same sweep, rebuilt, resumes (here: nothing left to run) to the same result.
    again = sweep(Scaled(jnp.asarray(1.0)), SaturatingNMDA(), GRID, key=jr.key(0), out=out,
                  progress=False)  # fmt: skip
    xr.testing.assert_identical(again, first)
    # overwrite=True starts afresh and gives the new function's results.
    half = sweep(Scaled(jnp.asarray(0.5)), SaturatingNMDA(), GRID, key=jr.key(0), out=out,
                 chunk_size=3, overwrite=True, progress=False)  # fmt: skip
    np.testing.assert_allclose(half["output"].values, 0.5 * first["output"].values, rtol=1e-6)
    assert sorted(p.name for p in (out / "chunks").iterdir()) == [
        "chunk_000000.npz",
        "chunk_000001.npz",
    ]


def test_identity_is_the_same_in_another_process(tmp_path):
    """No id(), address or hash-seeded set order enters the identity."""
    script = textwrap.dedent(
        """
        import functools, jax.numpy as jnp, jax.random as jr, numpy as np, equinox as eqx
        from multiscale.sweep._store import sweep_identity
        from multiscale.sweep import DecisionSummary
        from multiscale.circuit import WongWang2006
        TABLE = {"a": jnp.arange(3.0), "b": (1, "x", None)}
        class Readout(eqx.Module):
            inner: DecisionSummary
            def __call__(self, m, k):
                return self.inner(m, k) if "x" in {"x", "y", "z", "w"} else TABLE
        def make(c):
            return functools.partial(lambda m, k, d: Readout(DecisionSummary(c))(m, k), d=c)
        fp = {"kind": "Grid", "shape": [2], "table": np.zeros((2, 1))}
        print(sweep_identity(make(0.3), WongWang2006(), ["J_N11"], fp, jr.key(4)))
        """
    )
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, JAX_PLATFORMS="cpu")
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        digests.add(run.stdout.strip())
    assert len(digests) == 1 and len(digests.pop()) == 64


def test_what_cannot_be_identified_is_never_resumed(tmp_path):
    lock = threading.Lock()

    def locked(model, key):
        del key
        with lock:
            return model.steady_gating(40.0)

    with pytest.raises(Unidentifiable, match="`lock`.*_thread.lock"):
        identity(locked)
    # In memory it runs; to a folder it runs once, but is never resumed.
    sweep(locked, SaturatingNMDA(), GRID, key=jr.key(0), progress=False)
    out = tmp_path / "u"
    ds = sweep(locked, SaturatingNMDA(), GRID, key=jr.key(0), out=out, progress=False)
    assert ds.attrs["identity"].startswith("none: the closure variable `lock`")
    assert json.loads((out / "manifest.json").read_text())["identity"] is None
    with pytest.raises(ValueError, match=r"cannot tell whether.*`lock`.*overwrite=True"):
        sweep(locked, SaturatingNMDA(), GRID, key=jr.key(0), out=out, progress=False)
    # Nor may an identifiable sweep resume a folder whose sweep was not identified.
    with pytest.raises(ValueError, match="cannot tell whether"):
        sweep(scaled_by(1.0), SaturatingNMDA(), GRID, key=jr.key(0), out=out, progress=False)
    sweep(locked, SaturatingNMDA(), GRID, key=jr.key(0), out=out, overwrite=True, progress=False)


def test_user_files_are_never_overwritten(tmp_path):
    def write(path, text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    fn = scaled_by(1.0)
    run = functools.partial(sweep, fn, SaturatingNMDA(), GRID, key=jr.key(0), progress=False)
    # A folder of the user's own files, with or without a manifest.json of their own.
    write(tmp_path / "mine" / "notes.txt", "mine")
    write(tmp_path / "theirs" / "manifest.json", json.dumps({"name": "experiment 3"}))
    write(tmp_path / "broken" / "manifest.json", "{not json")
    for folder, match in (("mine", "not empty"), ("theirs", "not a sweep's"), ("broken", "not a")):
        before = {p: p.read_bytes() for p in (tmp_path / folder).rglob("*")}
        with pytest.raises(ValueError, match=match):
            run(out=tmp_path / folder)
        assert {p: p.read_bytes() for p in (tmp_path / folder).rglob("*")} == before
    # A folder that predates this identity format is another sweep, refused.
    write(tmp_path / "old" / "manifest.json", json.dumps({"format": 1, "identity": "ab",
                                                            "chunk_size": 2, "n_chunks": 3}))  # fmt: skip
    with pytest.raises(ValueError, match="different sweep"):
        run(out=tmp_path / "old")
    # overwrite=True writes the sweep's own files among the user's, deleting none of them.
    ds = run(out=tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "mine" / "sweep.nc").exists()
    # That folder is now this sweep's own: rerunning resumes it, the notes untouched.
    xr.testing.assert_identical(run(out=tmp_path / "mine"), ds)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"
    assert ds.attrs["n_members"] == 5 and ds.attrs["n_failed"] == 0
