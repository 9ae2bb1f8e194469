"""Bad input to the command line, case by case: exit status 2 and one sentence on stderr
naming the problem (arguments, CSV contents, TOML configs); with --json, an error object."""

import json
import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from multiscale.cli import main

COH = [0.0, 0.032, 0.064, 0.128, 0.256, 0.512]


def _csv(tmp_path, text=None, **columns):
    """A CSV of 12 plausible PyDDM trials with ``columns`` replaced, or the raw ``text``."""
    path = tmp_path / "trials.csv"
    if text is not None:
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
        return str(path)
    base = dict(rt=np.linspace(0.4, 0.9, 12), correct=[1, 0, 1] * 4, coh=COH * 2)
    base.update(columns)
    pd.DataFrame(base).to_csv(path, index=False)
    return str(path)


def fit(**columns):
    return lambda p: ["fit", _csv(p, **columns), "--condition", "coh"]


def fit_text(text):
    return lambda p: ["fit", _csv(p, text), "--condition", "coh"]


_SWEEP = """
model = "saturating_nmda"
output = "out"
[parameters]
tau_decay = { start = 0.05, stop = 0.2, num = 3 }
"""


def sweep(body=_SWEEP, replace=None):
    """``multiscale sweep`` of a TOML config (``replace``: (old, new) applied to ``body``)."""

    def argv(tmp_path):
        text = textwrap.dedent(body)
        if replace is not None:
            assert replace[0] in text
            text = text.replace(*replace)
        path = tmp_path / "sweep.toml"
        path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
        return ["sweep", str(path)]

    return argv


