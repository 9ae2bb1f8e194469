r"""The drift-diffusion model: Ratcliff's full model and Palmer's proportional-rate form.

A decision variable starts at $z = w a$ between absorbing boundaries $0$ and $a$ and
evolves as $dX = v\,dt + dW$ (unit noise, the HDDM / HSSM convention). The reaction time
is the first-passage (decision) time plus a non-decision time $t_0$; reaching $a$ is
choice 1 ("upper"), reaching 0 choice 0. Ratcliff's across-trial variabilities are drift
$v \sim \mathcal N(v, s_v^2)$, start $w \sim U[w - s_z/2, w + s_z/2]$ and non-decision
time $\tau \sim U[t_0 - s_{t}/2, t_0 + s_{t}/2]$; a contaminant process (uniform RT on
$[0, \mathrm{rt\_max}]$, either choice with probability 1/2) with weight
$p_\mathrm{outlier}$ is mixed in by default, as in HDDM and PyDDM, so that a few fast
guesses cannot force an absurd $t_0$ nor give a trial a log-likelihood of $-\infty$.

Palmer, Huk & Shadlen's (2005) proportional-rate diffusion has drift $v = k C$ for
stimulus strength $C$ and bounds $\pm A$ around the start ($a = 2A$, $w = 1/2$):

$$P_\mathrm{correct} = \frac{1}{1 + e^{-2 k C A}}, \qquad
\overline{RT} = \frac{A}{k C} \tanh(k C A) + t_R.$$

Both models implement :class:`~multiscale.behavior.AbstractChoiceModel`: ``log_density``
is :func:`ddm_log_density` and ``simulate`` draws trials by exact inversion of the
first-passage CDF (:mod:`._ddm_simulate`).

Fields given as Python numbers are constants: the fitting loop trains array leaves only
(``eqx.is_inexact_array``), and ``sv``, ``sz``, ``st0`` or ``p_outlier`` equal to the
Python number 0 skip their integral or mixture (exact). Pass arrays to fit them. Every
function that uses a model checks its values where it uses them, also under ``jit``.
"""

import abc
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import Constraints, checked, error_if
from .._constraints import Bounded, Positive, Real as RealLine, constraint
from ._choice_rt import Trials
from ._ddm_simulate import sample_first_passage
from ._ddm_variability import is_zero, log_rt_density
from ._model import AbstractChoiceModel

_FLOAT = Float[ArrayLike, "..."]
_OPTIONAL = ("sv", "sz", "st0", "p_outlier")


def _as_float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)


def _param(transform, default=None, *, convert: bool = True):
    kwargs = {"metadata": constraint(transform)}
    if convert:
        kwargs["converter"] = _as_float
    if default is not None:
        kwargs["default"] = default
    return eqx.field(**kwargs)


def _check(owner: str, obj) -> None:
    """Construction-time checks of concrete values (tracers are skipped)."""
    rules = {
        **{name: (np.isfinite, "it must be finite") for name in obj.drift_parameters},
        "a": (lambda x: x > 0, "it is the boundary separation, > 0"),
        "t0": (lambda x: x >= 0, "it is in seconds (0.3, not 300)"),
        "z": (lambda x: (x > 0) & (x < 1), "it is the relative start point in (0, 1)"),
        "sv": (lambda x: x >= 0, "it is a standard deviation, >= 0"),
        "sz": (lambda x: (x >= 0) & (x < 1), "it is relative to a, in [0, 1)"),
        "st0": (lambda x: x >= 0, "it is a width in seconds, >= 0"),
        "p_outlier": (lambda x: (x >= 0) & (x < 1), "it is a probability in [0, 1)"),
        "rt_max": (lambda x: x > 0, "it is in seconds, > 0"),
    }
    values = {}
    for name, (ok, hint) in rules.items():
        try:
            value = np.asarray(getattr(obj, name), dtype=float)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            continue
        if not np.all(np.isfinite(value)) or not np.all(ok(value)):
            raise ValueError(f"{owner} `{name}` = {value} is out of range; {hint}")
        values[name] = value
    if {"z", "sz"} <= values.keys():
        if np.any(values["sz"] >= 2 * np.minimum(values["z"], 1 - values["z"])):
            raise ValueError(
                f"{owner} `sz` = {values['sz']} must be < 2 min(z, 1 - z) = "
                f"{2 * np.minimum(values['z'], 1 - values['z'])}, so that every start point "
                "lies inside (0, a); lower `sz` or move `z` towards 0.5"
            )
    if {"t0", "st0"} <= values.keys() and np.any(values["st0"] > 2 * values["t0"]):
        raise ValueError(
            f"{owner} `st0` = {values['st0']} must be <= 2 t0 = {2 * values['t0']}: the "
            "non-decision time t0 - st0/2 cannot be negative (both in seconds)"
        )


