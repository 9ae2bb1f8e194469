"""Published targets for several coupled areas: the hierarchy of timescales (Chaudhuri et
al. 2015).

The paper does not print each area's time constant; the values checked here are the eigen
time constants of its equations linearised around the resting state (r_E = 10 Hz, r_I =
35 Hz), computed with its published parameters, and a simulation of the same circuit
through the package's one integrator.
"""

import jax.random as jr
import numpy as np

from ..circuit import (
    CHAUDHURI_HIERARCHY,
    AreaHierarchy,
    TrialProtocol,
    area_pulse,
    simulate,
)
from ._registry import holds, target, within

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
