"""Spine calcium driven by NMDA receptors and back-propagating spikes (Shouval, Bear & Cooper 2002).

This is the calcium source of the calcium-control plasticity rule. It is deliberately
small: one calcium pool with linear extrusion, filled through NMDA receptors whose
conductance is gated by glutamate (presynaptic spikes) and by the Mg²⁺ block at the
spine potential, which a back-propagating action potential (BPAP) depolarises after
each postsynaptic spike. Voltage-dependent Ca²⁺ channels are not modelled (as in the
deterministic model of the paper): the BPAP acts only by relieving the Mg²⁺ block.
"""

import diffrax
import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, error_if
from ..._typing import SpikeTimes
from .._protocols import SpikeTrains
from .._receptors._mg_block import MgBlock
from .._receptors._receptor_simulation import _check_spike_times, _check_ts, _clip_at_jumps

# Default method objects (immutable, so sharing them between calls is safe).
_DEFAULT_SOLVER = diffrax.Tsit5()
_DEFAULT_CONTROLLER = diffrax.PIDController(rtol=1e-5, atol=1e-7)


def _latest(spikes: SpikeTimes, t: Real[ArrayLike, ""]) -> tuple[Array, Array]:
    """Time since the latest spike at or before ``t`` (0 if none) and whether there is one."""
    past = spikes <= t
    has = jnp.any(past)
    last = jnp.max(jnp.where(past, spikes, -jnp.inf))
    # Keep the unused branch finite so that gradients through jnp.where stay finite.
    return jnp.where(has, t - jnp.where(has, last, t), 0.0), has


class SpineCalcium(eqx.Module):
    r"""Calcium in a dendritic spine, after Shouval, Bear & Cooper 2002 (deterministic model).

    $$\frac{d[\mathrm{Ca}]}{dt} = G_\mathrm{NMDA}\, H(t)\, B(V(t))\, (V(t) - V_r)
      - \frac{[\mathrm{Ca}]}{\tau_\mathrm{Ca}}, \qquad [\mathrm{Ca}](0) = 0,$$

    where, with $s$ the time since the latest presynaptic spike and $q$ the time since
    the latest postsynaptic spike's BPAP arrival (spike time + ``bpap_delay``),

    $$H = P_0\left(I_f e^{-s/\tau_f} + (1 - I_f) e^{-s/\tau_s}\right), \qquad
      V = V_\mathrm{rest} + V_\mathrm{bp}\left(a_f e^{-q/\tau_{bf}} + (1 - a_f)
      e^{-q/\tau_{bs}}\right).$$

    $B$ is the Jahr–Stevens Mg²⁺ block (:class:`MgBlock`). $G_\mathrm{NMDA} < 0$ and
    $V < V_r$, so the influx is positive. Only the latest pre- and postsynaptic spike
    count (nearest-spike interaction), as in the reference reimplementation. The
    concentration is in µM, the unit of the rule's thresholds (0.35 and 0.55 µM).

    Attributes:
        P0: fraction of NMDA receptors opened by a presynaptic spike (0.5).
        I_f: weight of the fast NMDA component (0.5).
        tau_f: fast NMDA decay time constant, s (50 ms).
        tau_s: slow NMDA decay time constant, s (200 ms).
        G_NMDA: NMDA calcium conductance, µM/(s·mV) (−1/500 µM ms⁻¹ mV⁻¹ = −2).
        V_r: calcium reversal potential, mV (130).
        V_rest: resting potential, mV (−65).
        V_bp: BPAP amplitude above rest, mV (100).
        a_f: weight of the fast BPAP component (0.75; 1 for the "narrow" BPAP).
        tau_bf: fast BPAP decay time constant, s (3 ms).
        tau_bs: slow BPAP (after-depolarisation) decay time constant, s (25 ms).
        bpap_delay: BPAP arrival delay after the postsynaptic spike, s (2 ms).
        tau_Ca: calcium decay time constant, s (50 ms).
        block: the Mg²⁺ block (``MgBlock()``, 1 mM).

    References:
        Shouval HZ, Bear MF, Cooper LN (2002) PNAS 99:10831. Parameters as in the
        MATLAB reimplementation github.com/folmez/CaDP-MatLab (not checked against the
        paper's tables).
    """

    P0: Float[ArrayLike, ""] = 0.5
    I_f: Float[ArrayLike, ""] = 0.5
    tau_f: Float[ArrayLike, ""] = 0.05
    tau_s: Float[ArrayLike, ""] = 0.2
    G_NMDA: Float[ArrayLike, ""] = -2.0
    V_r: Float[ArrayLike, ""] = 130.0
    V_rest: Float[ArrayLike, ""] = -65.0
    V_bp: Float[ArrayLike, ""] = 100.0
    a_f: Float[ArrayLike, ""] = 0.75
    tau_bf: Float[ArrayLike, ""] = 0.003
    tau_bs: Float[ArrayLike, ""] = 0.025
    bpap_delay: Float[ArrayLike, ""] = 0.002
    tau_Ca: Float[ArrayLike, ""] = 0.05
    block: MgBlock = MgBlock()

    def __check_init__(self):
        check_fields(
            "SpineCalcium",
            self,
            Constraints(
                positive=("tau_f", "tau_s", "tau_bf", "tau_bs", "tau_Ca"),
                nonnegative=("P0", "I_f", "a_f", "V_bp", "bpap_delay"),
                finite=("G_NMDA", "V_r", "V_rest"),
            ),
        )

    def nmda_open(self, pre: SpikeTimes, t: Real[ArrayLike, ""]) -> Float[Array, ""]:
        """Open NMDA fraction $H(t)$ after the latest presynaptic spike (dimensionless)."""
        s, has = _latest(pre, t)
        h = self.I_f * jnp.exp(-s / self.tau_f) + (1.0 - self.I_f) * jnp.exp(-s / self.tau_s)
        return jnp.where(has, self.P0 * h, 0.0)

    def voltage(self, post: SpikeTimes, t: Real[ArrayLike, ""]) -> Float[Array, ""]:
        """Spine potential $V(t)$, mV: rest plus the BPAP of the latest postsynaptic spike."""
        q, has = _latest(post + self.bpap_delay, t)
        shape = self.a_f * jnp.exp(-q / self.tau_bf) + (1.0 - self.a_f) * jnp.exp(-q / self.tau_bs)
        return self.V_rest + jnp.where(has, self.V_bp * shape, 0.0)

    def influx(self, trains: SpikeTrains, t: Real[ArrayLike, ""]) -> Float[Array, ""]:
        r"""NMDA calcium influx $G_\mathrm{NMDA} H B(V) (V - V_r)$, µM/s."""
        V = self.voltage(trains.post, t)
        return self.G_NMDA * self.nmda_open(trains.pre, t) * self.block(V) * (V - self.V_r)

    def vector_field(
        self, t: Real[ArrayLike, ""], Ca: Float[Array, ""], trains: SpikeTrains
    ) -> Float[Array, ""]:
        r"""$d[\mathrm{Ca}]/dt$, µM/s, for use inside a larger ODE (e.g. a plasticity rule)."""
        return self.influx(trains, t) - Ca / self.tau_Ca

    def jump_times(self, trains: SpikeTrains) -> Float[Array, " jumps"]:
        """Sorted times (s) at which the influx jumps: pre spikes and BPAP arrivals.

        Pass them to ``diffrax.ClipStepSizeController(jump_ts=...)`` when this vector
        field is part of a larger ODE; ``+inf`` padding is kept (replace it before use).
        """
        return jnp.sort(jnp.concatenate([trains.pre, trains.post + self.bpap_delay]))


