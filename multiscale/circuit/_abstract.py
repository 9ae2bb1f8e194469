r"""The interface every circuit implements, so that every other scale works with any circuit.

A circuit is an immutable Module that knows its own state and dynamics. The one time
loop of the package (:func:`~multiscale.circuit.integrate`) runs it; batches, sessions,
readouts, likelihoods, fits and sweeps see only this interface, never a concrete class.

State layout. The state is any pytree of arrays whose **leading axis is the unit**
(population) and whose trailing axes are the batch of trials advanced together
(``(units, *batch)``): XLA's CPU code vectorises elementwise work along the long minor
(trial) axis, not across a minor axis of a few populations.

Stepping. :meth:`AbstractCircuit.discretise` returns the step function for a step
``dt``, with every constant that does not change during a trial (decay factors, noise
amplitudes) computed once, outside the loop. The step function maps
``(state, drive, xi)`` to ``(new_state, rates)``: ``drive`` is the stimulus input of this
step (zero while the stimulus is off), ``xi`` the standard normals of this step
(``n_noise`` of them per trial), and ``rates`` the rates of all units at the **start**
of the step (Hz), which the readouts see.
"""

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
from jaxtyping import Array, Float

from ._protocol import Stimulus

StepFn = Callable[[Any, Array, Array], tuple[Any, Array]]


class AbstractCircuit(eqx.Module):
    """A circuit: ``init``, ``stimulus_input``, ``discretise``, ``choice_rates`` and checks."""

    @property
    @abc.abstractmethod
    def n_noise(self) -> int:
        """Independent standard normals the circuit needs per step and trial."""

    @abc.abstractmethod
    def init(self, batch: tuple[int, ...], dtype) -> Any:
        """The initial state for a batch of this shape (``()``: one trial), units first."""

    @abc.abstractmethod
    def stimulus_input(self, stimulus: Stimulus) -> Float[Array, "inputs ..."]:
        """The input the stimulus delivers while on, units first (the batch of the stimulus
        fields trailing)."""

    @abc.abstractmethod
    def discretise(self, dt: float) -> StepFn:
        """The step function ``(state, drive, xi) -> (state, rates)`` for step ``dt`` (s)."""

    def choice_rates(self, rates: Float[Array, "units ..."]) -> Float[Array, "2 ..."] | None:
        """The rates of the two choice populations (Hz), which decision readouts read.

        ``None`` for a circuit without a two-way choice: it runs only without a decision
        readout (:class:`~multiscale.circuit.NoReadout`).
        """
        del rates
        return None

    @abc.abstractmethod
    def check_step(self, dt: float) -> None:
        """Raise ``ValueError`` if ``dt`` (s) does not resolve the circuit's time constants
        (concrete values only; tracers are checked by :meth:`checked`)."""

    @abc.abstractmethod
    def checked(self) -> "AbstractCircuit":
        """This circuit with every constrained leaf checked at run time (``eqx.error_if``),
        so a value set with ``eqx.tree_at`` or computed inside ``jit`` is caught where used."""

    @abc.abstractmethod
    def violations(self) -> Array:
        """True where a constrained leaf is out of range (with the leaves' batch shape)."""
