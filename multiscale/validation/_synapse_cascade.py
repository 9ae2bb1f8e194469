"""Published targets for the cascade model of metaplasticity (Fusi, Drew & Abbott 2005).

Every number is measured from the exact mean field of ``_cascade.py`` (no simulation
noise); nothing is read back from the parameters. Time is in plasticity events per
synapse after storage. Where each quantitative claim comes from:

- Of the 2005 paper only the abstract was available to us (the peeref.com record of the
  article), so its quantitative claims are taken from later papers of the same group,
  some only through a third-party transcription; each ``source`` says which.
- The forgetting exponent: Ben Dayan Rubin & Fusi 2007 (Front Comput Neurosci 1:7) say
  the 2005 paper estimated the S/N decay as $t^{-3/4}$ and that their own fit, $t^{-1}$,
  "has been determined to describe the S/N decay in a different range"; Fusi 2021
  (arXiv:2108.07839, section 3.3) says the cascade signal "decays as 1/t". Both are
  quoted from a third-party transcription, not from the papers themselves.
- Lifetime scaling: Benna & Fusi (arXiv:1507.07580, the 2016 Nat Neurosci paper) write
  of "the square root scaling of previous models" (abstract, read directly); Fusi 2021
  (same transcription) "Both the initial SNR and the maximum memory lifetime scale as
  sqrt(N)". For binary synapses, Elliott (Neural Computation, "Memory nearly on a
  spring", abstract read directly) "lifetimes of memories grow logarithmically in the
  number of synapses ... reproducing standard results from signal-to-noise ratio
  analyses".
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..synapse import BinaryMemorySynapse, CascadeSynapse, memory_lifetime, memory_signal
from ._registry import holds, target, within

_PAPER = "Fusi, Drew & Abbott 2005 Neuron 45:599-611"
_ABSTRACT = (
    f"{_PAPER}, abstract (read from the peeref.com record of the article): 'Models in which "
    "memories are stored through switch-like transitions in synaptic efficacy are good at "
    "storing but bad at retaining memories if these transitions are likely, and they are "
    "poor at storage but good at retention if they are unlikely. [...] This cascade model "
    "combines high levels of memory storage with long retention times and significantly "
    "outperforms alternative models.'"
)
_EXPONENT = (
    "Ben Dayan Rubin & Fusi 2007 Front Comput Neurosci 1:7: 'The power of the first term "
    "(-1), estimated by fitting the formula to the mean field results, is slightly "
    "different from the one estimated in Fusi et al. (2005) (-3/4) as it has been "
    "determined to describe the S/N decay in a different range' (quoted from a "
    "third-party transcription; the 2005 and 2007 texts were not available to us)"
)
_ONE_OVER_T = (
    "Fusi 2021 arXiv:2108.07839 section 3.3: 'The cascade model is characterized by a "
    "memory signal that decays as 1/t' (quoted from a third-party transcription)"
)
_SQRT_N = (
    "Benna & Fusi 2016 Nat Neurosci 19:1697 (arXiv:1507.07580, abstract read directly): "
    "'a substantial improvement over the square root scaling of previous models'; Fusi "
    "2021 arXiv:2108.07839 section 3.3: 'Both the initial SNR and the maximum memory "
    "lifetime scale as sqrt(N)' (quoted from a third-party transcription)"
)
_LOG_N = (
    "Elliott, Neural Computation, 'Memory nearly on a spring: a mean first passage time "
    "approach to memory lifetimes' (abstract read directly): lifetimes of binary-synapse "
    "memories 'grow logarithmically in the number of synapses ... reproducing standard "
    "results from signal-to-noise ratio analyses'"
)
_WEAKER = (
    "Ben Dayan Rubin & Fusi 2007 Front Comput Neurosci 1:7, abstract (read directly): 'the "
    "initial memory trace, the one experienced immediately after memory storage, becomes "
    "weaker [...] when the number of metaplastic states increases'"
)

_N_DECAY = 15  # cascade depth of the decay target (our choice)


def _log_times(t_max: float, per_decade: int = 20) -> np.ndarray:
    k = int(np.ceil(np.log10(t_max) * per_decade))
    return np.unique(np.round(np.logspace(0, np.log10(t_max), k + 1)).astype(np.int32))


def _slope(t: np.ndarray, s: np.ndarray, lo: float, hi: float) -> float:
    """Least-squares slope of log S against log t over lo <= t <= hi."""
    k = (t >= lo) & (t <= hi)
    return float(np.polyfit(np.log(t[k]), np.log(s[k]), 1)[0])


@target(name="cascade_power_law_forgetting", scale="synapse", source=_EXPONENT)
def _power_law():
    model = CascadeSynapse(n=_N_DECAY, x=0.5)
    cutoff = 2.0**_N_DECAY  # x^-n
    t = _log_times(cutoff)
    # Past the slowest level the decay is exponential: equal drops of log S per x^-n
    # (float32 resolves S down to ~3e-8, i.e. up to t ~ 3 x^-n here). One call (one
    # compilation) for every time: the log grid, t = 1, 2, 3 x^-n, and t = 0.
    tc = np.array([1, 2, 3], dtype=np.int32) * int(cutoff)
    everything = np.asarray(memory_signal(model, np.concatenate([t, tc, [0]])), dtype=float)
    s, sc, s0 = everything[: len(t)], everything[len(t) : -1], everything[-1]
    mid = _slope(t, s, 10.0, cutoff / 10)
    late = _slope(t, s, cutoff / 100, cutoff / 10)
    beyond = float(np.log(sc[2] / sc[0]) / np.log(3.0))
    drops = np.diff(np.log(sc))
    # The binary synapse with the cascade's initial signal (q = S_cascade(0) = 2/n):
    # S(t) = q (1 - q)^t, a straight line in log S against t.
    q = float(s0)
    binary = BinaryMemorySynapse(q=q)
    tb = np.arange(0, int(round(10 / q)) + 1, dtype=np.int32)
    sb = np.asarray(memory_signal(binary, tb), dtype=float)
    rate, intercept = np.polyfit(tb, np.log(sb), 1)
    curvature = float(np.max(np.abs(np.log(sb) - (rate * tb + intercept))))
    at = float(tb[-1])
    casc_at = _slope(t, s, at / 2, 2 * at)
    bin_at = float(np.log(sb[-1] / sb[len(sb) // 2]) / np.log(at / tb[len(sb) // 2]))
    return [
        within(
            f"cascade n={_N_DECAY}, x=1/2: log-log slope of S(t) for 10 <= t <= x^-n/10 "
            "(the 2005 estimate)",
            -0.75,
            mid,
            atol=0.1,
        ),
        within(
            f"cascade n={_N_DECAY}: log-log slope over the last decade before the cutoff, "
            "x^-n/100 <= t <= x^-n/10 (approaching 1/t)",
            -1.0,
            late,
            atol=0.2,
            source=_ONE_OVER_T,
        ),
        holds(
            f"cascade n={_N_DECAY}: the slope steepens towards -1 within the power-law range",
            "late slope < 10..x^-n/10 slope",
            f"{late:.3f} < {mid:.3f}",
            bool(late < mid),
            source=_ONE_OVER_T,
        ),
        holds(
            f"cascade n={_N_DECAY}: past the slowest level the decay is exponential: "
            "log-log slope over x^-n <= t <= 3 x^-n, and the drops of log S from x^-n to "
            "2 x^-n and from 2 x^-n to 3 x^-n",
            "slope < -3, drops equal within 10 %",
            f"slope {beyond:.2f}, drops {drops[0]:.3f}, {drops[1]:.3f}",
            bool(beyond < -3.0 and abs(drops[1] / drops[0] - 1.0) < 0.1),
            source=f"{_PAPER}: a power law only for t << x^-n, the slowest level's time "
            "scale (the range the brief of this target names; not read in the paper)",
        ),
        within(
            f"binary q = S_cascade(0) = {q:.4f}: decay rate of log S per event, "
            "exponential q (1 - q)^t",
            float(np.log1p(-q)),
            float(rate),
            rtol=1e-3,
            source=_ABSTRACT,
        ),
        holds(
            "binary: S(t) is a pure exponential (max deviation of log S from a straight "
            "line in t, 0 <= t <= 10/q)",
            "< 1e-3",
            curvature,
            bool(curvature < 1e-3),
            source=_ABSTRACT,
        ),
        holds(
            f"at t = 10/q = {at:.0f}: log-log slope of the binary signal is far steeper "
            "than the cascade's (exponential vs power law)",
            "binary < -5 and cascade > -1",
            f"binary {bin_at:.2f}, cascade {casc_at:.2f}",
            bool(bin_at < -5.0 and casc_at > -1.0),
            source=_ABSTRACT,
        ),
    ]


_NS = 10.0 ** np.arange(4, 10)  # numbers of synapses
_DEPTHS = (8, 10, 12, 14, 16, 18)  # cascade depths over which the lifetime is maximised


@functools.cache
def _binary_lifetimes(qs: tuple[float, ...], ns: tuple[float, ...]) -> np.ndarray:
    """Lifetimes (events) of binary synapses for each q and each N, shape (q, N)."""
    fn = jax.jit(
        jax.vmap(
            jax.vmap(lambda q, n: memory_lifetime(BinaryMemorySynapse(q=q), n), (None, 0)),
            (0, None),
        )
    )
    out = fn(jnp.asarray(qs, dtype=jnp.float32), jnp.asarray(ns, dtype=jnp.float32))
    return np.asarray(out, dtype=float)


@functools.cache
def _cascade_lifetimes() -> tuple[np.ndarray, np.ndarray]:
    """Lifetime (events) for each depth in _DEPTHS and each N, and each depth's S(0)."""
    ns = jnp.asarray(_NS, dtype=jnp.float32)
    life, s0 = [], []
    for n in _DEPTHS:
        model = CascadeSynapse(n=n)

        @jax.jit
        def run(ns, model=model):
            lives = jax.vmap(lambda m: memory_lifetime(model, m))(ns)
            return lives, memory_signal(model, 0)

        lives, s = run(ns)
        life.append(np.asarray(lives))
        s0.append(float(s))
    return np.asarray(life, dtype=float), np.asarray(s0)


