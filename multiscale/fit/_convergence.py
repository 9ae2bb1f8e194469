r"""Is a fit at an optimum? Gradient, Newton decrement and curvature at the returned point.

An optimiser that stops (no further decrease within its patience, a line search that
fails) has not necessarily found a minimum: it may sit on a plateau where the objective
does not change (a drift $k$ multiplying an all-zero condition, so $k$ has no effect),
in a region where every step is rejected (a non-finite loss), or simply stall far from the
optimum (a drift in units 100 times too large stalled 2240 nats above it). A minimum is
*checked* here by the second-order conditions at the returned point $\hat u$ (in the
unconstrained coordinates the optimiser moved):

- the objective, its gradient $g$ and its Hessian $H$ are finite;
- $H$ is positive definite: every eigenvalue exceeds a small threshold (curvature below it
  marks a direction the data do not identify; below minus it, a direction of descent) and
  its Cholesky factorisation exists;
- the Newton decrement $\lambda = \sqrt{g^\top H^{-1} g}$ is small: $\lambda^2 / 2$, the
  decrease a Newton step would still achieve on the local quadratic model (an estimate
  of $f(\hat u) - f^\ast$), is at most ``tol`` nats (Boyd & Vandenberghe 2004, §9.5.1).
  Unlike a bound on $\|g\|$, this test does not depend on the parameters' units.

The Hessian is ``jax.hessian`` (forward over reverse mode; ``ForwardMode()`` gives forward
over forward), compiled once per objective and parameter structure.

References:
    Boyd S, Vandenberghe L (2004) Convex Optimization. Cambridge University Press.
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._autodiff import AbstractDifferentiation, ReverseMode

_REVERSE = ReverseMode()

CURVATURE_RTOL_EPS = 64.0
"""Curvature below this many machine epsilons of the largest eigenvalue counts as zero."""


class OptimumCheck(NamedTuple):
    r"""The second-order check of one point (see the module docstring).

    Attributes:
        passed: True when the point is a checked minimum: finite derivatives, positive
            definite Hessian, $\lambda^2/2 \le$ ``tol``.
        value: objective at the point (nats for a negative log-likelihood).
        gradient_norm: Euclidean norm of the gradient in the unconstrained coordinates.
        newton_decrement: $\lambda = \sqrt{g^\top H^{-1} g}$ over the identified
            directions (those with curvature above the threshold); NaN if not finite.
        min_eigenvalue: smallest eigenvalue of the Hessian (nats per unconstrained unit
            squared).
        eigenvalues: all eigenvalues, ascending, shape ``(p,)``.
        curvature_threshold: curvature at or below which a direction counts as flat.
        unidentified: names of the parameters that make up the flat directions (each
            parameter carrying at least 10 % of such an eigenvector's weight).
        descent: names of the parameters along directions of negative curvature (a saddle
            or a maximum, not a minimum).
        names: name of each scalar parameter, in flattening order.
        tol: the tolerance on $\lambda^2/2$, nats.
        reason: why the check failed; ``""`` when it passed.
        hessian: the Hessian in the unconstrained coordinates, ``(p, p)`` (symmetrised
            when finite), e.g. for Laplace standard errors.
    """

    passed: bool
    value: float
    gradient_norm: float
    newton_decrement: float
    min_eigenvalue: float
    eigenvalues: np.ndarray
    curvature_threshold: float
    unidentified: tuple[str, ...]
    descent: tuple[str, ...]
    names: tuple[str, ...]
    tol: float
    reason: str
    hessian: np.ndarray | None = None


def parameter_names(params) -> tuple[str, ...]:
    """Name of every scalar of ``params`` in flattening order: ``"a"``, ``"w[0]"``, ...

    Names are the attribute/key paths of the leaves (``circuit.nmda.tau_decay``), with an
    index appended for the elements of a non-scalar leaf.
    """
    names = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        name = _path_name(path)
        size = int(np.size(leaf))
        if size == 1 and np.ndim(leaf) == 0:
            names.append(name)
        else:
            shape = np.shape(leaf)
            names.extend(f"{name}[{', '.join(map(str, i))}]" for i in np.ndindex(*shape))
    return tuple(names)


def _path_name(path) -> str:
    parts = []
    for k in path:
        if isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(f".{k.name}")
        elif isinstance(k, jax.tree_util.DictKey) and isinstance(k.key, str):
            parts.append(f".{k.key}")
        else:
            parts.append(jax.tree_util.keystr((k,)))
    return "".join(parts).lstrip(".")


@eqx.filter_jit
def _derivatives(objective, params, differentiation: AbstractDifferentiation):
    flat, unravel = ravel_pytree(params)

    def f(x):
        return objective(unravel(x))

    return differentiation.value_grad_hessian(f)(flat)


def _members(vectors: np.ndarray, columns: np.ndarray, names: Sequence[str]) -> tuple[str, ...]:
    if not columns.any():
        return ()
    weight = np.max(vectors[:, columns] ** 2, axis=1)
    return tuple(n for n, w in zip(names, weight, strict=True) if w >= 0.1)


def check_derivatives(
    value, grad, hessian, *, names: Sequence[str], tol: float = 1e-3, eps: float | None = None
) -> OptimumCheck:
    r"""The check from a value, gradient ``(p,)`` and Hessian ``(p, p)`` already computed.

    For fits that compute their own derivatives (a Hessian in forward mode through a
    simulation); :func:`check_optimum` computes them and calls this.

    Args:
        value, grad, hessian: the objective and its derivatives in the unconstrained
            coordinates.
        names: one name per scalar parameter.
        tol: largest acceptable $\lambda^2/2$, nats.
        eps: machine epsilon of the computation (default: of ``grad``'s dtype); the
            curvature threshold is ``64 eps`` times the largest eigenvalue magnitude.
    """
    g = np.asarray(grad, np.float64).ravel()
    H = np.asarray(hessian, np.float64).reshape(g.size, g.size)
    names = tuple(names)
    if len(names) != g.size:
        raise ValueError(f"names has {len(names)} entries for {g.size} parameters")
    eps = float(jnp.finfo(jnp.asarray(grad).dtype).eps) if eps is None else eps
    value = float(value)
    nan = float("nan")
    if not (np.isfinite(value) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        return OptimumCheck(
            False, value, float(np.linalg.norm(g)), nan, nan, np.full(g.size, nan), nan,
            (), (), names, tol, "the objective, its gradient or its Hessian is not finite", H,
        )  # fmt: skip
    H = 0.5 * (H + H.T)
    eig, vec = np.linalg.eigh(H)
    scale = float(np.max(np.abs(eig))) if eig.size else 0.0
    threshold = CURVATURE_RTOL_EPS * eps * scale
    flat = np.abs(eig) <= threshold
    negative = eig < -threshold
    unidentified = _members(vec, flat, names)
    descent = _members(vec, negative, names)
    keep = eig > threshold
    # Newton decrement over the identified directions: g projected onto each eigenvector.
    coef = vec[:, keep].T @ g
    decrement = float(np.sqrt(np.sum(coef**2 / eig[keep])))
    try:
        np.linalg.cholesky(H)
        cholesky_ok = True
    except np.linalg.LinAlgError:
        cholesky_ok = False
    reason = ""
    if unidentified:
        reason = (
            f"not identified: {', '.join(unidentified)} (no curvature of the objective "
            f"along it: smallest eigenvalue {eig[0]:.3g}, threshold {threshold:.3g}): the "
            "data do not constrain it (e.g. a drift multiplying an all-zero condition, or "
            "identical trials), or it sits on a bound of its constraint (e.g. t0 -> 0)"
        )
    elif descent:
        reason = f"not a minimum: negative curvature ({eig[0]:.3g}) along {', '.join(descent)}"
    elif not cholesky_ok:
        reason = "the Hessian is not positive definite (its Cholesky factorisation failed)"
    elif decrement**2 / 2 > tol:
        reason = (
            f"not at the optimum: a Newton step would still lower the objective by about "
            f"{decrement**2 / 2:.3g} (tolerance {tol:g})"
        )
    return OptimumCheck(
        passed=reason == "",
        value=value,
        gradient_norm=float(np.linalg.norm(g)),
        newton_decrement=decrement,
        min_eigenvalue=float(eig[0]) if eig.size else nan,
        eigenvalues=eig,
        curvature_threshold=threshold,
        unidentified=unidentified,
        descent=descent,
        names=names,
        tol=tol,
        reason=reason,
        hessian=H,
    )


def check_optimum(
    objective: Callable[[Any], Any],
    params,
    *,
    tol: float = 1e-3,
    names: Sequence[str] | None = None,
    differentiation: AbstractDifferentiation = _REVERSE,
) -> OptimumCheck:
    r"""Check that ``params`` is a minimum of ``objective`` (see the module docstring).

    Args:
        objective: ``params -> scalar`` (e.g. a negative log-likelihood in nats), in the
            coordinates the optimiser moved (unconstrained). It is a static argument of a
            compiled function: pass the same object (a function or an equinox Module whose
            arrays are its data) to reuse the compilation.
        params: the point, a pytree of floating-point arrays.
        tol: largest acceptable $\lambda^2/2$ (nats): the decrease a Newton step would
            still bring.
        names: one name per scalar of ``params`` (default :func:`parameter_names`).
        differentiation: how the gradient and Hessian are taken: ``ReverseMode()``
            (forward over reverse, ``jax.hessian``) or ``ForwardMode()`` (forward over
            forward: no stored trajectory, faster through a long simulation with few
            parameters).

    Returns:
        An :class:`OptimumCheck`.

    Example:
        >>> import jax.numpy as jnp
        >>> c = check_optimum(lambda p: (p["a"] - 1.0) ** 2 + 0.0 * p["b"],
        ...                   {"a": jnp.asarray(1.0), "b": jnp.asarray(0.0)})
        >>> c.passed, c.unidentified
        (False, ('b',))
    """
    names = parameter_names(params) if names is None else names
    if not isinstance(differentiation, AbstractDifferentiation):
        raise TypeError(
            f"`differentiation` must be ForwardMode() or ReverseMode(), got {differentiation!r}"
        )
    value, grad, hessian = _derivatives(objective, params, differentiation)
    return check_derivatives(value, grad, hessian, names=names, tol=tol)
