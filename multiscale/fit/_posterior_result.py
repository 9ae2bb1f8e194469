"""A posterior's draws with their diagnostics (ArviZ), written to and read from netCDF.

References:
    Vehtari A, Gelman A, Simpson D, Carpenter B, Bürkner PC (2021) Rank-normalization,
    folding, and localization: an improved R-hat for assessing convergence of MCMC.
    Bayesian Anal 16:667-718.
"""

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._io import _atomic_write, _with_values
from ._parameters import Parameterization

# Thresholds of Vehtari et al. (2021): R-hat below 1.01 and at least 100 effective draws
# per chain for the bulk and the tails.
RHAT_MAX = 1.01
ESS_PER_CHAIN = 100


def _require(module: str):
    try:
        with warnings.catch_warnings():
            # ArviZ 0.x announces its 1.0 refactor on import; it says nothing about our use.
            warnings.simplefilter("ignore", FutureWarning)
            return __import__(module)
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f'Bayesian fitting needs `{module}`: pip install "multiscale[bayes]"'
        ) from None


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Posterior draws of a model's free parameters, with diagnostics.

    Attributes:
        idata: ArviZ ``InferenceData`` with groups ``posterior`` (one variable per free
            scalar, dims ``chain, draw``), ``log_likelihood`` (``y``: per draw and trial,
            for ``az.loo`` / ``az.waic`` / ``az.compare``), ``sample_stats`` (``diverging``,
            ``lp``, ``acceptance_rate``, ``n_steps``), ``observed_data`` (``rt``,
            ``choice``), ``constant_data`` (``condition``) and, when drawn,
            ``posterior_predictive`` (``rt``, ``choice``: for ``az.plot_ppc``).
        parameterization: rebuilds the model from an unconstrained vector.
        unconstrained: the draws on the real line, shape ``(chains, draws, p)``.
    """

    idata: Any
    parameterization: Parameterization
    unconstrained: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        """The free scalars, in order."""
        return self.parameterization.names

    @property
    def divergences(self) -> int:
        """Divergent transitions after warm-up (0 for a trustworthy posterior)."""
        return int(self.idata.sample_stats["diverging"].sum())

    def summary(self):
        """``az.summary`` of the posterior (mean, sd, HDI, MCSE, ESS, R-hat) as a DataFrame."""
        return _require("arviz").summary(self.idata, var_names=list(self.names))

    @property
    def r_hat(self) -> dict[str, float]:
        """Rank-normalised split $\\hat R$ per parameter."""
        rhat = _require("arviz").rhat(self.idata.posterior)
        return {n: float(rhat[n]) for n in self.names}

    @property
    def ess(self) -> dict[str, tuple[float, float]]:
        """Bulk and tail effective sample size per parameter."""
        az = _require("arviz")
        bulk = az.ess(self.idata.posterior, method="bulk")
        tail = az.ess(self.idata.posterior, method="tail")
        return {n: (float(bulk[n]), float(tail[n])) for n in self.names}

    @property
    def converged(self) -> bool:
        """True only if $\\hat R < 1.01$, bulk and tail ESS $\\ge 100$ per chain for every
        parameter, and no divergent transition (Vehtari et al. 2021)."""
        chains = self.unconstrained.shape[0]
        ok_rhat = all(r < RHAT_MAX for r in self.r_hat.values())
        ok_ess = all(min(e) >= ESS_PER_CHAIN * chains for e in self.ess.values())
        return ok_rhat and ok_ess and self.divergences == 0

    def model(self, chain: int, draw: int):
        """The model at one posterior draw."""
        return self.parameterization(jnp.asarray(self.unconstrained[chain, draw]))

    def mean_model(self):
        """The model at the posterior mean of each free scalar (in the parameters' units)."""
        post = self.idata.posterior
        return _with_values(self.parameterization, [float(post[n].mean()) for n in self.names])

    def to_netcdf(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the ``InferenceData`` to ``path`` (netCDF); never replaces an existing file
        unless ``overwrite``. Written to a temporary file first, then renamed, so an
        interrupted write leaves no partial file. Read back with :func:`load_posterior`."""
        return _atomic_write(Path(path), overwrite, lambda tmp: self.idata.to_netcdf(str(tmp)))


def load_posterior(path: str | os.PathLike):
    """Read an ``InferenceData`` written by :meth:`Posterior.to_netcdf` (all groups)."""
    az = _require("arviz")
    return az.from_netcdf(str(path))
