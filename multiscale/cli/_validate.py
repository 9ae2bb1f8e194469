"""``multiscale validate``: run the registered published targets and print the table."""

import sys

from .._compiled_memory import release_if_near_map_limit
from ._run import Outcome, Progress


def _rows(checks, errors) -> list[dict]:
    rows = [c.as_dict() for c in checks]
    rows += [
        dict(
            name=t.name,
            scale=t.scale,
            source=t.source,
            expected="runs",
            measured=f"error: {type(e).__name__}: {e}",
            tolerance="",
            passed=False,
        )
        for t, e in errors
    ]
    return rows


def _text(checks, errors) -> str:
    lines = [_table(checks)] if checks else []
    lines += [f"ERROR in target {t.name}: {type(e).__name__}: {e}" for t, e in errors]
    gaps = {c.known_gap for c in checks if c.known_gap}
    lines += [f"known gap (not reproduced, reported): {gap}" for gap in sorted(gaps)]
    n_pass = sum(c.passed for c in checks)
    n_gap = sum(bool(c.known_gap) for c in checks)
    n_fail = len(checks) - n_pass - n_gap + len(errors)
    lines.append(f"\n{n_pass} passed, {n_gap} known gaps, {n_fail} failed")
    return "\n".join(lines)


def validate_command(args, progress: Progress) -> Outcome:
    """Run the targets ``args`` selects; exit status 1 if one fails (known gaps excepted).

    Ctrl-C keeps the targets that finished: their rows are printed.
    """
    from tqdm.auto import tqdm

    from ..validation import load_all

    progress.start("loading the targets")
    targets = [
        t
        for t in load_all().values()
        if (args.scale is None or t.scale == args.scale) and not (args.fast and t.slow)
    ]
    if not targets:
        msg = "no validation targets are registered yet"
        if args.scale:
            msg += f" for scale {args.scale!r}"
        return Outcome(text=msg, data=[])
    if args.list:
        listing = [
            dict(name=t.name, scale=t.scale, slow=bool(t.slow), source=t.source) for t in targets
        ]
        text = "\n".join(
            f"{t.name:40s} {t.scale:10s} {'slow ' if t.slow else '     '}{t.source}"
            for t in targets
        )
        return Outcome(text=text, data=listing)
    checks, errors = [], []
    bar = tqdm(targets, desc="validate", unit="target", file=sys.stderr, disable=args.json)
    for i, t in enumerate(bar):
        bar.set_postfix_str(t.name)
        progress.phase = f"running target {t.name} ({i + 1} of {len(targets)})"
        try:
            checks.extend(t.checks())
        except Exception as e:  # a crashing target is a failed target, reported, not fatal
            errors.append((t, e))
        # Every target compiles its own programs; hundreds of them would exhaust the
        # process's memory mappings and crash XLA (see multiscale._compiled_memory).
        release_if_near_map_limit()
        progress.partial = Outcome(text=_text(checks, errors), data=_rows(checks, errors))
        progress.kept = f"the {i + 1} finished target(s) of {len(targets)} are printed"
    failed = errors or any(not c.passed and not c.known_gap for c in checks)
    # Exit status 1: a reproduction failed (the table says which).
    return Outcome(text=_text(checks, errors), data=_rows(checks, errors), status=int(failed))


def _fmt(x) -> str:
    return x if isinstance(x, str) else f"{x:.4g}"


def _table(checks) -> str:
    head = ("name", "scale", "expected", "measured", "tolerance", "pass", "source")
    rows = [
        (
            c.name,
            c.scale,
            _fmt(c.expected),
            _fmt(c.measured),
            c.tolerance,
            "yes" if c.passed else ("GAP" if c.known_gap else "NO"),
            c.source,
        )
        for c in checks
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head[:-1])]
    line = lambda r: (
        "  ".join(s.ljust(w) for s, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
    )
    lines = [line(head), line(tuple("-" * w for w in widths) + ("-" * 6,))]
    return "\n".join(lines + [line(r) for r in rows])
