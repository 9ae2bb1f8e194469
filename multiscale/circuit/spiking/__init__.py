"""Spiking networks: LIF populations, sparse delayed projections, surrogate gradients.

A :class:`SpikingNetwork` is a circuit (:class:`~multiscale.circuit.AbstractCircuit`) run
by the one time loop; :func:`run` runs one trial or a batch of them and returns spike
statistics. :func:`coba_network`, :func:`cuba_network` and :func:`brunel_network` build the
published benchmark networks.
"""

from ._connection_rules import (
    dense as dense,
    fixed_indegree as fixed_indegree,
    fixed_probability as fixed_probability,
)
from ._connectivity import (
    AbstractConnectivity as AbstractConnectivity,
    AbstractPropagation as AbstractPropagation,
    DelayRing as DelayRing,
    DenseConnectivity as DenseConnectivity,
    EventDriven as EventDriven,
    SegmentSum as SegmentSum,
    SparseConnectivity as SparseConnectivity,
)
from ._damped import DampedSurrogate as DampedSurrogate
from ._models import (
    brunel_network as brunel_network,
    coba_network as coba_network,
    cuba_network as cuba_network,
)
from ._network import Projection as Projection, SpikingNetwork as SpikingNetwork
from ._neurons import (
    LIF as LIF,
    Adaptation as Adaptation,
    DeltaVoltage as DeltaVoltage,
    ExpConductance as ExpConductance,
    ExpCurrent as ExpCurrent,
    PoissonInput as PoissonInput,
)
from ._potjans_diesmann import potjans_diesmann as potjans_diesmann
from ._run import SpikingRun as SpikingRun, population_fano as population_fano, run as run
from ._state import SpikingState as SpikingState
from ._stdp_builders import (
    izhikevich2007_network as izhikevich2007_network,
    recurrent_stdp_network as recurrent_stdp_network,
)
from ._stdp_networks import (
    AbstractSpikeRule as AbstractSpikeRule,
    DopamineSTDP as DopamineSTDP,
    InhibitorySTDP as InhibitorySTDP,
    PairSTDP as PairSTDP,
    PlasticRun as PlasticRun,
    PlasticSpikingNetwork as PlasticSpikingNetwork,
    run_plastic as run_plastic,
)
from ._surrogate import (
    AbstractSurrogate as AbstractSurrogate,
    ArcTan as ArcTan,
    FastSigmoid as FastSigmoid,
    Triangle as Triangle,
)
from ._vogels2011 import vogels2011_network as vogels2011_network
from ._wang2002 import (
    Wang2002Network as Wang2002Network,
    Wang2002State as Wang2002State,
    wang2002_network as wang2002_network,
)
