"""Population scale: many trials, subjects and parameter sets at once (vmap)."""

# --- batches of decision-circuit trials ---
from ._batch import (
    TrialBatch as TrialBatch,
    run_trials as run_trials,
    stack_circuits as stack_circuits,
    vary_parameters as vary_parameters,
)

# --- training sessions: dopamine-gated learning across trials ---
from ._session import (
    Learner as Learner,
    RewardPrediction as RewardPrediction,
    SensoryPopulation as SensoryPopulation,
    SessionResult as SessionResult,
    Task as Task,
    moving_accuracy as moving_accuracy,
    reversal_task as reversal_task,
    run_session as run_session,
)
