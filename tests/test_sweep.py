"""Parameter sweeps: designs, compile-once chunking, memory plan, devices, failures, resume."""

import json
import os
import subprocess
import sys
import textwrap

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import xarray as xr

from multiscale.sweep import (
    STATUS_NONFINITE,
    STATUS_OK,
    Grid,
    Halton,
    LatinHypercube,
    RandomUniform,
    member_bytes,
    parameter_name,
    plan_chunk_size,
    sweep,
)
from multiscale.synapse import SaturatingNMDA, TsodyksMarkram

TAU = lambda m: m.tau_decay  # noqa: E731
ALPHA = lambda m: m.alpha  # noqa: E731


def gating_and_noise(model, key):
    """A real readout (steady NMDA gating at 40 Hz) plus a key-dependent output."""
    return {"S": model.steady_gating(40.0), "noise": jr.normal(key, (3,))}


def _grid(n_tau=5, n_alpha=3):
    return Grid({TAU: np.linspace(0.05, 0.2, n_tau), ALPHA: np.linspace(250.0, 1000.0, n_alpha)})


def _run(design, **kwargs):
    kwargs.setdefault("key", jr.key(0))
    return sweep(gating_and_noise, SaturatingNMDA(), design, progress=False, **kwargs)


def _same(a: xr.Dataset, b: xr.Dataset):
    """Bitwise equality of every variable and coordinate."""
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_grid_matches_the_analytic_steady_state():
    ds = _run(_grid(), chunk_size=4)
    assert ds["S"].dims == ("tau_decay", "alpha")
    assert ds["noise"].dims == ("tau_decay", "alpha", "noise_dim0")
    tau, alpha = np.meshgrid(ds["tau_decay"].values, ds["alpha"].values, indexing="ij")
    g = 0.641 * alpha * 0.002 * 40.0 * tau  # Wang 2002 / Wong & Wang 2006, S* = g / (1 + g)
    np.testing.assert_allclose(ds["S"].values, g / (1 + g), rtol=1e-6)
    assert (ds["status"].values == STATUS_OK).all()
    # Member i runs with jr.fold_in(key, i), the grid in C order.
    direct = jr.normal(jr.fold_in(jr.key(0), 7), (3,))
    np.testing.assert_array_equal(ds["noise"].values.reshape(15, 3)[7], direct)


def test_compiles_once_whatever_the_size():
    traces = []

    def counted(model, key):
        traces.append(1)
        return gating_and_noise(model, key)

    for n_tau in (2, 5, 11):  # 1, 2 and 5 chunks of 7 members; the last one padded
        traces.clear()
        sweep(counted, SaturatingNMDA(), _grid(n_tau), key=jr.key(0), chunk_size=7, progress=False)
        assert len(traces) == 1
    once = eqx.debug.assert_max_traces(gating_and_noise, max_traces=1)
    sweep(once, SaturatingNMDA(), _grid(11), key=jr.key(0), chunk_size=3, progress=False)
    traces.clear()  # The memory planner traces one member more, once.
    sweep(counted, SaturatingNMDA(), _grid(11), key=jr.key(0), progress=False)
    assert len(traces) == 2


def test_chunked_equals_unchunked():
    whole = _run(_grid(), chunk_size=15)
    for size in (1, 4, 6):
        _same(_run(_grid(), chunk_size=size), whole)
    _same(_run(_grid()), whole)  # planned from the default budget: one chunk here


def test_memory_planner():
    model = SaturatingNMDA()
    per = member_bytes(lambda m, x: m.steady_gating(x) * jnp.ones(1000), model, jnp.float32(1))
    assert per >= 2 * 4 * 1000  # a 1000-float output, with the 2x safety margin
    assert plan_chunk_size(100, 1000, 50, 1) == 10
    assert plan_chunk_size(100, 1000, 50, 4) == 8  # a multiple of the device count
    assert plan_chunk_size(100, 10**9, 50, 4) == 52  # never more than one padded chunk
    with pytest.raises(ValueError, match="too small"):
        plan_chunk_size(100, 99, 50, 1)
    with pytest.raises(ValueError, match="too small"):
        _run(_grid(), memory_budget=10)
    # A budget for a few members gives several chunks and the same results.
    small = _run(_grid(), memory_budget=3 * member_bytes_of_grid_member())
    _same(small, _run(_grid(), chunk_size=15))


def member_bytes_of_grid_member():
    from multiscale.sweep._sweep import _member_fn

    dynamic, static = eqx.partition(SaturatingNMDA(), eqx.is_array)
    member = _member_fn(gating_and_noise, static, (TAU, ALPHA))
    return member_bytes(member, dynamic, (np.float32(0.1), np.float32(500)), np.int32(0), jr.key(0))


