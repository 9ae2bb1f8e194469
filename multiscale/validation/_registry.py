"""Registry of reproductions of published results.

The targets live in the modules of :mod:`multiscale.validation`, one per topic, listed
explicitly in :data:`TARGET_MODULES`. A target is a function, decorated with
:func:`target`, that runs a model through the public API and returns comparisons built
with :func:`within` (a number against a published number with a tolerance),
:func:`in_range` or :func:`holds` (an ordinal statement, e.g. "error RT > correct RT").
``multiscale validate`` and ``tests/test_validation.py`` run every registered target,
so adding a module to :data:`TARGET_MODULES` is all it takes for its targets to be
checked in CI.

A target that the model does not reproduce is registered with ``known_gap``, the
measured shortfall in words. It still runs and is reported with its numbers (``GAP`` in
the table, ``passed: false`` in JSON), but does not fail ``multiscale validate``; the test
suite marks it as a strict expected failure, so closing the gap is noticed too. The
tolerance of such a target is never widened to make it pass.
"""

import dataclasses
import importlib
import math
from collections.abc import Callable, Iterable
from typing import Literal

Scale = Literal["synapse", "circuit", "population", "behavior", "fit"]
SCALES: tuple[str, ...] = ("synapse", "circuit", "population", "behavior", "fit")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One measured quantity against its published value (before scale/source are attached)."""

    name: str
    expected: float | str
    measured: float | str
    tolerance: str
    passed: bool
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class Check:
    """A finished comparison, as printed by ``multiscale validate`` and serialised by ``--json``."""

    name: str
    scale: str
    source: str
    expected: float | str
    measured: float | str
    tolerance: str
    passed: bool
    known_gap: str | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Target:
    """A registered reproduction: a function returning comparisons, with its scale and citation."""

    name: str
    scale: str
    source: str
    run: Callable[[], Iterable[Comparison]]
    slow: bool = False
    known_gap: str | None = None

    def checks(self) -> list[Check]:
        out = []
        for c in self.run():
            out.append(
                Check(
                    name=c.name,
                    scale=self.scale,
                    source=c.source or self.source,
                    expected=_plain(c.expected),
                    measured=_plain(c.measured),
                    tolerance=c.tolerance,
                    passed=bool(c.passed),
                    known_gap=None if c.passed else self.known_gap,
                )
            )
        if not out:
            raise RuntimeError(f"validation target {self.name!r} produced no comparisons")
        return out


_REGISTRY: dict[str, Target] = {}


def _plain(x):
    if isinstance(x, str):
        return x
    return float(x)


def target(
    *, name: str, scale: Scale, source: str, slow: bool = False, known_gap: str | None = None
):
    """Register a function ``() -> Iterable[Comparison]`` as a validation target.

    Args:
        name: unique identifier, e.g. ``"mg_block_jahr_stevens"``.
        scale: one of ``synapse``, ``circuit``, ``population``, ``behavior``, ``fit``.
        source: citation (authors, year, journal, figure or table) and, for a value
            computed from a paper's model rather than printed in it, how it was computed.
        slow: True for targets that take more than ~20 s on 2 CPU cores; those run in
            ``multiscale validate`` and ``pytest -m slow`` but not in the default test run.
        known_gap: for a published result the model does not reproduce, what falls short
            (with numbers). Its failed checks are reported but not counted as failures.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")

    def register(fn):
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise ValueError(f"validation target {name!r} is registered twice")
        _REGISTRY[name] = Target(
            name=name, scale=scale, source=source, run=fn, slow=slow, known_gap=known_gap
        )
        return fn

    return register


def within(
    name: str,
    expected: float,
    measured: float,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    source: str | None = None,
) -> Comparison:
    """``measured`` equals ``expected`` within ``atol + rtol*|expected|`` (at least one given)."""
    if rtol is None and atol is None:
        raise ValueError("within() needs rtol or atol")
    bound = (atol or 0.0) + (rtol or 0.0) * abs(float(expected))
    measured = float(measured)
    passed = math.isfinite(measured) and abs(measured - float(expected)) <= bound
    parts = []
    if rtol is not None:
        parts.append(f"rtol {rtol:g}")
    if atol is not None:
        parts.append(f"atol {atol:g}")
    return Comparison(name, float(expected), measured, " + ".join(parts), passed, source)


def in_range(
    name: str, low: float, high: float, measured: float, *, source: str | None = None
) -> Comparison:
    """``low <= measured <= high``; the expected value is reported as the interval."""
    measured = float(measured)
    passed = math.isfinite(measured) and low <= measured <= high
    return Comparison(name, f"[{low:g}, {high:g}]", measured, "interval", passed, source)


def holds(
    name: str, expected: str, measured: float | str, passed: bool, *, source: str | None = None
) -> Comparison:
    """An ordinal statement (``expected`` in words) and what was measured."""
    return Comparison(name, expected, measured, "ordinal", bool(passed), source)


TARGET_MODULES: tuple[str, ...] = (
    "_synapse_kinetics",
    "_synapse_calcium",
    "_synapse_stdp",
    "_synapse_modulators",
    "_synapse_modulated_stdp",
    "_synapse_neuromodulation",
    "_synapse_tagging",
    "_synapse_cascade",
    "_circuit_wong_wang",
    "_circuit_neuromodulation",
    "_circuit_interneurons",
    "_circuit_network_modulation",
    "_circuit_dendrites",
    "_circuit_areas",
    "_circuit_laminar",
    "_circuit_spiking",
    "_circuit_spiking_models",
    "_circuit_wang2002",
    "_behavior_psychophysics",
    "_behavior_learning",
    "_behavior_offline",
    "_population_critical_period",
    "_population_tagging",
    "_population_sleep_replay",
    "_behavior_foraging",
    "_fit_roitman_ddm",
    "_fit_circuit_summary",
    "_fit_trial_likelihood",
    "_fit_circuit_vs_gddm",
    "_fit_learning_fit",
    "_fit_bayesian",
    "_fit_neural_likelihood",
    "_fit_regression",
)
"""The modules of :mod:`multiscale.validation` that register targets, in report order."""


def load_all() -> dict[str, Target]:
    """Import every module of :data:`TARGET_MODULES` and return the registry, by scale."""
    for name in TARGET_MODULES:
        importlib.import_module(f"multiscale.validation.{name}")
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (SCALES.index(kv[1].scale), kv[0])))