def _folder_with_file(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    return str(tmp_path / "out")


CASES = [
    # The arguments.
    ("unknown command", lambda p: ["fitt"], "multiscale", "invalid choice: 'fitt'"),
    ("fit without data", lambda p: ["fit"], "multiscale fit", "required: data"),
    ("fit without condition", lambda p: ["fit", "x.csv"], "multiscale fit", "--condition"),
    ("unknown model", lambda p: fit()(p) + ["--model", "lca"], "multiscale fit", "'lca'"),
    ("seed text", lambda p: fit()(p) + ["--seed", "abc"], "multiscale fit", "seed must be an"),
    ("seed negative", lambda p: fit()(p) + ["--seed", "-1"], "multiscale fit", r"seed must be in"),
    ("rt-range one", lambda p: fit()(p) + ["--rt-range", "1"], "multiscale fit", "2 arguments"),
    (
        "rt-range text",
        lambda p: fit()(p) + ["--rt-range", "a", "b"],
        "multiscale fit",
        "expected seconds",
    ),
    (
        "rt-range reversed",
        lambda p: fit()(p) + ["--rt-range", "2", "1"],
        "multiscale fit",
        "rt_range must satisfy 0 <= low < high",
    ),
    (
        "summary with ddm",
        lambda p: fit()(p) + ["--likelihood", "summary"],
        "multiscale fit",
        "circuit only",
    ),
    (
        "condition not found",
        lambda p: ["fit", _csv(p), "--condition", "coherence"],
        "multiscale fit",
        "condition column 'coherence' not found",
    ),
    ("unknown option", lambda p: fit()(p) + ["--bogus"], "multiscale fit", "unrecognized"),
    ("demo seed", lambda p: ["demo", "--seed", "x"], "multiscale demo", "seed must be an"),
    (
        "demo out is a file",
        lambda p: ["demo", "--out", _csv(p)],
        "multiscale demo",
        "is a file",
    ),
    (
        "demo out not empty",
        lambda p: ["demo", "--out", _folder_with_file(p)],
        "multiscale demo",
        "not empty and is not a previous demo's output .*'notes.txt'.*--force",
    ),
    ("validate scale", lambda p: ["validate", "--scale", "x"], "multiscale validate", "'x'"),
    ("sweep without config", lambda p: ["sweep"], "multiscale sweep", "required: config"),
    ("bench unknown", lambda p: ["bench", "nope"], "multiscale bench", "unknown benchmark"),
    # The data file.
    ("empty CSV", fit_text(""), "multiscale fit", "is empty"),
    ("header-only CSV", fit_text("rt,correct,coh\n"), "multiscale fit", "no rows"),
    ("data is a folder", lambda p: ["fit", str(p), "--condition", "c"], "multiscale fit", "folder"),
    ("no data file", lambda p: ["fit", "no.csv", "--condition", "c"], "multiscale fit", "exist"),
    ("binary CSV", fit_text(b"\x89PNG\r\n\x1a\n\xff\xfe"), "multiscale fit", "not a text CSV"),
    ("ragged CSV", fit_text("rt,correct,coh\n0.5,1,0\n0.6,1\n1,2,3,4\n"), "multiscale fit", "CSV"),
    ("RT in ms", fit(rt=np.linspace(400, 900, 12)), "multiscale fit", "milliseconds"),
    ("RT / 1e6", fit(rt=np.full(12, 5e-4)), "multiscale fit", "divided by 1000"),
    ("coherence %", fit(coh=[c * 100 for c in COH] * 2), "multiscale fit", "in percent"),
    ("signed coherence", fit(coh=[-0.1, 0.1, 0.2] * 4), "multiscale fit", "unsigned"),
    ("response text", fit(correct=[1, "left"] * 6), "multiscale fit", r"2 \('left'\)"),
    ("RT text", fit(rt=["0.5", "fast"] * 6), "multiscale fit", r"2 \('fast'\)"),
    ("no response", fit(correct=[np.nan] * 12), "multiscale fit", "no trials"),
    (
        "RT range empties",
        lambda p: fit()(p) + ["--rt-range", "5", "6"],
        "multiscale fit",
        "no trials left",
    ),
    # The sweep config.
    ("config is a folder", lambda p: ["sweep", str(p)], "multiscale sweep", "is a folder"),
    ("no config", lambda p: ["sweep", "none.toml"], "multiscale sweep", "does not exist"),
    ("TOML syntax", sweep(replace=("output =", "output")), "multiscale sweep", "not valid TOML"),
    (
        "section typo",
        sweep(replace=("[parameters]", "[parameter]")),
        "multiscale sweep",
        r"unknown key 'parameter' in the config .*did you mean 'parameters'",
    ),
    (
        "top-level typo",
        sweep(replace=("output", "outptu")),
        "multiscale sweep",
        "unknown key 'outptu'.*did you mean 'output'",
    ),
    ("unknown model", sweep(replace=("saturating_nmda", "ampa")), "multiscale sweep", "`model`"),
    (
        "unknown parameter",
        sweep(replace=("tau_decay", "tau_dekay")),
        "multiscale sweep",
        "unknown key 'tau_dekay' in \\[parameters\\].*did you mean 'tau_decay'",
    ),
    (
        "unknown readout",
        sweep(replace=('output = "out"', 'output = "out"\nreadouts = ["gain"]')),
        "multiscale sweep",
        "`readouts` must name some of",
    ),
    (
        "readout twice",
        sweep(replace=('output = "out"', 'output = "out"\nreadouts = ["gamma", "gamma"]')),
        "multiscale sweep",
        "twice",
    ),
    (
        "readouts empty",
        sweep(replace=('output = "out"', 'output = "out"\nreadouts = []')),
        "multiscale sweep",
        "non-empty list",
    ),
    (
        "parameter not a table",
        sweep(replace=("{ start = 0.05, stop = 0.2, num = 3 }", "0.1")),
        "multiscale sweep",
        "parameter 'tau_decay' must be a table",
    ),
    (
        "grid with low/high",
        sweep(replace=("start = 0.05, stop = 0.2, num = 3", "low = 0.05, high = 0.2")),
        "multiscale sweep",
        "unknown key 'low' in parameter 'tau_decay' of a grid",
    ),
    (
        "grid missing num",
        sweep(replace=(", num = 3", "")),
        "multiscale sweep",
        r"needs values = \[...\] or start, stop, num \(\['num'\]\)",
    ),
    ("grid num 0", sweep(replace=("num = 3", "num = 0")), "multiscale sweep", "num must be an"),
    ("grid num float", sweep(replace=("num = 3", "num = 2.5")), "multiscale sweep", "integer"),
    (
        "values and start",
        sweep(replace=("num = 3", "num = 3, values = [1.0]")),
        "multiscale sweep",
        "either values",
    ),
    (
        "values empty",
        sweep(replace=("start = 0.05, stop = 0.2, num = 3", "values = []")),
        "multiscale sweep",
        "non-empty list of numbers",
    ),
    (
        "values text",
        sweep(replace=("start = 0.05, stop = 0.2, num = 3", 'values = [0.1, "x"]')),
        "multiscale sweep",
        "finite number, got 'x'",
    ),
    (
        "grid with n",
        sweep(replace=("[parameters]", "[design]\nn = 4\n[parameters]")),
        "multiscale sweep",
        "takes no `n`",
    ),
    (
        "design typo",
        sweep(replace=("[parameters]", '[design]\nknd = "halton"\n[parameters]')),
        "multiscale sweep",
        "unknown key 'knd' in \\[design\\].*did you mean 'kind'",
    ),
    (
        "design kind",
        sweep(replace=("[parameters]", '[design]\nkind = "sobol"\n[parameters]')),
        "multiscale sweep",
        "design kind 'sobol' is not one of",
    ),
    (
        "random without n",
        sweep(replace=("[parameters]", '[design]\nkind = "halton"\n[parameters]')),
        "multiscale sweep",
        "needs `n`",
    ),
    (
        "random n zero",
        sweep(replace=("[parameters]", '[design]\nkind = "halton"\nn = 0\n[parameters]')),
        "multiscale sweep",
        r"\[design\] n must be an integer >= 1",
    ),
    (
        "random with start",
        sweep(replace=("[parameters]", '[design]\nkind = "halton"\nn = 4\n[parameters]')),
        "multiscale sweep",
        "unknown key 'start' in parameter 'tau_decay' of a halton design",
    ),
    (
        "random low >= high",
        sweep(
            body=_SWEEP.replace("[parameters]", '[design]\nkind = "halton"\nn = 4\n[parameters]'),
            replace=("start = 0.05, stop = 0.2, num = 3", "low = 0.2, high = 0.1"),
        ),
        "multiscale sweep",
        "needs low < high",
    ),
    (
        "model_args typo",
        sweep(replace=("[parameters]", "[model_args]\nalfa = 400.0\n[parameters]")),
        "multiscale sweep",
        "unknown key 'alfa' in \\[model_args\\].*did you mean 'alpha'",
    ),
    (
        "model_args text",
        sweep(replace=("[parameters]", '[model_args]\nalpha = "high"\n[parameters]')),
        "multiscale sweep",
        r"\[model_args\] alpha must be a finite number",
    ),
    (
        "memory budget",
        sweep(replace=('output = "out"', 'output = "out"\nmemory_budget = "lots"')),
        "multiscale sweep",
        "`memory_budget`",
    ),
    (
        "chunk size 0",
        sweep(replace=('output = "out"', 'output = "out"\nchunk_size = 0')),
        "multiscale sweep",
        "`chunk_size` must be an integer >= 1",
    ),
    (
        "seed negative",
        sweep(replace=('output = "out"', 'output = "out"\nseed = -1')),
        "multiscale sweep",
        "`seed` must be an integer >= 0",
    ),
    (
        "distributed text",
        sweep(replace=('output = "out"', 'output = "out"\ndistributed = "yes"')),
        "multiscale sweep",
        "true or false",
    ),
    ("no output", sweep(replace=('output = "out"', "")), "multiscale sweep", "needs `output`"),
    (
        "output is a file",
        sweep(replace=('output = "out"', 'output = "sweep.toml"')),
        "multiscale sweep",
        "is a file",
    ),
    (
        "output holds other files",
        lambda p: (_folder_with_file(p), sweep()(p))[1],
        "multiscale sweep",
        "not empty and holds no sweep",
    ),
    (
        "config not UTF-8",
        lambda p: ["sweep", _csv(p, b"model = '\xff\xfe'\n")],
        "multiscale sweep",
        "not UTF-8",
    ),
]


@pytest.mark.parametrize("build, prog, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_sentence_and_status_2(tmp_path, capsys, build, prog, match):
    argv = build(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: ") and lines[0].endswith("."), lines[0]
    assert "Traceback" not in err
    assert re.search(match, lines[0]), (match, lines[0])


@pytest.mark.parametrize(
    "build",
    [fit(rt=np.linspace(400, 900, 12)), sweep(replace=("[parameters]", "[parameter]"))],
    ids=["fit", "sweep"],
)
def test_bad_input_with_json_prints_an_error_object(tmp_path, capsys, build):
    assert main([*build(tmp_path), "--json"]) == 2
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert error == {"kind": "bad_input", "message": error["message"], "exit_status": 2}
    assert error["message"] in err and err.count("\n") == 1


def test_usage_error_with_json(capsys):
    assert main(["fit", "x.csv", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error"]["kind"] == "usage"
    assert "--condition" in err and err.count("\n") == 1
