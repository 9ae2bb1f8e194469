r"""An urgency signal: a growing input, the same for both choice populations.

Monkeys' reaction-time distributions in the random-dot task are cut short at low
coherence: long decisions are rarer than a fixed bound on accumulated evidence predicts.
Ditterich (2006) showed that Roitman & Shadlen's (2002) RT distributions and LIP
activity need a time-variant decision process, and Churchland et al. (2008) measured an
evidence-independent, rising component of LIP activity shared by the populations that
compete for the choice: an **urgency signal**. Added to both populations of an attractor
circuit it plays the role of a collapsing bound: as it grows, the symmetric state loses
stability sooner and the rates reach the readout's threshold on less evidence.

:class:`Urgent` composes any circuit with an :class:`AbstractUrgency` (here
:class:`RampUrgency`, $I_u(t) = s\,\max(0, t - d)$, nA, with $t$ the time since stimulus
onset, or :class:`SaturatingUrgency`, which levels off). The urgency current is added to
the stimulus input of the receiving units while the stimulus is on; the circuit's own
dynamics, noise and readouts are unchanged. The time since onset is carried in the state
(one extra row, advanced by ``dt`` on each step with the stimulus on), so
:func:`~multiscale.circuit.integrate`, the readouts, the trial likelihood and the fits run
it through the ordinary interface.

References:
    Ditterich J (2006) Evidence for time-variant decision making. Eur J Neurosci
    24:3628-3641.
    Churchland AK, Kiani R, Shadlen MN (2008) Decision-making with multiple alternatives.
    Nat Neurosci 11:693-702.
    Roitman JD, Shadlen MN (2002) Response of neurons in the lateral intraparietal area
    during a combined visual discrimination reaction time task. J Neurosci 22:9475-9489.
    Hanks T, Kiani R, Shadlen MN (2014) A neural mechanism of speed-accuracy tradeoff in
    macaque area LIP. eLife 3:e02260.
"""

import abc
from typing import Any, NamedTuple

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, violations
from ._abstract import AbstractCircuit
from ._protocol import Stimulus

Param = Float[ArrayLike, "..."]


class AbstractUrgency(eqx.Module):
    """A choice-independent input current (nA) as a function of the time since onset (s)."""

    @abc.abstractmethod
    def __call__(self, t: Float[Array, "*batch"]) -> Float[Array, "*batch"]:
        """The urgency current, nA, at ``t`` s after stimulus onset."""

    @abc.abstractmethod
    def checked(self) -> "AbstractUrgency":
        """This signal with its constrained leaves checked at run time."""

    @abc.abstractmethod
    def violations(self) -> Array:
        """True where a constrained leaf is out of range."""


