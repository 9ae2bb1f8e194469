r"""Leaky integrate-and-fire neurons, their receptors, adaptation and Poisson inputs.

Membrane (units: mV, nS, nA, s; the capacitance is $C = g_L \tau_m$):

$$\tau_m \dot V = (E_L - V) + \sum_r \frac{g_r}{g_L}(E_r - V)
  + \frac{10^3}{g_L}\Big(I_e + \sum_q I_q - w\Big)$$

(nS · mV = pA, hence the factor $10^3$ for currents in nA). Receptors:

- :class:`ExpConductance`: $g_r$ (nS) jumps by the synaptic weight at each arriving spike
  and decays with $\tau_r$ (the COBA synapse of Vogels & Abbott 2005).
- :class:`ExpCurrent`: $I_q$ (nA) jumps by the weight and decays with $\tau_q$ (CUBA).
- :class:`DeltaVoltage`: the membrane potential jumps by the weight (mV) at arrival,
  except during the refractory period (Brunel 2000).

When $V$ reaches $\vartheta$ at the end of a step the neuron spikes, $V$ is reset to
$V_r$ and held there for $t_\mathrm{ref}$ (rounded to whole steps). Optional adaptation
(Brette & Gerstner 2005 without the exponential term): $\tau_w \dot w = a (V - E_L) - w$,
$w \to w + b$ at a spike.

References:
    Vogels TP, Abbott LF (2005) Signal propagation and logic gating in networks of
    integrate-and-fire neurons. J Neurosci 25:10786-10795.
    Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory
    spiking neurons. J Comput Neurosci 8:183-208.
    Brette R, Gerstner W (2005) Adaptive exponential integrate-and-fire model as an
    effective description of neuronal activity. J Neurophysiol 94:3637-3642.
"""

import equinox as eqx
from jaxtyping import ArrayLike, Float

from ..._checks import Constraints, check_fields

Param = Float[ArrayLike, "..."]


class LIF(eqx.Module):
    r"""Leaky integrate-and-fire parameters (scalars or one value per neuron).

    Attributes:
        tau_m: membrane time constant $\tau_m$, s (0.02).
        g_L: leak conductance $g_L$, nS (10; $C = g_L\tau_m$ = 200 pF).
        E_L: leak reversal (rest), mV (-60).
        V_th: threshold $\vartheta$, mV (-50).
        V_reset: reset $V_r$, mV (-60).
        t_ref: absolute refractory period, s (0.005); at least one step.
        I_e: constant bias current, nA (0).
    """

    tau_m: Param = 0.02
    g_L: Param = 10.0
    E_L: Param = -60.0
    V_th: Param = -50.0
    V_reset: Param = -60.0
    t_ref: Param = 0.005
    I_e: Param = 0.0

    constraints = Constraints(
        positive=("tau_m", "g_L", "t_ref"), finite=("E_L", "V_th", "V_reset", "I_e")
    )

    def __check_init__(self):
        check_fields("LIF", self, self.constraints)


class Adaptation(eqx.Module):
    r"""Spike-triggered and subthreshold adaptation current $w$ (nA), subtracted from the input.

    Attributes:
        a: subthreshold coupling, nS (0).
        b: increment of $w$ per spike, nA (0.02).
        tau_w: time constant, s (0.1).
    """

    a: Param = 0.0
    b: Param = 0.02
    tau_w: Param = 0.1

    constraints = Constraints(positive=("tau_w",), finite=("a", "b"))

    def __check_init__(self):
        check_fields("Adaptation", self, self.constraints)


class ExpConductance(eqx.Module):
    r"""Exponentially decaying conductance $g$ (nS) with reversal potential $E$ (mV).

    Attributes:
        tau: decay time constant, s (0.005, AMPA in Vogels & Abbott 2005; 0.01 for GABA).
        E_rev: reversal potential, mV (0; -80 for GABA).
    """

    tau: Param = 0.005
    E_rev: Param = 0.0

    constraints = Constraints(positive=("tau",), finite=("E_rev",))

    def __check_init__(self):
        check_fields("ExpConductance", self, self.constraints)


class ExpCurrent(eqx.Module):
    r"""Exponentially decaying synaptic current $I$ (nA).

    Attributes:
        tau: decay time constant, s (0.005).
    """

    tau: Param = 0.005

    constraints = Constraints(positive=("tau",))

    def __check_init__(self):
        check_fields("ExpCurrent", self, self.constraints)


class DeltaVoltage(eqx.Module):
    """Instantaneous voltage jump by the weight (mV); lost during the refractory period."""


class PoissonInput(eqx.Module):
    r"""``n_sources`` independent Poisson trains of rate ``rate`` onto neurons ``[start, stop)``.

    Each target neuron receives its own trains: the number of input spikes per step is
    drawn from $\mathrm{Poisson}(n_\mathrm{sources}\,\nu\,\Delta t)$ (by inversion of the
    cumulative distribution, truncated where the tail is below $10^{-9}$), and each adds
    ``weight`` to the ``receptor``-th receptor, while $t_\mathrm{start} \le t <
    t_\mathrm{stop}$.

    Attributes:
        rate: rate of each source, Hz.
        weight: weight of each input spike (the receptor's unit).
        receptor: index of the receptor it feeds (static).
        start, stop: target neuron range (static).
        n_sources: independent sources per target (static, 1).
        t_start, t_stop: when the input is on, s (static; 0 and ``inf``).
        max_count: most spikes per step and target counted (static; ``None``: from the
            concrete rate, mean + 10 standard deviations + 10).
    """

    rate: Param
    weight: Param
    receptor: int = eqx.field(static=True)
    start: int = eqx.field(static=True)
    stop: int = eqx.field(static=True)
    n_sources: int = eqx.field(static=True, default=1)
    t_start: float = eqx.field(static=True, default=0.0)
    t_stop: float = eqx.field(static=True, default=float("inf"))
    max_count: int | None = eqx.field(static=True, default=None)

    constraints = Constraints(nonnegative=("rate",), finite=("weight",))

    def __check_init__(self):
        check_fields("PoissonInput", self, self.constraints)
        if not (0 <= self.start < self.stop):
            raise ValueError(
                f"PoissonInput targets `[start, stop)` must be a nonempty range, got "
                f"[{self.start}, {self.stop})"
            )
        if not (isinstance(self.n_sources, int) and self.n_sources >= 1):
            raise ValueError(f"PoissonInput `n_sources` must be an int >= 1, got {self.n_sources}")