class AbstractDDM(AbstractChoiceModel):
    """A drift-diffusion model: how the drift depends on the condition, plus shared fields.

    Concrete models define :meth:`drift`, name the fields it uses in ``drift_parameters``
    and carry the fields ``a, z, t0, sv, sz, st0, p_outlier, rt_max`` documented on
    :class:`DDM`. ``log_density`` and ``simulate`` implement
    :class:`~multiscale.behavior.AbstractChoiceModel` for every DDM.
    """

    drift_parameters: eqx.AbstractClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """Mean drift rate (1/s) for each condition value."""

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        """Per-trial $\\log p(c, t \\mid x)$ (RT density in 1/s); see :func:`ddm_log_density`."""
        return ddm_log_density(self, trials.rt, trials.choice, trials.condition)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """One trial per condition value, drawn exactly; see :func:`ddm_simulate`."""
        return ddm_simulate(self, condition, key=key)


class DDM(AbstractDDM):
    r"""Ratcliff's drift-diffusion model with a contaminant mixture (see the module docstring).

    Attributes:
        v: mean drift rate, 1/s (noise 1/sqrt(s)); choice 1 is favoured when v > 0.
        a: boundary separation, sqrt(s) units of the noise (> 0).
        z: relative start point $w \in (0, 1)$ (0.5: unbiased).
        t0: mean non-decision time, s (>= 0).
        sv: across-trial SD of the drift, 1/s (>= 0; analytic).
        sz: width of the uniform start-point distribution, relative to a
            (in [0, 2 min(z, 1 - z))).
        st0: width of the uniform non-decision-time distribution, s (in [0, 2 t0]).
        p_outlier: weight of the contaminant (uniform RT on [0, rt_max] s) (0.02).
        rt_max: upper end of the contaminant's RT range, s (2.0).

    Example:
        >>> import multiscale as ms
        >>> m = ms.behavior.DDM(v=1.0, a=1.5, t0=0.3)
        >>> t = ms.behavior.Trials(rt=[0.6, 0.9], choice=[1, 0])
        >>> float(ms.behavior.ddm_log_likelihood(m, t)) < 0
        True

    References:
        Ratcliff R, Tuerlinckx F (2002) Psychon Bull Rev 9:438. Navarro DJ, Fuss IG (2009)
        J Math Psychol 53:222.
    """

    v: _FLOAT = _param(RealLine(), 1.0)
    a: _FLOAT = _param(Positive(), 1.0)
    z: _FLOAT = _param(Bounded(0.0, 1.0), 0.5)
    t0: _FLOAT = _param(Positive(), 0.3)
    sv: _FLOAT | float = _param(Positive(), 0.0, convert=False)
    sz: _FLOAT | float = _param(Bounded(0.0, 1.0), 0.0, convert=False)
    st0: _FLOAT | float = _param(Positive(), 0.0, convert=False)
    p_outlier: _FLOAT | float = _param(Bounded(0.0, 1.0), 0.02, convert=False)
    rt_max: _FLOAT | float = _param(Positive(), 2.0, convert=False)

    drift_parameters = ("v",)

    def __check_init__(self):
        _check("DDM", self)

    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """The constant drift ``v``, broadcast to the shape of ``condition``."""
        condition = jnp.asarray(condition)
        return jnp.broadcast_to(self.v, condition.shape).astype(condition.dtype)


