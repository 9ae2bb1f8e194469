r"""Path-averaged first-passage masses of the circuit, summed over paths inside the time loop.

The trial likelihood needs, per coherence and step, the first-event masses of the
:class:`~multiscale.behavior.HazardReadout` averaged over $M$ noise paths. Simulating
each path with a saved trajectory and applying the readout afterwards stores
$M \times$ steps rates per condition and runs two loops. Here one ``lax.scan`` over time
advances every condition and path at once (state arrays of shape
``(2, conditions, paths)``, populations first so that the circuit's own
:meth:`~multiscale.circuit.WongWang2006.vector_field` applies unchanged), runs the
readout's hazard in the same step, and emits only the path sums of the masses,
``(2, conditions)`` per step. The arithmetic is that of
:func:`~multiscale.circuit.simulate` with the readout inside (boxcar of running sums
over segments of one window, exact Ornstein–Uhlenbeck update, Euler step of $S$), and
the normals are those of :class:`~multiscale.circuit.CounterNoise` for the same keys, so
the masses equal the average of the per-path masses of
:func:`~multiscale.behavior.apply_readout` up to float rounding (tested). The normals do
not depend on the parameters: they are made once per chunk of paths, before the loop
(a few per cent of its time), and never differentiated.

**Derivatives.** Reverse mode works as for ``simulate``: each segment is checkpointed
and each chunk of paths too, so memory is that of one chunk. With few free parameters,
forward mode is cheaper: one tangent per parameter rides along in the same loop, nothing
is stored or recomputed. :data:`forward_mode_path_masses` computes the Jacobian of the
masses this way and hands it to reverse mode as a custom vjp
(:func:`~multiscale.fit.forward_mode`), so ``jax.grad`` of a loss built on the masses
still works. Measured
here (2 cores, 2048 paths x 6 coherences x 2600 steps): forward 0.54 s, ``grad`` through
the checkpointed loop 4.4x forward, forward mode with two perturbed parameters 2.7x.
Forward mode gives first derivatives only (a custom vjp cannot be differentiated in
forward mode again): Hessians use the plain function.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Key

from ..behavior import first_event_masses
from ..circuit import CounterNoise, Stimulus
from ..circuit._decision_simulation import check_step
from ._forward_mode import forward_mode

_NOISE = CounterNoise()


def _normals(keys: Key[Array, " paths"], n_steps: int) -> Float[Array, "steps 2 paths"]:
    """The standard normals ``simulate`` draws for these keys, ``(steps, 2, paths)``."""

    def one(key):
        state = _NOISE.init(key)
        return jax.vmap(lambda k: _NOISE.normals(state, k))(jnp.arange(n_steps, dtype=jnp.int32))

    return jnp.transpose(jax.vmap(one)(keys), (1, 2, 0))


def _chunk_sums(model, coherence, keys, weights):
    """Weighted path sums of masses ``(steps, 2, conditions)``, survivals ``(conditions,)``."""
    circuit, readout = model.circuit, model.readout
    dtype = jnp.result_type(float)
    n_steps = max(1, round(model.t1 / model.dt))
    n_on = round(model.t_on / model.dt)
    window = readout.window_steps(model.dt)
    smooth = window > 1
    seg = window if smooth else min(model.block, n_steps)
    n_full, rem = divmod(n_steps, seg)
    xi = jax.lax.stop_gradient(_normals(keys, n_steps))
    shape = (2, coherence.shape[0], keys.shape[0])

    dt = jnp.asarray(model.dt, dtype)
    decay = jnp.exp(-dt / jnp.asarray(circuit.tau_AMPA))
    noise_sd = jnp.asarray(circuit.sigma_noise) / jnp.sqrt(2.0) * jnp.sqrt(1.0 - decay**2)
    stim = jax.vmap(
        lambda c: Stimulus(coherence=c, mu0=model.mu0, t_on=model.t_on).on_currents(circuit),
        out_axes=1,
    )(coherence)[..., None]  # (2, conditions, 1)
    S0 = jnp.full(shape, 0.1, dtype)
    I0 = jnp.zeros(shape, dtype)
    _, r0 = circuit.vector_field(S0, I0)
    prev0 = jnp.cumsum(jnp.broadcast_to(r0, (seg,) + shape), axis=0) if smooth else None

    def step(carry, inp):
        S, I_noise, run, survival = carry
        k, tail, x = inp
        on = (k >= n_on).astype(dtype)
        dS, r = circuit.vector_field(S, on * stim + I_noise)
        run = run + r if smooth else r
        r_bar = (run + tail) / window if smooth else r
        # The readout's step ends at (k + 1) dt: it reads from the step that ends at onset.
        h = readout.hazard(r_bar) * (k + 1 >= n_on).astype(dtype)
        mass, survival = first_event_masses(survival, h, dt)
        I_noise = I_noise * decay + noise_sd * x[:, None, :]
        return (S + dt * dS, I_noise, run, survival), (run, mass @ weights)

    def segment(carry, i, size):
        S, I_noise, prev, survival = carry
        ks = i * seg + jnp.arange(size, dtype=jnp.int32)
        x = jax.lax.dynamic_slice_in_dim(xi, i * seg, size)
        tail = (prev[-1:] - prev)[:size] if smooth else jnp.zeros((size, 0), dtype)
        run0 = jnp.zeros(shape, dtype)
        (S, I_noise, _, survival), (runs, sums) = jax.lax.scan(
            step, (S, I_noise, run0, survival), (ks, tail, x)
        )
        if smooth and size == seg:
            prev = runs
        return (S, I_noise, prev, survival), sums

    carry = (S0, I0, prev0, jnp.ones(shape[1:], dtype))
    outs = []
    if n_full:
        full = jax.checkpoint(lambda c_, i: segment(c_, i, seg))
        carry, sums = jax.lax.scan(full, carry, jnp.arange(n_full, dtype=jnp.int32))
        outs.append(sums.reshape((n_full * seg,) + sums.shape[2:]))
    if rem:
        carry, sums = jax.checkpoint(lambda c_, i: segment(c_, i, rem))(
            carry, jnp.asarray(n_full, jnp.int32)
        )
        outs.append(sums)
    return jnp.concatenate(outs), carry[3] @ weights


def path_masses(
    model, coherence: Float[Array, " conditions"], keys: Key[Array, " paths"], chunk: int
) -> tuple[Float[Array, "conditions steps 2"], Float[Array, " conditions"]]:
    """Path-averaged first-event masses per step and survival at ``t1``, per condition.

    Paths run in chunks of ``chunk`` (the last padded with zero-weight paths) inside a
    checkpointed ``lax.scan``: memory is one chunk's, forward and under ``grad``.
    """
    check_step(model.circuit, model.dt)
    dtype = jnp.result_type(float)
    n = keys.shape[0]
    chunk = min(chunk, n)
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    keys = jnp.concatenate([keys, keys[:pad]]).reshape(n_chunks, chunk)
    weights = (jnp.arange(n_chunks * chunk) < n).astype(dtype).reshape(n_chunks, chunk)

    @jax.checkpoint
    def body(total, inp):
        q, survival = _chunk_sums(model, coherence, *inp)
        return (total[0] + q, total[1] + survival), None

    n_steps = max(1, round(model.t1 / model.dt))
    init = (jnp.zeros((n_steps, 2, coherence.shape[0]), dtype), jnp.zeros(coherence.shape, dtype))
    (q, survival), _ = jax.lax.scan(body, init, (keys, weights))
    return jnp.transpose(q, (2, 0, 1)) / n, survival / n


forward_mode_path_masses = forward_mode(path_masses)
"""As :func:`path_masses`, differentiated in forward mode (:func:`~multiscale.fit.forward_mode`)."""
