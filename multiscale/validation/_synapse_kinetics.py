"""Published targets for receptor kinetics (Jahr & Stevens 1990; Destexhe,
Mainen & Sejnowski 1994, 1998).

Each target simulates the model and measures the quantity from the simulated trace;
nothing is read back from the parameters.
"""

import math

import jax.numpy as jnp
import numpy as np

from ..synapse import (
    FirstOrderReceptor,
    GABABReceptor,
    MgBlock,
    ampa,
    conductance,
    gabaa,
    gabab,
    nmda,
    simulate_receptor,
)
from ._registry import holds, target, within

# Jahr & Stevens 1990 block B(V) = 1/(1 + exp(-0.062 V) [Mg]/3.57) at 1 mM Mg2+, evaluated
# and printed to four decimals (so compared to half a unit of the last digit), and the
# three values quoted to three digits (rel. tol. 1e-3).
_MG_TABLE = {-80.0: 0.0244, -65.0: 0.0597, -40.0: 0.2302, -20.0: 0.5081, 0.0: 0.7812, 20.0: 0.9250}
_MG_TARGET = {-65.0: 0.0597, -20.0: 0.508, 0.0: 0.781}


@target(
    name="mg_block_jahr_stevens",
    scale="synapse",
    source="Jahr & Stevens 1990 J Neurosci 10:3178 (block at 1 mM Mg2+)",
)
def _mg_block():
    block = MgBlock(Mg=1.0)
    out = []
    for V, expected in _MG_TARGET.items():
        out.append(within(f"B({V:g} mV), 1 mM Mg", expected, float(block(V)), rtol=1e-3))
    for V, expected in _MG_TABLE.items():
        out.append(within(f"B({V:g} mV) table, 1 mM Mg", expected, float(block(V)), atol=5e-5))
    return out


# Pulse-end open fraction and decay time constant after one 1 mM x 1 ms pulse from r = 0,
# computed in closed form from the ModelDB 18500 parameters (r_inf (1 - exp(-Cdur/tau_r)),
# 1/beta).
_PULSE = {
    "AMPA": (ampa, 0.618, 5.26e-3, 20e-3),
    "NMDA": (nmda, 0.0692, 151.5e-3, 300e-3),
    "GABA_A": (gabaa, 0.960, 5.56e-3, 20e-3),
}


def _decay_tau(ts: np.ndarray, r: np.ndarray) -> float:
    """Decay time constant (s) from the least-squares slope of log r over the window."""
    slope = np.polyfit(ts, np.log(r), 1)[0]
    return -1.0 / slope


def _pulse_response(receptor: FirstOrderReceptor, window: float) -> tuple[float, float]:
    Cdur = float(receptor.Cdur)
    tail = jnp.linspace(Cdur, Cdur + window, 201)
    traj = simulate_receptor(receptor, jnp.array([0.0]), tail)
    r = np.asarray(traj.r, dtype=float)
    return float(r[0]), _decay_tau(np.asarray(tail, dtype=float) - Cdur, r)


@target(
    name="kinetic_synapse_single_pulse",
    scale="synapse",
    source=(
        "Destexhe, Mainen & Sejnowski 1994 Neural Comput 6:14 and 1998 (Methods in Neuronal "
        "Modeling); values computed from the parameters of ModelDB 18500"
    ),
)
def _single_pulse():
    out = []
    for name, (make, r_end, tau, window) in _PULSE.items():
        r_measured, tau_measured = _pulse_response(make(), window)
        out.append(within(f"{name} r at pulse end", r_end, r_measured, rtol=1e-3))
        out.append(within(f"{name} decay tau (s)", tau, tau_measured, rtol=1e-3))
    return out


