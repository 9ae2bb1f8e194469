"""How every command ends: exit statuses, one-sentence errors, JSON, warnings and Ctrl-C.

Exit statuses: 0 success; 2 bad input (arguments, files, data, configs: the message says
what to fix); 130 interrupted (Ctrl-C: what finished is kept and reported); 1 an internal
failure (a bug: the message asks for a report). ``MULTISCALE_DEBUG=1`` prints the traceback
of any error. ``multiscale validate`` also exits with 1 when a reproduction fails.

Every error is one sentence on stderr, ``multiscale COMMAND: what went wrong; the fix.``,
and with ``--json`` stdout holds valid JSON in every case (non-finite numbers become
``null``): the result, or ``{"error": {"kind", "message", "exit_status"}}`` merged into
what finished.

Ctrl-C. When ``main`` owns the process (the ``multiscale`` command, ``python -m
multiscale``), the first Ctrl-C stops the command at once (a ``KeyboardInterrupt`` at the
next Python instruction, i.e. between two compiled JAX calls), the command reports what
finished, and the process ends with ``os._exit(130)`` after flushing its output, without
running the interpreter's teardown while XLA's threads may still be busy (which can crash);
a second Ctrl-C ends it at once. A finished command of an owned process ends the same
way once its output is flushed (the teardown does nothing a finished command needs, and
takes seconds on a loaded machine), except a distributed sweep. Called from Python
(``main([...])``), nothing is installed and the status is returned.
"""

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

_REPORT = (
    "this is a bug in multiscale: please report it with the command you ran (set "
    "MULTISCALE_DEBUG=1 to print the traceback)"
)


class BadInput(Exception):
    """Input the user must fix (arguments, files, configs): exit status 2."""


@dataclasses.dataclass
class Outcome:
    """What a command prints: ``text`` (a table) or, with ``--json``, ``data``.

    Attributes:
        text: printed on stdout without ``--json``; None prints nothing.
        data: JSON-ready value printed with ``--json``.
        status: the exit status.
        quick_exit: an owned process may end with ``os._exit`` once the output is
            flushed (False where something still needs the interpreter's teardown, e.g.
            ``jax.distributed``'s shutdown).
    """

    text: str | None = None
    data: Any = None
    status: int = EXIT_OK
    quick_exit: bool = True


@dataclasses.dataclass
class Progress:
    """A command's progress, read when it is interrupted.

    Attributes:
        phase: what is running now, for "interrupted while ...".
        partial: what finished so far, printed when interrupted (None: nothing).
        kept: one clause saying what was kept, for the interrupt sentence.
        echo: the program name, to announce each phase on stderr (None: quiet).
    """

    phase: str = "starting"
    partial: Outcome | None = None
    kept: str = "nothing had finished"
    echo: str | None = None

    def start(self, phase: str) -> None:
        """Enter ``phase``; announce it on stderr when ``echo`` (the program name) is set."""
        self.phase = phase
        if self.echo:
            print(f"{self.echo}: {phase} ...", file=sys.stderr, flush=True)


def sentence(prog: str, message: Any) -> str:
    """``prog: message.`` on one line (whitespace collapsed, a final full stop)."""
    text = " ".join(str(message).split()) or "failed"
    if not text.endswith((".", "!", "?")):
        text += "."
    return f"{prog}: {text}"


