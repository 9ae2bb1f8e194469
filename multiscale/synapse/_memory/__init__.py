"""Memory synapses: cascade and binary synapses, tagging and capture, structural plasticity."""
