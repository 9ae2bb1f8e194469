r"""Two-compartment pyramidal cells and pathway gating by dendritic disinhibition.

Yang, Murray & Wang (2016) reduced a spiking pyramidal neuron with a soma and ten
dendritic branches (NMDA spikes in the branches) to two fitted functions: the steady
voltage of one branch as a function of its total excitatory and inhibitory conductance,
and the somatic rate as a function of the input current (or of the mean branch
voltage). With them they showed that if the inputs of a pathway cluster on a few branches,
the pathway is gated on by removing the somatostatin (SST) inhibition of those branches:
a control input excites VIP cells, VIP inhibits SST, SST inhibits the branches
(control → VIP ⊣ SST ⊣ dendrite). Parvalbumin (PV) cells inhibit the soma; they are
inhibited by SST and by each other, so disinhibiting the dendrites raises somatic
inhibition, which in the paper's Fig. 6 increases gating selectivity.

:class:`DendriteNonlinearity`, :class:`SomaFI` and :class:`SomaFV` are those fitted
functions with the coefficients of the authors' code (ModelDB 206227).
:class:`DisinhibitoryGating` is a circuit of the package (an
:class:`~multiscale.circuit.AbstractCircuit`, run by the one time loop) built from them:
a two-group rate reduction of the authors' interneuron network, with the synaptic weights
and interneuron f-I curves of their gating analysis. :func:`gating_selectivity` is their
selectivity index.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, violations
from ._abstract import AbstractCircuit
from ._populations import AbstractTransfer, ThresholdLinear
from ._protocol import Stimulus
from ._rate_circuit import check_time_constants, checked_parts, part_violations

Param = Float[ArrayLike, "..."]

_YANG = (
    "Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism for "
    "pathway-specific gating. Nat Commun 7:12815."
)


def _rectified_power(x: ArrayLike, n: ArrayLike) -> Array:
    r"""$[x]_+^n$ with finite gradients in $x$ and $n$ at and below $x = 0$.

    ``x ** n`` differentiated in ``n`` gives $x^n \log x$, NaN at $x = 0$ even behind a
    ``jnp.where`` (both branches are differentiated), so the base is kept at 1 where
    $x \le 0$ ("double where").
    """
    x = jnp.asarray(x)
    pos = x > 0
    return jnp.where(pos, jnp.where(pos, x, 1.0) ** jnp.asarray(n), 0.0)


def _broadcast(owner: str, **arrays) -> tuple[Array, ...]:
    """The arrays as JAX arrays, or a ``ValueError`` naming them if they do not broadcast."""
    arrs = {k: jnp.asarray(v) for k, v in arrays.items()}
    try:
        jnp.broadcast_shapes(*(a.shape for a in arrs.values()))
    except ValueError:
        shapes = ", ".join(f"`{k}` {a.shape}" for k, a in arrs.items())
        raise ValueError(f"{owner}: the shapes of {shapes} do not broadcast") from None
    return tuple(arrs.values())


class DendriteNonlinearity(eqx.Module):
    r"""Steady voltage of one dendritic branch, a sigmoid of excitation shifted by inhibition.

    $$v_d(E, I) = V_\mathrm{amp}\Bigl[1 + \tanh\frac{E - m(I)}{s(I)}\Bigr] + V_0 + E_L,
      \quad m(I) = b\,(g_L + I), \quad s(I) = s_0\,e^{I/g_s},$$

    with $E$, $I$ the total excitatory (NMDA + AMPA) and inhibitory (GABA) conductances of
    the branch, nS. Inhibition moves the threshold for the NMDA plateau to larger
    excitation ($m$) and flattens it ($s$): 5 nS of inhibition keep 30 nS of clustered
    excitation from depolarising the branch (-61.6 mV instead of -19.2 mV). The fit holds
    for $I \lesssim 10$ nS; beyond, it extrapolates badly (at $I = 20$ nS and $E = 0$ it
    gives -56.4 mV, above rest). Coefficients: the authors' fit to their spiking
    two-compartment model with ``g_L`` = 4 nS per branch.

    Attributes:
        b: threshold slope $b$, dimensionless (5.5592051).
        s_0: width at $I = 0$, nS (9.64361681).
        g_s: conductance scale of the widening, nS (6.5386557).
        V_0: voltage offset, mV (0.7779744).
        g_L: leak conductance of a branch, nS (4).
        V_amp: half the plateau amplitude, mV (30).
        E_L: resting potential, mV (-70).

    Example:
        >>> v = DendriteNonlinearity()
        >>> round(float(v(30.0, 0.0)), 2), round(float(v(30.0, 5.0)), 2)
        (-19.22, -61.64)

    References:
        Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism
        for pathway-specific gating. Nat Commun 7:12815 (Methods; ModelDB 206227).
    """

    b: Param = 5.5592051
    s_0: Param = 9.64361681
    g_s: Param = 6.5386557
    V_0: Param = 0.7779744
    g_L: Param = 4.0
    V_amp: Param = 30.0
    E_L: Param = -70.0
    constraints = Constraints(
        positive=("b", "s_0", "g_s", "V_amp"), nonnegative=("g_L",), finite=("V_0", "E_L")
    )

    def __check_init__(self):
        check_fields("DendriteNonlinearity", self, self.constraints)

    def __call__(self, E: Float[ArrayLike, "*e"], I: Float[ArrayLike, "*i"]) -> Float[Array, "..."]:  # noqa: E741
        """Branch voltage, mV, at excitatory ``E`` and inhibitory ``I`` conductance, nS."""
        E, I = _broadcast("DendriteNonlinearity", E=E, I=I)  # noqa: E741
        m = jnp.asarray(self.b) * (jnp.asarray(self.g_L) + I)
        s = jnp.asarray(self.s_0) * jnp.exp(I / jnp.asarray(self.g_s))
        amp = jnp.asarray(self.V_amp)
        return amp * (1.0 + jnp.tanh((E - m) / s)) + jnp.asarray(self.V_0) + jnp.asarray(self.E_L)


class SomaFI(AbstractTransfer):
    r"""Somatic rate of the input current, a rectified power law.

    $$r(I) = \Bigl[\frac{[I + I_\theta]_+}{I_s}\Bigr]^n \ \mathrm{Hz},$$

    fitted to the soma of the authors' spiking model (leaky integrate-and-fire,
    50 pF, 2.5 nS, threshold -50 mV, reset -55 mV, 2 ms refractory) under current
    injection: 50.0 Hz at 0 nA, 184.9 Hz at 0.1 nA, 4.31 Hz at -0.1 nA. In a
    :class:`DisinhibitoryGating` circuit $I$ is the dendrite-to-soma coupling current
    minus the PV inhibition.

    Attributes:
        I_theta: offset, nA (0.17485951028; the rate is 0 below $-I_\theta$).
        I_s: current scale, nA (0.04516030095).
        n: exponent (2.89003711).

    Example:
        >>> round(float(SomaFI()(0.0)), 2)
        50.02

    References:
        Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism
        for pathway-specific gating. Nat Commun 7:12815 (Methods; ModelDB 206227).
    """

    I_theta: Param = 0.17485951028
    I_s: Param = 0.04516030095
    n: Param = 2.89003711
    constraints = Constraints(positive=("I_s", "n"), finite=("I_theta",))

    def __check_init__(self):
        check_fields("SomaFI", self, self.constraints)

    def __call__(self, x):
        x = jnp.asarray(x)
        return _rectified_power((x + jnp.asarray(self.I_theta)) / jnp.asarray(self.I_s), self.n)


class SomaFV(eqx.Module):
    r"""Somatic rate of the mean dendritic voltage, the fit used when the soma has no
    inhibition of its own.

    $$r(\bar v) = r_0 + k\,[\bar v - E_L]_+^{\,n}\ \mathrm{Hz},$$

    with $\bar v$ the mean voltage of the cell's branches, mV (the authors' model has ten
    branches; the fit holds for that number). With all branches at the voltage of
    :class:`DendriteNonlinearity` at $E = 30$ nS, $I = 0$ (-19.22 mV) the rate is 461.9 Hz;
    at rest (-68.63 mV) it is 2.84 Hz. Below $E_L$, where the fit is not defined, the
    rate is $r_0$.

    Attributes:
        r_0: rate at rest, Hz (2.59035567).
        k: gain, Hz/mV^n (0.13104463).
        n: exponent (2.07809856).
        E_L: resting potential, mV (-70).

    Example:
        >>> round(float(SomaFV()(-19.22)), 1)
        461.8

    References:
        Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism
        for pathway-specific gating. Nat Commun 7:12815 (Methods; ModelDB 206227).
    """

    r_0: Param = 2.59035567
    k: Param = 0.13104463
    n: Param = 2.07809856
    E_L: Param = -70.0
    constraints = Constraints(positive=("k", "n"), nonnegative=("r_0",), finite=("E_L",))

    def __check_init__(self):
        check_fields("SomaFV", self, self.constraints)

    def __call__(self, v: Float[ArrayLike, "*s"]) -> Float[Array, "*s"]:
        """Rate, Hz, at mean dendritic voltage ``v``, mV."""
        dv = jnp.asarray(v) - jnp.asarray(self.E_L)
        return jnp.asarray(self.r_0) + jnp.asarray(self.k) * _rectified_power(dv, self.n)


def gating_selectivity(
    dr_on: Float[ArrayLike, "*a"], dr_off: Float[ArrayLike, "*b"], *, eps: float = 1e-5
) -> Float[Array, "..."]:
    r"""Gating selectivity of a neuron, clipped to [0, 1].

    $$\mathrm{GS} = \frac{\Delta r_\mathrm{on} - \Delta r_\mathrm{off}}
      {\Delta r_\mathrm{on} + \Delta r_\mathrm{off} + \epsilon},\qquad
      \Delta r = r(\text{pathway input}) - r(\text{no input}),$$

    with $\Delta r_\mathrm{on}$ the response to the gated-on pathway and
    $\Delta r_\mathrm{off}$ to the gated-off one, both under the same control input.
    1: only the gated-on pathway passes; 0: both pass equally (or the gated-off one more).
    With somatic inhibition the two responses can have opposite signs, which gives values
    outside [0, 1]; they are clipped. The network's selectivity is the mean over neurons.

    Args:
        dr_on: response to the gated-on pathway, Hz.
        dr_off: response to the gated-off pathway, Hz.
        eps: regulariser of the denominator, Hz (1e-5, as in the authors' code).

    Returns:
        GS, dimensionless, the broadcast shape of the inputs.

    Example:
        >>> round(float(gating_selectivity(30.0, 10.0)), 4)
        0.5

    References:
        Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism
        for pathway-specific gating. Nat Commun 7:12815 (Methods; ModelDB 206227).
    """
    on, off = _broadcast("gating_selectivity", dr_on=dr_on, dr_off=dr_off)
    return jnp.clip((on - off) / (on + off + eps), 0.0, 1.0)


class GatingState(eqx.Module):
    """State of a :class:`DisinhibitoryGating` circuit, every leaf (units, *batch).

    Attributes:
        v_d: branch-group voltages (cell 1 A, cell 1 B, cell 2 A, cell 2 B), mV.
        g_I: SST inhibitory conductances of the A and the B branches, nS.
        r: rates of the seven units ``DisinhibitoryGating.units``, Hz.
        I_noise: noise currents of the seven units, nA.
    """

    v_d: Array
    g_I: Array
    r: Array
    I_noise: Array


_SCALARS = (
    "g_c", "V_soma", "tau_d", "tau_E", "tau_I", "tau_GABA", "g_SD", "overlap", "w_VS",
    "w_SP", "w_PP", "w_PS", "I_SST", "I_PV", "I_VIP", "control_A", "control_B", "J_E",
    "pathway_A", "pathway_B", "sigma", "tau_noise",
)  # fmt: skip
_PARTS = ("dendrite", "soma", "sst", "pv", "vip")


class DisinhibitoryGating(AbstractCircuit):
    r"""Two input pathways onto pyramidal dendrites, gated by VIP → SST disinhibition.

    A rate reduction with two groups per interneuron class, one per pathway, and two
    pyramidal cells, one per choice (units ``E_1``, ``E_2``). Each pyramidal cell has a
    soma and two branch groups: the branches on which the synapses of pathway A cluster,
    and those of pathway B. ``SST_A`` inhibits the A branches of both cells and ``SST_B``
    the B branches (``overlap``: the fraction of a group's inhibition that comes from the
    other SST group); ``VIP_A`` and ``VIP_B`` inhibit their SST group; PV inhibits both
    somata and is inhibited by the mean SST rate and by itself. A control (context) input
    onto ``VIP_A`` disinhibits the A branches and gates pathway A on; for cell
    $i \in \{1, 2\}$ and pathway $k \in \{A, B\}$:

    $$\tau_d\,\dot v_{ik} = v_d(E_{ik}, g_{I,k}) - v_{ik}, \qquad
      \dot g_{I,k} = -\frac{g_{I,k}}{\tau_\mathrm{GABA}}
                   + g_{SD}\bigl[(1 - o)\,r_{S,k} + o\,r_{S,\bar k}\bigr],$$
    $$\tau_E\,\dot r_{E,i} = f_\mathrm{soma}\Bigl(10^{-3} g_c\bigl(\tfrac{v_{iA} + v_{iB}}{2}
      - V_\mathrm{soma}\bigr) - w_{PS}\,r_P\Bigr) - r_{E,i},$$
    $$\tau_I\,\dot r_{S,k} = f_S(I_\mathrm{SST} - w_{VS}\,r_{V,k}) - r_{S,k},\quad
      \tau_I\,\dot r_P = f_P\bigl(I_\mathrm{PV} - w_{SP}\tfrac{r_{S,A} + r_{S,B}}{2}
      - w_{PP}\,r_P\bigr) - r_P,\quad
      \tau_I\,\dot r_{V,k} = f_V(I_\mathrm{VIP} + c_k) - r_{V,k},$$

    with $v_d$ the :class:`DendriteNonlinearity`,
    $f_\mathrm{soma}$ the :class:`SomaFI` (the coupling current $g_c(\bar v - V)$ in
    nS·mV = pA, hence $10^{-3}$ to nA) and $c_k$ the control input. Each unit's input
    current also carries an Ornstein–Uhlenbeck noise (``sigma``, 0 by default). The
    stimulus drives the excitatory conductance of each branch group while it is on; the
    two pathways carry opposite evidence, as on the incongruent trials of a
    context-dependent task (pathway A favours choice 1, pathway B choice 2):
    $E_{1A} = J_E\mu_0(1 + c)\,a_A$, $E_{2A} = J_E\mu_0(1 - c)\,a_A$,
    $E_{1B} = J_E\mu_0(1 - c)\,a_B$, $E_{2B} = J_E\mu_0(1 + c)\,a_B$ (nS), with
    $a_{A,B}$ = ``pathway_A``, ``pathway_B`` saying which pathways the stimulus
    contains. The choice therefore follows the gated-on pathway (``choice_rates``:
    ``E_1``, ``E_2``); at $c = 0$ the two cells are identical. Steps are forward Euler.

    Parameters are the authors' (their gating analysis, ModelDB 206227): 10 branches
    coupled to the soma by 0.8 nS each ("in vivo"), $V_\mathrm{soma}$ = -55 mV (the reset,
    where they evaluate the coupling current), 40 nS of SST conductance per branch with
    $\tau_\mathrm{GABA}$ = 20 ms, SST f-I $90\,\mathrm{Hz/nA}\,[I - 0.04]_+$ with 0.15 nA
    background (9.9 Hz), PV f-I slope 220 Hz/nA, VIP → SST 0.03 nA/Hz, SST → PV
    0.02 nA/Hz, PV → PV and PV → soma 0.03 nA/Hz. Chosen here (not in the paper): the
    VIP f-I (100 Hz/nA, so 0.1 nA of control gives the 10 Hz of the authors' targeted
    VIP cells), the PV background (0.2 nA: PV near 0 Hz at baseline, so PV, as in the
    authors' linearised PV circuit, adds somatic inhibition only when SST is suppressed),
    the rate time constants ($\tau_E$ = 20 ms, the somatic membrane's; $\tau_I$ = 10 ms;
    $\tau_d$ = 5 ms, the branch membrane's; the steady state does not depend on them),
    and $J_E$ = 1 nS/Hz (30 nS per branch group at $\mu_0$ = 30 Hz, $c$ = 0).

    Two groups stand for the authors' random network only when SST inhibition is
    branch-specific: the paper shows that sparse SST → branch connections make it so
    even with random wiring, which a two-group mean field cannot show (``overlap`` mixes
    the groups; 0.5 removes the gating).

    Units, in order: ``E_1``, ``E_2``, ``SST_A``, ``SST_B``, ``PV``, ``VIP_A``, ``VIP_B``.

    Attributes:
        dendrite: the branch nonlinearity (:class:`DendriteNonlinearity`).
        soma: the somatic f-I curve (:class:`SomaFI`, current in nA).
        sst: SST f-I (``ThresholdLinear(90, 0.04)``: Hz/nA, nA).
        pv: PV f-I (``ThresholdLinear(220, 0)``).
        vip: VIP f-I (``ThresholdLinear(100, 0)``).
        g_c: total dendrite → soma coupling conductance, nS (8 = 10 × 0.8).
        V_soma: somatic potential at which the coupling current is taken, mV (-55).
        tau_d: branch voltage time constant, s (0.005).
        tau_E: pyramidal rate time constant, s (0.02).
        tau_I: interneuron rate time constant, s (0.01).
        tau_GABA: decay of the SST → branch conductance, s (0.02).
        g_SD: SST → branch conductance per Hz of SST rate and second of decay, nS (40).
        overlap: fraction of a branch group's SST inhibition from the other group (0).
        w_VS: VIP → SST, nA/Hz (0.03).
        w_SP: SST → PV, nA/Hz (0.02).
        w_PP: PV → PV, nA/Hz (0.03).
        w_PS: PV → pyramidal soma, nA/Hz (0.03; 0 removes PV's effect).
        I_SST: SST background current, nA (0.15).
        I_PV: PV background current, nA (0.2).
        I_VIP: VIP background current, nA (0).
        control_A: control input onto ``VIP_A``, nA (0).
        control_B: control input onto ``VIP_B``, nA (0).
        J_E: excitatory branch conductance per Hz of stimulus rate $\mu_0$, nS/Hz (1).
        pathway_A: weight of pathway A in the stimulus, >= 0 (1).
        pathway_B: weight of pathway B in the stimulus, >= 0 (1).
        sigma: noise amplitude of every unit's input current, nA (0).
        tau_noise: noise correlation time, s (0.002).

    Example:
        >>> import jax.random as jr
        >>> import multiscale as ms
        >>> c = ms.circuit.DisinhibitoryGating(control_A=0.1, pathway_B=0.0)
        >>> p = ms.circuit.TrialProtocol(dt=5e-4, t_on=0.3, t1=0.6)
        >>> out = ms.circuit.simulate(c, ms.circuit.Stimulus(mu0=30.0), key=jr.key(0),
        ...                           protocol=p, save_every=0)
        >>> bool(out.r[-1, 0] > 30.0)  # pathway A passes: the somata fire
        True

    References:
        Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism
        for pathway-specific gating. Nat Commun 7:12815.
    """

    dendrite: DendriteNonlinearity = DendriteNonlinearity()
    soma: SomaFI = SomaFI()
    sst: ThresholdLinear = ThresholdLinear(90.0, 0.04)
    pv: ThresholdLinear = ThresholdLinear(220.0, 0.0)
    vip: ThresholdLinear = ThresholdLinear(100.0, 0.0)
    g_c: Param = 8.0
    V_soma: Param = -55.0
    tau_d: Param = 0.005
    tau_E: Param = 0.02
    tau_I: Param = 0.01
    tau_GABA: Param = 0.02
    g_SD: Param = 40.0
    overlap: Param = 0.0
    w_VS: Param = 0.03
    w_SP: Param = 0.02
    w_PP: Param = 0.03
    w_PS: Param = 0.03
    I_SST: Param = 0.15
    I_PV: Param = 0.2
    I_VIP: Param = 0.0
    control_A: Param = 0.0
    control_B: Param = 0.0
    J_E: Param = 1.0
    pathway_A: Param = 1.0
    pathway_B: Param = 1.0
    sigma: Param = 0.0
    tau_noise: Param = 0.002
    constraints = Constraints(
        positive=("g_c", "tau_d", "tau_E", "tau_I", "tau_GABA", "tau_noise"),
        nonnegative=("g_SD", "w_VS", "w_SP", "w_PP", "w_PS", "J_E", "pathway_A", "pathway_B")
        + ("sigma",),
        finite=("V_soma", "I_SST", "I_PV", "I_VIP", "control_A", "control_B"),
        fraction=("overlap",),
    )

    units = ("E_1", "E_2", "SST_A", "SST_B", "PV", "VIP_A", "VIP_B")

    def __check_init__(self):
        for name in _PARTS:
            kind = DendriteNonlinearity if name == "dendrite" else AbstractTransfer
            if not isinstance(getattr(self, name), kind):
                raise TypeError(
                    f"DisinhibitoryGating `{name}` must be a {kind.__name__}, got "
                    f"{type(getattr(self, name)).__name__}"
                )
        check_fields("DisinhibitoryGating", self, self.constraints)

    @property
    def n_noise(self) -> int:
        return 7

    def init(self, batch, dtype):
        batch = tuple(batch)
        for name in _SCALARS:
            shape = jnp.shape(getattr(self, name))
            if shape not in ((), (1,) + batch):
                raise ValueError(
                    f"DisinhibitoryGating `{name}` must be a scalar (or, in simulate_batch, "
                    f"one value per trial), got shape {shape}"
                )
        v0 = jnp.full((4,) + batch, self.dendrite.E_L, dtype)
        zeros = lambda n: jnp.zeros((n,) + batch, dtype)
        return GatingState(v_d=v0, g_I=zeros(2), r=zeros(7), I_noise=zeros(7))

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        c = jnp.asarray(stimulus.coherence)
        level = jnp.asarray(self.J_E) * jnp.asarray(stimulus.mu0)
        a, b = jnp.asarray(self.pathway_A), jnp.asarray(self.pathway_B)
        # Branch groups (cell 1 A, cell 1 B, cell 2 A, cell 2 B): A favours 1, B favours 2.
        parts = [level * x for x in (a * (1 + c), b * (1 - c), a * (1 - c), b * (1 + c))]
        shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in parts))
        return jnp.stack([jnp.broadcast_to(x, shape) for x in parts])

    def discretise(self, dt: float):
        dtype = jnp.result_type(float)
        dt_ = jnp.asarray(dt, dtype)
        p = {name: jnp.asarray(getattr(self, name)) for name in _SCALARS}
        decay = jnp.exp(-dt_ / p["tau_noise"])
        sd = p["sigma"] / jnp.sqrt(2.0) * jnp.sqrt(1.0 - decay**2)
        o = p["overlap"]

        def step(state, drive, xi):
            # Slices keep the unit axis, so per-trial parameters of shape (1, trials) meet
            # the (units, trials) state without rank promotion.
            r, n = state.r, state.I_noise
            r_P = r[4:5]
            v = state.v_d
            v_mean = 0.5 * (v[0::2] + v[1::2])  # (cell 1, cell 2)
            I_E = 1e-3 * p["g_c"] * (v_mean - p["V_soma"]) - p["w_PS"] * r_P + n[0:2]
            I_S = p["I_SST"] - p["w_VS"] * r[5:7] + n[2:4]
            I_P = p["I_PV"] - p["w_SP"] * 0.5 * (r[2:3] + r[3:4]) - p["w_PP"] * r_P + n[4:5]
            ctrl = [jnp.broadcast_to(p[k], r_P.shape) for k in ("control_A", "control_B")]
            I_V = p["I_VIP"] + jnp.concatenate(ctrl) + n[5:7]
            target = jnp.concatenate([self.sst(I_S), self.pv(I_P), self.vip(I_V)])
            r_E = r[0:2] + dt_ * (self.soma(I_E) - r[0:2]) / p["tau_E"]
            r_I = r[2:] + dt_ * (target - r[2:]) / p["tau_I"]
            g_I = state.g_I
            v_inf = self.dendrite(drive, jnp.concatenate([g_I, g_I]))  # A, B of each cell
            v_d = v + dt_ * (v_inf - v) / p["tau_d"]
            sst = (1.0 - o) * r[2:4] + o * r[3:1:-1]
            g_I = g_I + dt_ * (p["g_SD"] * sst - g_I / p["tau_GABA"])
            I_noise = n * decay + sd * xi
            return GatingState(v_d, g_I, jnp.concatenate([r_E, r_I]), I_noise), r

        return step

    def choice_rates(self, rates):
        return rates[:2]

    def check_step(self, dt: float) -> None:
        taus = ("tau_d", "tau_E", "tau_I", "tau_GABA", "tau_noise")
        check_time_constants({k: getattr(self, k) for k in taus}, dt)

    def checked(self) -> "DisinhibitoryGating":
        own = checked("DisinhibitoryGating", self, self.constraints)
        for name in _PARTS:
            part = checked_parts(getattr(own, name))
            own = eqx.tree_at(lambda c, n=name: getattr(c, n), own, part)
        return own

    def violations(self) -> Array:
        bad = violations(self, self.constraints)
        for name in _PARTS:
            bad = bad | part_violations(getattr(self, name))
        return bad
