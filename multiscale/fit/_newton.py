r"""Damped Newton (Levenberg–Marquardt) steps as an optax transformation, for small models.

For a handful of parameters (a DDM has 3-9) the exact Hessian costs a few gradients and
Newton's method converges quadratically, in far fewer steps than Adam or L-BFGS:

$$\Delta\theta = -(H + \lambda\, \mathrm{diag}(|H_{ii}|))^{-1} g,$$

accepted when it lowers the loss (then $\lambda \leftarrow \lambda / 10$); otherwise
$\lambda \leftarrow 10 \lambda$ and the step is retried, up to ``max_tries`` times, after
which the parameters stay put. Written as an optax ``GradientTransformationExtraArgs``
(it needs ``value`` and ``value_fn``, which :func:`multiscale.fit.fit` and
:func:`multiscale.fit.optimize` pass), so it runs under ``jit`` and ``vmap`` like any other
optimiser.

References:
    Marquardt DW (1963) An algorithm for least-squares estimation of nonlinear parameters.
    J Soc Ind Appl Math 11:431-441.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree


class NewtonState(NamedTuple):
    """Damping $\\lambda$ carried between steps."""

    damping: jax.Array


def newton(damping: float = 1e-3, max_tries: int = 8) -> optax.GradientTransformationExtraArgs:
    """Levenberg–Marquardt-damped Newton steps (see the module docstring).

    Args:
        damping: initial $\\lambda$ (relative to the Hessian's diagonal).
        max_tries: how many times a rejected step is retried with 10× more damping.

    Returns:
        An optax transformation; its ``update`` needs ``value=`` and ``value_fn=``.
    """

    def init(params):
        leaves = jax.tree.leaves(params)
        dtype = leaves[0].dtype if leaves else jnp.float32
        return NewtonState(damping=jnp.asarray(damping, dtype))

    def update(grads, state, params=None, *, value=None, value_fn=None, **extra):
        del extra
        if params is None or value is None or value_fn is None:
            raise ValueError("newton() needs params, value= and value_fn= in update()")
        flat, unravel = ravel_pytree(params)
        g, _ = ravel_pytree(grads)
        f = lambda x: value_fn(unravel(x))
        H = jax.hessian(f)(flat)
        H = 0.5 * (H + H.T)
        scale = jnp.maximum(jnp.abs(jnp.diag(H)), 1e-8)

        def attempt(lam):
            step = -jnp.linalg.solve(H + lam * jnp.diag(scale), g)
            step = jnp.where(jnp.all(jnp.isfinite(step)), step, jnp.zeros_like(step))
            new = f(flat + step)
            return step, jnp.isfinite(new) & (new < value)

        def cond(carry):
            _, ok, tries, _ = carry
            return (~ok) & (tries < max_tries)

        def body(carry):
            lam, _, tries, _ = carry
            lam = lam * 10.0
            step, ok = attempt(lam)
            return lam, ok, tries + 1, step

        step0, ok0 = attempt(state.damping)
        lam, ok, _, step = jax.lax.while_loop(cond, body, (state.damping, ok0, 0, step0))
        step = jnp.where(ok, step, jnp.zeros_like(step))
        new_damping = jnp.where(ok, jnp.maximum(lam / 10.0, 1e-9), lam)
        return unravel(step), NewtonState(damping=new_damping.astype(state.damping.dtype))

    return optax.GradientTransformationExtraArgs(init, update)