class ProportionalRateDDM(AbstractDDM):
    r"""Palmer, Huk & Shadlen (2005) proportional-rate diffusion: drift $v = k C$.

    The condition value $C$ of each trial (e.g. motion coherence as a fraction, 0.512 for
    51.2 %) scales the drift. Palmer's bound $A$ is ``a / 2`` and his $t_R$ is ``t0``.

    Attributes:
        k: drift per unit condition, 1/s (drift = k C).
        a, z, t0, sv, sz, st0, p_outlier, rt_max: as in :class:`DDM`.

    Example:
        >>> import multiscale as ms
        >>> m = ms.behavior.ProportionalRateDDM(k=13.14, a=2 * 0.715, t0=0.323, p_outlier=0.0)
        >>> round(float(ms.behavior.ddm_choice_probability(m, 0.064)), 3)
        0.769

    References:
        Palmer J, Huk AC, Shadlen MN (2005) The effect of stimulus strength on the speed and
        accuracy of a perceptual decision. J Vis 5:376-404 (eqs. 4-7).
    """

    k: _FLOAT = _param(RealLine(), 10.0)
    a: _FLOAT = _param(Positive(), 1.4)
    z: _FLOAT = _param(Bounded(0.0, 1.0), 0.5)
    t0: _FLOAT = _param(Positive(), 0.3)
    sv: _FLOAT | float = _param(Positive(), 0.0, convert=False)
    sz: _FLOAT | float = _param(Bounded(0.0, 1.0), 0.0, convert=False)
    st0: _FLOAT | float = _param(Positive(), 0.0, convert=False)
    p_outlier: _FLOAT | float = _param(Bounded(0.0, 1.0), 0.02, convert=False)
    rt_max: _FLOAT | float = _param(Positive(), 2.0, convert=False)

    drift_parameters = ("k",)

    def __check_init__(self):
        _check("ProportionalRateDDM", self)

    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """$v = k C$ (1/s)."""
        return self.k * jnp.asarray(condition)


class DDMParameters(NamedTuple):
    """A DDM's values, checked where used (``eqx.error_if``); zero constants stay Python 0."""

    v: Array
    a: Array
    z: Array
    t0: Array
    sv: Array | float
    sz: Array | float
    st0: Array | float
    p_outlier: Array | float
    rt_max: Array


def ddm_parameters(model: AbstractDDM, condition: ArrayLike, dtype) -> DDMParameters:
    """The per-trial drift and the model's fields as ``dtype`` arrays, with value checks.

    A bad value (e.g. ``a`` set to -1 with ``eqx.tree_at`` after construction, or a NaN
    drift) raises at run time, also under ``jit``, naming the field.
    """
    if not isinstance(model, AbstractDDM):
        raise TypeError(
            f"`model` must be a DDM (ms.behavior.DDM or ProportionalRateDDM), got "
            f"{type(model).__name__}"
        )
    owner = type(model).__name__
    zero = {name: is_zero(getattr(model, name)) for name in _OPTIONAL}
    cons = Constraints(
        positive=("a", "rt_max"),
        nonnegative=("t0", *(n for n in _OPTIONAL if not zero[n])),
        finite=model.drift_parameters,
    )
    m = checked(owner, model, cons)
    v = m.drift(jnp.asarray(condition, dtype))
    v = error_if(
        v,
        ~jnp.isfinite(v),
        f"{owner} drift is not finite: check `{'`/`'.join(model.drift_parameters)}` and "
        "the trials' `condition`",
    )
    f = {
        n: (0.0 if zero.get(n) else jnp.asarray(getattr(m, n), dtype))
        for n in DDMParameters._fields[1:]
    }
    z = f["z"]
    f["z"] = error_if(z, ~((z > 0) & (z < 1)), f"{owner} `z` must lie in (0, 1)")
    if not zero["sz"]:
        half = jnp.minimum(f["z"], 1.0 - f["z"])
        f["sz"] = error_if(
            f["sz"], f["sz"] >= 2.0 * half, f"{owner} `sz` must be < 2 min(z, 1 - z)"
        )
    if not zero["st0"]:
        f["st0"] = error_if(
            f["st0"], f["st0"] > 2.0 * f["t0"], f"{owner} `st0` must be <= 2 t0 (seconds)"
        )
    if not zero["p_outlier"]:
        f["p_outlier"] = error_if(
            f["p_outlier"], f["p_outlier"] >= 1.0, f"{owner} `p_outlier` must be < 1"
        )
    return DDMParameters(v=v, **f)


