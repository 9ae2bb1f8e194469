r"""Neuromodulators acting on the Wong–Wang decision circuit.

A modulator of the synapse scale (:class:`~multiscale.synapse.Acetylcholine`,
:class:`~multiscale.synapse.Noradrenaline`, :class:`~multiscale.synapse.Serotonin`) says
at a level $L$ how much it scales afferent and recurrent excitatory transmission and the
neuronal transfer gain (:class:`~multiscale.synapse.ModulatoryEffect`). This module maps
those multipliers onto the circuit's parameters:

$$J_{A,\mathrm{ext}} \to m_\mathrm{aff} J_{A,\mathrm{ext}},\qquad
  J_{N11} \to m_\mathrm{rec} J_{N11},\quad J_{N12} \to m_\mathrm{rec} J_{N12},$$
$$a \to m_g\,a,\qquad b \to b + (m_g - 1)\,a\,x_p .$$

$J_{A,\mathrm{ext}}$ carries the stimulus (the afferent input), $J_{N11}$ and $J_{N12}$
the recurrent NMDA currents. $J_{N12}$ is the *effective* cross-inhibition, relayed by
interneurons that the recurrent excitation drives, so it is scaled with the recurrent
excitation (a modelling choice: the reduced model has no separate inhibitory synapses).
The gain change multiplies the slope of $H(x) = (a x - b)/(1 - e^{-d(a x - b)})$ about
the pivot current $x_p$: $a x - b$, and hence the rate, is unchanged at $x = x_p$ and
the deviation $a(x - x_p)$ from it is scaled by $m_g$, as the gain of Servan-Schreiber,
Printz & Cohen (1990) scales the net input. The default pivot is the input current of
the spontaneous state, so noradrenaline changes the responses to input but not the
resting rate.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import ArrayLike, Real

from ..synapse import AbstractNeuromodulator
from ._network_modulation import modulate_rate_circuit
from ._rate_circuit import RateCircuit
from ._wong_wang import WongWang2006

# Input current (nA) of the spontaneous state of the appendix model (mu0 = 0):
# x = (J_N11 - J_N12) S + I_0 = 0.2112 x 0.10265 + 0.3255, with S = 0.1027 and r = 1.78 Hz
# (Wong & Wang 2006, appendix parameters; checked by the `wong_wang_fixed_points` target).
SPONTANEOUS_CURRENT = 0.34718


def modulate_circuit(
    circuit: WongWang2006 | RateCircuit,
    modulator: AbstractNeuromodulator,
    level: Real[ArrayLike, ""],
    *,
    x_pivot: float = SPONTANEOUS_CURRENT,
) -> WongWang2006 | RateCircuit:
    r"""The circuit under ``modulator`` at ``level`` (module docstring), via ``eqx.tree_at``.

    Level 0 leaves every parameter's value unchanged (fields become arrays); the result
    is differentiable in ``level`` and in the modulator's fields, and ``level`` may be a
    tracer, so one compiled simulation serves a sweep over levels. Modulators compose
    by applying this function once per modulator (acetylcholine and noradrenaline act on
    different parameters, so their order does not matter).

    Args:
        circuit: the circuit.
        modulator: a neuromodulator of the synapse scale.
        level: the modulator level, dimensionless, >= 0 (0 = baseline).
        x_pivot: current, nA, at which a gain change leaves the rate unchanged (0.34718 nA,
            the spontaneous state of the appendix parameters). For other circuit
            parameters use the current of their own spontaneous state, e.g. from
            :func:`~multiscale.circuit.symmetric_fixed_point` at ``mu0 = 0``.
            Not used for a :class:`~multiscale.circuit.RateCircuit`, which goes to
            :func:`~multiscale.circuit.modulate_rate_circuit` with its defaults (the
            pivots of its own resting state).

    Returns:
        The modulated :class:`~multiscale.circuit.WongWang2006` (or
        :class:`~multiscale.circuit.RateCircuit`).

    Example:
        >>> import multiscale as ms
        >>> c = modulate_circuit(ms.circuit.WongWang2006(), ms.synapse.Noradrenaline(), 1.0)
        >>> round(float(c.a), 1), round(float(c.rate(0.34718)), 2)
        (278.1, 1.78)

    References:
        Servan-Schreiber D, Printz H, Cohen JD (1990) Science 249:892 (gain).
        Hasselmo ME, Bower JM (1992) J Neurophysiol 67:1222 (recurrent vs afferent).
        Wong KF, Wang XJ (2006) J Neurosci 26:1314 (the circuit).
    """
    if isinstance(circuit, RateCircuit):
        return modulate_rate_circuit(circuit, modulator, level)
    if not isinstance(circuit, WongWang2006):
        raise TypeError(
            f"`circuit` must be a WongWang2006 or a RateCircuit, got {type(circuit).__name__}"
        )
    if not isinstance(modulator, AbstractNeuromodulator):
        raise TypeError(
            "`modulator` must be an AbstractNeuromodulator (e.g. ms.synapse.Acetylcholine()), "
            f"got {type(modulator).__name__}"
        )
    e = modulator.effect(level)
    dtype = e.gain.dtype
    a = jnp.asarray(circuit.a, dtype)
    a_new = e.gain * a
    b_new = jnp.asarray(circuit.b, dtype) + (a_new - a) * jnp.asarray(x_pivot, dtype)
    return eqx.tree_at(
        lambda c: (c.a, c.b, c.J_A_ext, c.J_N11, c.J_N12),
        circuit,
        (
            a_new,
            b_new,
            e.afferent * jnp.asarray(circuit.J_A_ext, dtype),
            e.recurrent * jnp.asarray(circuit.J_N11, dtype),
            e.recurrent * jnp.asarray(circuit.J_N12, dtype),
        ),
    )
