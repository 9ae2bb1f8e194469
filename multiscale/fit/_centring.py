"""The centred parameterisation of a regression's random intercepts for NUTS.

References:
    Papaspiliopoulos O, Roberts GO, Sköld M (2007) A general framework for the
    parametrization of hierarchical models. Stat Sci 22:59-73.
    Betancourt M, Girolami M (2015) Hamiltonian Monte Carlo for hierarchical models.
    In: Current Trends in Bayesian Methodology with Applications, CRC Press, pp 79-101.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._constraints import AbstractTransform
from ._parameters import Parameterization


class _Centring(eqx.Module):
    r"""The centred parameterisation of a regression's random intercepts, as a change of
    variables on the sampler's vector.

    For each random intercept whose intercept $\beta$, SD $\sigma$ and standardised
    offsets $\tilde\eta_s$ are all free, the sampler moves the subjects' intercepts
    $\theta_s = \beta + \sigma \tilde\eta_s$ (link scale) in place of $\tilde\eta_s$;
    the log density over them is the non-centred one plus $\log|d\tilde\eta/d\theta| =
    -S \log\sigma$ (S subjects), so the posterior is unchanged, only its geometry.

    Attributes:
        blocks: per random intercept, (intercept index, SD index, offsets start, offsets
            stop) into the unconstrained vector $u$.
        transforms: per block, the intercept's and the SD's bijections.
    """

    blocks: tuple[tuple[int, int, int, int], ...] = eqx.field(static=True)
    transforms: tuple[tuple[AbstractTransform, AbstractTransform], ...]

    def _parts(self, x, k):
        (ib, isd, a, b), (tb, tsd) = self.blocks[k], self.transforms[k]
        return tb.forward(x[ib]), tsd.forward(x[isd]), a, b

    def to_unconstrained(self, w: Array) -> Array:
        r"""Sampler vector (subject intercepts $\theta_s$) -> $u$ (offsets $\tilde\eta_s$)."""
        u = w
        for k in range(len(self.blocks)):
            beta, sd, a, b = self._parts(w, k)
            u = u.at[a:b].set((w[a:b] - beta) / sd)
        return u

    def from_unconstrained(self, u: Array) -> Array:
        r"""$u$ -> the sampler vector (the inverse of :meth:`to_unconstrained`)."""
        w = u
        for k in range(len(self.blocks)):
            beta, sd, a, b = self._parts(u, k)
            w = w.at[a:b].set(beta + sd * u[a:b])
        return w

    def log_det_jacobian(self, w: Array) -> Array:
        r"""$\log|du/dw| = -\sum_\text{blocks} S \log\sigma$."""
        total = jnp.zeros((), w.dtype)
        for k in range(len(self.blocks)):
            _, sd, a, b = self._parts(w, k)
            total = total - (b - a) * jnp.log(jnp.abs(sd))
        return total


def _centring(rebuild: Parameterization) -> _Centring | None:
    """The :class:`_Centring` of a :class:`~multiscale.behavior.Regression`'s random
    intercepts whose intercept, SD and offsets are all free (None if there are none)."""
    from ..behavior import Regression
    from ._parameters import _locate

    model = rebuild.model
    if not isinstance(model, Regression) or not model.offsets:
        return None
    keys = [jax.tree_util.keystr(_locate(model, w)[0]) for w in rebuild.wheres]
    starts = np.cumsum([0] + [int(np.prod(s)) for s in rebuild.shapes])

    def index(where):
        key = jax.tree_util.keystr(_locate(model, where)[0])
        return keys.index(key) if key in keys else None

    blocks, transforms = [], []
    for k in model.offsets:
        field = k.split("|")[0]
        if f"{field}:Intercept" not in model.coefficients:
            continue
        i_b = index(lambda m, f=field: m.coefficients[f"{f}:Intercept"])
        i_sd = index(lambda m, k=k: m.sds[f"{k}:sd"])
        i_off = index(lambda m, k=k: m.offsets[k])
        if None in (i_b, i_sd, i_off):
            continue
        blocks.append((int(starts[i_b]), int(starts[i_sd]), int(starts[i_off]),
                       int(starts[i_off + 1])))  # fmt: skip
        transforms.append((rebuild.transforms[i_b], rebuild.transforms[i_sd]))
    return _Centring(tuple(blocks), tuple(transforms)) if blocks else None
