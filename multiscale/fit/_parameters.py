r"""Free parameters chosen by ``where=`` accessors, optimised on the real line.

Any leaf of any equinox Module can be freed, however deep: ``Free(lambda m:
m.circuit.nmda.tau_decay)`` frees the decay time constant of the circuit's NMDA receptor,
``Free(lambda m: m.readout.threshold, LogScale(15.0))`` the readout threshold on a log
scale. :func:`parameterize` turns a model and a list of :class:`Free` into a flat vector
$u \in \mathbb{R}^p$ of unconstrained values and a :class:`Parameterization` that rebuilds
the model from any $u$ with ``eqx.tree_at``, $x_i = T_i(u_i)$: the optimiser sees only
$u$, the model only valid values. Without an explicit transform a field's declared
constraint (``eqx.field(metadata=constraint(Positive()))``) is used, else
:class:`~multiscale.fit.Real`.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import Constraints
from .._constraints import AbstractTransform, Positive, Real
from ._convergence import _path_name

_KEY = "constraint"


class Free(eqx.Module):
    r"""One free parameter: the leaf ``where`` selects, optimised through ``transform``.

    Attributes:
        where: accessor of one leaf of the model, e.g. ``lambda m: m.circuit.nmda.tau_decay``
            (an array of any shape, or a Python number, which becomes an array).
        transform: the bijection $x = T(u)$ from the real line onto the parameter's domain
            (:class:`~multiscale.fit.Positive`, :class:`~multiscale.fit.Bounded`,
            :class:`~multiscale.fit.LogScale`, :class:`~multiscale.fit.Real`); default:
            the field's declared constraint, else ``Real()``.
        name: the parameter's name in reports; default: the leaf's path
            (``"circuit.nmda.tau_decay"``).
    """

    where: Callable = eqx.field(static=True)
    transform: AbstractTransform | None = None
    name: str | None = eqx.field(static=True, default=None)


class _Marker:
    """A stand-in leaf that tells which leaf an accessor returned."""

    def __init__(self, index: int):
        self.index = index


def _from_checks(owner, name: str) -> AbstractTransform | None:
    """``Positive()`` for a field the owner's run-time checks require to be > 0.

    Models declare their constraints once (``constraints = Constraints(positive=...)``,
    :mod:`multiscale._checks`), so a field checked positive is freed on the log scale by
    default (``Free(lambda m: m.circuit.nmda.tau_decay)``).
    """
    declared = getattr(type(owner), "constraints", None)
    if isinstance(declared, Constraints) and name in declared.positive:
        return Positive()
    return None


def _declared(model, path) -> AbstractTransform | None:
    """The constraint declared on the field at the end of ``path``, if any."""
    node, transform = model, None
    for k in path:
        transform = None
        if isinstance(k, jax.tree_util.GetAttrKey):
            if dataclasses.is_dataclass(node):
                fields = {f.name: f for f in dataclasses.fields(node)}
                if k.name in fields:
                    transform = fields[k.name].metadata.get(_KEY)
            if transform is None:
                transform = _from_checks(node, k.name)
            node = getattr(node, k.name)
        elif isinstance(k, jax.tree_util.SequenceKey):
            node = node[k.idx]
        elif isinstance(k, jax.tree_util.DictKey):
            node = node[k.key]
        else:
            return None
    return transform


def _locate(model, where: Callable):
    """``(path, leaf)`` of the single leaf ``where`` returns."""
    paths, treedef = jax.tree_util.tree_flatten_with_path(model)
    marked = jax.tree.unflatten(treedef, [_Marker(i) for i in range(len(paths))])
    try:
        hit = where(marked)
    except Exception as e:  # an accessor that computes, or indexes into an array
        raise ValueError(
            "`where` must select one leaf of the model by attribute, index or key (e.g. "
            f"lambda m: m.circuit.nmda.tau_decay); it raised {type(e).__name__}: {e}"
        ) from None
    if not isinstance(hit, _Marker):
        raise ValueError(
            "`where` must return one leaf of the model (an array or a number), got "
            f"{type(hit).__name__}; free a Module's fields one by one"
        )
    return paths[hit.index]


def _in_domain(transform: AbstractTransform, u, x) -> bool:
    """Whether ``x`` survives the round trip through ``transform`` (True under ``jit``)."""
    try:
        finite = bool(jnp.all(jnp.isfinite(u)))
        return finite and bool(jnp.allclose(transform.forward(u), x, rtol=1e-3, atol=1e-5))
    except jax.errors.ConcretizationTypeError:  # traced values: checked where they are used
        return True


class Parameterization(eqx.Module):
    r"""Rebuilds a model from the unconstrained vector $u$ (see :func:`parameterize`).

    Call it: ``parameterization(u)`` is the model with every free leaf set to
    $T_i(u_i)$; the other leaves are those of the model it was built from.

    Attributes:
        model: the model the parameterisation was built from.
        transforms: one transform per free leaf.
        names: one name per scalar of $u$ (``"w[0, 1]"`` for elements of an array leaf).
    """

    model: Any
    transforms: tuple[AbstractTransform, ...]
    wheres: tuple[Callable, ...] = eqx.field(static=True)
    shapes: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    dtypes: tuple[Any, ...] = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)

    def _split(self, u) -> list:
        sizes = [int(np.prod(s)) for s in self.shapes]
        offsets = np.cumsum([0, *sizes])
        bounds = zip(offsets[:-1], offsets[1:], self.shapes, strict=True)
        return [u[a:b].reshape(s) for a, b, s in bounds]

    def __call__(self, u: Float[Array, " p"]):
        """The model at $u$: free leaf $i$ set to $T_i(u_i)$ (in its own dtype)."""
        values = [
            t.forward(part).astype(dtype)
            for t, part, dtype in zip(self.transforms, self._split(u), self.dtypes, strict=True)
        ]
        return eqx.tree_at(lambda m: [w(m) for w in self.wheres], self.model, values)

    def unconstrained(self, model) -> Float[Array, " p"]:
        """$u = T^{-1}(x)$ of ``model``'s current free values (the inverse of calling)."""
        dtype = jnp.result_type(*self.dtypes)
        parts = [
            t.inverse(jnp.asarray(w(model), dtype)).reshape(-1)
            for t, w in zip(self.transforms, self.wheres, strict=True)
        ]
        return jnp.concatenate(parts)

    def log_det_jacobian(self, u: Float[Array, " p"]) -> Float[Array, ""]:
        r"""$\sum_i \log |dx_i/du_i|$: add it to a log density over $x$ to get one over $u$."""
        parts = self._split(u)
        return sum(
            jnp.sum(t.log_det_jacobian(p)) for t, p in zip(self.transforms, parts, strict=True)
        )


