"""Neuromodulation of plasticity: the documented effects of ACh, NE and 5-HT, in simulation.

Each target runs rate rules wrapped in :class:`Modulated` over a session of trials and
compares level 1 with level 0 (exactly the base rule). The tasks are small and
synthetic; the claims checked are the ordinal ones the cited papers make.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..synapse import (
    BCM,
    Acetylcholine,
    HardBounds,
    Hebb,
    Modulated,
    Noradrenaline,
    RewardModulatedHebb,
    Serotonin,
)
from ._registry import holds, target, within

_INF = float("inf")

# --------------------------------------------------------------------------- ACh

_N_SIGNAL, _N_BACKGROUND, _N_TRIALS = 4, 16, 200


def _sharpening(rule, post_rate: float) -> tuple[tuple, tuple, float]:
    """(d', signal/background ratio) at level 0 and at level 1, and the signal-change ratio.

    d' is (mean signal change - mean background change) / SD of the background changes;
    the ratio is mean signal change / mean background change.

    4 signal inputs fire at 20 Hz on every 1-s trial; 16 background inputs fire at rates
    drawn per trial from an exponential distribution with mean 2 Hz (about 8 % of them
    above the 5 Hz activity threshold on a trial). The postsynaptic rate is fixed.
    """
    n = _N_SIGNAL + _N_BACKGROUND
    bg = jr.exponential(jr.key(7), (_N_TRIALS, _N_BACKGROUND)) * 2.0
    x = jnp.concatenate([jnp.full((_N_TRIALS, _N_SIGNAL), 20.0), bg], axis=1)
    y = jnp.array([post_rate])
    w0 = jnp.full((n, 1), 0.5)

    def run(level):
        wrapped = Modulated(rule, Acetylcholine())

        def body(state, xk):
            return wrapped.step(state, xk, y, 1.0), None

        state, _ = jax.lax.scan(body, wrapped.init(w0, level=level), x)
        return np.asarray(state.weights[:, 0] - w0[:, 0])

    out = []
    for level in (0.0, 1.0):
        dw = run(level)
        sig, bgw = dw[:_N_SIGNAL], dw[_N_SIGNAL:]
        d = float((sig.mean() - bgw.mean()) / bgw.std())
        out.append((d, float(sig.mean() / bgw.mean()), float(sig.mean())))
    return out[0][:2], out[1][:2], out[1][2] / out[0][2]


@target(
    name="neuromod_acetylcholine_sharpens_learned_weights",
    scale="synapse",
    source=(
        "Hasselmo 2006 Curr Opin Neurobiol 16:710 (ACh enhances plasticity during encoding, "
        "suppresses interference); Yu & Dayan 2005 Neuron 46:681"
    ),
)
def _acetylcholine():
    hebb = Hebb(eta=1e-6, bounds=HardBounds(-_INF, _INF))
    bcm = BCM(eta=1e-8, tau_theta=1e9, y0=10.0, bounds=HardBounds(-_INF, _INF))
    out = []
    for name, rule, y in (("Hebb", hebb, 10.0), ("BCM (y = 15 Hz > theta)", bcm, 15.0)):
        (d0, r0), (d1, r1), ratio = _sharpening(rule, y)
        out += [
            holds(
                f"{name}: signal/background ratio of the weight changes rises",
                "level 1 > level 0",
                f"{r0:.2f} -> {r1:.2f}",
                r1 > r0,
            ),
            holds(
                f"{name}: d' of signal vs background weight changes rises",
                "level 1 > level 0",
                f"{d0:.1f} -> {d1:.1f}",
                d1 > d0,
            ),
            within(
                f"{name}: mean change of active (20 Hz) synapses x (1 + active_boost)",
                2.0,
                ratio,
                rtol=1e-4,
            ),
        ]
    return out


# --------------------------------------------------------------------------- NE and 5-HT

_REVERSAL, _N_REV = 150, 300


def _delta_rule(modulator, surprise: bool, noise: float, rate_scale: float = 1.0):
    """A value weight learned by reward-modulated Hebb: dopamine = RPE, w = value.

    Each trial: a cue (20 Hz) drives the post cell at 20 Hz for 0.5 s, writing an
    eligibility trace; the reward r = mu + noise arrives at the end of the trial with a
    dopamine burst proportional to delta = r - w, and 10 s pass (the trace is spent).
    mu switches from 0.8 to 0.2 at trial 150. Without a modulator the weight follows
    w <- w + alpha delta, alpha = 0.05 * rate_scale. The modulator level is |delta| when
    ``surprise`` (NE), else 1 (5-HT held on).

    Returns the weights after each trial.
    """
    rule = RewardModulatedHebb(eta=1e-3, theta_pre=10.0, theta_post=10.0)
    T, x, y = 0.5, jnp.array([20.0]), jnp.array([20.0])
    c = 1e-3 * 10.0 * 10.0 * rule.tau_c * -np.expm1(-T / rule.tau_c)
    tau_cd = rule.tau_c * rule.tau_d / (rule.tau_c + rule.tau_d)
    gain = 0.05 * rate_scale / (c * tau_cd)  # burst (1/s) per unit RPE
    mu = jnp.where(jnp.arange(_N_REV) < _REVERSAL, 0.8, 0.2)
    rewards = mu + noise * jr.normal(jr.key(3), (_N_REV,))
    wrapped = Modulated(rule, modulator)

    def body(state, r):
        state = wrapped.step(state, x, y, T)
        delta = r - state.weights[0, 0]
        level = jnp.abs(delta) if surprise else jnp.ones_like(delta)
        state = wrapped.reward(state, gain * delta)
        state = wrapped.relax(state, 10.0, level=level)
        return state, state.weights[0, 0]

    _, ws = jax.lax.scan(body, wrapped.init(jnp.full((1, 1), 0.8)), rewards)
    return np.asarray(ws)


def _trials_to_half(ws) -> float:
    """Trials after the reversal until w is below 0.5 (halfway from 0.8 to 0.2)."""
    after = ws[_REVERSAL:]
    below = np.nonzero(after < 0.5)[0]
    return float(below[0] + 1) if below.size else float("inf")


@target(
    name="neuromod_noradrenaline_surprise_speeds_relearning",
    scale="synapse",
    source=(
        "Yu & Dayan 2005 Neuron 46:681 (NE = unexpected uncertainty); Nassar et al. 2012 "
        "Nat Neurosci 15:1040 (arousal sets the learning rate after change points)"
    ),
)
def _noradrenaline():
    noise, boost = 0.05, 10.0
    ne = Noradrenaline(learning_boost=boost)
    base = _delta_rule(Noradrenaline(learning_boost=0.0), surprise=True, noise=noise)
    mod = _delta_rule(ne, surprise=True, noise=noise)
    n_base, n_mod = _trials_to_half(base), _trials_to_half(mod)
    # The fixed learning rate that relearns as fast as NE does: alpha with
    # (1 - alpha)^n = 1/2 for n = n_mod (noise-free), and its stable-phase jitter.
    alpha_fast = 1.0 - 0.5 ** (1.0 / n_mod)
    fast = _delta_rule(Noradrenaline(learning_boost=0.0), True, noise, rate_scale=alpha_fast / 0.05)
    sd = lambda ws: float(np.std(ws[50:_REVERSAL]))
    return [
        holds(
            "surprise-gated NE: fewer trials to relearn after the reversal",
            "level |delta| < level 0",
            f"{n_base:.0f} -> {n_mod:.0f} trials",
            n_mod < n_base,
        ),
        holds(
            "stable-phase jitter of w below that of a fixed rate that relearns as fast",
            "NE < fixed alpha",
            f"{sd(mod):.4f} vs {sd(fast):.4f} (alpha {alpha_fast:.2f}; "
            f"trials {_trials_to_half(fast):.0f}); base {sd(base):.4f}",
            sd(mod) < sd(fast),
        ),
    ]


def _balance_rate(modulator, level: float, theta: float = 10.0, sigma: float = 2.0) -> float:
    """Mean post rate (Hz) at which a session of BCM trials leaves w unchanged.

    400 trials of 1 s at x = 10 Hz, post rates y_k = m + sigma xi_k (xi standardized to
    mean 0, variance 1), threshold frozen at theta. Unmodulated, the net change
    sum x y (y - theta) vanishes at m* = (theta + sqrt(theta^2 - 4 sigma^2)) / 2.
    """
    xi = np.asarray(jr.normal(jr.key(11), (400,)), dtype=float)
    xi = jnp.asarray((xi - xi.mean()) / xi.std())
    rule = Modulated(
        BCM(eta=1e-8, tau_theta=1e9, y0=theta, bounds=HardBounds(-_INF, _INF)), modulator
    )
    x = jnp.array([10.0])

    @jax.jit
    def net(m):
        def body(state, z):
            return rule.step(state, x, jnp.reshape(m + sigma * z, (1,)), 1.0), None

        state, _ = jax.lax.scan(body, rule.init(jnp.zeros((1, 1)), level=level), xi)
        return state.weights[0, 0]

    lo, hi = theta / 2, theta * 2  # the root above theta / 2 (the upper one)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if float(net(mid)) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


@target(
    name="neuromod_serotonin_patience_and_ltd_bias",
    scale="synapse",
    source=(
        "Doya 2002 Neural Netw 15:495 (5-HT sets the time scale); Miyazaki et al. 2014 Curr "
        "Biol 24:2033 (patience); He et al. 2015 Neuron 88:528 (5-HT2C converts traces to LTD)"
    ),
)
def _serotonin():
    patient = Serotonin(patience=1.0, ltd_bias=0.0)
    base = _delta_rule(Serotonin(patience=0.0, ltd_bias=0.0), False, noise=0.0)
    slow = _delta_rule(patient, False, noise=0.0)
    n0, n1 = _trials_to_half(base), _trials_to_half(slow)
    # Noise-free, w - 0.2 shrinks by (1 - alpha) per trial: n = ceil(ln 2 / -ln(1 - alpha)).
    n_expected = np.ceil(np.log(0.5) / np.log(1.0 - 0.05 / 2.0))
    theta, sigma = 10.0, 2.0
    m0 = _balance_rate(Serotonin(), 0.0, theta, sigma)
    m1 = _balance_rate(Serotonin(), 1.0, theta, sigma)
    return [
        within(
            "trials to relearn after reversal, patience 1 at level 1 (alpha 0.05 -> 0.025)",
            float(n_expected),
            n1,
            atol=0.0,
        ),
        holds("patience slows relearning", "level 1 > level 0", f"{n0:.0f} -> {n1:.0f}", n1 > n0),
        within(
            "balance rate of LTP and LTD, level 0 (Hz): (theta + sqrt(theta^2 - 4 sigma^2))/2",
            (theta + np.sqrt(theta**2 - 4 * sigma**2)) / 2,
            m0,
            rtol=1e-4,
        ),
        holds(
            "LTD bias moves the LTP/LTD balance rate up",
            "level 1 > level 0",
            f"{m0:.3f} -> {m1:.3f} Hz",
            m1 > m0,
        ),
    ]
