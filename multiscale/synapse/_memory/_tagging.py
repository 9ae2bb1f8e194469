r"""Synaptic tagging and capture: the Tag–Trigger–Consolidation (TagTriC) model.

Clopath, Ziegler, Vasilaki, Büsing & Gerstner (2008) split a synapse into an early
phase, two binary **tags**, and a late phase $z$. A synapse carries an LTP tag
$h \in \{0, 1\}$ or an LTD tag $l \in \{0, -1\}$ (never both). Tags are set by the
stimulus and fall back to 0 at random, with rates $k_h$ and $k_l$. When the cell holds
enough tags, $\sum_i (h_i - l_i) > \theta_p$ (summed over *all* synapses of the cell:
this is what lets one pathway's stimulus serve another's tags), plasticity-related
**proteins** $p$ are made (the **trigger**). A tagged synapse that finds proteins
moves its late phase $z$ across the unstable point $\kappa$ of a bistable well
(**consolidation**):

$$\frac{dp}{dt} = -\frac{p}{\tau_{pd}} + \frac{1 - p}{\tau_{pm}}\,
  \Theta\!\Big[\sum_i (h_i - l_i) - \theta_p\Big],\qquad
  \tau_z \frac{dz_i}{dt} = z_i(1 - z_i)(z_i - \kappa) + \gamma\,(h_i + l_i)\,p,$$

$$w_i = g_h h_i + g_l l_i + g_z z_i + w_0 .$$

Without tags $z = 0$ and $z = 1$ are both stable, so a late-phase weight lasts for as
long as the simulation. With a tag and $p$ near 1 the drive $\gamma p = 0.1$ exceeds the
barrier $\max_{z<\kappa} |z(1 - z)(z - \kappa)| \approx 0.048$, and $z$ flips within
about an hour; a tag that decays first, or proteins that come too late, leave $z$
where it was. That race sets the capture window.

Constants are those of the authors' code (ModelDB 118199, ``tagtric.py``, 2009 revision
with corrected amplitudes): $k_h = 1/3600$ s⁻¹ ($\tau_h = 1$ h),
$k_l = 1/5400$ s⁻¹, $\tau_z = \tau_{pm} = 360$ s, $\tau_{pd} = 3600$ s, $\kappa = 0.5$,
$\gamma = 0.1$, $\theta_p = 60$ tags, $g_h = 1$, $g_l = 0.5$, $g_z = 2$, $w_0 = 1$,
2 pathways × 100 synapses with 30 % of synapses starting at $z = 1$.

**What is reduced.** In the paper the tags are set during the stimulus by the
voltage-based TriVo rule in an AdEx neuron at 1 ms resolution. Here a stimulus is an
:class:`Induction`: at one instant each synapse of the stimulated pathway that carries
no tag receives an LTP (LTD) tag with probability ``p_ltp`` (``p_ltd``), the setting
rule of the code, $h \leftarrow h + (1 - h)(1 + l)\,b$. The probabilities of
:func:`weak_tetanus`, :func:`strong_tetanus`, :func:`weak_lfs` and :func:`strong_lfs`
are **our choice**, not published numbers: they give a weak protocol fewer tags than
$\theta_p$ and a strong one more, which is the paper's definition of weak and strong.
Everything after the tags are set (decay, trigger, proteins, consolidation) is the
published model. Protein-synthesis blockers (the code's ``tp1, tp2`` window) are not
modelled.

**Time stepping.** :func:`simulate_tagging` is a fixed-step ``lax.scan``, by default at
``dt = 10`` s. Once the stimulus is an instant, the fastest time constants left are
$\tau_z = \tau_{pm} = 360$ s, so 10 s resolves them 36-fold. Each step is as exact as
the model allows: tags survive with probability $e^{-k\,dt}$ (exact for the
continuous-time Markov chain sampled at the steps), $p$ is linear while the trigger is
constant and is advanced in closed form, and $z$ takes one classical Runge–Kutta step
with $p$ read from that closed form inside the step (local error $\sim(dt/\tau_z)^5$,
far below the authors' 1 s Euler steps). The trigger is a step function of an integer
tag count that changes at random instants, so an adaptive solver (diffrax) would gain
nothing and would have to stop at every tag decay. Tag decay and the trigger are
resolved to ``dt``, and induction times are rounded to the step.

References:
    Clopath C, Ziegler L, Vasilaki E, Büsing L, Gerstner W (2008) Tag-Trigger-
    Consolidation: a model of early and late long-term-potentiation and depression.
    PLoS Comput Biol 4:e1000248. Code: ModelDB 118199.
    Frey U, Morris RGM (1997) Synaptic tagging and long-term potentiation. Nature
    385:533.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Real

from ..._checks import Constraints, check_fields, error_if


class TagTriCState(eqx.Module):
    """State of a TagTriC cell.

    A binary tag that decays at random with rate $k$ has an exponentially distributed
    lifetime, so the state stores, for each synapse, the time at which its tag will
    vanish (drawn when the tag is set) instead of drawing a decay at every step. This is
    the same Markov chain, and it keeps the random numbers out of the time loop.

    Attributes:
        t: time (s).
        h_end: time (s) at which the LTP tag vanishes; the tag is set while t < h_end.
            Shape (pathways, synapses).
        l_end: the same for the LTD tag.
        z: late-phase variables (stable at 0 and 1), shape (pathways, synapses).
        p: protein level (0 to 1), scalar, shared by all synapses of the cell.
    """

    t: Float[Array, ""]
    h_end: Float[Array, "pathways synapses"]
    l_end: Float[Array, "pathways synapses"]
    z: Float[Array, "pathways synapses"]
    p: Float[Array, ""]

    @property
    def h(self) -> Float[Array, "pathways synapses"]:
        """LTP tags, 0 or 1."""
        return (self.t < self.h_end).astype(self.z.dtype)

    @property
    def l(self) -> Float[Array, "pathways synapses"]:  # noqa: E743 (the paper's symbol)
        """LTD tags, 0 or -1."""
        return -(self.t < self.l_end).astype(self.z.dtype)


class Induction(eqx.Module):
    """A set of stimuli, each setting tags on one pathway at one instant.

    Attributes:
        time: onset of each stimulus (s), shape (events,).
        pathway: index of the stimulated pathway, shape (events,).
        p_ltp: probability that an untagged synapse gets an LTP tag, shape (events,).
        p_ltd: probability that an untagged synapse gets an LTD tag, shape (events,).
    """

    time: Float[Array, " events"]
    pathway: Int[Array, " events"]
    p_ltp: Float[Array, " events"]
    p_ltd: Float[Array, " events"]

    def __init__(self, time, pathway, p_ltp, p_ltd):
        time = jnp.asarray(time)
        if not jnp.issubdtype(time.dtype, jnp.floating):
            time = time.astype(float)
        self.time = jnp.atleast_1d(time)
        n = self.time.shape[-1:] if self.time.ndim == 1 else self.time.shape

        def events(x, dtype):
            # A scalar applies to every event; anything else must already be (events,).
            x = jnp.asarray(x, dtype=dtype)
            return jnp.broadcast_to(x, n) if x.ndim == 0 else x

        self.pathway = events(pathway, jnp.int32)
        self.p_ltp = events(p_ltp, self.time.dtype)
        self.p_ltd = events(p_ltd, self.time.dtype)
        shapes = {f: getattr(self, f).shape for f in ("time", "pathway", "p_ltp", "p_ltd")}
        if len(set(shapes.values())) != 1 or self.time.ndim != 1:
            raise ValueError(f"Induction fields must be 1-D of one length (events,), got {shapes}")
        if not isinstance(self.time, jax.core.Tracer):
            t = np.asarray(self.time)
            if np.any(~np.isfinite(t)) or np.any(t < 0):
                raise ValueError(f"Induction `time` must be finite and >= 0 s, got {t}")
        for name in ("p_ltp", "p_ltd"):
            v = getattr(self, name)
            if not isinstance(v, jax.core.Tracer) and np.any(
                (np.asarray(v) < 0) | (np.asarray(v) > 1)
            ):
                raise ValueError(f"Induction `{name}` must lie in [0, 1], got {np.asarray(v)}")

    def __add__(self, other: "Induction") -> "Induction":
        return Induction(
            jnp.concatenate([self.time, other.time.astype(self.time.dtype)]),
            jnp.concatenate([self.pathway, other.pathway]),
            jnp.concatenate([self.p_ltp, other.p_ltp.astype(self.time.dtype)]),
            jnp.concatenate([self.p_ltd, other.p_ltd.astype(self.time.dtype)]),
        )


# Tag-setting probabilities per stimulus (our reduction of the TriVo/AdEx stage; see the
# module docstring). With 100 synapses per pathway and theta_p = 60: a weak tetanus or
# a weak LFS tags ~40 synapses (no trigger); each train of a strong tetanus, and a
# strong LFS, tags every untagged synapse of its pathway (trigger).
_P_WEAK = 0.4
_P_STRONG_TRAIN = 1.0
_P_STRONG_LFS = 1.0


def weak_tetanus(time: Real[ArrayLike, ""], pathway: int) -> Induction:
    """Weak tetanus (1 × 21 pulses at 100 Hz) at ``time`` (s): LTP tags with p = 0.4."""
    return Induction(time, pathway, _P_WEAK, 0.0)


def strong_tetanus(time: Real[ArrayLike, ""], pathway: int) -> Induction:
    """Strong tetanus (3 × 100 pulses at 100 Hz, 600 s apart) from ``time`` (s).

    Each of the three trains tags every untagged synapse (LTP, p = 1).
    """
    t = jnp.asarray(time)
    t = t.astype(float) if not jnp.issubdtype(t.dtype, jnp.floating) else t
    offsets = jnp.array([0.0, 600.0, 1200.0], dtype=t.dtype)
    return Induction(t + offsets, jnp.full(3, pathway), _P_STRONG_TRAIN, 0.0)


def weak_lfs(time: Real[ArrayLike, ""], pathway: int) -> Induction:
    """Weak low-frequency stimulation (900 pulses at 1 Hz) from ``time`` (s): LTD, p = 0.4."""
    return Induction(time, pathway, 0.0, _P_WEAK)


def strong_lfs(time: Real[ArrayLike, ""], pathway: int) -> Induction:
    """Strong LFS (900 bursts of 3 pulses at 20 Hz, 1 s apart) from ``time`` (s): LTD, p = 1."""
    return Induction(time, pathway, 0.0, _P_STRONG_LFS)


class TagTriC(eqx.Module):
    r"""Tag–Trigger–Consolidation synapses of one cell (Clopath et al. 2008).

    Equations in the module docstring. ``init`` builds the resting state, ``induce``
    sets tags, ``step`` advances the tag decay, proteins and late phase by ``dt``;
    :func:`simulate_tagging` runs a protocol for hours.

    Attributes:
        k_h: LTP-tag decay rate (1/s); $\tau_h = 1/k_h = 1$ h.
        k_l: LTD-tag decay rate (1/s); $1/k_l = 1.5$ h.
        tau_z: late-phase time constant (s).
        kappa: unstable fixed point of the late phase.
        gamma: coupling of tag and proteins into the late phase.
        tau_pm: protein synthesis time constant (s).
        tau_pd: protein decay time constant (s); the capture window.
        theta_p: protein-synthesis threshold on $\sum_i (h_i - l_i)$ (number of tags,
            summed over all pathways of the cell).
        g_h, g_l, g_z: weight of an LTP tag, an LTD tag and the late phase (weight unit).
        w0: residual weight of every synapse (weight unit).
        up_fraction: fraction of synapses of each pathway that start with $z = 1$.
        n_pathways: number of pathways (static).
        n_synapses: synapses per pathway (static).

    Example:
        >>> import jax.random as jr
        >>> from multiscale.synapse import TagTriC, simulate_tagging, strong_tetanus
        >>> res = simulate_tagging(TagTriC(), strong_tetanus(1800.0, 0), t1=5 * 3600.0,
        ...                        key=jr.key(0))
        >>> bool(res.weights[-1, 0] > 1.3)   # late LTP, 3.5 h after the tetanus
        True
    """

    k_h: Float[ArrayLike, ""] = 1.0 / 3600.0
    k_l: Float[ArrayLike, ""] = 1.0 / 5400.0
    tau_z: Float[ArrayLike, ""] = 360.0
    kappa: Float[ArrayLike, ""] = 0.5
    gamma: Float[ArrayLike, ""] = 0.1
    tau_pm: Float[ArrayLike, ""] = 360.0
    tau_pd: Float[ArrayLike, ""] = 3600.0
    theta_p: Float[ArrayLike, ""] = 60.0
    g_h: Float[ArrayLike, ""] = 1.0
    g_l: Float[ArrayLike, ""] = 0.5
    g_z: Float[ArrayLike, ""] = 2.0
    w0: Float[ArrayLike, ""] = 1.0
    up_fraction: float = eqx.field(static=True, default=0.3)
    n_pathways: int = eqx.field(static=True, default=2)
    n_synapses: int = eqx.field(static=True, default=100)

    def __check_init__(self):
        check_fields(
            "TagTriC",
            self,
            Constraints(
                positive=("k_h", "k_l", "tau_z", "tau_pm", "tau_pd"),
                nonnegative=("gamma", "theta_p", "g_h", "g_l", "g_z", "w0"),
                finite=("kappa",),
            ),
        )
        if not (0.0 <= self.up_fraction <= 1.0):
            raise ValueError(f"TagTriC `up_fraction` must lie in [0, 1], got {self.up_fraction}")
        for name in ("n_pathways", "n_synapses"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"TagTriC `{name}` must be a positive int")

    def init(self, dtype=None) -> TagTriCState:
        """Resting state at t = 0: no tags, no proteins, the first ``up_fraction`` of
        each pathway at z = 1.

        Synapses of a pathway are exchangeable (tags are set at random), so which of
        them start up does not matter; the authors' code permutes them at random.
        """
        dtype = jnp.asarray(self.tau_z, dtype=dtype).dtype
        shape = (self.n_pathways, self.n_synapses)
        n_up = int(round(self.up_fraction * self.n_synapses))
        z = jnp.broadcast_to((jnp.arange(self.n_synapses) < n_up).astype(dtype), shape)
        never = jnp.full(shape, -jnp.inf, dtype)
        zero = jnp.zeros((), dtype)
        return TagTriCState(zero, never, never, z, zero)

    def induce(
        self,
        state: TagTriCState,
        pathway: Int[ArrayLike, ""],
        p_ltp: Real[ArrayLike, ""],
        p_ltd: Real[ArrayLike, ""],
        *,
        key: PRNGKeyArray,
    ) -> TagTriCState:
        """Set tags on one pathway now: each untagged synapse gets an LTP tag with
        probability ``p_ltp``, then each still untagged one an LTD tag with ``p_ltd``;
        each new tag draws its exponential lifetime (mean $1/k_h$ or $1/k_l$, s)."""
        u = jr.uniform(key, (4,) + state.z.shape, dtype=state.z.dtype)
        life_h, life_l = self._lifetimes(u[2:])
        on = (jnp.arange(self.n_pathways, dtype=jnp.int32) == jnp.asarray(pathway, jnp.int32))[
            :, None
        ]
        b_h = on & (u[0] < jnp.asarray(p_ltp, u.dtype))
        b_l = on & (u[1] < jnp.asarray(p_ltd, u.dtype))
        return self._set_tags(state, b_h, b_l, life_h, life_l)

    def _lifetimes(self, u):
        # Exponential lifetimes by inversion, -log(1 - u)/k, from uniforms u in [0, 1):
        # one random draw per stimulus serves tag setting and lifetimes alike (each
        # extra draw is another threefry kernel to compile).
        e = -jnp.log1p(-u)
        return e[0] / jnp.asarray(self.k_h, u.dtype), e[1] / jnp.asarray(self.k_l, u.dtype)

    def _set_tags(self, state, b_h, b_l, life_h, life_l):
        # The code's rule, h <- h + (1 - h)(1 + l) b: a tag is set only on a synapse
        # that carries neither tag, LTP first.
        free = (state.h == 0) & (state.l == 0)
        set_h = b_h & free
        set_l = b_l & free & ~set_h
        h_end = jnp.where(set_h, state.t + life_h, state.h_end)
        l_end = jnp.where(set_l, state.t + life_l, state.l_end)
        return TagTriCState(state.t, h_end, l_end, state.z, state.p)

    def triggered(self, state: TagTriCState) -> Float[Array, ""]:
        r"""1 while proteins are made, $\sum_i (h_i - l_i) > \theta_p$, else 0."""
        n = jnp.sum(state.h - state.l)
        return (n > jnp.asarray(self.theta_p, n.dtype)).astype(n.dtype)

    def weights(self, state: TagTriCState) -> Float[Array, " pathways"]:
        r"""Mean weight of each pathway relative to its resting mean $w_0 + f_\mathrm{up} g_z$."""
        dt = state.z.dtype
        g_h, g_l, g_z, w0 = (jnp.asarray(x, dt) for x in (self.g_h, self.g_l, self.g_z, self.w0))
        w = g_h * state.h + g_l * state.l + g_z * state.z + w0
        return jnp.mean(w, axis=1) / _rest_mean(self, dt)

    def step(self, state: TagTriCState, dt: Real[ArrayLike, ""]) -> TagTriCState:
        """Advance by ``dt`` (s), deterministically given the drawn tag lifetimes.

        Proteins follow their closed form and z takes one classical RK4 step, with the
        tags and the trigger held at their values at the start of the step.
        """
        dtype = state.z.dtype
        dt = jnp.asarray(dt, dtype)
        tau_z, kappa, gamma, tau_pm, tau_pd = (
            jnp.asarray(x, dtype)
            for x in (self.tau_z, self.kappa, self.gamma, self.tau_pm, self.tau_pd)
        )
        on = self.triggered(state)
        rate = 1.0 / tau_pd + on / tau_pm
        p_inf = (on / tau_pm) / rate

        def p_at(s):
            return p_inf + (state.p - p_inf) * jnp.exp(-rate * s)

        tag = state.h + state.l

        def f(z, s):
            return (z * (1.0 - z) * (z - kappa) + gamma * tag * p_at(s)) / tau_z

        z = state.z
        k1 = f(z, 0.0)
        k2 = f(z + 0.5 * dt * k1, 0.5 * dt)
        k3 = f(z + 0.5 * dt * k2, 0.5 * dt)
        k4 = f(z + dt * k3, dt)
        z = z + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return TagTriCState(state.t + dt, state.h_end, state.l_end, z, p_at(dt))


class TaggingResult(eqx.Module):
    """A TagTriC run sampled every ``save_every`` steps.

    Attributes:
        ts: sample times (s), shape (time,).
        weights: mean weight of each pathway relative to rest, shape (time, pathways).
        early: mean early-phase weight $g_h h + g_l l$ relative to rest, (time, pathways).
        late: fraction of synapses with $z > \\kappa$, shape (time, pathways).
        protein: protein level $p$, shape (time,).
        final: the state at ``t1``.
    """

    ts: Float[Array, " time"]
    weights: Float[Array, "time pathways"]
    early: Float[Array, "time pathways"]
    late: Float[Array, "time pathways"]
    protein: Float[Array, " time"]
    final: TagTriCState


def simulate_tagging(
    model: TagTriC,
    induction: Induction,
    *,
    t1: float,
    key: PRNGKeyArray,
    dt: float = 10.0,
    save_every: int = 6,
) -> TaggingResult:
    """Run a TagTriC cell through ``induction`` from rest at t = 0 to ``t1`` (s).

    A fixed-step ``lax.scan`` at ``dt`` (s; see the module docstring for why 10 s is
    enough). Each stimulus acts at the start of the step nearest to its time.
    ``induction.time`` may be traced, so ``jit`` and ``vmap`` over protocol timing
    compile once.

    Args:
        model: the :class:`TagTriC` parameters.
        induction: the stimuli (times in s, within [0, t1)).
        t1: duration (s), a Python number (it fixes the number of steps).
        key: PRNG key for tag setting and tag decay.
        dt: step (s), a Python number.
        save_every: steps between saved samples.

    Returns:
        A :class:`TaggingResult` sampled at t = 0, save_every·dt, ..., t1.
    """
    for name, v in (("t1", t1), ("dt", dt)):
        if not isinstance(v, int | float) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"`{name}` must be a positive Python number (s), got {v!r}")
    if not isinstance(save_every, int) or save_every < 1:
        raise ValueError(f"`save_every` must be a positive int, got {save_every!r}")
    if not isinstance(induction, Induction):
        raise ValueError(f"`induction` must be an Induction, got {type(induction).__name__}")
    n_save = int(round(t1 / dt / save_every))
    if n_save < 1 or abs(n_save * save_every * dt - t1) > 1e-6 * t1:
        raise ValueError(
            f"`t1` = {t1} must be a whole multiple of save_every·dt = {save_every * dt}"
        )
    if not isinstance(induction.time, jax.core.Tracer) and np.any(np.asarray(induction.time) >= t1):
        raise ValueError(
            f"Induction `time` must be < t1 = {t1} s, got {np.asarray(induction.time)}"
        )
    if not isinstance(induction.pathway, jax.core.Tracer):
        bad = np.asarray(induction.pathway)
        if np.any((bad < 0) | (bad >= model.n_pathways)):
            raise ValueError(f"Induction `pathway` must be in [0, {model.n_pathways}), got {bad}")
    return _simulate(model, induction, key, t1, dt, save_every, n_save)


@eqx.filter_jit
def _simulate(model, induction, key, t1, dt, save_every, n_save):
    # Python floats and ints (t1, dt, the model's static fields) are static under
    # filter_jit; arrays (induction times, key, array-valued parameters) are traced, so a
    # sweep over protocol timing compiles once.
    state0 = model.init()
    dtype = state0.z.dtype
    times = induction.time.astype(dtype)
    times = error_if(times, times >= t1, "Induction `time` must be < t1")
    times = error_if(times, times < 0, "Induction `time` must be >= 0 s")
    k_event = jnp.floor(times / dt + 0.5).astype(jnp.int32)
    u = jr.uniform(key, (4, times.shape[0]) + state0.z.shape, dtype=dtype)
    life_h, life_l = model._lifetimes(u[2:])
    on_path = (
        induction.pathway[:, None] == jnp.arange(model.n_pathways, dtype=jnp.int32)[None, :]
    )[..., None]
    b_h = on_path & (u[0] < induction.p_ltp.astype(dtype)[:, None, None])
    b_l = on_path & (u[1] < induction.p_ltd.astype(dtype)[:, None, None])
    n_steps = n_save * save_every

    def sample(state):
        g_h, g_l = jnp.asarray(model.g_h, dtype), jnp.asarray(model.g_l, dtype)
        early = jnp.mean(g_h * state.h + g_l * state.l, axis=1) / _rest_mean(model, dtype)
        late = jnp.mean((state.z > jnp.asarray(model.kappa, dtype)).astype(dtype), axis=1)
        return model.weights(state), early, late, state.p

    def one_step(state, k):
        # Stimuli that fall in this step act together (a synapse tagged by two of them
        # keeps the longer lifetime); LTP tags are set before LTD tags.
        now = (k == k_event)[:, None, None]
        hit_h, hit_l = b_h & now, b_l & now
        life_h_now = jnp.max(jnp.where(hit_h, life_h, 0.0), axis=0)
        life_l_now = jnp.max(jnp.where(hit_l, life_l, 0.0), axis=0)
        state = model._set_tags(
            state, jnp.any(hit_h, axis=0), jnp.any(hit_l, axis=0), life_h_now, life_l_now
        )
        state = model.step(state, dt)
        return state, sample(state)

    final, per_step = jax.lax.scan(one_step, state0, jnp.arange(n_steps, dtype=jnp.int32))
    w, early, late, p = (x[save_every - 1 :: save_every] for x in per_step)
    w0, e0, l0, p0 = sample(state0)

    def cat(a, b):
        return jnp.concatenate([a[None], b])

    ts = jnp.arange(n_save + 1, dtype=dtype) * (save_every * dt)
    return TaggingResult(ts, cat(w0, w), cat(e0, early), cat(l0, late), cat(p0, p), final)


def _rest_mean(model, dtype) -> Array:
    w0, g_z = jnp.asarray(model.w0, dtype), jnp.asarray(model.g_z, dtype)
    n_up = round(model.up_fraction * model.n_synapses) / model.n_synapses
    return w0 + n_up * g_z
