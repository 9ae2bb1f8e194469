"""A fit's report: JSON-ready pieces shared by the fit commands, and the printed table."""

import math

from ._fit_by import format_by
from ._fit_flags import format_posterior


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _convergence(history) -> dict:
    """JSON-ready details of a fit's convergence (see :class:`~multiscale.fit.FitHistory`)."""
    check = getattr(history, "check", None)
    if check is None:
        return {"checked": False, "reason": getattr(history, "reason", "")}
    return {
        "checked": True,
        "stopped": bool(history.stopped),
        "gradient_norm": _finite(check.gradient_norm),
        "newton_decrement": _finite(check.newton_decrement),
        "min_eigenvalue": _finite(check.min_eigenvalue),
        "unidentified": list(check.unidentified),
        "reason": history.reason,
    }


def _number(x, fmt: str) -> str:
    return "-" if x is None or not math.isfinite(x) else format(x, fmt)


def format_fit(result: dict) -> str:
    """Human-readable table of a :func:`fit_command` result (``-``: not available)."""
    if "levels" in result:
        return format_by(result)
    lines = [f"model: {result['model']}", result["report"], ""]
    width = max(len("parameter"), *(len(name) for name in result["parameters"]))
    value, se = ("post.mean", "post.sd") if "posterior" in result else ("value", "SE")
    lines.append(f"{'parameter':{width}s} {value:>10s} {se:>10s}  unit")
    for name, p in result["parameters"].items():
        se = _number(p["se"], ".4g")
        lines.append(f"{name:{width}s} {p['value']:>10.4g} {se:>10s}  {p['unit']}")
    lines.append("")
    summary = result.get("likelihood") == "summary"
    kind = "summary likelihood" if summary else "trial likelihood, RT density in 1/s"
    lines.append(
        f"NLL {_number(result['nll'], '.3f')} ({kind}), n = {result['n_trials']}, "
        f"AIC {_number(result['aic'], '.2f')}, BIC {_number(result['bic'], '.2f')}"
    )
    if "converged" in result:
        mle = "maximum likelihood " if "posterior" in result else ""
        lines.append(mle + _converged_line(result))
    if "posterior" in result:
        lines += ["", format_posterior(result["posterior"])]
    if "output" in result:
        lines.append(f"written: {result['output']}")
    return "\n".join(lines)


def _converged_line(result: dict) -> str:
    details = result.get("convergence") or {}
    if result["converged"]:
        g = details.get("gradient_norm")
        return "converged: yes" + ("" if g is None else f" (gradient norm {g:.2g})")
    text = "converged: NO"
    reason = details.get("reason")
    if reason:
        text += f": {reason}"
    unidentified = details.get("unidentified") or []
    if unidentified:
        text += f"\nunidentified: {', '.join(unidentified)} (the data do not constrain it)"
    return text
