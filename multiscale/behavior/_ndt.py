r"""The shape of the non-decision-time distribution of the circuit likelihood.

The circuit's reaction time is RT = DT + NDT with the non-decision time (sensory latency
plus motor time) independent of the decision time (Luce 1986). The model carries its
mean $t_\mathrm{nd}$ (``readout.non_decision_time``) and SD $s_\mathrm{nd}$
(``ndt_sd``); an :class:`AbstractNDT` says how they are spread. Either shape is smoothed
by a normal of SD $s_\mathrm{min}$ (``ndt_sd_min``, the kernel bandwidth of the path
average; see :mod:`multiscale.behavior._circuit_likelihood`).

- :class:`NormalNDT`: $\mathcal N(t_\mathrm{nd}, s_\mathrm{nd}^2 + s_\mathrm{min}^2)$,
  the default.
- :class:`ExponentialNDT`: a shifted exponential, $t_\mathrm{nd} - s_\mathrm{nd} +
  \mathrm{Exp}(\text{mean } s_\mathrm{nd})$ (mean $t_\mathrm{nd}$, SD $s_\mathrm{nd}$: the
  same two parameters), convolved with $\mathcal N(0, s_\mathrm{min}^2)$: an
  ex-Gaussian, the classic right-skewed shape of motor and residual times (Hohle 1965;
  Luce 1986). Fitted to monkey N's RTs (Roitman & Shadlen 2002) with the circuit held at
  its fit, a shifted gamma of free shape chose a shape of 1.2, near this exponential, and
  gained 2.8 nats over the normal (measured for the circuit-vs-GDDM target).

References:
    Hohle RH (1965) Inferred components of reaction times as functions of foreperiod
    duration. J Exp Psychol 69:382-386.
    Luce RD (1986) Response Times: Their Role in Inferring Elementary Mental
    Organization. Oxford University Press.
    Roitman JD, Shadlen MN (2002) Response of neurons in the lateral intraparietal area
    during a combined visual discrimination reaction time task. J Neurosci 22:9475-9489.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.special import erfcx, ndtr
from jaxtyping import Array, Float

_SQRT_HALF = 0.7071067811865476


class AbstractNDT(eqx.Module):
    """A non-decision-time distribution given its mean and SD, smoothed by a normal floor."""

    @abc.abstractmethod
    def cdf(self, t: Float[Array, " n"], mean, sd, sd_min) -> Float[Array, " n"]:
        """P(NDT <= t) for the NDT of mean ``mean`` s and SD ``sd`` s, smoothed by a normal
        of SD ``sd_min`` s (differentiable in ``mean`` and ``sd``)."""

    @abc.abstractmethod
    def sample(self, key, mean, sd, sd_min, shape, dtype) -> Array:
        """Draws of the NDT, s, all >= 0."""


class NormalNDT(AbstractNDT):
    r"""Normal NDT, SD $\sqrt{s_\mathrm{nd}^2 + s_\mathrm{min}^2}$; draws truncated at 0."""

    def cdf(self, t, mean, sd, sd_min):
        return ndtr((t - mean) / jnp.sqrt(sd**2 + sd_min**2))

    def sample(self, key, mean, sd, sd_min, shape, dtype):
        s = jnp.sqrt(sd**2 + sd_min**2)
        z = jr.truncated_normal(key, -mean / s, jnp.asarray(jnp.inf, dtype), shape, dtype)
        return mean + s * z


class ExponentialNDT(AbstractNDT):
    r"""Shifted exponential NDT smoothed by the normal floor (an ex-Gaussian).

    With shift $\mu = t_\mathrm{nd} - s_\mathrm{nd}$, rate $\lambda = 1/s_\mathrm{nd}$
    and floor $\sigma = s_\mathrm{min}$, $z = (t - \mu)/\sigma$:

    $$F(t) = \Phi(z) - e^{-\lambda(t - \mu) + \lambda^2\sigma^2/2}\,\Phi(z - \lambda\sigma),$$

    evaluated through the scaled complementary error function where the exponential
    would overflow ($e^{-\lambda(t-\mu)+\lambda^2\sigma^2/2}\Phi(x) =
    \tfrac12\,\mathrm{erfcx}(-x/\sqrt2)\,e^{-z^2/2}$ for $x = z - \lambda\sigma < 0$), so
    it is finite with finite gradients for every $s_\mathrm{nd} > 0$. Its mean is
    $t_\mathrm{nd}$ and its SD $\sqrt{s_\mathrm{nd}^2 + s_\mathrm{min}^2}$, as for
    :class:`NormalNDT`.

    Example:
        >>> import jax.numpy as jnp
        >>> F = ExponentialNDT().cdf(jnp.array([0.0, 0.2, 5.0]), 0.2, 0.05, 0.02)
        >>> [round(float(x), 3) for x in F]
        [0.0, 0.602, 1.0]
    """

    def cdf(self, t, mean, sd, sd_min):
        shift, lam, sigma = mean - sd, 1.0 / sd, sd_min
        z = (t - shift) / sigma
        x = z - lam * sigma
        # x < 0: the erfcx form (no overflow); x >= 0: the direct form, whose exponent is
        # then <= -lam^2 sigma^2 / 2. Each branch's argument is clamped to its own side.
        xn = jnp.minimum(x, 0.0)
        tail_neg = 0.5 * erfcx(-xn * _SQRT_HALF) * jnp.exp(-0.5 * jnp.where(x < 0, z, 0.0) ** 2)
        arg = jnp.minimum(-lam * sigma * z + 0.5 * (lam * sigma) ** 2, 0.0)
        tail_pos = jnp.exp(arg) * ndtr(jnp.maximum(x, 0.0))
        return ndtr(z) - jnp.where(x < 0, tail_neg, tail_pos)

    def sample(self, key, mean, sd, sd_min, shape, dtype):
        # Exponential part, then the normal floor truncated so that the sum is >= 0 (exact
        # as long as the shift is a few floors above 0, as for any fitted NDT).
        k_exp, k_norm = jr.split(key)
        e = (mean - sd) + sd * jr.exponential(k_exp, shape, dtype)
        lower = -e / sd_min
        z = jr.truncated_normal(k_norm, lower, jnp.asarray(jnp.inf, dtype), shape, dtype)
        return e + sd_min * z