def test_failures_are_data():
    def fragile(model, key):
        # sqrt of a negative time constant: NaN for that member only.
        return {"S": jnp.sqrt(model.tau_decay) * model.steady_gating(40.0), "x": jr.normal(key)}

    def coded(model, key):
        out = fragile(model, key)
        return {**out, "status": jnp.where(model.tau_decay < 0, 7, 0)}

    model = SaturatingNMDA()
    bad = Grid({TAU: [0.05, -0.1, 0.1, 0.2]})
    ok = Grid({TAU: [0.05, 0.3, 0.1, 0.2]})  # same indices (keys), a healthy member instead
    a = sweep(fragile, model, bad, key=jr.key(3), chunk_size=4, progress=False)
    b = sweep(fragile, model, ok, key=jr.key(3), chunk_size=4, progress=False)
    np.testing.assert_array_equal(a["status"].values, [0, STATUS_NONFINITE, 0, 0])
    keep = [0, 2, 3]
    np.testing.assert_array_equal(a["S"].values[keep], b["S"].values[keep])
    np.testing.assert_array_equal(a["x"].values[keep], b["x"].values[keep])
    # A sweep without the failing member at all gives bit-identical deterministic outputs.
    c = sweep(fragile, model, Grid({TAU: [0.05, 0.1, 0.2]}), key=jr.key(3), progress=False)
    np.testing.assert_array_equal(a["S"].values[keep], c["S"].values)
    d = sweep(coded, model, bad, key=jr.key(3), chunk_size=4, progress=False)
    np.testing.assert_array_equal(d["status"].values, [0, 7, 0, 0])
    assert "status" in d and "S" in d
    assert (a.attrs["n_failed"], b.attrs["n_failed"], d.attrs["n_failed"]) == (1, 0, 1)


def test_failed_members_are_counted_even_when_fn_says_ok(tmp_path):
    """A NaN output is a failure even where fn's own status says 0; a resumed sweep counts
    the failures of the chunks it loads from disk as well."""

    def claims_ok(model, key):
        del key
        return {"S": jnp.sqrt(model.tau_decay), "status": jnp.int32(0)}

    design = Grid({TAU: [0.05, -0.1, 0.1, -0.2, 0.2]})
    stop = [True]

    def interrupt(chunk, n_chunks):
        if stop[0] and chunk == 1:
            raise Stop

    run = dict(key=jr.key(0), out=tmp_path / "f", chunk_size=2, progress=False)
    with pytest.raises(Stop):
        sweep(claims_ok, SaturatingNMDA(), design, callback=interrupt, **run)
    stop[0] = False
    ds = sweep(claims_ok, SaturatingNMDA(), design, callback=interrupt, **run)
    np.testing.assert_array_equal(ds["status"].values, [0, STATUS_NONFINITE, 0, 1, 0])
    assert ds.attrs["n_failed"] == 2 and ds.attrs["n_members"] == 5
    with xr.open_dataset(tmp_path / "f" / "sweep.nc", engine="netcdf4") as on_disk:
        assert on_disk.attrs["n_failed"] == 2


class Stop(Exception):
    pass


def test_resume_after_interruption(tmp_path):
    design = LatinHypercube({TAU: (0.05, 0.2), ALPHA: (100.0, 1000.0)}, 23, key=jr.key(5))
    reference = _run(design, chunk_size=5)
    seen = []

    def stop_after_two(chunk, n_chunks):
        seen.append(chunk)
        if len(seen) == 2:
            raise Stop

    with pytest.raises(Stop):
        _run(design, out=tmp_path / "s", chunk_size=5, callback=stop_after_two)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["done"] == [0, 1] and manifest["n_chunks"] == 5
    assert not (tmp_path / "s" / "sweep.nc").exists()
    seen.clear()
    # Resumed with a different requested chunk size: the folder's own chunking is kept.
    resumed = _run(design, out=tmp_path / "s", chunk_size=2, callback=lambda c, n: seen.append(c))
    assert seen == [2, 3, 4]
    _same(resumed, reference)
    with xr.open_dataset(tmp_path / "s" / "sweep.nc", engine="netcdf4") as on_disk:
        _same(on_disk.load(), reference)
    assert not [p for p in (tmp_path / "s").rglob(".*tmp*")]  # no temporary files left


