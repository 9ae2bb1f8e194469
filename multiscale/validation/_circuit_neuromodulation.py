"""Neuromodulators acting on the Wong–Wang circuit: documented effects, in simulation.

Trials: dt = 1 ms, 0.5 s pre-stimulus from S = 0.1, mu0 = 30 Hz, 2.5 s in all; 1500 trials
per coherence and condition, the same noise (keys) in the modulated and the unmodulated
condition, so differences are paired. The baseline is the same modulator at level 0
(exactly the unmodulated circuit), so both share one compilation. A decision is the
first crossing of 15 Hz after onset by the 50-ms boxcar mean of the rates saved every
5 ms (the circuit scale may not import the behavior scale's readouts, so the boxcar of
Wong & Wang's readout is applied to the 5-ms samples here). Decision times are from
stimulus onset.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..circuit import (
    Stimulus,
    TrialProtocol,
    WongWang2006,
    modulate_circuit,
    simulate,
    symmetric_fixed_point,
)
from ..synapse import Acetylcholine, Noradrenaline
from ._registry import holds, target, within

_DT = 1e-3
_T1 = 2.5
_T_ON = 0.5
_SAVE = 5
_N = 1500
_THRESHOLD = 15.0
_WINDOW = 0.05


@eqx.filter_jit
def _rates(modulator, level, coherence, keys):
    circuit = modulate_circuit(WongWang2006(), modulator, level)

    def one(c, k):
        stim = Stimulus(coherence=c)
        protocol = TrialProtocol(dt=_DT, t_on=_T_ON, t1=_T1)
        return simulate(circuit, stim, key=k, protocol=protocol, save_every=_SAVE).r

    return jax.vmap(one)(coherence, keys)


def _decisions(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Choice (0 = population 1, -1 = none) and decision time (s) of saved rates (n, time, 2)."""
    step = _DT * _SAVE
    win = round(_WINDOW / step)
    ts = np.arange(r.shape[1]) * step
    cs = np.cumsum(r, axis=1)
    smooth = (cs[:, win - 1 :] - np.concatenate([np.zeros_like(cs[:, :1]), cs[:, :-win]], 1)) / win
    ts = ts[win - 1 :]
    crossed = (ts >= _T_ON)[None, :] & (smooth.max(-1) >= _THRESHOLD)
    decided = crossed.any(1)
    first = crossed.argmax(1)
    choice = np.where(decided, smooth[np.arange(len(r)), first].argmax(-1), -1)
    return choice, np.where(decided, ts[first] - _T_ON, np.nan)


def _experiment(modulator, coherences: tuple[float, ...], seed: int = 0) -> dict:
    """Accuracy, mean correct decision time and undecided fraction at levels 0 and 1."""
    out = {}
    for level in (0.0, 1.0):
        acc, dt_c, undecided = [], [], []
        for i, c in enumerate(coherences):
            keys = jr.split(jr.key(seed + i), _N)
            r = np.asarray(_rates(modulator, jnp.asarray(level), jnp.full((_N,), c), keys))
            choice, dt = _decisions(r)
            dec = choice >= 0
            acc.append(float(np.mean(choice[dec] == 0)))
            dt_c.append(float(np.mean(dt[dec & (choice == 0)])))
            undecided.append(float(1.0 - dec.mean()))
        out[level] = (np.array(acc), np.array(dt_c), np.array(undecided))
    return out


def _fmt(values, scale=1.0, unit=""):
    return " / ".join(f"{scale * v:.3g}" for v in values) + unit


@eqx.filter_jit
def _fixed_points(modulator, level):
    circuit = modulate_circuit(WongWang2006(), modulator, level)
    spont = symmetric_fixed_point(circuit, 0.0, 0.1)
    saddle = symmetric_fixed_point(circuit, 30.0, 0.4)
    return spont.r[0], saddle.r[0], jnp.max(jnp.real(saddle.eigenvalues))


def _saddle(modulator, level):
    """Spontaneous rate (Hz), symmetric rate at mu0 = 30 Hz (Hz), its unstable eigenvalue (1/s)."""
    with jax.enable_x64(True):
        out = _fixed_points(modulator, jnp.asarray(level, jnp.float64))
        return tuple(float(v) for v in out)


