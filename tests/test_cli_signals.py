"""Ctrl-C (SIGINT) on the real program: a clean exit with status 130, one sentence saying
what was kept, no traceback and no crash; the compilation cache on and off.

Each test starts ``python -m multiscale`` (which owns its process, as the ``multiscale``
command does), waits until the work is under way, sends SIGINT and waits at most a minute.
"""

import json
import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGINT semantics are POSIX")


class _Program:
    """``python -m multiscale ARGS`` with stderr read line by line on a thread."""

    def __init__(self, args, cache_home):
        env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), PYTHONUNBUFFERED="1")
        env.pop("MULTISCALE_NO_CACHE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "multiscale", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        self.err: list[str] = []
        self.reader = threading.Thread(
            target=lambda: [self.lines.put(x) for x in self.proc.stderr], daemon=True
        )
        self.reader.start()

    def stderr(self) -> str:
        while not self.lines.empty():
            self.err.append(self.lines.get())
        return "".join(self.err)

    def wait_for(self, condition, what, timeout=240):
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                self.close()
                pytest.fail(f"ended (status {self.proc.returncode}) before {what}: {self.err}")
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)

    def interrupt(self):
        """SIGINT; returns (status, stdout, stderr) within a minute."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
            out = self.proc.stdout.read()  # stderr is the reader thread's alone
        finally:
            self.close()
        return self.proc.returncode, out, self.stderr()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.stderr()


def test_ctrl_c_during_a_fit(tmp_path):
    rng = np.random.default_rng(0)
    coh = np.tile([0.0, 0.032, 0.128, 0.512], 100)
    path = tmp_path / "t.csv"
    pd.DataFrame(dict(rt=0.3 + rng.gamma(2.0, 0.2, coh.size), correct=rng.integers(0, 2, coh.size),
                      coh=coh)).to_csv(path, index=False)  # fmt: skip
    # Without the cache the fit compiles for seconds: SIGINT lands in the fitting phase.
    args = ["fit", str(path), "--condition", "coh", "--verbose", "--no-cache"]
    program = _Program(args, tmp_path / "cache")
    program.wait_for(lambda: "fitting the DDM" in program.stderr(), "the fitting phase")
    time.sleep(0.2)
    status, out, err = program.interrupt()
    assert status == 130, err
    assert "Traceback" not in err and out == ""
    assert err.strip().splitlines()[-1] == (
        "multiscale fit: interrupted while fitting the DDM to 400 trials; nothing had finished."
    )
    assert not (tmp_path / "cache" / "multiscale" / "jax").exists()  # --no-cache


def test_ctrl_c_during_a_sweep_keeps_the_chunks(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(
        textwrap.dedent(
            """
            model = "wong_wang_2006"
            readouts = ["coh_51.2"]
            output = "out"
            chunk_size = 2
            [parameters]
            "nmda.tau_decay" = { start = 0.08, stop = 0.12, num = 200 }
            """
        )
    )
    program = _Program(["sweep", str(config)], tmp_path / "cache")
    chunks = tmp_path / "out" / "chunks"
    program.wait_for(lambda: any(chunks.glob("chunk_*.npz")), "the first chunk")
    status, out, err = program.interrupt()
    assert status == 130, err
    assert "Traceback" not in err and out == ""
    # The sweep's progress bar (carriage returns) may share the last line.
    last = re.split(r"[\r\n]", err.strip())[-1]
    match = re.fullmatch(
        r"multiscale sweep: interrupted while running the sweep( \((\d+) of 100 chunks done\))?; "
        r"(the chunks finished so far \(at least (\d+) in this run\) are|any chunk finished "
        r"so far is) saved in (.+); rerun the same command to resume\.",
        last,
    )
    assert match, last
    counted = int(match.group(4) or 0)
    on_disk = len(list(chunks.glob("chunk_*.npz")))
    assert on_disk >= max(counted, 1)
    assert pathlib.Path(match.group(5)) == tmp_path / "out"
    # The program owned its process, so the compilation cache was on.
    assert any((tmp_path / "cache" / "multiscale" / "jax").iterdir())


def test_finished_program_flushes_its_output_and_files(tmp_path):
    # A finished command of an owned process ends with os._exit after flushing: its output
    # and files must be complete, and the compilation cache filled.
    config = tmp_path / "s.toml"
    config.write_text(
        'model = "mg_block"\noutput = "out"\n[parameters]\nMg = { values = [0.5, 1.0, 2.0] }\n'
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("MULTISCALE_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-m", "multiscale", "sweep", str(config), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "n_members": 3, "n_failed": 0, "output": str(tmp_path / "out" / "sweep.nc"),
    }  # fmt: skip
    import xarray as xr

    with xr.open_dataset(tmp_path / "out" / "sweep.nc") as ds:
        np.testing.assert_array_equal(ds["Mg"].values, [0.5, 1.0, 2.0])
        assert np.all(np.diff(ds["unblocked_at_rest"].values) < 0)  # more Mg, more block
    assert any((tmp_path / "cache" / "multiscale" / "jax").iterdir())
