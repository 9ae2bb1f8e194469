r"""Cortical interneuron circuits: E/PV/SST/VIP and the two-population E–I (ISN) circuit.

Both are :class:`~multiscale.circuit.RateCircuit` instances built from the composition
layer (one :class:`RatePopulation` per cell type, one :class:`Projection` per connection),
so they simulate with :func:`~multiscale.circuit.simulate`, linearise with
:func:`~multiscale.circuit.linearise` and solve with :func:`~multiscale.circuit.steady_state`.

**E/PV/SST/VIP** (:func:`interneuron_circuit`). Each population $i$ obeys the rate model of
Garcia del Molino et al. (2017),

$$\tau_r\,\dot r_i = -r_i + \phi_i(V_i),\qquad
  V_i = V_L + \frac{\sum_j W_{ij}\,s_j + I_{\mathrm{bkg},i}}{g_{L,i}},\qquad
  \phi_i(V) = \frac{V - V_\mathrm{th}}{\tau_i (V_\mathrm{th} - V_r)
  \bigl(1 - e^{-(V - V_\mathrm{th})/\sigma_V}\bigr)},$$

with $\tau_r$ = 2 ms, $V_L, V_\mathrm{th}, V_r, \sigma_V$ = −70, −50, −60, 1 mV, the membrane
time constants $\tau_i$ = 28.8, 8, 16, 16 ms and leak conductances $g_{L,i}$ = 6.25, 10, 5,
5 nS of the E, PV, SST and VIP cells of Litwin-Kumar, Rosenbaum & Doiron (2016)
($\tau_i = C_i/g_{L,i}$ of their exponential integrate-and-fire cells). $\phi_i$ is the
Abbott–Chance form, so each population's transfer is an :class:`AbbottChance` of the input
current $x$ (nA) with $a = 1/(g_L\tau_i\Delta V)$, $b = (V_\mathrm{th} - V_L)/(\tau_i\Delta V)$,
$d = \tau_i\Delta V/\sigma_V$, $\Delta V = V_\mathrm{th} - V_r$. The weights $W$ (nA/Hz, post
× pre) are Garcia del Molino et al.'s, whose zeros are the connectivity rule of Pfeffer et
al. (2013): SST cells do not inhibit each other, PV cells inhibit E and each other but not
SST or VIP, VIP cells inhibit only SST.

*Which parameters.* The Litwin-Kumar et al. (2016) network is spiking; its authors' code
and an independent reimplementation disagree on population sizes, connection
probabilities and conductances, and the paper's table could not be checked. The rate
circuit here takes from Litwin-Kumar et al. only the single-cell constants ($\tau_i$, $g_L$),
which come from the authors' code and are the ones Garcia del Molino et al. built their
rate model on; the effective weights and background currents are Garcia del Molino et
al.'s (their published reimplementation, Open Source Brain), whose two background sets put
the circuit at their low (1, 10, 3, 2 Hz) and high (30, 50, 30, 20 Hz) baseline rates. No
synaptic count or conductance of either spiking parameter set enters.

*Rates and synapses.* The rate model couples populations through the presynaptic rate
itself. In the composition layer it is written in its equivalent gating form: each
population's rate follows its input instantly, $\phi_i(V_i)$ (no population time
constant), and every projection leaving population $j$ carries an
:class:`~multiscale.synapse.ExponentialSynapse` with $\tau = \tau_r$, whose gating obeys
$\tau_r\dot s_j = -s_j + \phi_j(V_j)$, with $V_i$ built from the $s_j$. This is the same
equation as above with $s_j \equiv r_j$, exactly, in the transients too (a fast synapse in
front of a rate time constant would only approximate it). So the model's rate $r_j(t)$ is
the gating of any projection leaving $j$ (all copies are equal from equal starts), while
a trajectory's ``r`` reports $\phi_j(V_j(t))$, the rate $r_j$ relaxes toward; the two are
equal at every steady state. Changing $\tau_r$ means changing the synapses' ``tau``.

**E–I** (:func:`isn_circuit`). Two threshold-linear populations,
$\tau_E\dot r_E = -r_E + [W_{EE} r_E - W_{EI} r_I + I_E]_+$ and
$\tau_I\dot r_I = -r_I + [W_{IE} r_E - W_{II} r_I + I_I]_+$ (gain 1 Hz/nA, so the weights in
nA/Hz are the dimensionless loop gains), in the same gating form (the projections from E
have $\tau = \tau_E$, those from I $\tau = \tau_I$). In the linear regime the steady state solves
$M r = I$, $M = \begin{pmatrix}1 - W_{EE} & W_{EI}\\ -W_{IE} & 1 + W_{II}\end{pmatrix}$, and
$dr_I/dI_I = (1 - W_{EE})/\det M$: with $W_{EE} > 1$ the excitatory subnetwork is unstable
alone and the network is inhibition-stabilised (ISN), and extra drive to I *lowers* its
steady rate (the paradoxical response of Tsodyks et al. 1997).

References:
    Abbott LF, Chance FS (2005) Drivers and modulators from push-pull and balanced
    synaptic input. Prog Brain Res 149:147-155.
    Garcia del Molino LC, Yang GR, Mejias JF, Wang XJ (2017) Paradoxical response reversal
    of top-down modulation in cortical circuits with three interneuron types. eLife
    6:e29742.
    Litwin-Kumar A, Rosenbaum R, Doiron B (2016) Inhibitory stabilization and visual coding
    in cortical circuits with multiple interneuron subtypes. J Neurophysiol
    115:1399-1409.
    Pfeffer CK, Xue M, He M, Huang ZJ, Scanziani M (2013) Inhibition of inhibition in
    visual cortex: the logic of connections between molecularly distinct interneurons.
    Nat Neurosci 16:1068-1076.
    Tsodyks MV, Skaggs WE, Sejnowski TJ, McNaughton BL (1997) Paradoxical effects of
    external modulation of inhibitory interneurons. J Neurosci 17:4382-4388.
"""

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import error_if
from ..synapse import ExponentialSynapse
from ._populations import AbbottChance, RatePopulation, ThresholdLinear
from ._projections import Projection, Uniform
from ._rate_circuit import RateCircuit

