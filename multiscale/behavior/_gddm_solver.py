r"""First-passage densities of a leaky diffusion between moving bounds, by Fokker–Planck.

The decision variable follows the Ornstein–Uhlenbeck equation
$dx = (v - \lambda x)\,dt + \sigma\,dW$ between absorbing bounds $\pm B(t)$. Its density
$p(x, t)$ obeys the Fokker–Planck (Kolmogorov forward) equation

$$\partial_t p = -\partial_x[(v - \lambda x)\, p] + \tfrac{\sigma^2}{2}\,\partial_x^2 p,
\qquad p(\pm B(t), t) = 0,$$

and the first-passage densities are the probability fluxes through the two bounds
(Shinn, Lam & Murray 2020, eLife 9:e56938, whose PyDDM solves this equation on a fixed grid
in $x$ and interpolates a bound that falls between grid points).

Here the equation is solved in the normalised coordinate $y = x / B(t) \in [-1, 1]$, in
which the bounds stay at $\pm 1$ (a grid that moves with the bound). Since $y$ is linear
in $x$, Itô's rule gives $dy = \mu(y, t)\,dt + (\sigma / B)\,dW$ with

$$\mu(y, t) = \frac{v}{B} - \Big(\lambda + \frac{\dot B}{B}\Big)\, y, \qquad
D(t) = \frac{\sigma^2}{2 B^2},$$

so a collapsing bound becomes a time-dependent drift towards the bounds and a growing
diffusion coefficient. The grid (``n_x`` intervals of width $h = 2 / n_x$, i.e. a fixed
number of points between the bounds, whose spacing in $x$ shrinks with the bound) and the
time step ``dt`` are fixed, so every array has a static shape for ``jit``/``vmap``, the
bound is exactly on a grid node at every step, and the result is differentiable in the
bound's parameters.

Space: conservative central differences of $\mu p$ and $D \partial_y^2 p$ at the interior
nodes. Summing the semi-discrete equation over the nodes telescopes to exact fluxes through
the two bounds,

$$J_+ = \tfrac12 \mu_{n-1} p_{n-1} + D\, p_{n-1} / h, \qquad
J_- = -\tfrac12 \mu_1 p_1 + D\, p_1 / h,$$

which are non-negative while the cell Péclet number $h |\mu| / D$ is below 2 (else the
grid is too coarse for the bound and the solver raises). Time: TR-BDF2 (Bank et al.
1985, IEEE Trans Electron Devices 32:1992; a trapezoidal stage to $t + \gamma\,\Delta t$,
$\gamma = 2 - \sqrt 2$, then BDF2): second order and L-stable, so neither the point
initial condition nor the stiffness of a nearly closed corridor makes it oscillate. The
probability absorbed in each step is the same combination of the stage fluxes that moves
the mass, so absorbed plus remaining probability is conserved to rounding, and the
absorbed mass per step divided by $\Delta t$ is the density at the step's midpoint to
$O(\Delta t^2)$.

The start point $x_0 = (2 z - 1) B(0)$ is a unit mass split linearly between the two
nearest nodes. Where the bound has fallen below $10^{-4} B(0)$ (a linear collapse that
reaches 0) the corridor is held at that width: the remaining probability is absorbed
within a step.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.lax.linalg import tridiagonal_solve
from jaxtyping import Array, Float

from ._bounds import AbstractBound

_GAMMA = 2.0 - np.sqrt(2.0)
# BDF2 stage of TR-BDF2: p1 - W dt L p1 = A1 p_gamma - A0 p0, with A1 - A0 = 1.
_W = (1.0 - _GAMMA) / (2.0 - _GAMMA)
_A1 = 1.0 / (_GAMMA * (2.0 - _GAMMA))
_A0 = (1.0 - _GAMMA) ** 2 / (_GAMMA * (2.0 - _GAMMA))
_FLOOR = 1e-4


class FokkerPlanck(eqx.Module):
    r"""Numerical settings of the generalised-DDM likelihood (all static: they fix shapes).

    Attributes:
        dt: time step, s (default 0.005, PyDDM's default). The density error is
            $O(\Delta t^2)$.
        n_x: number of grid intervals between the two bounds (default 100; PyDDM's default
            ``dx = 0.005`` puts 200-400 intervals across typical bounds, but its error is
            first order in the bound position). The error is $O(h^2)$, $h = 2 / n_x$.
        t_max: length of the solved window, s (default 3.0). Reaction times above
            ``t_max`` raise: lengthen it.
        max_conditions: the number of distinct condition values that one likelihood call
            may see (one Fokker–Planck solve each). ``None`` reads the number from the
            data, which needs concrete data; inside ``jit`` (e.g. in
            ``multiscale.fit.fit``) give it.

    Example:
        >>> import multiscale as ms
        >>> ms.behavior.FokkerPlanck(dt=0.002, n_x=120, t_max=2.0).n_t
        1000
    """

    dt: float = eqx.field(static=True, default=0.005)
    n_x: int = eqx.field(static=True, default=100)
    t_max: float = eqx.field(static=True, default=3.0)
    max_conditions: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not (isinstance(self.dt, int | float) and self.dt > 0):
            raise ValueError(f"FokkerPlanck `dt` must be a positive time in s, got {self.dt}")
        if not (isinstance(self.n_x, int) and self.n_x >= 8):
            raise ValueError(f"FokkerPlanck `n_x` must be an integer >= 8, got {self.n_x}")
        if not (isinstance(self.t_max, int | float) and self.t_max >= 2 * self.dt):
            raise ValueError(
                f"FokkerPlanck `t_max` must be a number of seconds >= 2 dt, got {self.t_max}"
            )
        if abs(self.t_max / self.dt - round(self.t_max / self.dt)) > 1e-6:
            raise ValueError(
                f"FokkerPlanck `t_max` ({self.t_max} s) must be a whole number of steps `dt` "
                f"({self.dt} s)"
            )
        if self.max_conditions is not None and not (
            isinstance(self.max_conditions, int) and self.max_conditions >= 1
        ):
            raise ValueError(
                f"FokkerPlanck `max_conditions` must be None or an integer >= 1, got "
                f"{self.max_conditions}"
            )

    @property
    def n_t(self) -> int:
        """Number of time steps, ``t_max / dt``."""
        return int(round(self.t_max / self.dt))


class PassageDensity(eqx.Module):
    """First-passage densities on the solver's time grid.

    Attributes:
        t: midpoints of the time steps, s, shape ``(time,)``.
        density: density of a decision at each bound, 1/s, shape ``(*conditions, 2, time)``;
            index 0 is the lower bound (choice 0), 1 the upper (choice 1). It is the
            probability absorbed in each step divided by ``dt``.
        undecided: probability of no decision by ``t_max``, shape ``(*conditions,)``.
    """

    t: Float[Array, " time"]
    density: Float[Array, "*conditions 2 time"]
    undecided: Float[Array, "*conditions"]


def _coefficients(bound: AbstractBound, drift, leak, sigma, times, b0):
    """$v/B$ (K, T), $\\lambda + \\dot B / B$ (T,) and $D$ (T,) at ``times``."""
    b, b_dot = jax.jvp(bound, (times,), (jnp.ones_like(times),))
    floor = _FLOOR * b0
    closed = b <= floor
    b_safe = jnp.where(closed, floor, b)
    rate = jnp.where(closed, 0.0, b_dot / b_safe)
    return drift[:, None] / b_safe[None, :], leak + rate, sigma**2 / (2.0 * b_safe**2)


@eqx.filter_jit
def peclet(bound: AbstractBound, drift, leak, sigma, solver: FokkerPlanck) -> Array:
    """Largest cell Péclet number $h\\,|\\mu| / D$ over the grid, times and conditions."""
    dtype = drift.dtype
    times = jnp.arange(solver.n_t + 1, dtype=dtype) * solver.dt
    b0 = bound(jnp.zeros((), dtype))
    a, b, d = _coefficients(bound, drift, leak, sigma, times, b0)
    h = 2.0 / solver.n_x
    return jnp.max(h * (jnp.abs(a) + jnp.abs(b)[None, :]) / d[None, :])


@eqx.filter_jit
def passage_density(
    bound: AbstractBound,
    drift: Float[Array, " conditions"],
    leak,
    sigma,
    z,
    solver: FokkerPlanck,
) -> PassageDensity:
    r"""Solve the Fokker–Planck equation (module docstring) for each drift.

    Args:
        bound: the bound $B(t)$ (values already checked).
        drift: drift $v$ of each condition, 1/s, shape ``(conditions,)``.
        leak: $\lambda$, 1/s.
        sigma: noise $\sigma$, decision-variable units per $\sqrt{s}$.
        z: relative start point in (0, 1): $x_0 = (2z - 1) B(0)$.
        solver: grid and time step.

    Returns:
        A :class:`PassageDensity` with ``conditions = drift.shape[0]``.
    """
    dtype = drift.dtype
    n, dt = solver.n_x, solver.dt
    h = 2.0 / n
    m = n - 1
    y = jnp.linspace(-1.0, 1.0, n + 1, dtype=dtype)
    t_nodes = jnp.arange(solver.n_t + 1, dtype=dtype) * dt
    t_stage = t_nodes[:-1] + _GAMMA * dt
    b0 = bound(jnp.zeros((), dtype))
    a_n, b_n, d_n = _coefficients(bound, drift, leak, sigma, t_nodes, b0)
    a_s, b_s, d_s = _coefficients(bound, drift, leak, sigma, t_stage, b0)

    def operators(a, b, d):
        """Tridiagonal coefficients of L at several times: a (K, T), b (T,), d (T,)."""
        mu = a[:, :, None] - b[None, :, None] * y[None, None, :]  # (K, T, n + 1)
        d = d[None, :, None]
        lower = mu[..., :m] / (2.0 * h) + d / h**2
        upper = -mu[..., 2:] / (2.0 * h) + d / h**2
        j_up = 0.5 * mu[..., m] + d[..., 0] / h  # flux per unit p at the last interior node
        j_lo = -0.5 * mu[..., 1] + d[..., 0] / h
        diag = jnp.broadcast_to(-2.0 * d / h**2, lower.shape)
        # Scan over time: time first.
        return tuple(jnp.moveaxis(x, 1, 0) for x in (lower, diag, upper, j_lo, j_up))

    def apply(op, p):
        lower, diag, upper, _, _ = op
        zero = jnp.zeros_like(p[:, :1])
        left = jnp.concatenate([zero, p[:, :-1]], axis=1)
        right = jnp.concatenate([p[:, 1:], zero], axis=1)
        return lower * left + diag * p + upper * right

    def flux(op, p):
        _, _, _, j_lo, j_up = op
        return jnp.stack([j_lo * p[:, 0], j_up * p[:, -1]], axis=1)

    def implicit(op, scale, rhs):
        lower, diag, upper, _, _ = op
        zero = jnp.zeros_like(lower[:, :1])
        dl = jnp.concatenate([zero, -scale * lower[:, 1:]], axis=1)
        du = jnp.concatenate([-scale * upper[:, :-1], zero], axis=1)
        return tridiagonal_solve(dl, 1.0 - scale * diag, du, rhs[..., None])[..., 0]

    def step(p0, ops):
        op0, opg, op1 = ops
        half = 0.5 * _GAMMA * dt
        pg = implicit(opg, half, p0 + half * apply(op0, p0))
        p1 = implicit(op1, _W * dt, _A1 * pg - _A0 * p0)
        absorbed = _A1 * half * (flux(op0, p0) + flux(opg, pg)) + _W * dt * flux(op1, p1)
        return p1, absorbed

    # Unit mass at y0 = 2 z - 1, split linearly between its two nodes (interior index - 1).
    s = jnp.asarray(z, dtype) * n
    j = jnp.clip(jnp.floor(s), 1, n - 1)
    frac = s - j
    nodes = jnp.arange(1, n, dtype=dtype)
    p0 = (jnp.where(nodes == j, 1.0 - frac, 0.0) + jnp.where(nodes == j + 1, frac, 0.0)) / h
    p0 = jnp.broadcast_to(p0, (drift.shape[0], m)).astype(dtype)
    ops_n = operators(a_n, b_n, d_n)
    xs = (
        tuple(x[:-1] for x in ops_n),
        operators(a_s, b_s, d_s),
        tuple(x[1:] for x in ops_n),
    )
    p_end, absorbed = jax.lax.scan(step, p0, xs)
    density = jnp.moveaxis(absorbed, 0, -1) / dt  # (K, 2, T)
    t_mid = t_nodes[:-1] + 0.5 * dt
    undecided = h * jnp.sum(p_end, axis=1)
    return PassageDensity(t=t_mid, density=density, undecided=undecided)
