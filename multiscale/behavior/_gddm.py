r"""The generalised drift-diffusion model: leaky integration between collapsing bounds.

The decision variable starts at $x_0 = (2z - 1) B(0)$ and follows the Ornstein–Uhlenbeck
equation

$$dx = (v_c - \lambda x)\,dt + \sigma\,dW, \qquad v_c = v + k\,c,$$

until it reaches $+B(t)$ (choice 1) or $-B(t)$ (choice 0), where $c$ is the trial's
condition value (e.g. signed motion coherence) and $B(t)$ a bound object
(:class:`ConstantBound`, :class:`LinearCollapse`, :class:`WeibullCollapse`, ...). The
reaction time adds a non-decision time uniform on $[t_0 - s_t/2, t_0 + s_t/2]$; a
contaminant with weight $p_o$ is mixed in as in the DDM. With $\lambda = 0$ and a constant
bound this is the DDM with boundary separation $a = 2B$ and relative start $z$ (and
:func:`ddm_log_density` gives its density in closed form).

The likelihood solves the Fokker–Planck equation once per distinct condition value on a
grid that moves with the bound (:class:`FokkerPlanck`, see ``_gddm_solver``), interpolates
the first-passage density linearly at each decision time and convolves it exactly with the
uniform non-decision time (the difference of the piecewise-quadratic cumulative density).

References:
    Ratcliff R, Smith PL (2004) A comparison of sequential sampling models for two-choice
    reaction time. Psychol Rev 111:333-367 (leaky integration).
    Hawkins GE, Forstmann BU, Wagenmakers E-J, Ratcliff R, Brown SD (2015) J Neurosci
    35:2476-2484 (collapsing bounds).
    Shinn M, Lam NH, Murray JD (2020) A flexible framework for simulating and fitting
    generalized drift-diffusion models. eLife 9:e56938.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._checks import Constraints, check_fields, error_if
from .._constraints import Bounded, Positive, Real as RealLine
from ._bounds import AbstractBound, ConstantBound
from ._choice_rt import Trials
from ._gddm_solver import FokkerPlanck, PassageDensity, passage_density, peclet
from ._model import AbstractChoiceModel
from ._model_fields import (
    FLOAT,
    checked_fields,
    concrete_or_none,
    contaminate,
    is_zero_constant,
    log_density_floor,
    mix_contaminant,
    param,
)

_CONSTRAINTS = Constraints(
    positive=("sigma", "rt_max"),
    nonnegative=("t0", "st0"),
    finite=("v", "k", "leak"),
    fraction=("z", "p_outlier"),
)


class GDDM(AbstractChoiceModel):
    r"""Generalised DDM: condition-dependent drift, leak, collapsing bounds (module docstring).

    Attributes:
        v: drift at condition 0, 1/s in decision-variable units (choice 1 favoured if > 0).
        k: drift per unit condition, $v_c = v + k c$ (default the constant 0).
        bound: the bound $B(t)$, an :class:`AbstractBound` (default ``ConstantBound(1.0)``).
        leak: $\lambda$, 1/s; > 0 leaks towards 0, < 0 is self-exciting (default 0).
        z: relative start point in (0, 1) (0.5: unbiased).
        t0: mean non-decision time, s (>= 0).
        st0: width of the uniform non-decision-time distribution, s (>= 0; default 0).
        sigma: noise $\sigma$ per $\sqrt{\mathrm{s}}$ (default the constant 1, which fixes the
            scale of $v$, $k$ and $B$ as in the DDM).
        p_outlier: weight of the contaminant (uniform RT on [0, rt_max]) (default 0.02).
        rt_max: upper end of the contaminant's RT range, s (default 2.0).
        solver: a :class:`FokkerPlanck` (grid, time step, window, number of conditions).

    Example:
        >>> import multiscale as ms
        >>> m = ms.behavior.GDDM(
        ...     v=0.0, k=8.0, leak=1.0, bound=ms.behavior.LinearCollapse(B=1.0, slope=0.3))
        >>> t = ms.behavior.Trials(rt=[0.6, 0.9], choice=[1, 0], condition=[0.128, 0.0])
        >>> m.log_density(t).shape
        (2,)
    """

    v: FLOAT = param(RealLine(), 1.0)
    k: FLOAT | float = param(RealLine(), 0.0, keep_zero=True)
    bound: AbstractBound = eqx.field(default_factory=lambda: ConstantBound(1.0))
    leak: FLOAT | float = param(RealLine(), 0.0, keep_zero=True)
    z: FLOAT = param(Bounded(0.0, 1.0), 0.5)
    t0: FLOAT = param(Positive(), 0.3)
    st0: FLOAT | float = param(Positive(), 0.0, keep_zero=True)
    sigma: FLOAT | float = param(Positive(), 1.0, convert=False)
    p_outlier: FLOAT | float = param(Bounded(0.0, 1.0), 0.02, convert=False)
    rt_max: FLOAT | float = param(Positive(), 2.0, convert=False)
    solver: FokkerPlanck = FokkerPlanck()

    def __check_init__(self):
        if not isinstance(self.bound, AbstractBound):
            raise TypeError(
                f"GDDM `bound` must be an AbstractBound (e.g. ms.behavior.ConstantBound(1.0)), "
                f"got {type(self.bound).__name__}"
            )
        if not isinstance(self.solver, FokkerPlanck):
            raise TypeError(
                f"GDDM `solver` must be ms.behavior.FokkerPlanck, got {type(self.solver).__name__}"
            )
        check_fields("GDDM", self, _CONSTRAINTS)
        z = concrete_or_none(self.z)
        if z is not None and not np.all((z > 0) & (z < 1)):
            raise ValueError(f"GDDM `z` = {z} must lie in (0, 1) (relative start point)")
        if z is not None and not np.all(_start_on_grid(z, self.solver.n_x)):
            raise ValueError(_start_message(self.solver.n_x) + f"; got z = {z}")
        t0, st0 = concrete_or_none(self.t0), concrete_or_none(self.st0)
        if t0 is not None and st0 is not None and np.any(st0 > 2 * t0):
            raise ValueError(
                f"GDDM `st0` = {st0} s exceeds 2 `t0` = {2 * t0} s: non-decision times "
                "t0 +- st0/2 would be negative"
            )

    def drift(self, condition: Float[ArrayLike, "*b"]) -> Float[Array, "*b"]:
        """$v_c = v + k c$ (1/s) for each condition value."""
        condition = jnp.asarray(condition)
        return (self.v + self.k * condition).astype(condition.dtype)

    def check(self) -> "GDDM":
        """The model with every value checked where used (``eqx.error_if``, under ``jit``)."""
        model = checked_fields("GDDM", self, _CONSTRAINTS)
        return eqx.tree_at(lambda m: m.bound, model, model.bound.check())

    def passage_density(self, condition: Float[ArrayLike, " conditions"]) -> PassageDensity:
        """First-passage densities (before the non-decision time) for each condition value.

        Args:
            condition: condition values, shape ``(conditions,)``.

        Returns:
            A :class:`PassageDensity`: decision-time densities (1/s) of each bound on the
            solver's time grid.
        """
        model = self.check()
        condition = jnp.atleast_1d(jnp.asarray(condition))
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        drift = model.drift(condition)
        drift = _check_grid(model, drift)
        return passage_density(
            model.bound, drift, _scalar(model.leak, drift), _scalar(model.sigma, drift),
            model.z, model.solver,
        )  # fmt: skip

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        r"""$\log p(c, t \mid \text{condition})$ of each trial (RT density in 1/s).

        Raises (also under ``jit``) when an RT exceeds the solver's ``t_max``, when the
        grid is too coarse for the bound (cell Péclet number above 2, or the start point
        within one grid interval of a bound) and when a field is out of its domain.
        """
        if not isinstance(trials, Trials):
            raise TypeError(f"`trials` must be ms.behavior.Trials, got {type(trials).__name__}")
        model = self.check()
        solver = model.solver
        rt = trials.rt
        dtype = rt.dtype
        rt = error_if(
            rt,
            jnp.any(rt > solver.t_max),
            f"GDDM: a reaction time exceeds the solver's t_max ({solver.t_max} s); use "
            "GDDM(solver=ms.behavior.FokkerPlanck(t_max=...)) with t_max >= the longest RT",
        )
        levels, index = _condition_levels(trials.condition, solver.max_conditions)
        drift = _check_grid(model, model.drift(levels.astype(dtype)))
        pd = passage_density(
            model.bound, drift, _scalar(model.leak, drift), _scalar(model.sigma, drift),
            model.z, solver,
        )  # fmt: skip
        log_f = _log_rt_density(pd, index, trials.choice, rt, model, solver)
        return mix_contaminant(log_f, rt, model.p_outlier, model.rt_max)

    def simulate(
        self,
        condition: Float[ArrayLike, " trials"],
        *,
        key: PRNGKeyArray,
        dt: float = 1e-3,
    ) -> Trials:
        r"""Simulate one trial per condition value by an Euler–Maruyama walk.

        The walk $x \leftarrow x + (v_c - \lambda x)\Delta t + \sigma \sqrt{\Delta t}\,\xi$
        checks the bounds at the end of each step and, for paths that stay inside, the
        probability $\exp[-2 (B_n - x_n)(B_{n+1} - x_{n+1}) / (\sigma^2 \Delta t)]$ that
        the Brownian bridge between the two points crossed the (linearly interpolated)
        bound during the step (and likewise for the lower bound). Without this
        correction a discretely monitored walk overshoots by about $0.58\,\sigma
        \sqrt{\Delta t}$ (Broadie, Glasserman & Kou 1997, Math Finance 7:325), which biases
        decision times upwards by $O(\sqrt{\Delta t})$; with it the bias is $O(\Delta t)$.
        A crossing is dated at the middle of its step.

        Trials without a decision by the solver's ``t_max`` are dropped (outside ``jit``);
        inside ``jit``, where shapes are fixed, they raise: lengthen ``t_max``.

        Args:
            condition: condition value of each trial, shape ``(trials,)``.
            key: PRNG key.
            dt: step of the walk, s (default 1 ms).

        Returns:
            :class:`Trials` with RT (s), choice (1 upper, 0 lower) and condition.
        """
        model = self.check()
        condition = jnp.atleast_1d(jnp.asarray(condition))
        if not jnp.issubdtype(condition.dtype, jnp.floating):
            condition = condition.astype(float)
        if not (isinstance(dt, int | float) and 0 < dt <= model.solver.t_max / 10):
            raise ValueError(f"`dt` must be a positive step in seconds well below t_max, got {dt}")
        k_walk, k_ndt, k_mix = jr.split(key, 3)
        drift = model.drift(condition)
        decision, choice, decided = _walk(model, drift, k_walk, dt)
        dtype = decision.dtype
        ndt = jnp.asarray(model.t0, dtype) + jnp.asarray(model.st0, dtype) * (
            jr.uniform(k_ndt, decision.shape, dtype) - 0.5
        )
        rt, choice = contaminate(decision + ndt, choice, model.p_outlier, model.rt_max, key=k_mix)
        keep = concrete_or_none(decided)
        if keep is None:
            rt = error_if(
                rt,
                ~jnp.all(decided),
                "GDDM.simulate: a trial had no decision by the solver's t_max; lengthen it",
            )
            return Trials(rt=rt, choice=choice, condition=condition)
        keep = np.asarray(keep)
        return Trials(rt=rt[keep], choice=choice[keep], condition=condition[keep])


def _scalar(x, like: Array) -> Array:
    return jnp.asarray(x, like.dtype)


def _start_on_grid(z, n_x: int):
    """The start's grid position z n_x must lie at least one interval from each bound."""
    s = z * n_x
    return (s >= 1.0) & (s <= n_x - 1.0)


