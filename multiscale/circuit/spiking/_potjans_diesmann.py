r"""The cortical microcircuit of Potjans & Diesmann (2014), down-scaled as NEST's example.

Eight populations (excitatory and inhibitory neurons of layers 2/3, 4, 5 and 6) of
current-based LIF neurons with exponential postsynaptic currents (NEST's
``iaf_psc_exp``), $\tau_m = 10$ ms, $C_m = 250$ pF, $E_L = V_r = -65$ mV,
$\vartheta = -50$ mV, $t_\mathrm{ref} = 2$ ms, $\tau_s = 0.5$ ms; step 0.1 ms with
exact integration of the subthreshold dynamics (Rotter & Diesmann 1999).

Connectivity (Potjans & Diesmann 2014, Table 5). For connection probability $C_{yx}$
between the full-scale populations the number of synapses is
$K_{yx} = \ln(1 - C_{yx}) / \ln(1 - 1/(N_x N_y))$; the synapses join source-target
pairs drawn uniformly with replacement (NEST's ``fixed_total_number``, multapses allowed).

Weights: a mean PSP of 0.15 mV, converted to the PSC amplitude that gives this peak
PSP (87.81 pA); the L4E -> L2/3E projection doubled; inhibitory synapses $g = -4$ times
the excitatory ones; each weight drawn from a normal distribution with SD 10 % of its
mean, clipped at zero so the sign is kept (the original redraws; with SD 10 % a sign
change has probability $10^{-23}$). Delays: normal with mean 1.5 ms (excitatory sources)
or 0.75 ms (inhibitory), SD half the mean, redrawn below one step, rounded to the step.

External drive: $K_\mathrm{ext}$ independent 8 Hz Poisson trains per neuron (1600, 1500,
2100, 1900, 2000, 1900, 2900, 2100 for L2/3E ... L6I) with the excitatory weight, or
the equivalent DC current $\nu_\mathrm{bg} K_\mathrm{ext} J \tau_s$.

Down-scaling (NEST's PyNEST example, van Albada, Helias & Diesmann 2015): with
$N_\mathrm{scaling}$ and $K_\mathrm{scaling} = \kappa$, population sizes become
$\mathrm{round}(N_\mathrm{scaling} N_y)$, synapse numbers
$\mathrm{round}(N_\mathrm{scaling}\,\kappa\,K_{yx})$, external in-degrees
$\mathrm{round}(\kappa K_\mathrm{ext})$; all weights are divided by $\sqrt\kappa$ and
a DC current
$$\Delta I_y = \tau_s (1 - \sqrt\kappa)\,\Big[\sum_x J_{yx} \frac{K_{yx}}{N_y}\,\nu_x
  + J K_{\mathrm{ext},y}\,\nu_\mathrm{bg}\Big]$$
restores the mean input of the full-scale network, with $\nu_x$ the full-scale rates of
the current NEST example (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829 Hz).
Initial potentials are NEST's "optimized" per-population normals.

Implementation note. The step of a :class:`SpikingNetwork` adds the spikes that arrive
at step $k$ before the membrane update of step $k$; NEST's ``iaf_psc_exp`` adds them to
the current after the update, so each delay here acts one step (0.1 ms) earlier than the
same delay in NEST. Delays are one :class:`Projection` per distinct delay (in steps),
each from all neurons onto all neurons; :func:`run` merges them into one
:class:`DelayRing`, so each step's spikes are delivered once, through all synapses, into a
ring buffer of future input (as NEST does), not once per distinct delay.

References:
    Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit: relating
    structure and activity in a full-scale spiking network model. Cereb Cortex
    24:785-806.
    van Albada SJ, Helias M, Diesmann M (2015) Scalability of asynchronous networks is
    limited by one-to-one mapping between effective connectivity and correlations.
    PLoS Comput Biol 11:e1004490.
    Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant linear systems
    with applications to neuronal modeling. Biol Cybern 81:381-402.
"""

