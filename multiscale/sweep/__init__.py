"""Parameter sweeps: chunking under a memory budget, device sharding, resume."""
