r"""Forward-mode derivatives of long simulations, exposed to reverse mode as a custom vjp.

Reverse mode (``jax.grad``) through a time loop of $K$ steps must keep or recompute the
state of every step: with checkpointed segments each segment runs twice and the backward
pass costs as much again (measured for the decision circuit at 1.2e4 trials:
``value_and_grad`` 3.4-4.3x the forward time, 572-581 MB). Forward mode carries one
tangent per parameter through the same loop and stores nothing, at a cost of less than
one extra forward per parameter (measured: one parameter 1.5-1.7x forward and 41 MB
through ``simulate_batch``; two parameters 2.7x; the package's decision-circuit
benchmark). When a loss
depends on a handful of parameters through a long simulation, forward mode is the faster
and the leaner of the two.

:func:`forward_mode` wraps a function ``fn(vjp_arg, *args)``: on the forward pass under
``jax.grad`` it computes ``fn``'s Jacobian with respect to the perturbed floating-point
leaves of ``vjp_arg`` (``jax.jvp`` batched over the unit tangents, the primal computed
once), and the backward pass contracts the output cotangents with that Jacobian. Which
leaves are perturbed is known at trace time (:func:`equinox.filter_custom_vjp`), so the
leaves that are held fixed, or that ``fn`` never reads, cost nothing when they are not
differentiated. Outside ``grad`` the wrapper is ``fn`` itself.

Limits: first derivatives only (a custom vjp cannot be differentiated again in forward
mode, so Hessians need the plain function); the Jacobian has one row per perturbed
scalar, so the cost grows with their number; differentiate only the first argument
(a tangent on the others makes equinox raise "Unexpected tangent"; pack everything to be
differentiated into ``vjp_arg``).
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def forward_mode(fn: Callable) -> Callable:
    """``fn(vjp_arg, *args)`` whose derivative in ``vjp_arg`` is computed in forward mode.

    Args:
        fn: a pure function; its first argument is a pytree (e.g. an equinox Module)
            whose floating-point array leaves may be differentiated; the other arguments
            are held fixed.

    Returns:
        A function with the same signature and outputs that ``jax.grad``,
        ``jax.value_and_grad`` and ``jax.vjp`` differentiate through forward-mode
        Jacobian-vector products, one per perturbed scalar.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> def total_decay(rate, t):  # stands in for a long simulation
        ...     return jnp.sum(jnp.exp(-rate * t))
        >>> t = jnp.linspace(0.0, 1.0, 5)
        >>> g1 = jax.grad(total_decay)(jnp.asarray(2.0), t)
        >>> g2 = jax.grad(forward_mode(total_decay))(jnp.asarray(2.0), t)
        >>> bool(jnp.allclose(g1, g2))
        True
    """

    @eqx.filter_custom_vjp
    def wrapped(vjp_arg, *args):
        return fn(vjp_arg, *args)

    @wrapped.def_fwd
    def _fwd(perturbed, vjp_arg, *args):
        diff, rest = eqx.partition(vjp_arg, perturbed)
        flat, unravel = ravel_pytree(diff)

        def f(v):
            return fn(eqx.combine(unravel(v), rest), *args)

        basis = jnp.eye(flat.shape[0], dtype=flat.dtype)
        if flat.shape[0] == 1:  # one tangent: no batch axis for it inside the loop
            out, tangent = jax.jvp(f, (flat,), (basis[0],))
            return out, jax.tree.map(lambda x: x[None], tangent)
        out, jacobian = jax.vmap(lambda t: jax.jvp(f, (flat,), (t,)), out_axes=(None, 0))(basis)
        return out, jacobian

    @wrapped.def_bwd
    def _bwd(jacobian, cotangent, perturbed, vjp_arg, *args):
        del args
        diff, _ = eqx.partition(vjp_arg, perturbed)
        flat, unravel = ravel_pytree(diff)
        total = jnp.zeros(flat.shape, flat.dtype)
        pairs = zip(
            jax.tree.leaves(jacobian),
            jax.tree.leaves(cotangent, is_leaf=lambda x: x is None),
            strict=True,
        )
        for jac, cot in pairs:
            if cot is None or not jnp.issubdtype(jac.dtype, jnp.inexact):
                continue
            total = total + jnp.tensordot(jac, cot, axes=cot.ndim).astype(flat.dtype)
        # unravel gives vjp_arg's structure with None wherever nothing is perturbed.
        return unravel(total)

    return wrapped


class AbstractDifferentiation(eqx.Module):
    """How a function of a model is differentiated: an object, not a boolean flag.

    Pass ``ForwardMode()`` or ``ReverseMode()`` where a long simulation is differentiated
    (e.g. :func:`~multiscale.behavior.trial_log_likelihood`); the same object gives its
    gradient (:meth:`value_and_grad`) and its Hessian (:meth:`hessian`) the matching way.
    """

    @abc.abstractmethod
    def wrap(self, fn: Callable) -> Callable:
        """``fn`` (signature ``fn(vjp_arg, *args)``), set up to be differentiated this way."""

    @abc.abstractmethod
    def hessian(self, fn: Callable) -> Callable:
        """``x, *args -> d^2 fn / dx^2`` for a scalar ``fn(x, *args)`` of an array ``x``."""

    def value_grad_hessian(self, fn: Callable) -> Callable:
        """``x, *args -> (fn, d fn / dx, d^2 fn / dx^2)`` for a scalar ``fn`` of an array ``x``."""
        hessian, value_and_grad = self.hessian(fn), self.value_and_grad(fn)

        def run(x, *args):
            value, grad = value_and_grad(x, *args)
            return value, grad, hessian(x, *args)

        return run

    def value_and_grad(self, fn: Callable) -> Callable:
        """``x, *args -> (fn(x, *args), d fn / dx)`` for a scalar ``fn``; ``x`` any pytree
        whose floating-point array leaves are differentiated (``eqx.filter_value_and_grad``)."""
        return eqx.filter_value_and_grad(self.wrap(fn))


class ReverseMode(AbstractDifferentiation):
    """Plain reverse mode (``jax.grad`` through the checkpointed loop): cost independent
    of the number of parameters, memory growing with the loop's length.

    Its Hessian is forward over reverse (``jax.hessian``), one reverse pass per parameter.

    Example:
        >>> import jax.numpy as jnp
        >>> f = lambda x, c: jnp.sum(c * x**3)
        >>> ReverseMode().hessian(f)(jnp.array([1.0, 2.0]), 2.0).tolist()
        [[12.0, 0.0], [0.0, 24.0]]
    """

    def wrap(self, fn: Callable) -> Callable:
        return fn

    def hessian(self, fn: Callable) -> Callable:
        return jax.jacfwd(jax.jacrev(fn))


class ForwardMode(AbstractDifferentiation):
    """Forward mode behind a custom vjp (:func:`forward_mode`): one tangent per free scalar
    rides along the loop and nothing is stored, so it is faster and leaner for a few free
    parameters (module docstring).

    Its Hessian is forward over forward (``jax.jacfwd`` twice on the plain function,
    $p(p+1)/2$-ish tangents, nothing stored); measured for the trial-level circuit fit
    (3 parameters, 2048 paths, 2604 trials): 10 s against 29 s for forward over reverse.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> f = lambda x, c: jnp.sum(c * x**3)
        >>> v, g = ForwardMode().value_and_grad(f)(jnp.array([1.0, 2.0]), 2.0)
        >>> float(v), g.tolist()
        (18.0, [6.0, 24.0])
    """

    def wrap(self, fn: Callable) -> Callable:
        return forward_mode(fn)

    def hessian(self, fn: Callable) -> Callable:
        return jax.jacfwd(jax.jacfwd(fn))

    def value_grad_hessian(self, fn: Callable) -> Callable:
        # The value and the gradient ride along as the primal and first tangents of the
        # nested forward passes: one program, not a separate gradient pass beside it.
        def grad_and_value(x, *args):
            return jax.jacfwd(lambda y: (lambda o: (o, o))(fn(y, *args)), has_aux=True)(x)

        def run(x, *args):
            both = lambda y: (lambda gv: (gv[0], gv))(grad_and_value(y, *args))
            hess, (grad, value) = jax.jacfwd(both, has_aux=True)(x)
            return value, grad, hess

        return run
