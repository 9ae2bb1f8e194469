r"""Wang's (2002) spiking network of a two-choice perceptual decision, as a circuit.

$N = N_E + N_I$ leaky integrate-and-fire neurons (1600 pyramidal cells, 400
interneurons), all-to-all. A fraction $f = 0.15$ of the pyramidal cells forms each of two
selective pools A and B (240 cells each), the rest (1120) is nonselective. Membrane
($C\dot V = -g_L (V - V_L) - I_\mathrm{syn}$; $C$ = 0.5 / 0.2 nF, $g_L$ = 25 / 20 nS for
E / I cells; $V_L = -70$, $\vartheta = -50$, $V_r = -55$ mV; refractory 2 / 1 ms) and

$$I_\mathrm{syn} = g_\mathrm{ext} s_\mathrm{ext} (V - V_E)
  + g_\mathrm{AMPA} (V - V_E) \sum_j w_j s^\mathrm{AMPA}_j
  + \frac{g_\mathrm{NMDA} (V - V_E)}{1 + [\mathrm{Mg}^{2+}] e^{-0.062 V}/3.57}
    \sum_j w_j s^\mathrm{NMDA}_j
  + g_\mathrm{GABA} (V - V_I) \sum_j s^\mathrm{GABA}_j .$$

AMPA (2 ms) and GABA_A (5 ms) gates jump by 1 at each presynaptic spike and decay
exponentially; NMDA gates saturate: $\dot s = -s/\tau_d + \alpha x (1 - s)$,
$\dot x = -x/\tau_r + \sum_k \delta(t - t_k)$ ($\tau_r$ = 2 ms, $\tau_d$ = 100 ms,
$\alpha$ = 0.5 ms$^{-1}$), with the Mg²⁺ block of Jahr & Stevens (1990). Every cell receives
2.4 kHz of external Poisson spikes through its AMPA conductance $g_\mathrm{ext}$; while the
stimulus is on, each cell of pool A (B) receives an additional Poisson train of rate
$\mu_A = \mu_0 (1 + c)$ ($\mu_B = \mu_0 (1 - c)$) through the same synapses (Wang's
$\mu_0 + \rho c'$ with $\rho = \mu_0/100$ and $c'$ in %). Structured weights: $w_+$ = 1.7
within a selective pool, $w_- = 1 - f (w_+ - 1)/(1 - f)$ between the two selective pools
and from the nonselective pool onto them, 1 otherwise. Synaptic latency 0.5 ms.

Implementation. Because the connectivity is all-to-all and the weights depend only on the
two pools, the recurrent input of a cell is a weighted sum of *pool sums* of gating
variables. AMPA and GABA gates are linear, so only their pool sums are stored; NMDA gates
are nonlinear in each presynaptic cell's own spikes and are kept per pyramidal cell, then
summed per pool. The latency delays the pool sums (a shift register of the last
``latency / dt`` steps). A step is O(N), not O(N²). Per step of $\Delta t$: external spike
counts are drawn by inversion of the Poisson distribution from a counter-based hash (as
:class:`~multiscale.circuit.spiking.SpikingNetwork`); the membrane equation, linear in
$V$ with the conductances and the Mg²⁺ block frozen over the step, is solved exactly;
spikes pass through the surrogate; the gates are advanced exactly (NMDA's $s$ with $x$
frozen over the step). For ``jax.grad`` the reset is detached and the default surrogate
is damped (:class:`DampedSurrogate`): with a unit-height surrogate the linearised
recurrent loop is unstable and the gradient diverges within 0.1 s of a trial.

Scaling with $N$ (for fast tests): as the Brian2 example of this model, recurrent
conductances are multiplied by $1600/N_E$ (from pyramidal cells) and $400/N_I$ (from
interneurons), so that every cell's mean recurrent input does not change with $N$; only
its fluctuations grow as $1/\sqrt N$. External conductances are not scaled.

Differences from Wang (2002): the stimulus rates are constant during a trial (Wang
resampled them every 50 ms from a Gaussian of SD $\sigma$ = 4 Hz; his $\sigma = 0$
control gives nearly the same threshold, 8.9 vs 9.2 %); the step is 0.1 ms (Wang 0.02 ms,
Brian2's example 0.1 ms).

References:
    Wang XJ (2002) Probabilistic decision making by slow reverberation in cortical
    circuits. Neuron 36:955-968.
    Jahr CE, Stevens CF (1990) Voltage dependence of NMDA-activated macroscopic
    conductances predicted by single-channel kinetics. J Neurosci 10:3178-3182.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..._checks import Constraints, check_fields
from ...synapse import MgBlock
from .._abstract import AbstractCircuit
from .._protocol import Stimulus
from .._rate_circuit import check_time_constants, checked_parts, part_violations
from ._damped import DampedSurrogate
from ._step import _mix_words, _poisson_levels, _uniform
from ._surrogate import AbstractSurrogate

Param = Float[ArrayLike, ""]
_SIGNALS = 7  # AMPA pool sums (A, B, NS), NMDA pool sums (A, B, NS), GABA sum


class Wang2002State(NamedTuple):
    """State of :class:`Wang2002Network` (units first, trials trailing).

    Attributes:
        V: membrane potentials, mV (neurons, ...).
        ref: refractory steps left, int32 (neurons, ...).
        s_ext: external AMPA gates (neurons, ...).
        x, s: NMDA rise and gating variables of the pyramidal cells (n_E, ...).
        S_ampa: pool sums of recurrent AMPA gates, pools A, B, nonselective (3, ...).
        S_gaba: sum of GABA gates (1, ...).
        buffer: pool signals of the last ``latency / dt`` steps, oldest first (7 D, ...).
        count: spikes so far per population A, B, nonselective, I (4, ...).
    """

    V: Array
    ref: Array
    s_ext: Array
    x: Array
    s: Array
    S_ampa: Array
    S_gaba: Array
    buffer: Array
    count: Array


class Wang2002Network(AbstractCircuit):
    r"""Wang's (2002) network (see the module docstring); build it with :func:`wang2002_network`.

    Populations, in neuron order: pool A, pool B, nonselective E, interneurons. The step's
    rates are these four populations' instantaneous rates (spikes per cell per step /
    $\Delta t$, Hz); :meth:`choice_rates` hands pools A and B to the decision readout,
    which smooths them with its boxcar (50 ms, Wang's window).

    Attributes:
        C_E, C_I: capacitances, nF (0.5, 0.2).
        g_L_E, g_L_I: leak conductances, nS (25, 20).
        V_L, V_th, V_reset: leak reversal, threshold, reset, mV (-70, -50, -55).
        t_ref_E, t_ref_I: refractory periods, s (2e-3, 1e-3).
        V_E, V_I: excitatory and inhibitory reversal potentials, mV (0, -70).
        g_ext_E, g_AMPA_E, g_NMDA_E, g_GABA_E: conductances onto E cells, nS (2.1, 0.05,
            0.165, 1.3), the recurrent ones for $N_E = 1600$, $N_I = 400$.
        g_ext_I, g_AMPA_I, g_NMDA_I, g_GABA_I: onto I cells, nS (1.62, 0.04, 0.13, 1.0).
        tau_AMPA, tau_NMDA_rise, tau_NMDA_decay, tau_GABA: s (2e-3, 2e-3, 0.1, 5e-3).
        alpha: NMDA saturation rate, 1/s (500).
        w_plus: $w_+$, potentiation within a selective pool (1.7).
        nu_ext: external Poisson rate per cell, Hz (2400).
        mg_block: the Mg²⁺ block (:class:`~multiscale.synapse.MgBlock`, 1 mM).
        n_E, n_I: numbers of pyramidal cells and interneurons (static).
        f: fraction of pyramidal cells in each selective pool (static).
        latency: synaptic latency, s (static, 5e-4): a whole number of steps.
        dt: the step the network is built for, s (static, 1e-4).
        max_count: Poisson spikes per cell and step counted (static, 8: the tail beyond is
            below 1e-9 at 2.5 kHz and 0.1 ms).
        surrogate: surrogate gradient of the spike (:class:`DampedSurrogate`: a
            :class:`FastSigmoid` of width 1 mV scaled by 0.003, see there).
    """

    C_E: Param = 0.5
    C_I: Param = 0.2
    g_L_E: Param = 25.0
    g_L_I: Param = 20.0
    V_L: Param = -70.0
    V_th: Param = -50.0
    V_reset: Param = -55.0
    t_ref_E: Param = 2e-3
    t_ref_I: Param = 1e-3
    V_E: Param = 0.0
    V_I: Param = -70.0
    g_ext_E: Param = 2.1
    g_AMPA_E: Param = 0.05
    g_NMDA_E: Param = 0.165
    g_GABA_E: Param = 1.3
    g_ext_I: Param = 1.62
    g_AMPA_I: Param = 0.04
    g_NMDA_I: Param = 0.13
    g_GABA_I: Param = 1.0
    tau_AMPA: Param = 2e-3
    tau_NMDA_rise: Param = 2e-3
    tau_NMDA_decay: Param = 0.1
    tau_GABA: Param = 5e-3
    alpha: Param = 500.0
    w_plus: Param = 1.7
    nu_ext: Param = 2400.0
    mg_block: MgBlock = MgBlock()
    n_E: int = eqx.field(static=True, default=1600)
    n_I: int = eqx.field(static=True, default=400)
    f: float = eqx.field(static=True, default=0.15)
    latency: float = eqx.field(static=True, default=5e-4)
    dt: float = eqx.field(static=True, default=1e-4)
    max_count: int = eqx.field(static=True, default=8)
    surrogate: AbstractSurrogate = DampedSurrogate()

    constraints = Constraints(
        positive=(
            "C_E",
            "C_I",
            "g_L_E",
            "g_L_I",
            "t_ref_E",
            "t_ref_I",
            "tau_AMPA",
            "tau_NMDA_rise",
            "tau_NMDA_decay",
            "tau_GABA",
            "alpha",
        ),
        nonnegative=(
            "g_ext_E",
            "g_AMPA_E",
            "g_NMDA_E",
            "g_GABA_E",
            "g_ext_I",
            "g_AMPA_I",
            "g_NMDA_I",
            "g_GABA_I",
            "w_plus",
            "nu_ext",
        ),
        finite=("V_L", "V_th", "V_reset", "V_E", "V_I"),
    )

    def __check_init__(self):
        check_fields("Wang2002Network", self, self.constraints)
        if not (isinstance(self.n_E, int) and isinstance(self.n_I, int) and self.n_I >= 1):
            raise ValueError(f"`n_E`, `n_I` must be ints >= 1, got {self.n_E!r}, {self.n_I!r}")
        if not 0 < self.f < 0.5:
            raise ValueError(
                f"`f` (fraction per selective pool) must lie in (0, 0.5), got {self.f}"
            )
        if self.pool < 1 or self.n_E - 2 * self.pool < 1:
            raise ValueError(
                f"`n_E` = {self.n_E} with `f` = {self.f} leaves an empty pool; use more cells"
            )

    @property
    def pool(self) -> int:
        """Cells per selective pool, ``round(f n_E)``."""
        return int(round(self.f * self.n_E))

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        """Population sizes: pool A, pool B, nonselective, interneurons."""
        p = self.pool
        return (p, p, self.n_E - 2 * p, self.n_I)

    @property
    def names(self) -> tuple[str, ...]:
        return ("A", "B", "NS", "I")

    @property
    def n_neurons(self) -> int:
        return self.n_E + self.n_I

    @property
    def w_minus(self) -> Array:
        r"""$w_- = 1 - f (w_+ - 1)/(1 - f)$: keeps each cell's summed weight at $N_E$."""
        return 1.0 - self.f * (jnp.asarray(self.w_plus) - 1.0) / (1.0 - self.f)

    @property
    def n_noise(self) -> int:
        return 2

    def init(self, batch, dtype) -> Wang2002State:
        n, ne = self.n_neurons, self.n_E
        d = self._delay_steps(self.dt)
        zeros = lambda m: jnp.zeros((m,) + tuple(batch), dtype)
        # Initial potentials spread over [V_L, V_th) by the golden-ratio sequence (no key:
        # the circuit interface builds the state without one); the external Poisson
        # input makes the trials diverge within the first milliseconds.
        frac = jnp.mod(jnp.arange(n, dtype=dtype) * 0.6180339887, 1.0)
        V0 = jnp.asarray(self.V_L, dtype) + frac * (
            jnp.asarray(self.V_th, dtype) - jnp.asarray(self.V_L, dtype)
        )
        V = jnp.broadcast_to(V0.reshape((n,) + (1,) * len(batch)), (n,) + tuple(batch))
        return Wang2002State(
            V=V,
            ref=jnp.zeros((n,) + tuple(batch), jnp.int32),
            s_ext=zeros(n),
            x=zeros(ne),
            s=zeros(ne),
            S_ampa=zeros(3),
            S_gaba=zeros(1),
            buffer=zeros(_SIGNALS * d),
            count=zeros(4),
        )

    def stimulus_input(self, stimulus: Stimulus) -> Float[Array, " 2"]:
        r"""Poisson rates onto each cell of pools A and B, $\mu_0(1 \pm c)$, Hz."""
        c = jnp.asarray(stimulus.coherence)
        mu0 = jnp.asarray(stimulus.mu0)
        return jnp.stack(jnp.broadcast_arrays(mu0 * (1 + c), mu0 * (1 - c)))

    def choice_rates(self, rates: Float[Array, "4 ..."]) -> Float[Array, "2 ..."]:
        """The instantaneous rates of pools A and B, Hz (the readout smooths them)."""
        return rates[:2]

    def _delay_steps(self, dt: float) -> int:
        return max(1, int(round(self.latency / dt)))

    def check_step(self, dt: float) -> None:
        check_time_constants(
            {
                "tau_AMPA": self.tau_AMPA,
                "tau_NMDA_rise": self.tau_NMDA_rise,
                "tau_GABA": self.tau_GABA,
                "E membrane C_E/g_L_E": jnp.asarray(self.C_E) / jnp.asarray(self.g_L_E),
                "I membrane C_I/g_L_I": jnp.asarray(self.C_I) / jnp.asarray(self.g_L_I),
            },
            dt,
        )
        if abs(dt - self.dt) > 1e-9 * self.dt:
            raise ValueError(
                f"`dt` ({dt} s) must be the step the network was built for (`dt` = "
                f"{self.dt} s: the latency and refractoriness are counted in its steps)"
            )
        steps = self.latency / dt
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps) or round(steps) < 1:
            raise ValueError(
                f"`latency` ({self.latency} s) must be a whole number of steps (`dt` = {dt} s)"
            )

    def checked(self) -> "Wang2002Network":
        return checked_parts(self)

    def violations(self) -> Array:
        return jnp.any(part_violations(self))

    def discretise(self, dt: float):
        self.check_step(dt)
        return _discretise(self, dt)


