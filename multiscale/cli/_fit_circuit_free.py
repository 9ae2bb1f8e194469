"""``multiscale fit --model circuit --free PATH``: which circuit parameters the fit frees.

By default the circuit fits free the stimulus gain ``J_A_ext``, the readout threshold
``threshold`` and the non-decision time ``non_decision_time``
(:func:`multiscale.fit.circuit_free_parameters`). ``--free`` (repeatable) replaces that
set by the named leaves of the :class:`~multiscale.fit.CircuitBehavior`: a path below
``circuit`` (the Wong & Wang 2006 circuit, e.g. ``circuit.sigma_noise``,
``circuit.nmda.tau_decay``) or ``readout`` (e.g. ``readout.temperature``), or its last
part alone (``sigma_noise``), the name the fit reports it by. The fits optimise the
logarithm of every free parameter, so only positive scalar fields qualify.

References:
    Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..fit import default_circuit_behavior

DEFAULT_FREE = ("circuit.J_A_ext", "readout.threshold", "readout.non_decision_time")


def circuit_paths(model=None) -> dict[str, float]:
    """Every path ``--free`` accepts (positive scalar leaves of the circuit and the
    readout), with its default value."""
    model = default_circuit_behavior() if model is None else model
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(model)[0]:
        name = jax.tree_util.keystr(path).lstrip(".")
        if not name.startswith(("circuit.", "readout.")):
            continue
        if isinstance(leaf, float) or (eqx.is_inexact_array(leaf) and np.ndim(leaf) == 0):
            if float(leaf) > 0:
                out[name] = float(leaf)
    return out


def resolve_free(names: list[str] | None) -> tuple[str, ...]:
    """The full paths of ``--free`` arguments (the default set when none); an unknown or
    ambiguous name is an error that lists the valid ones."""
    if not names:
        return DEFAULT_FREE
    paths = circuit_paths()
    by_last: dict[str, list[str]] = {}
    for p in paths:
        by_last.setdefault(p.rsplit(".", 1)[-1], []).append(p)
    out = []
    for name in names:
        name = name.strip()
        if name in paths:
            full = name
        elif len(by_last.get(name, [])) == 1:
            full = by_last[name][0]
        else:
            raise ValueError(
                f"--free {name!r}: not a free-able circuit parameter; the valid paths "
                f"(positive scalar fields, the last part alone also works) are "
                f"{', '.join(paths)}"
            )
        if full in out:
            raise ValueError(f"--free names {full!r} twice")
        out.append(full)
    return tuple(out)


def _getter(path: str):
    parts = path.split(".")

    def get(m):
        for p in parts:
            m = getattr(m, p)
        return m

    return get


def circuit_model_and_spec(paths: tuple[str, ...], model=None):
    """The circuit fit's start (the free leaves as float arrays) and its filter."""
    model = default_circuit_behavior() if model is None else model
    getters = [_getter(p) for p in paths]
    dtype = jnp.result_type(float)
    values = [jnp.asarray(float(g(model)), dtype) for g in getters]
    model = eqx.tree_at(lambda m: [g(m) for g in getters], model, values)
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(lambda m: [g(m) for g in getters], spec, [True] * len(paths))
    return model, spec


def values_at(model, paths: tuple[str, ...]) -> dict[str, float]:
    """``{short name: value}`` of the free leaves of a fitted model."""
    return {p.rsplit(".", 1)[-1]: float(_getter(p)(model)) for p in paths}
