r"""The recurrent network of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011) with
inhibitory STDP on the inhibitory-to-excitatory synapses.

$N_E = 8000$, $N_I = 2000$ conductance-based LIF neurons ($C = 200$ pF, $g_L = 10$ nS,
$E_L = V_r = -60$ mV, $\vartheta = -50$ mV, 5 ms refractory, a constant 200 pA
background current), connected at random with probability 0.02: every excitatory spike
opens 0.3 nS of AMPA conductance ($\tau$ = 5 ms, $E$ = 0 mV) in every target, every
inhibitory spike 3 nS of GABA conductance ($\tau$ = 10 ms, $E = -80$ mV) in inhibitory
targets, and the plastic weight $w$ (initially zero) in excitatory targets. The I -> E
weights follow :class:`InhibitorySTDP` ($\eta$ = 0.01 nS, $\rho_0$ = 3 Hz,
$\tau_\mathrm{STDP}$ = 20 ms, $w_\mathrm{max}$ = 100 nS), switched on after 1 s.
Without inhibition onto them the excitatory neurons fire fast and in synchronous bursts;
as $w$ grows their rate relaxes toward $\rho_0$ and the network becomes asynchronous and
irregular (Vogels et al. 2011, Fig. 4).

Down-scaling: ``n`` neurons with connection probability $0.02 \times 10\,000 / n$, so
that every neuron keeps the in-degrees of the full network (160 E and 40 I inputs). The
paper's simulation has no synaptic delay; the delay here is one step (0.1 ms). Initial
potentials are uniform in $[V_r, \vartheta]$.

References:
    Vogels TP, Sprekeler H, Zenke F, Clopath C, Gerstner W (2011) Inhibitory plasticity
    balances excitation and inhibition in sensory pathways and memory networks. Science
    334:1569-1573.
"""

import jax.random as jr
from jaxtyping import PRNGKeyArray

from ._connection_rules import fixed_probability
from ._connectivity import EventDriven
from ._network import Projection, SpikingNetwork
from ._neurons import LIF, ExpConductance
from ._stdp_networks import InhibitorySTDP, PlasticSpikingNetwork

_EVENTS = EventDriven(capacity=(32, 256))


def vogels2011_network(
    key: PRNGKeyArray,
    *,
    n: int = 10000,
    rho0: float = 3.0,
    eta: float = 1e-2,
    t_plastic: float = 1.0,
    w_ie: float = 0.0,
    dt: float = 1e-4,
) -> PlasticSpikingNetwork:
    """Vogels et al.'s (2011) network with plastic I -> E synapses (see the module).

    Args:
        key: PRNG key for the connectivity and initial potentials.
        n: number of neurons, 80 % excitatory (10 000); in-degrees are kept.
        rho0: target rate of the excitatory neurons, Hz (3).
        eta: learning rate, nS (0.01).
        t_plastic: time at which plasticity switches on, s (1).
        w_ie: initial I -> E weight, nS (0).
        dt: step, s.

    Returns:
        A :class:`PlasticSpikingNetwork` (projection 2, I -> E, is plastic); populations
        ``E`` and ``I``.
    """
    n_e = int(round(0.8 * n))
    n_i = n - n_e
    p = min(1.0, 0.02 * 10000 / n)
    k_ee, k_ii, k_ie, k_v = jr.split(key, 4)
    projections = (
        Projection(fixed_probability(n_e, n, p, 0.3, key=k_ee), receptor=0, delay=dt),
        Projection(
            fixed_probability(n_i, n_i, p, 3.0, key=k_ii),
            receptor=1,
            pre_start=n_e,
            post_start=n_e,
            delay=dt,
        ),
        Projection(
            fixed_probability(n_i, n_e, p, w_ie, key=k_ie), receptor=1, pre_start=n_e, delay=dt
        ),
    )
    net = SpikingNetwork(
        neuron=LIF(tau_m=0.02, g_L=10.0, E_L=-60.0, V_th=-50.0, V_reset=-60.0, t_ref=5e-3, I_e=0.2),
        receptors=(ExpConductance(tau=5e-3, E_rev=0.0), ExpConductance(tau=10e-3, E_rev=-80.0)),
        projections=projections,
        inputs=(),
        V0=jr.uniform(k_v, (n,), minval=-60.0, maxval=-50.0),
        sizes=(n_e, n_i),
        names=("E", "I"),
        dt=dt,
        propagation=_EVENTS,
    )
    return PlasticSpikingNetwork(
        network=net,
        plastic=(2,),
        rules=(InhibitorySTDP(eta=eta, rho0=rho0, tau=0.02, w_max=100.0),),
        t_plastic=t_plastic,
    )
