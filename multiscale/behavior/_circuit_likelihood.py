r"""A trial-level likelihood of (choice, RT) under any decision circuit.

**First passage.** For each coherence $c$ the circuit runs over $M$ fixed noise paths
(common random numbers: the same keys at every parameter value) and the soft
:class:`~multiscale.behavior.HazardReadout` gives, per path $m$ and step $k$, the exact
probability $q_{m,k,i}$ that the first decision event falls in step $k$ for population
$i$ (:func:`~multiscale.behavior.apply_readout`). The path average

$$m_{c,k,i} = \frac1M \sum_m q_{m,k,i}, \qquad
  U_c = \frac1M \sum_m \Big(1 - \sum_{k,i} q_{m,k,i}\Big)$$

is the defective first-passage mass of the decision time in bin
$(k\Delta t, (k+1)\Delta t]$ after stimulus onset, and $U_c$ the mass left undecided at
``t1``. At $c = 0$ the circuit is symmetric under exchanging the populations, so each
path's mirror image (same times, choices swapped) is equally likely and the masses are
replaced by their antithetic average $(m_{k,1} + m_{k,2})/2$ (free; it halves the Monte
Carlo variance there).

**Non-decision time.** RT = DT + NDT with NDT $\sim \mathcal N(t_\mathrm{nd}, s^2)$
independent of DT, $s = \sqrt{s_\mathrm{nd}^2 + s_\mathrm{min}^2}$
(``model.ndt_sd`` and the floor ``ndt_sd_min``). Each bin's mass is spread uniformly over
its bin, which makes the RT density on the grid $t_j = j\Delta t$ an exact discrete
convolution,

$$g_{c,i}(t_j) = \sum_k m_{c,k,i}\, w_{j-k}, \qquad
  w_l = \frac{\Phi\big((l\Delta t - t_\mathrm{nd})/s\big)
  - \Phi\big(((l-1)\Delta t - t_\mathrm{nd})/s\big)}{\Delta t},$$

smooth in $t_\mathrm{nd}$ and $s$ (a hard shift would make the likelihood jump whenever
$t_\mathrm{nd}$ crosses an observed RT). Other shapes with the same mean and SD
parameters replace $\Phi$ by their CDF smoothed by $\mathcal N(0, s_\mathrm{min}^2)$
(``ndt``, e.g. the right-skewed :class:`~multiscale.behavior._ndt.ExponentialNDT`). The
floor is not only physiology: each path's mass is a spike of ~1 ms (the hazard rate
$\lambda$ = 1000/s), so the path average is a comb of $M$ spikes and the NDT kernel is
also the bandwidth of its kernel density estimate: the floor trades RT resolution for
Monte Carlo noise. Measured roughness of
the common-random-number NLL (largest second difference along a 25-point line through
parameter space, 300 trials per coherence, at 3.2 % / 12.8 %): 23.5 / 2.2 nats with
$M$ = 256 paths and $s$ = 20 ms, 9.4 / 4.0 with 256 and 50 ms, 6.5 / 7.3 with 1024 and
20 ms, 1.9 / 5.4 with 1024 and 50 ms; at 51.2 % at most 0.5.
The default floor (20 ms) assumes the recommended $M \ge 2000$; fewer paths need a wider
one. NDT mass below 0 or beyond ``rt_max`` is dropped ($\Phi(-t_\mathrm{nd}/s) <
10^{-9}$ for $t_\mathrm{nd} > 6 s$).

**Likelihood.** The density at an observed RT is the linear interpolation of $g$ between
grid points. The data hold decided trials only, so the circuit's density is conditioned
on a decision, $g / D_c$ with $D_c = \sum_{k,i} m_{c,k,i} = 1 - U_c$ (floored at
$10^{-6}$ so that a circuit that never decides gives the contaminant's likelihood, not
0/0), and mixed with a contaminant of weight $\epsilon$ (``model.lapse``: a guess, RT
uniform on $[0, \mathrm{rt\_max}]$, either choice with probability 1/2):

$$p(i, t \mid c) = (1 - \epsilon)\,\frac{g_{c,i}(t)}{D_c}
  + \frac{\epsilon}{2\,\mathrm{rt\_max}},$$

so no trial can give $-\infty$.

**Bias.** The log of an $M$-path average underestimates the log-likelihood (Jensen:
$E[\log \hat p] \le \log E[\hat p]$, by about half the squared relative Monte Carlo
error of $\hat p$ per trial), so the NLL is biased upward, the more so the fewer the
paths and the noisier the density estimate at the observed RTs. On the paths the
parameters were fitted to, selection biases it the other way. Fit with $M \ge 2000$
paths per condition and report the NLL on fresh paths with $M \ge 5000$
(:func:`~multiscale.fit.fit_circuit_trials`).

References:
    Wong KF, Wang XJ (2006) J Neurosci 26:1314 (circuit; RT = DT + non-decision time).
    Ratcliff R, Tuerlinckx F (2002) Psychon Bull Rev 9:438 (contaminant mixture).
    Glasserman P (2004) Monte Carlo Methods in Financial Engineering, ch. 4 and 7
    (common random numbers, antithetic variates).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray

from .._autodiff import AbstractDifferentiation, ReverseMode
from ..circuit import Stimulus, simulate
from ._circuit_model import CircuitBehavior
from ._circuit_trials import CircuitTrials
from ._first_passage import differentiated_path_masses
from ._ndt import AbstractNDT, NormalNDT
from ._readouts import apply_readout

_REVERSE = ReverseMode()
_NORMAL = NormalNDT()

NDT_SD_MIN = 0.02
"""Default floor on the SD of the non-decision time, s (see the module docstring)."""

_DECIDED_FLOOR = 1e-6


class FirstPassage(eqx.Module):
    """Path-averaged defective first-passage masses of the decision time.

    Attributes:
        decision_time: centre of each bin $(k\\Delta t, (k+1)\\Delta t]$ after onset, s.
        mass: probability of deciding in each bin for population 1 (correct) and 2,
            shape ``(conditions, time, 2)`` (the density times $\\Delta t$).
        undecided: probability of no decision before ``t1``, ``(conditions,)``.
    """

    decision_time: Float[Array, " time"]
    mass: Float[Array, "conditions time 2"]
    undecided: Float[Array, " conditions"]


def _one_path(model: CircuitBehavior, c, key):
    """Per-step first-event masses ``(steps, 2)`` and survival of one noise path."""
    stim = Stimulus(coherence=c, mu0=model.mu0)
    traj = simulate(model.circuit, stim, key=key, protocol=model.protocol, save_every=1)
    r = jax.vmap(model.circuit.choice_rates)(traj.r)
    trace = apply_readout(model.readout, traj.ts, r, protocol=model.protocol)
    return trace.per_step, trace.result.p_undecided


def path_first_events(model: CircuitBehavior, coherence, key):
    """One noise path's per-step first-event masses ``(steps, 2)`` (population 1 and 2, in
    the order of the protocol's steps) and its probability of no decision, under the
    model's readout: the Monte Carlo unit of :func:`first_passage_density` and of the
    samplers."""
    return _one_path(model, coherence, key)


def first_passage_density(
    model: CircuitBehavior,
    coherence: Float[ArrayLike, " conditions"],
    keys: Key[Array, " paths"],
    *,
    chunk: int = 1024,
    differentiation: AbstractDifferentiation = _REVERSE,
) -> FirstPassage:
    r"""Path-averaged first-passage masses per condition (see the module docstring).

    One time loop advances every condition and path of a chunk and sums the masses over
    paths as it goes (:func:`~multiscale.circuit.integrate` with an ``emit`` reducer):
    no trajectory is stored.
    Chunks run one after another inside a checkpointed ``lax.scan``: memory is that of
    one chunk, forward and under ``grad``.

    Args:
        model: the circuit with its readout and noise model.
        coherence: fractions in [0, 1], shape ``(conditions,)``.
        keys: one PRNG key per noise path, ``(paths,)``; the same for every condition and
            parameter value (common random numbers).
        chunk: paths simulated at once (static).
        differentiation: ``ReverseMode()`` or ``ForwardMode()`` (one tangent per perturbed
            parameter behind a custom vjp: faster for a few free parameters; first
            derivatives only).

    Returns:
        A :class:`FirstPassage`; masses and ``undecided`` sum to 1 per condition.
    """
    if keys.ndim != 1 or keys.shape[0] < 1:
        raise ValueError(f"`keys` must be a 1-d array of PRNG keys, got shape {keys.shape}")
    if not (isinstance(chunk, int) and chunk >= 1):
        raise ValueError(f"`chunk` must be an int >= 1, got {chunk!r}")
    dtype = jnp.result_type(float)
    coherence = jnp.asarray(coherence, dtype)
    if coherence.ndim != 1:
        raise ValueError(f"`coherence` must be 1-d (conditions,), got shape {coherence.shape}")
    if not isinstance(differentiation, AbstractDifferentiation):
        raise TypeError(
            f"`differentiation` must be ReverseMode() or ForwardMode(), got {differentiation!r}"
        )
    n_steps, n_on = model.protocol.n_steps, model.protocol.n_on
    # Leaves the time loop never reads are cut off, so that forward mode carries no
    # tangent for them (the non-decision time is a common free parameter).
    loop = eqx.tree_at(
        lambda m: (m.readout.non_decision_time, m.lapse, m.ndt_sd, m.rt_max),
        model,
        (0.0, 0.5, 0.0, 1.0),
    )
    q, survival = differentiated_path_masses(differentiation)(loop, coherence, keys, chunk)
    # The step that ends at onset can already carry (negligible) mass: fold it and any
    # earlier step into the first bin, so that masses and `undecided` still sum to 1.
    mass = q[:, n_on:].at[:, 0].add(jnp.sum(q[:, :n_on], axis=1))
    mirrored = 0.5 * (mass + mass[..., ::-1])
    mass = jnp.where((coherence == 0)[:, None, None], mirrored, mass)
    centres = (jnp.arange(n_steps - n_on, dtype=dtype) + 0.5) * jnp.asarray(
        model.protocol.dt, dtype
    )
    return FirstPassage(decision_time=centres, mass=mass, undecided=survival)


def ndt_kernel(
    model: CircuitBehavior,
    n: int,
    *,
    ndt_sd_min: float = NDT_SD_MIN,
    ndt: AbstractNDT = _NORMAL,
) -> Float[Array, " n"]:
    r"""Discretised non-decision-time density $w_l$, $l = 0..n-1$, in 1/s.

    $w_l$ is the NDT probability in $((l-1)\Delta t, l\Delta t]$ divided by $\Delta t$,
    with mean ``model.readout.non_decision_time``, SD parameter ``model.ndt_sd`` and the
    shape ``ndt`` (default :class:`~multiscale.behavior._ndt.NormalNDT`: SD
    $\sqrt{s_\mathrm{nd}^2 + s_\mathrm{min}^2}$; see the module docstring).
    """
    _check_ndt(ndt)
    dtype = jnp.result_type(float)
    dt = jnp.asarray(model.protocol.dt, dtype)
    mu = jnp.asarray(model.readout.non_decision_time, dtype)
    sd = jnp.asarray(model.ndt_sd, dtype)
    edges = jnp.arange(-1, n, dtype=dtype) * dt
    return jnp.diff(ndt.cdf(edges, mu, sd, jnp.asarray(ndt_sd_min, dtype))) / dt


def _check_ndt(ndt) -> None:
    if not isinstance(ndt, AbstractNDT):
        raise TypeError(f"`ndt` must be an AbstractNDT (e.g. NormalNDT()), got {ndt!r}")


class RTDensity(eqx.Module):
    """Defective joint density of (choice, RT) on the grid $t_j = j\\Delta t$.

    Attributes:
        rt: grid, s, from 0 to ``rt_max``.
        density: density of RT and choice (population 1 = correct, 2), 1/s,
            ``(conditions, grid, 2)``; it integrates to at most ``p_decided``.
        p_decided: probability of a decision before ``t1``, ``(conditions,)``.
    """

    rt: Float[Array, " grid"]
    density: Float[Array, "conditions grid 2"]
    p_decided: Float[Array, " conditions"]


def rt_density(
    model: CircuitBehavior,
    first_passage: FirstPassage,
    *,
    ndt_sd_min: float = NDT_SD_MIN,
    ndt: AbstractNDT = _NORMAL,
) -> RTDensity:
    """Convolve the first-passage masses with the NDT kernel on the grid up to ``rt_max``.

    The grid ends at ``rt_max`` or at :data:`NDT_REACH` past the end of the decision
    window (``t1 - t_on``), whichever is earlier: the circuit puts no mass beyond, so one
    late outlier (covered by the contaminant through ``rt_max``) cannot make the grid, and
    the memory of the convolution, grow (an RT of 1e6 s once asked for 264 GB).
    """
    dtype = first_passage.mass.dtype
    n_grid = rt_grid_size(model)
    w = ndt_kernel(model, n_grid, ndt_sd_min=ndt_sd_min, ndt=ndt)
    m = first_passage.mass[:, :n_grid]  # bins past rt_max cannot reach the grid
    conv = lambda x: jnp.convolve(x, w, precision=jax.lax.Precision.HIGHEST)[:n_grid]
    density = jax.vmap(jax.vmap(conv, in_axes=1, out_axes=1))(m)
    grid = jnp.arange(n_grid, dtype=dtype) * jnp.asarray(model.protocol.dt, dtype)
    return RTDensity(rt=grid, density=density, p_decided=jnp.sum(first_passage.mass, axis=(1, 2)))


NDT_REACH = 3.0
"""Longest non-decision time the RT grid covers past the decision window, s."""


def rt_grid_size(model: CircuitBehavior) -> int:
    """Points of the RT grid: up to ``rt_max`` or the decision window plus ``NDT_REACH``."""
    p = model.protocol
    reach = (p.n_steps - p.n_on) * p.dt + NDT_REACH
    return round(min(_static_rt_max(model), reach) / p.dt) + 1


def _static_rt_max(model: CircuitBehavior) -> float:
    try:
        return float(model.rt_max)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        raise ValueError(
            "model.rt_max fixes the RT grid and must be a Python number, not a traced array "
            "(use eqx.filter_jit, or close over the model)"
        ) from None


def _check_trials(model: CircuitBehavior, trials: CircuitTrials) -> None:
    if not isinstance(trials, CircuitTrials):
        raise TypeError(f"`trials` must be CircuitTrials, got {type(trials).__name__}")
    rt_max = _static_rt_max(model)
    try:
        rt = np.asarray(trials.rt)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return
    if np.any(rt > rt_max):
        raise ValueError(
            f"`trials.rt` has values up to {rt.max():g} s, above model.rt_max = {rt_max:g} s; "
            "raise rt_max (the contaminant's RT range must cover every trial)"
        )


def trial_log_likelihood(
    model: CircuitBehavior,
    trials: CircuitTrials,
    keys: Key[Array, " paths"],
    *,
    ndt_sd_min: float = NDT_SD_MIN,
    chunk: int = 1024,
    differentiation: AbstractDifferentiation = _REVERSE,
    ndt: AbstractNDT = _NORMAL,
) -> Float[Array, " trials"]:
    r"""Log-likelihood of each trial's (choice, RT) under the circuit, in log(1/s).

    $\log p(i, t \mid c)$ of the module docstring: the path-averaged first-passage
    density, convolved with the NDT distribution, conditioned on a decision and mixed with
    the contaminant. Finite for every trial.

    Args:
        model: :class:`~multiscale.behavior.CircuitBehavior`.
        trials: :class:`CircuitTrials` (RTs in s, at most ``model.rt_max``).
        keys: noise-path keys ``(paths,)`` (common random numbers).
        ndt_sd_min: floor on the SD of the non-decision time, s.
        chunk: paths simulated at once (memory).
        differentiation: ``ReverseMode()`` or ``ForwardMode()`` for the first-passage
            masses (:func:`first_passage_density`).
        ndt: the shape of the non-decision-time distribution
            (:class:`~multiscale.behavior._ndt.NormalNDT`, the default, or
            :class:`~multiscale.behavior._ndt.ExponentialNDT`).

    Returns:
        The log-likelihood per trial, ``(trials,)``; the NLL is ``-sum``.
    """
    _check_trials(model, trials)
    fp = first_passage_density(
        model, trials.coherence, keys, chunk=chunk, differentiation=differentiation
    )
    rd = rt_density(model, fp, ndt_sd_min=ndt_sd_min, ndt=ndt)
    dtype = rd.density.dtype
    dt = jnp.asarray(model.protocol.dt, dtype)
    n_grid = rd.rt.shape[0]
    # Linear interpolation in RT between grid points.
    x = jnp.asarray(trials.rt, dtype) / dt
    j = jnp.clip(jnp.floor(x).astype(jnp.int32), 0, n_grid - 2)
    frac = jnp.clip(x - j.astype(dtype), 0.0, 1.0)
    side = jnp.where(trials.correct, 0, 1)
    g = (1 - frac) * rd.density[trials.condition, j, side]
    g = g + frac * rd.density[trials.condition, j + 1, side]
    g = jnp.where(x <= n_grid - 1, g, 0.0)  # past the grid: the contaminant alone
    decided = jnp.maximum(rd.p_decided, _DECIDED_FLOOR)[trials.condition]
    eps = jnp.asarray(model.lapse, dtype)
    contaminant = eps * 0.5 / jnp.asarray(model.rt_max, dtype)
    return jnp.log((1 - eps) * g / decided + contaminant)


@eqx.filter_jit
def _draw_events(model: CircuitBehavior, inputs, batch_size: int):
    """Index of each trial's first event in its path's masses (steps x 2, time order)."""

    def draw(args):
        c, k, u = args
        q, _ = _one_path(model, c, k)
        # u beyond the path's decided mass (searchsorted returns 2 * steps) is undecided.
        return jnp.searchsorted(jnp.cumsum(q.reshape(-1)), u)

    return jax.lax.map(draw, inputs, batch_size=batch_size)


def sample_circuit_trials(
    model: CircuitBehavior,
    coherence: Float[ArrayLike, " conditions"],
    n_per_condition: int,
    *,
    key: PRNGKeyArray,
    ndt_sd_min: float = NDT_SD_MIN,
    chunk: int = 256,
    ndt: AbstractNDT = _NORMAL,
) -> CircuitTrials:
    r"""Draw trials from the generative model of :func:`trial_log_likelihood`.

    Each trial has its own noise path; its decision step and side are drawn from the
    path's first-event masses, the decision time uniformly within the step, the NDT from
    the distribution of :func:`ndt_kernel` (``ndt``; draws below 0 excluded), and with
    probability ``model.lapse`` the trial is replaced by a contaminant. Trials whose path
    is undecided and RTs above ``rt_max`` are dropped, as an experiment without a
    response would drop them (the likelihood's density is defective above ``rt_max``;
    keep ``rt_max`` above ``t1 - t_on`` plus the non-decision time when that matters).
    """
    dtype = jnp.result_type(float)
    coherence = jnp.asarray(coherence, dtype)
    condition = jnp.repeat(jnp.arange(coherence.shape[0], dtype=jnp.int32), n_per_condition)
    correct, rt, keep = draw_trials(
        model, coherence[condition], key=key, ndt_sd_min=ndt_sd_min, chunk=chunk, ndt=ndt
    )
    return CircuitTrials(coherence, np.asarray(condition)[keep], correct[keep], rt[keep])


def draw_trials(
    model: CircuitBehavior,
    coherence: Float[ArrayLike, " trials"],
    *,
    key: PRNGKeyArray,
    ndt_sd_min: float = NDT_SD_MIN,
    chunk: int = 256,
    ndt: AbstractNDT = _NORMAL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One trial per entry of ``coherence`` (each its own noise path), as
    :func:`sample_circuit_trials` draws them: ``(correct, rt, kept)`` as NumPy arrays, with
    ``kept`` False for undecided trials and RTs above ``rt_max`` (which an experiment drops).
    """
    dtype = jnp.result_type(float)
    coherence = jnp.asarray(coherence, dtype)
    n_total = coherence.shape[0]
    k_path, k_u, k_v, k_ndt, k_lapse, k_rt, k_side = jr.split(key, 7)
    n_on = model.protocol.n_on
    n_flat = 2 * model.protocol.n_steps
    inputs = (coherence, jr.split(k_path, n_total), jr.uniform(k_u, (n_total,), dtype))
    idx = _draw_events(model, inputs, min(chunk, n_total))
    step, side = idx // 2, idx % 2
    dt = jnp.asarray(model.protocol.dt, dtype)
    bins = jnp.maximum(step - n_on, 0).astype(dtype)  # pre-onset steps: first bin
    decision_time = (bins + jr.uniform(k_v, (n_total,), dtype)) * dt
    _check_ndt(ndt)
    mu = jnp.asarray(model.readout.non_decision_time, dtype)
    sd, sd_min = jnp.asarray(model.ndt_sd, dtype), jnp.asarray(ndt_sd_min, dtype)
    rt = decision_time + ndt.sample(k_ndt, mu, sd, sd_min, (n_total,), dtype)
    lapse = jr.uniform(k_lapse, (n_total,), dtype) < jnp.asarray(model.lapse, dtype)
    rt_max = jnp.asarray(model.rt_max, dtype)
    guess_rt = jnp.maximum(jr.uniform(k_rt, (n_total,), dtype) * rt_max, 1e-3 * dt)
    rt = jnp.where(lapse, guess_rt, rt)
    correct = jnp.where(lapse, jr.bernoulli(k_side, 0.5, (n_total,)), side == 0)
    # A trial whose path is undecided is dropped whether or not it lapses, so that among
    # the trials kept the contaminant's share is exactly the lapse probability.
    keep = np.asarray((idx < n_flat) & (rt <= rt_max) & (rt > 0))
    return np.asarray(correct), np.asarray(rt), keep
