r"""Posterior sampling with NUTS over any choice model's trial likelihood, as ArviZ data.

For a model $m$ of :class:`~multiscale.behavior.AbstractChoiceModel` (the DDM family, the
LBA, racing diffusion, ...), free leaves $x_i$ chosen by accessors (:class:`Prior`) with
priors $p_i$, and trials $y$, the sampler draws from

$$p(x \mid y) \propto \prod_i p_i(x_i) \prod_n p(y_n \mid m(x))$$

on the real line: $x_i = T_i(u_i)$ with $T_i$ the bijection onto the prior's support
(:meth:`~multiscale.fit.AbstractPrior.transform`, or one given), and the log density over
$u$ is $\sum_i \log p_i(T_i(u_i)) + \log|T_i'(u_i)| + \sum_n \log p(y_n \mid m)$.
Sampling is the No-U-Turn sampler (Hoffman & Gelman 2014) of BlackJAX with Stan's
window adaptation of the step size and a diagonal mass matrix; chains run together under
``vmap``. Diagnostics are ArviZ's rank-normalised split $\hat R$ and bulk/tail effective
sample sizes (Vehtari et al. 2021), and the count of divergent transitions.

Needs the optional ``bayes`` extra (``pip install "multiscale[bayes]"``: blackjax, arviz).

References:
    Hoffman MD, Gelman A (2014) The No-U-Turn sampler: adaptively setting path lengths
    in Hamiltonian Monte Carlo. J Mach Learn Res 15:1593-1623.
    Betancourt M, Girolami M (2015) Hamiltonian Monte Carlo for hierarchical models.
    In: Current Trends in Bayesian Methodology with Applications, CRC Press, pp 79-101.
    Papaspiliopoulos O, Roberts GO, Sköld M (2007) A general framework for the
    parametrization of hierarchical models. Stat Sci 22:59-73.
    Vehtari A, Gelman A, Simpson D, Carpenter B, Bürkner PC (2021) Rank-normalization,
    folding, and localization: an improved R-hat for assessing convergence of MCMC.
    Bayesian Anal 16:667-718.
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._checks import runtime_checks
from .._constraints import AbstractTransform
from ..behavior import AbstractChoiceModel, Trials
from ._centring import _centring
from ._parameters import Free, Parameterization, parameterize
from ._posterior_result import Posterior, _require
from ._priors import AbstractPrior, prior_log_prob


class Prior(eqx.Module):
    """A prior on one leaf of the model, chosen by an accessor.

    Attributes:
        where: accessor of the leaf, e.g. ``lambda m: m.a``.
        distribution: its prior (:class:`Normal`, :class:`HalfNormal`, :class:`LogNormal`,
            :class:`Gamma`, :class:`Uniform`, :class:`Beta`), applied elementwise.
        transform: bijection from the real line onto the support; default the prior's own
            (:meth:`AbstractPrior.transform`). It must map onto the prior's support.
        name: the parameter's name in the output; default the leaf's path.
    """

    where: Callable = eqx.field(static=True)
    distribution: AbstractPrior
    transform: AbstractTransform | None = None
    name: str | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not isinstance(self.distribution, AbstractPrior):
            raise TypeError(
                "Prior `distribution` must be a prior of ms.fit (e.g. ms.fit.HalfNormal(1.0)), "
                f"got {type(self.distribution).__name__}"
            )


def _parameterize(model, priors: Sequence[Prior]) -> tuple[Array, Parameterization]:
    priors = tuple(priors)
    if not priors:
        raise ValueError("`priors` is empty: give a Prior(where, distribution) per free leaf")
    for p in priors:
        if not isinstance(p, Prior):
            raise TypeError(f"`priors` must hold ms.fit.Prior objects, got {type(p).__name__}")
    free = [
        Free(
            p.where,
            p.transform if p.transform is not None else p.distribution.transform(),
            p.name,
        )
        for p in priors
    ]
    return parameterize(model, free)


def log_posterior_fn(
    model: AbstractChoiceModel, trials: Trials, priors: Sequence[Prior]
) -> tuple[Callable[[Array], Array], Array, Parameterization]:
    r"""The log posterior density over the unconstrained vector $u$, and $u$ of ``model``.

    Returns ``(logdensity, u0, parameterization)``. Values where the model's density is
    not finite (e.g. a non-decision-time spread larger than twice its mean) count as
    $-\infty$, so NUTS rejects them instead of propagating NaN.
    """
    if not isinstance(model, AbstractChoiceModel):
        raise TypeError(
            "`model` must be an AbstractChoiceModel (e.g. ms.behavior.DDM, LBA), got "
            f"{type(model).__name__}"
        )
    if not isinstance(trials, Trials):
        raise TypeError(f"`trials` must be ms.behavior.Trials, got {type(trials).__name__}")
    u0, rebuild = _parameterize(model, priors)
    density = log_density_of_data(rebuild, priors)
    return (lambda u: density(u, trials)), u0, rebuild


def log_density_of_data(
    rebuild: Parameterization, priors: Sequence[Prior]
) -> Callable[[Array, Trials], Array]:
    """``f(u, trials)``: the log posterior over $u$ with the data as an argument, so that it
    can be ``vmap``-ed over data sets (simulation-based calibration)."""
    dists = tuple(p.distribution for p in priors)
    wheres = tuple(p.where for p in priors)

    def logdensity(u, trials):
        m = rebuild(u)
        lp = rebuild.log_det_jacobian(u)
        for d, w in zip(dists, wheres, strict=True):
            lp = lp + prior_log_prob(d, w(m))
        total = lp + jnp.sum(m.log_density(trials))
        return jnp.where(jnp.isfinite(total), total, -jnp.inf)

    return logdensity


class _Draws(eqx.Module):
    position: Array  # (chains, draws, p)
    diverging: Array
    logdensity: Array
    acceptance: Array
    steps: Array
    step_size: Array  # (chains,)


def nuts_chains(
    logdensity: Callable[[Array], Array],
    u0: Array,
    key: PRNGKeyArray,
    *,
    chains: int,
    warmup: int,
    draws: int,
    target_accept: float,
    jitter: float,
    dense_mass: bool = False,
    sequential: bool = False,
) -> _Draws:
    """Pure NUTS: ``chains`` chains from ``u0`` + uniform(-jitter, jitter), vmapped.

    ``vmap``-able over data sets (simulation-based calibration runs it that way).
    ``dense_mass`` adapts a dense inverse mass matrix (the warm-up draws' covariance)
    instead of its diagonal. ``sequential`` runs the chains one after another
    (``lax.map``) instead of under ``vmap``, where every NUTS step costs the longest
    trajectory among the chains.
    """
    blackjax = _require("blackjax")
    k_init, k_run = jr.split(key)
    starts = u0[None] + jr.uniform(k_init, (chains,) + u0.shape, u0.dtype, -jitter, jitter)

    def one_chain(k, start):
        k1, k2 = jr.split(k)
        adapt = blackjax.window_adaptation(
            blackjax.nuts,
            logdensity,
            is_mass_matrix_diagonal=not dense_mass,
            target_acceptance_rate=target_accept,
            adaptation_info_fn=lambda *a: None,
        )
        (state, params), _ = adapt.run(k1, start, num_steps=warmup)
        step = blackjax.nuts(logdensity, **params).step

        def body(s, kk):
            s, info = step(kk, s)
            return s, (
                s.position,
                info.is_divergent,
                s.logdensity,
                info.acceptance_rate,
                info.num_integration_steps,
            )

        _, out = jax.lax.scan(body, state, jr.split(k2, draws))
        return _Draws(*out, step_size=params["step_size"])

    # BlackJAX relies on NumPy's implicit promotions (bool with int, rank broadcasting);
    # a user who sets JAX's strict modes (as our test suite does) must still be able to
    # sample, so they are relaxed while the sampler is traced.
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        keys = jr.split(k_run, chains)
        if sequential:
            return jax.lax.map(lambda args: one_chain(*args), (keys, starts))
        return jax.vmap(one_chain)(keys, starts)


def _check_counts(**counts) -> None:
    for name, n in counts.items():
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"`{name}` must be an int >= 1, got {n!r}")


def sample_posterior(
    model: AbstractChoiceModel,
    trials: Trials,
    priors: Sequence[Prior],
    *,
    key: PRNGKeyArray,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    target_accept: float = 0.8,
    jitter: float = 0.5,
    predictive: int | None = 100,
    dense_mass: bool = False,
    chain_method: str = "vectorized",
    centred: bool = False,
) -> Posterior:
    r"""Sample the posterior of ``model``'s free leaves given ``trials`` with NUTS.

    Args:
        model: the model at a starting point (e.g. a maximum-likelihood fit); leaves that
            no prior names stay fixed.
        trials: the data.
        priors: one :class:`Prior` per free leaf.
        key: PRNG key (required: the same key gives the same draws).
        chains: independent chains, run together under ``vmap`` (4).
        warmup: adaptation steps per chain (500), discarded.
        draws: retained draws per chain (500).
        target_accept: the step-size adaptation's target acceptance (0.8; raise toward
            0.95 if there are divergences).
        jitter: chains start at the model's values plus uniform(-jitter, jitter) on the real
            line (0.5), so that $\hat R$ can detect chains stuck in different modes.
        predictive: posterior-predictive data sets drawn from this many evenly spaced draws
            per chain with ``model.simulate`` (100), or ``None`` for none.
        dense_mass: adapt a dense mass matrix (Stan's ``dense_e``) in the warm-up instead
            of a diagonal one (False): fewer leapfrog steps per draw when the parameters
            are correlated (the DDM's a with t0, v with z), at $O(p^2)$ per step, cheap for
            a few parameters.
        chain_method: ``"vectorized"`` (the chains under ``vmap``, in lockstep: each NUTS
            step costs the longest of the chains' trajectories) or ``"sequential"`` (one
            after another: each chain pays only for its own trajectories).
        centred: for a :class:`~multiscale.behavior.Regression` with random intercepts
            (``(1|subject)``), sample the subjects' intercepts
            $\theta_s = \beta + \sigma\tilde\eta_s$ instead of the standardised offsets
            $\tilde\eta_s$ (the centred parameterisation; False: non-centred). The
            posterior is the same; the draws are reported as offsets either way. With
            many trials per subject the likelihood pins each $\theta_s$, and the
            non-centred offsets then move with $\beta$ and $\sigma$ in a narrow ridge
            that NUTS crosses with small steps; centring removes it (Papaspiliopoulos et
            al. 2007, Stat Sci; Betancourt & Girolami 2015). With few trials per subject
            the centred funnel is the worse geometry (divergences): keep False there.

    Returns:
        A :class:`Posterior`; check ``converged`` (R-hat, ESS, divergences) before use.
    """
    az = _require("arviz")
    _check_counts(chains=chains, warmup=warmup, draws=draws)
    if not 0 < target_accept < 1:
        raise ValueError(f"`target_accept` must lie in (0, 1), got {target_accept}")
    if chain_method not in ("vectorized", "sequential"):
        raise ValueError(
            f"`chain_method` must be 'vectorized' or 'sequential', got {chain_method!r}"
        )
    with runtime_checks(False):
        logdensity, u0, rebuild = log_posterior_fn(model, trials, priors)
        centring = _centring(rebuild) if centred else None
        if centred and centring is None:
            raise ValueError(
                "`centred=True` needs a Regression (ms.data.regression) with a random "
                "intercept '(1|group)' whose intercept, SD and offsets all have priors"
            )
        if not np.isfinite(float(logdensity(u0))):
            raise ValueError(
                "the log posterior is not finite at the model's values: start from values "
                "inside every prior's support where the data have positive likelihood (e.g. "
                "t0 below the fastest RT)"
            )
        k_nuts, k_pred = jr.split(key)
        settings = (
            chains,
            warmup,
            draws,
            target_accept,
            jitter,
            bool(dense_mass),
            chain_method == "sequential",
        )
        out = _sample(rebuild, tuple(priors), trials, u0, k_nuts, settings, centring)
        u = np.asarray(out.position)
        x = np.asarray(jax.vmap(jax.vmap(lambda v: _values(rebuild, v)))(out.position))
        loglik = np.asarray(
            jax.jit(jax.vmap(jax.vmap(lambda v: rebuild(v).log_density(trials))))(out.position)
        )
    posterior = {n: x[..., i] for i, n in enumerate(rebuild.names)}
    groups = dict(
        posterior=posterior,
        log_likelihood={"y": loglik},
        sample_stats={
            "diverging": np.asarray(out.diverging),
            "lp": np.asarray(out.logdensity),
            "acceptance_rate": np.asarray(out.acceptance),
            "n_steps": np.asarray(out.steps),
        },
        observed_data={"rt": np.asarray(trials.rt), "choice": np.asarray(trials.choice)},
        constant_data={"condition": np.asarray(trials.condition)},
    )
    dims = {"y": ["trial"], "rt": ["trial"], "choice": ["trial"], "condition": ["trial"]}
    if predictive:
        idx = np.linspace(0, draws - 1, min(predictive, draws)).astype(int)
        sim = _predictive(rebuild, out.position[:, idx], trials.condition, k_pred)
        groups["posterior_predictive"] = {"rt": sim[0], "choice": sim[1]}
    idata = az.from_dict(**groups, dims=dims)
    return Posterior(idata=idata, parameterization=rebuild, unconstrained=u)


@eqx.filter_jit
def _sample(rebuild, priors, trials, u0, key, settings, centring=None):
    """NUTS on the posterior of ``trials``, compiled once per model structure, priors and
    settings (the data are an argument, so a second call with new data reuses it).
    With a centring (``_centring.py``) the sampler moves in its coordinates; the positions are
    returned as $u$."""
    chains, warmup, draws, target_accept, jitter, dense_mass, sequential = settings
    density = log_density_of_data(rebuild, priors)
    if centring is None:

        def target(w):
            return density(w, trials)

    else:
        u0 = centring.from_unconstrained(u0)

        def target(w):
            return density(centring.to_unconstrained(w), trials) + centring.log_det_jacobian(w)

    out = nuts_chains(
        target,
        u0,
        key,
        chains=chains,
        warmup=warmup,
        draws=draws,
        target_accept=target_accept,
        jitter=jitter,
        dense_mass=dense_mass,
        sequential=sequential,
    )
    if centring is None:
        return out
    u = jax.vmap(jax.vmap(centring.to_unconstrained))(out.position)
    return eqx.tree_at(lambda o: o.position, out, u)


def _values(rebuild: Parameterization, u: Array) -> Array:
    """The free scalars' values $T(u)$, flat, in the order of ``rebuild.names``."""
    parts = rebuild._split(u)
    return jnp.concatenate(
        [t.forward(p).reshape(-1) for t, p in zip(rebuild.transforms, parts, strict=True)]
    )


def _predictive(rebuild, positions, condition, key):
    """Simulated (rt, choice) of shape (chains, draws, trials) at the given positions."""
    chains, n = positions.shape[:2]
    keys = jr.split(key, chains * n).reshape(chains, n)

    def one(u, k):
        t = rebuild(u).simulate(condition, key=k)
        return t.rt, t.choice

    with runtime_checks(False):
        rt, choice = jax.jit(jax.vmap(jax.vmap(one)))(positions, keys)
    return np.asarray(rt), np.asarray(choice)


def regression_priors(
    model,
    *,
    scale: float = 1.0,
    sd: AbstractPrior | None = None,
) -> list[Prior]:
    r"""Weakly informative priors for every coefficient of a regression model.

    Intercepts: $\mathcal N(\beta_0, \mathrm{scale}^2)$ centred on the model's starting
    intercept (the base model's value on the link scale); other coefficients:
    $\mathcal N(0, \mathrm{scale}^2)$ (on the link scale: with the log link of a
    boundary, 1 is a factor $e$); standardised random-intercept offsets
    $\mathcal N(0, 1)$ (the non-centred hierarchy); their SDs ``sd`` (default
    ``HalfNormal(0.5)``). Named as the formula named them.
    """
    from ..behavior import Regression
    from ._priors import HalfNormal, Normal

    if not isinstance(model, Regression):
        raise TypeError(
            f"`model` must be an ms.behavior.Regression (see ms.data.regression), got "
            f"{type(model).__name__}"
        )
    sd = HalfNormal(0.5) if sd is None else sd
    out = []
    for k, v in model.coefficients.items():
        loc = float(v) if k.endswith(":Intercept") else 0.0
        out.append(Prior(lambda m, k=k: m.coefficients[k], Normal(loc, scale), name=k))
    for k in model.offsets:
        out.append(Prior(lambda m, k=k: m.offsets[k], Normal(0.0, 1.0), name=k))
    for k in model.sds:
        out.append(Prior(lambda m, k=k: m.sds[k], sd, name=k))
    return out
