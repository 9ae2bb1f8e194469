"""Tsodyks–Markram short-term depression and facilitation, exact and event driven."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields
from ..._typing import SpikeTimes
from ._receptor_simulation import _check_spike_times


class TsodyksMarkram(eqx.Module):
    r"""Dynamic synapse with depression (resources $R$) and facilitation (utilisation $u$).

    Between spikes the resources recover and the utilisation relaxes,
    $\dot R = (1 - R)/\tau_\mathrm{rec}$, $\dot u = -u/\tau_\mathrm{facil}$; at a spike
    $u$ first jumps by $U(1 - u)$, then the fraction $u R$ of the resources is released
    (the efficacy of the spike) and removed from $R$. Solving exactly between spikes
    gives the recursion, for inter-spike interval $\Delta_n = t_{n+1} - t_n$:

    $$u_1 = U,\quad R_1 = 1,\qquad
      u_{n+1} = U + u_n (1 - U)\, e^{-\Delta_n/\tau_\mathrm{facil}},\qquad
      R_{n+1} = 1 - \bigl(1 - R_n (1 - u_n)\bigr)\, e^{-\Delta_n/\tau_\mathrm{rec}},$$

    and the efficacy (fraction of the synaptic strength delivered) of spike $n$ is
    $E_n = u_n R_n$. With $\tau_\mathrm{facil} = 0$ the utilisation stays at $U$ (pure
    depression, Tsodyks & Markram 1997); a large $U$ then gives a paired-pulse ratio
    $E_2/E_1 = 1 - U e^{-\Delta/\tau_\mathrm{rec}} < 1$. A small $U$ with a long
    $\tau_\mathrm{facil}$ gives facilitation, $E_2 > E_1$ (Markram, Wang & Tsodyks 1998).

    Attributes:
        U: utilisation of resources by the first spike (release probability), in (0, 1].
        tau_rec: recovery time constant of the resources, s.
        tau_facil: decay time constant of facilitation, s (0 for none).

    Example:
        >>> import jax.numpy as jnp, multiscale as ms
        >>> stp = ms.synapse.TsodyksMarkram(U=0.5, tau_rec=0.8, tau_facil=0.0)
        >>> res = ms.synapse.short_term_efficacy(stp, jnp.array([0.0, 0.05]))
        >>> round(float(res.efficacy[1] / res.efficacy[0]), 3)
        0.53

    References:
        Tsodyks MV, Markram H (1997) PNAS 94:719. Markram H, Wang Y, Tsodyks M (1998)
        PNAS 95:5323. Tsodyks M, Pawelzik K, Markram H (1998) Neural Comput 10:821 (the
        continuous model whose exact solution the recursion is).
    """

    U: Float[ArrayLike, ""] = 0.5
    tau_rec: Float[ArrayLike, ""] = 0.8
    tau_facil: Float[ArrayLike, ""] = 0.0
    constraints = Constraints(positive=("U", "tau_rec"), nonnegative=("tau_facil",))

    def __check_init__(self):
        check_fields("TsodyksMarkram", self, self.constraints)
        try:
            U = float(self.U)
        except (TypeError, jax.errors.ConcretizationTypeError):
            return
        if U > 1:
            raise ValueError(f"TsodyksMarkram `U` must be in (0, 1], got {U}")

    def rate_init(self, shape: tuple[int, ...], dtype=None) -> tuple[Array, Array]:
        """Rested resources and utilisation $(R, u) = (1, U)$ for a rate form of this ``shape``."""
        dtype = dtype or jnp.result_type(float)
        return jnp.ones(shape, dtype), jnp.full(shape, self.U, dtype)

    def rate_field(
        self, state: tuple[Array, Array], r: Float[Array, "*shape"]
    ) -> tuple[Array, Array]:
        r"""Mean-field $(dR/dt, du/dt)$ under Poisson spikes of rate ``r`` (Hz).

        $$\frac{dR}{dt} = \frac{1 - R}{\tau_\mathrm{rec}} - u R\,r, \qquad
          \frac{du}{dt} = -\frac{u - U}{\tau_\mathrm{facil}} + U (1 - u)\,r$$

        (Tsodyks, Pawelzik & Markram 1998, rate equations); with $\tau_\mathrm{facil} = 0$
        $u = U$ throughout.
        """
        R, u = state
        dR = (1.0 - R) / jnp.asarray(self.tau_rec) - u * R * r
        tau_f = jnp.asarray(self.tau_facil)
        facilitating = tau_f > 0
        du = jnp.where(
            facilitating,
            -(u - self.U) / jnp.where(facilitating, tau_f, 1.0) + self.U * (1.0 - u) * r,
            0.0,
        )
        return dR, du

    def relative_efficacy(self, state: tuple[Array, Array]) -> Array:
        """$u R / U$: the efficacy per spike relative to a rested synapse's first spike."""
        R, u = state
        return u * R / jnp.asarray(self.U)

    def steady_state_efficacy(self, frequency: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        r"""Efficacy $u^* R^*$ reached during a long regular train at ``frequency`` (Hz).

        The fixed points of the recursion at $\Delta = 1/f$ are
        $u^* = U / (1 - (1 - U) e^{-\Delta/\tau_\mathrm{facil}})$ and
        $R^* = (1 - e^{-\Delta/\tau_\mathrm{rec}}) / (1 - (1 - u^*) e^{-\Delta/\tau_\mathrm{rec}})$.
        """
        delta = 1.0 / jnp.asarray(frequency, dtype=float)
        d_f = _decay(delta, self.tau_facil)
        d_r = jnp.exp(-delta / jnp.asarray(self.tau_rec))
        u = self.U / (1.0 - (1.0 - self.U) * d_f)
        R = (1.0 - d_r) / (1.0 - (1.0 - u) * d_r)
        return u * R


class ShortTermTrajectory(eqx.Module):
    """Per-spike state of a :class:`TsodyksMarkram` synapse.

    Attributes:
        u: utilisation at each spike (after its facilitation jump), shape (spikes,).
        R: available resources just before each spike, shape (spikes,).
        efficacy: $u R$, the fraction of the synaptic strength delivered by each spike,
            shape (spikes,); 0 for ``+inf`` padding.
    """

    u: Float[Array, " spikes"]
    R: Float[Array, " spikes"]
    efficacy: Float[Array, " spikes"]


def _decay(delta: Array, tau: Float[ArrayLike, ""]) -> Array:
    """$e^{-\\Delta/\\tau}$, with $\\tau = 0$ meaning instant decay (safe in value and gradient)."""
    tau = jnp.asarray(tau)
    zero = tau <= 0
    safe_tau = jnp.where(zero, 1.0, tau)
    return jnp.where(zero, 0.0, jnp.exp(-delta / safe_tau))


def short_term_efficacy(model: TsodyksMarkram, spike_times: SpikeTimes) -> ShortTermTrajectory:
    """Efficacy of every spike of a train under Tsodyks–Markram dynamics (exact, event driven).

    One ``lax.scan`` step per spike applies the recursion of :class:`TsodyksMarkram`.
    Padded ``+inf`` spikes do not change the state and get efficacy 0.

    Args:
        model: the synapse parameters.
        spike_times: presynaptic spike times, s, shape (spikes,), ascending, ``+inf`` padded.

    Returns:
        A :class:`ShortTermTrajectory`.
    """
    spike_times = _check_spike_times(jnp.asarray(spike_times, dtype=float))
    dtype = spike_times.dtype
    U = jnp.asarray(model.U, dtype=dtype)
    if spike_times.shape[0] == 0:
        empty = jnp.zeros(0, dtype=dtype)
        return ShortTermTrajectory(u=empty, R=empty, efficacy=empty)
    # Intervals to the previous spike; the first spike sees a fully recovered synapse.
    previous = jnp.concatenate([jnp.full((1,), -jnp.inf, dtype=dtype), spike_times[:-1]])
    real = jnp.isfinite(spike_times)
    first = ~jnp.isfinite(previous)
    delta = jnp.where(real & ~first, spike_times - previous, 1.0)

    def step(carry, inputs):
        u_prev, R_prev = carry
        delta_n, real_n, first_n = inputs
        u = U + u_prev * (1.0 - U) * _decay(delta_n, model.tau_facil)
        d_rec = jnp.exp(-delta_n / jnp.asarray(model.tau_rec, dtype=dtype))
        R = 1.0 - (1.0 - R_prev * (1.0 - u_prev)) * d_rec
        u = jnp.where(first_n, U, u)
        R = jnp.where(first_n, 1.0, R)
        # Padding: keep the state, report zero efficacy.
        u = jnp.where(real_n, u, u_prev)
        R = jnp.where(real_n, R, R_prev)
        return (u, R), (u, R, jnp.where(real_n, u * R, 0.0))

    init = (U, jnp.ones((), dtype=dtype))
    _, (u, R, eff) = jax.lax.scan(step, init, (delta, real, first))
    return ShortTermTrajectory(u=u, R=R, efficacy=eff)
