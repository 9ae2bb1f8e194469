r"""Neuromodulators and lesions acting on any rate circuit of the composition layer.

A modulator of the synapse scale (:class:`~multiscale.synapse.Acetylcholine`,
:class:`~multiscale.synapse.Noradrenaline`, :class:`~multiscale.synapse.Serotonin`) gives
at a level $L$ three multipliers (:class:`~multiscale.synapse.ModulatoryEffect`):
$m_\mathrm{aff}$ on afferent, $m_\mathrm{rec}$ on recurrent (intracortical) excitatory
transmission and $m_g$ on the neuronal transfer gain. :func:`modulate_rate_circuit` maps
them onto a :class:`~multiscale.circuit.RateCircuit`:

- **afferent**: the stimulus coupling $J$ of the circuit's
  :class:`~multiscale.circuit.StimulusInput` (the thalamocortical input) becomes
  $m_\mathrm{aff} J$;
- **recurrent**: every weight of the chosen projections (by default all projections
  *out of* the population that holds the choice units: the intracortical excitatory
  synapses, including those onto interneurons) is multiplied by $m_\mathrm{rec}$;
- **gain**: the transfer function $f$ of the chosen populations (default all) becomes
  $f_g(x) = f\bigl(x_p + m_g (x - x_p)\bigr)$, so the rate at the pivot current $x_p$ is
  unchanged and the deviation of the net input from it is scaled by $m_g$, as the gain
  of Servan-Schreiber, Printz & Cohen (1990) scales the net input. For the families of
  the circuit scale this is a change of parameters that keeps the class:
  Abbott–Chance $a \to m_g a$, $b \to b + (m_g - 1) a x_p$ (exactly the mapping of
  :func:`~multiscale.circuit.modulate_circuit` for Wong & Wang's circuit);
  threshold-linear and sigmoid: slope times $m_g$, threshold
  $\theta \to x_p - (x_p - \theta)/m_g$; any other transfer is wrapped in
  :class:`InputGain`. The default pivot of each population is its mean input current in
  the circuit's noise-free resting state without stimulus (:func:`resting_currents`), so
  noradrenaline changes responses to input but not resting rates.

For Wong & Wang's reduced circuit this is :func:`~multiscale.circuit.modulate_circuit`
applied to its composition-layer form (:meth:`~multiscale.circuit.WongWang2006.rate_circuit`):
$J_{A,\mathrm{ext}}$ carries the stimulus and the one projection out of the choice
population carries $J_{N11}$ and the effective cross-inhibition $J_{N12}$ (tests compare
the two trial by trial).

The literature fixes the directions: acetylcholine suppresses intracortical more than
thalamocortical transmission (muscarinic; nicotinic receptors enhance thalamocortical
synapses only: Gil, Connors & Amitai 1997; in piriform cortex, intrinsic but not afferent
fibres: Hasselmo & Bower 1992), so it weights the stimulus over the recurrent state;
noradrenaline sets a global gain (Aston-Jones & Cohen 2005), which in a Wang-type decision
network makes choices faster and, at high levels, impulsive and inaccurate (Eckhoff,
Wong-Lin & Holmes 2009). The sizes per unit level are the modulators' (model choices).

:func:`scale_projections` multiplies the weights of chosen projections by one factor;
:func:`lesion` silences a population by setting every projection out of it to zero
(optogenetic or pharmacological silencing of an interneuron class).
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..synapse import AbstractNeuromodulator
from ._integrate import integrate
from ._noise import GivenNormals
from ._online_readout import NoReadout
from ._populations import AbbottChance, AbstractTransfer, Sigmoid, ThresholdLinear
from ._protocol import TrialProtocol
from ._rate_circuit import RateCircuit


class InputGain(AbstractTransfer):
    r"""A transfer function with its net input scaled about a pivot: $f(x_p + g (x - x_p))$, Hz.

    Attributes:
        transfer: the transfer function $f$.
        gain: $g$, dimensionless (1).
        pivot: $x_p$, nA, the current at which the rate is unchanged (0).

    References:
        Servan-Schreiber D, Printz H, Cohen JD (1990) A network model of catecholamine
        effects: gain, signal-to-noise ratio, and behavior. Science 249:892-895.
    """

    transfer: AbstractTransfer
    gain: Float[ArrayLike, ""] = 1.0
    pivot: Float[ArrayLike, ""] = 0.0

    def __call__(self, x):
        p = jnp.asarray(self.pivot)
        return self.transfer(p + jnp.asarray(self.gain) * (jnp.asarray(x) - p))


def _with_gain(transfer: AbstractTransfer, m: Array, xp: Array) -> AbstractTransfer:
    """``transfer`` with its net input scaled by ``m`` about ``xp`` (module docstring)."""
    dtype = m.dtype
    if isinstance(transfer, AbbottChance):
        a = jnp.asarray(transfer.a, dtype)
        b = jnp.asarray(transfer.b, dtype) + (m - 1.0) * a * xp
        return AbbottChance(m * a, b, jnp.asarray(transfer.d, dtype))
    if isinstance(transfer, ThresholdLinear):
        theta = xp - (xp - jnp.asarray(transfer.threshold, dtype)) / m
        return ThresholdLinear(m * jnp.asarray(transfer.gain, dtype), theta)
    if isinstance(transfer, Sigmoid):
        theta = xp - (xp - jnp.asarray(transfer.threshold, dtype)) / m
        return Sigmoid(
            jnp.asarray(transfer.r_max, dtype), m * jnp.asarray(transfer.slope, dtype), theta
        )
    return InputGain(transfer, m, xp)


def _check_rate_circuit(circuit) -> None:
    if not isinstance(circuit, RateCircuit):
        raise TypeError(
            f"`circuit` must be a RateCircuit (for WongWang2006 use modulate_circuit or "
            f"its .rate_circuit()), got {type(circuit).__name__}"
        )


def _indices(name: str, idx, n: int) -> tuple[int, ...]:
    out = tuple(int(i) for i in idx)
    if not all(0 <= i < n for i in out):
        raise ValueError(f"`{name}` must hold indices in [0, {n}), got {tuple(idx)}")
    return out


def _scale_weight(weight, factor):
    """Every floating-point leaf of a weight Module multiplied by ``factor``."""
    return jax.tree.map(lambda x: factor * x if eqx.is_inexact_array_like(x) else x, weight)


def scale_projections(
    circuit: RateCircuit, projections: Sequence[int], factor: Real[ArrayLike, ""]
) -> RateCircuit:
    """``circuit`` with every weight of the projections ``projections`` (indices) times ``factor``.

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.WongWang2006().rate_circuit()
        >>> half = scale_projections(c, [0], 0.5)
        >>> round(float(half.projections[0].weight.self_), 5)
        0.13045
    """
    _check_rate_circuit(circuit)
    idx = _indices("projections", projections, len(circuit.projections))
    if not idx:
        return circuit
    return eqx.tree_at(
        lambda c: tuple(c.projections[i].weight for i in idx),
        circuit,
        tuple(_scale_weight(circuit.projections[i].weight, factor) for i in idx),
    )


def lesion(circuit: RateCircuit, population: int) -> RateCircuit:
    """``circuit`` with population ``population`` silenced: every projection out of it set to 0.

    The population still runs (its rates are computed) but reaches no other unit, as
    after optogenetic silencing of its output.
    """
    _check_rate_circuit(circuit)
    (p,) = _indices("population", [population], len(circuit.populations))
    out = [i for i, proj in enumerate(circuit.projections) if proj.pre == p]
    return scale_projections(circuit, out, 0.0)


def _currents(circuit: RateCircuit, state) -> Array:
    """Input current (nA) of every unit from the gatings of ``state``, without noise or stimulus."""
    dtype = state.I_noise.dtype
    slices = circuit._slices()
    parts = [jnp.full((p.size,), p.I_0, dtype) for p in circuit.populations]
    total = jnp.concatenate(parts)
    for proj, s in zip(circuit.projections, state.gating, strict=True):
        post = circuit.populations[proj.post]
        current = proj.weight(proj.synapse.rate_output(s, post.V), post.size)
        total = total.at[slices[proj.post]].add(current)
    return total


def resting_currents(
    circuit: RateCircuit, *, dt: float = 1e-3, duration: float = 3.0
) -> Float[Array, " populations"]:
    r"""Mean input current (nA) of each population in the noise-free resting state.

    The circuit runs through :func:`~multiscale.circuit.integrate` without stimulus and
    without noise from its initial state for ``duration`` seconds of Euler steps of ``dt``;
    the result is each population's mean input current at the end (for Wong & Wang's
    appendix circuit 0.34718 nA, the spontaneous state at 1.78 Hz).

    Args:
        circuit: a :class:`~multiscale.circuit.RateCircuit`.
        dt: step, s (1 ms; must resolve the circuit's time constants).
        duration: time to settle, s (3).
    """
    _check_rate_circuit(circuit)
    circuit.check_step(dt)
    return _resting(circuit, float(dt), round(duration / dt))


@eqx.filter_jit
def _resting(circuit: RateCircuit, dt: float, n_steps: int) -> Array:
    dtype = jnp.result_type(float)
    # A zero drive (no stimulus) and zero normals: the noise-free resting run.
    protocol = TrialProtocol(dt=dt, t_on=0.0, t1=n_steps * dt)
    noise = GivenNormals(jnp.zeros((n_steps, circuit.n_noise), dtype))
    zero = jnp.zeros((circuit.n_units,), dtype)
    out = integrate(circuit, zero, protocol, noise, noise.init(None), NoReadout())
    x = _currents(circuit, out.state)
    return jnp.stack([jnp.mean(x[sl]) for sl in circuit._slices()])


def modulate_rate_circuit(
    circuit: RateCircuit,
    modulator: AbstractNeuromodulator,
    level: Real[ArrayLike, ""],
    *,
    recurrent: Sequence[int] | None = None,
    gain: Sequence[int] | None = None,
    x_pivot: Float[ArrayLike, "..."] | None = None,
) -> RateCircuit:
    r"""The circuit under ``modulator`` at ``level`` (module docstring), via ``eqx.tree_at``.

    Level 0 leaves every parameter's value unchanged; the result is differentiable in
    ``level`` and the modulator's fields, and ``level`` may be a tracer. Modulators compose
    by applying this function once per modulator.

    Args:
        circuit: a :class:`~multiscale.circuit.RateCircuit`.
        modulator: a neuromodulator of the synapse scale.
        level: the modulator level, dimensionless, >= 0 (0 = baseline).
        recurrent: indices of the projections scaled as recurrent (intracortical)
            transmission. Default: every projection out of a population that holds a
            choice unit (raises if the circuit has no ``choice``).
        gain: indices of the populations whose transfer gain is scaled (default all).
        x_pivot: pivot current of each population, nA, shape (populations,) or scalar
            (default :func:`resting_currents`). Not used at a gain factor of 1 except to
            keep the transfer's structure.

    Returns:
        The modulated :class:`~multiscale.circuit.RateCircuit`.

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.WongWang2006().rate_circuit()
        >>> m = modulate_rate_circuit(c, ms.synapse.Acetylcholine(), 1.0)
        >>> w = m.projections[0].weight
        >>> round(float(m.stimulus.gain) / 5.2e-4, 3), round(float(w.self_), 4)
        (1.2, 0.2485)

    References:
        Servan-Schreiber D, Printz H, Cohen JD (1990) Science 249:892 (gain).
        Hasselmo ME, Bower JM (1992) J Neurophysiol 67:1222 (recurrent vs afferent).
        Gil Z, Connors BW, Amitai Y (1997) Neuron 19:679 (thalamocortical vs
        intracortical).
        Aston-Jones G, Cohen JD (2005) Annu Rev Neurosci 28:403 (adaptive gain).
        Eckhoff P, Wong-Lin KF, Holmes P (2009) J Neurosci 29:4301 (NE in a decision
        network).
    """
    _check_rate_circuit(circuit)
    if not isinstance(modulator, AbstractNeuromodulator):
        raise TypeError(
            "`modulator` must be an AbstractNeuromodulator (e.g. ms.synapse.Acetylcholine()), "
            f"got {type(modulator).__name__}"
        )
    n_pop = len(circuit.populations)
    if recurrent is None:
        if circuit.choice is None:
            raise ValueError("`recurrent` must be given for a circuit without `choice` units")
        bounds = [(sl.start, sl.stop) for sl in circuit._slices()]
        holders = {p for p, (a, b) in enumerate(bounds) if any(a <= u < b for u in circuit.choice)}
        recurrent = [i for i, proj in enumerate(circuit.projections) if proj.pre in holders]
    rec = _indices("recurrent", recurrent, len(circuit.projections))
    gained = _indices("gain", range(n_pop) if gain is None else gain, n_pop)
    e = modulator.effect(level)
    dtype = e.gain.dtype
    if x_pivot is None:
        x_pivot = resting_currents(circuit)
    xp = jnp.broadcast_to(jnp.asarray(x_pivot, dtype), (n_pop,))
    out = scale_projections(circuit, rec, e.recurrent)
    if circuit.stimulus is not None:
        out = eqx.tree_at(
            lambda c: c.stimulus.gain,
            out,
            e.afferent * jnp.asarray(circuit.stimulus.gain, dtype),
        )
    if gained:
        out = eqx.tree_at(
            lambda c: tuple(c.populations[i].transfer for i in gained),
            out,
            tuple(_with_gain(circuit.populations[i].transfer, e.gain, xp[i]) for i in gained),
        )
    return out