@target(name="cascade_lifetime_scaling", scale="synapse", source=_SQRT_N)
def _lifetime_scaling():
    life, s0 = _cascade_lifetimes()
    best = life.max(axis=0)
    arg = life.argmax(axis=0)
    snr0 = np.sqrt(_NS) * s0[arg]  # initial SNR of the longest-lived depth
    log_n = np.log(_NS)
    exponent = float(np.polyfit(log_n, np.log(best), 1)[0])
    snr_exponent = float(np.polyfit(log_n, np.log(snr0), 1)[0])
    depths = [_DEPTHS[i] for i in arg]
    q = 2.0 / 16  # a fast binary synapse, with the initial signal of a 16-level cascade
    binary = _binary_lifetimes((q,), tuple(_NS))[0]
    per_decade = np.diff(binary)
    expected_step = np.log(10.0) / (2 * -np.log1p(-q))  # lifetime = ln(q sqrt N)/(-ln(1 - q))
    bin_exponent = float(np.polyfit(log_n[-3:], np.log(binary[-3:]), 1)[0])
    return [
        within(
            f"cascade (x=1/2, lifetime maximised over n in {_DEPTHS}): exponent of the "
            f"memory lifetime in N, N = 1e4..1e9 (lifetimes {best.astype(int).tolist()}, "
            f"best n {depths})",
            0.5,
            exponent,
            atol=0.05,
        ),
        holds(
            "cascade: the best depth grows with N (more levels for more synapses)",
            "non-decreasing, rising",
            str(depths),
            bool(np.all(np.diff(depths) >= 0) and depths[-1] > depths[0]),
        ),
        within(
            "cascade: exponent of the initial SNR of the longest-lived depth in N "
            "(sqrt(N)/n with n growing like log N)",
            0.5,
            snr_exponent,
            atol=0.1,
        ),
        within(
            f"binary q = {q}: lifetime gain per decade of N (events), ln(10)/(2 |ln(1-q)|)"
            f" (lifetimes {binary.astype(int).tolist()})",
            float(expected_step),
            float(np.mean(per_decade)),
            atol=0.5,
            source=_LOG_N,
        ),
        holds(
            f"binary q = {q}: power-law exponent of the lifetime in N over 1e7..1e9 "
            "(logarithmic growth: small and far below the cascade's)",
            "< 0.15",
            bin_exponent,
            bool(bin_exponent < 0.15),
            source=_LOG_N,
        ),
    ]