_NA_COH = (0.032, 0.128)


@target(
    name="neuromod_noradrenaline_gain_speeds_decisions",
    scale="circuit",
    source=(
        "Servan-Schreiber, Printz & Cohen 1990 Science 249:892 (NE as gain); Aston-Jones & "
        "Cohen 2005 Annu Rev Neurosci 28:403; Eckhoff, Wong-Lin & Holmes 2009 J Neurosci "
        "29:4301 (high NE: impulsive, inaccurate choices in a decision network)"
    ),
)
def _noradrenaline():
    mod = Noradrenaline()
    res = _experiment(mod, _NA_COH)
    (acc0, dt0, und0), (acc1, dt1, und1) = res[0.0], res[1.0]
    spont0, sym0, lam0 = _saddle(mod, 0.0)
    spont1, sym1, lam1 = _saddle(mod, 1.0)
    pooled0, pooled1 = float(acc0.mean()), float(acc1.mean())
    return [
        within(
            "gain pivots at the spontaneous state: its rate (Hz) unchanged at level 1",
            spont0,
            spont1,
            rtol=1e-4,
        ),
        holds(
            "symmetric state at mu0 = 30 Hz stays unstable and below threshold (winner-take-all)",
            "lambda > 0, r < 15 Hz",
            f"r {sym0:.1f} -> {sym1:.1f} Hz, lambda {lam0:.2f} -> {lam1:.2f} /s",
            lam1 > 0 and sym1 < _THRESHOLD,
        ),
        holds(
            f"mean correct decision time shorter at c = {_fmt(_NA_COH, 100, ' %')}",
            "level 1 < level 0 at each coherence",
            f"{_fmt(dt0, 1e3)} -> {_fmt(dt1, 1e3)} ms",
            bool(np.all(dt1 < dt0)),
        ),
        holds(
            "accuracy (pooled over coherences) lower: speed bought with accuracy",
            "level 1 < level 0",
            f"{_fmt(acc0)} -> {_fmt(acc1)}",
            pooled1 < pooled0,
        ),
        holds(
            "undecided trials within 2 s",
            "<= 1 %",
            f"{_fmt(und0, 100)} -> {_fmt(und1, 100)} %",
            bool(np.all(und1 <= 0.01) and np.all(und0 <= 0.01)),
        ),
    ]


_ACH_COH = (0.032, 0.064)


@target(
    name="neuromod_acetylcholine_favours_afferent_input",
    scale="circuit",
    source=(
        "Hasselmo & Bower 1992 J Neurophysiol 67:1222 and Hasselmo & Schnell 1994 J Neurosci "
        "14:3898 (recurrent suppressed, afferent spared); Gil, Connors & Amitai 1997 Neuron "
        "19:679; Yu & Dayan 2005 Neuron 46:681 (ACh weights bottom-up input over expectation)"
    ),
)
def _acetylcholine():
    mod = Acetylcholine()
    res = _experiment(mod, _ACH_COH)
    (acc0, dt0, und0), (acc1, dt1, und1) = res[0.0], res[1.0]
    _, sym0, lam0 = _saddle(mod, 0.0)
    _, sym1, lam1 = _saddle(mod, 1.0)
    return [
        holds(
            "symmetric state at mu0 = 30 Hz leaves more slowly (weaker recurrence)",
            "unstable eigenvalue: level 1 < level 0, > 0",
            f"{lam0:.2f} -> {lam1:.2f} /s",
            0 < lam1 < lam0,
        ),
        holds(
            f"accuracy higher at c = {_fmt(_ACH_COH, 100, ' %')}: the stimulus weighs more",
            "level 1 > level 0 at each coherence",
            f"{_fmt(acc0)} -> {_fmt(acc1)}",
            bool(np.all(acc1 > acc0)),
        ),
        holds(
            "undecided trials within 2 s",
            "<= 1 %",
            f"{_fmt(und0, 100)} -> {_fmt(und1, 100)} %; correct DT "
            f"{_fmt(dt0, 1e3)} -> {_fmt(dt1, 1e3)} ms",
            bool(np.all(und1 <= 0.01) and np.all(und0 <= 0.01)),
        ),
    ]
