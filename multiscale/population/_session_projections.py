"""A session's learning projections: which circuit projections learn, and relabelling.

A :class:`~multiscale.circuit.RateCircuit` projection that carries a ``rule`` learns
between trials of :func:`~multiscale.population.run_session`. These helpers check that
each rule fits its :class:`~multiscale.circuit.Dense` weight, write the learned matrices
into the circuit, and exchange the two choice units in them (and back in the rates) when a
trial runs relabelled.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..circuit import (
    Dense,
    RateCircuit,
)
from ..synapse import (
    AbstractRateRule,
    ModulatorSignals,
)


def _plastic_projections(circuit) -> tuple[int, ...]:
    """Indices of the circuit's projections that carry a rule; checks each rule fits.

    Raises ``TypeError``/``ValueError`` naming ``circuit.projections[i]`` when the rule is
    not an :class:`~multiscale.synapse.AbstractRateRule`, the weight is not a
    :class:`~multiscale.circuit.Dense` matrix of shape (post, pre), or the rule's update
    does not give weights of that shape (e.g. a per-synapse parameter of the wrong shape).
    """
    projections = getattr(circuit, "projections", ())
    if not isinstance(circuit, RateCircuit):
        return ()
    out = []
    for i, proj in enumerate(projections):
        if proj.rule is None:
            continue
        name = f"circuit.projections[{i}]"
        if not isinstance(proj.rule, AbstractRateRule):
            raise TypeError(
                f"{name}.rule must be an AbstractRateRule (e.g. ms.synapse.Hebb()), got "
                f"{type(proj.rule).__name__}"
            )
        if not isinstance(proj.weight, Dense):
            raise TypeError(
                f"{name}.rule needs a Dense weight matrix to learn (one weight per synapse), "
                f"got {type(proj.weight).__name__}; write it as Dense(W) of shape (post, pre)"
            )
        n_pre = circuit.populations[proj.pre].size
        n_post = circuit.populations[proj.post].size
        W = jnp.asarray(proj.weight.W)
        if W.shape != (n_post, n_pre):
            raise ValueError(
                f"{name}.weight.W must have shape (post, pre) = ({n_post}, {n_pre}), got {W.shape}"
            )
        dtype = jnp.result_type(float)

        def one_step(rule, w, x, y):
            st = rule.step(rule.init(w), x, y, 1.0)
            return rule.relax(rule.signal(st, ModulatorSignals()), 1.0).weights

        x1, y1 = jnp.ones((n_pre,), dtype), jnp.ones((n_post,), dtype)
        try:
            shape = jax.eval_shape(one_step, proj.rule, W.T.astype(dtype), x1, y1).shape
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{name}.rule cannot act on a ({n_pre}, {n_post}) (pre, post) weight matrix: {err}"
            ) from err
        if shape != (n_pre, n_post):
            raise ValueError(
                f"{name}.rule turns the ({n_pre}, {n_post}) (pre, post) weights into shape "
                f"{shape}; its parameters must broadcast to the projection"
            )
        out.append(i)
    return tuple(out)


def _choice_permutations(circuit) -> list[np.ndarray]:
    """Per population, the unit order with the two choice units exchanged.

    A trial whose stimulus favours the second choice unit is run relabelled (module
    docstring); with learned weights the relabelling must carry the weights along, which
    is a permutation within a population: both choice units must be in the same one.
    """
    perm = np.arange(circuit.n_units)
    a, b = circuit.choice
    perm[a], perm[b] = b, a
    out, start = [], 0
    for p in circuit.populations:
        part = perm[start : start + p.size] - start
        if np.any(part < 0) or np.any(part >= p.size):
            raise ValueError(
                "a circuit whose projections learn must have its two `choice` units in one "
                f"population (the session relabels them on each trial); got {circuit.choice}"
            )
        out.append(part)
        start += p.size
    return out


def _with_projection_weights(circuit, plastic, states, swap, perms):
    """The circuit with each learning projection's ``Dense.W`` set from its rule state.

    With ``swap`` the choice units are exchanged in every learned matrix (the trial runs
    relabelled).
    """
    for i, st in zip(plastic, states, strict=True):
        proj = circuit.projections[i]
        W = st.weights.T
        W = jnp.where(swap, W[perms[proj.post]][:, perms[proj.pre]], W)
        circuit = eqx.tree_at(lambda c, i=i: c.projections[i].weight.W, circuit, W)
    return circuit


def _population_rates(r, circuit, swap, perms):
    """Rates of every population (Hz) from all units' rates, labels restored."""
    out, start = [], 0
    for p, perm in zip(circuit.populations, perms, strict=True):
        part = r[start : start + p.size]
        out.append(jnp.where(swap, part[perm], part))
        start += p.size
    return out
