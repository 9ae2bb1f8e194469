"""Critical periods by mechanism: ocular-dominance plasticity gated by inhibition.

:class:`~multiscale.population.BinocularCortex` (hourly steps, P10 to P70) in 64
simulated mice that differ in the age of GABA maturation (``gaba_age`` ~ N(24, 1) days)
and in their initial contralateral bias (``w_contra`` = 2 exp(N(0, 0.1))). Every
condition runs for every mouse in one compiled call. All targets are ordinal: the
published work gives the direction of each effect (and, for Kuhlman et al. 2013, "half"
and "within 24 h"), not numbers for this reduced model. An ordinal statement
"A < f B" holds when the 95 % confidence interval of the per-mouse difference A - f B
lies below 0.

The shift is the ODI before minus after 4 days of contralateral-eye MD (> 0: towards
the open eye).
"""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..population import BinocularCortex, od_shift, rearing, simulate_ocular_dominance
from ._behavior_learning import mean_ci
from ._registry import holds, in_range, target

N_MICE = 64
START, END = 10.0, 70.0
WT, KO = 1.0, 0.3

_SOURCE_GS = (
    "Gordon & Stryker 1996 J Neurosci 16:3274 (4 d MD: maximal loss of deprived-eye "
    "responses from P28, critical period P19-P32, none in adults; binocular deprivation "
    "does not reduce responses). Ordinal; the model's numbers are ours"
)
_SOURCE_GATE = (
    "Hensch et al. 1998 Science 282:1504 and Fagiolini & Hensch 2000 Nature 404:183 "
    "(GAD65 KO: no OD shift until benzodiazepines, at any age; diazepam before the "
    "critical period opens it); Iwai et al. 2003 J Neurosci 23:6695 (2 d of diazepam "
    "after eye opening closes it prematurely). Ordinal"
)
_SOURCE_REOPEN = (
    "Maya Vetencourt et al. 2008 Science 320:385 (fluoxetine reinstates adult OD "
    "plasticity, lowering intracortical inhibition; cortical diazepam blocks it); He, "
    "Hodos & Quinlan 2006 J Neurosci 26:2951 (dark exposure reactivates adult OD "
    "plasticity). Ordinal"
)
_SOURCE_PV = (
    "Kuhlman et al. 2013 Nature 501:543 (after MD in the critical period evoked firing "
    "of binocular L2/3 excitatory cells falls by half and recovers within 24 h through "
    "reduced PV firing; only in the critical period; enhancing inhibition at MD onset "
    "blocks the OD shift). Ordinal"
)

# name: (genotype, rearing kwargs, span of the MD whose shift is read)
CONDITIONS = {
    "md15": (WT, {"md": (15, 19)}, (15, 19)),
    "md19": (WT, {"md": (19, 23)}, (19, 23)),
    "md24": (WT, {"md": (24, 28)}, (24, 28)),
    "md28": (WT, {"md": (28, 32)}, (28, 32)),
    "md32": (WT, {"md": (32, 36)}, (32, 36)),
    "md40": (WT, {"md": (40, 44)}, (40, 44)),
    "md60": (WT, {"md": (60, 64)}, (60, 64)),
    "bd28": (WT, {"bd": (28, 32)}, (28, 32)),
    "dz_md15": (WT, {"md": (15, 19), "diazepam": (13, 19)}, (15, 19)),
    "dz_early_md28": (WT, {"md": (28, 32), "diazepam": (13, 15)}, (28, 32)),
    "dz_at_md28": (WT, {"md": (28, 32), "diazepam": (27, 32)}, (28, 32)),
    "fluox_md60": (WT, {"md": (60, 64), "fluoxetine": (50, 64)}, (60, 64)),
    "fluox_dz_md60": (
        WT,
        {"md": (60, 64), "fluoxetine": (50, 64), "diazepam": (50, 64)},
        (60, 64),
    ),
    "dark_md60": (WT, {"md": (60, 64), "dark": (50, 60)}, (60, 64)),
    "ko_md28": (KO, {"md": (28, 32)}, (28, 32)),
    "ko_dz_md60": (KO, {"md": (60, 64), "diazepam": (58, 64)}, (60, 64)),
}


@functools.cache
def _runs():
    """Per condition: (shift per mouse, rate per mouse and step, PV drive, ages)."""
    names = list(CONDITIONS)
    sched = [rearing(START, END, **CONDITIONS[n][1]) for n in names]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *sched)
    geno = jnp.array([CONDITIONS[n][0] for n in names])
    k1, k2 = jr.split(jr.key(96))
    gaba_age = 24.0 + jr.normal(k1, (N_MICE,))
    w_contra = 2.0 * jnp.exp(0.1 * jr.normal(k2, (N_MICE,)))

    @jax.jit
    def run(g, s, a, w):
        model = BinocularCortex(genotype=g, gaba_age=a, w_contra=w)
        return simulate_ocular_dominance(model, s)

    over_mice = jax.vmap(run, in_axes=(None, None, 0, 0))
    res = jax.jit(jax.vmap(over_mice, in_axes=(0, 0, None, None)))(
        geno, stacked, gaba_age, w_contra
    )
    out = {}
    for i, n in enumerate(names):
        r = jax.tree.map(lambda x, i=i: x[i], res)
        shift = np.asarray(od_shift(r, *CONDITIONS[n][2]), dtype=float)
        out[n] = (shift, np.asarray(r.rate, float), np.asarray(r.pv_drive, float))
    age = np.asarray(stacked.age[0])
    return out, age


