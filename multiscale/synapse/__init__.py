"""Synapse scale: receptor kinetics, spine calcium and plasticity rules (diffrax).

Units: seconds, mV, nS, mM (see docs/units.md).
"""

from ._calcium._graupner_brunel import (
    GraupnerBrunel as GraupnerBrunel,
    gb2012_cortical as gb2012_cortical,
    gb2012_d as gb2012_d,
    gb2012_dp as gb2012_dp,
    gb2012_dpd as gb2012_dpd,
    gb2012_hippocampal as gb2012_hippocampal,
    gb2012_hippocampal_cultures as gb2012_hippocampal_cultures,
    gb2012_p as gb2012_p,
)
from ._calcium._graupner_brunel_readout import (
    GBRateState as GBRateState,
    burst_time_above as burst_time_above,
    graupner_brunel_rate as graupner_brunel_rate,
    pairing_time_above as pairing_time_above,
    periodic_time_above as periodic_time_above,
    poisson_time_above as poisson_time_above,
    stdp_curve as stdp_curve,
    synaptic_change as synaptic_change,
    transition_probabilities as transition_probabilities,
)
from ._calcium._graupner_brunel_sim import (
    GBResult as GBResult,
    simulate_graupner_brunel as simulate_graupner_brunel,
)
from ._calcium._shouval import (
    ShouvalBearCooper as ShouvalBearCooper,
    ShouvalResult as ShouvalResult,
    simulate_shouval as simulate_shouval,
)
from ._calcium._spine_calcium import SpineCalcium as SpineCalcium, spine_calcium as spine_calcium
from ._memory._binary_synapses import (
    BinarySynapseState as BinarySynapseState,
    StochasticBinarySynapses as StochasticBinarySynapses,
)
from ._memory._cascade import (
    AbstractMemorySynapse as AbstractMemorySynapse,
    BinaryMemorySynapse as BinaryMemorySynapse,
    CascadeSynapse as CascadeSynapse,
    MemorySimulation as MemorySimulation,
    memory_equilibrium as memory_equilibrium,
    memory_lifetime as memory_lifetime,
    memory_signal as memory_signal,
    memory_snr as memory_snr,
    memory_transition_matrices as memory_transition_matrices,
    simulate_memory as simulate_memory,
)
from ._memory._structural import (
    StructuralPlasticity as StructuralPlasticity,
    StructuralState as StructuralState,
    apply_mask as apply_mask,
    check_mask as check_mask,
    n_synapses as n_synapses,
    prune_below as prune_below,
    prune_weakest as prune_weakest,
    synaptogenesis as synaptogenesis,
)
from ._memory._tagging import (
    Induction as Induction,
    TaggingResult as TaggingResult,
    TagTriC as TagTriC,
    TagTriCState as TagTriCState,
    simulate_tagging as simulate_tagging,
    strong_lfs as strong_lfs,
    strong_tetanus as strong_tetanus,
    weak_lfs as weak_lfs,
    weak_tetanus as weak_tetanus,
)
from ._plasticity._bcm import (
    BCM as BCM,
    BCMState as BCMState,
    bcm_frequency_response as bcm_frequency_response,
)
from ._plasticity._carlsim_stdp import (
    CarlsimSTDP as CarlsimSTDP,
    CarlsimSTDPState as CarlsimSTDPState,
    PkaPlcState as PkaPlcState,
    PkaPlcSTDP as PkaPlcSTDP,
    carlsim_stdp as carlsim_stdp,
    pka_plc_amplitudes as pka_plc_amplitudes,
)
from ._plasticity._hebb import Hebb as Hebb, Oja as Oja
from ._plasticity._homeostasis import (
    InhibitorySTDP as InhibitorySTDP,
    ISTDPCellResult as ISTDPCellResult,
    ScalingState as ScalingState,
    SynapticScaling as SynapticScaling,
    simulate_istdp_cell as simulate_istdp_cell,
)
from ._plasticity._modulated import (
    Modulated as Modulated,
    ModulatedState as ModulatedState,
)
from ._plasticity._modulator_kinetics import (
    AbstractModulatorKinetics as AbstractModulatorKinetics,
    AcetylcholineKinetics as AcetylcholineKinetics,
    DopamineKinetics as DopamineKinetics,
    ModulatedEligibility as ModulatedEligibility,
    ModulatedEligibilityState as ModulatedEligibilityState,
    NoradrenalineKinetics as NoradrenalineKinetics,
    SerotoninKinetics as SerotoninKinetics,
)
from ._plasticity._neuromodulators import (
    AbstractNeuromodulator as AbstractNeuromodulator,
    Acetylcholine as Acetylcholine,
    ModulatoryEffect as ModulatoryEffect,
    Noradrenaline as Noradrenaline,
    Serotonin as Serotonin,
)
from ._plasticity._rate_rule import (
    AbstractBounds as AbstractBounds,
    AbstractDriftRule as AbstractDriftRule,
    AbstractRateRule as AbstractRateRule,
    HardBounds as HardBounds,
    ModulatorSignals as ModulatorSignals,
    RateRuleState as RateRuleState,
    SoftBounds as SoftBounds,
    with_weights as with_weights,
)
from ._plasticity._stdp import (
    AbstractPairingScheme as AbstractPairingScheme,
    AbstractSTDP as AbstractSTDP,
    AllToAll as AllToAll,
    NearestSpike as NearestSpike,
    PairSTDP as PairSTDP,
    STDPResult as STDPResult,
    TripletSTDP as TripletSTDP,
    pfister_hippocampal_all_to_all_full as pfister_hippocampal_all_to_all_full,
    pfister_hippocampal_all_to_all_minimal as pfister_hippocampal_all_to_all_minimal,
    pfister_hippocampal_nearest_full as pfister_hippocampal_nearest_full,
    pfister_visual_all_to_all_full as pfister_visual_all_to_all_full,
    pfister_visual_all_to_all_minimal as pfister_visual_all_to_all_minimal,
    pfister_visual_nearest_full as pfister_visual_nearest_full,
    simulate_stdp as simulate_stdp,
)
from ._plasticity._three_factor import (
    AbstractThreeFactorRule as AbstractThreeFactorRule,
    DopamineSTDP as DopamineSTDP,
    DopamineSTDPResult as DopamineSTDPResult,
    RewardModulatedHebb as RewardModulatedHebb,
    ThreeFactorState as ThreeFactorState,
    simulate_dopamine_stdp as simulate_dopamine_stdp,
)
from ._protocols import (
    SpikeTrains as SpikeTrains,
    pairing as pairing,
    pre_post_burst as pre_post_burst,
    tetanus as tetanus,
    theta_burst as theta_burst,
)
from ._receptors._kinetic_receptors import (
    AbstractReceptor as AbstractReceptor,
    FirstOrderReceptor as FirstOrderReceptor,
    GABABReceptor as GABABReceptor,
    ampa as ampa,
    gabaa as gabaa,
    gabab as gabab,
    nmda as nmda,
)
from ._receptors._mg_block import MgBlock as MgBlock, mg_block as mg_block
from ._receptors._rate_synapse import (
    AbstractRateSynapse as AbstractRateSynapse,
    ExponentialSynapse as ExponentialSynapse,
)
from ._receptors._receptor_simulation import (
    ReceptorTrajectory as ReceptorTrajectory,
    conductance as conductance,
    current as current,
    first_order_exact as first_order_exact,
    simulate_receptor as simulate_receptor,
    transmitter as transmitter,
)
from ._receptors._short_term import (
    ShortTermTrajectory as ShortTermTrajectory,
    TsodyksMarkram as TsodyksMarkram,
    short_term_efficacy as short_term_efficacy,
)
from ._receptors._wang2002 import SaturatingNMDA as SaturatingNMDA
