"""Neuromodulation and interneurons in a decision circuit: documented effects on behaviour.

The circuit is :func:`~multiscale.circuit.decision_interneuron_circuit` (Wong & Wang's two
pools with dendrites, PV, SST and VIP). Trials: 1 ms steps, 0.5 s before the stimulus,
2 s of stimulus at mu0 = 30 Hz, coherences 0-51.2 % (Roitman & Shadlen's), 1500 trials per
coherence and condition. Every condition uses the same trial keys as the baseline, so
differences are paired: the same noise drives the same trial in both. A decision is the
first crossing of 15 Hz by the 50-ms boxcar rate (:class:`~multiscale.behavior.ThresholdReadout`);
decision times are from stimulus onset. Confidence intervals (95 %): for accuracy and
decision time, mean paired differences +- 1.96 SE; for the Weibull threshold, a paired
bootstrap over trials (200 resamples, the same trials drawn in both conditions); for the
reward rate, the same with 500 resamples.

Conditions: the reduced model itself; the circuit at its defaults; top-down VIP drive
0.03 -> 0.08 nA (attention); acetylcholine at level 1 (afferent x1.2, intracortical
/1.05); noradrenaline at levels 1, 5 and 16 (gain x1.03, x1.15, x1.48 about each
population's resting input); SST silenced (every projection out of SST set to 0).
"""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import ROITMAN_COHERENCES, ThresholdReadout, fit_weibull
from ..circuit import (
    TrialProtocol,
    WongWang2006,
    decision_interneuron_circuit,
    lesion,
    modulate_rate_circuit,
    resting_currents,
)
from ..population import run_trials
from ..synapse import Acetylcholine, Noradrenaline
from ._registry import holds, target, within

_N = 1500
_PROTOCOL = TrialProtocol(dt=1e-3, t_on=0.5, t1=2.5)
_COH = jnp.asarray(ROITMAN_COHERENCES)
_LOW = slice(1, 4)  # 3.2, 6.4 and 12.8 % coherence
_SST, _VIP = 3, 4
_VIP_ATTENTION = 0.08  # nA, from 0.03: VIP 3 -> 8 Hz


def _conditions():
    base = decision_interneuron_circuit()
    return {
        "wong_wang": WongWang2006(),
        "baseline": base,
        "vip": decision_interneuron_circuit(vip_drive=_VIP_ATTENTION),
        "acetylcholine": modulate_rate_circuit(base, Acetylcholine(), 1.0),
        "noradrenaline": modulate_rate_circuit(base, Noradrenaline(), 1.0),
        "sst_lesion": lesion(base, _SST),
        "ne_5": modulate_rate_circuit(base, Noradrenaline(), 5.0),
        "ne_16": modulate_rate_circuit(base, Noradrenaline(), 16.0),
    }


@functools.cache
def _trials(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decided, correct, decision time in s), each (coherences, trials), of one condition."""
    out = run_trials(
        _conditions()[name],
        _COH,
        key=jr.key(20),
        n_trials=_N,
        readout=ThresholdReadout(),
        protocol=_PROTOCOL,
    ).readout
    return np.asarray(out.decided), np.asarray(out.correct), np.asarray(out.decision_time)


@jax.jit
def _alphas(k, n):
    return jax.vmap(lambda a, b: fit_weibull(_COH, a, b).alpha)(k, n)


def _threshold(name: str) -> float:
    dec, cor, _ = _trials(name)
    k, n = (jnp.asarray(x.sum(1), jnp.result_type(float))[None] for x in (cor, dec))
    return float(_alphas(k, n)[0])


def _alpha_ci(name: str, reps: int = 200) -> tuple[float, float, float]:
    """Paired bootstrap: threshold difference (condition - baseline) and its 95 % CI."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, _N, (reps, _N))
    sums = []
    for cond in ("baseline", name):
        dec, cor, _ = _trials(cond)
        k = cor[:, idx].sum(-1).T.astype(float)  # (reps, coherences)
        n = dec[:, idx].sum(-1).T.astype(float)
        sums.append(np.asarray(_alphas(jnp.asarray(k), jnp.asarray(n))))
    diff = sums[1] - sums[0]
    lo, hi = np.percentile(diff, [2.5, 97.5])
    return _threshold(name) - _threshold("baseline"), float(lo), float(hi)


def _paired(name: str) -> dict:
    """Accuracy difference at 3.2-12.8 % and decision-time difference (s), with 95 % CIs."""
    d0, c0, t0 = _trials("baseline")
    d1, c1, t1 = _trials(name)
    acc = (c1[_LOW].astype(float) - c0[_LOW].astype(float)).ravel()
    both = d0 & d1
    dt = (t1 - t0)[both]

    def ci(x):
        m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))
        return m, m - 1.96 * se, m + 1.96 * se

    return {"acc": ci(acc), "dt": ci(dt)}


def _fmt(v, scale=1.0, unit=""):
    m, lo, hi = v
    return f"{scale * m:+.3g}{unit} [{scale * lo:+.3g}, {scale * hi:+.3g}]"