INTERNEURON_TYPES: tuple[str, ...] = ("E", "PV", "SST", "VIP")
"""Population order of :func:`interneuron_circuit`."""

# Garcia del Molino et al. (2017), post row <- pre column, pA/Hz, stored in nA/Hz.
INTERNEURON_W: np.ndarray = 1e-3 * np.array(
    [
        [2.4167, -0.3329, -0.8039, 0.0],
        [2.9706, -3.4554, -2.1291, 0.0],
        [4.6440, 0.0, 0.0, -2.7896],
        [0.7162, 0.0, -0.1560, 0.0],
    ]
)
"""Weights $W_{ij}$ of :func:`interneuron_circuit`, nA/Hz, post × pre in the order E, PV,
SST, VIP (Garcia del Molino et al. 2017; zeros after Pfeffer et al. 2013)."""


class Baseline(NamedTuple):
    """A baseline of the E/PV/SST/VIP circuit: its rates and the currents that set them.

    Attributes:
        rates: steady rates of E, PV, SST, VIP, Hz.
        I_bkg: background currents onto E, PV, SST, VIP, nA.
    """

    rates: tuple[float, float, float, float]
    I_bkg: tuple[float, float, float, float]


LOW_BASELINE = Baseline((1.0, 10.0, 3.0, 2.0), (0.11503, 0.23366, 0.09431, 0.08991))
"""Garcia del Molino et al.'s (2017) low (spontaneous-like) baseline."""
HIGH_BASELINE = Baseline((30.0, 50.0, 30.0, 20.0), (0.14725, 0.38673, 0.04027, 0.09844))
"""Garcia del Molino et al.'s (2017) high (visually driven) baseline."""

_TAU_M = (0.0288, 0.008, 0.016, 0.016)  # s, Litwin-Kumar et al. 2016: C / g_L
_G_L = (6.25, 10.0, 5.0, 5.0)  # nS


