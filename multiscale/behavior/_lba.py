r"""The linear ballistic accumulator (Brown & Heathcote 2008).

Each choice has an accumulator that starts at $k \sim U[0, A]$ and rises linearly, without
noise within the trial, at a rate $d \sim \mathcal N(v_i, s^2)$ drawn once per trial; the
first to reach the threshold $b > A$ gives the choice, and the RT adds a non-decision time
$t_0$. For one accumulator, with $u_1 = (b - A - t v)/(t s)$ and $u_2 = (b - t v)/(t s)$,
their eqs. 1 and 2 give the finishing-time distribution and density

$$F(t) = 1 + \frac{b - A - t v}{A}\Phi(u_1) - \frac{b - t v}{A}\Phi(u_2)
  + \frac{t s}{A}\,[\phi(u_1) - \phi(u_2)],$$
$$f(t) = \frac1A\,\big[-v\,\Phi(u_1) + s\,\phi(u_1) + v\,\Phi(u_2) - s\,\phi(u_2)\big],$$

and choice $i$ at decision time $t$ has the defective density
$f_i(t)\,[1 - F_j(t)]$ (their eq. 3). Here the survivor $1 - F$ is computed as
$(t s / A)\,[\psi(u_2) - \psi(u_1)]$ with $\psi(u) = u\Phi(u) + \phi(u)$ (the same
expression, rearranged), which stays $\ge 0$.

Drift rates are normal, so with probability $\prod_i \Phi(-v_i / s)$ every rate is
negative and no accumulator ever finishes. Brown & Heathcote note that this mass is
missing from the defective densities; as observed trials always have a response, the
likelihood here conditions on one, dividing by $1 - \prod_i \Phi(-v_i/s)$, and
:meth:`LBA.simulate` redraws the rates of a trial in which all are negative (the same
conditional distribution). With $A$ given as the Python number 0 the start point is fixed
at 0 and $F(t) = 1 - \Phi((b/t - v)/s)$.

References:
    Brown SD, Heathcote A (2008) The simplest complete model of choice response time:
    linear ballistic accumulation. Cogn Psychol 57:153-178.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import ndtr
from jax.scipy.stats import norm
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checks import Constraints, check_fields
from .._constraints import Bounded, Positive, Real as RealLine
from ._choice_rt import Trials
from ._model import AbstractChoiceModel
from ._model_fields import (
    FLOAT,
    accumulator_drifts,
    checked_fields,
    contaminate,
    is_zero_constant,
    log_density_floor,
    mix_contaminant,
    param,
    race_log_density,
    threshold_gap,
)

_CONSTRAINTS = Constraints(
    positive=("B", "s", "rt_max"),
    nonnegative=("A", "t0"),
    finite=("v0", "v1", "k"),
    fraction=("p_outlier",),
)


class LBA(AbstractChoiceModel):
    r"""Two-choice linear ballistic accumulator (see the module docstring).

    Attributes:
        v1: mean rate of the accumulator of choice 1 at condition 0, threshold units / s.
        v0: mean rate of the accumulator of choice 0 at condition 0.
        k: change of the rates per unit condition: $v_1 + k c$ and $v_0 - k c$ (default
            the constant 0).
        A: width of the uniform start-point distribution, threshold units (> 0; the Python
            number 0 fixes the start at 0).
        B: gap $b - A$ between the threshold $b$ and the top of the start range (> 0).
            Give either ``B`` or the threshold ``b`` (> A) to the constructor; the model
            stores and fits the gap, so every positive value is a valid model, and
            ``m.b`` returns $A + B$.
        s: across-trial SD of the rates (default the constant 1, which fixes the scale).
        t0: non-decision time, s (>= 0).
        p_outlier: weight of the contaminant (uniform RT on [0, rt_max]) (default 0.02).
        rt_max: upper end of the contaminant's RT range, s (default 2.0).

    Example:
        >>> import multiscale as ms
        >>> m = ms.behavior.LBA(v1=1.2, v0=0.6, A=0.5, b=1.0, t0=0.2)
        >>> t = ms.behavior.Trials(rt=[0.6, 0.9], choice=[1, 0])
        >>> bool((m.log_density(t) < 1.5).all())
        True
    """

    v1: FLOAT = param(RealLine(), 1.0)
    v0: FLOAT = param(RealLine(), 0.5)
    k: FLOAT | float = param(RealLine(), 0.0, keep_zero=True)
    A: FLOAT | float = param(Positive(), 0.5, keep_zero=True)
    B: FLOAT = param(Positive())
    s: FLOAT | float = param(Positive(), convert=False)
    t0: FLOAT = param(Positive())
    p_outlier: FLOAT | float = param(Bounded(0.0, 1.0), convert=False)
    rt_max: FLOAT | float = param(Positive(), convert=False)

    def __init__(
        self, v1=1.0, v0=0.5, k=0.0, A=0.5, B=None, *, b=None, s=1.0, t0=0.2,
        p_outlier=0.02, rt_max=2.0,
    ):  # fmt: skip
        self.v1, self.v0, self.k, self.A = v1, v0, k, A
        self.B = threshold_gap("LBA", A, B, b, default=0.5)
        self.s, self.t0, self.p_outlier, self.rt_max = s, t0, p_outlier, rt_max

    def __check_init__(self):
        check_fields("LBA", self, _CONSTRAINTS)

    @property
    def b(self) -> Array:
        """The threshold $b = A + B$."""
        return jnp.asarray(self.A) + self.B

    def check(self) -> "LBA":
        """The model with every value checked where used (``eqx.error_if``, under ``jit``)."""
        return checked_fields("LBA", self, _CONSTRAINTS)

    def drifts(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, " 2 *b"]:
        """Mean rates $(v_0 - k c, v_1 + k c)$ of the two accumulators for each condition."""
        condition = jnp.asarray(condition)
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        return accumulator_drifts(self.v0, self.v1, self.k, condition)

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        r"""$\log p(c, t \mid \text{condition})$ of each trial (RT density in 1/s)."""
        if not isinstance(trials, Trials):
            raise TypeError(f"`trials` must be ms.behavior.Trials, got {type(trials).__name__}")
        model = self.check()
        rt = trials.rt
        dtype = rt.dtype
        v = model.drifts(trials.condition.astype(dtype))
        t = rt - jnp.asarray(model.t0, dtype)
        positive = t > 0
        t_safe = jnp.where(positive, t, 1.0)[None, :]
        b = jnp.asarray(model.b, dtype)
        s = jnp.asarray(model.s, dtype)
        if is_zero_constant(model.A):
            u = (b / t_safe - v) / s
            f = b / (t_safe**2 * s) * norm.pdf(u)
            surv = ndtr(u)
        else:
            f, surv = _accumulator(t_safe, v, jnp.asarray(model.A, dtype), b, s)
        log_f = jnp.where(positive[None, :], log_density_floor(f), -jnp.inf)
        log_s = log_density_floor(surv)
        # Condition on a response: some rate is positive (module docstring).
        log_p = jnp.log1p(-jnp.prod(ndtr(-v / s), axis=0))
        out = race_log_density(log_f, log_s, trials.choice, log_p)
        return mix_contaminant(out, rt, model.p_outlier, model.rt_max)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """Exact draws: start points and rates per trial, rates redrawn until one is > 0."""
        model = self.check()
        condition = jnp.atleast_1d(jnp.asarray(condition))
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        dtype = condition.dtype
        v = model.drifts(condition)
        n = condition.shape[0]
        s = jnp.asarray(model.s, dtype)
        k_start, k_rate, k_mix = jr.split(key, 3)

        def draw(k):
            return v + s * jr.normal(k, v.shape, dtype)

        def cond(state):
            _, d = state
            return jnp.any(jnp.all(d <= 0, axis=0))

        def body(state):
            i, d = state
            again = jnp.all(d <= 0, axis=0)
            return i + 1, jnp.where(again[None, :], draw(jr.fold_in(k_rate, i)), d)

        _, d = jax.lax.while_loop(cond, body, (jnp.asarray(1), draw(jr.fold_in(k_rate, 0))))
        start = jnp.asarray(model.A, dtype) * jr.uniform(k_start, (2, n), dtype)
        b = jnp.asarray(model.b, dtype)
        finish = jnp.where(d > 0, (b - start) / jnp.where(d > 0, d, 1.0), jnp.inf)
        choice = (finish[1] < finish[0]).astype(jnp.int32)
        rt = jnp.min(finish, axis=0) + jnp.asarray(model.t0, dtype)
        rt, choice = contaminate(rt, choice, model.p_outlier, model.rt_max, key=k_mix)
        return Trials(rt=rt, choice=choice, condition=condition)


def _accumulator(t, v, A, b, s):
    """(f(t), 1 - F(t)) of Brown & Heathcote's eqs. 1-2 for start range A > 0."""
    ts = t * s
    u1 = (b - A - t * v) / ts
    u2 = (b - t * v) / ts
    phi1, phi2 = norm.pdf(u1), norm.pdf(u2)
    cdf1, cdf2 = ndtr(u1), ndtr(u2)
    f = (v * (cdf2 - cdf1) + s * (phi1 - phi2)) / A
    surv = ts / A * ((u2 * cdf2 + phi2) - (u1 * cdf1 + phi1))
    return jnp.maximum(f, 0.0), jnp.clip(surv, 0.0, 1.0)
