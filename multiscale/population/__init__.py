"""Population scale: many trials, subjects and parameter sets at once (vmap)."""

# --- batches of decision-circuit trials ---
from ._batch import (
    TrialBatch as TrialBatch,
    run_trials as run_trials,
    stack_circuits as stack_circuits,
    vary_parameters as vary_parameters,
)
