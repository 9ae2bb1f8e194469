r"""The racing diffusion model (Tillman, Van Zandt & Logan 2020).

Each choice has an accumulator $dx_i = v_i\,dt + \sigma\,dW_i$ that starts at
$k_i \sim U[0, A]$; the first to reach the threshold $b > A$ gives the choice, and the RT
adds a non-decision time $t_0$. For a fixed start the finishing time is Wald (inverse
Gaussian) distributed; over the uniform start, with distances $\alpha = b - A$ and
$\beta = b$ (units $\sigma = 1$: divide $v, A, b$ by $\sigma$) and
$u_a = (a - v t)/\sqrt t$, the density is (their closed form)

$$f(t) = \frac1A\Big[v\,\{\Phi(u_\beta) - \Phi(u_\alpha)\}
  - \frac{\phi(u_\beta) - \phi(u_\alpha)}{\sqrt t}\Big],$$

and integrating the Wald distribution $G(t \mid a) = \Phi(-u_a)
+ e^{2 v a}\,\Phi(-(a + v t)/\sqrt t)$ over the start gives

$$F(t) = \frac1A\Big\{\sqrt t\,[\psi(w_\alpha) - \psi(w_\beta)]
  + \frac{h(\beta) - h(\alpha)}{2 v}\Big\},$$

with $w_a = (v t - a)/\sqrt t$, $\psi(w) = w\Phi(w) + \phi(w)$ and
$h(a) = e^{2 v a}\Phi(-x_+) - \Phi(-x_-)$, $x_\pm = (a \pm v t)/\sqrt t$. Because
$e^{2va}\phi(x_+) = \phi(x_-)$, $h(a) / (2v) = \sqrt t\,\phi(x_-)\,
[R(x_+) - R(x_-)] / (x_+ - x_-)$ with Mills' ratio $R(x) = \Phi(-x)/\phi(x)$: a divided
difference that is evaluated by its Taylor series where $|x_+ - x_-| = 2|v|\sqrt t$ is
small, so $F$ has no $0/0$ at $v = 0$. Choice $i$ has the density $f_i(t)\,[1 - F_j(t)]$.

An accumulator with $v < 0$ may never finish (probability
$1 - [e^{2v\beta} - e^{2v\alpha}] / (2 v A)$); as observed trials always have a
response, the likelihood conditions on one, and :meth:`RacingDiffusion.simulate` redraws
a trial in which neither accumulator finishes. With $A$ given as the Python number 0 each
accumulator is a Wald process from 0.

References:
    Tillman G, Van Zandt T, Logan GD (2020) Sequential sampling models without random
    between-trial variability: the racing diffusion model of speeded decision making.
    Psychon Bull Rev 27:911-936.
    Michael JR, Schucany WR, Haas RW (1976) Generating random variates using
    transformations with multiple roots. Am Stat 30:88-90 (Wald sampling).
"""

import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import log_ndtr, ndtr
from jax.scipy.stats import norm
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checks import Constraints, check_fields
from .._constraints import Bounded, Positive, Real as RealLine
from .._numerics import exprel
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
    positive=("B", "sigma", "rt_max"),
    nonnegative=("A", "t0"),
    finite=("v0", "v1", "k"),
    fraction=("p_outlier",),
)
# Below this |x+ - x-| the divided difference of Mills' ratio uses its Taylor series
# (error ~ delta^4 R^(5) / 1920 < 1e-9); above it the float32 cancellation is < 1e-5.
_DD_SWITCH = 0.05
# Below this A / b the start-point average is replaced by the Wald process from b - A/2
# (error O((A/b)^2) < 1e-6), where the closed form's 1/A would cancel in float32.
_A_SWITCH = 1e-3


