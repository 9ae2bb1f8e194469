"""Circuit scale: rate and spiking microcircuits as jitted fixed-step scans."""

from ._decision_simulation import (
    CircuitTrajectory as CircuitTrajectory,
    Stimulus as Stimulus,
    simulate as simulate,
    simulate_batch as simulate_batch,
    simulate_with_normals as simulate_with_normals,
)
from ._neuromodulation import modulate_circuit as modulate_circuit
from ._noise import (
    AbstractCircuitNoise as AbstractCircuitNoise,
    CounterNoise as CounterNoise,
    GivenNormals as GivenNormals,
    ThreefryNoise as ThreefryNoise,
)
from ._online_readout import AbstractOnlineReadout as AbstractOnlineReadout, NoReadout as NoReadout
from ._phase_plane import (
    FixedPoint as FixedPoint,
    fixed_point as fixed_point,
    nullclines as nullclines,
    symmetric_fixed_point as symmetric_fixed_point,
    symmetry_breaking_mu0 as symmetry_breaking_mu0,
)
from ._wong_wang import WongWang2006 as WongWang2006