def _start_message(n_x: int) -> str:
    return (
        f"GDDM grid too coarse for the start point: z must lie at least one grid interval "
        f"(1/{n_x} of the corridor) from each bound; use FokkerPlanck(n_x=...) with "
        "n_x >= 1 / min(z, 1 - z)"
    )


def _check_grid(model: GDDM, drift: Array) -> Array:
    """``drift`` passed through ``eqx.error_if`` for the grid checks of the module docstring."""
    solver = model.solver
    pe = peclet(model.bound, drift, _scalar(model.leak, drift), _scalar(model.sigma, drift), solver)
    need = int(np.ceil(solver.n_x * 1.05))
    drift = error_if(
        drift,
        ~(pe < 2.0),
        "GDDM grid too coarse for the bound: the cell Peclet number h |mu| / D (drift, leak "
        "and bound speed against diffusion, per grid interval) exceeds 2, so the central "
        f"differences would give negative densities; raise FokkerPlanck `n_x` above {need} "
        "(in proportion to the Peclet number) or check that drift, leak and bound are in "
        "units of the noise",
    )
    z = jnp.asarray(model.z, drift.dtype)
    return error_if(drift, ~_start_on_grid(z, solver.n_x), _start_message(solver.n_x))


def _condition_levels(
    condition: Float[Array, " trials"], max_conditions: int | None
) -> tuple[Float[Array, " levels"], Int[Array, " trials"]]:
    """Distinct condition values and the index of each trial's value among them."""
    if max_conditions is None:
        c = concrete_or_none(condition)
        if c is None:
            raise ValueError(
                "GDDM inside jit (e.g. in ms.fit.fit) needs the number of distinct condition "
                "values: GDDM(solver=ms.behavior.FokkerPlanck(max_conditions=...))"
            )
        levels, index = np.unique(c, return_inverse=True)
        return jnp.asarray(levels, condition.dtype), jnp.asarray(index.ravel(), jnp.int32)
    levels, index = jnp.unique(
        condition, return_inverse=True, size=max_conditions, fill_value=condition[0]
    )
    index = index.ravel().astype(jnp.int32)
    levels = error_if(
        levels,
        jnp.any(levels[index] != condition),
        f"GDDM: the trials hold more than FokkerPlanck `max_conditions` = {max_conditions} "
        "distinct condition values; raise it",
    )
    return levels, index


