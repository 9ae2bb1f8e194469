r"""Regression models: any parameter of a choice model as a function of trial covariates.

A :class:`Regression` wraps a choice model (the DDM family, the LBA, ...) and replaces
some of its fields by per-trial values

$$\theta_n = g^{-1}\Bigl(\sum_j X_{nj}\,\beta_j + \sigma\, z_{s(n)}\Bigr),$$

with $X$ a design matrix (one row per trial, built from a formula such as
``a ~ 1 + instruction``), $\beta$ the fixed effects, and optionally a random intercept
per group $s(n)$ (e.g. subject) in the non-centred form $\sigma z_s$, $z_s \sim
\mathcal N(0, 1)$ (Papaspiliopoulos, Roberts & Sköld 2007), which samplers explore far
better than the centred form when groups carry little data. The link $g$ keeps the value
in the field's domain: log for positive fields, a scaled logit for bounded ones, identity
otherwise. The formulas are parsed at the edge (:func:`multiscale.data.regression`);
this Module holds only arrays.

The coefficients are scalar leaves keyed by ``"<field>:<column>"`` (e.g.
``"a:instruction[T.speed]"``), the offsets ``"<field>|<group>"`` arrays over groups, and
the group SDs ``"<field>|<group>:sd"``, so priors (:class:`multiscale.fit.Prior`) and
posterior summaries name them as the formula did.

References:
    Papaspiliopoulos O, Roberts GO, Sköld M (2007) A general framework for the
    parametrization of hierarchical models. Stat Sci 22:59-73.
"""

import abc
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._constraints import Bounded, Positive
from ._choice_rt import Trials
from ._model import AbstractChoiceModel


class AbstractLink(eqx.Module):
    """The inverse link $g^{-1}$: linear predictor $\\eta$ -> parameter value."""

    @abc.abstractmethod
    def __call__(self, eta: Array) -> Array: ...


class Identity(AbstractLink):
    """$\\theta = \\eta$."""

    def __call__(self, eta):
        return eta


class Log(AbstractLink):
    """$\\theta = e^\\eta$ (a coefficient is a log ratio; for positive parameters)."""

    def __call__(self, eta):
        return jnp.exp(eta)


class Logit(AbstractLink):
    """$\\theta = \\mathrm{low} + (\\mathrm{high} - \\mathrm{low})\\,\\sigma(\\eta)$."""

    low: float = 0.0
    high: float = 1.0

    def __call__(self, eta):
        return self.low + (self.high - self.low) * jax.nn.sigmoid(eta)


def default_link(model: eqx.Module, field: str) -> AbstractLink:
    """Log for a field declared positive, scaled logit for a bounded one, else identity."""
    fields = {f.name: f for f in dataclasses.fields(model)}
    if field not in fields:
        raise ValueError(
            f"{type(model).__name__} has no field {field!r}; its fields are {', '.join(fields)}"
        )
    declared = fields[field].metadata.get("constraint")
    if isinstance(declared, Positive) and declared.lower == 0.0:
        return Log()
    if isinstance(declared, Bounded):
        return Logit(declared.low, declared.high)
    return Identity()


class LinearPredictor(eqx.Module):
    """The design of one parameter (built by :func:`multiscale.data.regression`).

    Attributes:
        X: fixed-effects design matrix, shape ``(trials, columns)``.
        columns: the design's column names (static).
        link: the inverse link.
        group: group index of each trial for a random intercept, or ``None``.
        group_name: the grouping column (static), e.g. ``"subject"``.
        n_groups: number of groups (static).
        group_labels: the groups' labels, in index order (static).
    """

    X: Float[Array, "trials columns"]
    columns: tuple[str, ...] = eqx.field(static=True)
    link: AbstractLink
    group: Int[Array, " trials"] | None = None
    group_name: str | None = eqx.field(static=True, default=None)
    n_groups: int = eqx.field(static=True, default=0)
    group_labels: tuple = eqx.field(static=True, default=())


class Regression(AbstractChoiceModel):
    """A choice model whose named fields are per-trial regressions (module docstring).

    Attributes:
        base: the choice model; fields not regressed keep its values.
        predictors: one :class:`LinearPredictor` per regressed field.
        coefficients: fixed effects, ``"<field>:<column>"`` -> scalar.
        offsets: standardised random intercepts, ``"<field>|<group>"`` -> ``(groups,)``.
        sds: their SDs, ``"<field>|<group>:sd"`` -> scalar (> 0).
    """

    base: AbstractChoiceModel
    predictors: dict[str, LinearPredictor]
    coefficients: dict[str, Float[Array, ""]]
    offsets: dict[str, Float[Array, " groups"]]
    sds: dict[str, Float[Array, ""]]

    def __check_init__(self):
        if not isinstance(self.base, AbstractChoiceModel):
            raise TypeError(
                f"Regression `base` must be an AbstractChoiceModel, got {type(self.base).__name__}"
            )

    @property
    def n_trials(self) -> int:
        return next(iter(self.predictors.values())).X.shape[0]

    def linear_predictor(self, field: str) -> Float[Array, " trials"]:
        """$\\eta_n$ of one regressed field."""
        p = self.predictors[field]
        beta = jnp.stack([jnp.asarray(self.coefficients[f"{field}:{c}"]) for c in p.columns])
        eta = jnp.asarray(p.X) @ beta.astype(jnp.asarray(p.X).dtype)
        if p.group is not None:
            key = f"{field}|{p.group_name}"
            sd = jnp.asarray(self.sds[f"{key}:sd"], eta.dtype)
            eta = eta + sd * jnp.asarray(self.offsets[key], eta.dtype)[p.group]
        return eta

    def per_trial(self) -> AbstractChoiceModel:
        """The base model with each regressed field set to its per-trial values."""
        names = tuple(self.predictors)
        values = [self.predictors[n].link(self.linear_predictor(n)) for n in names]
        return eqx.tree_at(lambda m: [getattr(m, n) for n in names], self.base, values)

    def _check_trials(self, n: int) -> None:
        if n != self.n_trials:
            raise ValueError(
                f"this Regression's designs have {self.n_trials} rows, but {n} trials were "
                "given; build the model from the same data (ms.data.regression)"
            )

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        self._check_trials(trials.n_trials)
        return self.per_trial().log_density(trials)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        self._check_trials(jnp.shape(condition)[0])
        return self.per_trial().simulate(condition, key=key)
