"""Interneuron circuits: the inhibition-stabilised paradox, VIP disinhibition, SST reversal.

Steady states are fixed points of the noise-free circuits found by Newton's method with
the Jacobian from ``jax.jacobian`` (float64, :func:`~multiscale.circuit.steady_state`),
which refuses an unstable or unconverged one; the fixed point of the circuits' Euler step
is the same point, and the tests check it against simulation. Responses are differences
of two steady states.

- E–I circuit: the linear (threshold-linear, in its linear regime) model of Tsodyks et al.
  (1997) with $(W_{EE}, W_{EI}, W_{IE}, W_{II}) = (1.5, 1, 1.5, 0.5)$ and equal time
  constants; the slopes are $dr_I/dI_I = (1 - W_{EE})/\\det M$ and
  $dr_E/dI_I = -W_{EI}/\\det M$ (linear algebra).
- E/PV/SST/VIP: the rate model and parameters of Garcia del Molino et al. (2017), cell
  constants of Litwin-Kumar et al. (2016), zero pattern of Pfeffer et al. (2013). The
  expected changes for +10 pA onto VIP are the steady states of those published
  parameters (Euler at 0.1 ms, 6 s), not numbers printed in the paper; the paper's own
  claim is the sign reversal of the SST response.
- VIP disinhibition (Pi et al. 2013): only the directions are checked, SST down and E up.
  Pi et al. saw a fraction of PV cells suppressed too; in this one-unit-per-type circuit
  the PV population's mean rate rises (+1.13 Hz at the low baseline), so PV is reported,
  not tested.
"""

import jax
import numpy as np

from ..circuit import (
    HIGH_BASELINE,
    INTERNEURON_TYPES,
    LOW_BASELINE,
    interneuron_circuit,
    isn_circuit,
    spectral_abscissa,
    steady_state,
)
from ._registry import holds, target, within

_VIP_STEP = 0.01  # nA (+10 pA)
_LOW_DELTA = (0.26, 1.13, -2.42, 4.71)  # Hz, E, PV, SST, VIP
_HIGH_DELTA = (16.3, 6.39, 9.85, 24.3)


def _isn_slopes(W_EE: float, dI: float = 0.1) -> tuple[np.ndarray, float]:
    """``(dr/dI_I, spectral abscissa)`` of the E–I circuit at its steady state."""
    c = isn_circuit(W_EE=W_EE)
    ss0 = steady_state(c, [10.0, 10.0])
    ss1 = steady_state(c, [10.0, 10.0], drive=[0.0, dI])
    return np.asarray(ss1.rates - ss0.rates) / dI, float(ss0.spectral_abscissa)


@target(
    name="isn_paradoxical_response",
    scale="circuit",
    source=(
        "Tsodyks, Skaggs, Sejnowski & McNaughton 1997 J Neurosci 17:4382 (extra input to "
        "the interneurons of an inhibition-stabilised network lowers their rate); slopes by "
        "linear algebra of their linear E-I model"
    ),
)
def _isn():
    with jax.enable_x64(True):
        slope, alpha = _isn_slopes(1.5)
        weak, _ = _isn_slopes(0.5)
        e_alone = float(spectral_abscissa(isn_circuit(W_EI=0.0, W_IE=0.0), [10.0, 10.0]))
    return [
        within("dr_I/dI_I, Hz/nA (W_EE = 1.5: ISN)", -2 / 3, slope[1], rtol=1e-6),
        within("dr_E/dI_I, Hz/nA (W_EE = 1.5)", -4 / 3, slope[0], rtol=1e-6),
        within("dr_I/dI_I, Hz/nA (W_EE = 0.5: not an ISN)", 0.5 / 2.25, weak[1], rtol=1e-6),
        holds(
            "stable with inhibition, unstable without (inhibition-stabilised)",
            "spectral abscissa < 0 with, > 0 for E alone (1/s)",
            f"{alpha:.1f} with, {e_alone:.1f} E alone",
            bool(alpha < 0 < e_alone),
        ),
    ]


def _vip_response(base) -> tuple[np.ndarray, np.ndarray]:
    """Steady rates at the baseline and their change for +10 pA onto VIP, Hz."""
    c = interneuron_circuit(base.I_bkg)
    r0 = steady_state(c, base.rates).rates
    r1 = steady_state(c, base.rates, drive=[0.0, 0.0, 0.0, _VIP_STEP]).rates
    return np.asarray(r0), np.asarray(r1 - r0)


def _fmt(values) -> str:
    return ", ".join(f"{n} {v:+.3g}" for n, v in zip(INTERNEURON_TYPES, values, strict=True))


@target(
    name="interneuron_vip_disinhibition",
    scale="circuit",
    source=(
        "Pi, Hangya, Kvitsiani, Sanders, Huang & Kepecs 2013 Nature 503:521 (VIP activation "
        "suppresses SST cells and raises principal-cell activity); Pfeffer, Xue, He, Huang & "
        "Scanziani 2013 Nat Neurosci 16:1068 (SST cells avoid each other, PV cells spare "
        "SST); circuit of Garcia del Molino et al. 2017 eLife 6:e29742 at its low baseline"
    ),
)
def _disinhibition():
    with jax.enable_x64(True):
        _, delta = _vip_response(LOW_BASELINE)
        pairs = {(p.pre, p.post) for p in interneuron_circuit().projections}
    return [
        holds("VIP drive lowers SST", "dSST < 0", _fmt(delta), bool(delta[2] < 0)),
        holds("VIP drive raises E (disinhibition)", "dE > 0", _fmt(delta), bool(delta[0] > 0)),
        holds(
            "no SST -> SST and no PV -> SST connection",
            "absent",
            f"{len(pairs)} projections",
            (2, 2) not in pairs and (1, 2) not in pairs,
        ),
    ]


@target(
    name="interneuron_sst_response_reversal",
    scale="circuit",
    source=(
        "Garcia del Molino, Yang, Mejias & Wang 2017 eLife 6:e29742 (SST response to top-down "
        "VIP modulation reverses sign with the baseline); expected changes are the steady "
        "states of their published rate-model parameters (+10 pA onto VIP)"
    ),
)
def _reversal():
    with jax.enable_x64(True):
        r_low, d_low = _vip_response(LOW_BASELINE)
        r_high, d_high = _vip_response(HIGH_BASELINE)
    out = [
        within(
            f"{name} baseline, max |r - r_target|, Hz",
            0.0,
            float(np.max(np.abs(r - np.asarray(base.rates)))),
            atol=0.01,
        )
        for name, r, base in (("low", r_low, LOW_BASELINE), ("high", r_high, HIGH_BASELINE))
    ]
    for level, delta, expected in (("low", d_low, _LOW_DELTA), ("high", d_high, _HIGH_DELTA)):
        out += [
            within(f"{level} baseline: d{n}, Hz", e, d, rtol=0.05)
            for n, d, e in zip(INTERNEURON_TYPES, delta, expected, strict=True)
        ]
    out.append(
        holds(
            "SST response reverses sign between baselines",
            "dSST < 0 (low), > 0 (high)",
            f"{d_low[2]:+.2f} Hz, {d_high[2]:+.2f} Hz",
            bool(d_low[2] < 0 < d_high[2]),
        )
    )
    return out
