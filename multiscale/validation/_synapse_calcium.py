"""Published targets of the Graupner & Brunel 2012 calcium rule (PNAS 109:3991).

The model ratios were computed with the authors' analytic code (Graupner & Brunel 2012,
SI; github.com/mgraupe/CalciumBasedPlasticityModel): time above threshold in the
periodic steady state of the deterministic calcium trace, then the erf transition
probabilities and the β/b readout. :mod:`._graupner_brunel_readout` follows that procedure,
so the tolerance is atol 0.01 on the ratio w_after/w_before (the table rounds to 1e-3).
"""

import jax
import jax.numpy as jnp

from ..synapse import (
    burst_time_above,
    gb2012_cortical,
    gb2012_dp,
    gb2012_hippocampal,
    stdp_curve,
    synaptic_change,
)
from ._registry import holds, target, within

_ATOL = 0.01

DP_TABLE = {-50: 0.905, -20: 0.764, -10: 0.882, 0: 1.008, 10: 1.221, 20: 1.172, 50: 1.055}
# frequency (Hz): (model +10 ms, model -10 ms, data +10 %, SEM, data -10 %, SEM).
# Sjöström's 0.1 Hz data are compared with the model at 1 Hz, as in the authors' fit.
CORTICAL_TABLE = {
    1.0: (1.061, 0.691, -4, 5, -29, 8),
    10.0: (1.083, 0.621, 14, 10, -41, 11),
    20.0: (1.253, 0.635, 29, 14, -34, 10),
    40.0: (1.553, 1.585, 53, 11, 56, 32),
    50.0: (1.637, 1.637, 56, 26, 75, 19),
}
# protocol: (+10 ms, -10 ms)
HIPPOCAMPAL_TABLE = {
    "200 pairs": (0.729, 0.791),
    "100 bursts": (1.513, 0.830),
    "30 bursts": (1.144, 0.984),
}


def cortical_model_ratios() -> dict[float, tuple[float, float]]:
    """Model w_after/w_before at Δt = ±10 ms, 75 pairs, for each frequency of the table."""
    with jax.enable_x64(True):
        rule = gb2012_cortical()
        out = {}
        for f in CORTICAL_TABLE:
            r = stdp_curve(rule, jnp.array([0.01, -0.01]), jnp.asarray(f), jnp.asarray(75.0))
            out[f] = (float(r[0]), float(r[1]))
    return out


def hippocampal_model_ratios() -> dict[str, tuple[float, float]]:
    """Model ratios for the three 5 Hz protocols of GB2012 Fig. 3 at Δt = ±10 ms."""
    with jax.enable_x64(True):
        rule = gb2012_hippocampal()
        f = jnp.asarray(5.0)
        pairs = stdp_curve(rule, jnp.array([0.01, -0.01]), f, jnp.asarray(200.0))
        out = {"200 pairs": (float(pairs[0]), float(pairs[1]))}
        for n, name in ((100.0, "100 bursts"), (30.0, "30 bursts")):
            vals = []
            for dt in (0.01, -0.01):
                a_d, a_p = burst_time_above(rule, jnp.asarray(dt), f)
                vals.append(float(synaptic_change(rule, a_d, a_p, jnp.asarray(n) / f)))
            out[name] = tuple(vals)
    return out


@target(
    name="gb2012_dp_stdp",
    scale="synapse",
    source=(
        "Graupner & Brunel 2012 PNAS 109:3991 Fig. 2 (DP set, 60 pairs at 1 Hz, rho0 = 0.5; "
        "values computed with the authors' analytic code)"
    ),
)
def _dp_stdp():
    with jax.enable_x64(True):
        dts = jnp.array(sorted(DP_TABLE), dtype=float) * 1e-3
        ratios = stdp_curve(gb2012_dp(), dts, jnp.asarray(1.0), jnp.asarray(60.0))
        ratios = [float(r) for r in ratios]
    out = [
        within(f"DP ratio at {dt:+d} ms", DP_TABLE[dt], r, atol=_ATOL)
        for dt, r in zip(sorted(DP_TABLE), ratios, strict=True)
    ]
    out.append(holds("+10 ms potentiates, -10 ms depresses", "r(+10)>1>r(-10)",
                     f"{ratios[4]:.3f}, {ratios[2]:.3f}", ratios[4] > 1.0 > ratios[2]))  # fmt: skip
    return out


@target(
    name="gb2012_cortical_frequency",
    scale="synapse",
    source=(
        "Graupner & Brunel 2012 PNAS 109:3991 Fig. 4B (cortical set, 75 pairs; values "
        "computed with the authors' analytic code)"
    ),
)
def _cortical():
    model = cortical_model_ratios()
    out = []
    for f, (plus, minus, *_) in CORTICAL_TABLE.items():
        out.append(within(f"cortical +10 ms at {f:g} Hz", plus, model[f][0], atol=_ATOL))
        out.append(within(f"cortical -10 ms at {f:g} Hz", minus, model[f][1], atol=_ATOL))
    return out


@target(
    name="gb2012_cortical_vs_sjostrom_data",
    scale="synapse",
    source=(
        "Sjöström, Turrigiano & Nelson 2001 Neuron 32:1149 (means ± SEM); Graupner & Brunel "
        "2012 PNAS 109:3991 Fig. 4B, cortical set, 75 pairs (within 1.5 SEM)"
    ),
    known_gap=(
        "GB2012 cortical set at 1 Hz, +10 ms gives 1.061 against Sjöström's 0.1 Hz data "
        "0.96 ± 0.05 (2.0 SEM, tolerance 1.5 SEM); the other 9 points lie within 1.5 SEM"
    ),
)
def _cortical_vs_data():
    model = cortical_model_ratios()
    out = []
    for f, (_, _, d_plus, sem_plus, d_minus, sem_minus) in CORTICAL_TABLE.items():
        for sign, data, sem, m in (
            ("+", d_plus, sem_plus, model[f][0]),
            ("-", d_minus, sem_minus, model[f][1]),
        ):
            out.append(
                within(
                    f"cortical {sign}10 ms at {f:g} Hz vs data ({sem:g} % SEM)",
                    1 + data / 100,
                    m,
                    atol=1.5 * sem / 100,
                )  # fmt: skip
            )
    return out


@target(
    name="gb2012_hippocampal_protocols",
    scale="synapse",
    source=(
        "Graupner & Brunel 2012 PNAS 109:3991 Fig. 3 (hippocampal set, 5 Hz, burst ISI "
        "11.5 ms; values computed with the authors' analytic code)"
    ),
)
def _hippocampal():
    model = hippocampal_model_ratios()
    out = []
    for name, (plus, minus) in HIPPOCAMPAL_TABLE.items():
        out.append(within(f"{name}, +10 ms", plus, model[name][0], atol=_ATOL))
        out.append(within(f"{name}, -10 ms", minus, model[name][1], atol=_ATOL))
    out.append(holds("single pairs depress at ±10 ms", "both < 1", str(model["200 pairs"]),
                     max(model["200 pairs"]) < 1.0))  # fmt: skip
    return out
