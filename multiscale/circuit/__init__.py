"""Circuit scale: rate microcircuits composed of populations and projections, one time loop.

Every circuit implements :class:`AbstractCircuit`; :func:`integrate` is the one loop that
runs them, and :func:`simulate`, :func:`simulate_batch` and the likelihoods of
:mod:`multiscale.behavior` all go through it.
"""

from . import spiking as spiking
from ._abstract import AbstractCircuit as AbstractCircuit
from ._areas import (
    CHAUDHURI_HIERARCHY as CHAUDHURI_HIERARCHY,
    AreaHierarchy as AreaHierarchy,
    area_pulse as area_pulse,
    projection_kinds as projection_kinds,
    projection_rules as projection_rules,
    replace_rules as replace_rules,
)
from ._decision_interneurons import (
    VIP_DRIVE as VIP_DRIVE,
    decision_interneuron_circuit as decision_interneuron_circuit,
)
from ._input_variability import (
    AbstractInputVariability as AbstractInputVariability,
    CoherenceVariability as CoherenceVariability,
    GainVariability as GainVariability,
    VariableInput as VariableInput,
    VariableInputState as VariableInputState,
)
from ._integrate import (
    Integration as Integration,
    OnlineUpdate as OnlineUpdate,
    integrate as integrate,
)
from ._interneurons import (
    HIGH_BASELINE as HIGH_BASELINE,
    INTERNEURON_TYPES as INTERNEURON_TYPES,
    INTERNEURON_W as INTERNEURON_W,
    LOW_BASELINE as LOW_BASELINE,
    Baseline as Baseline,
    interneuron_circuit as interneuron_circuit,
    isn_circuit as isn_circuit,
)
from ._laminar import (
    LaminarColumn as LaminarColumn,
    LinearColumn as LinearColumn,
    laminar_column as laminar_column,
    layer_frequency as layer_frequency,
    linearise_column as linearise_column,
)
from ._laminar_areas import (
    ALPHA_LOW_BETA_BAND as ALPHA_LOW_BETA_BAND,
    GAMMA_BAND as GAMMA_BAND,
    DirectedInfluence as DirectedInfluence,
    directed_influence as directed_influence,
    laminar_areas as laminar_areas,
)
from ._laminar_plasticity import (
    RAT_BARREL_WINDOWS as RAT_BARREL_WINDOWS,
    PlasticityWindow as PlasticityWindow,
    gate_rule as gate_rule,
    update_layer_weights as update_layer_weights,
    with_layer_rules as with_layer_rules,
)
from ._laminar_predictive import (
    OddballResult as OddballResult,
    PredictionUpdate as PredictionUpdate,
    oddball as oddball,
    predictive_column as predictive_column,
)
from ._linearise import (
    SteadyState as SteadyState,
    linearise as linearise,
    spectral_abscissa as spectral_abscissa,
    steady_state as steady_state,
)
from ._network_modulation import (
    InputGain as InputGain,
    lesion as lesion,
    modulate_rate_circuit as modulate_rate_circuit,
    resting_currents as resting_currents,
    scale_projections as scale_projections,
)
from ._neuromodulation import modulate_circuit as modulate_circuit
from ._noise import (
    AbstractCircuitNoise as AbstractCircuitNoise,
    CounterNoise as CounterNoise,
    GivenNormals as GivenNormals,
    ThreefryNoise as ThreefryNoise,
)
from ._online_readout import (
    AbstractDecision as AbstractDecision,
    AbstractOnlineReadout as AbstractOnlineReadout,
    NoReadout as NoReadout,
)
from ._phase_plane import (
    FixedPoint as FixedPoint,
    fixed_point as fixed_point,
    nullclines as nullclines,
    symmetric_fixed_point as symmetric_fixed_point,
    symmetry_breaking_mu0 as symmetry_breaking_mu0,
)
from ._populations import (
    AbbottChance as AbbottChance,
    AbstractTransfer as AbstractTransfer,
    OUNoise as OUNoise,
    PowerLaw as PowerLaw,
    RatePopulation as RatePopulation,
    Sigmoid as Sigmoid,
    ThresholdLinear as ThresholdLinear,
)
from ._projections import (
    AbstractWeight as AbstractWeight,
    Dense as Dense,
    Projection as Projection,
    SelfCross as SelfCross,
    Uniform as Uniform,
)
from ._protocol import Stimulus as Stimulus, TrialProtocol as TrialProtocol
from ._rate_circuit import (
    RateCircuit as RateCircuit,
    RateState as RateState,
    StimulusInput as StimulusInput,
    check_time_constants as check_time_constants,
)
from ._simulate import (
    CircuitTrajectory as CircuitTrajectory,
    simulate as simulate,
    simulate_batch as simulate_batch,
    simulate_with_normals as simulate_with_normals,
)
from ._spectra import (
    Coherence as Coherence,
    Spectrum as Spectrum,
    band_power as band_power,
    coherence as coherence,
    cross_spectrum as cross_spectrum,
    linear_noise_spectrum as linear_noise_spectrum,
    peak_frequency as peak_frequency,
    power_spectrum as power_spectrum,
)
from ._stimulus_gain import (
    AbstractCoherenceGain as AbstractCoherenceGain,
    CoherenceGain as CoherenceGain,
    NakaRushtonGain as NakaRushtonGain,
    PowerGain as PowerGain,
)
from ._two_compartment import (
    DendriteNonlinearity as DendriteNonlinearity,
    DisinhibitoryGating as DisinhibitoryGating,
    GatingState as GatingState,
    SomaFI as SomaFI,
    SomaFV as SomaFV,
    gating_selectivity as gating_selectivity,
)
from ._urgency import (
    AbstractUrgency as AbstractUrgency,
    RampUrgency as RampUrgency,
    SaturatingUrgency as SaturatingUrgency,
    Urgent as Urgent,
    UrgentState as UrgentState,
)
from ._wong_wang import WongWang2006 as WongWang2006