def test_resume_after_sigkill(tmp_path):
    """A process killed mid-sweep (SIGKILL, no cleanup) resumes to the same result."""
    script = textwrap.dedent(
        f"""
        import os, signal, jax.random as jr, numpy as np
        from multiscale.sweep import Halton, sweep
        from multiscale.synapse import SaturatingNMDA
        def fn(m, k):
            return {{"S": m.steady_gating(40.0), "noise": jr.normal(k)}}
        def kill(chunk, n):
            if chunk == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        design = Halton({{lambda m: m.tau_decay: (0.05, 0.2)}}, 40)
        sweep(fn, SaturatingNMDA(), design, key=jr.key(1), out={str(tmp_path / "k")!r},
              chunk_size=8, progress=False, callback=kill)
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert json.loads((tmp_path / "k" / "manifest.json").read_text())["done"] == [0, 1, 2]
    finished = subprocess.run(
        [sys.executable, "-c", script.replace("callback=kill", "callback=None")],
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stderr
    design = Halton({TAU: (0.05, 0.2)}, 40)

    def fn(m, k):
        return {"S": m.steady_gating(40.0), "noise": jr.normal(k)}

    reference = sweep(fn, SaturatingNMDA(), design, key=jr.key(1), chunk_size=40, progress=False)
    with xr.open_dataset(tmp_path / "k" / "sweep.nc", engine="netcdf4") as on_disk:
        _same(on_disk.load(), reference)


def test_four_devices_match_one(tmp_path):
    script = textwrap.dedent(
        f"""
        import warnings
        import jax, jax.random as jr, numpy as np
        from multiscale.sweep import RandomUniform, sweep
        from multiscale.synapse import SaturatingNMDA
        assert len(jax.local_devices()) == 4
        def fn(m, k):
            return {{"S": m.steady_gating(40.0), "noise": jr.normal(k, (2,))}}
        design = RandomUniform({{lambda m: m.tau_decay: (0.05, 0.2)}}, 30, key=jr.key(2))
        four = sweep(fn, SaturatingNMDA(), design, key=jr.key(9), chunk_size=8, progress=False)
        one = sweep(fn, SaturatingNMDA(), design, key=jr.key(9), chunk_size=8, progress=False,
                    devices=jax.local_devices()[:1])
        assert (four.S.values == one.S.values).all() and (four.noise.values == one.noise.values).all()
        # A sweep begun on one device with chunks of 6 resumes on 3 of the 4 devices.
        class Stop(Exception):
            pass
        def stop(chunk, n):
            raise Stop
        try:
            sweep(fn, SaturatingNMDA(), design, key=jr.key(9), chunk_size=6, progress=False,
                  devices=jax.local_devices()[:1], out={str(tmp_path / "r")!r}, callback=stop)
        except Stop:
            pass
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resumed = sweep(fn, SaturatingNMDA(), design, key=jr.key(9), progress=False,
                            out={str(tmp_path / "r")!r})
        assert any("resuming on 3" in str(w.message) for w in caught)
        assert (resumed.noise.values == four.noise.values).all()
        np.savez({str(tmp_path / "four.npz")!r}, S=four.S.values, noise=four.noise.values)
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    def fn(m, k):
        return {"S": m.steady_gating(40.0), "noise": jr.normal(k, (2,))}

    design = RandomUniform({TAU: (0.05, 0.2)}, 30, key=jr.key(2))
    here = sweep(fn, SaturatingNMDA(), design, key=jr.key(9), chunk_size=3, progress=False)
    with np.load(tmp_path / "four.npz") as four:
        np.testing.assert_array_equal(four["S"], here["S"].values)
        np.testing.assert_array_equal(four["noise"], here["noise"].values)


def test_two_processes_with_jax_distributed(tmp_path):
    """Two processes (jax.distributed on CPU, gloo) share the chunks of one sweep."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = textwrap.dedent(
        f"""
        import sys, jax
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address="127.0.0.1:{port}", num_processes=2,
                                   process_id=int(sys.argv[1]))
        import jax.random as jr
        from multiscale.sweep import Halton, sweep
        from multiscale.synapse import SaturatingNMDA
        def fn(m, k):
            return {{"S": m.steady_gating(40.0), "noise": jr.normal(k)}}
        def log(chunk, n):
            print("chunk", chunk, flush=True)
        sweep(fn, SaturatingNMDA(), Halton({{lambda m: m.tau_decay: (0.05, 0.2)}}, 37),
              key=jr.key(1), out={str(tmp_path / "d")!r}, chunk_size=5, progress=False,
              callback=log)
        """
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)], env=env, stdout=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert "chunk 0" in outs[0] and "chunk 1" in outs[1] and "chunk 1" not in outs[0]

    def fn(m, k):
        return {"S": m.steady_gating(40.0), "noise": jr.normal(k)}

    reference = sweep(fn, SaturatingNMDA(), Halton({TAU: (0.05, 0.2)}, 37), key=jr.key(1),
                      progress=False)  # fmt: skip
    with xr.open_dataset(tmp_path / "d" / "sweep.nc", engine="netcdf4") as on_disk:
        _same(on_disk.load(), reference)


def test_random_designs():
    bounds = {TAU: (0.05, 0.2), ALPHA: (100.0, 1000.0)}
    lhs = LatinHypercube(bounds, 10, key=jr.key(0)).table()
    strata = np.floor((lhs - [0.05, 100.0]) / [0.015, 90.0]).astype(int)
    for j in range(2):  # one member per stratum in every column
        assert sorted(strata[:, j]) == list(range(10))
    u = RandomUniform(bounds, 100, key=jr.key(0)).table()
    assert (u >= [0.05, 100.0]).all() and (u < [0.2, 1000.0]).all()
    np.testing.assert_array_equal(u, RandomUniform(bounds, 100, key=jr.key(0)).table())
    h = Halton({TAU: (0.0, 1.0), ALPHA: (0.0, 1.0)}, 4).table()  # radical inverses, bases 2 and 3
    np.testing.assert_allclose(h, [[1 / 2, 1 / 3], [1 / 4, 2 / 3], [3 / 4, 1 / 9], [1 / 8, 4 / 9]])
    ds = _run(LatinHypercube(bounds, 10, key=jr.key(0)), chunk_size=4)
    assert ds["S"].dims == ("member",) and ds["tau_decay"].dims == ("member",)
    np.testing.assert_array_equal(ds["alpha"].values, lhs[:, 1])


class Pair(eqx.Module):
    nmda: SaturatingNMDA
    stp: TsodyksMarkram


def test_nested_paths_and_netcdf(tmp_path):
    model = Pair(SaturatingNMDA(), TsodyksMarkram())
    assert parameter_name(model, lambda m: m.nmda.tau_decay) == "nmda.tau_decay"

    def fn(m, key):
        del key
        return m.nmda.steady_gating(40.0) * m.stp.steady_state_efficacy(20.0)

    design = Grid({lambda m: m.nmda.tau_decay: [0.05, 0.1], lambda m: m.stp.U: [0.2, 0.5, 0.8]})
    ds = sweep(fn, model, design, key=jr.key(0), out=tmp_path / "p", progress=False)
    assert ds["output"].dims == ("nmda.tau_decay", "stp.U")
    expected = TsodyksMarkram(U=0.8).steady_state_efficacy(20.0) * SaturatingNMDA(
        tau_decay=0.1
    ).steady_gating(40.0)
    np.testing.assert_allclose(ds["output"].values[1, 2], expected, rtol=1e-6)
    with xr.open_dataset(tmp_path / "p" / "sweep.nc", engine="netcdf4") as on_disk:
        _same(on_disk.load(), ds)


def test_a_different_sweep_is_never_overwritten(tmp_path):
    _run(_grid(), out=tmp_path / "a", chunk_size=4)
    before = (tmp_path / "a" / "sweep.nc").read_bytes()
    for other in (
        dict(design=_grid(n_alpha=4)),
        dict(design=_grid(), key=jr.key(1)),
    ):
        with pytest.raises(ValueError, match="different sweep"):
            _run(**{"design": _grid(), "out": tmp_path / "a", **other})
    with pytest.raises(ValueError, match="different sweep"):
        sweep(lambda m, k: m.gamma, SaturatingNMDA(), _grid(), key=jr.key(0), out=tmp_path / "a")
    assert (tmp_path / "a" / "sweep.nc").read_bytes() == before
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        _run(_grid(), out=tmp_path / "b")


def test_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        Grid({})
    with pytest.raises(ValueError, match="non-empty 1-D"):
        Grid({TAU: []})
    with pytest.raises(ValueError, match="never by strings"):
        Grid({"tau_decay": [0.1]})
    with pytest.raises(ValueError, match="low < high"):
        RandomUniform({TAU: (0.2, 0.1)}, 5, key=jr.key(0))
    with pytest.raises(ValueError, match="pair"):
        LatinHypercube({TAU: 0.2}, 5, key=jr.key(0))
    with pytest.raises(ValueError, match=">= 1"):
        Halton({TAU: (0.1, 0.2)}, 0)
    with pytest.raises(ValueError, match="`tau_nope` is not a parameter"):
        _run(Grid({lambda m: m.tau_nope: [0.1]}))
    pair = Pair(SaturatingNMDA(), TsodyksMarkram())
    with pytest.raises(ValueError, match="selects a SaturatingNMDA, not a parameter"):
        parameter_name(pair, lambda m: m.nmda)
    with pytest.raises(ValueError, match="twice"):
        _run(Grid({TAU: [0.1], (lambda m: m.tau_decay): [0.2]}))
    # Under the test suite's runtime type checks the annotation catches this first
    # (TypeCheckError, a TypeError); without them sweep's own ValueError does.
    with pytest.raises((TypeError, ValueError), match="design"):
        _run({TAU: [0.1]})
    with pytest.raises(ValueError, match="chunk_size"):
        _run(_grid(), chunk_size=0)
