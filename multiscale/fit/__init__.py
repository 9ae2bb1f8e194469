"""Fitting: losses, parameter constraints and optax loops."""

from .._autodiff import (
    AbstractDifferentiation as AbstractDifferentiation,
    ForwardMode as ForwardMode,
    ReverseMode as ReverseMode,
    forward_mode as forward_mode,
)
from .._constraints import (
    AbstractTransform as AbstractTransform,
    Bounded as Bounded,
    LogScale as LogScale,
    Positive as Positive,
    Real as Real,
    constraint as constraint,
    to_constrained as to_constrained,
    to_unconstrained as to_unconstrained,
)
from ._backtracking import (
    ArmijoLBFGSState as ArmijoLBFGSState,
    adam_then_lbfgs_armijo as adam_then_lbfgs_armijo,
)
from ._calibration import (
    Calibration as Calibration,
    simulation_based_calibration as simulation_based_calibration,
)
from ._circuit_fit import (
    CircuitFit as CircuitFit,
    SummaryData as SummaryData,
    circuit_free_parameters as circuit_free_parameters,
    default_circuit_behavior as default_circuit_behavior,
    fit_circuit_summary as fit_circuit_summary,
    summarize_trials as summarize_trials,
)
from ._convergence import (
    OptimumCheck as OptimumCheck,
    check_derivatives as check_derivatives,
    check_optimum as check_optimum,
    parameter_names as parameter_names,
)
from ._ddm_fit import (
    ddm_negative_log_likelihood as ddm_negative_log_likelihood,
    fit_ddm_trials as fit_ddm_trials,
)
from ._fit import FitHistory as FitHistory, fit as fit, optimize as optimize
from ._hierarchical import (
    HierarchicalFit as HierarchicalFit,
    SubjectTrials as SubjectTrials,
    fit_hierarchical as fit_hierarchical,
    subject_trials as subject_trials,
)
from ._io import (
    load_point_estimates as load_point_estimates,
    save_point_estimates as save_point_estimates,
)
from ._learning_fit import (
    LearningCurve as LearningCurve,
    LearningRuleFit as LearningRuleFit,
    expected_learning_curve as expected_learning_curve,
    fit_learning_rule as fit_learning_rule,
    learning_curve as learning_curve,
    learning_curve_nll as learning_curve_nll,
    learning_rate_parameters as learning_rate_parameters,
)
from ._neural_likelihood import (
    ROITMAN_COHERENCE as ROITMAN_COHERENCE,
    CircuitSimulator as CircuitSimulator,
    MixtureDensityNetwork as MixtureDensityNetwork,
    NeuralLikelihoodFit as NeuralLikelihoodFit,
    NeuralLikelihoodModel as NeuralLikelihoodModel,
    SimulationSet as SimulationSet,
    simulate_training_set as simulate_training_set,
    train_neural_likelihood as train_neural_likelihood,
)
from ._newton import NewtonState as NewtonState, newton as newton
from ._optimizers import (
    AdamState as AdamState,
    AdamThenLBFGSState as AdamThenLBFGSState,
    adam as adam,
    adam_then_lbfgs as adam_then_lbfgs,
    lbfgs as lbfgs,
)
from ._parameters import (
    Free as Free,
    Parameterization as Parameterization,
    parameterize as parameterize,
)
from ._posterior import (
    Prior as Prior,
    log_posterior_fn as log_posterior_fn,
    regression_priors as regression_priors,
    sample_posterior as sample_posterior,
)
from ._posterior_result import Posterior as Posterior, load_posterior as load_posterior
from ._priors import (
    AbstractPrior as AbstractPrior,
    Beta as Beta,
    Gamma as Gamma,
    HalfNormal as HalfNormal,
    LogNormal as LogNormal,
    Normal as Normal,
    Uniform as Uniform,
)
from ._roitman_fit import fit_proportional_rate_summary as fit_proportional_rate_summary
from ._trial_fit import CircuitTrialFit as CircuitTrialFit, fit_circuit_trials as fit_circuit_trials
from ._uncertainty import (
    aic as aic,
    bic as bic,
    laplace_covariance as laplace_covariance,
    n_parameters as n_parameters,
    standard_errors as standard_errors,
)
