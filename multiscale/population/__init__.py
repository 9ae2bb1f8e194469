"""Population scale: many trials, subjects and parameter sets at once (vmap)."""
