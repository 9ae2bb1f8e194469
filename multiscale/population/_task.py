"""The trial schedule of a training session: directions, coherences, reward mapping, modulators.

:class:`Task` holds one value per trial; :func:`reversal_task` draws random directions and
flips the rewarded mapping at a reversal (:func:`~multiscale.population.run_session`).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray


class Task(eqx.Module):
    """The trial schedule of a session (all arrays of length n_trials).

    Attributes:
        direction: motion direction per trial, +1 or -1.
        coherence: coherence per trial, fraction in [0, 1].
        mapping: +1 where direction +1 is rewarded for choosing population 1, -1 where
            the mapping is reversed.
        dopamine_scale: multiplies the dopamine signal per trial (1 = intact).
        acetylcholine: acetylcholine level per trial (dimensionless, >= 0; 0 = baseline),
            delivered to the rules with the trial's :class:`~multiscale.synapse.ModulatorSignals`.
        noradrenaline: noradrenaline level per trial (dimensionless, >= 0).
        serotonin: serotonin level per trial (dimensionless, >= 0).

    Levels may be scalars (the same on every trial). Negative or non-finite levels raise
    ``ValueError`` naming the field (inside ``jit``: ``eqx.error_if``).
    """

    direction: Float[Array, " trials"]
    coherence: Float[Array, " trials"]
    mapping: Float[Array, " trials"]
    dopamine_scale: Float[Array, " trials"]
    acetylcholine: Float[Array, " trials"]
    noradrenaline: Float[Array, " trials"]
    serotonin: Float[Array, " trials"]

    def __init__(
        self,
        direction,
        coherence,
        mapping=None,
        dopamine_scale=None,
        *,
        acetylcholine=0.0,
        noradrenaline=0.0,
        serotonin=0.0,
    ):
        dtype = jnp.result_type(float)
        direction = jnp.asarray(direction, dtype)
        if direction.ndim != 1 or direction.shape[0] < 1:
            raise ValueError(
                f"Task `direction` must be 1-D with at least one trial, got shape {direction.shape}"
            )
        n = direction.shape[0]
        ones = jnp.ones((n,), dtype)

        def per_trial(v):
            return (
                jnp.broadcast_to(jnp.asarray(v, dtype), (n,))
                if jnp.ndim(v) == 0
                else (jnp.asarray(v, dtype))
            )

        fields = {
            "coherence": per_trial(coherence),
            "mapping": ones if mapping is None else jnp.asarray(mapping, dtype),
            "dopamine_scale": ones
            if dopamine_scale is None
            else jnp.asarray(dopamine_scale, dtype),
            "acetylcholine": per_trial(acetylcholine),
            "noradrenaline": per_trial(noradrenaline),
            "serotonin": per_trial(serotonin),
        }
        for name, value in fields.items():
            if value.shape != (n,):
                raise ValueError(
                    f"Task `{name}` must have shape ({n},) (one value per trial), got {value.shape}"
                )
        self.direction = direction
        self.coherence = fields["coherence"]
        self.mapping = fields["mapping"]
        self.dopamine_scale = fields["dopamine_scale"]
        for name in ("acetylcholine", "noradrenaline", "serotonin"):
            setattr(self, name, _check_levels(name, fields[name]))

    @property
    def n_trials(self) -> int:
        return self.direction.shape[0]


def _check_levels(name: str, levels: Array) -> Array:
    """Per-trial modulator levels: finite and >= 0 (``eqx.error_if`` under ``jit``)."""
    try:
        values = np.asarray(levels)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = jnp.any(~(jnp.isfinite(levels) & (levels >= 0)))
        return eqx.error_if(levels, bad, f"Task `{name}` levels must be finite and >= 0")
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(
            f"Task `{name}` levels must be finite and >= 0 (0 = baseline), got min "
            f"{np.nanmin(values) if np.any(~np.isnan(values)) else values[0]}"
        )
    return levels


def reversal_task(
    n_trials: int,
    *,
    key: PRNGKeyArray,
    coherence: float = 0.2,
    reversal_at: int | None = None,
    dopamine_scale: float = 1.0,
) -> Task:
    """Random directions at one coherence; the rewarded mapping flips at ``reversal_at``.

    Args:
        n_trials: number of trials (>= 1).
        key: PRNG key for the directions.
        coherence: fraction in [0, 1].
        reversal_at: index of the first reversed trial (None: no reversal).
        dopamine_scale: dopamine multiplier for the whole session (1 = intact).
    """
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"`n_trials` must be an int >= 1, got {n_trials!r}")
    direction = jnp.where(jr.bernoulli(key, 0.5, (n_trials,)), 1.0, -1.0)
    trial = np.arange(n_trials)
    reversed_ = np.zeros(n_trials, bool) if reversal_at is None else trial >= reversal_at
    mapping = np.where(reversed_, -1.0, 1.0)
    scale = jnp.full((n_trials,), dopamine_scale)
    return Task(direction, coherence, jnp.asarray(mapping), scale)
