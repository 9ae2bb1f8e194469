"""Published targets for three-factor and homeostatic plasticity.

Izhikevich 2007 (dopamine-modulated STDP), Frémaux & Gerstner 2016 (three-factor rules),
Turrigiano et al. 1998 (synaptic scaling) and Vogels et al. 2011 (inhibitory STDP, scaled
down to one cell). Every number is measured from a simulation of the model; nothing is
read back from the parameters.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..synapse import (
    DopamineSTDP,
    InhibitorySTDP,
    SynapticScaling,
    pairing,
    simulate_dopamine_stdp,
    simulate_istdp_cell,
)
from ._registry import holds, target, within

_SOURCE_7 = (
    "Izhikevich 2007 Cereb Cortex 17:2443 (constants of the author's daspnet.m); Frémaux & "
    "Gerstner 2016 Front Neural Circuits 9:85 (dw = c d0 tau_c tau_d / (tau_c + tau_d))"
)


def _dw_after(rule, delay: float, trains=None) -> float:
    trains = pairing(0.01, 1.0, 1) if trains is None else trains
    t_post = float(trains.post[0])
    rewards = jnp.array([t_post + delay]) if np.isfinite(delay) else jnp.array([jnp.inf])
    res = simulate_dopamine_stdp(rule, trains, rewards, t1=t_post + 30.0, w0=2.0)
    return float(res.delta_w)


@target(name="izhikevich_da_stdp_closed_form", scale="synapse", source=_SOURCE_7)
def _da_stdp():
    rule = DopamineSTDP(d_tonic=0.0)
    # c just after a +10 ms pair is A+ e^{-1/2}; after 1 s it has decayed by e^{-1}.
    c = 0.1 * np.exp(-0.5) * np.exp(-1.0)
    measured = _dw_after(rule, 1.0)
    within_window = _dw_after(rule, 0.5)
    late = _dw_after(rule, 10.0)
    anti = _dw_after(rule, 1.0, pairing(-0.01, 1.0, 1))
    rewarded = simulate_dopamine_stdp(
        DopamineSTDP(),
        pairing(0.01, 0.2, 100),
        pairing(0.01, 0.2, 100).post + 1.0,
        t1=510.0,
        w0=1.0,
    )
    return [
        within(
            "dw = c d0 tau_c tau_d/(tau_c + tau_d), d0 = 50/s, 1 s after a +10 ms pair (mV)",
            c * 50.0 * 1.0 * 0.2 / 1.2,
            measured,
            rtol=1e-5,
        ),
        within("no dopamine, no tonic term: dw (mV)", 0.0, _dw_after(rule, np.inf), atol=0.0),
        holds(
            "burst 10 s after the pair: < 1e-3 of the change at 0.5 s",
            "ratio < 1e-3",
            late / within_window,
            late < 1e-3 * within_window,
        ),
        holds("post-before-pre pairing + reward depresses", "dw < 0", anti, anti < 0),
        within(
            "100 rewarded pairings drive w to the 4 mV ceiling (mV)",
            4.0,
            float(rewarded.w),
            atol=1e-6,
        ),
    ]


@target(
    name="synaptic_scaling_multiplicative",
    scale="synapse",
    source="Turrigiano et al. 1998 Nature 391:892 (multiplicative scaling)",
)
def _scaling():
    rule = SynapticScaling(r_target=5.0, tau_scale=10.0, tau_rate=1.0)
    x = jnp.array([4.0, 10.0, 1.0, 7.0]) * 0.3  # TTX-like: activity reduced to 30 %
    w0 = jnp.array([[0.1], [0.3], [0.05], [0.2]])

    def body(state, _):
        y = (state.weights[:, 0] @ x)[None]
        return rule.step(state, x, y, 0.5), y[0]

    state, ys = jax.lax.scan(body, rule.init(w0, rate_estimate=float(w0[:, 0] @ x)), None, 400)
    w = np.asarray(state.weights[:, 0], dtype=float)
    ratio_error = float(
        np.max(np.abs(w / w[1] - np.asarray(w0[:, 0] / w0[1, 0])) / (w0[:, 0] / w0[1, 0]))
    )
    return [
        within("rate after scaling (Hz), r_target = 5 Hz", 5.0, float(ys[-1]), rtol=1e-3),
        holds("silenced cell scales weights up", "w > w0", float(w[0] / 0.1), bool(w[0] > 0.1)),
        holds(
            "weight ratios preserved (max rel. error)", "< 1e-5", ratio_error, ratio_error < 1e-5
        ),
    ]


@jax.jit
def _lif_cell(rho0):
    # rho0 is traced, so both target rates share one compilation.
    rule = InhibitorySTDP(eta=0.2, rho0=rho0)
    return simulate_istdp_cell(rule, key=jr.key(0), t1=40.0, w_exc=0.5, window=5.0)


@target(
    name="vogels_istdp_target_rate",
    scale="synapse",
    source=(
        "Vogels et al. 2011 Science 334:1569, rho_post = alpha/(2 tau_STDP) (the rule "
        "averaged over Poisson rates, one rate cell)"
    ),
)
def _istdp():
    out = []
    x_inh = jnp.array([10.0, 20.0])
    for rho0 in (3.0, 6.0):
        rule = InhibitorySTDP(eta=2e-2, rho0=rho0)

        def body(state, _, rule=rule):
            y = jax.nn.relu(40.0 - state.weights[:, 0] @ x_inh)[None]
            return rule.step(state, x_inh, y, 0.05), y[0]

        _, ys = jax.lax.scan(body, rule.init(jnp.zeros((2, 1))), None, 3000)
        out.append(
            within(
                f"averaged rule: rate cell settles at rho0 = {rho0:g} Hz",
                rho0,
                float(ys[-1]),
                rtol=1e-4,
            )
        )
    return out


@target(
    name="vogels_istdp_lif_cell",
    scale="synapse",
    source=(
        "Vogels et al. 2011 Science 334:1569, rate set by rho0 (scaled down to "
        "one LIF cell with 80 E + 20 I Poisson inputs, eta raised to 0.2 nS, 40 s)"
    ),
    known_gap=(
        "the scaled-down LIF cell settles about 1.4-1.5x above rho0 (4.6 Hz for rho0 = 3, "
        "8.5 Hz for rho0 = 6; rtol 0.2). The gap is the model's, not the code's: the same "
        "cell, inputs and rule in Brian2 2.10.1 (benchmarks/peers/istdp_cell_brian2.py) "
        "settle at 4.45-4.65 Hz and 8.2-8.35 Hz (seeds 0-2; mean I weight 7.6-8.2 and "
        "6.0-6.3 nS; multiscale 4.0-5.4 Hz, 7.8-8.9 nS and 7.85-8.85 Hz, 6.4-7.0 nS). "
        "Each inhibitory spike delays the next output spike, so the pre trace at post "
        "spikes is below its mean and the drift vanishes above rho0; with 10x more, 10x "
        "weaker inputs (800 E + 200 I) the excess falls to 1.1-1.2x in both simulators "
        "(3.4-3.65 and 6.5-6.85 Hz, seeds 0-2). The rate-averaged rule reaches rho0 to 1e-4"
    ),
)
def _istdp_lif():
    out = []
    for rho0 in (3.0, 6.0):
        rate = np.asarray(_lif_cell(jnp.asarray(rho0)).rate)
        out.append(
            within(
                f"LIF cell, rho0 = {rho0:g} Hz: last-20-s rate (Hz), from {rate[0]:.0f} Hz",
                rho0,
                float(rate[-4:].mean()),
                rtol=0.2,
            )
        )
    return out
