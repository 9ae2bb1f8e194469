"""Checks of parameter values: at construction, and where the values are used (under ``jit``).

A model's ``__check_init__`` calls :func:`check_fields` on the values it was built with;
concrete numbers that break a constraint raise ``ValueError`` naming the field. A value
that is not known at construction (a tracer, because the Module was built inside ``jit``
or ``vmap``) or that was changed later with ``eqx.tree_at`` is not seen there, so every
simulation also calls :func:`checked` (or :func:`violations`) on the Module it runs:

- :func:`checked` returns the Module with the constrained leaves passed through
  ``eqx.error_if``: a bad value raises at run time, also under ``jit``, with a message
  that names the field (``eqx.error_if`` raises ``EquinoxRuntimeError``; under ``vmap`` it
  raises if any member is bad).
- :func:`violations` returns a boolean (with the batch shape of the leaves) that is True
  where a constraint is broken, for batches and sweeps that report a bad member by a
  status code instead of aborting the others.

The constraints are named once, as a :class:`Constraints` value, and used by all three.
"""

import contextlib
import contextvars
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Which fields of a Module must satisfy which constraint (field paths may be dotted).

    Attributes:
        positive: fields that must be finite and > 0 (time constants, rates, gains).
        nonnegative: fields that must be finite and >= 0.
        finite: fields that must be finite (e.g. reversal potentials).
        fraction: fields that must lie in [0, 1] (probabilities, coherences).
    """

    positive: tuple[str, ...] = ()
    nonnegative: tuple[str, ...] = ()
    finite: tuple[str, ...] = ()
    fraction: tuple[str, ...] = ()

    def items(self):
        """``(field, kind)`` pairs, kind one of the attribute names."""
        for kind in ("positive", "nonnegative", "finite", "fraction"):
            for name in getattr(self, kind):
                yield name, kind


_WORDS = {
    "positive": "must be finite and > 0",
    "nonnegative": "must be finite and >= 0",
    "finite": "must be finite",
    "fraction": "must lie in [0, 1]",
}


def _get(obj, name: str):
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _bad(value, kind: str):
    """Elementwise True where ``value`` breaks the constraint ``kind`` (NumPy or JAX)."""
    xp = jnp if isinstance(value, jax.Array) else np
    finite = xp.isfinite(value)
    if kind == "positive":
        return ~(finite & (value > 0))
    if kind == "nonnegative":
        return ~(finite & (value >= 0))
    if kind == "finite":
        return ~finite
    return ~((value >= 0) & (value <= 1))


def check_fields(owner: str, obj, constraints: Constraints) -> None:
    """Raise ``ValueError`` naming the field if a concrete value breaks its constraint.

    Values that are tracers (a Module built inside ``jit`` or ``vmap``) or ``None`` are
    skipped here; :func:`checked` and :func:`violations` check them where they are used.
    """
    for name, kind in constraints.items():
        value = _get(obj, name)
        if value is None:
            continue
        try:
            arr = np.asarray(value, dtype=float)
        except (
            jax.errors.TracerArrayConversionError,
            jax.errors.ConcretizationTypeError,
            TypeError,
        ):
            continue
        if np.any(_bad(arr, kind)):
            raise ValueError(f"{owner} `{name}` {_WORDS[kind]}, got {value}; check its unit")


def violations(obj, constraints: Constraints):
    """True where any constrained field of ``obj`` breaks its constraint (a JAX bool).

    Fields with a leading batch axis (e.g. one value per trial) give a result with that
    shape; scalar fields broadcast.
    """
    bad = jnp.asarray(False)
    for name, kind in constraints.items():
        value = _get(obj, name)
        if value is None:
            continue
        bad = bad | _bad(jnp.asarray(value), kind)
    return bad


def checked(owner: str, obj, constraints: Constraints):
    """``obj`` with each constrained leaf passed through ``eqx.error_if`` (works under ``jit``).

    The message names the owner and the field, e.g. ``SaturatingNMDA `tau_decay` must be
    finite and > 0``: this catches a value set with ``eqx.tree_at`` after construction or
    computed inside ``jit``.
    """
    for name, kind in constraints.items():
        value = _get(obj, name)
        if value is None:
            continue
        value = jnp.asarray(value)
        value = error_if(value, _bad(value, kind), f"{owner} `{name}` {_WORDS[kind]}")
        obj = eqx.tree_at(lambda o, n=name: _get(o, n), obj, value)
    return obj


_RUNTIME_CHECKS = contextvars.ContextVar("multiscale_runtime_checks", default=True)


def error_if(x, pred, msg: str):
    """``eqx.error_if(x, pred, msg)``: the one place the package raises run-time errors.

    Under ``jit`` the error is raised when the computation runs (``EquinoxRuntimeError``,
    whose message starts with ``msg``); under ``vmap`` when any member is bad. Inside
    :func:`runtime_checks` ``(False)`` it returns ``x`` unchanged.
    """
    if not _RUNTIME_CHECKS.get():
        return x
    return eqx.error_if(x, pred, msg)


@contextlib.contextmanager
def runtime_checks(enabled: bool):
    """Turn the run-time checks of :func:`error_if` on or off while functions are traced.

    A run-time check is a host callback, and JAX's persistent compilation cache does not
    store programs with host callbacks (measured: a jitted function with one
    ``eqx.error_if`` was never written to the cache). A caller that has checked its
    inputs already, and whose optimiser keeps parameters inside their domains through
    constraint transforms (the command line's fits), traces with the checks off so that
    the next run on the same machine loads the compiled program instead of compiling it.
    The setting applies to tracing: a function already compiled keeps its checks.
    """
    token = _RUNTIME_CHECKS.set(bool(enabled))
    try:
        yield
    finally:
        _RUNTIME_CHECKS.reset(token)
