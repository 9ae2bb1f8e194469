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

    ``step`` returns ``(state, output)`` like an optax transformation: the per-step
    output (e.g. the probability mass of deciding in that step) is stored only when
    the readout is applied to a saved trajectory, never inside :func:`simulate`.
    """

    @abc.abstractmethod
    def init(self, r0: Float[Array, "2"], *, dt: float, t_on: Float[Array, ""]) -> Any:
        """Initial state from the rates at time 0 (Hz), the step ``dt`` and stimulus onset (s)."""

    @abc.abstractmethod
    def step(
        self, state: Any, ts: Float[Array, " steps"], r: Float[Array, "steps 2"]
    ) -> tuple[Any, Any]:
        """Advance over consecutive steps of length ``dt`` ending at times ``ts`` (s).

        ``r[j]`` (Hz) are the rates during step ``j``. The simulation calls this once per
        block of steps, so the readout is vectorized over the block (see
        :func:`~multiscale.circuit.simulate`); the result must not depend on how the
        steps are grouped.
        """

    @abc.abstractmethod
    def finish(self, state: Any) -> eqx.Module:
        """The result Module (e.g. a decision) from the final state."""


class NoReadout(AbstractOnlineReadout):
    """The trivial readout: keeps nothing, returns an empty Module."""

    def init(self, r0: Float[Array, "2"], *, dt: float, t_on: Float[Array, ""]) -> None:
        del r0, dt, t_on
        return None

    def step(
        self, state: None, ts: Float[Array, " steps"], r: Float[Array, "steps 2"]
    ) -> tuple[None, None]:
        del ts, r
        return state, None

    def finish(self, state: None) -> eqx.Module:
        del state
        return _Empty()


class _Empty(eqx.Module):
    pass
