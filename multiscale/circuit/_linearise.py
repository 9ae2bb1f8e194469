r"""Steady states of a rate circuit and their linear stability.

The noise-free continuous-time field of a :class:`~multiscale.circuit.RateCircuit` is
$\dot x = F(x)$, where $x$ stacks the rates of the populations that have a rate time
constant, $\tau_r\,\dot r = -r + f(I)$, and every projection's gating (and short-term
plasticity) variables; the noise current is held at its mean, zero. The circuit's step
is explicit Euler in all of these variables, $x \leftarrow x + \Delta t\,F(x)$ (see
:class:`~multiscale.circuit.RateCircuit`), with the same $F$.

:func:`linearise` returns the Jacobian $J = \partial F/\partial x$ (``jax.jacobian``) and
its eigenvalues (1/s); the steady state is linearly stable if the **spectral abscissa**
$\alpha(J) = \max_k \operatorname{Re}\lambda_k$ is negative. :func:`steady_state` finds a
fixed point by Newton's method, $x \leftarrow x - J^{-1}F(x)$, and refuses one that is
unstable or not converged with an error that reports $\alpha$ (or the residual), instead of
returning a state that a simulation would leave. ``jax.grad`` of a steady-state rate is the
implicit-function derivative $-J^{-1}\,\partial F/\partial\theta$ at the converged point
(one final Newton step carries the gradient; the iterations are not differentiated).
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Complex, Float

from .._checks import error_if
from ._rate_circuit import RateCircuit, RateState


class SteadyState(eqx.Module):
    r"""A fixed point of a rate circuit's noise-free dynamics.

    Attributes:
        state: the circuit state at the fixed point (a :class:`RateState`, no batch axes).
        rates: rates of all units, Hz, shape (units,).
        jacobian: $\partial F/\partial x$ at the fixed point, 1/s.
        eigenvalues: its eigenvalues, 1/s (complex), sorted by decreasing real part.
        residual: the relative size of a further Newton step from the returned point,
            $\max_k |(J^{-1}F)_k| / (1 + |x_k|)$ (dimensionless; ~1e-7 in float32 when
            converged).
    """

    state: RateState
    rates: Float[Array, " units"]
    jacobian: Float[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    residual: Float[Array, ""]

    @property
    def spectral_abscissa(self) -> Array:
        r"""$\max_k \operatorname{Re}\lambda_k$, 1/s: negative for a stable fixed point."""
        return jnp.max(jnp.real(self.eigenvalues))

    @property
    def stable(self) -> Array:
        """True if every eigenvalue has a negative real part."""
        return self.spectral_abscissa < 0


def _check_circuit(circuit) -> None:
    if not isinstance(circuit, RateCircuit):
        raise TypeError(f"`circuit` must be a RateCircuit, got {type(circuit).__name__}")


def _with_checked_taus(circuit: RateCircuit) -> RateCircuit:
    """The circuit with its constrained parts and its populations' ``tau`` checked at run time."""
    circuit = circuit.checked()
    for i, p in enumerate(circuit.populations):
        if p.tau is None:
            continue
        tau = jnp.asarray(p.tau)
        tau = error_if(
            tau,
            ~(jnp.isfinite(tau) & (tau > 0)),
            f"RatePopulation `populations[{i}].tau` must be finite and > 0 s",
        )
        circuit = eqx.tree_at(lambda c, i=i: c.populations[i].tau, circuit, tau)
    return circuit


def _rate_units(circuit: RateCircuit) -> np.ndarray:
    """Indices of the units whose rate is a state variable (their population has ``tau``)."""
    mask = [p.tau is not None for p in circuit.populations for _ in range(p.size)]
    return np.flatnonzero(mask)


def _drive(circuit: RateCircuit, drive, dtype) -> Array:
    if drive is None:
        return jnp.zeros((circuit.n_units,), dtype)
    drive = jnp.asarray(drive, dtype)
    if drive.shape != (circuit.n_units,):
        raise ValueError(
            f"`drive` must have shape ({circuit.n_units},) (one input current per unit, nA), "
            f"got {drive.shape}"
        )
    return drive


def _frozen_u(circuit: RateCircuit) -> list[bool]:
    r"""Per projection: True where short-term utilisation ``u`` is constant (``tau_facil`` = 0).

    Such a ``u`` stays at ``U`` ($du/dt \equiv 0$); it is left out of the variables, since
    its eigenvalue 0 would say nothing about stability and make Newton's matrix singular.
    """
    out = []
    for proj in circuit.projections:
        st = proj.short_term
        if st is None:
            out.append(False)
            continue
        try:
            out.append(bool(np.all(np.asarray(st.tau_facil, dtype=float) == 0.0)))
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            out.append(False)
    return out


