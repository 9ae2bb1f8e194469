"""One vocabulary of outcomes, from a synapse simulation to a sweep.

Every batched computation that can fail for some members reports an integer code per
member instead of aborting the others (as diffrax's ``RESULTS`` does for one solve):

==========  ====  =====================================================================
name        code  meaning
==========  ====  =====================================================================
ok          0     finished with finite values
nonfinite   1     a state or result became NaN or infinite
diverged    2     some trials of a batch member became non-finite (its summary is void)
undecided   3     a decision trial ended without a decision (kept, never dropped)
invalid     4     a parameter was out of its range where it was used
max_steps   5     an adaptive solver ran out of steps
failed      6     a solver or optimiser failed otherwise
==========  ====  =====================================================================

Codes 1, 2, 4, 5 and 6 mean the values of that member are not to be used.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class _Results:
    ok: int = 0
    nonfinite: int = 1
    diverged: int = 2
    undecided: int = 3
    invalid: int = 4
    max_steps: int = 5
    failed: int = 6

    def message(self, code: int) -> str:
        """The name of a code (``"unknown"`` for one not listed)."""
        for field in dataclasses.fields(self):
            if getattr(self, field.name) == int(code):
                return field.name
        return "unknown"

    def from_diffrax(self, result):
        """The code of a diffrax solve's ``RESULTS`` (ok, max_steps or failed), an int32 array."""
        import diffrax
        import jax.numpy as jnp

        return jnp.where(
            result == diffrax.RESULTS.successful,
            self.ok,
            jnp.where(result == diffrax.RESULTS.max_steps_reached, self.max_steps, self.failed),
        ).astype(jnp.int32)


RESULTS = _Results()
"""The outcome codes: ``RESULTS.ok``, ``RESULTS.nonfinite``, ... (see the module docstring)."""
