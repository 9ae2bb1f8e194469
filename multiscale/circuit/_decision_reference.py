r"""Reference path: the Wong–Wang circuit as an SDE solved by ``diffrax.diffeqsolve``.

The state is $y = (S_1, S_2, I_{\mathrm{noise},1}, I_{\mathrm{noise},2})$ with

$$dS = f(S, I_\mathrm{stim}(t) + I_\mathrm{noise})\,dt, \qquad
  dI_\mathrm{noise} = -\frac{I_\mathrm{noise}}{\tau_\mathrm{AMPA}}\,dt
  + \frac{\sigma_\mathrm{noise}}{\sqrt{\tau_\mathrm{AMPA}}}\,dW,$$

driven by a ``diffrax.VirtualBrownianTree``. It is slow and exists so that tests can
check the fast ``lax.scan`` integrator of :func:`~multiscale.circuit.simulate`
against an independent solver on the *same* Brownian path: the scan is driven by
$\xi_k = (W(t_{k+1}) - W(t_k))/\sqrt{\Delta t}$ through
:func:`~multiscale.circuit.simulate_with_normals`.
"""

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._protocol import Stimulus, TrialProtocol
from ._wong_wang import WongWang2006

_HEUN = diffrax.Heun()


def brownian_path(*, key: PRNGKeyArray, t1: float, tol: float) -> diffrax.VirtualBrownianTree:
    """A two-dimensional Brownian motion on [0, t1] (s), resolved to ``tol`` (s)."""
    return diffrax.VirtualBrownianTree(
        0.0, t1, tol=tol, shape=jax.ShapeDtypeStruct((2,), jnp.result_type(float)), key=key
    )


def brownian_normals(
    path: diffrax.VirtualBrownianTree, *, dt: float, n_steps: int
) -> Float[Array, "steps 2"]:
    r"""Standard normals $\xi_k = (W(t_{k+1}) - W(t_k))/\sqrt{\Delta t}$ of a path on a grid."""
    dtype = jnp.result_type(float)
    t = jnp.arange(n_steps + 1, dtype=dtype) * jnp.asarray(dt, dtype)
    W = jax.vmap(path.evaluate)(t)
    return jnp.diff(W, axis=0) / jnp.sqrt(jnp.asarray(dt, W.dtype))


def simulate_sde(
    circuit: WongWang2006,
    stimulus: Stimulus,
    path: diffrax.VirtualBrownianTree,
    *,
    protocol: TrialProtocol,
    solver: diffrax.AbstractSolver = _HEUN,
) -> Float[Array, "2"]:
    """Gating $S(t_1)$ from the diffrax SDE solve with a fixed step ``dt`` (s).

    Args:
        circuit, stimulus: as in :func:`~multiscale.circuit.simulate`.
        path: the Brownian motion (its ``t1`` must be >= ``t1``).
        protocol: the trial's timing (its ``dt`` is the fixed step; ``t1`` the end time);
            the initial gating is ``circuit.S0``.
        solver: a diffrax SDE solver (Heun: strong order 1 for additive noise).

    Returns:
        $S(t_1)$, shape (2,).
    """

    on_level = circuit.stimulus_input(stimulus)
    t_on, t_off = protocol.t_on, protocol.t_on + protocol.duration

    def drift(t, y, args):
        del args
        S, I_n = y[:2], y[2:]
        on = (t >= t_on) & (t < t_off)
        dS, _ = circuit.vector_field(S, jnp.where(on, on_level, 0.0) + I_n)
        return jnp.concatenate([dS, -I_n / jnp.asarray(circuit.tau_AMPA)])

    def diffusion(t, y, args):
        del t, args
        g = jnp.asarray(circuit.sigma_noise) / jnp.sqrt(jnp.asarray(circuit.tau_AMPA))
        return jnp.concatenate([jnp.zeros((2, 2), y.dtype), g * jnp.eye(2, dtype=y.dtype)])

    terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, path))
    dtype = jnp.result_type(float)
    y0 = jnp.concatenate([jnp.full((2,), circuit.S0, dtype), jnp.zeros((2,), dtype)])
    dt, n_steps = protocol.dt, protocol.n_steps
    sol = diffrax.diffeqsolve(
        terms,
        solver,
        0.0,
        n_steps * dt,
        dt,
        y0,
        saveat=diffrax.SaveAt(t1=True),
        max_steps=n_steps + 1,
    )
    return sol.ys[0, :2]