def _mean_dt(name):
    dec, cor, dt = _trials(name)
    return np.array([np.nanmean(np.where(c, t, np.nan)) for c, t in zip(cor, dt, strict=True)])


_SOURCE = (
    "Pfeffer et al. 2013 Nat Neurosci 16:1068 (no SST self-connection, no PV -> SST); "
    "Pi et al. 2013 Nature 503:521 (VIP activation suppresses SST, raises principal-cell gain)"
)


@target(name="interneuron_disinhibition_ordinals", scale="circuit", source=_SOURCE)
def _disinhibition():
    base = decision_interneuron_circuit()
    vip = decision_interneuron_circuit(vip_drive=_VIP_ATTENTION)
    x0, x1 = np.asarray(resting_currents(base)), np.asarray(resting_currents(vip))
    pairs = {(p.pre, p.post) for p in base.projections}
    return [
        holds(
            "connectivity rule: SST has no self-connection, PV none onto SST",
            "no (SST, SST), no (PV, SST) projection",
            str(sorted(pairs)),
            bool((_SST, _SST) not in pairs and (2, _SST) not in pairs),
        ),
        holds(
            "VIP drive 0.03 -> 0.08 nA lowers SST (noise-free resting state)",
            "SST rate lower",
            f"{100 * x0[_SST]:.2f} -> {100 * max(x1[_SST], 0):.2f} Hz",
            bool(x1[_SST] < x0[_SST]),
        ),
        holds(
            "... and raises the dendrites' input (the gain of the pools' stimulus path)",
            "dendritic input higher",
            f"{x0[1]:.4f} -> {x1[1]:.4f} nA",
            bool(x1[1] > x0[1]),
        ),
        within(
            "pools' resting input current equals Wong & Wang's spontaneous state (nA)",
            0.34718,
            float(x0[0]),
            rtol=1e-3,
        ),
    ]


@target(
    name="interneuron_decision_baseline_matches_wong_wang",
    scale="behavior",
    source=(
        "Wong & Wang 2006 J Neurosci 26:1314 (reduced model, simulated here with the same "
        "trials); the interneuron circuit's parameters are chosen to match it"
    ),
    slow=True,
)
def _baseline():
    a_ww, a = _threshold("wong_wang"), _threshold("baseline")
    dt_ww, dt = _mean_dt("wong_wang"), _mean_dt("baseline")
    ratio = dt / dt_ww
    return [
        within("Weibull threshold (coherence, fraction) vs the reduced model", a_ww, a, rtol=0.2),
        holds(
            "mean correct decision time at each coherence within 15 % of the reduced model",
            "ratio in [0.85, 1.15]",
            " / ".join(f"{r:.2f}" for r in ratio),
            bool(np.all(np.abs(ratio - 1) <= 0.15)),
        ),
    ]


@target(
    name="vip_attention_lowers_psychometric_threshold",
    scale="behavior",
    source=(
        _SOURCE + "; Yang, Murray & Wang 2016 Nat Commun 7:12815 (dendritic disinhibitory "
        "gating of an input pathway)"
    ),
    slow=True,
)
def _attention():
    da, lo, hi = _alpha_ci("vip")
    p = _paired("vip")
    return [
        holds(
            "VIP drive 0.03 -> 0.08 nA: Weibull threshold lower, 95 % CI below 0",
            "difference < 0, CI excludes 0",
            f"{100 * da:+.2f} % coherence [{100 * lo:+.2f}, {100 * hi:+.2f}]",
            bool(hi < 0),
        ),
        holds(
            "accuracy at 3.2-12.8 % coherence higher, 95 % CI above 0",
            "difference > 0, CI excludes 0",
            _fmt(p["acc"], 100, " pts"),
            bool(p["acc"][1] > 0),
        ),
        holds(
            "not bought with time: decision times not longer",
            "mean paired difference <= 0",
            _fmt(p["dt"], 1e3, " ms"),
            bool(p["dt"][0] <= 0),
        ),
    ]


@target(
    name="acetylcholine_raises_accuracy_interneuron_circuit",
    scale="behavior",
    source=(
        "Gil, Connors & Amitai 1997 Neuron 19:679 (intracortical suppressed more than "
        "thalamocortical); Hasselmo & Bower 1992 J Neurophysiol 67:1222; Yu & Dayan 2005 "
        "Neuron 46:681 (ACh weights bottom-up input)"
    ),
    slow=True,
)
def _acetylcholine():
    base = decision_interneuron_circuit()
    mod = modulate_rate_circuit(base, Acetylcholine(), 1.0)
    aff = float(mod.stimulus.gain) / float(base.stimulus.gain)
    rec = float(mod.projections[0].weight.self_) / float(base.projections[0].weight.self_)
    p = _paired("acetylcholine")
    return [
        holds(
            "afferent (stimulus) scaled up relative to intracortical (out of the pools)",
            "afferent / recurrent factor > 1",
            f"{aff:.3f} / {rec:.3f}",
            bool(aff > rec),
        ),
        holds(
            "accuracy at 3.2-12.8 % coherence higher, 95 % CI above 0",
            "difference > 0, CI excludes 0",
            _fmt(p["acc"], 100, " pts"),
            bool(p["acc"][1] > 0),
        ),
    ]