def _discretise(net: Wang2002Network, dt: float):
    dtype = jnp.result_type(float)
    f = lambda x: jnp.asarray(x, dtype)
    n, ne, ni = net.n_neurons, net.n_E, net.n_I
    pa, pb, pns, _ = net.sizes
    bounds = (0, pa, pa + pb, ne, n)
    d = net._delay_steps(dt)
    # Per-cell parameters as (neurons, 1) columns: E rows then I rows.
    col = lambda e, i: jnp.concatenate([jnp.full((ne, 1), f(e)), jnp.full((ni, 1), f(i))])
    C = col(net.C_E, net.C_I)
    g_L = col(net.g_L_E, net.g_L_I)
    n_ref = jnp.concatenate(
        [
            jnp.full((ne, 1), jnp.ceil(f(net.t_ref_E) / dt - 1e-4)),
            jnp.full((ni, 1), jnp.ceil(f(net.t_ref_I) / dt - 1e-4)),
        ]
    ).astype(jnp.int32)
    g_ext = col(net.g_ext_E, net.g_ext_I)
    # Recurrent conductances rescaled to the network size (1600 E, 400 I at full size).
    scale_e, scale_i = 1600.0 / ne, 400.0 / ni
    g_ampa = col(net.g_AMPA_E, net.g_AMPA_I) * scale_e
    g_nmda = col(net.g_NMDA_E, net.g_NMDA_I) * scale_e
    g_gaba = col(net.g_GABA_E, net.g_GABA_I) * scale_i
    V_L, V_th, V_r = f(net.V_L), f(net.V_th), f(net.V_reset)
    V_E, V_I = f(net.V_E), f(net.V_I)
    dec_ampa = jnp.exp(-dt / f(net.tau_AMPA))
    dec_gaba = jnp.exp(-dt / f(net.tau_GABA))
    dec_rise = jnp.exp(-dt / f(net.tau_NMDA_rise))
    half_ampa = jnp.exp(-0.5 * dt / f(net.tau_AMPA))
    inv_tau_d = 1.0 / f(net.tau_NMDA_decay)
    alpha = f(net.alpha)
    wp = f(net.w_plus)
    wm = f(net.w_minus)
    one = jnp.ones((), dtype)
    # Weights onto (A, B, NS, I) from (A, B, NS): rows are targets.
    W = jnp.stack(
        [
            jnp.stack([wp, wm, wm]),
            jnp.stack([wm, wp, wm]),
            jnp.stack([one, one, one]),
            jnp.stack([one, one, one]),
        ]
    )
    nu_ext = f(net.nu_ext)
    m = net.max_count
    # Levels whose top ones are exactly 1 (see _poisson_levels): a forward cumulative sum
    # stopped a few ulps below 1 and gave a rare uniform draw above it m inputs at once.
    F0 = _poisson_levels(nu_ext * dt, m + 1)
    mg = net.mg_block
    surrogate = net.surrogate
    arange_n = jnp.arange(n, dtype=jnp.int32)
    sizes = net.sizes

    def expand(per_pop):
        """(4, trials) population values -> (neurons, trials)."""
        return jnp.concatenate(
            [
                jnp.broadcast_to(per_pop[i : i + 1], (s, per_pop.shape[1]))
                for i, s in enumerate(sizes)
            ]
        )

    def step(state, drive, xi):
        batch = state.V.shape[1:]
        flat = lambda x: x.reshape((x.shape[0], -1))
        st = jax.tree.map(flat, state)
        drive = flat(jnp.broadcast_to(drive, drive.shape[:1] + batch)).astype(dtype)
        trials = st.V.shape[1]
        seed = jax.lax.bitcast_convert_type(flat(xi).astype(jnp.float32), jnp.uint32)
        seed = (seed[0], _mix_words(seed[1]))
        # 1. External Poisson spikes (background, plus the stimulus onto pools A and B).
        F_stim = jax.vmap(lambda r: _poisson_levels((nu_ext + r) * dt, m + 1), out_axes=1)
        F_a, F_b = F_stim(drive[0]), F_stim(drive[1])  # (m, trials)

        def external(seed, F_a, F_b):
            u = _uniform(arange_n, seed)  # (neurons, trials)

            def counts(u_part, F):
                return jnp.sum(u_part[..., None] > F.astype(u.dtype), axis=-1).astype(dtype)

            return jnp.concatenate(
                [
                    counts(u[:pa], F_a.T[None]),
                    counts(u[pa : pa + pb], F_b.T[None]),
                    counts(u[pa + pb :], F0[None, None]),
                ]
            )

        # The counts are drawn inside a ``lax.cond`` whose two branches are the same draw
        # (the predicate, one bit of the seed, changes nothing): its operands, the seed
        # words, are computed once per step, whereas XLA fuses their scalar hash and
        # Box-Muller arithmetic into the per-neuron draw and redoes it for every neuron.
        # (An ``optimization_barrier`` does not stop that fusion on CPU.)
        k_ext = jax.lax.cond((seed[0][0] & 1) == 0, external, external, seed, F_a, F_b)
        s_ext = st.s_ext + k_ext
        # 2. Recurrent input from the pool signals of `latency` ago.
        sig = st.buffer[:_SIGNALS]
        ampa_in = W @ sig[0:3]  # (4, trials)
        nmda_in = W @ sig[3:6]
        V = st.V
        G_exc = g_ext * s_ext * half_ampa + g_ampa * expand(ampa_in)
        G_nmda = g_nmda * expand(nmda_in) * mg(V)
        G_inh = g_gaba * sig[6:7]
        G = g_L + G_exc + G_nmda + G_inh
        V_inf = (g_L * V_L + (G_exc + G_nmda) * V_E + G_inh * V_I) / G
        V_new = V_inf + (V - V_inf) * jnp.exp(-dt * G / C)
        refractory = st.ref > 0
        V_new = jnp.where(refractory, V_r, V_new)
        # 3. Spikes, reset, refractoriness.
        spk = surrogate(V_new - V_th) * (~refractory).astype(dtype)
        # The reset is detached from the gradient: through V_new (1 - s) + V_r s the
        # surrogate's derivative would enter every step's Jacobian with V_r - V_new.
        reset = jax.lax.stop_gradient(spk)
        V = V_new * (1 - reset) + V_r * reset
        ref = jnp.where(spk > 0, n_ref, jnp.maximum(st.ref - 1, 0))
        # 4. Gates: external and recurrent AMPA, NMDA (x frozen over the step), GABA.
        s_ext = s_ext * dec_ampa
        pop_spikes = jnp.stack(
            [jnp.sum(spk[a:b], axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        )
        S_ampa = st.S_ampa * dec_ampa + pop_spikes[:3]
        S_gaba = st.S_gaba * dec_gaba + pop_spikes[3:]
        x = st.x * dec_rise + spk[:ne]
        k_s = inv_tau_d + alpha * x
        s_inf = alpha * x / k_s
        s = s_inf + (st.s - s_inf) * jnp.exp(-dt * k_s)
        S_nmda = jnp.stack(
            [jnp.sum(s[a:b], axis=0) for a, b in zip(bounds[:3], bounds[1:4], strict=True)]
        )
        new_sig = jnp.concatenate([S_ampa, S_nmda, S_gaba])
        buffer = new_sig if d == 1 else jnp.concatenate([st.buffer[_SIGNALS:], new_sig])
        rates = pop_spikes / jnp.asarray(sizes, dtype)[:, None] / dt
        new = Wang2002State(
            V=V,
            ref=ref,
            s_ext=s_ext,
            x=x,
            s=s,
            S_ampa=S_ampa,
            S_gaba=S_gaba,
            buffer=buffer,
            count=st.count + pop_spikes,
        )
        unflat = lambda a: a.reshape(a.shape[:1] + batch)
        del trials
        return jax.tree.map(unflat, new), unflat(rates)

    return step


def wang2002_network(
    *,
    n: int = 2000,
    w_plus: float = 1.7,
    dt: float = 1e-4,
    surrogate: AbstractSurrogate | None = None,
    **params,
) -> Wang2002Network:
    r"""Wang's (2002) decision network with $N$ cells (80 % pyramidal, 20 % interneurons).

    Args:
        n: number of cells (2000); fewer keep every cell's mean recurrent input (the
            recurrent conductances scale as $1600/N_E$ and $400/N_I$).
        w_plus: $w_+$ (1.7; Wang's Fig. 7: 1.8 gives a 42 Hz persistent state, weaker
            recurrence loses the attractor).
        dt: the step, s (0.1 ms).
        surrogate: the spike surrogate gradient (``None``: :class:`DampedSurrogate`).
        **params: any other field of :class:`Wang2002Network` (e.g. ``g_ext_E``).

    Returns:
        A :class:`Wang2002Network`; run it with :func:`~multiscale.circuit.simulate` or
        :func:`~multiscale.circuit.simulate_batch` and a decision readout, with a
        ``TrialProtocol(dt=dt, ...)`` and ``Stimulus(coherence=c, mu0=40.0)``.

    Example:
        >>> import multiscale as ms
        >>> net = ms.circuit.spiking.wang2002_network(n=500)
        >>> net.sizes
        (60, 60, 280, 100)
    """
    if not (isinstance(n, int) and n >= 20):
        raise ValueError(f"`n` must be an int >= 20, got {n!r}")
    n_e = int(round(0.8 * n))
    extra = {} if surrogate is None else {"surrogate": surrogate}
    return Wang2002Network(w_plus=w_plus, n_E=n_e, n_I=n - n_e, dt=dt, **extra, **params)
