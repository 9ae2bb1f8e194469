r"""A session's learning projections: which circuit projections learn, and relabelling.

A :class:`~multiscale.circuit.RateCircuit` projection that carries a ``rule`` learns
in :func:`~multiscale.population.run_session`, between trials or online within each
trial. These helpers check that each rule fits its :class:`~multiscale.circuit.Dense`
weight, write the learned matrices into the circuit, and exchange the two choice units in
them (and back in the rates) when a trial runs relabelled.

Online within the trial (``run_session(..., online_every=k)``): the rule is stepped
through the same interface as between trials, ``step(state, pre, post, duration)``, but
inside the circuit's integration loop (:class:`~multiscale.circuit.OnlineUpdate`): over
the stimulus epoch, every $k$ integration steps of length $\Delta t$ the rule steps with
the mean pre- and postsynaptic rates of those $k$ steps (Hz) for $k\,\Delta t$ seconds (a
last, shorter block closes the epoch), and the circuit's next step runs with the new
weights. As $k\,\Delta t$ grows to the whole epoch this becomes one step on the epoch's
mean rates; between-trial learning instead steps once on the end-of-trial rates.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._results import RESULTS
from ..circuit import (
    CounterNoise,
    Dense,
    OnlineUpdate,
    RateCircuit,
    integrate,
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


def _online_update(circuit, plastic, rules, states, swap, perms, protocol, every):
    """The :class:`~multiscale.circuit.OnlineUpdate` that steps each projection's rule
    every ``every`` integration steps of the stimulus epoch (module docstring).

    The carried state is (rule states, per-projection sums of pre/post rates over the
    current block, steps in the block).
    """
    dtype = jnp.result_type(float)
    dt = jnp.asarray(protocol.dt, dtype)
    n_off = protocol.n_off
    sizes = [p.size for p in circuit.populations]
    sums0 = tuple(
        (
            jnp.zeros((sizes[circuit.projections[i].pre],), dtype),
            jnp.zeros((sizes[circuit.projections[i].post],), dtype),
        )
        for i in plastic
    )
    init = (tuple(states), sums0, jnp.zeros((), dtype))

    def net(aux):
        return _with_projection_weights(circuit, plastic, aux[0], swap, perms)

    def update(aux, k, r):
        states, sums, n = aux
        on = protocol.stimulus_on(k)
        w_on = on.astype(dtype)
        rates = _population_rates(r, circuit, swap, perms)
        sums = tuple(
            (
                a + w_on * rates[circuit.projections[i].pre],
                b + w_on * rates[circuit.projections[i].post],
            )
            for (a, b), i in zip(sums, plastic, strict=True)
        )
        n = n + w_on
        fire = on & ((n >= every) | (k == n_off - 1))
        m = jnp.maximum(n, 1.0)
        new_states = []
        for rule, st, (a, b) in zip(rules, states, sums, strict=True):
            stepped = rule.step(st, a / m, b / m, m * dt)
            new_states.append(jax.tree.map(lambda x, y: jnp.where(fire, x, y), stepped, st))
        sums = jax.tree.map(lambda x: jnp.where(fire, jnp.zeros_like(x), x), sums)
        return tuple(new_states), sums, jnp.where(fire, 0.0, n)

    return OnlineUpdate(init, net, update)


def _simulate_online(
    circuit, plastic, rules, states, stimulus, *, key, protocol, readout, swap, perms, every
):
    """One session trial whose projection rules learn within it (module docstring).

    The same trial as :func:`~multiscale.circuit.simulate` with its default noise
    (:class:`~multiscale.circuit.CounterNoise`) and ``save_every=0``, run by
    :func:`~multiscale.circuit.integrate` with the rules' :class:`OnlineUpdate`.

    Returns:
        (rates of all units at the end, Hz; the readout's decision; result code; the
        rules' states at the end of the trial).
    """
    circuit.check_step(protocol.dt)
    circuit, stimulus = circuit.checked(), stimulus.checked()
    online = _online_update(circuit, plastic, rules, states, swap, perms, protocol, every)
    start = online.circuit(online.init)
    noise = CounterNoise()
    out = integrate(
        start,
        start.stimulus_input(stimulus),
        protocol,
        noise,
        noise.init(key),
        readout,
        online=online,
    )
    result = jnp.where(out.finite, RESULTS.ok, RESULTS.nonfinite)
    return out.rates, readout.finish(out.readout), result, out.online[0]