def _trial_arrays(rt, choice, condition):
    rt = jnp.asarray(rt)
    if not jnp.issubdtype(rt.dtype, jnp.floating):
        rt = rt.astype(float)
    choice, condition = jnp.asarray(choice), jnp.asarray(condition)
    if rt.ndim != 1 or choice.shape != rt.shape or condition.shape != rt.shape:
        raise ValueError(
            "`rt`, `choice` and `condition` must be 1-D with one shape (trials,), got "
            f"{rt.shape}, {choice.shape} and {condition.shape}"
        )
    rt = error_if(rt, ~(jnp.isfinite(rt) & (rt > 0)), "`rt` must be finite and > 0 s")
    choice = error_if(
        choice, ~((choice == 0) | (choice == 1)), "`choice` must be 0 (lower) or 1 (upper)"
    )
    return rt, choice, condition


def ddm_log_density(
    model: AbstractDDM,
    rt: Float[ArrayLike, " trials"],
    choice: Real[ArrayLike, " trials"],
    condition: Float[ArrayLike, " trials"],
    *,
    n_sz: int = 12,
) -> Float[Array, " trials"]:
    r"""Log joint density of each trial's (choice, RT), in 1/s (RT density in seconds).

    $$p(c, t) = (1 - p_o) \iint f_c(t - \tau \mid v, s_v, a, w')\,
      dU(w')\, dU(\tau) + p_o \frac{1}{2\,\mathrm{rt\_max}} \mathbb 1[t \le \mathrm{rt\_max}]$$

    The drift average is analytic; the $\tau$ average is the exact increment of the
    first-passage CDF over the non-decision-time window (no quadrature); the start-point
    average uses ``n_sz`` Gauss–Legendre nodes placed where the integrand has its mass
    (see :mod:`._ddm_variability`). Agreement with an independent float64 quadrature is
    tested to $10^{-6}$ relative over a grid of parameters.

    Args:
        model: a :class:`DDM` or :class:`ProportionalRateDDM`.
        rt: reaction times, s (finite, > 0).
        choice: 1 upper boundary, 0 lower.
        condition: condition value of each trial (used by the drift).
        n_sz: nodes of the start-point average.

    Returns:
        $\log p(c, t)$ per trial.
    """
    rt, choice, condition = _trial_arrays(rt, choice, condition)
    p = ddm_parameters(model, condition, rt.dtype)
    log_f = log_rt_density(rt - p.t0, choice == 1, p.v, p.a, p.z, p.sv, p.sz, p.st0, n_sz=n_sz)
    if is_zero(p.p_outlier):
        return log_f
    log_c = jnp.where(rt <= p.rt_max, jnp.log(0.5 / p.rt_max), -jnp.inf)
    # (1 - p) f + p c around their larger log, so that p = 0 (as an array) keeps a finite
    # gradient, which log(p) would not.
    top = jax.lax.stop_gradient(jnp.maximum(log_f, log_c))
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    mix = (1.0 - p.p_outlier) * jnp.exp(log_f - top) + p.p_outlier * jnp.exp(log_c - top)
    return top + jnp.log(mix)


