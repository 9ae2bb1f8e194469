r"""Uncertainty and model comparison: Laplace standard errors, AIC and BIC.

At the maximum-likelihood estimate $\hat\theta$ the Laplace approximation gives
$\mathrm{Cov}(\hat\theta) \approx H^{-1}$ with $H = \nabla^2 (-\log L)(\hat\theta)$, the
observed information, taken here with respect to the parameters themselves (their
constrained values, in their own units), so standard errors are in the fields' units.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float


def n_parameters(model, filter_spec=eqx.is_inexact_array) -> int:
    """Number of free scalar parameters: the elements of the leaves ``filter_spec`` trains."""
    params, _ = eqx.partition(model, filter_spec)
    return int(sum(jnp.size(x) for x in jax.tree.leaves(params)))


def laplace_covariance(
    model, loss_fn: Callable[[Any, Any], Array], data, filter_spec=eqx.is_inexact_array
) -> tuple[Float[Array, "p p"], Callable[[Array], Any]]:
    r"""Inverse Hessian of the negative log-likelihood ``loss_fn`` at ``model``.

    Returns:
        ``(cov, unravel)``: the covariance over the flattened trainable leaves and the
        function that maps a flat vector back to the trainable part of the model.
        A singular Hessian (a parameter on a bound, an unidentified parameter) gives NaN.
    """
    params, static = eqx.partition(model, filter_spec)
    flat, unravel = ravel_pytree(params)
    return _covariance(flat, static, data, loss_fn, unravel), unravel


@eqx.filter_jit
def _covariance(flat, static, data, loss_fn, unravel):
    def f(x):
        return loss_fn(eqx.combine(unravel(x), static), data)

    return covariance_from_hessian(jax.hessian(f)(flat))


def covariance_from_hessian(H: Float[Array, "p p"]) -> Float[Array, "p p"]:
    """$H^{-1}$ of the symmetrised Hessian; NaN unless it is positive definite."""
    H = 0.5 * (H + H.T)
    eig = jnp.linalg.eigvalsh(H)
    cov = jnp.linalg.inv(H)
    return jnp.where(jnp.all(eig > 0), cov, jnp.nan)


def standard_errors(
    model, loss_fn: Callable[[Any, Any], Array], data, filter_spec=eqx.is_inexact_array
):
    r"""Laplace standard errors $\sqrt{\mathrm{diag}\,H^{-1}}$, as a pytree shaped like ``model``.

    Trained leaves hold their standard errors (same units as the field); other leaves are
    ``None``. NaN where the Hessian is not positive definite (the fit is not at an interior
    optimum, or a parameter is not identified).
    """
    cov, unravel = laplace_covariance(model, loss_fn, data, filter_spec)
    return unravel(jnp.sqrt(jnp.diag(cov)))


def aic(nll: float | Array, k: int) -> Array:
    r"""Akaike information criterion $2k + 2\,\mathrm{NLL}$."""
    return 2.0 * k + 2.0 * jnp.asarray(nll)


def bic(nll: float | Array, k: int, n: int) -> Array:
    r"""Bayesian information criterion $k \log n + 2\,\mathrm{NLL}$ for ``n`` observations."""
    return k * jnp.log(float(n)) + 2.0 * jnp.asarray(nll)
