"""multiscale: differentiable models from synaptic plasticity to behavior, in JAX.

The scales are subpackages, imported here as namespaces::

    import multiscale as ms
    ms.synapse     # receptor and calcium kinetics, plasticity rules (diffrax)
    ms.circuit     # circuits composed of populations and projections, one time loop
    ms.population  # trials, subjects and parameter sets (vmap); learning sessions
    ms.behavior    # choices, reaction times, psychometric/chronometric curves, likelihoods
    ms.data        # behavioral data in and out, published data sets
    ms.fit         # optimisation: constraints, optax loops, convergence checks
    ms.sweep       # parameter sweeps: chunking, sharding, resume

``multiscale.plot`` (matplotlib) is imported only on request.
"""

from . import (
    behavior as behavior,
    circuit as circuit,
    data as data,
    fit as fit,
    population as population,
    sweep as sweep,
    synapse as synapse,
)
from ._autodiff import ForwardMode as ForwardMode, ReverseMode as ReverseMode
from ._results import RESULTS as RESULTS

__version__ = "0.1.0"