@target(
    name="noradrenaline_gain_interneuron_circuit",
    scale="behavior",
    source=(
        "Aston-Jones & Cohen 2005 Annu Rev Neurosci 28:403 (NE as gain); Eckhoff, Wong-Lin "
        "& Holmes 2009 J Neurosci 29:4301 (high NE: impulsive, inaccurate choices)"
    ),
    slow=True,
)
def _noradrenaline():
    p = _paired("noradrenaline")
    return [
        holds(
            "gain x1.03 on every population: decisions faster, 95 % CI below 0",
            "difference < 0, CI excludes 0",
            _fmt(p["dt"], 1e3, " ms"),
            bool(p["dt"][2] < 0),
        ),
        holds(
            "accuracy at 3.2-12.8 % coherence lower, 95 % CI below 0",
            "difference < 0, CI excludes 0",
            _fmt(p["acc"], 100, " pts"),
            bool(p["acc"][2] < 0),
        ),
    ]


@target(
    name="sst_lesion_speeds_decisions",
    scale="behavior",
    source=(
        "Yang, Murray & Wang 2016 Nat Commun 7:12815 (SST inhibition gates the dendritic "
        "input); Pfeffer et al. 2013 Nat Neurosci 16:1068 (SST inhibits PV). Direction "
        "predicted by the model, not a published measurement"
    ),
    slow=True,
)
def _sst_lesion():
    p = _paired("sst_lesion")
    d0, _, t0 = _trials("baseline")
    d1, _, t1 = _trials("sst_lesion")
    both = d0 & d1
    q = (0.1, 0.5, 0.9)
    q0, q1 = np.quantile(t0[both], q), np.quantile(t1[both], q)
    return [
        holds(
            "SST silenced: decision times shorter, 95 % CI below 0",
            "difference < 0, CI excludes 0",
            _fmt(p["dt"], 1e3, " ms"),
            bool(p["dt"][2] < 0),
        ),
        holds(
            "the whole distribution moves: 10, 50 and 90 % quantiles shorter",
            "each quantile lower",
            " / ".join(f"{1e3 * a:.0f} -> {1e3 * b:.0f}" for a, b in zip(q0, q1, strict=True))
            + f" ms; accuracy at 3.2-12.8 %: {_fmt(p['acc'], 100, ' pts')}",
            bool(np.all(q1 < q0)),
        ),
    ]


_ITI = 1.0  # s, inter-trial interval of the reward rate
_RT_UNDECIDED = 2.1  # s: an undecided trial counts as an error that took the whole trial


def _reward_rate_ci(a: str, b: str, reps: int = 500) -> tuple[float, float, float]:
    """Reward rate difference (b - a), correct choices per second, with a paired bootstrap CI.

    Reward rate = P(correct) / (mean RT + ITI), RT = decision time + 0.1 s.
    """

    def rr(name, idx):
        dec, cor, dt = _trials(name)
        rt = np.where(dec, dt + 0.1, _RT_UNDECIDED)[:, idx]
        return cor[:, idx].mean((0, -1)) / (rt.mean((0, -1)) + _ITI)

    rng = np.random.default_rng(1)
    idx = rng.integers(0, _N, (reps, _N)).T  # (trials, reps): same trials in both
    diff = rr(b, idx) - rr(a, idx)
    lo, hi = np.percentile(diff, [2.5, 97.5])
    full = np.arange(_N)
    return float(rr(b, full) - rr(a, full)), float(lo), float(hi)


@target(
    name="noradrenaline_inverted_u_reward_rate",
    scale="behavior",
    source=(
        "Eckhoff, Wong-Lin & Holmes 2009 J Neurosci 29:4301 (reward rate low at low NE, "
        "low at high NE, near-maximal over a broad middle range); Aston-Jones & Cohen 2005 "
        "Annu Rev Neurosci 28:403. Level 0 stands for low tonic NE (no gain change); reward "
        "rate = P(correct) / (mean RT + 1 s)"
    ),
    slow=True,
)
def _inverted_u():
    up = _reward_rate_ci("baseline", "ne_5")
    down = _reward_rate_ci("ne_16", "ne_5")
    return [
        holds(
            "reward rate higher at level 5 (gain x1.15) than at level 0, 95 % CI above 0",
            "difference > 0, CI excludes 0",
            _fmt(up, 1.0, " /s"),
            bool(up[1] > 0),
        ),
        holds(
            "reward rate higher at level 5 than at level 16 (gain x1.48: fast, inaccurate)",
            "difference > 0, CI excludes 0",
            _fmt(down, 1.0, " /s"),
            bool(down[1] > 0),
        ),
    ]
