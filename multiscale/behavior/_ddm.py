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

Fields given as Python numbers are constants: the fitting loop trains array leaves only
(``eqx.is_inexact_array``), and ``sz = 0`` or ``st0 = 0`` as Python numbers skip their
numerical integral (exact). Pass arrays to fit them.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from .._constraints import Bounded, Positive, Real as RealLine, constraint
from ._choice_rt import Trials
from ._ddm_density import log_density as _series_log_density

_FLOAT = Float[ArrayLike, "..."]


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


def _is_zero_constant(x) -> bool:
    return isinstance(x, int | float) and x == 0


def _check(owner: str, obj) -> None:
    """Construction-time checks of concrete values (tracers are skipped)."""
    rules = {
        "a": lambda x: x > 0,
        "t0": lambda x: x >= 0,
        "z": lambda x: (x > 0) & (x < 1),
        "sv": lambda x: x >= 0,
        "sz": lambda x: (x >= 0) & (x < 1),
        "st0": lambda x: x >= 0,
        "p_outlier": lambda x: (x >= 0) & (x < 1),
        "rt_max": lambda x: x > 0,
    }
    for name, ok in rules.items():
        try:
            value = np.asarray(getattr(obj, name), dtype=float)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            continue
        if not np.all(np.isfinite(value)) or not np.all(ok(value)):
            hint = {
                "z": "it is the relative start point in (0, 1)",
                "t0": "it is in seconds (0.3, not 300)",
                "st0": "it is in seconds",
                "sz": "it is relative to a, in [0, 1)",
            }.get(name, "see the field's docstring for its domain")
            raise ValueError(f"{owner} `{name}` = {value} is out of range; {hint}")


class AbstractDDM(eqx.Module):
    """A drift-diffusion model: how the drift depends on the condition, plus shared fields.

    Concrete models define :meth:`drift` and carry the fields ``a, z, t0, sv, sz, st0,
    p_outlier, rt_max`` documented on :class:`DDM`.
    """

    @abc.abstractmethod
    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """Mean drift rate (1/s) for each condition value."""


class DDM(AbstractDDM):
    r"""Ratcliff's drift-diffusion model with a contaminant mixture (see the module docstring).

    Attributes:
        v: mean drift rate, 1/s (noise 1/sqrt(s)); choice 1 is favoured when v > 0.
        a: boundary separation, sqrt(s) units of the noise (> 0).
        z: relative start point $w \in (0, 1)$ (0.5: unbiased).
        t0: mean non-decision time, s (>= 0).
        sv: across-trial SD of the drift, 1/s (>= 0; analytic).
        sz: width of the uniform start-point distribution, relative to a (in [0, 1)).
        st0: width of the uniform non-decision-time distribution, s (>= 0).
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

    def __check_init__(self):
        _check("ProportionalRateDDM", self)

    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """$v = k C$ (1/s)."""
        return self.k * jnp.asarray(condition)


def _gauss_legendre(n: int, dtype) -> tuple[Array, Array]:
    """Nodes on [-1/2, 1/2] and weights summing to 1."""
    x, w = np.polynomial.legendre.leggauss(n)
    return jnp.asarray(x / 2.0, dtype), jnp.asarray(w / 2.0, dtype)


def ddm_log_density(
    model: AbstractDDM,
    rt: Float[ArrayLike, " trials"],
    choice: Real[ArrayLike, " trials"],
    condition: Float[ArrayLike, " trials"],
    *,
    n_sz: int = 8,
    n_st0: int = 12,
) -> Float[Array, " trials"]:
    r"""Log joint density of each trial's (choice, RT), in 1/s (RT density in seconds).

    $$p(c, t) = (1 - p_o) \iint f_c(t - \tau \mid v, s_v, a, w')\,
      dU(w')\, dU(\tau) + p_o \frac{1}{2\,\mathrm{rt\_max}} \mathbb 1[t \le \mathrm{rt\_max}]$$

    The $s_z$ and $s_t$ integrals use Gauss–Legendre quadrature of ``n_sz`` and ``n_st0``
    nodes (skipped when the field is the Python number 0).

    Args:
        model: a :class:`DDM` or :class:`ProportionalRateDDM`.
        rt: reaction times, s.
        choice: 1 upper boundary, 0 lower.
        condition: condition value of each trial (used by the drift).
        n_sz, n_st0: quadrature orders.

    Returns:
        $\log p(c, t)$ per trial.
    """
    rt = jnp.asarray(rt)
    dtype = rt.dtype
    upper = jnp.asarray(choice) == 1
    v = model.drift(jnp.asarray(condition, dtype))
    a = jnp.asarray(model.a, dtype)
    z = jnp.asarray(model.z, dtype)
    t0 = jnp.asarray(model.t0, dtype)
    sv = jnp.asarray(model.sv, dtype)

    shifts = jnp.zeros((1,), dtype)
    log_wt = jnp.zeros((1,), dtype)
    if not _is_zero_constant(model.st0):
        nodes, weights = _gauss_legendre(n_st0, dtype)
        shifts = nodes * jnp.asarray(model.st0, dtype)
        log_wt = jnp.log(weights)
    starts = jnp.zeros((1,), dtype)
    log_wz = jnp.zeros((1,), dtype)
    if not _is_zero_constant(model.sz):
        nodes, weights = _gauss_legendre(n_sz, dtype)
        starts = nodes * jnp.asarray(model.sz, dtype)
        log_wz = jnp.log(weights)

    # Grid over (trials, st0 nodes, sz nodes); the density is averaged in log space.
    t = (rt - t0)[:, None, None] - shifts[None, :, None]
    w = z + starts[None, None, :]
    log_f = _series_log_density(t, upper[:, None, None], v[:, None, None], a, w, sv)
    log_f = jax.nn.logsumexp(log_f + log_wt[None, :, None] + log_wz[None, None, :], axis=(1, 2))

    if _is_zero_constant(model.p_outlier):
        return log_f
    p = jnp.asarray(model.p_outlier, dtype)
    rt_max = jnp.asarray(model.rt_max, dtype)
    log_c = jnp.where(rt <= rt_max, jnp.log(0.5 / rt_max), -jnp.inf)
    return jnp.logaddexp(jnp.log1p(-p) + log_f, jnp.log(p) + log_c)


def ddm_log_likelihood(
    model: AbstractDDM, trials: Trials, *, n_sz: int = 8, n_st0: int = 12
) -> Float[Array, ""]:
    r"""$\sum_i \log p(c_i, t_i)$ over the trials (RT density in 1/s); see :func:`ddm_log_density`.

    Pure and differentiable in the model's array fields; batch subjects with
    ``eqx.filter_vmap`` over models and trials.
    """
    return jnp.sum(
        ddm_log_density(model, trials.rt, trials.choice, trials.condition, n_sz=n_sz, n_st0=n_st0)
    )