def _split(circuit: RateCircuit, state: RateState, frozen: tuple[bool, ...]):
    """``(x, unravel)``: the dynamic variables of ``state`` as one vector, and the inverse."""
    idx = _rate_units(circuit)
    rates = state.rates
    stp = tuple(
        st if st is None or not f else (st[0],)
        for st, f in zip(state.short_term, frozen, strict=True)
    )
    dyn = (state.gating, stp, None if rates is None else rates[idx])
    x, unravel_dyn = ravel_pytree(dyn)

    def unravel(x):
        gating, stp, r = unravel_dyn(x)
        short_term = tuple(
            st if st is None or not f else (st[0], old[1])
            for st, f, old in zip(stp, frozen, state.short_term, strict=True)
        )
        full = None if rates is None else jnp.zeros_like(rates).at[idx].set(r)
        return RateState(gating, short_term, full, jnp.zeros_like(state.I_noise))

    return x, unravel


def _derivatives(circuit: RateCircuit, state: RateState, drive: Array):
    """``(dstate, rates)``: the time derivative of every variable of one trial's ``state``
    (noise current held at zero) and the rates of all units, Hz.

    The same equations as :class:`RateCircuit`'s step, $x \\leftarrow x + \\Delta t\\,F(x)$,
    in continuous time (the tests check the two against each other).
    """
    pops = circuit.populations
    bounds = np.cumsum([0] + [p.size for p in pops])
    sl = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    dtype = drive.dtype
    current = drive + jnp.concatenate(
        [jnp.broadcast_to(jnp.asarray(p.I_0, dtype), (p.size,)) for p in pops]
    )
    for proj, s in zip(circuit.projections, state.gating, strict=True):
        post = pops[proj.post]
        onto = proj.weight(proj.synapse.rate_output(s, post.V), post.size)
        current = current.at[sl[proj.post]].add(onto)
    target = jnp.concatenate([p.transfer(current[k]) for p, k in zip(pops, sl, strict=True)])
    rates = jnp.concatenate(
        [target[k] if p.tau is None else state.rates[k] for p, k in zip(pops, sl, strict=True)]
    )
    gating, short_term = [], []
    for proj, s, st in zip(circuit.projections, state.gating, state.short_term, strict=True):
        r_pre = rates[sl[proj.pre]]
        if st is None:
            gating.append(proj.synapse.rate_field(s, r_pre))
            short_term.append(None)
        else:
            eff = r_pre * proj.short_term.relative_efficacy(st)
            gating.append(proj.synapse.rate_field(s, eff))
            short_term.append(proj.short_term.rate_field(st, r_pre))
    if state.rates is None:
        d_rates = None
    else:
        d_rates = jnp.concatenate(
            [
                jnp.zeros((p.size,), dtype)
                if p.tau is None
                else (target[k] - state.rates[k]) / jnp.asarray(p.tau)
                for p, k in zip(pops, sl, strict=True)
            ]
        )
    dstate = RateState(tuple(gating), tuple(short_term), d_rates, jnp.zeros_like(state.I_noise))
    return dstate, rates


def _field(circuit: RateCircuit, state: RateState, drive: Array, frozen: tuple[bool, ...]):
    """``(F, x0, unravel)``: the continuous-time field on the flat dynamic variables."""
    x0, unravel = _split(circuit, state, frozen)

    def F(x):
        dstate, _ = _derivatives(circuit, unravel(x), drive)
        return _split(circuit, dstate, frozen)[0]

    return F, x0, unravel


def _newton(G, y0: Array, n_iter: int) -> Array:
    r"""``n_iter`` Newton steps $y \leftarrow y - (\partial G/\partial y)^{-1} G(y)$."""
    jac = jax.jacobian(G)
    return jax.lax.fori_loop(0, n_iter, lambda _, y: y - jnp.linalg.solve(jac(y), G(y)), y0)


