"""Spine calcium and the calcium-based plasticity rules (Graupner–Brunel, Shouval)."""
