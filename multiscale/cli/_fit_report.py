"""JSON-ready pieces of a fit's report, shared by the fit commands."""

import math


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
