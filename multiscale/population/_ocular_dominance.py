r"""Ocular-dominance plasticity whose critical period is opened and closed by inhibition.

A binocular excitatory (E) cell of mouse visual cortex receives the contralateral (c)
and ipsilateral (i) eye through weights $w_c, w_i$ (dimensionless) and divisive
feedback inhibition from PV cells. Over days of rearing, stepped hourly
(``lax.scan``), four mechanisms act:

1. **GABA maturation** (Hensch 2005). Inhibitory strength grows with age $a$ (days),
   $G(a) = g_0 + (1 - g_0)\,\sigma\big((a - a_G)/w_G\big)$, and the effective
   inhibition is $G_\mathrm{eff} = d\,k\,\gamma\,(G + \beta B)$: $d$ a drug factor
   (diazepam $> 1$, fluoxetine $< 1$), $k$ the experience-dependent GABA tone,
   $\gamma$ the genotype (GAD65 knockout $< 1$) and $B$ the brake (3).
2. **The gate.** Ocular-dominance plasticity needs inhibition above a threshold and is
   closed by too much of it (Fagiolini & Hensch 2000):
   $P = \sigma\big((G_\mathrm{eff} - \theta_o)/s\big)\,
   \sigma\big((\theta_c - G_\mathrm{eff})/s\big)$.
3. **The brake.** Once inhibition first crosses $\theta_o$ a slow brake (perineuronal
   nets and other molecular brakes in Hensch 2005) starts to build,
   $T = \max_{t' \le t}\sigma\big((G_\mathrm{eff}(t') - \theta_o)/s\big)$,
   $\dot B = (T - B)/\tau_B$, and adds to inhibition until $G_\mathrm{eff} > \theta_c$
   closes the window. Early diazepam therefore opens the window early *and* starts
   the brake early, closing it prematurely (Iwai et al. 2003); lowering inhibition in
   the adult (fluoxetine, Maya Vetencourt et al. 2008; dark exposure, He et al. 2006)
   brings $G_\mathrm{eff}$ back below $\theta_c$ and reopens it. Darkness lowers the
   tone $k$ towards ``dark_tone`` with time constant $\tau_k$; light restores it.
4. **Activity and learning.** Each eye gives $x_e = s_0 + v\,o_e$ (Hz; $o_e = 1$ for an
   open eye in light, 0 when sutured or in darkness). The E rate is
   $r = (w_c x_c + w_i x_i)/(1 + c\,G_\mathrm{eff}\,q)$, with $q$ the PV cells'
   excitatory drive relative to its initial value. While the gate is open $q$ adjusts
   so that $r$ returns to its running average $\bar r$ (time constant $\tau_{\bar r}$),
   and relaxes back to 1 over days:
   $\frac{d \ln q}{dt} = P\,(r/\bar r - 1)/\tau_q - \ln q/\tau_\mathrm{back}$.
   After monocular deprivation (MD) the E rate falls, PV drive falls within hours and
   the E rate recovers (Kuhlman et al. 2013).
   The weights follow a competitive Hebbian rule,
   $\frac{d \ln w_e}{dt} = P\,\frac{r}{\bar r}\,\big(\eta_+[u_e]_+ - \eta_-[-u_e]_+\big)$,
   $u_e = (x_e - \bar x)/v$ with $\bar x$ the mean of the two eyes: equal input leaves
   the weights alone (binocular deprivation and darkness change nothing), MD depresses
   the deprived eye and, more slowly, potentiates the open one.

The ocular-dominance index is $\mathrm{ODI} = (w_c - w_i)/(w_c + w_i)$, the
contra-minus-ipsi visual response over their sum (1: contralateral only).

The E–PV loop is not run as a :class:`~multiscale.circuit.RateCircuit`: its dynamics
(tens of ms) are at steady state on hourly steps over weeks, so the steady-state E rate
is written in closed form (divisive feedback inhibition), and a rearing of two months is
one ``lax.scan`` of about 1500 steps.

How this differs from :class:`~multiscale.population.CriticalPeriod`. That gate is a
learning-rate factor written as a function of age in trials: it closes because it is
told to, and reopens on a date. Here the window is not a function of age at all: it is
the consequence of the inhibitory level, so it moves when inhibition is manipulated
(diazepam opens it early and closes it early, a GAD65-like genotype keeps it shut until
diazepam is given at any age, fluoxetine or darkness reopen it in adults), and the
plasticity it gates is competition between the eyes driven by activity.

The numbers (maturation age, thresholds, time constants, rates) are **our choice**,
made so that the window falls near P19–P32 (Gordon & Stryker 1996) and the PV transient
recovers within a day (Kuhlman et al. 2013); the published results are used as
ordinal targets only.

References:
    Gordon JA, Stryker MP (1996) J Neurosci 16:3274.
    Hensch TK (2005) Nat Rev Neurosci 6:877.
    Fagiolini M, Hensch TK (2000) Nature 404:183.
    Iwai Y, Fagiolini M, Obata K, Hensch TK (2003) J Neurosci 23:6695.
    Kuhlman SJ et al. (2013) Nature 501:543.
    Maya Vetencourt JF et al. (2008) Science 320:385.
    He H-Y, Hodos W, Quinlan EM (2006) J Neurosci 26:2951.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

Param = Float[ArrayLike, ""]
Span = tuple[float | int, float | int]

DIAZEPAM = 2.5
"""Drug factor on inhibition of a benzodiazepine (our choice: opens the window at P15)."""
FLUOXETINE = 0.6
"""Drug factor on inhibition of chronic fluoxetine (our choice: reopens the adult window)."""


class Rearing(eqx.Module):
    """An hourly rearing schedule (all arrays of length n_steps).

    Attributes:
        age: postnatal age at each step, days.
        contra: 1 where the contralateral eye is open, 0 where it is sutured.
        ipsi: the same for the ipsilateral eye.
        light: 1 in light, 0 in darkness.
        drug: factor on inhibition (1: none; :data:`DIAZEPAM`, :data:`FLUOXETINE`).
    """

    age: Float[Array, " steps"]
    contra: Float[Array, " steps"]
    ipsi: Float[Array, " steps"]
    light: Float[Array, " steps"]
    drug: Float[Array, " steps"]

    @property
    def dt(self) -> float:
        """Step, hours."""
        return 1.0


def rearing(
    start: float | int,
    end: float | int,
    *,
    md: Span | None = None,
    bd: Span | None = None,
    dark: Span | None = None,
    diazepam: Span | None = None,
    fluoxetine: Span | None = None,
) -> Rearing:
    """An hourly schedule from age ``start`` to ``end`` (days) with manipulations.

    Each manipulation is an interval ``(from, to)`` of ages in days: ``md`` sutures the
    contralateral eye, ``bd`` both eyes, ``dark`` keeps the animal in darkness,
    ``diazepam`` and ``fluoxetine`` multiply inhibition by :data:`DIAZEPAM` and
    :data:`FLUOXETINE`. Schedules of equal length can be stacked and vmapped.
    """
    if not (np.isfinite(start) and np.isfinite(end) and end > start >= 0):
        raise ValueError(f"need 0 <= start < end (days), got start={start}, end={end}")
    age = start + np.arange(int(round((end - start) * 24))) / 24.0

    def during(span):
        if span is None:
            return np.zeros(age.shape, bool)
        lo, hi = span
        if not hi > lo:
            raise ValueError(f"a manipulation interval must have to > from, got {span}")
        return (age >= lo) & (age < hi)

    contra = ~(during(md) | during(bd))
    ipsi = ~during(bd)
    drug = np.where(during(diazepam), DIAZEPAM, 1.0) * np.where(during(fluoxetine), FLUOXETINE, 1.0)
    f = jnp.result_type(float)
    return Rearing(
        jnp.asarray(age, f),
        jnp.asarray(contra, f),
        jnp.asarray(ipsi, f),
        jnp.asarray(~during(dark), f),
        jnp.asarray(drug, f),
    )


class OcularDominanceResult(eqx.Module):
    """Hourly record of a rearing (leading animal axes after ``vmap``).

    Attributes:
        age: days.
        odi: ocular-dominance index $(w_c - w_i)/(w_c + w_i)$.
        weights: $(w_c, w_i)$, shape (steps, 2).
        rate: E rate $r$, Hz.
        gate: plasticity gate $P$ in [0, 1].
        inhibition: $G_\\mathrm{eff}$ (1 = mature inhibition without brake).
        pv_drive: $q$, the PV cells' excitatory drive relative to its initial value.
        brake: $B$ in [0, 1].
    """

    age: Float[Array, "*batch steps"]
    odi: Float[Array, "*batch steps"]
    weights: Float[Array, "*batch steps 2"]
    rate: Float[Array, "*batch steps"]
    gate: Float[Array, "*batch steps"]
    inhibition: Float[Array, "*batch steps"]
    pv_drive: Float[Array, "*batch steps"]
    brake: Float[Array, "*batch steps"]


class BinocularCortex(eqx.Module):
    r"""Binocular E cell with maturing PV inhibition (equations in the module docstring).

    Attributes:
        visual: $v$, visually driven rate of an open eye, Hz (10).
        spontaneous: $s_0$, spontaneous rate of each eye's input, Hz (2).
        w_contra, w_ipsi: initial weights (2, 1: contralateral bias, ODI 1/3).
        g_birth: $g_0$, inhibition at birth relative to mature (0.25).
        gaba_age: $a_G$, age of half-mature inhibition, days (24).
        gaba_width: $w_G$, days (3).
        genotype: $\gamma$, 1 for wild type, < 1 for reduced GABA synthesis (GAD65 KO).
        theta_open, theta_close: $\theta_o, \theta_c$, the inhibitory levels that open
            and close the window (0.5, 1.3).
        sharpness: $s$ of both edges (0.05).
        brake_gain: $\beta$ (0.6).
        tau_brake: $\tau_B$, days (15).
        dark_tone: GABA tone $k$ reached in darkness (0.6).
        tau_tone: $\tau_k$, days (2).
        pv_coupling: $c$, divisive PV inhibition at $G_\mathrm{eff} q = 1$ (8).
        tau_pv: $\tau_q$, hours (2).
        tau_back: $\tau_\mathrm{back}$, days over which PV drive returns to 1 (2).
        tau_rate: $\tau_{\bar r}$, days (5).
        eta_ltd: $\eta_-$, per hour (0.012).
        eta_ltp: $\eta_+$, per hour (0.003).
    """

    visual: Param = 10.0
    spontaneous: Param = 2.0
    w_contra: Param = 2.0
    w_ipsi: Param = 1.0
    g_birth: Param = 0.25
    gaba_age: Param = 24.0
    gaba_width: Param = 3.0
    genotype: Param = 1.0
    theta_open: Param = 0.5
    theta_close: Param = 1.3
    sharpness: Param = 0.05
    brake_gain: Param = 0.6
    tau_brake: Param = 15.0
    dark_tone: Param = 0.6
    tau_tone: Param = 2.0
    pv_coupling: Param = 8.0
    tau_pv: Param = 2.0
    tau_back: Param = 2.0
    tau_rate: Param = 5.0
    eta_ltd: Param = 0.012
    eta_ltp: Param = 0.003

    def __check_init__(self):
        for name in (
            "visual",
            "gaba_width",
            "sharpness",
            "tau_brake",
            "tau_tone",
            "tau_pv",
            "tau_rate",
            "tau_back",
            "w_contra",
            "w_ipsi",
        ):
            v = getattr(self, name)
            if isinstance(v, int | float) and not v > 0:
                raise ValueError(f"BinocularCortex `{name}` must be > 0, got {v}")
        for name in ("spontaneous", "g_birth", "genotype", "brake_gain", "eta_ltd", "eta_ltp"):
            v = getattr(self, name)
            if isinstance(v, int | float) and not v >= 0:
                raise ValueError(f"BinocularCortex `{name}` must be >= 0, got {v}")

    def gaba(self, age: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        """$G(a)$, inhibitory maturation at age ``age`` (days), 1 = mature."""
        f = jnp.result_type(float)
        g0 = jnp.asarray(self.g_birth, f)
        x = (jnp.asarray(age, f) - jnp.asarray(self.gaba_age, f)) / jnp.asarray(self.gaba_width, f)
        return g0 + (1 - g0) * jax.nn.sigmoid(x)


def simulate_ocular_dominance(model: BinocularCortex, schedule: Rearing) -> OcularDominanceResult:
    """Run ``model`` through ``schedule`` (hourly steps) from the rest state at its start.

    The state at the first step: initial weights, no brake, GABA tone 1 (light rearing),
    PV drive 1, running-average rate equal to the first step's rate. Batch animals with
    ``eqx.filter_vmap`` over model parameters, conditions with ``jax.vmap`` over
    schedules of equal length.
    """
    if not isinstance(schedule, Rearing):
        raise ValueError(f"`schedule` must be a Rearing, got {type(schedule).__name__}")
    f = jnp.result_type(float)
    p = {k: jnp.asarray(getattr(model, k), f) for k in BinocularCortex.__dataclass_fields__}
    dt = jnp.asarray(schedule.dt, f)  # hours
    dt_d = dt / 24.0

    def drive(contra, ipsi, light):
        x = p["spontaneous"] + p["visual"] * jnp.stack([contra, ipsi]) * light
        return x

    def inhibition(age, drug, tone, brake):
        return drug * tone * p["genotype"] * (model.gaba(age) + p["brake_gain"] * brake)

    def rate(w, x, g, q):
        return jnp.dot(w, x) / (1 + p["pv_coupling"] * g * q)

    def gate(g):
        s = p["sharpness"]
        return jax.nn.sigmoid((g - p["theta_open"]) / s) * jax.nn.sigmoid(
            (p["theta_close"] - g) / s
        )

    def step(carry, inp):
        w, q, r_bar, brake, latch, tone = carry
        age, contra, ipsi, light, drug = inp
        g = inhibition(age, drug, tone, brake)
        x = drive(contra, ipsi, light)
        r = rate(w, x, g, q)
        P = gate(g)
        rel = r / r_bar
        u = (x - jnp.mean(x)) / p["visual"]
        dlnw = P * rel * (p["eta_ltp"] * jax.nn.relu(u) - p["eta_ltd"] * jax.nn.relu(-u))
        w_new = w * jnp.exp(dlnw * dt)
        q_new = q * jnp.exp(P * (rel - 1) * dt / p["tau_pv"] - jnp.log(q) * dt_d / p["tau_back"])
        r_bar_new = r_bar + (r - r_bar) * (1 - jnp.exp(-dt_d / p["tau_rate"]))
        latch_new = jnp.maximum(latch, jax.nn.sigmoid((g - p["theta_open"]) / p["sharpness"]))
        brake_new = latch_new + (brake - latch_new) * jnp.exp(-dt_d / p["tau_brake"])
        target = p["dark_tone"] + (1 - p["dark_tone"]) * light
        tone_new = target + (tone - target) * jnp.exp(-dt_d / p["tau_tone"])
        odi = (w[0] - w[1]) / (w[0] + w[1])
        out = (odi, w, r, P, g, q, brake)
        return (w_new, q_new, r_bar_new, brake_new, latch_new, tone_new), out

    w0 = jnp.stack([p["w_contra"], p["w_ipsi"]])
    one, zero = jnp.ones((), f), jnp.zeros((), f)
    inp = (schedule.age, schedule.contra, schedule.ipsi, schedule.light, schedule.drug)
    g0 = inhibition(schedule.age[0], schedule.drug[0], one, zero)
    r0 = rate(w0, drive(schedule.contra[0], schedule.ipsi[0], schedule.light[0]), g0, one)
    _, outs = jax.lax.scan(step, (w0, one, r0, zero, zero, one), inp)
    return OcularDominanceResult(schedule.age, *outs)


def od_shift(result: OcularDominanceResult, start: float | int, end: float | int) -> Array:
    """ODI at age ``start`` minus ODI at age ``end`` (days): > 0 is a shift towards the
    ipsilateral (open) eye after contralateral deprivation. Leading axes are kept."""
    age = np.asarray(result.age).reshape(-1, result.age.shape[-1])[0]
    i0 = int(np.argmin(np.abs(age - start)))
    i1 = int(np.argmin(np.abs(age - end)))
    return result.odi[..., i0] - result.odi[..., i1]
