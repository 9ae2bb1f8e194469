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


class _Path:
    """Records the attributes and items an accessor reads (``m.nmda.tau_decay``)."""

    __slots__ = ("_accessor_path_",)

    def __init__(self, parts: tuple[str, ...]):
        self._accessor_path_ = parts

    def __getattr__(self, name: str) -> "_Path":
        if name.startswith("__"):
            raise AttributeError(name)
        return _Path((*self._accessor_path_, name))

    def __getitem__(self, key: Any) -> "_Path":
        return _Path((*self._accessor_path_, str(key)))


def accessor_label(accessor: Accessor) -> str:
    """The dotted path an accessor reads (``"nmda.tau_decay"``), to name it in messages.

    The accessor is run on a recorder of attribute and item reads, so the label is the
    same as :func:`parameter_name` gives for a plain ``lambda m: m.a.b[0]``. An accessor
    that does anything else is named by its function name and source line.
    """
    try:
        path = accessor(_Path(()))
    except Exception:  # noqa: BLE001 -- any failure means the accessor is not a plain path.
        path = None
    if isinstance(path, _Path) and path._accessor_path_:
        return ".".join(path._accessor_path_)
    code = getattr(accessor, "__code__", None)
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return f"{getattr(accessor, '__qualname__', type(accessor).__name__)}{where}"


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
    label = accessor_label(accessor)
    sentinel = _Sentinel()
    try:
        marked = eqx.tree_at(accessor, model, replace=sentinel)
    except Exception as error:  # noqa: BLE001 -- any failure means the path is wrong.
        raise ValueError(
            f"the swept parameter `{label}` is not a parameter of {type(model).__name__}: "
            f"{type(error).__name__}: {error}"
        ) from None
    value = accessor(model)
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.ndarray | np.generic | jax.Array
    ):
        raise ValueError(
            f"the swept parameter `{label}` selects a {type(value).__name__}, not a "
            f"parameter (a number or an array) of {type(model).__name__}"
        )
    leaves = jax.tree_util.tree_flatten_with_path(marked, is_leaf=lambda x: x is sentinel)[0]
    paths = [path for path, leaf in leaves if leaf is sentinel]
    if len(paths) != 1 or not paths[0]:
        raise ValueError(
            f"the swept parameter `{label}` must select exactly one parameter (a leaf) "
            f"of {type(model).__name__}"
        )
    return jax.tree_util.keystr(paths[0], simple=True, separator=".")


def check_key(key: Any, what: str) -> None:
    """Raise unless ``key`` is one PRNG key (``jr.key(0)``, or legacy ``jr.PRNGKey(0)``)."""
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    legacy = isinstance(key, jax.Array) and key.dtype == np.uint32 and key.shape in ((2,), (4,))
    if not ((typed and key.shape == ()) or legacy):
        shape = getattr(key, "shape", None)
        raise ValueError(
            f"{what}: `key` must be one PRNG key such as jax.random.key(0), got a "
            f"{type(key).__name__}" + (f" of shape {shape}" if shape is not None else "")
        )


def _check_parameters(parameters: Mapping, what: str, argument: str) -> list[str]:
    """Check the ``{accessor: ...}`` dict of a design; return the parameters' labels."""
    if not isinstance(parameters, Mapping) or len(parameters) == 0:
        raise ValueError(
            f"{what}: `{argument}` must be a non-empty dict {{accessor: ...}} of the parameters "
            f"to vary, e.g. {{lambda m: m.tau_decay: ...}}; got {parameters!r}"
        )
    labels = []
    for accessor in parameters:
        if not callable(accessor):
            raise ValueError(
                f"{what}: the parameters in `{argument}` are addressed by accessor functions "
                f"such as `lambda m: m.tau_decay`, never by strings; got the key {accessor!r}"
            )
        label = accessor_label(accessor)
        if label in labels:
            raise ValueError(f"{what}: the parameter `{label}` is listed twice in `{argument}`")
        labels.append(label)
    return labels


def _number(value: Any) -> float | None:
    """``value`` as a float if it is one real number (not a bool or a string), else None."""
    if isinstance(value, bool | str | bytes):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.shape != () or array.dtype.kind not in "iuf":
        return None
    return float(array)


def _check_bounds(bounds: Mapping, what: str) -> dict[Accessor, tuple[float, float]]:
    labels = _check_parameters(bounds, what, "bounds")
    checked = {}
    for label, (accessor, pair) in zip(labels, bounds.items(), strict=True):
        numbers = (
            [_number(v) for v in pair]
            if isinstance(pair, tuple | list | np.ndarray) and len(pair) == 2
            else [None]
        )
        if None in numbers:
            raise ValueError(
                f"{what}: the range of `{label}` in `bounds` must be a pair (low, high) of "
                f"numbers, got {pair!r}"
            )
        low, high = numbers
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(
                f"{what}: the range of `{label}` in `bounds` must be finite with low < high, "
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
        labels = _check_parameters(values, "Grid", "values")
        checked = {}
        for label, (accessor, vals) in zip(labels, values.items(), strict=True):
            try:
                array = np.asarray(vals)
            except (TypeError, ValueError):
                array = np.asarray(None)
            if array.dtype.kind not in "iuf":
                raise ValueError(
                    f"Grid: the values of `{label}` must be numbers (ints or floats), got {vals!r}"
                )
            array = array.astype(np.float64)
            if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
                raise ValueError(
                    f"Grid: the values of `{label}` must be a non-empty 1-D array of finite "
                    f"numbers, got shape {array.shape}"
                )
            if np.unique(array).size != array.size:
                raise ValueError(
                    f"Grid: the values of `{label}` repeat a value; each grid point must be "
                    f"distinct, got {array}"
                )
            checked[accessor] = array
        self.values = checked

    @property
    def accessors(self) -> tuple[Accessor, ...]:
        return tuple(self.values)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{accessor_label(a)}: {v.size} values" for a, v in self.values.items())
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
        ranges = ", ".join(f"{accessor_label(a)}: {b}" for a, b in self.bounds.items())
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
        check_key(key, type(self).__name__)
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
        check_key(key, type(self).__name__)
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
            raise ValueError(
                f"Halton: `bounds` names {len(self.bounds)} parameters; the Halton sequence "
                f"here supports at most {len(_PRIMES)} (use LatinHypercube for more)"
            )

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
