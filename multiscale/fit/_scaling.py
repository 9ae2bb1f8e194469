r"""Helpers shared by the simulation fits: log-scaled free parameters, a float-count Adam, names.

The circuit's free parameters are positive and of very different magnitudes (5e-4 nA/Hz,
15 Hz, 0.3 s), so both circuit fits (:func:`~multiscale.fit.fit_circuit_summary` and
:func:`~multiscale.fit.fit_circuit_trials`) optimise $u = \log(x / x_\mathrm{ref})$: a
relative change of each parameter has a comparable effect on the loss, one learning rate
serves all, and every value stays positive. The learning-rule fit
(:func:`~multiscale.fit.fit_learning_rule`) uses the same scaling for plasticity rates.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ._optimizers import adam


class LogScaled(eqx.Module):
    """The free leaves as $u = \\log(x / x_\\mathrm{ref})$, the rest of the model fixed."""

    u: Any
    ref: Any
    rest: Any

    def model_free(self):
        """The free leaves $x = x_\\mathrm{ref}\\,e^u$ (None elsewhere)."""
        return jax.tree.map(lambda u, r: r * jnp.exp(u), self.u, self.ref)

    def model(self) -> eqx.Module:
        """The whole model (any Module: a circuit model, a learner) at ``u``."""
        return eqx.combine(self.model_free(), self.rest)


def log_scaled(model, filter_spec) -> tuple[LogScaled, LogScaled]:
    """``model`` as a :class:`LogScaled` at $u = 0$, and the filter that trains only ``u``.

    Raises:
        ValueError: ``filter_spec`` selects no leaf, or a selected leaf is not a positive
            float array.
    """
    free, rest = eqx.partition(model, filter_spec)
    if not jax.tree.leaves(free):
        raise ValueError("filter_spec selects no array leaves of the model")
    for leaf in jax.tree.leaves(free):
        if not (eqx.is_inexact_array(leaf) and bool(jnp.all(leaf > 0))):
            raise ValueError(
                "free parameters must be positive float arrays (fitted as log(x / x_init)); "
                "pass them as jnp arrays, e.g. jnp.asarray(2e-4)"
            )
    u = jax.tree.map(jnp.zeros_like, free)
    scaled = LogScaled(u=u, ref=free, rest=rest)
    false = lambda t: jax.tree.map(lambda _: False, t)
    spec = LogScaled(u=jax.tree.map(lambda _: True, u), ref=false(free), rest=false(rest))
    return scaled, spec


# The float-count Adam now lives with the other optimisers; this name stays for the fits
# that import it from here.
float_count_adam = adam


def free_parameter_names(model: eqx.Module, filter_spec) -> list[str]:
    """Field name of each leaf ``filter_spec`` selects, in flattening order (e.g. ``J_A_ext``)."""
    del model  # the names come from the filter, which has the model's structure
    paths = jax.tree_util.tree_flatten_with_path(eqx.filter(filter_spec, filter_spec))[0]
    names = []
    for path, selected in paths:
        if selected is True:
            names.append(jax.tree_util.keystr(path).lstrip(".").split(".")[-1])
    return names