def spine_calcium(
    model: SpineCalcium,
    trains: SpikeTrains,
    ts: Real[ArrayLike, " time"],
    *,
    solver: diffrax.AbstractSolver = _DEFAULT_SOLVER,
    stepsize_controller: diffrax.AbstractStepSizeController = _DEFAULT_CONTROLLER,
    dt0: Real[ArrayLike, ""] | None = None,
    max_steps: int | None = None,
    throw: bool = True,
) -> Float[Array, " time"]:
    r"""Spine calcium $[\mathrm{Ca}](t)$ in µM at ``ts`` for a pre/post spike protocol.

    Integrates :meth:`SpineCalcium.vector_field` from $[\mathrm{Ca}](0) = 0$ with
    ``diffrax.diffeqsolve``. The influx is smooth between spikes and jumps at each
    presynaptic spike and BPAP arrival; those times are ``jump_ts`` of the step-size
    controller, so the adaptive solver never steps across a jump and its error
    control holds piece by piece.

    Args:
        model: the spine parameters.
        trains: pre- and postsynaptic spike times (:class:`SpikeTrains`, s).
        ts: save times, s, shape (time,), non-decreasing, ``>= 0``.
        solver: a diffrax solver (``Tsit5()``).
        stepsize_controller: a diffrax controller (``PIDController(rtol=1e-5,
            atol=1e-7)``). In float32 a long protocol (tens of seconds) costs more steps,
            because the time resolution near ``t`` is ``t`` × 1e-7; use float64 for
            long protocols that need tight tolerances. ``ConstantStepSize()`` with
            ``dt0`` gives fixed steps shortened only to land on jumps.
        dt0: initial (or, with ``ConstantStepSize()``, fixed) step, s.
        max_steps: step budget (``None``: 4096 + 64 per jump). Static.
        throw: raise on solver failure (``False``: the trace is NaN-free but may be wrong;
            use it only inside a ``vmap`` where one failure must not abort the batch).

    Returns:
        Calcium concentration, µM, shape (time,).

    Example:
        >>> import jax.numpy as jnp, multiscale as ms
        >>> trains = ms.synapse.pairing(0.01, 1.0, 1)
        >>> ca = ms.synapse.spine_calcium(ms.synapse.SpineCalcium(), trains,
        ...                               jnp.linspace(0.0, 0.3, 301))
        >>> bool(ca.max() > 0.55)
        True

    References:
        Shouval HZ, Bear MF, Cooper LN (2002) PNAS 99:10831.
    """
    pre = _check_spike_times(trains.pre)
    post = _check_spike_times(trains.post)
    trains = SpikeTrains(pre, post, trains.t_end)
    ts = _check_ts(jnp.asarray(ts, dtype=float))
    ts = error_if(ts, ts[0] < 0, "save times `ts` must be >= 0 s")
    t1 = ts[-1]
    jumps = model.jump_times(trains)
    jumps = jnp.where(jnp.isfinite(jumps), jumps, t1 + 1.0)
    if max_steps is None:
        max_steps = 4096 + 64 * int(jumps.shape[0])

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        solver,
        t0=jnp.zeros((), dtype=ts.dtype),
        t1=t1,
        dt0=dt0,
        y0=jnp.zeros((), dtype=ts.dtype),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=_clip_at_jumps(stepsize_controller, dt0, jumps),
        args=(model, trains),
        max_steps=max_steps,
        throw=throw,
    )
    return sol.ys


def _vector_field(t, Ca, args):
    # Module level (not a closure) so that diffrax's compiled solve is reused across calls.
    model, trains = args
    return model.vector_field(t, Ca, trains)
