r"""Graupner–Brunel readout: time above threshold, transition probabilities, STDP curves.

For a periodic protocol the calcium trace reaches a periodic steady state; the fractions
of time $\alpha_d, \alpha_p$ it spends above $\theta_d, \theta_p$ then set the averaged
drive, $\Gamma_{p,d} = \gamma_{p,d}\,\alpha_{p,d}$, and (Graupner & Brunel 2012, SI)

$$\bar\rho = \frac{\Gamma_p}{\Gamma_p + \Gamma_d},\quad
  \sigma_\rho^2 = \frac{(\alpha_p+\alpha_d)\,\sigma^2}{\Gamma_p+\Gamma_d},\quad
  \tau_\mathrm{eff} = \frac{\tau}{\Gamma_p+\Gamma_d},$$

$$P = \tfrac12\Big[1 \pm \mathrm{erf}\Big(-\frac{\rho_\star - \bar\rho + (\bar\rho-\rho_0)
  e^{-T/\tau_\mathrm{eff}}}{\sqrt{\sigma_\rho^2(1-e^{-2T/\tau_\mathrm{eff}})}}\Big)\Big],$$

with $U = P(\rho_0{=}0, +)$ and $D = P(\rho_0{=}1, -)$, and the change of the mean weight

$$\frac{w_\mathrm{after}}{w_\mathrm{before}} = \frac{\beta(1-U) + (1-\beta)D
  + b\,(\beta U + (1-\beta)(1-D))}{\beta + (1-\beta)\,b}.$$

This is the procedure of the authors' analytic code (Graupner & Brunel 2012, SI;
github.com/mgraupe/CalciumBasedPlasticityModel, ``timeAboveThreshold.py`` and
``synapticChange.py``).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._graupner_brunel import GraupnerBrunel
from ._graupner_brunel_sim import _rk4


def periodic_time_above(
    rule: GraupnerBrunel,
    offsets: Float[ArrayLike, " events"],
    amplitudes: Float[ArrayLike, " events"],
    period: float | Float[ArrayLike, ""],
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    r"""Fractions of time $(\alpha_d, \alpha_p)$ above threshold in the periodic steady state.

    Args:
        offsets: times of the calcium events within one period, s (any real; taken mod
            ``period``). Presynaptic events must already include the delay $D$.
        amplitudes: their calcium amplitudes (dimensionless).
        period: repetition period, s.

    Returns:
        ``(alpha_d, alpha_p)``, fractions of the period (dimensionless).
    """
    offsets = jnp.asarray(offsets)
    amplitudes = jnp.asarray(amplitudes, offsets.dtype)
    period = jnp.asarray(period, offsets.dtype)
    phase = jnp.mod(offsets, period)
    order = jnp.argsort(phase)
    phase, amplitudes = phase[order], amplitudes[order]
    # Peak just after event j: every event i contributes A_i exp(-lag_ij / tau_Ca), summed
    # over all earlier periods (a geometric series).
    lag = jnp.mod(phase[:, None] - phase[None, :], period)
    lag = jnp.where(phase[:, None] >= phase[None, :], phase[:, None] - phase[None, :], lag)
    peaks = jnp.sum(amplitudes[None, :] * jnp.exp(-lag / rule.tau_Ca), axis=1)
    peaks = peaks / (-jnp.expm1(-period / rule.tau_Ca))
    gaps = jnp.diff(phase, append=phase[:1] + period)
    tiny = jnp.finfo(offsets.dtype).tiny

    def above(theta):
        s = rule.tau_Ca * jnp.log(jnp.maximum(peaks, tiny) / theta)
        return jnp.sum(jnp.clip(s, 0.0, gaps)) / period

    return above(rule.theta_d), above(rule.theta_p)


def pairing_time_above(rule, delta_t, frequency):
    """$(\\alpha_d, \\alpha_p)$ for regular pre/post pairs (``delta_t = t_post - t_pre``, s; Hz)."""
    delta_t = jnp.asarray(delta_t)
    offsets = jnp.stack([jnp.asarray(rule.D, delta_t.dtype), delta_t])
    amps = jnp.stack(
        [jnp.asarray(rule.C_pre, delta_t.dtype), jnp.asarray(rule.C_post, delta_t.dtype)]
    )
    return periodic_time_above(rule, offsets, amps, 1.0 / jnp.asarray(frequency, delta_t.dtype))


def burst_time_above(rule, delta_t, frequency, *, n_post=2, burst_isi=0.0115):
    """$(\\alpha_d, \\alpha_p)$ for one pre spike and a post burst of ``n_post`` spikes.

    Convention of the authors' analytic code (``preSpikePostPair``), reproduced so that
    the code's values for the Fig. 3 protocols are matched: with the calcium lag
    $x = \\Delta t - D$, the burst starts at $x$ when $x \\ge 0$ and *ends* at $x$ when
    $x < 0$ (Δt is taken to the nearest post spike of the burst, on the calcium time axis).
    """
    delta_t = jnp.asarray(delta_t)
    x = delta_t - rule.D
    k = burst_isi * jnp.arange(n_post, dtype=delta_t.dtype)
    post = jnp.where(x >= 0, x + k, x - k[::-1])
    offsets = jnp.concatenate([jnp.zeros((1,), delta_t.dtype), post])
    amps = jnp.concatenate(
        [jnp.full((1,), rule.C_pre, delta_t.dtype), jnp.full((n_post,), rule.C_post, delta_t.dtype)]
    )
    return periodic_time_above(rule, offsets, amps, 1.0 / jnp.asarray(frequency, delta_t.dtype))


def transition_probabilities(rule, alpha_d, alpha_p, T):
    r"""UP probability ``U`` (from rho=0) and DOWN probability ``D`` (from rho=1) after ``T`` s.

    Uses the erf expression of the module docstring (Ornstein–Uhlenbeck approximation of
    $\rho$ under the averaged drive). Returns ``(U, D)``, both 0 when there is no drive.
    """
    Gp = rule.gamma_p * alpha_p
    Gd = rule.gamma_d * alpha_d
    G = Gp + Gd
    # With no drive at all nothing moves; keep the formulas finite there.
    safe_G = jnp.where(G > 0, G, 1.0)
    rho_bar = Gp / safe_G
    sigma2 = (alpha_p + alpha_d) * rule.sigma**2 / safe_G
    decay = jnp.exp(-T * safe_G / rule.tau)

    def arg(rho0):
        num = rule.rho_star - rho_bar + (rho_bar - rho0) * decay
        return -num / jnp.sqrt(sigma2 * (1.0 - decay**2))

    U = 0.5 * (1.0 + jax.scipy.special.erf(arg(0.0)))
    Dn = 0.5 * (1.0 - jax.scipy.special.erf(arg(1.0)))
    return jnp.where(G > 0, U, 0.0), jnp.where(G > 0, Dn, 0.0)


def synaptic_change(rule, alpha_d, alpha_p, T):
    r"""Mean weight change $w_\mathrm{after}/w_\mathrm{before}$ (module docstring equation).

    Args:
        rule: the :class:`GraupnerBrunel` parameters.
        alpha_d, alpha_p: fractions of time above $\theta_d$, $\theta_p$ (dimensionless).
        T: protocol duration, s.

    Returns:
        The ratio (dimensionless); 1 means no change.

    References:
        Graupner & Brunel 2012, SI; the authors' ``synapticChange.py``.
    """
    U, Dn = transition_probabilities(rule, alpha_d, alpha_p, T)
    beta, b = rule.beta, rule.b
    num = beta * (1.0 - U) + (1.0 - beta) * Dn + b * (beta * U + (1.0 - beta) * (1.0 - Dn))
    return num / (beta + (1.0 - beta) * b)


@jax.jit
def stdp_curve(
    rule: GraupnerBrunel,
    delta_ts: Float[ArrayLike, " n"],
    frequency: float | Float[ArrayLike, ""],
    n_pairs: float | Float[ArrayLike, ""],
) -> Float[Array, " n"]:
    """Whole STDP curve: $w_\\mathrm{after}/w_\\mathrm{before}$ for each Δt (s), one jitted call.

    ``n_pairs`` regular pairs at ``frequency`` (Hz); the protocol lasts ``n_pairs/frequency``.
    """
    delta_ts = jnp.asarray(delta_ts)
    T = jnp.asarray(n_pairs, delta_ts.dtype) / frequency

    def one(dt):
        a_d, a_p = pairing_time_above(rule, dt, frequency)
        return synaptic_change(rule, a_d, a_p, T)

    return jax.vmap(one)(delta_ts)


def poisson_time_above(rule, pre_rate, post_rate):
    r"""Approximate $(\alpha_d, \alpha_p)$ for independent Poisson pre/post spikes (Hz).

    Gaussian approximation of the shot-noise calcium (Campbell's theorem): mean
    $\mu = \tau_\mathrm{Ca}(r_\mathrm{pre}C_\mathrm{pre} + r_\mathrm{post}C_\mathrm{post})$,
    variance $\tfrac{\tau_\mathrm{Ca}}{2}(r_\mathrm{pre}C_\mathrm{pre}^2 + r_\mathrm{post}
    C_\mathrm{post}^2)$, and $\alpha = P(c > \theta)$. It is accurate when many transients
    overlap (rates ≫ $1/\tau_\mathrm{Ca}$) and only indicative at low rates.
    """
    mu = rule.tau_Ca * (pre_rate * rule.C_pre + post_rate * rule.C_post)
    var = 0.5 * rule.tau_Ca * (pre_rate * rule.C_pre**2 + post_rate * rule.C_post**2)
    sd = jnp.sqrt(jnp.maximum(var, jnp.finfo(jnp.result_type(mu)).tiny))

    def above(theta):
        return 0.5 * jax.scipy.special.erfc((theta - mu) / (jnp.sqrt(2.0) * sd))

    return above(rule.theta_d), above(rule.theta_p)


class GBRateState(NamedTuple):
    """State of the rate-based GB2012 update: ``rho`` (dimensionless), ``w`` in units of w_DOWN."""

    rho: Float[Array, ""]
    w: Float[Array, ""]


def graupner_brunel_rate(rule: GraupnerBrunel, *, substeps: int = 32):
    r"""Trial-averaged GB2012 rule as an ``(init, step)`` pair, for use between trials.

    The drive is replaced by its average over Poisson calcium (:func:`poisson_time_above`):
    $\tau\dot\rho = -\rho(1-\rho)(\rho_\star-\rho) + \Gamma_p(1-\rho) - \Gamma_d\rho$ with
    $\Gamma_{p,d} = \gamma_{p,d}\alpha_{p,d}$, integrated over ``duration`` s by Strang splitting
    in ``substeps`` steps: the linear drive exactly (relaxation to $\bar\rho$ at rate
    $(\Gamma_p+\Gamma_d)/\tau$, stable at any step), the slow cubic by one RK4 step. The
    weight is $w = 1 + (b-1)\rho$ in units of $w_\mathrm{DOWN}$.

    Returns:
        ``init(w) -> GBRateState`` and
        ``step(state, pre_rate, post_rate, duration) -> GBRateState`` (rates in Hz, s).
    """
    if not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"`substeps` must be a positive int, got {substeps!r}")

    def init(w):
        w = jnp.asarray(w)
        return GBRateState(rho=(w - 1.0) / (rule.b - 1.0), w=w)

    def step(state, pre_rate, post_rate, duration):
        a_d, a_p = poisson_time_above(rule, pre_rate, post_rate)
        Gp, Gd = rule.gamma_p * a_p, rule.gamma_d * a_d
        G = Gp + Gd
        target = Gp / jnp.where(G > 0, G, 1.0)
        h = jnp.asarray(duration) / substeps
        half = jnp.exp(-0.5 * h * G / rule.tau)
        zero = jnp.zeros_like(state.rho)

        def body(_, rho):
            rho = target + (rho - target) * half
            rho = _rk4(rule, rho, h, zero, zero, 1)
            return target + (rho - target) * half

        rho = jax.lax.fori_loop(0, substeps, body, state.rho)
        return GBRateState(rho=rho, w=1.0 + (rule.b - 1.0) * rho)

    return init, step
