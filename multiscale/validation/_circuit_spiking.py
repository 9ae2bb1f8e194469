"""Published targets for the spiking core: the LIF f-I curve, the Brette et al. (2007)
COBA and CUBA benchmark networks and Brunel's (2000) network states.

The benchmark papers print no trustworthy numbers for the networks' rates (their figures
show histograms only), so the COBA and CUBA targets are the rates and ISI CVs that the
reference simulators give on the same parameters, as stated with each target.
"""

import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..circuit import spiking
from ._registry import holds, in_range, target, within


@target(
    name="lif_f_i_curve",
    scale="circuit",
    source="Gerstner W, Kistler WM, Naud R, Paninski L (2014) Neuronal Dynamics, Cambridge "
    "University Press, eq. 1.11 with an absolute refractory period (analytic)",
)
def _lif_f_i():
    currents = jnp.asarray([0.25, 0.5, 1.0])  # nA, above the 0.2 nA rheobase
    neuron = spiking.LIF(
        tau_m=0.02, g_L=10.0, E_L=-70.0, V_th=-50.0, V_reset=-70.0, t_ref=2e-3, I_e=currents
    )
    net = spiking.SpikingNetwork(
        neuron=neuron,
        receptors=(spiking.ExpCurrent(),),
        projections=(),
        inputs=(),
        V0=jnp.full((3,), -70.0),
        sizes=(3,),
        names=("P",),
        dt=1e-5,
    )
    out = spiking.run(net, key=jr.key(0), t1=1.0)
    V_inf = -70.0 + 1e3 * np.asarray(currents) / 10.0
    rate = 1.0 / (2e-3 + 0.02 * np.log((V_inf + 70.0) / (V_inf + 50.0)))
    return [
        within(f"rate at {float(i):g} nA, Hz", float(r), float(m), atol=1.0)
        for i, r, m in zip(currents, rate, np.asarray(out.rate), strict=True)
    ]


def _coba_stats(fixed: bool, seeds=(0, 1)):
    rates, cvs = [], []
    for s in seeds:
        net = spiking.coba_network(jr.key(s), fixed_indegree_rule=fixed)
        out = spiking.run(net, key=jr.key(100 + s), t1=1.0)
        rates.append(float(jnp.mean(out.rate)))
        cvs.append(float(jnp.nanmean(out.cv)))
    return float(np.mean(rates)), float(np.mean(cvs))


_PEERS = (
    "rates 17-20 Hz and ISI CV about 1.4 reported for Brian2, NEST and BrainPy with the 50 ms "
    "kick; with Bernoulli connections Brian2 2.10 gives 18.9-21.5 Hz (CV 1.51-1.56) and "
    "BrainPy 2.9 19.0 Hz (CV 1.51) in this project's 2-core benchmark"
)


@target(
    name="coba_brette2007_bernoulli",
    scale="circuit",
    source="Brette et al. 2007 J Comput Neurosci 23:349, benchmark 1 (Vogels & Abbott 2005 "
    "J Neurosci 25:10786 COBA), Bernoulli connections p = 0.02 as Brian2; " + _PEERS,
    slow=True,
)
def _coba_bernoulli():
    # Single networks give 17.4-20.3 Hz (six seeds); the mean of four is reported.
    rate, cv = _coba_stats(False, seeds=(0, 1, 2, 3))
    return [
        in_range("mean rate (1 s, 4 networks), Hz", 17.0, 20.0, rate),
        within("mean ISI CV", 1.4, cv, atol=0.2),
    ]


@target(
    name="coba_brette2007_fixed_indegree",
    scale="circuit",
    source="Brette et al. 2007 J Comput Neurosci 23:349, benchmark 1, fixed in-degree "
    "C_E = 64, C_I = 16 as NEST's benchmark script; NEST 3.10 (iaf_cond_exp, the same rule "
    "and kick) gives 13.7 Hz (13.4-14.4 over three runs) and ISI CV 1.40 in this project's "
    "2-core benchmark; the Bernoulli rule's 17-20 Hz is a different network",
    slow=True,
)
def _coba_fixed():
    rate, cv = _coba_stats(True)
    return [
        within("mean rate (1 s, 2 networks), Hz", 13.7, rate, rtol=0.1),
        within("mean ISI CV", 1.40, cv, atol=0.1),
    ]


@target(
    name="cuba_brette2007",
    scale="circuit",
    source="Brette et al. 2007 J Comput Neurosci 23:349, benchmark 2 (CUBA) in Brian2's form "
    "(Bernoulli p = 0.02, 1.62 mV and -9 mV); ANNarchy 5.0.3's run of the same model gives "
    "5.6 Hz (one seed), tolerance +-30 % for seeds and connectivity",
    slow=True,
)
def _cuba():
    rates = []
    for s in (0, 1):
        out = spiking.run(spiking.cuba_network(jr.key(s)), key=jr.key(100 + s), t1=1.0)
        rates.append(float(jnp.mean(out.rate)))
    return [within("mean rate (1 s, 2 networks), Hz", 5.615, float(np.mean(rates)), rtol=0.3)]


def _brunel(g, eta, t1=0.3, t_skip=0.1):
    net = spiking.brunel_network(jr.key(0), g=g, eta=eta)
    out = spiking.run(net, key=jr.key(1), t1=t1, save_every=1)
    skip = int(round(t_skip / net.dt))
    fano = spiking.population_fano(out.population_rate[skip:], out.sizes, net.dt)
    rate, cv = out.population_mean("rate"), out.population_mean("cv")
    return float(rate[0]), float(cv[0]), float(fano[0])


@target(
    name="brunel2000_states",
    scale="circuit",
    source="Brunel 2000 J Comput Neurosci 8:183, Fig. 8: (g, eta) = (3, 2) synchronous "
    "regular, (5, 2) asynchronous irregular; N_E = 10000, C_E = 1000, J = 0.1 mV, "
    "D = 1.5 ms. Synchrony: Fano factor of the excitatory population's spike count in 1 ms "
    "bins (1 for independent Poisson neurons)",
    slow=True,
)
def _brunel_states():
    r_sr, cv_sr, f_sr = _brunel(3.0, 2.0)
    r_ai, cv_ai, f_ai = _brunel(5.0, 2.0)
    ratio = f_sr / f_ai if f_ai > 0 else math.inf
    return [
        holds("SR: regular firing", "ISI CV < 0.1", cv_sr, cv_sr < 0.1),
        holds("AI: irregular firing", "ISI CV > 0.3", cv_ai, cv_ai > 0.3),
        holds("SR more synchronous than AI", "Fano(SR) / Fano(AI) > 5", ratio, ratio > 5),
        holds("SR fires faster than AI", "rate(SR) > 2 rate(AI)", r_sr / r_ai, r_sr > 2 * r_ai),
    ]
