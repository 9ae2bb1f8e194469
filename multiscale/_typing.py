"""Shape and dtype aliases used across multiscale.

Dimension names are shared so that signatures read the same at every scale:
``time`` (samples of a trajectory), ``neurons`` (units of one circuit), ``pre post``
(a weight matrix), ``trials`` (a batch of independent trials), ``spikes`` (spike times).
"""

from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray, Real, Shaped

Scalar = Float[Array, ""]
Param = Float[ArrayLike, ""]
"""A scalar model parameter: a Python float or a 0-d array (traced under jit)."""
ScalarLike = float | Real[ArrayLike, ""]
Time = Float[Array, ""]
TimeLike = float | Real[ArrayLike, ""]
Times = Float[Array, " time"]
SpikeTimes = Float[Array, " spikes"]
State = Float[Array, " state"]
NeuronVector = Float[Array, " neurons"]
Weights = Float[Array, "pre post"]
TrialVector = Float[Array, " trials"]

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Float",
    "Int",
    "NeuronVector",
    "Param",
    "PRNGKeyArray",
    "Real",
    "Scalar",
    "ScalarLike",
    "Shaped",
    "SpikeTimes",
    "State",
    "Time",
    "TimeLike",
    "Times",
    "TrialVector",
    "Weights",
]