def jsonable(value: Any) -> Any:
    """``value`` with NumPy/JAX scalars and arrays as Python values and NaN/inf as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    try:
        array = np.asarray(value)
    except Exception:  # not array-like: its text
        return str(value)
    if array.ndim > 0:
        return jsonable(array.tolist())
    if array.dtype.kind in "fc":
        number = float(array.real)
        return number if math.isfinite(number) else None
    return jsonable(array.item())


def dump_json(value: Any) -> str:
    return json.dumps(jsonable(value), indent=1, allow_nan=False)


def _message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.strerror}: {error.filename}"
    return str(error) or type(error).__name__


def _bad_input(error: BaseException) -> bool:
    # ValueError covers TOML and CSV parse errors and Unicode decoding; OSError a missing,
    # unreadable or unwritable path.
    return isinstance(error, BadInput | ValueError | OSError | NotImplementedError)


@dataclasses.dataclass
class _Sigint:
    count: int = 0


_SIGINT = _Sigint()


def _on_sigint(signum, frame) -> None:
    del signum, frame
    _SIGINT.count += 1
    if _SIGINT.count > 1:
        os.write(2, b"multiscale: interrupted again; quitting at once.\n")
        os._exit(EXIT_INTERRUPTED)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigint_handler(install: bool) -> Iterator[None]:
    if not install or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _warnings_as_lines(prog: str) -> Iterator[None]:
    """Warnings print as ``prog: warning: message.`` (one line); filters stay as they are."""

    def show(message, category, filename, lineno, file=None, line=None):
        del category, filename, lineno, line
        print(sentence(prog, f"warning: {message}"), file=file or sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _print_error(prog: str, kind: str, status: int, message: str, partial, as_json: bool):
    line = sentence(prog, message)
    if as_json:
        error = {"kind": kind, "message": line[len(prog) + 2 :], "exit_status": status}
        data = None if partial is None else partial.data
        if isinstance(data, dict):
            payload = {**data, "error": error}
        elif data is not None:
            payload = {"results": data, "error": error}
        else:
            payload = {"error": error}
        print(dump_json(payload), flush=True)
    elif partial is not None and partial.text:
        print(partial.text, flush=True)
    print(line, file=sys.stderr, flush=True)


def run(
    prog: str,
    command: Callable[[Progress], Outcome],
    *,
    as_json: bool = False,
    owns_process: bool = False,
) -> int:
    """Run ``command(progress)``, print its outcome; turn every failure into a status.

    Args:
        prog: ``"multiscale fit"`` etc., the start of every message.
        command: does the work, updating ``progress`` as phases finish.
        as_json: print JSON on stdout (results and errors).
        owns_process: ``main`` runs as the program: handle Ctrl-C and end an interrupted
            run with ``os._exit`` (see the module docstring).

    Returns:
        The exit status.
    """
    progress = Progress()
    _SIGINT.count = 0
    with _sigint_handler(owns_process), _warnings_as_lines(prog):
        try:
            outcome = command(progress)
        except KeyboardInterrupt:
            if sys.stderr.isatty():
                print(file=sys.stderr)  # off the line a progress bar may hold
            message = f"interrupted while {progress.phase}; {progress.kept}"
            _print_error(prog, "interrupted", EXIT_INTERRUPTED, message, progress.partial, as_json)
            if owns_process:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(EXIT_INTERRUPTED)
            return EXIT_INTERRUPTED
        except Exception as error:
            if os.environ.get("MULTISCALE_DEBUG", "") not in ("", "0"):
                traceback.print_exc()
            if _bad_input(error):
                _print_error(prog, "bad_input", EXIT_BAD_INPUT, _message(error), None, as_json)
                return EXIT_BAD_INPUT
            detail = " ".join(_message(error).split())
            if len(detail) > 300:
                detail = detail[:300] + " ..."
            message = f"internal error ({type(error).__name__}: {detail}); {_REPORT}"
            _print_error(prog, "internal", EXIT_INTERNAL, message, None, as_json)
            return EXIT_INTERNAL
    if as_json:
        print(dump_json(outcome.data), flush=True)
    elif outcome.text is not None:
        print(outcome.text, flush=True)
    if owns_process and outcome.quick_exit:
        # Nothing is left to do: skip the interpreter's teardown of JAX's runtime, which
        # takes 0.5-2.5 s on two cores (benchmarks/bench_cold_start.py).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(outcome.status)
    return outcome.status