def _log_rt_density(
    pd: PassageDensity, index: Array, choice: Array, rt: Array, model: GDDM, solver: FokkerPlanck
) -> Array:
    """Log density of each RT: the decision density shifted by (and convolved with) the NDT."""
    dtype = rt.dtype
    zero = jnp.zeros((*pd.density.shape[:-1], 1), dtype)
    # Nodes: t = 0 (density 0), the step midpoints, and t_max (last value held).
    g = jnp.concatenate([zero, pd.density, pd.density[..., -1:]], axis=-1)
    nodes = jnp.concatenate([jnp.zeros((1,), dtype), pd.t, jnp.full((1,), solver.t_max, dtype)])
    widths = jnp.diff(nodes)
    cum = jnp.concatenate(
        [zero, jnp.cumsum(0.5 * (g[..., 1:] + g[..., :-1]) * widths[None, None, :], axis=-1)],
        axis=-1,
    )
    side = jnp.asarray(choice, jnp.int32)
    t0 = jnp.asarray(model.t0, dtype)

    def locate(s):
        i = jnp.clip(jnp.searchsorted(nodes, s, side="right") - 1, 0, nodes.shape[0] - 2)
        tau = s - nodes[i]
        return i, tau, widths[i]

    def density(s):
        i, tau, w = locate(s)
        g0, g1 = g[index, side, i], g[index, side, i + 1]
        inside = (s >= 0) & (s <= solver.t_max)
        return jnp.where(inside, g0 + (g1 - g0) * tau / w, 0.0)

    def cumulative(s):
        s = jnp.clip(s, 0.0, solver.t_max)
        i, tau, w = locate(s)
        g0, g1 = g[index, side, i], g[index, side, i + 1]
        return cum[index, side, i] + g0 * tau + (g1 - g0) * tau**2 / (2.0 * w)

    if is_zero_constant(model.st0):
        f = density(rt - t0)
    else:
        st0 = jnp.asarray(model.st0, dtype)
        # Below a hundredth of a step the difference quotient loses precision and the
        # convolution equals the density itself to O(st0^2).
        narrow = st0 < 0.01 * solver.dt
        st0_safe = jnp.where(narrow, 1.0, st0)
        upper, lower = cumulative(rt - t0 + st0_safe / 2), cumulative(rt - t0 - st0_safe / 2)
        spread = (upper - lower) / st0_safe
        f = jnp.where(narrow, density(rt - t0), spread)
    return log_density_floor(f)


