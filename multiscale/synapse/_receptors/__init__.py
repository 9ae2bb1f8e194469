"""Receptor kinetics: kinetic and saturating receptors, the Mg block, short-term plasticity."""
