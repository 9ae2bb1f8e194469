r"""Hierarchical multi-subject fits: per-subject parameters drawn around group parameters.

Each subject $s$ has its own unconstrained parameter vector $u_s \in \mathbb R^d$ (the
trainable leaves of the model, chosen by a filter, on the real line through their
declared constraints), drawn from a group distribution $u_s \sim N(\mu, \mathrm{diag}\,
\sigma^2)$. The group parameters are estimated by empirical Bayes with a Laplace
E-step (an EM algorithm for Gaussian random effects; e.g. Huys et al. 2011, PLoS Comput
Biol 7:e1002028, in computational psychiatry):

1. **E-step.** For each subject (``vmap``), the posterior mode
   $\hat u_s = \arg\min_u\, \mathrm{NLL}_s(u) + \tfrac12 \lVert (u - \mu)/\sigma \rVert^2$
   by damped Newton steps (:func:`~multiscale.fit.newton`), and the Laplace posterior variances
   $V_s = \mathrm{diag}(H_s^{-1})$ from the Hessian $H_s$ at the mode.
2. **M-step.** $\mu = \overline{\hat u_s}$, $\sigma^2 = \overline{(\hat u_s - \mu)^2 + V_s}$.

Unlike a joint maximum of the posterior over $(u_s, \mu, \sigma)$, which collapses to
$\sigma \to 0$, the $V_s$ term keeps $\sigma$ away from zero. Subjects with few trials are
pulled towards the group (shrinkage); the group mean is estimated from all of them.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float

from .._constraints import to_constrained, to_unconstrained
from ..behavior import Trials, ddm_log_density
from ._newton import newton


class SubjectTrials(eqx.Module):
    """Trials padded to one array per subject (build with :func:`subject_trials`).

    Attributes:
        rt, choice, condition: shape (subjects, max trials); padding rows are copies of
            a real trial with weight 0.
        weight: 1 for a real trial, 0 for padding.
    """

    rt: Float[Array, "s n"]
    choice: Array
    condition: Float[Array, "s n"]
    weight: Float[Array, "s n"]


def subject_trials(trials: Trials) -> SubjectTrials:
    """Split pooled trials by ``trials.subject`` (0..S-1) and pad to equal length."""
    subj = np.asarray(trials.subject)
    ids = np.unique(subj)
    if not np.array_equal(ids, np.arange(ids.size)):
        raise ValueError(
            f"subject indices must be 0..S-1 without gaps, got {ids.tolist()[:10]}; "
            "load data with multiscale.data.load_trials, which renumbers subjects"
        )
    n_max = int(np.bincount(subj).max())
    fields = {k: np.asarray(getattr(trials, k)) for k in ("rt", "choice", "condition")}
    out = {k: [] for k in fields} | {"weight": []}
    for s in ids:
        idx = np.flatnonzero(subj == s)
        pad = np.concatenate([idx, np.full(n_max - idx.size, idx[0])])
        for k, v in fields.items():
            out[k].append(v[pad])
        out["weight"].append((np.arange(n_max) < idx.size).astype(fields["rt"].dtype))
    return SubjectTrials(**{k: jnp.asarray(np.stack(v)) for k, v in out.items()})


class HierarchicalFit(eqx.Module):
    """Result of :func:`fit_hierarchical`.

    Attributes:
        subjects: the model with a leading subject axis on every trained leaf (posterior
            modes, constrained scale).
        group: the model at the group mean $\\mu$ (constrained scale).
        group_sd: $\\sigma$ per trained leaf on the unconstrained scale, shape (d,).
        posterior_sd: Laplace posterior SD of each subject's unconstrained leaves, (S, d).
        n_iterations: EM iterations run.
    """

    subjects: Any
    group: Any
    group_sd: Float[Array, " d"]
    posterior_sd: Float[Array, "s d"]
    n_iterations: int


def _ddm_nll(model, data: SubjectTrials):
    logp = ddm_log_density(model, data.rt, data.choice, data.condition)
    return -jnp.sum(data.weight * logp)


def _posterior_mode(objective, u0, steps):
    """Posterior mode by the package's damped Newton steps, and Laplace variances there."""
    optimizer = newton()

    def body(carry, _):
        u, state = carry
        value, g = jax.value_and_grad(objective)(u)
        updates, state = optimizer.update(g, state, u, value=value, value_fn=objective)
        return (optax.apply_updates(u, updates), state), None

    (u, _), _ = jax.lax.scan(body, (u0, optimizer.init(u0)), None, length=steps)
    h = jax.hessian(objective)(u)
    lam, q = jnp.linalg.eigh(0.5 * (h + h.T))
    var = jnp.einsum("ij,j,ij->i", q, 1.0 / jnp.maximum(lam, 1e-8), q)
    return u, var


