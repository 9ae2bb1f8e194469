r"""A decision circuit with PV, SST and VIP interneurons around Wong & Wang's two pools.

Populations, in order (``E``, ``D``, ``PV``, ``SST``, ``VIP``; units 0-6):

- ``E`` (units 0, 1): the two selective excitatory pools of Wong & Wang's (2006) reduced
  circuit, unchanged: Abbott–Chance transfer ($a$ = 270 Hz/nA, $b$ = 108 Hz,
  $d$ = 0.154 s), AMPA-filtered noise ($\sigma$ = 0.02 nA, 2 ms), NMDA recurrence with
  $J_{N11}$ = 0.2609 nA and effective cross-inhibition $J_{N12}$ = 0.0497 nA. The
  choice units (``choice=(0, 1)``).
- ``D`` (units 2, 3): the apical dendrites of the two pools, where the sensory input
  arrives and where SST cells inhibit (dendritic disinhibitory gating; Yang, Murray &
  Wang 2016). Their output is an expansive function of their net input,
  $r_D = k\,[x_D]_+^2$ (:class:`~multiscale.circuit.PowerLaw`), that drives the soma
  through an AMPA synapse (2 ms). The stimulus $J\mu_0(1 \pm c)$ arrives here
  (``StimulusInput(units=(2, 3))``).
- ``PV`` (unit 4), ``SST`` (unit 5), ``VIP`` (unit 6): one rate unit each, threshold
  linear (100 Hz/nA), instantaneous rates; their time scales are those of their synapses.

Projections (weights in nA per Hz of filtered presynaptic rate; inhibitory ones negative):

| pre → post | synapse | weight | role |
|---|---|---|---|
| E → E | NMDA | SelfCross | Wong & Wang's recurrence and cross-inhibition |
| D → E | AMPA 2 ms | $w_{DE}$ | dendrite to soma, each pool its own |
| E → PV | AMPA 2 ms | $w_{EP}$ | non-selective drive of PV by both pools |
| E → SST | AMPA 2 ms | $w_{ES}$ | non-selective drive of SST |
| PV → E | GABA_A 5 ms | $-w_{PE}$ | perisomatic inhibition |
| SST → D | GABA 10 ms | $-w_{SD}$ | dendritic inhibition (gates the stimulus) |
| SST → PV | GABA 10 ms | $-w_{SP}$ | SST inhibits PV |
| VIP → SST | GABA 10 ms | $-w_{VS}$ | VIP inhibits SST (disinhibition of E) |

SST has no self-connection and PV no output onto SST, VIP inhibits mainly SST (Pfeffer
et al. 2013); top-down input (attention, locomotion, reward) drives VIP, which
suppresses SST and so raises the gain of principal cells (Pi et al. 2013). The top-down
drive is the VIP background current ``VIP.I_0``.

**Why a dendrite, and the choice of numbers.** Additive inhibition onto the soma shifts
both pools' input equally; in the reduced model that speeds decisions and lowers accuracy
like any common input. The gain change that attention needs comes from gating the
sensory input where it arrives: with $x_{D,i} = J\mu_0(1 \pm c) + o$, $o = I_{0,D} -
w_{SD}\,s_{SST}$, the differential drive $r_{D,1} - r_{D,2} = 4k(J\mu_0 + o)J\mu_0 c$
grows with $o$, i.e. as SST is silenced, while the pools' noise (at the soma) does not.
The numbers are model choices (no published values for a rate model of this kind were
available), made so that at the default VIP drive the stimulus path reproduces Wong &
Wang's stimulus coupling: with $J\mu_0$ = 0.01 nA at $\mu_0$ = 30 Hz, the dendrites'
resting input $o$ = 0.05 nA and operating point $\bar x = J\mu_0 + o$ = 0.06 nA,
$r_D(\bar x)$ = 10 Hz ($k$ = 2778 Hz/nA²), the linearised differential current
$w_{DE}\,2k\bar x\,J\mu_0 c$ equals $J_{A,\mathrm{ext}}\mu_0 c$
($J_{A,\mathrm{ext}}$ = 5.2e-4 nA/Hz) at $w_{DE}$ = 4.68e-3 nA/Hz. A convex dendrite
delivers less mean evoked current than the reduced model for the same differential
(ratio $(\bar x + o)/2\bar x$ = 0.92), and the E-driven PV and SST feed back onto the
pools, so $w_{DE}$ is set 11 % higher, 5.2e-3 nA/Hz. SST→PV ($w_{SP}$ = 6e-3 nA/Hz)
balances the disinhibition: a stronger VIP drive raises the dendrites' output and, through
SST→PV, the perisomatic inhibition by about as much, so attention raises the differential
drive without a large common one (at 5e-3 nA/Hz, raising the VIP drive from 0.03 to
0.08 nA made decisions 0.2 s faster at unchanged accuracy; at 7e-3 slower and more
accurate). So PV *rises* with the VIP drive, whereas Pi et al. (2013) saw VIP activation
suppress a fraction of PV cells; the circuit has no VIP→PV projection. The soma's
background $I_{0,E}$ = 0.36183 nA puts the pools' noise-free resting input at
0.3472 nA, the reduced model's spontaneous state (1.78 Hz), absorbing the tonic PV
inhibition and the dendrites' resting output. Resting rates: PV 8.0 Hz,
SST 10.2 Hz, VIP 3 Hz, dendrites 6.8 Hz.

Measured (1500 trials per coherence, 1 ms steps, threshold 15 Hz, 0.5 s before the
stimulus): Weibull threshold 5.8 % coherence against 6.5 % for the reduced model, mean
correct decision times within 10 % of the reduced model's at each coherence from 0 to
51.2 % (0.70 s against 0.64 s at 0, 0.25 s against 0.25 s at 51.2 %).

References:
    Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
    Pfeffer CK, Xue M, He M, Huang ZJ, Scanziani M (2013) Inhibition of inhibition in
    visual cortex: the logic of connections between molecularly distinct interneurons.
    Nat Neurosci 16:1068-1076.
    Pi HJ, Hangya B, Kvitsiani D, Sanders JI, Huang ZJ, Kepecs A (2013) Cortical
    interneurons that specialize in disinhibitory control. Nature 503:521-524.
    Yang GR, Murray JD, Wang XJ (2016) A dendritic disinhibitory circuit mechanism for
    pathway-specific gating. Nat Commun 7:12815.
"""

