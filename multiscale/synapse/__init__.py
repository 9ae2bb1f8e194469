"""Synapse scale: receptor kinetics, spine calcium and plasticity rules (diffrax).

Units: seconds, mV, nS, mM (see docs/units.md).
"""

from ._protocols import (
    SpikeTrains as SpikeTrains,
    pairing as pairing,
    pre_post_burst as pre_post_burst,
    tetanus as tetanus,
    theta_burst as theta_burst,
)
from ._wang2002 import SaturatingNMDA as SaturatingNMDA

# --- receptor kinetics and short-term plasticity ---
# --- calcium and calcium-based rules ---
# --- spike-timing, BCM and Hebbian rules ---
