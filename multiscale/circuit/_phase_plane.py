r"""Noise-free analysis of the Wong–Wang circuit: fixed points, eigenvalues, nullclines.

Fixed points solve $f(S) = 0$ of the noise-free vector field by Newton's method with
the Jacobian from ``jax.jacobian``; their stability is read from the eigenvalues of
that Jacobian (1/s). The symmetric state $S_1 = S_2$ loses stability (symmetry
breaking) where its antisymmetric eigenvalue crosses zero, found by bisection in
$\mu_0$.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float

from ._protocol import Stimulus
from ._wong_wang import WongWang2006


class FixedPoint(eqx.Module):
    """A fixed point of the noise-free circuit.

    Attributes:
        S: gating $(S_1, S_2)$ at the fixed point.
        r: rates $(r_1, r_2)$, Hz.
        eigenvalues: eigenvalues of the Jacobian, 1/s (complex dtype), sorted by real part.
        residual: max |dS/dt| left at the returned point, 1/s.
    """

    S: Float[Array, "2"]
    r: Float[Array, "2"]
    eigenvalues: Complex[Array, "2"]
    residual: Float[Array, ""]

    @property
    def stable(self) -> Array:
        """True if every eigenvalue has a negative real part."""
        return jnp.all(jnp.real(self.eigenvalues) < 0)


def _stimulus_currents(circuit: WongWang2006, mu0: Float[ArrayLike, ""], coherence) -> Array:
    return circuit.stimulus_input(Stimulus(coherence=coherence, mu0=mu0))


def noise_free_field(
    circuit: WongWang2006, S: Float[Array, "2"], mu0: Float[ArrayLike, ""], coherence=0.0
) -> Float[Array, "2"]:
    """$dS/dt$ (1/s) without noise, with the stimulus on at ``mu0`` (Hz) and ``coherence``."""
    dS, _ = circuit.vector_field(S, _stimulus_currents(circuit, mu0, coherence))
    return dS


def fixed_point(
    circuit: WongWang2006,
    mu0: Float[ArrayLike, ""],
    S_guess: Float[ArrayLike, "2"],
    *,
    coherence: Float[ArrayLike, ""] = 0.0,
    n_iter: int = 50,
) -> FixedPoint:
    r"""Newton iteration $S \leftarrow S - J^{-1} f(S)$ from ``S_guess``, with ``jax.jacobian``.

    Args:
        circuit: the circuit.
        mu0: stimulus input rate, Hz (0 for the spontaneous state).
        S_guess: starting point; Newton converges to the fixed point of its basin.
        coherence: stimulus coherence (fraction).
        n_iter: Newton iterations.

    Returns:
        A :class:`FixedPoint` (check ``residual``).
    """
    f = lambda S: noise_free_field(circuit, S, mu0, coherence)
    jac = jax.jacobian(f)

    def newton(_, S):
        return S - jnp.linalg.solve(jac(S), f(S))

    S = jax.lax.fori_loop(0, n_iter, newton, jnp.asarray(S_guess, jnp.result_type(float)))
    _, r = circuit.vector_field(S, _stimulus_currents(circuit, mu0, coherence))
    eig = jnp.linalg.eigvals(jac(S))
    eig = eig[jnp.argsort(jnp.real(eig))]
    return FixedPoint(S=S, r=r, eigenvalues=eig, residual=jnp.max(jnp.abs(f(S))))


def symmetric_fixed_point(
    circuit: WongWang2006,
    mu0: Float[ArrayLike, ""],
    S_guess: Float[ArrayLike, ""] = 0.1,
    *,
    n_iter: int = 50,
) -> FixedPoint:
    """The fixed point on the diagonal $S_1 = S_2$ (1-D Newton), with the full 2-D eigenvalues."""
    g = lambda s: noise_free_field(circuit, jnp.stack([s, s]), mu0)[0]
    dg = jax.grad(g)
    s = jax.lax.fori_loop(
        0, n_iter, lambda _, s: s - g(s) / dg(s), jnp.asarray(S_guess, jnp.result_type(float))
    )
    return fixed_point(circuit, mu0, jnp.stack([s, s]), n_iter=2)


def symmetry_breaking_mu0(
    circuit: WongWang2006, low: float = 0.0, high: float = 30.0, *, n_bisect: int = 40
) -> Array:
    r"""$\mu_0$ (Hz) where the symmetric state's antisymmetric eigenvalue crosses zero.

    The symmetric state is followed from the spontaneous state at ``low`` upward by
    continuation (each Newton solve starts from the previous solution).
    """
    grid = jnp.linspace(low, high, 61)

    def follow(s, mu):
        fp = symmetric_fixed_point(circuit, mu, s)
        return fp.S[0], jnp.max(jnp.real(fp.eigenvalues))

    _, lam = jax.lax.scan(follow, jnp.asarray(0.1, jnp.result_type(float)), grid)
    i = jnp.argmax(lam > 0)
    lo, hi = grid[jnp.maximum(i - 1, 0)], grid[i]
    s_lo = symmetric_fixed_point(circuit, lo, 0.1).S[0]

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        fp = symmetric_fixed_point(circuit, mid, s_lo)
        unstable = jnp.max(jnp.real(fp.eigenvalues)) > 0
        return jnp.where(unstable, lo, mid), jnp.where(unstable, mid, hi)

    lo, hi = jax.lax.fori_loop(0, n_bisect, bisect, (lo, hi))
    return 0.5 * (lo + hi)


def nullclines(
    circuit: WongWang2006,
    mu0: Float[ArrayLike, ""],
    *,
    coherence: Float[ArrayLike, ""] = 0.0,
    n: int = 200,
) -> tuple[Float[Array, " n"], Float[Array, " n"], Float[Array, " n"]]:
    r"""Nullclines on a grid of $S_2$ (or $S_1$) values in [0, 1).

    For each grid value $s$, the $S_1$-nullcline point solves $\dot S_1(S_1, s) = 0$ and
    the $S_2$-nullcline point solves $\dot S_2(s, S_2) = 0$ (bisection; each is
    single-valued in the other variable because $\dot S_i$ decreases at $S_i = 1$).

    Returns:
        ``(grid, S1_on_nullcline_1, S2_on_nullcline_2)``: the $\dot S_1 = 0$ curve is
        $(S_1, S_2) = $ ``(S1_on_nullcline_1, grid)``, the $\dot S_2 = 0$ curve is
        ``(grid, S2_on_nullcline_2)``. Where a nullcline folds (several roots), this
        returns the largest root.
    """
    grid = jnp.linspace(0.0, 0.999, n)
    field = lambda S: noise_free_field(circuit, S, mu0, coherence)

    def largest_root(h):
        xs = jnp.linspace(0.0, 1.0, 401)
        vals = jax.vmap(h)(xs)
        sign_change = (vals[:-1] > 0) & (vals[1:] <= 0)
        j = jnp.max(jnp.where(sign_change, jnp.arange(400), 0))
        lo, hi = xs[j], xs[j + 1]

        def bis(_, b):
            lo, hi = b
            mid = 0.5 * (lo + hi)
            pos = h(mid) > 0
            return jnp.where(pos, mid, lo), jnp.where(pos, hi, mid)

        lo, hi = jax.lax.fori_loop(0, 40, bis, (lo, hi))
        return 0.5 * (lo + hi)

    n1 = jax.vmap(lambda s: largest_root(lambda x: field(jnp.stack([x, s]))[0]))(grid)
    n2 = jax.vmap(lambda s: largest_root(lambda x: field(jnp.stack([s, x]))[1]))(grid)
    return grid, n1, n2
