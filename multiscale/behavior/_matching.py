r"""Matching behavior: choice fraction against reward fraction, and the matching law.

Herrnstein's matching law says that the fraction of choices allocated to an option
equals the fraction of rewards obtained from it. Baum 1974 generalized it to

$$\log\frac{C_A}{C_B} = a\,\log\frac{R_A}{R_B} + \log k,$$

with $C_i$ the number of choices of option $i$, $R_i$ the rewards obtained from it,
sensitivity $a$ ($a < 1$: undermatching) and bias $k$ ($k \ne 1$: a preference for one
option whatever the rewards). Sugrue et al. 2004, Soltani & Wang 2006 and Iigaya et al.
2019 plot the choice fraction against the reward fraction per block (or over a sliding
window) and read undermatching as a slope below 1; :func:`fit_matching` gives both
the log-ratio fit and that fraction-space line.

Counts come from a foraging session's per-trial ``choice`` (0 = A, 1 = B, -1 =
undecided; undecided trials are left out) and ``reward`` (1 on rewarded trials); they
are grouped by block (:func:`block_counts`) or in sliding windows
(:func:`local_counts`), and work on leading batch axes (subjects).
:func:`matching_probability` gives the choice probability at which a fixed policy
matches on a baited schedule, and :func:`mean_field_choice` the steady state of Soltani &
Wang's reduced model (melioration falls short of it: undermatching).

References:
    Baum WM (1974) J Exp Anal Behav 22:231 (generalized matching law).
    Herrnstein RJ (1961) J Exp Anal Behav 4:267.
    Sugrue LP, Corrado GS, Newsome WT (2004) Science 304:1782.
    Soltani A, Wang X-J (2006) J Neurosci 26:3731.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, Real

from .._checks import error_if
from ..population import Forager, ReducedChoice, baited_return


def _float():
    return jnp.result_type(float)


def _ratio(num: Array, den: Array) -> Array:
    ok = den > 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), jnp.nan)


class MatchingCounts(eqx.Module):
    """Choices and obtained rewards per option, in groups of trials (blocks or windows).

    Attributes:
        choices: number of (decided) choices of A and of B, shape (..., groups, 2).
        rewards: number of rewards obtained from A and from B, shape (..., groups, 2).
    """

    choices: Float[Array, "*batch groups 2"]
    rewards: Float[Array, "*batch groups 2"]

    @property
    def choice_fraction(self) -> Float[Array, "*batch groups"]:
        """$C_A / (C_A + C_B)$ (NaN without choices)."""
        return _ratio(self.choices[..., 0], jnp.sum(self.choices, axis=-1))

    @property
    def reward_fraction(self) -> Float[Array, "*batch groups"]:
        """$R_A / (R_A + R_B)$ (NaN without rewards)."""
        return _ratio(self.rewards[..., 0], jnp.sum(self.rewards, axis=-1))

    @property
    def log_choice_ratio(self) -> Float[Array, "*batch groups"]:
        """$\\log(C_A / C_B)$ (NaN where a count is 0)."""
        ok = jnp.all(self.choices > 0, axis=-1)
        safe = jnp.where(self.choices > 0, self.choices, 1.0)
        return jnp.where(ok, jnp.log(safe[..., 0]) - jnp.log(safe[..., 1]), jnp.nan)

    @property
    def log_reward_ratio(self) -> Float[Array, "*batch groups"]:
        """$\\log(R_A / R_B)$ (NaN where a count is 0)."""
        ok = jnp.all(self.rewards > 0, axis=-1)
        safe = jnp.where(self.rewards > 0, self.rewards, 1.0)
        return jnp.where(ok, jnp.log(safe[..., 0]) - jnp.log(safe[..., 1]), jnp.nan)


def _check_trials(choice, reward) -> tuple[Array, Array]:
    """``choice`` (integers) and ``reward`` (floats) as arrays of one shape, checked."""
    choice = jnp.asarray(choice)
    if not jnp.issubdtype(choice.dtype, jnp.integer):
        raise ValueError(f"`choice` must be integers (0, 1, or -1 undecided), got {choice.dtype}")
    r = jnp.asarray(reward, _float())
    if r.shape != choice.shape:
        raise ValueError(f"`reward` must have the shape of `choice` {choice.shape}, got {r.shape}")
    if choice.ndim < 1:
        raise ValueError("`choice` must have a trial axis")
    return choice, r


def _per_trial(choice: Array, r: Array) -> tuple[Array, Array]:
    """(..., trials, 2) indicators of choosing each option and of being rewarded by it."""
    chose = jnp.stack([choice == 0, choice == 1], axis=-1).astype(r.dtype)
    return chose, chose * r[..., None]


def block_counts(
    choice: Int[ArrayLike, "*batch trials"],
    reward: Real[ArrayLike, "*batch trials"],
    block: Int[ArrayLike, "..."],
    *,
    n_blocks: int,
    skip: int = 0,
) -> MatchingCounts:
    """Choices and rewards per option in each block.

    Args:
        choice: per trial 0 (A), 1 (B) or -1 (undecided, not counted).
        reward: per trial 1 if rewarded, else 0.
        block: block index per trial, in [0, ``n_blocks``); consecutive trials of a block
            are contiguous (e.g. ``ForagingTask.block``); may lack the batch axes.
        n_blocks: number of blocks (static, it fixes the output shape).
        skip: leave out the first ``skip`` trials of each block (the transition).

    Returns:
        :class:`MatchingCounts` of shape (..., n_blocks, 2).
    """
    if not (isinstance(n_blocks, int) and n_blocks >= 1):
        raise ValueError(f"`n_blocks` must be an int >= 1, got {n_blocks!r}")
    if not (isinstance(skip, int) and skip >= 0):
        raise ValueError(f"`skip` must be an int >= 0, got {skip!r}")
    choice, r = _check_trials(choice, reward)
    b = jnp.asarray(block)
    if not jnp.issubdtype(b.dtype, jnp.integer) or b.shape[-1:] != choice.shape[-1:]:
        raise ValueError(
            f"`block` must be integers with the trial axis of `choice` ({choice.shape[-1]}), "
            f"got {b.dtype}{b.shape}"
        )
    return _block_counts(choice, r, jnp.broadcast_to(b, choice.shape), n_blocks, skip)


@eqx.filter_jit
def _block_counts(choice, r, b, n_blocks: int, skip: int) -> MatchingCounts:
    chose, rewarded = _per_trial(choice, r)
    t = jnp.broadcast_to(jnp.arange(b.shape[-1], dtype=b.dtype), b.shape)
    change = jnp.concatenate(
        [jnp.ones(b.shape[:-1] + (1,), bool), b[..., 1:] != b[..., :-1]], axis=-1
    )
    start = jax.lax.cummax(jnp.where(change, t, 0), axis=b.ndim - 1)
    keep = (t - start >= skip).astype(chose.dtype)
    blocks = jnp.arange(n_blocks, dtype=b.dtype).reshape((1,) * b.ndim + (n_blocks,))
    member = (b[..., None] == blocks).astype(chose.dtype) * keep[..., None]
    choices = jnp.einsum("...tb,...tk->...bk", member, chose)
    rewards = jnp.einsum("...tb,...tk->...bk", member, rewarded)
    return MatchingCounts(choices, rewards)


def local_counts(
    choice: Int[ArrayLike, "*batch trials"],
    reward: Real[ArrayLike, "*batch trials"],
    *,
    window: int,
) -> MatchingCounts:
    """Choices and rewards per option in every window of ``window`` consecutive trials.

    Returns:
        :class:`MatchingCounts` of shape (..., trials - window + 1, 2); group ``j``
        covers trials ``j`` to ``j + window - 1``.
    """
    choice, r = _check_trials(choice, reward)
    n = choice.shape[-1]
    if not (isinstance(window, int) and 1 <= window <= n):
        raise ValueError(f"`window` must be an int in [1, {n}], got {window!r}")
    return _local_counts(choice, r, window)


@eqx.filter_jit
def _local_counts(choice, r, window: int) -> MatchingCounts:
    chose, rewarded = _per_trial(choice, r)

    def sums(x):
        cs = jnp.cumsum(x, axis=-2)
        cs = jnp.concatenate([jnp.zeros_like(cs[..., :1, :]), cs], axis=-2)
        return cs[..., window:, :] - cs[..., :-window, :]

    return MatchingCounts(sums(chose), sums(rewarded))


class MatchingFit(eqx.Module):
    r"""The generalized matching law and the fraction-space line, fitted by least squares.

    Attributes:
        sensitivity: $a$ in $\log(C_A/C_B) = a \log(R_A/R_B) + \log k$ (1: matching,
            < 1: undermatching).
        log_bias: $\log k$ (0: no bias).
        fraction_slope: slope of choice fraction against reward fraction (1: matching).
        fraction_intercept: intercept of that line.
        n_log: number of groups in the log-ratio fit (all four counts > 0).
        n_fraction: number of groups in the fraction fit (some choices and rewards).
    """

    sensitivity: Float[Array, ""]
    log_bias: Float[Array, ""]
    fraction_slope: Float[Array, ""]
    fraction_intercept: Float[Array, ""]
    n_log: Int[Array, ""]
    n_fraction: Int[Array, ""]

    @property
    def bias(self) -> Float[Array, ""]:
        """$k = e^{\\log k}$."""
        return jnp.exp(self.log_bias)


def _line(x, y, w):
    """Weighted least-squares slope and intercept (NaN with fewer than two distinct x)."""
    x = jnp.where(w > 0, x, 0.0)
    y = jnp.where(w > 0, y, 0.0)
    sw = jnp.sum(w)
    xm = jnp.sum(w * x) / jnp.maximum(sw, 1.0)
    ym = jnp.sum(w * y) / jnp.maximum(sw, 1.0)
    sxx = jnp.sum(w * (x - xm) ** 2)
    slope = jnp.where(
        sxx > 0, jnp.sum(w * (x - xm) * (y - ym)) / jnp.where(sxx > 0, sxx, 1.0), jnp.nan
    )
    return slope, ym - slope * xm


def fit_matching(counts: MatchingCounts) -> MatchingFit:
    """Fit the generalized matching law (Baum 1974) and the fraction-space line.

    Every group (block or window, of every subject) is one point, equally weighted.
    Groups with a zero count are left out of the log-ratio fit; groups without choices or
    without rewards are left out of the fraction fit.

    Example:
        >>> import jax.numpy as jnp
        >>> c = MatchingCounts(jnp.array([[80.0, 20.0], [20.0, 80.0]]),
        ...                    jnp.array([[30.0, 5.0], [5.0, 30.0]]))
        >>> round(float(fit_matching(c).sensitivity), 3)  # log 4 / log 6
        0.774
    """
    if not isinstance(counts, MatchingCounts):
        raise ValueError(f"`counts` must be MatchingCounts, got {type(counts).__name__}")
    return _fit(counts)


@eqx.filter_jit
def _fit(counts: MatchingCounts) -> MatchingFit:
    lx = counts.log_reward_ratio.reshape(-1)
    ly = counts.log_choice_ratio.reshape(-1)
    w_log = (jnp.isfinite(lx) & jnp.isfinite(ly)).astype(lx.dtype)
    a, log_k = _line(lx, ly, w_log)
    fx = counts.reward_fraction.reshape(-1)
    fy = counts.choice_fraction.reshape(-1)
    w_frac = (jnp.isfinite(fx) & jnp.isfinite(fy)).astype(fx.dtype)
    slope, intercept = _line(fx, fy, w_frac)
    n_log = jnp.sum(w_log).astype(jnp.int32)
    n_frac = jnp.sum(w_frac).astype(jnp.int32)
    return MatchingFit(a, log_k, slope, intercept, n_log, n_frac)


def matching_probability(p_bait: Real[ArrayLike, "2"], *, iterations: int = 60) -> Float[Array, ""]:
    r"""The choice probability $P_A$ at which a fixed policy matches on a baited schedule.

    Matching holds where the returns of the two targets are equal,
    $R(p_A, P_A) = R(p_B, 1 - P_A)$ with $R(p, P) = p / (p + P - pP)$
    (:func:`~multiscale.population.baited_return`); then the choice fraction equals the
    reward fraction. For baiting probabilities 3:1 with total 0.3 this is 0.782
    (Soltani & Wang 2006, Fig. 5A), where the total income is also maximal.

    Args:
        p_bait: baiting probabilities $(p_A, p_B)$, both > 0.
        iterations: bisection steps.
    """
    p = jnp.asarray(p_bait, _float())
    if p.shape != (2,):
        raise ValueError(f"`p_bait` must have shape (2,), got {p.shape}")
    return _matching_point(p, iterations)


@eqx.filter_jit
def _matching_point(p, iterations: int):
    p = error_if(p, jnp.any(p <= 0) | jnp.any(p > 1), "`p_bait` must be in (0, 1]")

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        up = baited_return(p[0], mid) > baited_return(p[1], 1.0 - mid)
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(
        0, iterations, bisect, (jnp.zeros((), p.dtype), jnp.ones((), p.dtype))
    )
    return 0.5 * (lo + hi)


def mean_field_choice(
    forager: Forager, p_bait: Real[ArrayLike, "2"], *, iterations: int = 60
) -> Float[Array, ""]:
    r"""Steady-state $P_A$ of the reduced model at fixed baiting probabilities.

    For slow learning, $c$ sits at the rule's fixed point
    (:meth:`~multiscale.synapse.StochasticBinarySynapses.steady_state`) for the returns
    $R_A = R(p_A, P_A)$, $R_B = R(p_B, 1 - P_A)$
    (:func:`~multiscale.population.baited_return`), and the choice probability must
    reproduce itself: $P_A = \mathrm{sigmoid}((c_A^* - c_B^*)/\sigma)$.
    The right side decreases in $P_A$, so the root is unique; it is found by bisection.
    This is the self-consistency of Soltani & Wang's Fig. 5B, C, whose intersection
    with the diagonal falls short of matching (undermatching).

    Args:
        forager: a forager with a :class:`~multiscale.population.ReducedChoice`.
        p_bait: $(p_A, p_B)$.
        iterations: bisection steps (60: below float64 resolution).
    """
    if not isinstance(forager.choice, ReducedChoice):
        raise ValueError("mean_field_choice needs a Forager whose `choice` is a ReducedChoice")
    p = jnp.asarray(p_bait, _float())
    if p.shape != (2,):
        raise ValueError(f"`p_bait` must have shape (2,), got {p.shape}")
    return _mean_field_point(forager, p, iterations)


@eqx.filter_jit
def _mean_field_point(forager, p, iterations: int):
    def excess(P):
        R = baited_return(p, jnp.stack([P, 1.0 - P]))
        c = forager.rule.steady_state(jnp.stack([P, 1.0 - P]), R)
        return forager.choice.probability(c) - P

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        up = excess(mid) > 0
        return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

    lo, hi = jax.lax.fori_loop(
        0, iterations, bisect, (jnp.zeros((), p.dtype), jnp.ones((), p.dtype))
    )
    return 0.5 * (lo + hi)