class RampUrgency(AbstractUrgency):
    r"""A linear ramp $I_u(t) = s\,\max(0, t - d)$ after a delay $d$.

    Attributes:
        slope: $s$, nA/s (0.01: the background current of Wong & Wang's circuit,
            0.3255 nA, grows by 3 % per second).
        delay: $d$, s after stimulus onset (0).

    Example:
        >>> import jax.numpy as jnp
        >>> u = RampUrgency(slope=0.02, delay=0.1)
        >>> [round(float(x), 4) for x in u(jnp.array([0.0, 0.1, 0.6]))]
        [0.0, 0.0, 0.01]
    """

    slope: Param = 0.01
    delay: Param = 0.0
    constraints = Constraints(nonnegative=("slope", "delay"))

    def __check_init__(self):
        check_fields("RampUrgency", self, self.constraints)

    def __call__(self, t):
        return jnp.asarray(self.slope) * jnp.maximum(t - jnp.asarray(self.delay), 0.0)

    def checked(self) -> "RampUrgency":
        return checked("RampUrgency", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class SaturatingUrgency(AbstractUrgency):
    r"""An urgency that rises and levels off, $I_u(t) = s\,\tau\,(1 - e^{-t/\tau})$.

    It starts as the ramp $s\,t$ and approaches $s\,\tau$ with time constant $\tau$:
    the evidence-independent component of LIP activity rises and then levels off
    (Churchland et al. 2008; Hanks et al. 2014 described the urgency they estimated from
    LIP by a saturating function), where a linear ramp keeps growing. $\tau \to \infty$
    is :class:`RampUrgency` with $d = 0$ (tested: within 1e-4 relative over 2 s at
    $\tau = 10^4$ s). Differentiable in $s$ and $\tau$.

    Attributes:
        slope: $s$, the initial slope, nA/s, >= 0 (0.01).
        tau: $\tau$, s, > 0 (1.0); the plateau is $s\,\tau$ nA.

    Example:
        >>> import jax.numpy as jnp
        >>> u = SaturatingUrgency(slope=0.02, tau=0.5)
        >>> [round(float(x), 4) for x in u(jnp.array([0.0, 0.5, 100.0]))]
        [0.0, 0.0063, 0.01]

    References:
        Hanks T, Kiani R, Shadlen MN (2014) A neural mechanism of speed-accuracy tradeoff
        in macaque area LIP. eLife 3:e02260.
    """

    slope: Param = 0.01
    tau: Param = 1.0
    constraints = Constraints(nonnegative=("slope",), positive=("tau",))

    def __check_init__(self):
        check_fields("SaturatingUrgency", self, self.constraints)

    def __call__(self, t):
        tau = jnp.asarray(self.tau)
        return jnp.asarray(self.slope) * tau * -jnp.expm1(-jnp.maximum(t, 0.0) / tau)

    def checked(self) -> "SaturatingUrgency":
        return checked("SaturatingUrgency", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class UrgentState(NamedTuple):
    """The wrapped circuit's state and the time since stimulus onset, s, ``(1, *batch)``."""

    inner: Any
    elapsed: Array


class Urgent(AbstractCircuit):
    r"""A circuit with an urgency current added to its choice populations' input.

    While the stimulus is on, unit $i$ of ``units`` receives $I_{\mathrm{stim},i} +
    I_u(t)$, with $t$ the time since onset and $I_u$ the ``urgency`` signal; the other
    units and everything else of ``circuit`` are unchanged. With ``RampUrgency(slope=0)``
    the circuit is ``circuit`` itself (tested).

    Attributes:
        circuit: the circuit (any :class:`~multiscale.circuit.AbstractCircuit` whose
            stimulus input is a current onto its units, units first).
        urgency: the urgency signal (an :class:`AbstractUrgency`).
        units: the units that receive it (static; the two choice populations (0, 1)).

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.Urgent(ms.circuit.WongWang2006(), ms.circuit.RampUrgency(0.02))
        >>> c.n_noise
        2

    References:
        Churchland AK, Kiani R, Shadlen MN (2008) Nat Neurosci 11:693-702.
    """

    circuit: AbstractCircuit
    urgency: AbstractUrgency
    units: tuple[int, ...] = eqx.field(static=True, default=(0, 1))

    def __check_init__(self):
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"Urgent `circuit` must be an AbstractCircuit, got {type(self.circuit).__name__}"
            )
        if not isinstance(self.urgency, AbstractUrgency):
            raise TypeError(
                f"Urgent `urgency` must be an AbstractUrgency, got {type(self.urgency).__name__}"
            )
        if len(self.units) < 1 or len(set(self.units)) != len(self.units):
            raise ValueError(f"Urgent `units` must be distinct unit indices, got {self.units}")

    @property
    def n_noise(self) -> int:
        return self.circuit.n_noise

    def init(self, batch, dtype) -> UrgentState:
        return UrgentState(self.circuit.init(batch, dtype), jnp.zeros((1,) + tuple(batch), dtype))

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        # One extra input row of ones: it is 1 while the stimulus is on (integrate zeroes
        # the whole drive while it is off), which advances the clock of the urgency.
        drive = self.circuit.stimulus_input(stimulus)
        if drive.shape[0] <= max(self.units):
            raise ValueError(
                f"Urgent `units` {self.units} must index the circuit's input rows "
                f"({drive.shape[0]})"
            )
        return jnp.concatenate([drive, jnp.ones_like(drive[:1])])

    def discretise(self, dt: float):
        inner_step = self.circuit.discretise(dt)
        units = jnp.asarray(self.units)
        dt_ = jnp.asarray(dt, jnp.result_type(float))

        def step(state: UrgentState, drive, xi):
            on, stim = drive[-1:], drive[:-1]
            current = self.urgency(state.elapsed[0]) * on[0]
            stim = stim.at[units].add(jnp.broadcast_to(current, stim.shape[1:]))
            inner, rates = inner_step(state.inner, stim, xi)
            return UrgentState(inner, state.elapsed + dt_ * on), rates

        return step

    def choice_rates(self, rates):
        return self.circuit.choice_rates(rates)

    def check_step(self, dt: float) -> None:
        self.circuit.check_step(dt)

    def checked(self) -> "Urgent":
        return Urgent(self.circuit.checked(), self.urgency.checked(), self.units)

    def violations(self) -> Array:
        return self.circuit.violations() | self.urgency.violations()
