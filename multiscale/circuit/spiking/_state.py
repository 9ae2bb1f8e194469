"""The state of a spiking network (units first, trials trailing)."""

from typing import NamedTuple

from jaxtyping import Array


class SpikingState(NamedTuple):
    """State of a :class:`SpikingNetwork` (units first, trials trailing).

    Attributes:
        V: membrane potential, mV (neurons, ...).
        syn: receptor variables, receptor-major (receptors * neurons, ...). When the
            step delivers spikes at the end of the step that emitted them (a
            :class:`DelayRing`, or event-driven projections that all share a one-step
            delay, as in COBA), they already hold the spikes arriving in the next step.
        w: adaptation current, nA (neurons, ...).
        ref: refractory steps left, int32 (neurons, ...).
        buffer: spikes of the last ``D`` steps, slot-major (D * neurons, ...); with a
            :class:`DelayRing`, the input arriving in the next ``D`` steps, slot-major,
            and one spare row that stays zero (D * receptors * neurons + 1, ...).
        k: steps taken, int32 (1, ...).
        count: spikes so far (neurons, ...).
        last: time of the last spike, s (neurons, ...).
        isi_sum, isi_sq: sum and sum of squares of the inter-spike intervals, s, s^2.
    """

    V: Array
    syn: Array
    w: Array
    ref: Array
    buffer: Array
    k: Array
    count: Array
    last: Array
    isi_sum: Array
    isi_sq: Array
