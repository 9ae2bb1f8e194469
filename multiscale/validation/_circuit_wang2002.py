"""Wang's (2002) spiking decision network: attractor states and the reaction-time task.

The network (2000 LIF cells, AMPA/NMDA/GABA_A synapses,
:func:`~multiscale.circuit.spiking.wang2002_network`) runs through the circuit loop with
the same threshold readout as the reduced model: the first crossing of 15 Hz by a
selective pool's rate smoothed by a 50 ms boxcar (Wang's reaction time task and his 50 ms
rate window), stimulus $\\mu_0 = 40$ Hz from 0.4 s, at most 2 s of stimulus. Trials of all
coherences run as one batch (one value of the coherence per trial); keys are fixed, so the
numbers are reproducible on one platform.

The spontaneous state settles over about 0.5 s (selective pools 2.0 Hz in 0.2-0.5 s,
2.4-2.8 Hz after 0.5 s); with the stimulus from 1 s instead of 0.4 s the mean decision
time at 51.2 % is 366 instead of 397 ms (40 trials each, SD 65-90 ms), so the early onset
is not what keeps decisions slower than Wang's.

Bands (choices): the persistent rate at $w_+ = 1.8$ within 10 % of Wang's 42 Hz; the
chosen and the other pool's delay rates within 25 % of Wang's "about 20 Hz" and "about
3 Hz" (no band is printed), the spontaneous rate in 2-4 Hz; the Weibull threshold, slope
and the decision times at the end coherences within 20 % (the ordinal band of the
reference list).
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import ThresholdReadout, psychometric, summarize
from ..circuit import Stimulus, TrialProtocol, WongWang2006, simulate, simulate_batch
from ..circuit.spiking import wang2002_network
from ._registry import holds, in_range, target, within

COHERENCES = (0.032, 0.064, 0.128, 0.256, 0.512)
MU0 = 40.0  # Hz (Wang 2002)
T_ON = 0.4  # s
T_MAX = 2.0  # s of stimulus
TRIALS = 40  # per coherence, in the registered target
_SOURCE = "Wang 2002 Neuron 36:955 (reaction-time task: alpha 8.4 %, beta 1.6; Fig. 3)"


def decision_trials(circuit, trials: int, key, *, mu0: float, dt: float, chunk: int = 0):
    """Decisions ``(coherences, trials)`` of ``circuit`` at :data:`COHERENCES`.

    All coherences run in one batch (``chunk`` > 0: in batches of that many trials).
    """
    c = np.repeat(np.asarray(COHERENCES), trials)
    keys = jr.split(key, c.size)
    protocol = TrialProtocol(dt=dt, t_on=T_ON, t1=T_ON + T_MAX, segment=500)
    readout = ThresholdReadout(threshold=15.0, non_decision_time=0.0, window=0.05)

    @jax.jit
    def run(c, keys):
        stim = Stimulus(coherence=c, mu0=mu0)
        return simulate_batch(circuit, stim, keys=keys, protocol=protocol, readout=readout)

    size = c.size if chunk <= 0 else chunk
    parts = [run(jnp.asarray(c[i : i + size]), keys[i : i + size]) for i in range(0, c.size, size)]
    dec = jax.tree.map(lambda *a: jnp.concatenate(a), *[p.readout for p in parts])
    return jax.tree.map(lambda a: a.reshape(len(COHERENCES), trials), dec)


def rt_experiment(trials: int = TRIALS, *, key=None, chunk: int = 0, n: int = 2000) -> dict:
    """Weibull fit and decision times of the spiking network and of Wong & Wang's model."""
    key = jr.key(2002) if key is None else key
    out = {"trials_per_coherence": trials, "coherences": list(COHERENCES)}
    models = {
        "wang2002": (wang2002_network(n=n), MU0, 1e-4),
        "wong_wang2006": (WongWang2006(), 30.0, 5e-4),
    }
    for name, (circuit, mu0, dt) in models.items():
        dec = decision_trials(circuit, trials, key, mu0=mu0, dt=dt, chunk=chunk)
        s = summarize(dec, jnp.asarray(COHERENCES))
        fit = psychometric(s)
        dt_mean = np.asarray(
            jnp.nanmean(jnp.where(dec.decided, dec.decision_time, jnp.nan), axis=-1)
        )
        slope, r2 = _log_fit(np.asarray(COHERENCES), dt_mean)
        out[name] = {
            "alpha": float(fit.alpha),
            "beta": float(fit.beta),
            "p_correct": np.asarray(s.p_correct).tolist(),
            "p_undecided": np.asarray(s.p_undecided).tolist(),
            "mean_dt": dt_mean.tolist(),
            "dt_slope_per_e_fold": slope,
            "dt_log_r2": r2,
        }
    return out


def _log_fit(c, dt):
    """Slope (s per e-fold of coherence) and R² of decision time against log coherence."""
    ok = np.isfinite(dt)
    x, y = np.log(c[ok]), dt[ok]
    slope, icpt = np.polyfit(x, y, 1)
    r2 = 1 - np.sum((y - (slope * x + icpt)) ** 2) / np.sum((y - y.mean()) ** 2)
    return float(slope), float(r2)