def _state_from_rates(
    circuit: RateCircuit, rates: Array, n_iter: int, frozen: tuple[bool, ...]
) -> RateState:
    r"""The state with these rates, each projection's variables at their steady state for them.

    Each projection's gating (and short-term plasticity) is solved from its own rate form
    at its presynaptic rates by Newton's method (one step for gatings linear in $s$, such
    as :class:`~multiscale.synapse.ExponentialSynapse` and
    :class:`~multiscale.synapse.SaturatingNMDA`).
    """
    state = circuit.init((), rates.dtype)
    if state.rates is not None:
        state = eqx.tree_at(lambda s: s.rates, state, rates)
    start = np.cumsum([0] + [p.size for p in circuit.populations])
    gating, short_term = [], []
    for proj, s0, st0, fz in zip(
        circuit.projections, state.gating, state.short_term, frozen, strict=True
    ):
        r_pre = rates[start[proj.pre] : start[proj.pre + 1]]
        stp = proj.short_term
        y0, unravel = ravel_pytree((s0, st0 if not fz else (st0[0],)))

        def G(y, proj=proj, stp=stp, unravel=unravel, fz=fz, st0=st0, r_pre=r_pre):
            s, st = unravel(y)
            if stp is None:
                return proj.synapse.rate_field(s, r_pre)
            st = (st[0], st0[1]) if fz else st
            dR, du = stp.rate_field(st, r_pre)
            ds = proj.synapse.rate_field(s, r_pre * stp.relative_efficacy(st))
            return ravel_pytree((ds, (dR,) if fz else (dR, du)))[0]

        y = _newton(G, y0, n_iter)
        s, st = unravel(y)
        gating.append(s)
        short_term.append(None if stp is None else ((st[0], st0[1]) if fz else st))
    return RateState(tuple(gating), tuple(short_term), state.rates, state.I_noise)


def _as_input(circuit, state_or_rates):
    """A one-trial :class:`RateState`, or the rates (Hz) as a float array; shapes checked."""
    if isinstance(state_or_rates, RateState):
        bad = [jnp.shape(x) for x in jax.tree.leaves(state_or_rates) if jnp.ndim(x) != 1]
        if bad:
            raise ValueError(
                f"`state_or_rates` must be the state of one trial (every leaf (units,)); "
                f"got leaves of shape {bad}"
            )
        return state_or_rates
    rates = jnp.asarray(state_or_rates)
    if not jnp.issubdtype(rates.dtype, jnp.floating):
        rates = rates.astype(jnp.result_type(float))
    if rates.shape != (circuit.n_units,):
        raise ValueError(
            f"`state_or_rates` must be a RateState or the rates of all {circuit.n_units} "
            f"units (Hz), shape ({circuit.n_units},); got shape {rates.shape}"
        )
    return rates


def _as_state(circuit, state_or_rates, n_iter, frozen) -> RateState:
    if isinstance(state_or_rates, RateState):
        return state_or_rates
    return _state_from_rates(circuit, state_or_rates, n_iter, frozen)


def linearise(
    circuit: RateCircuit,
    state_or_rates: RateState | Float[ArrayLike, " units"] | Sequence[float],
    drive: Float[ArrayLike, " units"] | Sequence[float] | None = None,
) -> tuple[Float[Array, "n n"], Complex[Array, " n"]]:
    r"""Jacobian and eigenvalues of the noise-free field of ``circuit`` at a state.

    The variables $x$ are, in this order, every projection's gating, the short-term
    plasticity variables, and the rates of the units whose population has a rate time
    constant; the noise current is held at zero.

    Args:
        circuit: a :class:`~multiscale.circuit.RateCircuit`.
        state_or_rates: a :class:`RateState` of one trial, or the rates of all units (Hz,
            shape (units,)); from rates, the synaptic variables are set to their steady
            state at those rates.
        drive: extra input current per unit, nA, shape (units,) (default zero).

    Returns:
        ``(J, eigenvalues)``: $J$ (1/s) and its eigenvalues (1/s, complex), sorted by
        decreasing real part (the first is the spectral abscissa).

    Example:
        >>> import jax.numpy as jnp, multiscale as ms
        >>> c = ms.circuit.isn_circuit()
        >>> J, lam = ms.circuit.linearise(c, jnp.array([40 / 3, 50 / 3]))
        >>> bool(jnp.real(lam[0]) < 0)
        True
    """
    _check_circuit(circuit)
    drive = _drive(circuit, drive, jnp.result_type(float))
    state = _as_input(circuit, state_or_rates)
    return _linearise(_arrays(circuit), state, drive, tuple(_frozen_u(circuit)))


def _arrays(tree):
    """Python-float leaves as arrays, so that ``filter_jit`` traces them (one compilation)."""
    dtype = jnp.result_type(float)
    return jax.tree.map(lambda x: jnp.asarray(x, dtype) if isinstance(x, float) else x, tree)


@eqx.filter_jit
def _linearise(circuit, state, drive, frozen):
    circuit = _with_checked_taus(circuit)
    state = _as_state(circuit, state, 20, frozen)
    F, x0, _ = _field(circuit, state, drive, frozen)
    J = jax.jacobian(F)(x0)
    lam = jnp.linalg.eigvals(J)
    return J, lam[jnp.argsort(-jnp.real(lam))]


def _no_grad(tree):
    return jax.tree.map(lambda x: jax.lax.stop_gradient(x) if eqx.is_array(x) else x, tree)


