"""``multiscale validate``: run the registered published targets and print the table."""

import json
import sys


def validate_command(args) -> int:
    """Run the targets ``args`` selects; exit status 1 if one fails (known gaps excepted)."""
    from tqdm.auto import tqdm

    from ..validation import load_all

    targets = [
        t
        for t in load_all().values()
        if (args.scale is None or t.scale == args.scale) and not (args.fast and t.slow)
    ]
    if not targets:
        msg = "no validation targets are registered yet"
        if args.scale:
            msg += f" for scale {args.scale!r}"
        print("[]" if args.json else msg)
        return 0
    if args.list:
        for t in targets:
            print(f"{t.name:40s} {t.scale:10s} {'slow ' if t.slow else '     '}{t.source}")
        return 0
    checks, errors = [], []
    bar = tqdm(targets, desc="validate", unit="target", file=sys.stderr, disable=args.json)
    for t in bar:
        bar.set_postfix_str(t.name)
        try:
            checks.extend(t.checks())
        except Exception as e:  # a crashing target is a failed target, reported, not fatal
            errors.append((t, e))
    if args.json:
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
        print(json.dumps(rows, indent=1))
    else:
        _print_table(checks)
        for t, e in errors:
            print(f"ERROR in target {t.name}: {type(e).__name__}: {e}")
        gaps = {c.known_gap for c in checks if c.known_gap}
        for gap in sorted(gaps):
            print(f"known gap (not reproduced, reported): {gap}")
        n_pass = sum(c.passed for c in checks)
        n_gap = sum(bool(c.known_gap) for c in checks)
        n_fail = len(checks) - n_pass - n_gap + len(errors)
        print(f"\n{n_pass} passed, {n_gap} known gaps, {n_fail} failed")
    return 1 if errors or any(not c.passed and not c.known_gap for c in checks) else 0


def _fmt(x) -> str:
    return x if isinstance(x, str) else f"{x:.4g}"


def _print_table(checks) -> None:
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
    print(line(head))
    print(line(tuple("-" * w for w in widths) + ("-" * 6,)))
    for r in rows:
        print(line(r))