class RacingDiffusion(AbstractChoiceModel):
    r"""Two-choice racing diffusion model (see the module docstring).

    Attributes:
        v1: drift of the accumulator of choice 1 at condition 0, threshold units / s.
        v0: drift of the accumulator of choice 0 at condition 0.
        k: change of the drifts per unit condition: $v_1 + k c$ and $v_0 - k c$ (default
            the constant 0).
        A: width of the uniform start-point distribution, threshold units (>= 0; the
            Python number 0 gives Wald accumulators).
        B: gap $b - A$ between the threshold $b$ and the top of the start range (> 0).
            Give either ``B`` or the threshold ``b`` (> A) to the constructor; the model
            stores and fits the gap, so every positive value is a valid model, and
            ``m.b`` returns $A + B$.
        sigma: within-trial noise per $\sqrt{\mathrm{s}}$ (default the constant 1, which
            fixes the scale).
        t0: non-decision time, s (>= 0).
        p_outlier: weight of the contaminant (uniform RT on [0, rt_max]) (default 0.02).
        rt_max: upper end of the contaminant's RT range, s (default 2.0).

    Example:
        >>> import multiscale as ms
        >>> m = ms.behavior.RacingDiffusion(v1=2.5, v0=1.5, A=0.3, b=1.0, t0=0.2)
        >>> t = ms.behavior.Trials(rt=[0.6, 0.9], choice=[1, 0])
        >>> m.log_density(t).shape
        (2,)
    """

    v1: FLOAT = param(RealLine(), 2.0)
    v0: FLOAT = param(RealLine(), 1.0)
    k: FLOAT | float = param(RealLine(), 0.0, keep_zero=True)
    A: FLOAT | float = param(Positive(), 0.3, keep_zero=True)
    B: FLOAT = param(Positive())
    sigma: FLOAT | float = param(Positive(), convert=False)
    t0: FLOAT = param(Positive())
    p_outlier: FLOAT | float = param(Bounded(0.0, 1.0), convert=False)
    rt_max: FLOAT | float = param(Positive(), convert=False)

    def __init__(
        self, v1=2.0, v0=1.0, k=0.0, A=0.3, B=None, *, b=None, sigma=1.0, t0=0.2,
        p_outlier=0.02, rt_max=2.0,
    ):  # fmt: skip
        self.v1, self.v0, self.k, self.A = v1, v0, k, A
        self.B = threshold_gap("RacingDiffusion", A, B, b, default=0.7)
        self.sigma, self.t0, self.p_outlier, self.rt_max = sigma, t0, p_outlier, rt_max

    def __check_init__(self):
        check_fields("RacingDiffusion", self, _CONSTRAINTS)

    @property
    def b(self) -> Array:
        """The threshold $b = A + B$."""
        return jnp.asarray(self.A) + self.B

    def check(self) -> "RacingDiffusion":
        """The model with every value checked where used (``eqx.error_if``, under ``jit``)."""
        return checked_fields("RacingDiffusion", self, _CONSTRAINTS)

    def drifts(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, " 2 *b"]:
        """Mean drifts $(v_0 - k c, v_1 + k c)$ of the two accumulators for each condition."""
        condition = jnp.asarray(condition)
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        return accumulator_drifts(self.v0, self.v1, self.k, condition)

    def _scaled(self, dtype):
        """Threshold, start range (or None) in units of sigma."""
        sigma = jnp.asarray(self.sigma, dtype)
        a = None if is_zero_constant(self.A) else jnp.asarray(self.A, dtype) / sigma
        return jnp.asarray(self.b, dtype) / sigma, a, sigma

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        r"""$\log p(c, t \mid \text{condition})$ of each trial (RT density in 1/s)."""
        if not isinstance(trials, Trials):
            raise TypeError(f"`trials` must be ms.behavior.Trials, got {type(trials).__name__}")
        model = self.check()
        rt = trials.rt
        dtype = rt.dtype
        b, a, sigma = model._scaled(dtype)
        v = model.drifts(trials.condition.astype(dtype)) / sigma
        t = rt - jnp.asarray(model.t0, dtype)
        positive = t > 0
        t_safe = jnp.where(positive, t, 1.0)[None, :]
        f, cdf = _wald(t_safe, v, b) if a is None else _uniform_start(t_safe, v, a, b)
        log_f = jnp.where(positive[None, :], log_density_floor(f), -jnp.inf)
        log_s = log_density_floor(jnp.where(positive[None, :], 1.0 - cdf, 1.0))
        log_p = jnp.log1p(-jnp.prod(1.0 - _finish_probability(v, a, b), axis=0))
        out = race_log_density(log_f, log_s, trials.choice, log_p)
        return mix_contaminant(out, rt, model.p_outlier, model.rt_max)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """Exact draws (Michael-Schucany-Haas Wald sampling from a uniform start)."""
        model = self.check()
        condition = jnp.atleast_1d(jnp.asarray(condition))
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        dtype = condition.dtype
        b, a, sigma = model._scaled(dtype)
        v = model.drifts(condition) / sigma
        k_race, k_mix = jr.split(key)

        def draw(k):
            return _finish_times(k, v, jnp.zeros((), dtype) if a is None else a, b)

        def cond(state):
            _, times = state
            return jnp.any(jnp.all(jnp.isinf(times), axis=0))

        def body(state):
            i, times = state
            again = jnp.all(jnp.isinf(times), axis=0)
            return i + 1, jnp.where(again[None, :], draw(jr.fold_in(k_race, i)), times)

        _, times = jax.lax.while_loop(cond, body, (jnp.asarray(1), draw(jr.fold_in(k_race, 0))))
        choice = (times[1] < times[0]).astype(jnp.int32)
        rt = jnp.min(times, axis=0) + jnp.asarray(model.t0, dtype)
        rt, choice = contaminate(rt, choice, model.p_outlier, model.rt_max, key=k_mix)
        return Trials(rt=rt, choice=choice, condition=condition)