def fit_hierarchical(
    model,
    data: SubjectTrials,
    *,
    filter_spec,
    nll: Callable[[Any, SubjectTrials], Array] = _ddm_nll,
    n_iterations: int = 30,
    newton_steps: int = 15,
    initial_sd: float = 1.0,
    tol: float = 1e-4,
) -> HierarchicalFit:
    """Empirical-Bayes hierarchical fit (EM with a Laplace E-step; module docstring).

    Args:
        model: initial group model (e.g. :class:`~multiscale.behavior.ProportionalRateDDM`);
            its trained leaves start every subject and the group mean.
        data: per-subject trials from :func:`subject_trials`.
        filter_spec: pytree of bools shaped like ``model``: which leaves vary by subject
            (and are fitted); the rest are fixed and shared.
        nll: ``(model, one subject's SubjectTrials row) -> negative log-likelihood``
            (default: the DDM's trial likelihood, RT density in 1/s).
        n_iterations: maximum EM iterations.
        newton_steps: Newton steps per subject per E-step.
        initial_sd: starting $\\sigma$ on the unconstrained scale.
        tol: stop when $\\mu$ and $\\log\\sigma$ move less than this.

    Returns:
        A :class:`HierarchicalFit`.
    """
    if n_iterations < 1 or newton_steps < 1:
        raise ValueError("`n_iterations` and `newton_steps` must be >= 1")
    if not initial_sd > 0:
        raise ValueError(f"`initial_sd` must be > 0, got {initial_sd}")
    u_model = to_unconstrained(model)
    trained, fixed = eqx.partition(u_model, filter_spec)
    u0, unravel = ravel_pytree(trained)
    if u0.size == 0:
        raise ValueError("`filter_spec` selects no leaves of the model to fit")
    n_subjects = data.rt.shape[0]

    def subject_objective(u, row, mu, sd):
        m = to_constrained(eqx.combine(unravel(u), fixed))
        return nll(m, row) + 0.5 * jnp.sum(((u - mu) / sd) ** 2)

    @jax.jit
    def e_step(us, mu, sd):
        def one(u, row):
            return _posterior_mode(lambda v: subject_objective(v, row, mu, sd), u, newton_steps)

        return jax.vmap(one)(us, data)

    us = jnp.broadcast_to(u0, (n_subjects, u0.size))
    mu = u0
    sd = jnp.full_like(u0, initial_sd)
    n_done = 0
    for n_done in range(1, n_iterations + 1):  # noqa: B007 (reported after the loop)
        us, var = e_step(us, mu, sd)
        new_mu = us.mean(axis=0)
        new_sd = jnp.sqrt(jnp.mean((us - new_mu[None, :]) ** 2 + var, axis=0))
        moved = max(
            float(jnp.max(jnp.abs(new_mu - mu))), float(jnp.max(jnp.abs(jnp.log(new_sd / sd))))
        )
        mu, sd = new_mu, new_sd
        if moved < tol:
            break
    us, var = e_step(us, mu, sd)
    subjects = jax.vmap(lambda u: to_constrained(eqx.combine(unravel(u), fixed)))(us)
    group = to_constrained(eqx.combine(unravel(mu), fixed))
    return HierarchicalFit(subjects, group, sd, jnp.sqrt(var), n_done)