@eqx.filter_jit
def _solve(circuit, guess, drive, n_iter, frozen):
    circuit = _with_checked_taus(circuit)
    # Newton runs without gradients; one last step with the Jacobian held constant carries
    # them: at a converged x, d/dtheta [x - J^{-1} F(x; theta)] = -J^{-1} dF/dtheta, the
    # implicit-function derivative, without differentiating through the iterations.
    fixed, fixed_drive = _no_grad(circuit), _no_grad(drive)
    state = _as_state(fixed, _no_grad(guess), n_iter, frozen)
    F_fixed, x0, _ = _field(fixed, state, fixed_drive, frozen)
    x = _newton(F_fixed, x0, n_iter)
    F, _, unravel = _field(circuit, state, drive, frozen)
    x = x - jnp.linalg.solve(jax.lax.stop_gradient(jax.jacobian(F)(x)), F(x))
    J = jax.jacobian(F)(x)
    lam = jnp.linalg.eigvals(J)
    lam = lam[jnp.argsort(-jnp.real(lam))]
    residual = jnp.max(jnp.abs(jnp.linalg.solve(J, F(x))) / (1.0 + jnp.abs(x)))
    state = unravel(x)
    _, rates = _derivatives(circuit, state, drive)
    return SteadyState(state=state, rates=rates, jacobian=J, eigenvalues=lam, residual=residual)


def spectral_abscissa(
    circuit: RateCircuit,
    state_or_rates: RateState | Float[ArrayLike, " units"] | Sequence[float],
    drive: Float[ArrayLike, " units"] | Sequence[float] | None = None,
) -> Float[Array, ""]:
    r"""$\max_k \operatorname{Re}\lambda_k(J)$, 1/s, at a state (see :func:`linearise`)."""
    _, lam = linearise(circuit, state_or_rates, drive)
    return jnp.real(lam[0])


def _is_concrete(x) -> bool:
    try:
        float(jnp.max(jnp.abs(x)))
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return False
    return True


def steady_state(
    circuit: RateCircuit,
    guess: RateState | Float[ArrayLike, " units"] | Sequence[float],
    drive: Float[ArrayLike, " units"] | Sequence[float] | None = None,
    *,
    n_iter: int = 50,
    tol: float = 1e-4,
    throw: bool = True,
) -> SteadyState:
    r"""The fixed point of the noise-free circuit nearest ``guess`` (Newton), with its stability.

    Newton's method converges to the fixed point of the basin it starts in; start it from
    the expected rates, or from the final state of a noise-free simulation.

    Args:
        circuit: a :class:`~multiscale.circuit.RateCircuit`.
        guess: a :class:`RateState` of one trial, or rates of all units (Hz).
        drive: extra input current per unit, nA, shape (units,) (default zero).
        n_iter: Newton iterations.
        tol: largest ``residual`` accepted as converged (relative Newton step).
        throw: True: a fixed point that is unstable (spectral abscissa $\ge 0$) or not
            converged raises, ``ValueError`` with the value outside ``jit``,
            ``EquinoxRuntimeError`` inside. False: return it; check ``stable`` and
            ``residual``.

    Returns:
        A :class:`SteadyState`.

    Example:
        >>> import multiscale as ms
        >>> ss = ms.circuit.steady_state(ms.circuit.isn_circuit(), [10.0, 10.0])
        >>> [round(float(r), 3) for r in ss.rates]
        [13.333, 16.667]
    """
    _check_circuit(circuit)
    dtype = jnp.result_type(float)
    drive = _drive(circuit, drive, dtype)
    frozen = tuple(_frozen_u(circuit))
    out = _solve(_arrays(circuit), _as_input(circuit, guess), drive, n_iter, frozen)
    if throw:
        alpha, residual, rates = out.spectral_abscissa, out.residual, out.rates
        if _is_concrete(alpha) and _is_concrete(residual):
            if not bool(residual <= tol):
                raise ValueError(
                    f"steady_state did not converge: residual {float(residual):.3g} > `tol` "
                    f"{tol:g} after {n_iter} Newton steps; start nearer (e.g. from a "
                    "simulation's final state) or raise `n_iter`"
                )
            if not bool(alpha < 0):
                raise ValueError(
                    f"the fixed point is unstable: spectral abscissa {float(alpha):.4g} 1/s "
                    f">= 0 (rates {[round(float(r), 4) for r in rates]} Hz); these "
                    "parameters have no stable steady state here"
                )
        else:
            rates = error_if(
                rates, ~(residual <= tol), "steady_state did not converge (residual > tol)"
            )
            rates = error_if(
                rates, ~(alpha < 0), "the fixed point is unstable: spectral abscissa >= 0 1/s"
            )
            out = eqx.tree_at(lambda s: s.rates, out, rates)
    return out
