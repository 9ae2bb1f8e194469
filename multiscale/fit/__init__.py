"""Fitting: losses, parameter constraints and optax loops."""
