"""The interface of readouts that run inside a circuit's time loop (``(init, step)`` pairs).

A readout that runs online sees the rates step by step and keeps only its own small
state, so a batch of long trials needs no stored trajectory: this is what lets
:func:`~multiscale.circuit.simulate` run 1e5 trials at once. Concrete readouts (the
threshold crossing and the soft hazard) live in the behavior scale; the circuit scale
only fixes the interface, so imports keep pointing down the scales.
"""

import abc
from typing import Any

import equinox as eqx
from jaxtyping import Array, Float


class AbstractOnlineReadout(eqx.Module):
    """A readout of population rates, applied step by step: ``init``, ``step``, ``finish``.

    The simulation smooths the rates with a causal boxcar of
    :meth:`window_steps` steps before handing them to ``step`` (it keeps the running
    sums; the readout keeps only its own small state). ``step`` returns
    ``(state, output)`` like an optax transformation: the per-step output (e.g. the
    probability mass of deciding in that step) is stored only when the readout is
    applied to a saved trajectory, never inside :func:`simulate`.

    Rates arrive populations first, shape (2,) for one trial or (2, trials) in the
    batched loop of :func:`~multiscale.circuit.simulate_batch`; ``init`` gives the state
    the same trailing batch axes (scalars such as the onset stay scalars), and ``finish``
    is written for one trial (it is mapped over the batch).
    """

    @abc.abstractmethod
    def window_steps(self, dt: float) -> int:
        """Length of the boxcar applied to the rates, in steps of ``dt`` (1: no smoothing)."""

    @abc.abstractmethod
    def init(self, r0: Float[Array, "2 ..."], *, dt: float, t_on: Float[Array, ""]) -> Any:
        """Initial state from the rates at time 0 (Hz), the step ``dt`` and stimulus onset (s)."""

    @abc.abstractmethod
    def step(
        self, state: Any, t: Float[Array, ""], r_bar: Float[Array, "2 ..."]
    ) -> tuple[Any, Any]:
        """Advance over one step of length ``dt`` ending at time ``t`` (s).

        ``r_bar`` (Hz) is the mean of the rates over the last ``window_steps`` steps,
        this one included (before the trial, the rates at time 0 count as history).
        """

    @abc.abstractmethod
    def finish(self, state: Any) -> eqx.Module:
        """The result Module (e.g. a decision) from the final state."""


class AbstractDecision(eqx.Module):
    """The result of a two-choice decision readout, as the scales above the circuit read it.

    Hard readouts (a threshold crossing) and soft ones (a hazard) both give, per trial,
    the probability of each choice and the timing given each choice; a hard readout's
    probabilities are 0 or 1. Sessions and tasks draw choices and reaction times from
    these, whatever the readout (no attribute probing).
    """

    @abc.abstractmethod
    def choice_probabilities(self) -> Float[Array, "... 2"]:
        """P(choice 1), P(choice 2) within the trial (their sum is P(decided))."""

    @abc.abstractmethod
    def decision_times(self) -> Float[Array, "... 2"]:
        """Decision time given each choice, s after stimulus onset (NaN if impossible)."""

    @abc.abstractmethod
    def reaction_times(self) -> Float[Array, "... 2"]:
        """Reaction time given each choice (decision + non-decision time), s."""


class NoReadout(AbstractOnlineReadout):
    """The trivial readout: keeps nothing, returns an empty Module."""

    def window_steps(self, dt: float) -> int:
        del dt
        return 1

    def init(self, r0: Float[Array, "choices ..."], *, dt: float, t_on: Float[Array, ""]) -> None:
        del r0, dt, t_on
        return None

    def step(
        self, state: None, t: Float[Array, ""], r_bar: Float[Array, "choices ..."]
    ) -> tuple[None, None]:
        del t, r_bar
        return state, None

    def finish(self, state: None) -> eqx.Module:
        del state
        return _Empty()


class _Empty(eqx.Module):
    pass
