"""Parameter sweeps: chunking under a memory budget, device sharding, resume."""

from ._decision import (
    STATUS_DIVERGED as STATUS_DIVERGED,
    STATUS_UNDECIDED as STATUS_UNDECIDED,
    DecisionSummary as DecisionSummary,
)
from ._design import (
    AbstractDesign as AbstractDesign,
    Grid as Grid,
    Halton as Halton,
    LatinHypercube as LatinHypercube,
    RandomUniform as RandomUniform,
    parameter_name as parameter_name,
)
from ._memory import (
    default_memory_budget as default_memory_budget,
    member_bytes as member_bytes,
    plan_chunk_size as plan_chunk_size,
)
from ._sweep import STATUS_NONFINITE as STATUS_NONFINITE, STATUS_OK as STATUS_OK, sweep as sweep
