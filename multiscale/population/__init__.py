"""Population scale: many trials, subjects and parameter sets at once (vmap)."""

from ._batch import (
    TrialBatch as TrialBatch,
    run_trials as run_trials,
    stack_circuits as stack_circuits,
    vary_parameters as vary_parameters,
)
from ._critical_period import (
    AbstractPlasticityGate as AbstractPlasticityGate,
    CriticalPeriod as CriticalPeriod,
)
from ._foraging import (
    SUGRUE_RATIOS as SUGRUE_RATIOS,
    AbstractChoice as AbstractChoice,
    CircuitChoice as CircuitChoice,
    FixedChoice as FixedChoice,
    Forager as Forager,
    ForagingResult as ForagingResult,
    ForagingTask as ForagingTask,
    ReducedChoice as ReducedChoice,
    TrialChoice as TrialChoice,
    baited_return as baited_return,
    block_task as block_task,
    run_foraging as run_foraging,
    sugrue_task as sugrue_task,
)
from ._ocular_dominance import (
    DIAZEPAM as DIAZEPAM,
    FLUOXETINE as FLUOXETINE,
    BinocularCortex as BinocularCortex,
    OcularDominanceResult as OcularDominanceResult,
    Rearing as Rearing,
    od_shift as od_shift,
    rearing as rearing,
    simulate_ocular_dominance as simulate_ocular_dominance,
)
from ._offline import (
    SleepPhase as SleepPhase,
    SleepResult as SleepResult,
    lesion_synapses as lesion_synapses,
    sleep as sleep,
    with_synapses as with_synapses,
)
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
from ._sleep_replay import (
    OverlappingTasks as OverlappingTasks,
    SleepReplay as SleepReplay,
    SleepReplayResult as SleepReplayResult,
    WakeTraining as WakeTraining,
    downscale as downscale,
    evidence_contrast as evidence_contrast,
    replay_night as replay_night,
    simulate_sleep_replay as simulate_sleep_replay,
)
from ._tagging_session import (
    TRAINING_TIME as TRAINING_TIME,
    BehavioralTagging as BehavioralTagging,
    memory_at as memory_at,
    recall_accuracy as recall_accuracy,
    recall_block as recall_block,
    simulate_behavioral_tagging as simulate_behavioral_tagging,
)