def ddm_log_likelihood(model: AbstractDDM, trials: Trials, *, n_sz: int = 12) -> Float[Array, ""]:
    r"""$\sum_i \log p(c_i, t_i)$ over the trials (RT density in 1/s); see :func:`ddm_log_density`.

    Pure and differentiable in the model's array fields; batch subjects with
    ``eqx.filter_vmap`` over models and trials.
    """
    if not isinstance(trials, Trials):
        raise TypeError(
            f"`trials` must be ms.behavior.Trials (see ms.data.load_trials), got "
            f"{type(trials).__name__}"
        )
    return jnp.sum(ddm_log_density(model, trials.rt, trials.choice, trials.condition, n_sz=n_sz))


def ddm_simulate(
    model: AbstractDDM, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray
) -> Trials:
    r"""Draw one trial per entry of ``condition`` from the model, exactly.

    Per trial: a drift $v \sim \mathcal N(\mathrm{drift}(C), s_v^2)$, a start
    $w \sim U[z - s_z/2, z + s_z/2]$, a boundary with its first-passage probability and a
    decision time by inverting the first-passage CDF (bisection to float precision, see
    :func:`~multiscale.behavior._ddm_simulate.sample_first_passage`), and a non-decision
    time $\tau \sim U[t_0 - s_t/2, t_0 + s_t/2]$. With probability $p_\mathrm{outlier}$
    the trial is replaced by a contaminant (RT uniform on $(0, \mathrm{rt\_max}]$, either
    choice with probability 1/2). Every trial ends with a response: the decision time is
    searched up to $50 a^2$ s, where the first-passage survival is below $10^{-100}$.
    Pure and ``jit``-able; the same key gives the same trials.

    Args:
        model: a DDM.
        condition: condition value of each trial, shape ``(trials,)``.
        key: PRNG key.

    Returns:
        :class:`Trials` with ``rt`` (s), ``choice`` and ``condition``.

    Example:
        >>> import jax.numpy as jnp, jax.random as jr
        >>> import multiscale as ms
        >>> m = ms.behavior.DDM(v=1.0, a=1.5, t0=0.3)
        >>> ms.behavior.ddm_simulate(m, jnp.zeros(4), key=jr.key(0)).n_trials
        4
    """
    condition = jnp.asarray(condition)
    if not jnp.issubdtype(condition.dtype, jnp.floating):
        condition = condition.astype(float)
    if condition.ndim != 1:
        raise ValueError(f"`condition` must be 1-D (trials,), got shape {condition.shape}")
    dtype, shape = condition.dtype, condition.shape
    p = ddm_parameters(model, condition, dtype)
    k_v, k_w, k_fp, k_tau, k_out, k_rt, k_c = jr.split(key, 7)
    v = p.v if is_zero(p.sv) else p.v + p.sv * jr.normal(k_v, shape, dtype)
    w = jnp.broadcast_to(p.z, shape)
    if not is_zero(p.sz):
        w = w + p.sz * (jr.uniform(k_w, shape, dtype) - 0.5)
    t, upper = sample_first_passage(k_fp, v, p.a, w)
    tau = jnp.broadcast_to(p.t0, shape)
    if not is_zero(p.st0):
        tau = tau + p.st0 * (jr.uniform(k_tau, shape, dtype) - 0.5)
    rt, choice = tau + t, upper.astype(jnp.int32)
    if not is_zero(p.p_outlier):
        out = jr.uniform(k_out, shape, dtype) < p.p_outlier
        rt = jnp.where(out, p.rt_max * (1.0 - jr.uniform(k_rt, shape, dtype)), rt)
        choice = jnp.where(out, jr.bernoulli(k_c, 0.5, shape).astype(jnp.int32), choice)
    return Trials(rt=rt, choice=choice, condition=condition)
