r"""Simulation-based calibration and parameter recovery of a Bayesian fit.

Simulation-based calibration (Talts et al. 2018) checks a sampler and a likelihood
together: draw $\tilde\theta$ from the prior, simulate a data set $\tilde y$ from the
model at $\tilde\theta$ (with the model's own ``simulate``), sample the posterior
$p(\theta \mid \tilde y)$, and record the rank of $\tilde\theta$ among $L$ posterior
draws. If the sampler draws from the exact posterior the ranks are uniform on
$\{0, \dots, L\}$ for every parameter; a $\chi^2$ test on binned ranks says whether they
are. The posterior draws are thinned evenly to $L$ (Talts et al. recommend thinning to
about the effective sample size, since autocorrelated draws distort the histogram).
Data sets run in batches under ``vmap`` (one compiled program), with a progress bar.

References:
    Talts S, Betancourt M, Simpson D, Vehtari A, Gelman A (2018) Validating Bayesian
    inference algorithms with simulation-based calibration. arXiv:1804.06788.
"""

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import gammaincc
from jaxtyping import ArrayLike, PRNGKeyArray
from tqdm.auto import tqdm

from .._checks import runtime_checks
from ..behavior import AbstractChoiceModel
from ._posterior import Prior, _parameterize, _values, log_density_of_data, nuts_chains


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Result of :func:`simulation_based_calibration`.

    Attributes:
        names: the free scalars.
        truth: the prior draws, shape ``(data sets, p)``.
        ranks: rank of each truth among ``n_draws`` posterior draws, ``(data sets, p)``.
        posterior_mean: ``(data sets, p)``; ``posterior_sd`` likewise.
        n_draws: $L$, so ranks lie in ``0..L``.
        bins: bins of the rank histogram used by the $\\chi^2$ test.
        divergences: divergent transitions per data set.
    """

    names: tuple[str, ...]
    truth: np.ndarray
    ranks: np.ndarray
    posterior_mean: np.ndarray
    posterior_sd: np.ndarray
    n_draws: int
    bins: int
    divergences: np.ndarray

    def histogram(self) -> np.ndarray:
        """Counts of the ranks in ``bins`` equal bins, shape ``(bins, p)``."""
        edges = np.linspace(0, self.n_draws + 1, self.bins + 1)
        return np.stack(
            [np.histogram(self.ranks[:, j], edges)[0] for j in range(len(self.names))], axis=1
        )

    def chi2(self) -> dict[str, tuple[float, float]]:
        """$\\chi^2$ statistic and p-value of the uniformity test, per parameter."""
        counts = self.histogram()
        expected = self.ranks.shape[0] / self.bins
        stat = ((counts - expected) ** 2 / expected).sum(axis=0)
        df = self.bins - 1
        p = np.asarray(gammaincc(df / 2.0, jnp.asarray(stat) / 2.0))
        return {n: (float(s), float(q)) for n, s, q in zip(self.names, stat, p, strict=True)}

    def coverage(self, level: float = 0.9) -> dict[str, float]:
        """Fraction of data sets whose central ``level`` posterior interval (from the ranks)
        holds the truth; ``level`` on average for a calibrated posterior."""
        lo = (1 - level) / 2 * (self.n_draws + 1)
        hi = (1 + level) / 2 * (self.n_draws + 1)
        inside = (self.ranks >= lo) & (self.ranks < hi)
        return {n: float(inside[:, j].mean()) for j, n in enumerate(self.names)}

    def within_sd(self, k: float = 2.0) -> dict[str, float]:
        """Fraction of data sets whose posterior mean lies within ``k`` posterior SDs of the
        truth, per parameter (about 95 % at ``k = 2`` for a calibrated, near-normal
        posterior): parameter recovery measured in the posterior's own precision."""
        inside = np.abs(self.posterior_mean - self.truth) <= k * self.posterior_sd
        return {n: float(inside[:, j].mean()) for j, n in enumerate(self.names)}

    def recovered(self, tolerance: dict[str, float]) -> dict[str, float]:
        """Fraction of data sets whose posterior mean lies within ``tolerance[name]`` of the
        truth (absolute, in the parameter's units), per named parameter."""
        out = {}
        for n, tol in tolerance.items():
            j = self.names.index(n)
            out[n] = float((np.abs(self.posterior_mean[:, j] - self.truth[:, j]) <= tol).mean())
        return out


