"""Published plastic spiking networks built on :class:`PlasticSpikingNetwork`: Izhikevich's
(2007) distal-reward network and a recurrent network with additive pair STDP."""

import jax.random as jr
from jaxtyping import PRNGKeyArray

from ._connection_rules import fixed_probability
from ._network import Projection, SpikingNetwork
from ._neurons import LIF, DeltaVoltage, PoissonInput
from ._stdp_networks import DopamineSTDP, PairSTDP, PlasticSpikingNetwork


def _delta_network(key, n_e, n_i, w_e, w_i, p_e, p_i, ext_rate, ext_sources, dt, e_to_e_only):
    """LIF neurons (tau_m 20 ms, threshold 20 mV above rest, reset 10 mV, 2 ms refractory)
    with voltage-jump synapses, E -> E (or E -> all) and I -> all projections (fixed
    probabilities ``p_e``, ``p_i``), one-step delays and independent Poisson input (1 mV per
    input spike)."""

    n = n_e + n_i
    k_e, k_i, k_v = jr.split(key, 3)
    n_post_e = n_e if e_to_e_only else n
    projections = (
        Projection(fixed_probability(n_e, n_post_e, p_e, w_e, key=k_e), receptor=0, delay=dt),
        Projection(
            fixed_probability(n_i, n, p_i, w_i, key=k_i), receptor=0, pre_start=n_e, delay=dt
        ),
    )
    return SpikingNetwork(
        neuron=LIF(tau_m=0.02, g_L=10.0, E_L=0.0, V_th=20.0, V_reset=10.0, t_ref=2e-3),
        receptors=(DeltaVoltage(),),
        projections=projections,
        inputs=(
            PoissonInput(
                rate=ext_rate, weight=1.0, receptor=0, start=0, stop=n, n_sources=ext_sources
            ),
        ),
        V0=jr.uniform(k_v, (n,), minval=0.0, maxval=20.0),
        sizes=(n_e, n_i),
        names=("E", "I"),
        dt=dt,
    )


def izhikevich2007_network(
    key: PRNGKeyArray,
    *,
    n: int = 1000,
    w_inh: float = -5.0,
    rewarded: int = 0,
    reward_delay: float = 1.0,
    ext_rate: float = 16.0,
    dt: float = 1e-3,
) -> PlasticSpikingNetwork:
    r"""Izhikevich's (2007) distal-reward experiment, with LIF neurons.

    ``n`` neurons, 80 % excitatory; every excitatory neuron projects to a random 10 % of
    all neurons (initial weight 1 mV, plastic by :class:`DopamineSTDP` with Izhikevich's
    constants, bounded by 4 mV), every inhibitory one to a random 10 % of all neurons
    (``w_inh`` mV, fixed; $-5$ mV by default). Izhikevich's network differs here: his
    inhibitory neurons project to 12.5 % of the excitatory neurons with $-1$ mV (this
    LIF network was not run at his value). One-step (1 ms) delays and 1 ms steps, as his
    code. Each pairing of synapse ``rewarded`` (pre, then post
    within 20 ms) is rewarded by a dopamine pulse ``reward_delay`` s later. The neurons are
    LIF (20 ms, threshold 20 mV above rest, reset 10 mV, 2 ms refractory) instead of his
    Izhikevich neurons, driven by 100 independent Poisson trains of ``ext_rate`` Hz
    (1 mV each) instead of his random thalamic input.

    Izhikevich (2007, Fig. 1): the rewarded synapse grows to the maximum while the other
    synapses stay low, although the rewarded pairing recurs only by chance among many
    others and the reward comes seconds after it.
    """
    n_e = int(round(0.8 * n))
    net = _delta_network(key, n_e, n - n_e, 1.0, w_inh, 0.1, 0.1, ext_rate, 100, dt, False)
    rule = DopamineSTDP(
        a_plus=0.1, a_minus=0.15, w_max=4.0, rewarded=rewarded, reward_delay=reward_delay
    )
    return PlasticSpikingNetwork(network=net, plastic=(0,), rules=(rule,))


def recurrent_stdp_network(
    key: PRNGKeyArray,
    *,
    n: int = 1000,
    w0: float = 0.5,
    w_max: float = 1.0,
    a_plus: float = 0.005,
    ext_rate: float = 16.0,
    dt: float = 1e-3,
) -> PlasticSpikingNetwork:
    r"""A sparse E-I network whose recurrent E -> E synapses learn by additive pair STDP.

    As :func:`izhikevich2007_network` but E -> E only (10 %), initial weight ``w0`` mV,
    plastic by :class:`PairSTDP` with Song, Miller & Abbott's (2000) amplitudes
    ($A_+ = 0.005\,w_\mathrm{max}$ by default, $A_-/A_+ = 1.05$, $\tau_\pm$ = 20 ms) and
    hard bounds $[0, w_\mathrm{max}]$.
    """
    n_e = int(round(0.8 * n))
    net = _delta_network(key, n_e, n - n_e, w0, -5.0 * w0, 0.1, 0.1, ext_rate, 100, dt, True)
    rule = PairSTDP(a_plus=a_plus * w_max, a_minus=1.05 * a_plus * w_max, w_max=w_max)
    return PlasticSpikingNetwork(network=net, plastic=(0,), rules=(rule,))
