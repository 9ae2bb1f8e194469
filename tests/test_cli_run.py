"""How commands end: JSON without NaN, internal errors (status 1), warnings as one line,
Ctrl-C keeping what finished (status 130), and the compilation-cache settings."""

import json
import re
import types

import jax
import numpy as np
import pandas as pd
import pytest

import multiscale.cli._fit as cli_fit
import multiscale.cli._sweep as cli_sweep
from multiscale.cli import main
from multiscale.cli._cache import cache_dir, cache_disabled, enable_compilation_cache
from multiscale.cli._run import jsonable, sentence

COH = [0.0, 0.032, 0.064, 0.128, 0.256, 0.512]


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(1)
    rt = 0.4 + 0.5 * rng.random(60)
    path = tmp_path / "trials.csv"
    pd.DataFrame(dict(rt=rt, correct=rng.integers(0, 2, 60), coh=COH * 10)).to_csv(
        path, index=False
    )
    return str(path)


def _strict_json(text):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_jsonable_and_sentence():
    value = {"a": np.float32(np.nan), "b": [np.inf, 1.5, np.int64(3)], 4: np.asarray([1.0, 2.0])}
    assert jsonable(value) == {"a": None, "b": [None, 1.5, 3], "4": [1.0, 2.0]}
    assert jsonable({"ok": np.bool_(True), "x": jax.numpy.asarray(2.0)}) == {"ok": True, "x": 2.0}
    assert sentence("multiscale fit", "bad\n  thing") == "multiscale fit: bad thing."
    assert sentence("p", "done.") == "p: done."


def test_interrupt_during_standard_errors_keeps_the_fit(csv, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_fit, "standard_errors", interrupted)
    assert main(["fit", csv, "--condition", "coh", "--json"]) == 130
    out, err = capsys.readouterr()
    result = _strict_json(out)
    assert result["error"]["kind"] == "interrupted" and result["error"]["exit_status"] == 130
    assert all(p["se"] is None and np.isfinite(p["value"]) for p in result["parameters"].values())
    assert np.isfinite(result["nll"]) and np.isfinite(result["aic"])
    assert err.strip() == (
        "multiscale fit: interrupted while computing the standard errors; the fitted "
        "parameters and their log-likelihood are printed, without SEs."
    )
    # As a table: the values, '-' for the missing SEs.
    assert main(["fit", csv, "--condition", "coh"]) == 130
    out, _ = capsys.readouterr()
    assert re.search(r"^k +[0-9.e+-]+ +- +1/s", out, re.MULTILINE), out


def test_interrupt_before_anything_finished(csv, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_fit, "fit", interrupted)
    assert main(["fit", csv, "--condition", "coh"]) == 130
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        "multiscale fit: interrupted while fitting the DDM to 60 trials; nothing had finished."
    )


def test_internal_error_is_status_1_with_a_hint(csv, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch\nin XLA")

    monkeypatch.setattr(cli_fit, "fit", broken)
    assert main(["fit", csv, "--condition", "coh", "--json"]) == 1
    out, err = capsys.readouterr()
    assert _strict_json(out)["error"]["kind"] == "internal"
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error (RuntimeError: shape mismatch in XLA)" in err
    assert "please report it" in err and "MULTISCALE_DEBUG=1" in err
    monkeypatch.setenv("MULTISCALE_DEBUG", "1")
    assert main(["fit", csv, "--condition", "coh"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.filterwarnings("default::UserWarning")
def test_warnings_print_as_one_line(tmp_path, capsys, monkeypatch):
    rt = np.r_[np.linspace(0.4, 0.9, 59), 1e6]
    path = tmp_path / "t.csv"
    pd.DataFrame(dict(rt=rt, correct=[1, 0] * 30, coh=COH * 10)).to_csv(path, index=False)
    monkeypatch.setattr(cli_fit, "fit", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["fit", str(path), "--condition", "coh"]) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("multiscale fit: warning: removed 1 RT outlier(s)")
    assert lines[1].startswith("multiscale fit: interrupted while fitting the DDM to 59 trials")


def test_interrupted_sweep_reports_the_saved_chunks(tmp_path, capsys, monkeypatch):
    config = tmp_path / "s.toml"
    config.write_text(
        'model = "mg_block"\noutput = "out"\n[parameters]\nMg = { values = [0.5, 1.0] }\n'
    )

    def two_chunks_then_interrupt(*args, callback, **kwargs):
        callback(0, 5)
        callback(1, 5)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_sweep, "sweep", two_chunks_then_interrupt)
    assert main(["sweep", str(config), "--json"]) == 130
    out, err = capsys.readouterr()
    assert _strict_json(out) == {
        "error": {"kind": "interrupted", "message": err.strip()[18:], "exit_status": 130}
    }
    assert "(2 of 5 chunks done); the chunks finished so far (at least 2 in this run) are " in err
    assert "rerun the same command to resume" in err


def test_sweep_json_on_success(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text(
        'model = "mg_block"\noutput = "out"\n[parameters]\nMg = { values = [0.5, 1.0] }\n'
    )
    assert main(["sweep", str(config), "--json"]) == 0
    result = _strict_json(capsys.readouterr().out)
    assert result == {"n_members": 2, "n_failed": 0, "output": str(tmp_path / "out" / "sweep.nc")}


def test_sweep_force_writes_among_other_files_and_keeps_them(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text(
        'model = "mg_block"\noutput = "out"\n[parameters]\nMg = { values = [0.5, 1.0] }\n'
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    assert main(["sweep", str(config)]) == 2
    assert "not empty and holds no sweep" in capsys.readouterr().err
    assert main(["sweep", str(config), "--force"]) == 0
    assert (tmp_path / "out" / "sweep.nc").is_file()
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_interrupted_validate_prints_the_finished_targets(capsys, monkeypatch):
    import multiscale.validation

    check = types.SimpleNamespace(
        name="first", scale="synapse", expected=1.0, measured=1.01, tolerance="5 %",
        passed=True, known_gap=None, source="a paper",
        as_dict=lambda: dict(name="first", passed=True, measured=float("nan")),
    )  # fmt: skip

    def second():
        raise KeyboardInterrupt

    targets = {
        name: types.SimpleNamespace(name=name, scale="synapse", slow=False, source="x", checks=c)
        for name, c in (("first", lambda: [check]), ("second", second))
    }
    monkeypatch.setattr(multiscale.validation, "load_all", lambda: targets)
    assert main(["validate", "--json"]) == 130
    out, err = capsys.readouterr()
    assert _strict_json(out)["results"] == [dict(name="first", passed=True, measured=None)]
    assert "interrupted while running target second (2 of 2)" in err
    assert "the 1 finished target(s) of 2 are printed" in err


def test_cache_folder_and_opt_out(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "multiscale" / "jax"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "multiscale" / "jax"
    monkeypatch.delenv("MULTISCALE_NO_CACHE", raising=False)
    assert not cache_disabled() and cache_disabled(no_cache=True)
    for value, disabled in (("1", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("MULTISCALE_NO_CACHE", value)
        assert cache_disabled() is disabled


def test_unusable_cache_folder_warns_and_leaves_jax_alone(tmp_path, monkeypatch):
    if jax.config.jax_compilation_cache_dir:
        pytest.skip("this process already has a compilation cache")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.warns(UserWarning, match="compilation cache off: cannot use"):
        assert enable_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir is None
