"""Trials: the arrays of a choice / reaction-time data set that likelihoods consume.

Defined at the behavior scale (the likelihoods need it); ``multiscale.data.load_trials``
builds it from a pandas DataFrame or CSV in HDDM, HSSM or PyDDM conventions.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Real


class Trials(eqx.Module):
    r"""One row per trial: reaction time, choice, condition value and subject.

    Attributes:
        rt: reaction time, s, shape ``(trials,)``; every entry finite and > 0.
        choice: 1 for the upper boundary, 0 for the lower, shape ``(trials,)``. With
            accuracy coding (PyDDM's ``correct`` column) the upper boundary is the
            correct response; with HDDM/HSSM response coding it is ``response == 1``.
        condition: the condition value of each trial (e.g. coherence as a fraction), shape
            ``(trials,)``; zeros when the data set has no condition column.
        subject: subject index 0..n_subjects-1, shape ``(trials,)``.

    Example:
        >>> import multiscale as ms
        >>> t = ms.behavior.Trials(rt=[0.5, 0.7], choice=[1, 0])
        >>> t.n_trials
        2
    """

    rt: Float[Array, " trials"]
    choice: Int[Array, " trials"]
    condition: Float[Array, " trials"]
    subject: Int[Array, " trials"]

    def __init__(
        self,
        rt: Real[ArrayLike, " trials"] | list,
        choice: Real[ArrayLike, " trials"] | list,
        condition: Real[ArrayLike, " trials"] | list | None = None,
        subject: Real[ArrayLike, " trials"] | list | None = None,
    ):
        rt = jnp.asarray(rt)
        if not jnp.issubdtype(rt.dtype, jnp.floating):
            rt = rt.astype(float)
        self.rt = rt
        self.choice = jnp.asarray(choice).astype(jnp.int32)
        self.condition = (
            jnp.zeros_like(rt) if condition is None else jnp.asarray(condition).astype(rt.dtype)
        )
        self.subject = (
            jnp.zeros(rt.shape, jnp.int32)
            if subject is None
            else jnp.asarray(subject).astype(jnp.int32)
        )

    def __check_init__(self):
        shapes = {f: getattr(self, f).shape for f in ("rt", "choice", "condition", "subject")}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"Trials fields must have one shape (trials,), got {shapes}")
        try:
            rt = np.asarray(self.rt)
            choice = np.asarray(self.choice)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            # Built inside jit/vmap: values are not known here.
            return
        if not np.all(np.isfinite(rt)) or np.any(rt <= 0):
            raise ValueError(
                "Trials `rt` must be finite and > 0 seconds; load data with "
                "multiscale.data.load_trials, which says which rows are bad"
            )
        if not np.all((choice == 0) | (choice == 1)):
            raise ValueError("Trials `choice` must be 0 (lower boundary) or 1 (upper boundary)")

    @property
    def n_trials(self) -> int:
        """Number of trials (the last axis)."""
        return int(self.rt.shape[-1])