def attractor_rates(trials: int = 4, *, key=None, n: int = 2000, w_plus: float = 1.7) -> dict:
    """Pool rates (Hz) before the stimulus and in the delay after a 1 s stimulus (51.2 %)."""
    key = jr.key(7) if key is None else key
    net = wang2002_network(n=n, w_plus=w_plus)
    protocol = TrialProtocol(dt=1e-4, t_on=1.0, duration=1.0, t1=3.55, segment=1000)
    stim = Stimulus(coherence=0.512, mu0=MU0)

    @jax.jit
    def one(k):
        return simulate(net, stim, key=k, protocol=protocol, save_every=1000).state.count

    count = np.asarray(jax.vmap(one)(jr.split(key, trials)))  # (trials, time, 4); 0.1 s apart
    sizes = np.asarray(net.sizes, float)
    rate = lambda a, b: (count[:, b] - count[:, a]) / ((b - a) * 0.1) / sizes
    spont = rate(5, 10)  # 0.5-1.0 s (the spontaneous state settles within about 0.5 s)
    delay = rate(25, 35)  # 2.5-3.5 s: 0.5-1.5 s after the stimulus ended
    winner = np.max(delay[:, :2], axis=1)
    loser = np.min(delay[:, :2], axis=1)
    return {
        "spontaneous_selective": float(spont[:, :2].mean()),
        "spontaneous_nonselective": float(spont[:, 2].mean()),
        "spontaneous_inhibitory": float(spont[:, 3].mean()),
        "delay_winner": float(winner.mean()),
        "delay_loser": float(loser.mean()),
        "winner_is_A": float(np.mean(delay[:, 0] > delay[:, 1])),
    }


@target(
    name="wang2002_attractor_states",
    scale="circuit",
    source="Wang 2002 Neuron 36:955 (Fig. 2: choice/delay state about 20 Hz against about "
    "3 Hz; rates from 4 trials: spontaneous 0.5-1 s, 1 s stimulus at 51.2 % from 1 s, delay "
    "0.5-1.5 s after it)",
    slow=True,
    known_gap="the pool that lost keeps 1.4 Hz in the delay, not about 3 Hz (the chosen "
    "pool's 18.5 Hz, 40.3 Hz at w+ = 1.8, and the spontaneous 2.4 Hz are within their bands; "
    "interneurons fire 8.2 Hz spontaneously)",
)
def _attractor():
    r = attractor_rates()
    strong = attractor_rates(w_plus=1.8)
    return [
        within(
            "persistent (delay) rate of the chosen pool, Hz", 20.0, r["delay_winner"], rtol=0.25
        ),
        within(
            "persistent rate with w+ = 1.8, Hz",
            42.0,
            strong["delay_winner"],
            rtol=0.1,
            source="Wang 2002 Neuron 36:955 (heterogeneity test: w+ = 1.8 gives r_A = 42 Hz)",
        ),
        within("rate of the other pool in the delay, Hz", 3.0, r["delay_loser"], rtol=0.25),
        in_range(
            "spontaneous rate of the selective pools, Hz", 2.0, 4.0, r["spontaneous_selective"]
        ),
        holds(
            "the stimulus-favoured pool wins at 51.2 %",
            "all trials",
            r["winner_is_A"],
            r["winner_is_A"] == 1.0,
        ),
    ]


@target(
    name="wang2002_reaction_time_task",
    scale="circuit",
    source=_SOURCE + f"; {TRIALS} trials per coherence at 3.2-51.2 %, side by side with Wong & "
    "Wang 2006's reduced model under the same readout",
    slow=True,
    known_gap="decisions at high coherence are slower than Wang's: mean decision time 381 ms "
    "at 51.2 % (not about 200 ms; 807 ms at 3.2 %); with 40 trials per coherence also Weibull "
    "alpha 8.9 % (beta 1.30) and R^2 0.85 of decision time on log coherence (measured after the "
    "Poisson-level fix of 2026-12-07; before it 10.6 %, 1.84, R^2 0.86). With 180 trials "
    "per coherence (900 trials, other keys): alpha 9.7 %, beta 1.59, DT 814/805/722/555/394 "
    "ms, R^2 0.91 (0.9999 over 12.8-51.2 %, flat below: Wang's saturation), so only the "
    "high-coherence decision time stays outside its band",
)
def _rt():
    r = rt_experiment()
    w, ww = r["wang2002"], r["wong_wang2006"]
    dts = w["mean_dt"]
    side = (
        f"spiking alpha {100 * w['alpha']:.1f} %, beta {w['beta']:.2f}, DT "
        f"{1e3 * dts[-1]:.0f}-{1e3 * dts[0]:.0f} ms; reduced alpha {100 * ww['alpha']:.1f} %, "
        f"beta {ww['beta']:.2f}, DT {1e3 * ww['mean_dt'][-1]:.0f}-{1e3 * ww['mean_dt'][0]:.0f} ms"
    )
    return [
        within("Weibull threshold alpha (fraction)", 0.084, w["alpha"], rtol=0.2),
        within("Weibull slope beta", 1.6, w["beta"], rtol=0.2),
        within("mean decision time at 51.2 %, s", 0.2, dts[-1], rtol=0.2),
        within("mean decision time at 3.2 %, s", 0.8, dts[0], rtol=0.2),
        holds(
            "decision time falls linearly with log coherence",
            "slope < 0 and R^2 > 0.9",
            f"slope {w['dt_slope_per_e_fold']:.3f} s per e-fold, R^2 {w['dt_log_r2']:.3f}",
            w["dt_slope_per_e_fold"] < 0 and w["dt_log_r2"] > 0.9,
        ),
        holds(
            "both models: accuracy rises and decision time falls with coherence",
            "monotone in both",
            side,
            _monotone(w) and _monotone(ww),
        ),
    ]


def _monotone(m) -> bool:
    p, d = np.asarray(m["p_correct"]), np.asarray(m["mean_dt"])
    return bool(p[-1] > p[0] and np.all(np.diff(d) < 0))
