"""A circuit as a behavioral model: the circuit, its soft readout and the noise model of RT."""

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import Constraints, check_fields, checked, error_if
from ..circuit import AbstractCircuit, TrialProtocol
from ._readouts import HazardReadout

FIT_PROTOCOL = TrialProtocol(dt=1e-3, t_on=0.1, t1=2.6, segment=100)
"""The likelihoods' default trial: 1 ms steps (``tau_AMPA / 2``, the largest the Wong–Wang
circuit allows), 0.1 s of settling before the stimulus, 2.5 s of stimulus."""


class CircuitBehavior(eqx.Module):
    """Any circuit with two choice populations, its soft readout and the behavioral noise.

    Attributes:
        circuit: the circuit (any :class:`~multiscale.circuit.AbstractCircuit` whose
            ``choice_rates`` are not ``None``).
        readout: the hazard readout (``threshold`` Hz, ``non_decision_time`` s).
        lapse: contaminant probability $\\epsilon$ (1e-3).
        ndt_sd: SD of the non-decision time, s (0).
        rt_max: upper end of the contaminant's uniform RT, s (2.5); it fixes the RT grid,
            so it is a Python number.
        mu0: stimulus input rate $\\mu_0$, Hz (30).
        protocol: the trial's timing (:data:`FIT_PROTOCOL`).
    """

    circuit: AbstractCircuit
    readout: HazardReadout = HazardReadout()
    lapse: float = 1e-3
    ndt_sd: float = 0.0
    rt_max: float = 2.5
    mu0: float = eqx.field(static=True, default=30.0)
    protocol: TrialProtocol = FIT_PROTOCOL
    constraints = Constraints(nonnegative=("ndt_sd", "readout.non_decision_time"))

    def __check_init__(self):
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"CircuitBehavior `circuit` must be an AbstractCircuit, got "
                f"{type(self.circuit).__name__}"
            )
        if not isinstance(self.readout, HazardReadout):
            raise TypeError("CircuitBehavior `readout` must be a HazardReadout (differentiable)")
        if not isinstance(self.protocol, TrialProtocol):
            raise TypeError("CircuitBehavior `protocol` must be a TrialProtocol")
        if isinstance(self.lapse, int | float) and not 0.0 < self.lapse < 1.0:
            raise ValueError(f"CircuitBehavior `lapse` must be in (0, 1), got {self.lapse}")
        check_fields("CircuitBehavior", self, self.constraints)
        try:
            rt_max = float(self.rt_max)
        except (
            TypeError,
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            return
        if not rt_max > 0:
            raise ValueError(f"CircuitBehavior `rt_max` must be > 0 s, got {self.rt_max}")

    def checked_circuit(self) -> "CircuitBehavior":
        """This model with the circuit's and the noise model's values checked at run time."""
        model = checked("CircuitBehavior", self, self.constraints)
        lapse = jnp.asarray(model.lapse)
        lapse = error_if(
            lapse, ~((lapse > 0) & (lapse < 1)), "CircuitBehavior `lapse` must be in (0, 1)"
        )
        model = eqx.tree_at(lambda m: m.lapse, model, lapse)
        return eqx.tree_at(lambda m: m.circuit, model, model.circuit.checked())
