"""Designs of a parameter sweep: which parameters of a model vary, and over which values.

A parameter is addressed the way ``eqx.tree_at`` addresses it, by an accessor function
(``lambda m: m.nmda.tau_decay``), never by a string. A design turns its specification into
a table of parameter sets, one row per sweep *member*.
"""

import abc
import math
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.random as jr
import numpy as np

Accessor = Callable[[Any], Any]


class _Sentinel:
    """A unique leaf marker used to find the pytree path an accessor points at."""


def parameter_name(model: Any, accessor: Accessor) -> str:
    """The dotted pytree path (``"nmda.tau_decay"``) of the leaf that ``accessor`` selects.

    Raises:
        ValueError: if the accessor fails on ``model`` or selects no single leaf.
    """
    if not callable(accessor):
        raise ValueError(
            f"a swept parameter must be given by an accessor function such as "
            f"`lambda m: m.tau_decay`, got {accessor!r}"
        )
    sentinel = _Sentinel()
    try:
        marked = eqx.tree_at(accessor, model, replace=sentinel)
    except Exception as error:  # noqa: BLE001 -- any failure means the path is wrong.
        raise ValueError(
            f"the accessor {_describe(accessor)} names no parameter of "
            f"{type(model).__name__}: {type(error).__name__}: {error}"
        ) from None
    value = accessor(model)
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.ndarray | np.generic | jax.Array
    ):
        raise ValueError(
            f"the accessor {_describe(accessor)} selects a {type(value).__name__}, not a "
            f"parameter (a number or an array) of {type(model).__name__}"
        )
    leaves = jax.tree_util.tree_flatten_with_path(marked, is_leaf=lambda x: x is sentinel)[0]
    paths = [path for path, leaf in leaves if leaf is sentinel]
    if len(paths) != 1 or not paths[0]:
        raise ValueError(
            f"the accessor {_describe(accessor)} must select exactly one parameter (a leaf) "
            f"of {type(model).__name__}"
        )
    return jax.tree_util.keystr(paths[0], simple=True, separator=".")


