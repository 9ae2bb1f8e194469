"""Published targets for several coupled areas: the hierarchy of timescales (Chaudhuri et
al. 2015) and the feedforward-gamma / feedback-alpha asymmetry between laminar areas (Mejias
et al. 2016).

The paper does not print each area's time constant; the values checked here are the eigen
time constants of its equations linearised around the resting state (r_E = 10 Hz, r_I =
35 Hz), computed with its published parameters, and a simulation of the same circuit
through the package's one integrator.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..circuit import (
    ALPHA_LOW_BETA_BAND,
    CHAUDHURI_HIERARCHY,
    GAMMA_BAND,
    AreaHierarchy,
    GivenNormals,
    NoReadout,
    TrialProtocol,
    area_pulse,
    directed_influence,
    integrate,
    laminar_areas,
    power_spectrum,
    simulate,
)
from ._registry import holds, in_range, target, within

_SOURCE = (
    "Chaudhuri, Knoblauch, Gariel, Kennedy & Wang 2015 Neuron 88:419, published parameters "
    "(eigen time constants -1/Re(lambda) of the linearised equations, computed from them)"
)


def _isolated(h: float) -> AreaHierarchy:
    return AreaHierarchy(h=[h], fln=[[0.0]])


@target(name="chaudhuri_isolated_time_constants", scale="circuit", source=_SOURCE)
def _isolated_time_constants():
    bottom = [float(t) * 1e3 for t in _isolated(0.0).eigen_time_constants()]
    top = [float(t) * 1e3 for t in _isolated(1.0).eigen_time_constants()]
    return [
        within("isolated area h = 0, slow time constant, ms", 41.9, bottom[0], rtol=1e-3),
        within("isolated area h = 0, fast time constant, ms", 2.06, bottom[1], rtol=3e-3),
        within("isolated area h = 1, slow time constant, ms", 400.9, top[0], rtol=1e-3),
        within("isolated area h = 1, fast time constant, ms", 2.21, top[1], rtol=3e-3),
    ]


@target(
    name="chaudhuri_pulse_decay",
    scale="circuit",
    source=_SOURCE + "; a 50 ms pulse into E, Euler dt = 0.2 ms as in the authors' replication",
)
def _pulse_decay():
    out = []
    for h, label in ((0.0, "h = 0"), (1.0, "h = 1")):
        hier = _isolated(h)
        tau = float(hier.eigen_time_constants()[0])
        protocol = TrialProtocol(dt=2e-4, t_on=0.1, duration=0.05, t1=0.2 + 2.5 * tau)
        traj = simulate(hier.circuit(), area_pulse(5.0), key=jr.key(0), protocol=protocol)
        t = np.asarray(traj.ts)
        r_E = np.asarray(traj.state.gating[0])[:, 0]
        window = (t > 0.172) & (t < 0.15 + 2 * tau)
        fit = -1.0 / float(np.polyfit(t[window], np.log(r_E[window] - 10.0), 1)[0])
        out.append(
            within(
                f"exponential fit to the decay after a pulse, {label}, ms",
                tau * 1e3,
                fit * 1e3,
                rtol=0.01,
            )
        )
    return out


@target(
    name="chaudhuri_hierarchy_of_timescales",
    scale="circuit",
    source="Chaudhuri et al. 2015 Neuron 88:419 (abstract: a hierarchy of timescales, brief "
    "in sensory, long in association areas); hierarchy values of its 29 areas; each area "
    "isolated (the 29 x 29 FLN matrix is not distributed with the package)",
)
def _hierarchy_of_timescales():
    raw = np.asarray(list(CHAUDHURI_HIERARCHY.values()))
    taus = [float(_isolated(float(h)).eigen_time_constants()[0]) for h in raw / raw.max()]
    rising = bool(np.all(np.diff(taus) >= 0))
    return [
        holds(
            "slow time constant rises along the hierarchy (29 areas, V1 ... 24c)",
            "non-decreasing in h",
            f"{taus[0] * 1e3:.1f} ms (V1) ... {taus[-1] * 1e3:.1f} ms (24c)",
            rising,
        )
    ]


_MEJIAS = (
    "Mejias, Murray, Kennedy & Wang 2016 Sci Adv 2:e1601335 (abstract: feedforward "
    "pathways carry gamma, 30-70 Hz; feedback modulates alpha/low-beta, 8-15 Hz), the "
    "authors' two-area model (V1, V4; Fig. 4a backgrounds 2 and 4, input 15 into V1 "
    "L2/3 E and L5/6 E); directed influence and DAI (Bastos et al. 2015 Neuron 85:390) "
    "from the linearised model's noise sources"
)


def _drive(net, area: int):
    x = jnp.zeros((net.n_channels,)).at[area].set(15.0)
    return net.drive(superficial=x, deep=x)


@target(name="mejias_ff_gamma_fb_alpha", scale="circuit", source=_MEJIAS)
def _ff_gamma_fb_alpha():
    net = laminar_areas()
    d = directed_influence(net, drive=_drive(net, 0))
    ff_peak = float(d.peak(d.granger[0, 1]))
    fb_peak = float(d.peak(d.granger[1, 0]))
    dai_gamma = float(d.band_mean(d.dai(0, 1), GAMMA_BAND))
    dai_alpha = float(d.band_mean(d.dai(0, 1), ALPHA_LOW_BETA_BAND))
    return [
        in_range("peak of the V1 -> V4 (feedforward) influence, Hz", *GAMMA_BAND, ff_peak),
        in_range("peak of the V4 -> V1 (feedback) influence, Hz", *ALPHA_LOW_BETA_BAND, fb_peak),
        holds("DAI(V1 -> V4) in gamma", "> 0 (feedforward)", dai_gamma, dai_gamma > 0),
        holds("DAI(V1 -> V4) in alpha/low-beta", "< 0 (feedback)", dai_alpha, dai_alpha < 0),
    ]


@target(name="mejias_microstimulation_bands", scale="circuit", source=_MEJIAS)
def _microstimulation():
    net = laminar_areas()
    rest = directed_influence(net)
    on_v1 = directed_influence(net, drive=_drive(net, 0))
    on_v4 = directed_influence(net, drive=_drive(net, 1))

    def ratio(d, area, band):
        return float(d.band_mean(d.power[area], band) / rest.band_mean(rest.power[area], band))

    v4_gamma, v4_alpha = ratio(on_v1, 1, GAMMA_BAND), ratio(on_v1, 1, ALPHA_LOW_BETA_BAND)
    v1_gamma, v1_alpha = ratio(on_v4, 0, GAMMA_BAND), ratio(on_v4, 0, ALPHA_LOW_BETA_BAND)
    return [
        holds(
            "driving V1 (feedforward) raises V4's gamma more than its alpha/low-beta",
            "gamma ratio > alpha ratio",
            f"gamma x{v4_gamma:.2f}, alpha x{v4_alpha:.2f}",
            v4_gamma > v4_alpha,
        ),
        holds(
            "driving V4 (feedback) raises V1's alpha/low-beta more than its gamma",
            "alpha ratio > gamma ratio",
            f"alpha x{v1_alpha:.2f}, gamma x{v1_gamma:.2f}",
            v1_alpha > v1_gamma,
        ),
    ]


@target(
    name="mejias_simulated_directed_influence",
    scale="circuit",
    source=_MEJIAS + "; here from a 20 s noisy simulation (Euler-Maruyama, dt = 0.2 ms), "
    "each area's share of the other's Welch spectrum found by removing its noise",
    slow=True,
)
def _simulated_directed_influence():
    net = laminar_areas()
    drive = _drive(net, 0)
    dt, every = 2e-4, 5
    protocol = TrialProtocol(dt=dt, t_on=0.0, t1=21.0, segment=500)
    xi = jr.normal(jr.key(0), (protocol.n_steps, net.n_units))
    area = jnp.tile(jnp.arange(2), 4)

    @jax.jit
    def signal(xi):
        out = integrate(
            net.checked(), drive, protocol, GivenNormals(xi), xi, NoReadout(), save_every=every
        )
        r = out.saved[2][int(1.0 / (dt * every)) :]  # 1 s burn-in
        return 0.2 * r[:, 0:2] + 0.8 * r[:, 4:6]  # the recorded signals of V1, V4

    keep = [(area != a).astype(xi.dtype)[None] for a in (0, 1)]
    S = [
        power_spectrum(signal(x).T, dt * every, segment=1000)
        for x in (xi, xi * keep[0], xi * keep[1])
    ]
    f = S[0].freqs
    ff = jnp.log(S[0].power[1] / S[1].power[1])  # V1 -> V4
    fb = jnp.log(S[0].power[0] / S[2].power[0])  # V4 -> V1

    def band(x, b):
        return float(jnp.mean(x[(f >= b[0]) & (f <= b[1])]))

    ff_g, ff_a = band(ff, GAMMA_BAND), band(ff, ALPHA_LOW_BETA_BAND)
    fb_g, fb_a = band(fb, GAMMA_BAND), band(fb, ALPHA_LOW_BETA_BAND)
    return [
        holds(
            "V1 -> V4 influence: gamma over alpha/low-beta",
            "gamma > alpha",
            f"{ff_g:.3f} vs {ff_a:.3f}",
            ff_g > ff_a,
        ),
        holds(
            "V4 -> V1 influence: alpha/low-beta over gamma",
            "alpha > gamma",
            f"{fb_a:.3f} vs {fb_g:.3f}",
            fb_a > fb_g,
        ),
    ]