def simulation_based_calibration(
    model: AbstractChoiceModel,
    priors: Sequence[Prior],
    condition: ArrayLike,
    *,
    key: PRNGKeyArray,
    n_datasets: int = 200,
    chains: int = 2,
    warmup: int = 300,
    draws: int = 300,
    n_draws: int = 99,
    bins: int = 10,
    batch: int = 20,
    target_accept: float = 0.8,
    jitter: float = 0.5,
    progress: bool = True,
) -> Calibration:
    r"""Simulation-based calibration of NUTS on ``model`` (see the module docstring).

    Args:
        model: the model; its free leaves (named by ``priors``) are drawn from the priors,
            its other leaves stay fixed. Chains start at its values (plus jitter), not at
            the truth.
        priors: one :class:`Prior` per free leaf.
        condition: the condition of each simulated trial, shape ``(trials,)``.
        key: PRNG key.
        n_datasets: simulated data sets (200).
        chains, warmup, draws, target_accept, jitter: as :func:`sample_posterior`.
        n_draws: $L$, posterior draws kept per data set (evenly thinned; 99).
        bins: bins of the rank histogram (10; ``(n_draws + 1) / bins`` ranks per bin).
        batch: data sets per compiled batch (20).
        progress: show a progress bar over batches.
    """
    for name, n in dict(n_datasets=n_datasets, n_draws=n_draws, bins=bins, batch=batch).items():
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"`{name}` must be an int >= 1, got {n!r}")
    if n_draws > chains * draws:
        raise ValueError(
            f"`n_draws` ({n_draws}) exceeds the draws available (chains x draws = "
            f"{chains * draws}); lower it or draw more"
        )
    if (n_draws + 1) % bins:
        raise ValueError(f"`bins` ({bins}) must divide n_draws + 1 ({n_draws + 1})")
    condition = jnp.asarray(condition)
    with runtime_checks(False):
        u0, rebuild = _parameterize(model, priors)
        density = log_density_of_data(rebuild, priors)
        priors = tuple(priors)

        def one(k):
            k_theta, k_data, k_nuts = jr.split(k, 3)
            ks = jr.split(k_theta, len(priors))
            values = [
                p.distribution.sample(kk, s).astype(d)
                for p, kk, s, d in zip(priors, ks, rebuild.shapes, rebuild.dtypes, strict=True)
            ]
            truth_model = eqx.tree_at(
                lambda m: [w(m) for w in rebuild.wheres], rebuild.model, values
            )
            truth = jnp.concatenate([jnp.reshape(v, -1) for v in values])
            trials = truth_model.simulate(condition, key=k_data)
            out = nuts_chains(
                lambda u: density(u, trials),
                u0,
                k_nuts,
                chains=chains,
                warmup=warmup,
                draws=draws,
                target_accept=target_accept,
                jitter=jitter,
            )
            flat = out.position.reshape(-1, u0.shape[0])
            x = jax.vmap(lambda u: _values(rebuild, u))(flat)
            # Thin evenly across the pooled draws to L.
            idx = jnp.linspace(0, x.shape[0] - 1, n_draws).astype(jnp.int32)
            kept = x[idx]
            ranks = jnp.sum(kept < truth[None], axis=0)
            return truth, ranks, x.mean(0), x.std(0), out.diverging.sum()

        run = jax.jit(jax.vmap(one))
        keys = jr.split(key, n_datasets)
        parts = []
        for start in tqdm(
            range(0, n_datasets, batch), disable=not progress, desc="calibration", unit="batch"
        ):
            chunk = keys[start : start + batch]
            if chunk.shape[0] < batch:  # pad so the compiled batch is reused
                pad = jnp.concatenate([chunk, keys[: batch - chunk.shape[0]]])
                res = run(pad)
                res = jax.tree.map(lambda a, n=chunk.shape[0]: a[:n], res)
            else:
                res = run(chunk)
            parts.append(jax.tree.map(np.asarray, res))
    truth, ranks, mean, sd, div = (np.concatenate(a) for a in zip(*parts, strict=True))
    return Calibration(
        names=rebuild.names,
        truth=truth,
        ranks=ranks,
        posterior_mean=mean,
        posterior_sd=sd,
        n_draws=n_draws,
        bins=bins,
        divergences=div,
    )