_N_TRADE = 1e8  # synapses for the trade-off target
_N_CASC = 16  # the longest-lived cascade depth at N = 1e8 (see cascade_lifetime_scaling)


@target(name="cascade_fast_learning_without_fast_forgetting", scale="synapse", source=_ABSTRACT)
def _tradeoff():
    # Shared with cascade_lifetime_scaling (computed once per process).
    life, s0 = _cascade_lifetimes()
    k_n = _DEPTHS.index(_N_CASC)
    k_trade = int(np.argmin(np.abs(_NS - _N_TRADE)))
    casc_life = float(life[k_n, k_trade])
    casc_snr0 = float(np.sqrt(_N_TRADE) * s0[k_n])
    # Binary synapses over a grid of q (their initial SNR is q sqrt(N)), and the fast
    # binary synapse with the cascade's initial signal, q = 2/n.
    q_fast = 2.0 / _N_CASC
    qs = np.concatenate([np.logspace(-6, 0, 241), [q_fast]])
    lives = _binary_lifetimes(tuple(qs), (_N_TRADE,))[:, 0]
    fast_life = float(lives[-1])
    best = int(np.argmax(lives[:-1]))
    return [
        holds(
            f"cascade x=1/2: initial signal S(0) falls with the number of levels n in "
            f"{_DEPTHS} (measured n S(0), exactly 2 if S(0) = 2/n)",
            "decreasing in n",
            f"n S(0) in [{np.min(np.array(_DEPTHS) * s0):.5f}, "
            f"{np.max(np.array(_DEPTHS) * s0):.5f}]",
            bool(np.all(np.diff(s0) < 0)),
            source=_WEAKER,
        ),
        holds(
            f"N = 1e8: cascade n={_N_CASC} stores as strongly as a fast binary synapse "
            f"(q = 2/n = {q_fast}) but keeps the memory far longer (lifetime ratio)",
            "SNR(0) equal within 1e-5, lifetime ratio > 100",
            f"SNR(0) {casc_snr0:.1f}; lifetimes {casc_life:.0f} vs {fast_life:.0f} "
            f"(x{casc_life / fast_life:.0f})",
            bool(
                abs(casc_snr0 - q_fast * np.sqrt(_N_TRADE)) < 1e-5 * casc_snr0
                and casc_life > 100 * fast_life
            ),
        ),
        holds(
            f"N = 1e8: the cascade outlives every binary synapse, q in [1e-6, 1] "
            f"(longest binary: q = {qs[best]:.2e}, lifetime {lives[best]:.0f}; sqrt(N)/e = "
            f"{np.sqrt(_N_TRADE) / np.e:.0f})",
            "cascade lifetime > 2 x longest binary lifetime",
            f"{casc_life:.0f} vs {lives[best]:.0f}",
            bool(casc_life > 2.0 * lives[best]),
        ),
        holds(
            "N = 1e8: ... while storing the memory far more strongly than that "
            "longest-lived binary synapse (initial SNR)",
            "cascade SNR(0) > 100 x binary SNR(0)",
            f"{casc_snr0:.0f} vs {qs[best] * np.sqrt(_N_TRADE):.2f}",
            bool(casc_snr0 > 100.0 * qs[best] * np.sqrt(_N_TRADE)),
        ),
    ]