@eqx.filter_jit
def _walk(model: GDDM, drift: Array, key: PRNGKeyArray, dt: float):
    """Euler–Maruyama walk with Brownian-bridge crossing checks; (decision time, choice, ok)."""
    dtype = drift.dtype
    n = drift.shape[0]
    n_steps = int(np.ceil(model.solver.t_max / dt))
    leak = _scalar(model.leak, drift)
    sigma = _scalar(model.sigma, drift)
    b0 = model.bound(jnp.zeros((), dtype))
    x0 = (2.0 * jnp.asarray(model.z, dtype) - 1.0) * b0
    var = sigma**2 * dt

    def cond(state):
        i, _, done, _, _ = state
        return (i < n_steps) & ~jnp.all(done)

    def body(state):
        i, x, done, rt, choice = state
        k_noise, k_up, k_lo = jr.split(jr.fold_in(key, i), 3)
        t = i.astype(dtype) * dt
        b_old, b_new = model.bound(t), model.bound(t + dt)
        x_new = x + (drift - leak * x) * dt + jnp.sqrt(var) * jr.normal(k_noise, (n,), dtype)
        p_up = jnp.exp(-2.0 * jnp.maximum(b_old - x, 0) * jnp.maximum(b_new - x_new, 0) / var)
        p_lo = jnp.exp(-2.0 * jnp.maximum(b_old + x, 0) * jnp.maximum(b_new + x_new, 0) / var)
        up = jr.uniform(k_up, (n,), dtype) < p_up
        lo = jr.uniform(k_lo, (n,), dtype) < p_lo
        # A step that crossed both bounds (possible only where the corridor is narrow
        # against sqrt(dt)) ends at the one its bridge was more likely to cross.
        up_wins = up & (~lo | (p_up >= p_lo))
        hit = (up | lo) & ~done
        rt = jnp.where(hit, t + 0.5 * dt, rt)
        choice = jnp.where(hit, up_wins.astype(jnp.int32), choice)
        return i + 1, jnp.where(done | hit, x, x_new), done | hit, rt, choice

    state = (
        jnp.asarray(0),
        jnp.broadcast_to(x0, (n,)).astype(dtype),
        jnp.zeros((n,), bool),
        jnp.zeros((n,), dtype),
        jnp.zeros((n,), jnp.int32),
    )
    _, _, done, rt, choice = jax.lax.while_loop(cond, body, state)
    return rt, choice, done
