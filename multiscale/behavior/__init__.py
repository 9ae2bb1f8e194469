"""Behavior scale: choices, reaction times, psychometric and chronometric curves."""

from ._bounds import (
    AbstractBound as AbstractBound,
    ConstantBound as ConstantBound,
    ExponentialCollapse as ExponentialCollapse,
    HyperbolicCollapse as HyperbolicCollapse,
    LinearCollapse as LinearCollapse,
    WeibullCollapse as WeibullCollapse,
)
from ._choice_rt import Trials as Trials
from ._circuit_choice_model import CircuitChoiceModel as CircuitChoiceModel
from ._circuit_likelihood import (
    NDT_SD_MIN as NDT_SD_MIN,
    FirstPassage as FirstPassage,
    RTDensity as RTDensity,
    draw_trials as draw_trials,
    first_passage_density as first_passage_density,
    ndt_kernel as ndt_kernel,
    path_first_events as path_first_events,
    rt_density as rt_density,
    sample_circuit_trials as sample_circuit_trials,
    trial_log_likelihood as trial_log_likelihood,
)
from ._circuit_model import FIT_PROTOCOL as FIT_PROTOCOL, CircuitBehavior as CircuitBehavior
from ._circuit_summary import (
    CircuitSummary as CircuitSummary,
    circuit_summary as circuit_summary,
    circuit_summary_negative_log_likelihood as circuit_summary_negative_log_likelihood,
    summary_nll as summary_nll,
)
from ._circuit_trials import CircuitTrials as CircuitTrials, circuit_trials as circuit_trials
from ._curves import (
    ChoiceSummary as ChoiceSummary,
    Chronometric as Chronometric,
    LogisticFit as LogisticFit,
    WeibullFit as WeibullFit,
    chronometric as chronometric,
    fit_logistic as fit_logistic,
    fit_weibull as fit_weibull,
    psychometric as psychometric,
    summarize as summarize,
    summarize_soft as summarize_soft,
)
from ._ddm import (
    DDM as DDM,
    AbstractDDM as AbstractDDM,
    ProportionalRateDDM as ProportionalRateDDM,
    ddm_log_density as ddm_log_density,
    ddm_log_likelihood as ddm_log_likelihood,
    ddm_simulate as ddm_simulate,
)
from ._ddm_closed_form import (
    ddm_choice_probability as ddm_choice_probability,
    ddm_mean_decision_time as ddm_mean_decision_time,
    ddm_mean_rt as ddm_mean_rt,
    ddm_rt_variance as ddm_rt_variance,
    summary_negative_log_likelihood as summary_negative_log_likelihood,
)
from ._experiment import (
    ROITMAN_COHERENCES as ROITMAN_COHERENCES,
    Psychophysics as Psychophysics,
    psychophysics as psychophysics,
)
from ._gddm import GDDM as GDDM
from ._gddm_solver import FokkerPlanck as FokkerPlanck, PassageDensity as PassageDensity
from ._lba import LBA as LBA
from ._matching import (
    MatchingCounts as MatchingCounts,
    MatchingFit as MatchingFit,
    block_counts as block_counts,
    fit_matching as fit_matching,
    local_counts as local_counts,
    matching_probability as matching_probability,
    mean_field_choice as mean_field_choice,
)
from ._model import AbstractChoiceModel as AbstractChoiceModel, log_likelihood as log_likelihood
from ._ndt import (
    AbstractNDT as AbstractNDT,
    ExponentialNDT as ExponentialNDT,
    NormalNDT as NormalNDT,
)
from ._quantile_stats import (
    QuantileBins as QuantileBins,
    chi_squared as chi_squared,
    ddm_defective_cdf as ddm_defective_cdf,
    g_squared as g_squared,
    quantile_bins as quantile_bins,
)
from ._race import RacingDiffusion as RacingDiffusion
from ._readouts import (
    Decision as Decision,
    HazardReadout as HazardReadout,
    ReadoutTrace as ReadoutTrace,
    SoftDecision as SoftDecision,
    ThresholdReadout as ThresholdReadout,
    apply_readout as apply_readout,
    first_event_masses as first_event_masses,
)
from ._regression import (
    AbstractLink as AbstractLink,
    Identity as Identity,
    LinearPredictor as LinearPredictor,
    Log as Log,
    Logit as Logit,
    Regression as Regression,
    default_link as default_link,
)
from ._rlddm import RLDDM as RLDDM, RLTrials as RLTrials