def _gabab_peak_time_closed_form(rec: GABABReceptor) -> float:
    """Time (s) of the G-protein (hence conductance) peak after one pulse at t = 0.

    Derived by hand from the linear scheme. During the pulse $R$ relaxes to
    $R_\\infty = K_1 C/(K_1 C + K_2)$ at rate $k = K_1 C + K_2$, and $G$ follows
    $G(t) = K_3 R_\\infty[(1 - e^{-K_4 t})/K_4 - (e^{-kt} - e^{-K_4 t})/(K_4 - k)]$.
    After it ($t' = t - C_\\mathrm{dur}$), $R = R_1 e^{-K_2 t'}$ and
    $G = G_1 e^{-K_4 t'} + c\\,(e^{-K_2 t'} - e^{-K_4 t'})$ with $c = K_3 R_1/(K_4 - K_2)$;
    $dG/dt = 0$ gives $t'^* = \\ln[K_4 (c - G_1)/(c K_2)]/(K_4 - K_2)$. The Hill
    function is monotone in $G$, so the conductance peaks at the same time.
    """
    K1, K2, K3, K4 = (float(getattr(rec, k)) for k in ("K1", "K2", "K3", "K4"))
    C, Cdur = float(rec.Cmax), float(rec.Cdur)
    k = K1 * C + K2
    R_inf = K1 * C / k
    R1 = R_inf * (1.0 - math.exp(-k * Cdur))
    G1 = (
        K3
        * R_inf
        * (
            (1.0 - math.exp(-K4 * Cdur)) / K4
            - (math.exp(-k * Cdur) - math.exp(-K4 * Cdur)) / (K4 - k)
        )
    )
    c = K3 * R1 / (K4 - K2)
    return Cdur + math.log(K4 * (c - G1) / (c * K2)) / (K4 - K2)


def _peak_and_half_decay(ts: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    i = int(np.argmax(g))
    below = np.nonzero(g[i:] < 0.5 * g[i])[0]
    half = ts[i + below[0]] - ts[i] if below.size else np.inf
    return float(ts[i]), float(half)


@target(
    name="gabab_slow_response",
    scale="synapse",
    source=(
        "Destexhe et al. 1996 J Neurophysiol 76:2049 (GABA_B G-protein scheme), ModelDB "
        "18500 gabab.mod"
    ),
)
def _gabab():
    rec_b, rec_a = gabab(), gabaa()
    ts = jnp.linspace(0.0, 1.0, 10001)
    traj_b = simulate_receptor(rec_b, jnp.array([0.0]), ts)
    traj_a = simulate_receptor(rec_a, jnp.array([0.0]), ts)
    t = np.asarray(ts, dtype=float)
    peak_b, half_b = _peak_and_half_decay(t, np.asarray(conductance(rec_b, traj_b), dtype=float))
    peak_a, half_a = _peak_and_half_decay(t, np.asarray(conductance(rec_a, traj_a), dtype=float))
    # Peak time of G from the simulated states: the zero crossing of dG/dt = K3 R - K4 G,
    # linearly interpolated between save times.
    dG = np.asarray(rec_b.K3 * traj_b.r - rec_b.K4 * traj_b.G, dtype=float)
    j = int(np.nonzero((dG[1:-1] > 0) & (dG[2:] <= 0))[0][0]) + 1
    t_peak = t[j] + (t[j + 1] - t[j]) * dG[j] / (dG[j] - dG[j + 1])
    return [
        within(
            "GABA_B conductance peak time (s), closed form",
            _gabab_peak_time_closed_form(rec_b),
            t_peak,
            rtol=1e-3,
        ),
        holds(
            "GABA_B peaks later than GABA_A",
            "t_peak(GABA_B) > 10 t_peak(GABA_A)",
            f"{peak_b * 1e3:.1f} ms vs {peak_a * 1e3:.1f} ms",
            peak_b > 10 * peak_a,
        ),
        holds(
            "GABA_B lasts longer than GABA_A",
            "half-decay time(GABA_B) > 10 x half-decay time(GABA_A)",
            f"{half_b * 1e3:.1f} ms vs {half_a * 1e3:.1f} ms",
            half_b > 10 * half_a,
        ),
    ]
