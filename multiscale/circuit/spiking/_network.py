r"""A network of LIF neurons joined by sparse, delayed projections: a circuit like any other.

:class:`SpikingNetwork` implements :class:`~multiscale.circuit.AbstractCircuit`, so the
one time loop (:func:`~multiscale.circuit.integrate`) runs it. One step of $\Delta t$:

1. The spikes emitted $d$ steps ago (each projection's delay, read from a ring buffer of
   the last $D$ steps' spikes) cross each projection and add their weights to the
   receptors of the targets; Poisson inputs add theirs. With two or more distinct delays
   the spikes of each step are instead delivered once, when emitted, into a ring buffer of
   future input (:class:`DelayRing`), whose slot for the next step is added to the
   receptors at the end of the step.
2. The membrane potential is advanced over the step. With current and voltage-jump
   receptors only, the subthreshold equation is linear with constant coefficients and is
   integrated exactly (the exact propagator of Rotter & Diesmann 1999). With conductances
   the equation is linear in $V$ with coefficients that decay within the step; they are
   frozen at their mid-step values and the linear equation is then solved exactly
   (exponential integration, second order in $\Delta t$).
3. Neurons with $V \ge \vartheta$ spike (through the surrogate, so that ``jax.grad``
   passes), are reset to $V_r$ and held there for $\lceil t_\mathrm{ref}/\Delta t\rceil$
   steps (spikes on the step grid, as NEST's ``iaf_cond_exp``); receptors decay exactly.
4. Per-neuron spike statistics are accumulated in the state (count, sum and sum of squares
   of the inter-spike intervals), so rates and ISI CVs of a long trial need no spike
   raster in memory; the step's "rates" are the populations' instantaneous rates (Hz).

Randomness. The loop hands each step two standard normals per trial; their bits seed a
counter-based hash of (neuron, draw) that gives every neuron its own uniform number per
step (the construction of :class:`~multiscale.circuit.CounterNoise`), from which Poisson
counts are drawn by inversion.

State layout: every leaf has the units (or units x slots) on its leading axis and the
trials trailing, as the interface requires.

References:
    Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant linear systems
    with applications to neuronal modeling. Biol Cybern 81:381-402.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._abstract import AbstractCircuit
from .._protocol import Stimulus
from .._rate_circuit import check_time_constants, checked_parts, part_violations
from ._connectivity import (
    AbstractConnectivity,
    AbstractPropagation,
    DelayRing,
    EventDriven,
    delay_ring,
)
from ._neurons import LIF, Adaptation, DeltaVoltage, ExpConductance, ExpCurrent, PoissonInput
from ._state import SpikingState
from ._step import _discretise
from ._surrogate import AbstractSurrogate, FastSigmoid

Receptor = ExpConductance | ExpCurrent | DeltaVoltage


class Projection(eqx.Module):
    """Spikes of neurons ``[pre_start, pre_start + n_pre)`` onto ``[post_start, ...)``.

    Attributes:
        connectivity: the synapses (:func:`fixed_indegree`, :func:`fixed_probability`,
            :func:`dense`); indices are local to the two ranges.
        receptor: index of the receptor of the network that the weights feed (static).
        pre_start, post_start: first neuron of each range (static).
        delay: synaptic delay, s (static): a whole number of steps, at least one.
    """

    connectivity: AbstractConnectivity
    receptor: int = eqx.field(static=True)
    pre_start: int = eqx.field(static=True, default=0)
    post_start: int = eqx.field(static=True, default=0)
    delay: float = eqx.field(static=True, default=1e-4)


class SpikingNetwork(AbstractCircuit):
    r"""LIF neurons with receptors, sparse delayed projections and Poisson inputs.

    Attributes:
        neuron: the :class:`LIF` parameters (scalars or one per neuron).
        receptors: the receptor of each synaptic channel (:class:`ExpConductance`,
            :class:`ExpCurrent`, :class:`DeltaVoltage`).
        projections: the recurrent :class:`Projection` s.
        inputs: external :class:`PoissonInput` s.
        V0: initial membrane potential of each neuron, mV (neurons,).
        sizes: sizes of the populations, in neuron order (static); their rates are the
            step's output.
        names: population names (static).
        dt: the step the network is built for, s (static, 0.1 ms): delays and the
            refractory period are counted in its steps, and a trial must use it.
        adaptation: optional :class:`Adaptation`.
        surrogate: the spike nonlinearity's surrogate gradient (:class:`FastSigmoid`).
        propagation: how spikes cross sparse projections (:class:`EventDriven`).
        delivery: ``None``, or a :class:`DelayRing` of the projections (set by
            :meth:`with_delay_ring`, which :func:`run` calls): the step then delivers each
            step's spikes once into a ring buffer of future input instead of reading past
            spikes once per distinct delay. Rebuild it after changing the projections'
            indices (their weights are read from the projections).
    """

    neuron: LIF
    receptors: tuple[Receptor, ...]
    projections: tuple[Projection, ...]
    inputs: tuple[PoissonInput, ...]
    V0: Float[Array, " neurons"]
    sizes: tuple[int, ...] = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)
    dt: float = eqx.field(static=True, default=1e-4)
    adaptation: Adaptation | None = None
    surrogate: AbstractSurrogate = FastSigmoid()
    propagation: AbstractPropagation = EventDriven()
    delivery: DelayRing | None = None

    def __check_init__(self):
        n = self.n_neurons
        if jnp.shape(self.V0) != (n,):
            raise ValueError(
                f"`V0` must have shape ({n},) (one per neuron), got {jnp.shape(self.V0)}"
            )
        if len(self.names) != len(self.sizes):
            raise ValueError("`names` and `sizes` must have the same length")
        for i, p in enumerate(self.projections):
            c = p.connectivity
            if not 0 <= p.receptor < len(self.receptors):
                raise ValueError(
                    f"projections[{i}] `receptor` {p.receptor} is not a receptor index"
                )
            if p.pre_start + c.n_pre > n or p.post_start + c.n_post > n:
                raise ValueError(f"projections[{i}] reaches past the {n} neurons of the network")
            if not (isinstance(p.delay, int | float) and p.delay > 0):
                raise ValueError(f"projections[{i}] `delay` must be > 0 s, got {p.delay!r}")
        for i, inp in enumerate(self.inputs):
            if inp.stop > n or not 0 <= inp.receptor < len(self.receptors):
                raise ValueError(f"inputs[{i}] targets or `receptor` out of range")

    @property
    def n_neurons(self) -> int:
        return int(sum(self.sizes))

    @property
    def n_noise(self) -> int:
        return 2

    def init(self, batch, dtype) -> SpikingState:
        n, r = self.n_neurons, len(self.receptors)
        d = self._buffer_slots()
        zeros = lambda m: jnp.zeros((m,) + tuple(batch), dtype)
        V = jnp.broadcast_to(
            jnp.asarray(self.V0, dtype).reshape((n,) + (1,) * len(batch)), (n,) + tuple(batch)
        )
        return SpikingState(
            V=V,
            syn=zeros(r * n),
            w=zeros(n),
            ref=jnp.zeros((n,) + tuple(batch), jnp.int32),
            # A ring of future input has one spare last row, the target of the event
            # pass's unused lanes (see ``_connectivity._scatter``); it stays zero.
            buffer=zeros(d * n if self.delivery is None else d * r * n + 1),
            k=jnp.zeros((1,) + tuple(batch), jnp.int32),
            count=zeros(n),
            last=zeros(n),
            isi_sum=zeros(n),
            isi_sq=zeros(n),
        )

    def stimulus_input(self, stimulus: Stimulus) -> Float[Array, " 1"]:
        """A spiking network takes no random-dot stimulus: one zero input (ignored)."""
        del stimulus
        return jnp.zeros((1,), jnp.result_type(float))

    def choice_rates(self, rates: Float[Array, "pops ..."]) -> Float[Array, "2 ..."]:
        """The first two populations' rates (E, I), Hz: not a choice pair.

        The loop hands these to its readout; run a spiking network with
        :class:`~multiscale.circuit.NoReadout` (as :func:`run` does). Returning ``None``
        would hand ``NoReadout`` an empty array, which its annotation (two rates) rejects.
        """
        return jnp.concatenate([rates, rates])[:2]

    def _buffer_slots(self) -> int:
        return max([1] + self._delay_steps())

    def _delay_steps(self) -> list[int]:
        return [int(round(p.delay / self.dt)) for p in self.projections]

    def with_delay_ring(self) -> "SpikingNetwork":
        """This network with :attr:`delivery` set when its projections have two or more
        distinct delays (unchanged otherwise, or when already set)."""
        if self.delivery is not None:
            return self
        ring = delay_ring(
            self.projections, self._delay_steps(), self.n_neurons, len(self.receptors)
        )
        if ring is None:
            return self
        return eqx.tree_at(lambda m: m.delivery, self, ring, is_leaf=lambda x: x is None)

    def check_step(self, dt: float) -> None:
        taus = {"LIF tau_m": self.neuron.tau_m}
        for i, r in enumerate(self.receptors):
            if not isinstance(r, DeltaVoltage):
                taus[f"receptors[{i}] tau"] = r.tau
        if self.adaptation is not None:
            taus["Adaptation tau_w"] = self.adaptation.tau_w
        check_time_constants(taus, dt)
        if abs(dt - self.dt) > 1e-9 * self.dt:
            raise ValueError(
                f"`dt` ({dt} s) must be the step the network was built for (`dt` = "
                f"{self.dt} s: delays and refractoriness are counted in its steps)"
            )
        try:
            t_ref = float(np.min(np.asarray(self.neuron.t_ref, float)))
        except (
            TypeError,
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            t_ref = None
        if t_ref is not None and t_ref < dt * (1 - 1e-6):
            raise ValueError(f"LIF `t_ref` ({t_ref} s) must be at least one step (`dt` = {dt} s)")
        for i, p in enumerate(self.projections):
            steps = p.delay / dt
            if abs(steps - round(steps)) > 1e-6 * max(1.0, steps) or round(steps) < 1:
                raise ValueError(
                    f"projections[{i}] `delay` ({p.delay} s) must be a whole number of "
                    f"steps (`dt` = {dt} s), at least one"
                )

    def checked(self) -> "SpikingNetwork":
        return checked_parts(self)

    def violations(self) -> Array:
        return jnp.any(part_violations(self))

    def discretise(self, dt: float):
        self.check_step(dt)
        return _discretise(self, dt)