def parameterize(model, free: Sequence[Free]) -> tuple[Float[Array, " p"], Parameterization]:
    r"""The free leaves of ``model`` as one unconstrained vector, and how to rebuild it.

    Args:
        model: any pytree of equinox Modules (a circuit, a behavioural model, ...).
        free: the free parameters, each a :class:`Free` (at least one; no leaf twice).

    Returns:
        ``(u, parameterization)``: $u$, shape ``(p,)`` with $p$ the total number of free
        scalars, the unconstrained values of the model's current free values; and the
        :class:`Parameterization` with ``parameterization(u) == model`` (up to the
        transforms' round trip).

    Raises:
        ValueError: ``free`` is empty, an accessor does not select one leaf, a leaf is
            freed twice, or a value lies outside its transform's domain.

    Example:
        >>> import equinox as eqx, jax.numpy as jnp
        >>> from multiscale.fit import Free, LogScale, Positive
        >>> class Inner(eqx.Module):
        ...     tau: jnp.ndarray
        >>> class Outer(eqx.Module):
        ...     inner: Inner
        ...     gain: jnp.ndarray
        >>> m = Outer(Inner(jnp.asarray(0.1)), jnp.asarray(2.0))
        >>> u, rebuild = parameterize(m, [Free(lambda m: m.inner.tau, LogScale(0.1)),
        ...                               Free(lambda m: m.gain, Positive())])
        >>> rebuild.names, [round(float(x), 4) for x in u]
        (('inner.tau', 'gain'), [0.0, 1.8546])
        >>> round(float(rebuild(u + 0.1).inner.tau), 4)
        0.1105
    """
    free = tuple(free)
    if not free:
        raise ValueError("`free` is empty: give at least one Free(where=...)")
    for f in free:
        if not isinstance(f, Free):
            raise TypeError(f"`free` must hold Free(...) objects, got {type(f).__name__}")
    located = [_locate(model, f.where) for f in free]
    keys = [jax.tree_util.keystr(path) for path, _ in located]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"a leaf is freed twice: {', '.join(d.lstrip('.') for d in dupes)}")
    transforms, shapes, dtypes, names, parts = [], [], [], [], []
    for f, (path, leaf) in zip(free, located, strict=True):
        if eqx.is_array(leaf) and not jnp.issubdtype(leaf.dtype, jnp.inexact):
            raise ValueError(f"{_path_name(path)}: a free leaf must be floating point")
        if not (eqx.is_array(leaf) or isinstance(leaf, (int, float, np.floating))):
            raise ValueError(
                f"{_path_name(path)}: a free leaf must be an array or a number, "
                f"got {type(leaf).__name__}"
            )
        x = jnp.asarray(leaf, leaf.dtype if eqx.is_array(leaf) else jnp.result_type(float))
        transform = f.transform if f.transform is not None else _declared(model, path)
        transform = Real() if transform is None else transform
        u = transform.inverse(x)
        if not _in_domain(transform, u, x):
            raise ValueError(
                f"{_path_name(path)} = {np.asarray(x).tolist()} lies outside the domain of "
                f"its transform {transform!r}"
            )
        name = f.name if f.name is not None else _path_name(path)
        transforms.append(transform)
        shapes.append(tuple(x.shape))
        dtypes.append(x.dtype)
        parts.append(u.reshape(-1))
        if x.ndim == 0:
            names.append(name)
        else:
            names.extend(f"{name}[{', '.join(map(str, i))}]" for i in np.ndindex(*x.shape))
    dtype = jnp.result_type(*dtypes)
    u = jnp.concatenate([p.astype(dtype) for p in parts])
    # Python numbers become arrays in the stored model, so that rebuilding keeps its types.
    model = eqx.tree_at(
        lambda m: [f.where(m) for f in free],
        model,
        [jnp.asarray(leaf, dt) for (_, leaf), dt in zip(located, dtypes, strict=True)],
    )
    rebuild = Parameterization(
        model=model,
        transforms=tuple(transforms),
        wheres=tuple(f.where for f in free),
        shapes=tuple(shapes),
        dtypes=tuple(dtypes),
        names=tuple(names),
    )
    return u, rebuild
