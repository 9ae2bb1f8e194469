r"""A differentiable summary-statistic likelihood of a decision circuit.

Per coherence $c$ the circuit runs over $M$ fixed noise paths (common random numbers: the
same keys at every parameter value) with the soft :class:`~multiscale.behavior.HazardReadout`.
Path $m$ gives the probability masses $q_{m,i}$ of choosing population $i$ and the expected
decision time $D_{m,i}$ given that choice. Averaging over paths,

$$P_c = \frac{\sum_m q_{m,1}}{\sum_{m,i} q_{m,i}}, \quad
  \mu^{DT}_c = \frac{\sum_{m,i} q_{m,i} D_{m,i}}{\sum_{m,i} q_{m,i}}, \quad
  \sigma^2_{DT,c} = \frac{\sum_{m,i} q_{m,i} (D_{m,i} - \mu^{DT}_c)^2}{\sum_{m,i} q_{m,i}},$$

conditioned on a decision before ``t1`` (the data hold decided trials only). The
within-path spread of the decision time (about $1/\lambda$ = 1 ms) is neglected. The RT
is $\mu^{DT} + t_\mathrm{nd}$ with variance $\sigma^2_{DT} + s_\mathrm{nd}^2$. A contaminant
of probability $\epsilon$ (a guess, RT uniform on $[0, \mathrm{rt\_max}]$) is mixed in so
that no condition can have likelihood zero. The likelihood is that of
:func:`~multiscale.behavior.summary_negative_log_likelihood`: binomial on the correct
counts plus a Gaussian on each mean RT with the model's own variance $\sigma^2_{RT}/n_c$.

**Gradients of the choice probability.** Each noise path ends in one attractor, so
$q_{m,i}$ is 0 or 1 up to ~1e-10 and the derivative of $P_c$ over fixed paths is zero
except at the isolated parameter values where a path flips: the gradient of this
likelihood is the exact derivative of the common-random-number estimate, and it carries
the mean and variance of RT (which move smoothly with every parameter) but almost none of
the accuracy. The accuracy enters the loss value (early stopping, choice among starts).
A likelihood-ratio (Girsanov) estimator of $\partial P_c/\partial J_{A,\mathrm{ext}}$,
which treats the stimulus as a shift of the noise's normals, was tried and measured: at
6.4 % coherence its SD was 0.35 with 1024 paths per coherence against a true derivative
$\partial P/\partial\log J_{A,\mathrm{ext}} \approx 0.1$ (the score sums ~1000
normals), so it is not used.

At $c = 0$ the circuit is symmetric under exchanging the populations, so every path has
an equally likely mirror image with the opposite choice and the same decision time:
the antithetic estimate $P_0 = 1/2$ is used there (free, and it removes a Monte Carlo
error of $1/(2\sqrt M)$ that would otherwise cost several nats at $n \approx 1000$).

References:
    Wong KF, Wang XJ (2006) J Neurosci 26:1314 (circuit; RT = DT + non-decision time).
    Glasserman P (2004) Monte Carlo Methods in Financial Engineering, ch. 4 and 7
    (common random numbers; pathwise and likelihood-ratio derivative estimators).
    Palmer J, Huk AC, Shadlen MN (2005) J Vis 5:376 (the summary likelihood's form).
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Key

from ..circuit import AbstractOnlineReadout, Stimulus, simulate
from ._circuit_model import CircuitBehavior
from ._readouts import HazardReadout


class _Moments(eqx.Module):
    mass: Float[Array, "2"]
    moment: Float[Array, "2"]
    survival: Float[Array, ""]


class _MomentReadout(AbstractOnlineReadout):
    """A :class:`HazardReadout` that returns its raw masses and first moments.

    ``SoftDecision.mean_decision_time`` divides the moment by a mass that can be
    ~1e-20 for the losing population; the quotient's gradient then overflows to NaN in
    float32. The likelihood needs only mass and moment, so it takes them directly.
    """

    hazard: HazardReadout

    def window_steps(self, dt):
        return self.hazard.window_steps(dt)

    def init(self, r0, *, dt, t_on):
        return self.hazard.init(r0, dt=dt, t_on=t_on)

    def step(self, state, t, r_bar):
        return self.hazard.step(state, t, r_bar)

    def finish(self, state) -> _Moments:
        return _Moments(state.mass, state.moment, state.survival)


class CircuitSummary(NamedTuple):
    """Model summaries per coherence (each shape ``(conditions,)``).

    Attributes:
        p_correct: P(correct) including the contaminant.
        mean_rt: mean RT over all decided trials, s (contaminant included).
        rt_var: variance of the RT, s².
        mean_rt_correct: mean RT of correct trials, s (no contaminant).
        p_undecided: probability of no decision before ``t1`` (diagnostic).
    """

    p_correct: Array
    mean_rt: Array
    rt_var: Array
    mean_rt_correct: Array
    p_undecided: Array


def _one_condition(model: CircuitBehavior, c, keys):
    circuit = model.circuit
    ro = _MomentReadout(model.readout)
    stim = Stimulus(coherence=c, mu0=model.mu0)

    def run(k):
        traj = simulate(circuit, stim, key=k, protocol=model.protocol, readout=ro, save_every=0)
        return traj.readout

    out = jax.vmap(run)(keys)
    mass, moment = out.mass, out.moment  # (M, 2)
    # Pathwise gradients for the decision times; moment / mass is the path's mean DT.
    D = jnp.where(mass > 1e-6, moment / jnp.maximum(mass, 1e-6), jnp.zeros_like(moment))
    return mass, D, jnp.mean(out.survival)


def circuit_summary(
    model: CircuitBehavior,
    coherence: Float[ArrayLike, " conditions"],
    keys: Key[Array, " paths"],
) -> CircuitSummary:
    r"""Predicted P(correct), mean and variance of RT per coherence (see the module docstring).

    Args:
        model: the circuit with its readout and noise model.
        coherence: coherences as fractions in [0, 1], shape ``(conditions,)``.
        keys: one PRNG key per noise path, shape ``(paths,)``; the same paths serve every
            coherence and every parameter value (common random numbers).

    Returns:
        A :class:`CircuitSummary`.
    """
    if keys.ndim != 1 or keys.shape[0] < 2:
        raise ValueError(f"`keys` must be a 1-d array of >= 2 PRNG keys, got shape {keys.shape}")
    dtype = jnp.result_type(float)
    coherence = jnp.asarray(coherence, dtype)
    mass, D, undecided = jax.vmap(lambda c: _one_condition(model, c, keys))(coherence)
    w = jnp.sum(mass, axis=(1, 2))
    p = jnp.sum(mass[..., 0], axis=1) / w
    # Antithetic mirror at c = 0 (population exchange): P = 1/2 exactly.
    p = jnp.where(coherence == 0, jnp.full_like(p, 0.5), p)
    mean_dt = jnp.sum(mass * D, axis=(1, 2)) / w
    var_dt = jnp.sum(mass * (D - mean_dt[:, None, None]) ** 2, axis=(1, 2)) / w
    mean_dt_correct = jnp.sum(mass[..., 0] * D[..., 0], axis=1) / jnp.sum(mass[..., 0], axis=1)
    mean_dt_correct = jnp.where(coherence == 0, mean_dt, mean_dt_correct)
    ndt = jnp.asarray(model.readout.non_decision_time, dtype)
    eps = jnp.asarray(model.lapse, dtype)
    mu, var = mean_dt + ndt, var_dt + jnp.asarray(model.ndt_sd, dtype) ** 2
    # Mixture with the contaminant (RT uniform on [0, rt_max]: mean R/2, second moment R²/3).
    R = jnp.asarray(model.rt_max, dtype)
    mix_mean = (1 - eps) * mu + eps * R / 2
    second = (1 - eps) * (var + mu**2) + eps * R**2 / 3
    return CircuitSummary(
        p_correct=(1 - eps) * p + eps * 0.5,
        mean_rt=mix_mean,
        rt_var=second - mix_mean**2,
        mean_rt_correct=mean_dt_correct + ndt,
        p_undecided=undecided,
    )


def circuit_summary_negative_log_likelihood(
    model: CircuitBehavior,
    coherence: Float[ArrayLike, " conditions"],
    n: Float[ArrayLike, " conditions"],
    n_correct: Float[ArrayLike, " conditions"],
    mean_rt: Float[ArrayLike, " conditions"],
    keys: Key[Array, " paths"],
) -> Float[Array, ""]:
    r"""Summary negative log-likelihood (nats) of the circuit; same form as the DDM's.

    $$-\log L = -\sum_c \big[k_c \log P_c + (n_c - k_c)\log(1 - P_c)\big]
      + \sum_c \frac{(\overline{RT}_c - \mu_c)^2}{2\sigma_c^2/n_c}
      + \tfrac12\log(2\pi\sigma_c^2/n_c).$$

    Args:
        model: :class:`CircuitBehavior`.
        coherence: fractions in [0, 1], shape ``(conditions,)``.
        n: trials per condition; n_correct: correct trials per condition.
        mean_rt: mean RT of all trials per condition, s.
        keys: noise-path keys, shape ``(paths,)`` (common random numbers).

    Returns:
        Scalar NLL; finite for every condition thanks to the contaminant.
    """
    return summary_nll(circuit_summary(model, coherence, keys), n, n_correct, mean_rt)


def summary_nll(
    s: CircuitSummary,
    n: Float[ArrayLike, " conditions"],
    n_correct: Float[ArrayLike, " conditions"],
    mean_rt: Float[ArrayLike, " conditions"],
) -> Float[Array, ""]:
    """The summary NLL (nats) of data given predicted summaries ``s`` (see above)."""
    dtype = s.p_correct.dtype
    n = jnp.asarray(n, dtype)
    k = jnp.asarray(n_correct, dtype)
    nll_choice = -jnp.sum(k * jnp.log(s.p_correct) + (n - k) * jnp.log1p(-s.p_correct))
    var = s.rt_var / n
    resid = jnp.asarray(mean_rt, dtype) - s.mean_rt
    nll_rt = jnp.sum(0.5 * resid**2 / var + 0.5 * jnp.log(2 * jnp.pi * var))
    return nll_choice + nll_rt