def _concrete(x) -> np.ndarray | None:
    try:
        return np.asarray(x, dtype=float)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _check_signed_weights(W, names: tuple[str, ...], argname: str = "W") -> Array:
    """``W`` (post × pre) checked: shape, finite, excitatory columns >= 0, inhibitory <= 0.

    The first population is excitatory, the others inhibitory. Concrete values raise
    ``ValueError`` here; traced values are checked where used (``eqx.error_if``).
    """
    n = len(names)
    shape = np.shape(W)
    if shape != (n, n):
        raise ValueError(
            f"`{argname}` must have shape ({n}, {n}) (post x pre, in the order "
            f"{', '.join(names)}), got {shape}"
        )
    sign = np.array([1.0] + [-1.0] * (n - 1))  # the sign each presynaptic column must have
    values = _concrete(W)
    if values is not None:
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{argname}` must be finite, got {values.tolist()}")
        bad = np.argwhere(values * sign[None, :] < 0)
        if bad.size:
            i, j = bad[0]
            kind = (
                "excitatory: its outgoing weights must be >= 0"
                if j == 0
                else ("inhibitory: its outgoing weights must be <= 0")
            )
            raise ValueError(
                f"`{argname}[{i}, {j}]` ({names[j]} -> {names[i]}) is {values[i, j]:g} nA/Hz, "
                f"but {names[j]} is {kind}"
            )
        return jnp.asarray(values, jnp.result_type(float))
    W = jnp.asarray(W)
    return error_if(
        W,
        ~jnp.all(jnp.isfinite(W) & (W * jnp.asarray(sign, W.dtype)[None, :] >= 0)),
        f"`{argname}` has a weight of the wrong sign (excitatory column 0 must be >= 0, "
        "inhibitory columns <= 0) or a non-finite weight",
    )


def _check_vector(x, n: int, argname: str) -> Array:
    if np.shape(x) != (n,):
        raise ValueError(f"`{argname}` must have shape ({n},), got {np.shape(x)}")
    return jnp.asarray(x, jnp.result_type(float))


def interneuron_circuit(
    I_bkg: Float[ArrayLike, " n"] | Sequence[float] = LOW_BASELINE.I_bkg,
    W: Float[ArrayLike, "post pre"] | Sequence[Sequence[float]] = INTERNEURON_W,
    *,
    tau_r: float = 0.002,
    tau_m: tuple[float, ...] = _TAU_M,
    g_L: tuple[float, ...] = _G_L,
    V_L: float = -70.0,
    V_th: float = -50.0,
    V_r: float = -60.0,
    sigma_V: float = 1.0,
) -> RateCircuit:
    r"""The E/PV/SST/VIP rate circuit (see the module docstring for the equations).

    A zero weight that is a concrete number makes no projection (the zeros of Pfeffer et
    al. 2013 are structural); traced weights (inside ``jit``, ``vmap`` or ``grad``) always
    make one, so a weight can be swept or differentiated.

    Args:
        I_bkg: background current onto E, PV, SST, VIP, nA (default: the low baseline;
            :data:`HIGH_BASELINE` ``.I_bkg`` for the high one).
        W: weights, nA/Hz, shape (4, 4), post × pre in the order E, PV, SST, VIP; the E
            column must be >= 0, the PV, SST and VIP columns <= 0.
        tau_r: rate time constant, s (2 ms): the ``tau`` of every projection's synapse.
        tau_m: membrane time constants in $\phi$, s (28.8, 8, 16, 16 ms).
        g_L: leak conductances, nS (6.25, 10, 5, 5).
        V_L, V_th, V_r: leak, threshold and reset potentials, mV (−70, −50, −60).
        sigma_V: width of the soft threshold, mV (1).

    Returns:
        A :class:`RateCircuit` with populations E, PV, SST, VIP (one unit each).

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.interneuron_circuit()
        >>> [p.name for p in c.populations]
        ['E', 'PV', 'SST', 'VIP']
        >>> ss = ms.circuit.steady_state(c, ms.circuit.LOW_BASELINE.rates)
        >>> [round(float(r), 2) for r in ss.rates]
        [1.0, 10.0, 3.0, 2.0]
    """
    names = INTERNEURON_TYPES
    W = _check_signed_weights(W, names)
    I_bkg = _check_vector(I_bkg, 4, "I_bkg")
    for argname, value in (("tau_m", tau_m), ("g_L", g_L)):
        values = _concrete(value)
        if np.shape(value) != (4,):
            raise ValueError(f"`{argname}` must have 4 values (E, PV, SST, VIP), got {value}")
        if values is not None and not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"`{argname}` must be finite and > 0, got {value}")
    if not V_th > V_r:
        raise ValueError(f"`V_th` ({V_th} mV) must lie above `V_r` ({V_r} mV)")
    if not sigma_V > 0:
        raise ValueError(f"`sigma_V` must be > 0 mV, got {sigma_V}")
    dV = V_th - V_r
    pops = tuple(
        RatePopulation(
            AbbottChance(
                a=1.0 / (g_L[i] * 1e-3 * tau_m[i] * dV),  # Hz/nA: x / g_L is in V
                b=(V_th - V_L) / (tau_m[i] * dV),
                d=tau_m[i] * dV / sigma_V,
            ),
            size=1,
            I_0=I_bkg[i],
            name=names[i],
        )
        for i in range(4)
    )
    values = _concrete(W)
    projections = tuple(
        Projection(j, i, ExponentialSynapse(tau_r), Uniform(W[i, j]))
        for j in range(4)
        for i in range(4)
        if values is None or values[i, j] != 0.0
    )
    return RateCircuit(pops, projections)


def isn_circuit(
    W_EE: float = 1.5,
    W_EI: float = 1.0,
    W_IE: float = 1.5,
    W_II: float = 0.5,
    *,
    I_E: float = 10.0,
    I_I: float = 5.0,
    tau_E: float = 0.01,
    tau_I: float = 0.01,
) -> RateCircuit:
    r"""The two-population threshold-linear E–I circuit (see the module docstring).

    With the defaults, $W_{EE}$ = 1.5 > 1 (ISN), $\det M$ = 0.75 and the steady state is
    $(r_E, r_I) = (13.33, 16.67)$ Hz; $dr_I/dI_I = -2/3$ and $dr_E/dI_I = -4/3$ Hz/nA.

    Args:
        W_EE, W_EI, W_IE, W_II: magnitudes of the E→E, I→E, E→I, I→I weights, nA/Hz (>= 0;
            the inhibitory sign is the circuit's). With the gain of 1 Hz/nA they are the
            dimensionless loop gains.
        I_E, I_I: background drive to E and I, nA.
        tau_E, tau_I: rate time constants, s (10 ms each): the ``tau`` of the synapses of
            the projections from E and from I.

    Returns:
        A :class:`RateCircuit` with populations E and I (one unit each).
    """
    for argname, value in (("W_EE", W_EE), ("W_EI", W_EI), ("W_IE", W_IE), ("W_II", W_II)):
        v = _concrete(value)
        if np.ndim(value) != 0:
            raise ValueError(f"`{argname}` must be a scalar, got shape {np.shape(value)}")
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise ValueError(
                f"`{argname}` is a magnitude and must be finite and >= 0 nA/Hz (the circuit "
                f"gives inhibition its sign), got {value}"
            )
    W = jnp.asarray([[W_EE, -W_EI], [W_IE, -W_II]], jnp.result_type(float))
    W = _check_signed_weights(W, ("E", "I"), "W")
    E = RatePopulation(ThresholdLinear(), size=1, I_0=I_E, name="E")
    Ipop = RatePopulation(ThresholdLinear(), size=1, I_0=I_I, name="I")
    taus = (tau_E, tau_I)
    projections = tuple(
        Projection(j, i, ExponentialSynapse(taus[j]), Uniform(W[i, j]))
        for j in range(2)
        for i in range(2)
    )
    return RateCircuit((E, Ipop), projections)