def _describe(accessor: Accessor, short: bool = False) -> str:
    code = None if short else getattr(accessor, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"{getattr(accessor, '__qualname__', repr(accessor))}{where}"


def _check_parameters(parameters: Mapping, what: str) -> None:
    if not isinstance(parameters, Mapping) or len(parameters) == 0:
        raise ValueError(
            f"{what} needs a non-empty dict {{accessor: ...}} of the parameters to vary, "
            f"e.g. {{lambda m: m.tau_decay: ...}}; got {parameters!r}"
        )
    for accessor in parameters:
        if not callable(accessor):
            raise ValueError(
                f"{what}: parameters are addressed by accessor functions such as "
                f"`lambda m: m.tau_decay`, never by strings; got the key {accessor!r}"
            )


def _check_bounds(bounds: Mapping, what: str) -> dict[Accessor, tuple[float, float]]:
    _check_parameters(bounds, what)
    checked = {}
    for accessor, pair in bounds.items():
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"{what}: the range of {_describe(accessor)} must be a pair (low, high) of "
                f"numbers, got {pair!r}"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(
                f"{what}: the range of {_describe(accessor)} must be finite with low < high, "
                f"got ({low}, {high})"
            )
        checked[accessor] = (low, high)
    return checked


def _check_n(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(
            f"{what}: `n` (the number of parameter sets) must be an int >= 1, got {n!r}"
        )
    return int(n)


class AbstractDesign(abc.ABC):
    """The values a sweep gives to its parameters.

    Concrete designs implement ``accessors`` (the swept parameters, in order), ``table()``
    (an ``(n_members, n_parameters)`` float64 array, one parameter set per row) and
    ``shape`` (the grid shape for a grid, ``None`` for a list of members).
    """

    @property
    @abc.abstractmethod
    def accessors(self) -> tuple[Accessor, ...]:
        """The swept parameters, in column order of ``table()``."""

    @abc.abstractmethod
    def table(self) -> np.ndarray:
        """Parameter values, shape ``(n_members, n_parameters)``, float64."""

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Grid shape (one axis per parameter), or ``None`` for a list of members."""
        return None


class Grid(AbstractDesign):
    r"""The full factorial grid: every combination of the listed values.

    Members are ordered like ``np.meshgrid(..., indexing="ij")`` flattened in C order, so
    the last parameter varies fastest; the output has one dimension per parameter.

    Args:
        values: ``{accessor: 1-D values}``, e.g.
            ``{lambda m: m.tau_decay: np.linspace(0.05, 0.2, 16)}``, in the parameter's unit.

    Example:
        >>> import numpy as np
        >>> grid = Grid({lambda m: m.tau_decay: np.array([0.05, 0.1]),
        ...              lambda m: m.alpha: np.array([250.0, 500.0, 1000.0])})
        >>> grid.table().shape, grid.shape
        ((6, 2), (2, 3))
    """

    def __init__(self, values: Mapping):
        _check_parameters(values, "Grid")
        checked = {}
        for accessor, vals in values.items():
            array = np.asarray(vals, dtype=np.float64)
            if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
                raise ValueError(
                    f"Grid: the values of {_describe(accessor)} must be a non-empty 1-D array "
                    f"of finite numbers, got shape {array.shape}"
                )
            checked[accessor] = array
        self.values = checked

    @property
    def accessors(self) -> tuple[Accessor, ...]:
        return tuple(self.values)

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{_describe(a, short=True)}: {v.size} values" for a, v in self.values.items()
        )
        return f"Grid({{{sizes}}})"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.values.values())

    def table(self) -> np.ndarray:
        mesh = np.meshgrid(*self.values.values(), indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=-1)


class _AbstractSampledDesign(AbstractDesign):
    """``n`` parameter sets drawn inside ``{accessor: (low, high)}`` bounds."""

    def __init__(self, bounds: Mapping, n: int):
        self.bounds = _check_bounds(bounds, type(self).__name__)
        self.n = _check_n(n, type(self).__name__)

    @property
    def accessors(self) -> tuple[Accessor, ...]:
        return tuple(self.bounds)

    def __repr__(self) -> str:
        ranges = ", ".join(f"{_describe(a, short=True)}: {b}" for a, b in self.bounds.items())
        return f"{type(self).__name__}({{{ranges}}}, n={self.n})"


class RandomUniform(_AbstractSampledDesign):
    r"""Independent uniform draws $\theta_j \sim U(\mathrm{low}_j, \mathrm{high}_j)$.

    Args:
        bounds: ``{accessor: (low, high)}`` in the parameter's unit.
        n: number of parameter sets.
        key: PRNG key of the draw (the design is fixed by it).
    """

    def __init__(self, bounds: Mapping, n: int, *, key):
        super().__init__(bounds, n)
        self.key = key

    def table(self) -> np.ndarray:
        u = np.asarray(jr.uniform(self.key, (self.n, len(self.bounds))), dtype=np.float64)
        return _scale(u, self.bounds)


class LatinHypercube(_AbstractSampledDesign):
    r"""A Latin hypercube: each parameter's range cut into $n$ equal strata, one member each.

    Column $j$ is $u_{ij} = (\pi_j(i) + v_{ij}) / n$ with an independent random permutation
    $\pi_j$ and $v_{ij} \sim U(0, 1)$, then mapped linearly onto $[\mathrm{low}_j,
    \mathrm{high}_j)$ (McKay, Beckman & Conover 1979).

    Args:
        bounds: ``{accessor: (low, high)}`` in the parameter's unit.
        n: number of parameter sets.
        key: PRNG key of the draw.

    References:
        McKay MD, Beckman RJ, Conover WJ (1979) Technometrics 21:239.
    """

    def __init__(self, bounds: Mapping, n: int, *, key):
        super().__init__(bounds, n)
        self.key = key

    def table(self) -> np.ndarray:
        d = len(self.bounds)
        perm_key, jitter_key = jr.split(self.key)
        # Random permutations as the ranks of uniform draws, sorted by NumPy: XLA's sort
        # on CPU takes seconds for a million members, NumPy's a tenth of that.
        order = np.asarray(jr.uniform(perm_key, (self.n, d)))
        ranks = np.argsort(order, axis=0, kind="stable")
        jitter = np.asarray(jr.uniform(jitter_key, (self.n, d)), dtype=np.float64)
        u = (ranks + jitter) / self.n
        return _scale(u, self.bounds)


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71)


class Halton(_AbstractSampledDesign):
    r"""The Halton low-discrepancy sequence (quasi-random, deterministic).

    Member $i$ (counted from 1) has coordinate $j$ equal to the radical inverse of $i$ in
    the $j$-th prime base $b_j$: $\phi_{b}(i) = \sum_k d_k b^{-k-1}$ for $i = \sum_k d_k b^k$,
    mapped linearly onto $[\mathrm{low}_j, \mathrm{high}_j)$ (Halton 1960). Suited to up to
    about 10 parameters; for more, correlations between high prime bases appear.

    Args:
        bounds: ``{accessor: (low, high)}`` in the parameter's unit (at most 20 parameters).
        n: number of parameter sets.

    References:
        Halton JH (1960) Numer Math 2:84.
    """

    def __init__(self, bounds: Mapping, n: int):
        super().__init__(bounds, n)
        if len(self.bounds) > len(_PRIMES):
            raise ValueError(f"Halton supports at most {len(_PRIMES)} parameters")

    def table(self) -> np.ndarray:
        index = np.arange(1, self.n + 1)
        columns = []
        for base in _PRIMES[: len(self.bounds)]:
            i, value, scale = index.copy(), np.zeros(self.n), 1.0 / base
            while np.any(i > 0):
                value += (i % base) * scale
                i //= base
                scale /= base
            columns.append(value)
        return _scale(np.stack(columns, axis=-1), self.bounds)


def _scale(u: np.ndarray, bounds: dict) -> np.ndarray:
    low = np.array([b[0] for b in bounds.values()])
    high = np.array([b[1] for b in bounds.values()])
    return low + u * (high - low)
