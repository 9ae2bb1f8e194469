"""Published targets for synaptic tagging and capture (TagTriC).

Clopath, Ziegler, Vasilaki, Büsing & Gerstner 2008 (PLoS Comput Biol 4:e1000248) with the
constants of the authors' code. Every number is measured from simulations (the mean over
32 random cells of 2 × 100 synapses); nothing is read back from the parameters. The
tag-setting probabilities of the protocols are this package's reduction of the paper's
stimulation stage (see ``_tagging.py``), so the magnitudes are checked ordinally, with the
bounds stated in each check.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..synapse import Induction, TagTriC, simulate_tagging
from ._registry import holds, target, within

_SOURCE_14 = (
    "Clopath, Ziegler, Vasilaki, Büsing & Gerstner 2008 PLoS Comput Biol 4:e1000248, "
    "constants of the authors' code (ModelDB 118199 tagtric.py). Checked ordinally "
    "against the paper's qualitative outcomes (early LTP decays over 1-3 h, strong "
    "tetanus gives late LTP stable > 3 h, capture within the protein window, the same "
    "for LTD); its time courses were not digitised"
)

_T_WEAK = 3600.0  # the first (weak) stimulus, on pathway A, 1 h into the run (s)
_T1 = 8 * 3600.0  # run length (s)
_DT, _SAVE = 10.0, 6  # 10 s steps, samples every minute
_N_CELLS = 32
_CASES = (
    (0.0, 0.4, 0.0),
    (0.0, 0.0, 1.0),
    (0.0, 0.4, 1.0),
    (3600.0, 0.4, 1.0),
    (10800.0, 0.4, 1.0),
)


def _protocol(delay, p_a, p_b, ltd) -> Induction:
    # Every protocol has the same four events, so one compilation serves them all: a
    # weak stimulus on A at _T_WEAK, then three trains on B from _T_WEAK + delay, 600 s
    # apart (a strong tetanus; a strong LFS uses only the first). A probability of 0
    # switches an event off; ``ltd`` (0 or 1) turns LTP tags into LTD tags.
    t_b = _T_WEAK + delay + jnp.array([0.0, 600.0, 1200.0])
    times = jnp.concatenate([jnp.array([_T_WEAK]), t_b])
    p = jnp.stack([p_a, p_b, p_b * (1 - ltd), p_b * (1 - ltd)])
    return Induction(times, jnp.array([0, 1, 1, 1]), p * (1 - ltd), p * ltd)


@jax.jit
def _batch(delay, p_a, p_b, ltd, keys):
    def one(d, a, b, x, key):
        res = simulate_tagging(
            TagTriC(), _protocol(d, a, b, x), t1=_T1, key=key, dt=_DT, save_every=_SAVE
        )
        return res.weights, res.early, res.late

    def cells(d, a, b, x):
        return jax.vmap(lambda k: one(d, a, b, x, k))(keys)

    return jax.vmap(cells)(delay, p_a, p_b, ltd)


def _runs(protocols):
    """Mean over cells of (weights, early, late), each (protocols, time, pathways)."""
    d, a, b, x = (jnp.array(c, dtype=float) for c in zip(*protocols, strict=True))
    w, early, late = _batch(d, a, b, x, jr.split(jr.key(14), _N_CELLS))
    return tuple(np.asarray(v, dtype=float).mean(1) for v in (w, early, late))


def _at(t: float) -> int:
    return int(round(t / (_DT * _SAVE)))


def _tau_mle(early: np.ndarray, t_start: float) -> float:
    """Decay time constant of the early phase from ``t_start`` to the end of the run (s).

    Tag lifetimes are exponential and the run ends before all tags are gone, so this is
    the maximum-likelihood estimate for right-censored exponential lifetimes: the total
    tag-time (the area under the tag count) over the number of tags lost.
    """
    x = np.abs(early[_at(t_start) :])
    area = float(np.sum(x[1:] + x[:-1]) / 2 * _DT * _SAVE)
    return area / float(x[0] - x[-1])


@target(name="tagtric_tagging_and_capture", scale="synapse", source=_SOURCE_14)
def _tagtric():
    out = []
    late0 = 0.3  # fraction of synapses that start in the up state (the code's iu)
    # (delay of B after A (s), p on A, p on B, LTD?): weak alone, strong alone, and
    # weak + strong at 0, 1 and 3 h, for LTP then LTD.
    cases = [(d, pa, pb, x) for x in (0.0, 1.0) for d, pa, pb in _CASES]
    w_all, e_all, l_all = _runs(cases)
    for i, (kind, ltd) in enumerate((("LTP", False), ("LTD", True))):
        weak_name, strong_name = (
            ("weak LFS", "strong LFS")
            if ltd
            else (
                "weak tetanus",
                "strong tetanus",
            )
        )
        sign = -1.0 if ltd else 1.0
        k = i * len(_CASES)
        w_weak, e_weak, l_weak = w_all[k], e_all[k], l_all[k]
        w_strong, e_strong, l_strong = w_all[k + 1], e_all[k + 1], l_all[k + 1]
        w_in, l_in = w_all[k + 2], l_all[k + 2]
        l_mid = l_all[k + 3]
        w_out, l_out = w_all[k + 4], l_all[k + 4]
        peak = sign * (w_weak[_at(_T_WEAK + 60.0), 0] - 1.0)
        after3h = sign * (w_weak[_at(_T_WEAK + 3 * 3600.0), 0] - 1.0)
        tau = _tau_mle(e_weak[:, 0], _T_WEAK + 60.0)
        tau_ref = 3600.0 if not ltd else 5400.0
        out += [
            holds(
                f"{weak_name} alone: early {kind} 1 min after (|w - 1|)",
                "> 0.1",
                float(peak),
                bool(peak > 0.1),
            ),
            within(
                f"{weak_name}: decay time constant of the early phase (s), 1/k",
                tau_ref,
                tau,
                rtol=0.1,
            ),
            holds(
                f"{weak_name} alone: 3 h later, |w - 1| as a fraction of its peak "
                f"(exp(-3 h k) = {np.exp(-3 * 3600.0 / tau_ref):.2f})",
                "< 0.2",
                float(after3h / peak),
                bool(after3h < 0.2 * peak),
            ),
            holds(
                f"{weak_name} alone: no late phase (change in the z-up fraction of A)",
                "= 0",
                float(l_weak[-1, 0] - late0),
                bool(abs(l_weak[-1, 0] - late0) < 1e-6),
            ),
        ]
        t_last = _T_WEAK + (1200.0 if not ltd else 0.0)
        late_end = sign * (l_strong[-1, 1] - late0)
        early_end = abs(e_strong[-1, 1])
        drift = abs(l_strong[-1, 1] - l_strong[_at(t_last + 3 * 3600.0), 1])
        out += [
            holds(
                f"{strong_name} alone: late {kind}, z-fraction change of B at the end "
                f"({(_T1 - t_last) / 3600:.1f} h after the stimulus)",
                "> 0.1",
                float(late_end),
                bool(late_end > 0.1),
            ),
            holds(
                f"{strong_name} alone: weight of B at the end, |w - 1|, with early phase < 0.02",
                "> 0.15",
                float(sign * (w_strong[-1, 1] - 1.0)),
                bool(sign * (w_strong[-1, 1] - 1.0) > 0.15 and early_end < 0.02),
            ),
            holds(
                f"{strong_name}: late phase stable from 3 h after the stimulus to the end "
                "(|change in z-fraction|)",
                "< 0.01",
                float(drift),
                bool(drift < 0.01),
            ),
        ]
        cap_in = sign * (l_in[-1, 0] - late0)
        cap_mid = sign * (l_mid[-1, 0] - late0)
        cap_out = sign * (l_out[-1, 0] - late0)
        out += [
            holds(
                f"{weak_name} on A + {strong_name} on B together: A captured "
                "(z-fraction change of A)",
                "> 0.05",
                float(cap_in),
                bool(cap_in > 0.05),
            ),
            holds(
                f"{weak_name} on A + {strong_name} on B together: A's weight at the end, |w - 1|",
                "> 0.05",
                float(sign * (w_in[-1, 0] - 1.0)),
                bool(sign * (w_in[-1, 0] - 1.0) > 0.05),
            ),
            holds(
                f"capture of A shrinks with the delay of the {strong_name}: 0 h > 1 h > 3 h",
                "ordered",
                f"{cap_in:.3f} > {cap_mid:.3f} > {cap_out:.3f}",
                bool(cap_in > cap_mid > cap_out),
            ),
            holds(
                f"{strong_name} on B 3 h after the {weak_name}: A not captured "
                "(z-fraction change of A)",
                "< 0.01",
                float(cap_out),
                bool(cap_out < 0.01),
            ),
            holds(
                f"{strong_name} on B 3 h after the {weak_name}: A's weight at the end, |w - 1|",
                "< 0.02",
                float(abs(w_out[-1, 0] - 1.0)),
                bool(abs(w_out[-1, 0] - 1.0) < 0.02),
            ),
        ]
    return out