def _shift(name):
    return _runs()[0][name][0]


def _fmt(ci, digits=3):
    m, lo, hi = ci
    return f"{m:.{digits}f} (95% CI {lo:.{digits}f} to {hi:.{digits}f})"


def _less(name_a, frac, name_b, label):
    """Per-mouse shift(a) - frac * shift(b): holds when its 95 % CI lies below 0."""
    ci = mean_ci(_shift(name_a) - frac * _shift(name_b))
    return holds(
        label,
        f"shift({name_a}) < {frac:g} x shift({name_b}) (CI of the difference < 0)",
        f"difference {_fmt(ci)}",
        ci[2] < 0,
    )


def _more(name_a, frac, name_b, label):
    ci = mean_ci(_shift(name_a) - frac * _shift(name_b))
    return holds(
        label,
        f"shift({name_a}) > {frac:g} x shift({name_b}) (CI of the difference > 0)",
        f"difference {_fmt(ci)}",
        ci[1] > 0,
    )


@target(name="od_critical_period_gordon_stryker", scale="population", source=_SOURCE_GS)
def _window():
    starts = (15, 19, 24, 28, 32, 40, 60)
    means = {a: float(_shift(f"md{a}").mean()) for a in starts}
    peak = max(means, key=means.get)
    md28 = mean_ci(_shift("md28"))
    bd = mean_ci(np.abs(_shift("bd28")))
    return [
        in_range("ODI shift after 4 d MD from P28 (mean over mice)", 0.15, 1.0, md28[0]),
        holds(
            "4 d MD from P28 is near the maximal shift",
            "mean shift(P28) >= 0.8 x the largest mean shift over MD starts P15-P60",
            "; ".join(f"P{a}: {v:.3f}" for a, v in means.items()) + f" (peak P{peak})",
            means[28] >= 0.8 * means[peak],
        ),
        _more("md19", 0.25, "md28", "MD from P19 (window opening) shifts OD"),
        _less("md15", 0.2, "md28", "MD ending at P19, before the window, barely shifts OD"),
        _less("md40", 0.2, "md28", "MD from P40, after the window, barely shifts OD"),
        _less("md60", 0.05, "md28", "MD in adults (P60) does not shift OD"),
        holds(
            "binocular deprivation during the window changes nothing",
            "|shift| < 1e-3 (CI upper bound)",
            f"|shift| {_fmt(bd, 5)}",
            bd[2] < 1e-3,
        ),
    ]


@target(name="od_inhibitory_threshold_hensch", scale="population", source=_SOURCE_GATE)
def _gate():
    return [
        _more("dz_md15", 0.5, "md28", "diazepam before the critical period opens it (MD P15)"),
        _more("dz_md15", 5.0, "md15", "diazepam at P13-P19 vs none, MD P15-P19"),
        _less("dz_early_md28", 0.7, "md28", "2 d of diazepam at P13 closes the window early"),
        _less("ko_md28", 0.05, "md28", "inhibition below threshold (GAD65-KO-like): no shift"),
        _more("ko_dz_md60", 0.5, "md28", "diazepam unmasks plasticity in the adult KO-like"),
    ]


@target(name="od_adult_reopening_by_reduced_inhibition", scale="population", source=_SOURCE_REOPEN)
def _reopen():
    return [
        _more("fluox_md60", 0.5, "md28", "fluoxetine reopens adult OD plasticity"),
        _less("fluox_dz_md60", 0.05, "md28", "diazepam blocks the fluoxetine reopening"),
        _more("dark_md60", 0.3, "md28", "10 d of darkness before MD reopens it"),
        _more("dark_md60", 20.0, "md60", "darkness vs light-reared adult MD"),
    ]


@target(name="pv_disinhibition_after_md_kuhlman", scale="population", source=_SOURCE_PV)
def _kuhlman():
    runs, age = _runs()
    out = []
    for name, onset, adult in (("md28", 28.0, False), ("md60", 60.0, True)):
        _, rate, pv = runs[name]
        i = int(np.argmin(np.abs(age - onset)))
        drop = mean_ci(rate[:, i] / rate[:, i - 1])
        day = mean_ci(rate[:, i + 24] / rate[:, i - 1])
        where = "adult (P60)" if adult else "critical period (P28)"
        if not adult:
            pv_day = mean_ci(pv[:, i + 24] / pv[:, i - 1])
            out += [
                in_range(f"E rate at MD onset / before, {where}", 0.35, 0.65, drop[0]),
                holds(
                    f"E rate recovers within 24 h of MD, {where}",
                    "rate(+24 h) / rate(before) > 0.85 (CI lower bound)",
                    _fmt(day),
                    day[1] > 0.85,
                ),
                holds(
                    "PV drive falls within 24 h of MD",
                    "PV drive(+24 h) / before < 0.5 (CI upper bound)",
                    _fmt(pv_day),
                    pv_day[2] < 0.5,
                ),
            ]
        else:
            out.append(
                holds(
                    f"no recovery outside the critical period, {where}",
                    "rate(+24 h) / rate(before) < 0.6 (CI upper bound)",
                    _fmt(day),
                    day[2] < 0.6,
                )
            )
    out.append(_less("dz_at_md28", 0.05, "md28", "extra inhibition at MD onset blocks the shift"))
    return out