import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ._connection_rules import _from_pairs
from ._connectivity import AbstractPropagation, EventDriven
from ._network import Projection, SpikingNetwork
from ._neurons import LIF, ExpCurrent, PoissonInput
from ._surrogate import AbstractSurrogate, FastSigmoid

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
#: Connection probabilities C_yx (row: target y, column: source x), Potjans & Diesmann
#: (2014) Table 5.
CONN_PROBS = np.array(
    [
        [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
        [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
        [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
        [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
        [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
        [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
        [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
        [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
    ]
)
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
#: Full-scale rates used for the DC compensation, Hz (the current NEST example).
FULL_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
TAU_M, C_M, TAU_S = 10.0, 250.0, 0.5  # ms, pF, ms
PSP_E, G, BG_RATE = 0.15, -4.0, 8.0  # mV, -, Hz
_EVENTS = EventDriven(capacity=(8, 64, 512))
_SURROGATE = FastSigmoid()


def psc_per_psp(C_m: float = C_M, tau_m: float = TAU_M, tau_s: float = TAU_S) -> float:
    r"""PSC amplitude (pA) that gives a 1 mV peak PSP in a LIF with exponential currents.

    The PSP of a current $J e^{-t/\tau_s}$ peaks at $t^* = \tau_m\tau_s\ln(\tau_m/\tau_s)
    /(\tau_m - \tau_s)$; its height is $J\,\tau_m\tau_s/(C_m(\tau_s - \tau_m))\,
    (e^{-t^*/\tau_m} - e^{-t^*/\tau_s})$. 585.39 pA/mV for the microcircuit's neuron.
    """
    sub = 1.0 / (tau_s - tau_m)
    pre = tau_m * tau_s / C_m * sub
    frac = (tau_m / tau_s) ** sub
    return 1.0 / (pre * (frac**tau_m - frac**tau_s))


def synapse_numbers(n_full=N_FULL, conn_probs=CONN_PROBS) -> np.ndarray:
    r"""Full-scale synapse numbers $K_{yx} = \ln(1 - C_{yx})/\ln(1 - 1/(N_x N_y))$."""
    n = np.asarray(n_full, float)
    prod = np.outer(n, n)
    return np.log(1.0 - np.asarray(conn_probs)) / np.log(1.0 - 1.0 / prod)


def mean_weights() -> np.ndarray:
    """Mean recurrent PSC amplitudes J_yx, pA (target, source), before down-scaling."""
    J = PSP_E * psc_per_psp()
    W = np.tile(np.array([J, G * J] * 4), (8, 1))
    W[0, 2] = 2 * J
    return W


def dc_compensation(k_scaling: float, rates=FULL_RATES) -> np.ndarray:
    r"""DC current that keeps the full-scale mean input when in-degrees scale by $\kappa$, pA.

    $\Delta I_y = \tau_s (1 - \sqrt\kappa)\,[\sum_x J_{yx} (K_{yx}/N_y)\nu_x +
    J K_{\mathrm{ext},y}\nu_\mathrm{bg}]$ (zero at $\kappa = 1$).
    """
    J = PSP_E * psc_per_psp()
    indegree = synapse_numbers() / N_FULL[:, None]
    recurrent = np.sum(mean_weights() * indegree * np.asarray(rates)[None], axis=1)
    external = J * K_EXT * BG_RATE
    return 1e-3 * TAU_S * (1.0 - math.sqrt(k_scaling)) * (recurrent + external)


def _draw_delays(rng, mean: float, n: int, dt_ms: float) -> np.ndarray:
    d = rng.normal(mean, 0.5 * mean, n)
    bad = d < dt_ms
    while np.any(bad):
        d[bad] = rng.normal(mean, 0.5 * mean, int(bad.sum()))
        bad = d < dt_ms
    return np.maximum(np.rint(d / dt_ms), 1).astype(np.int64)


def potjans_diesmann(
    key: PRNGKeyArray,
    *,
    scale: float = 0.1,
    k_scaling: float | None = None,
    poisson_input: bool = True,
    delay_bin: int = 1,
    dt: float = 1e-4,
    propagation: AbstractPropagation = _EVENTS,
    surrogate: AbstractSurrogate = _SURROGATE,
) -> SpikingNetwork:
    r"""Potjans & Diesmann's (2014) microcircuit, scaled as NEST's example (see the module).

    Args:
        key: PRNG key for synapses, weights, delays and initial potentials.
        scale: $N_\mathrm{scaling}$, the fraction of neurons kept (0.1 in NEST's example).
        k_scaling: $K_\mathrm{scaling}$, the fraction of the in-degrees kept (``None``:
            ``scale``, as NEST's example); weights and the DC compensation follow it.
        poisson_input: external drive as Poisson trains (True) or as their mean DC.
        delay_bin: 1 (default): every distinct delay (in steps) is its own projection, as
            drawn. ``m > 1``: delays are grouped in bins of ``m`` steps per source type
            (excitatory, inhibitory), and each bin's synapses get the bin's mean delay,
            rounded to the step: fewer projections (faster to compile and run; about 15
            instead of 50 for ``m = 5``) with the same mean delays, at the cost of a
            coarser delay distribution.
        dt: the step, s (0.1 ms).
        propagation, surrogate: as for :class:`SpikingNetwork`.

    Returns:
        A :class:`SpikingNetwork` with populations ``L23E, L23I, L4E, L4I, L5E, L5I, L6E,
        L6I``; one :class:`ExpCurrent` receptor (nA) that every synapse feeds.
    """
    kappa = scale if k_scaling is None else k_scaling
    if not (0 < scale <= 1 and 0 < kappa <= 1):
        raise ValueError(f"`scale` and `k_scaling` must lie in (0, 1], got {scale}, {kappa}")
    sizes = np.maximum(np.rint(scale * N_FULL), 1).astype(int)
    n = int(sizes.sum())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    K = np.rint(scale * kappa * synapse_numbers()).astype(np.int64)
    J = mean_weights() / math.sqrt(kappa)  # pA
    J_ext = PSP_E * psc_per_psp() / math.sqrt(kappa)
    rng = np.random.default_rng(np.asarray(jr.bits(key, (4,))))
    dt_ms = dt * 1e3
    pre, post, w, d, src = [], [], [], [], []
    for y in range(8):
        for x in range(8):
            m = int(K[y, x])
            if m == 0:
                continue
            pre.append(starts[x] + rng.integers(0, sizes[x], m))
            post.append(starts[y] + rng.integers(0, sizes[y], m))
            mu = J[y, x]
            w.append(np.sign(mu) * np.maximum(np.abs(rng.normal(mu, 0.1 * abs(mu), m)), 0.0))
            d.append(_draw_delays(rng, 1.5 if x % 2 == 0 else 0.75, m, dt_ms))
            src.append(np.full(m, x % 2))
    pre, post = np.concatenate(pre), np.concatenate(post)
    w, d = np.concatenate(w) * 1e-3, np.concatenate(d)  # nA, steps
    if not (isinstance(delay_bin, int) and delay_bin >= 1):
        raise ValueError(f"`delay_bin` must be an int >= 1, got {delay_bin!r}")
    if delay_bin > 1:
        src = np.concatenate(src)
        group = (d - 1) // delay_bin * 2 + src
        for g in np.unique(group):
            sel = group == g
            d[sel] = max(1, int(np.rint(d[sel].mean())))
    projections = []
    for steps in np.unique(d):
        sel = d == steps
        conn = _from_pairs(pre[sel], post[sel], w[sel], n, n)
        projections.append(Projection(conn, receptor=0, delay=float(steps) * dt))
    dc = dc_compensation(kappa)
    K_ext = np.rint(kappa * K_EXT).astype(int)
    inputs = []
    if poisson_input:
        for y in range(8):
            inputs.append(
                PoissonInput(
                    rate=BG_RATE,
                    weight=J_ext * 1e-3,
                    receptor=0,
                    start=int(starts[y]),
                    stop=int(starts[y] + sizes[y]),
                    n_sources=int(K_ext[y]),
                )
            )
    else:
        dc = dc + BG_RATE * K_ext * J_ext * TAU_S * 1e-3
    I_e = np.repeat(dc * 1e-3, sizes)  # nA
    V0 = np.repeat(V0_MEAN, sizes) + np.repeat(V0_SD, sizes) * rng.standard_normal(n)
    neuron = LIF(
        tau_m=TAU_M * 1e-3,
        g_L=C_M / TAU_M,  # nS
        E_L=-65.0,
        V_th=-50.0,
        V_reset=-65.0,
        t_ref=2e-3,
        I_e=jnp.asarray(I_e, jnp.float32),
    )
    return SpikingNetwork(
        neuron=neuron,
        receptors=(ExpCurrent(tau=TAU_S * 1e-3),),
        projections=tuple(projections),
        inputs=tuple(inputs),
        V0=jnp.asarray(V0, jnp.float32),
        sizes=tuple(int(s) for s in sizes),
        names=POPULATIONS,
        dt=dt,
        propagation=propagation,
        surrogate=surrogate,
    )