import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from ..synapse import ExponentialSynapse, SaturatingNMDA
from ._populations import AbbottChance, OUNoise, PowerLaw, RatePopulation, ThresholdLinear
from ._projections import Projection, SelfCross, Uniform
from ._rate_circuit import RateCircuit, StimulusInput

Param = Float[ArrayLike, ""]

E, DENDRITE, PV, SST, VIP = 0, 1, 2, 3, 4
"""Population indices of :func:`decision_interneuron_circuit`."""

VIP_DRIVE = lambda circuit: circuit.populations[VIP].I_0  # noqa: E731
"""Accessor of the top-down drive onto VIP (nA), for ``eqx.tree_at`` and fits."""


def decision_interneuron_circuit(
    *,
    vip_drive: Param = 0.03,
    w_DE: Param = 5.2e-3,
    w_EP: Param = 2e-4,
    w_PE: Param = 9e-3,
    w_ES: Param = 5e-4,
    w_SD: Param = 3e-3,
    w_SP: Param = 6e-3,
    w_VS: Param = 1e-2,
    I_0_E: Param = 0.36183,
    I_0_D: Param = 0.08,
    I_0_PV: Param = 0.14,
    I_0_SST: Param = 0.13,
    J_stim: Param = 1 / 3 * 1e-3,
    k_D: Param = 2778.0,
    gain_I: Param = 100.0,
) -> RateCircuit:
    r"""The E/dendrite/PV/SST/VIP decision circuit (module docstring), as a RateCircuit.

    Args:
        vip_drive: top-down current onto VIP, nA (0.03: VIP at 3 Hz).
        w_DE, w_EP, w_PE, w_ES, w_SD, w_SP, w_VS: magnitudes of the projection weights,
            nA/Hz (the inhibitory ones enter with a minus sign).
        I_0_E, I_0_D, I_0_PV, I_0_SST: background currents, nA.
        J_stim: stimulus coupling onto the dendrites, nA/Hz.
        k_D: dendritic gain, Hz/nA².
        gain_I: slope of the interneurons' threshold-linear transfer, Hz/nA.

    Returns:
        A :class:`~multiscale.circuit.RateCircuit` with ``choice=(0, 1)``.

    Example:
        >>> import equinox as eqx
        >>> c = decision_interneuron_circuit()
        >>> [p.name for p in c.populations], c.n_units
        (['E', 'D', 'PV', 'SST', 'VIP'], 7)
        >>> attention = eqx.tree_at(VIP_DRIVE, c, 0.08)  # top-down drive onto VIP, nA
    """
    lin = ThresholdLinear(gain=gain_I)
    pops = (
        RatePopulation(AbbottChance(), size=2, I_0=I_0_E, noise=OUNoise(0.02, 0.002), name="E"),
        RatePopulation(PowerLaw(k=k_D, n=2.0), size=2, I_0=I_0_D, name="D"),
        RatePopulation(lin, size=1, I_0=I_0_PV, name="PV"),
        RatePopulation(lin, size=1, I_0=I_0_SST, name="SST"),
        RatePopulation(lin, size=1, I_0=vip_drive, name="VIP"),
    )
    ampa, gaba_a, gaba_slow = (
        ExponentialSynapse(0.002),
        ExponentialSynapse(0.005),
        ExponentialSynapse(0.01),
    )
    neg = lambda w: -jnp.asarray(w)  # noqa: E731
    projections = (
        Projection(E, E, SaturatingNMDA(), SelfCross(0.2609, -0.0497), s0=0.1),
        Projection(DENDRITE, E, ampa, SelfCross(w_DE, 0.0)),
        Projection(E, PV, ampa, Uniform(w_EP)),
        Projection(E, SST, ampa, Uniform(w_ES)),
        Projection(PV, E, gaba_a, Uniform(neg(w_PE))),
        Projection(SST, DENDRITE, gaba_slow, Uniform(neg(w_SD))),
        Projection(SST, PV, gaba_slow, Uniform(neg(w_SP))),
        Projection(VIP, SST, gaba_slow, Uniform(neg(w_VS))),
    )
    return RateCircuit(pops, projections, StimulusInput((2, 3), J_stim), choice=(0, 1))