def _wald(t, v, a):
    """Density and (defective) distribution of the first passage to a from 0, unit noise."""
    st = jnp.sqrt(t)
    f = a / (st * t) * norm.pdf((a - v * t) / st)
    cdf = ndtr((v * t - a) / st) + jnp.exp(2.0 * v * a + log_ndtr(-(v * t + a) / st))
    return f, cdf


def _mills(x):
    """$R(x) = \\Phi(-x) / \\phi(x)$, finite for any x where it is used (x >= 0 here)."""
    return jnp.exp(log_ndtr(-x) - norm.logpdf(x))


def _h_over_2v(a, v, t):
    r"""$h(a) / (2v)$ of the module docstring, without cancellation near $v = 0$."""
    st = jnp.sqrt(t)
    x_minus = (a - v * t) / st
    delta = 2.0 * v * st  # x+ - x-
    small = jnp.abs(delta) < _DD_SWITCH
    # Direct: [e^{2va} Phi(-x+) - Phi(-x-)] / (2v), each term in log space.
    v_safe = jnp.where(small, 1.0, v)
    x_plus = (a + v_safe * t) / st
    direct = (
        jnp.exp(2.0 * v_safe * a + log_ndtr(-x_plus)) - jnp.exp(log_ndtr(-(a - v_safe * t) / st))
    ) / (2.0 * v_safe)
    # Taylor of the divided difference about the midpoint m = a / sqrt(t):
    # R'(m) + R'''(m) delta^2 / 24, with R' = mR - 1, R''' = (m^3 + 3m) R - m^2 - 2.
    m = a / st
    r = _mills(m)
    d1 = m * r - 1.0
    d3 = (m**3 + 3.0 * m) * r - m**2 - 2.0
    series = st * norm.pdf(x_minus) * (d1 + d3 * delta**2 / 24.0)
    return jnp.where(small, series, direct)


def _psi(w):
    return w * ndtr(w) + norm.pdf(w)


def _uniform_start(t, v, a_range, b):
    """Density and distribution of the finishing time from a start uniform on [0, A]."""
    st = jnp.sqrt(t)
    alpha = b - a_range
    u_alpha, u_beta = (alpha - v * t) / st, (b - v * t) / st
    f = (v * (ndtr(u_beta) - ndtr(u_alpha)) - (norm.pdf(u_beta) - norm.pdf(u_alpha)) / st) / a_range
    w_alpha, w_beta = (v * t - alpha) / st, (v * t - b) / st
    cdf = st * (_psi(w_alpha) - _psi(w_beta)) + _h_over_2v(b, v, t) - _h_over_2v(alpha, v, t)
    cdf = cdf / a_range
    # For a very narrow start range use the Wald process from its middle (module constant).
    narrow = a_range < _A_SWITCH * b
    f_w, cdf_w = _wald(t, v, b - 0.5 * a_range)
    return (
        jnp.maximum(jnp.where(narrow, f_w, f), 0.0),
        jnp.clip(jnp.where(narrow, cdf_w, cdf), 0.0, 1.0),
    )


def _finish_probability(v, a_range, b):
    """P(an accumulator ever reaches b): 1 for v >= 0, else the start average of e^{2va}."""
    v_neg = jnp.minimum(v, 0.0)
    if a_range is None:
        p = jnp.exp(2.0 * v_neg * b)
    else:
        # (e^{2 v b} - e^{2 v (b - A)}) / (2 v A) = e^{2 v (b - A)} expm1(2 v A) / (2 v A).
        p = jnp.exp(2.0 * v_neg * (b - a_range)) / exprel(-2.0 * v_neg * a_range)
    return jnp.where(v >= 0, 1.0, p)


def _finish_times(key, v, a_range, b):
    """One finishing time per accumulator and trial (inf: never finishes); shape of v."""
    k_start, k_hit, k_z, k_u = jr.split(key, 4)
    dtype = v.dtype
    dist = b - a_range * jr.uniform(k_start, v.shape, dtype)
    # With v < 0 the accumulator finishes with probability e^{2 v d}; given that it does,
    # its finishing time is that of the drift |v| (the Wald h-transform).
    finishes = jr.uniform(k_hit, v.shape, dtype) < jnp.exp(2.0 * jnp.minimum(v, 0.0) * dist)
    speed = jnp.abs(v)
    y = jr.normal(k_z, v.shape, dtype) ** 2
    # Michael, Schucany & Haas (1976), written so that v = 0 (Levy: d^2 / Z^2) is exact.
    x = 2.0 * dist**2 / (2.0 * dist * speed + y + jnp.sqrt(y**2 + 4.0 * dist * speed * y))
    accept = jr.uniform(k_u, v.shape, dtype) * (dist + speed * x) <= dist
    other = dist**2 / (jnp.where(accept, 1.0, speed**2) * jnp.where(accept, 1.0, x))
    time = jnp.where(accept, x, other)
    return jnp.where(finishes, time, jnp.inf)
