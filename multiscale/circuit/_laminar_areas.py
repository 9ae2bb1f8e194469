r"""Laminar areas joined by feedforward and feedback projections (Mejias et al. 2016).

Each area is a laminar column (:func:`~multiscale.circuit.laminar_column`: L2/3 and L5/6
excitatory–inhibitory pairs, gamma in the superficial and alpha in the deep layer), and
the areas, ordered along the hierarchy, are the channels of one
:class:`~multiscale.circuit.LaminarColumn`. Between consecutive areas $k \to k+1$
(Mejias et al. 2016, the authors' two-area model):

- feedforward, from the lower area's superficial E to the higher area's superficial E,
  weight $G_w$ (1);
- feedback, from the higher area's deep E to the lower area's L2/3 E ($G_w\,c\,s$, with
  FB selectivity $s$ = 0.1 and $c$ = 1 in their Fig. 4, 2 in their Fig. 5), L5/6 E
  ($G_w(1 - s)$), L2/3 I and L5/6 I ($G_w \cdot 0.5$ each).

Local (within-column) and long-range (between-area) projections are separate
:class:`~multiscale.circuit.Projection` objects with their own ``rule`` slots
(``local_rule``, ``long_range_rule``); :func:`~multiscale.circuit.projection_rules` and
:func:`~multiscale.circuit.replace_rules` list and replace them by kind.

Directed influence. :func:`directed_influence` linearises the noisy network at its
fixed point and splits the spectrum of each area's recorded signal
$y_a = \eta\,r_{E,2/3} + (1 - \eta)\,r_{E,5/6}$ ($\eta$ = 0.2, as in the authors'
multi-area code) by the area whose noise produces it:
$S_a(f) = \sum_k |h_{ak}(f)|^2 q_k$, with $h(f) = (2\pi i f - A)^{-1}$ and $q_k$ the
noise intensity of source $k$. The influence of area $b$ on area $a$ is the log ratio of
$a$'s power to the power left without $b$'s sources,
$G_{b \to a}(f) = \ln\bigl(S_a / (S_a - S_a^{(b)})\bigr)$: zero without a path from $b$
to $a$, and Geweke's spectral Granger causality when each area's noise is its
innovation. The paper's measures are spectral Granger causality and its directed
asymmetry index, $\mathrm{DAI}_{b\to a} = (G_{b\to a} - G_{a\to b})/(G_{b\to a} + G_{a\to b})$
(Bastos et al. 2015); this is the same index on the model's own noise sources, not on
estimated autoregressions.

References:
    Mejias JF, Murray JD, Kennedy H, Wang XJ (2016) Feedforward and feedback frequency-
    dependent interactions in a large-scale laminar network of the primate cortex. Sci Adv
    2:e1601335.

    Bastos AM, Vezoli J, Bosman CA, Schoffelen JM, Oostenveld R, Dowdall JR, De Weerd P,
    Kennedy H, Fries P (2015) Visual areas exert feedforward and feedback influences
    through distinct frequency channels. Neuron 85:390-401.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._laminar import LaminarColumn, laminar_column, linearise_column
from ._projections import Dense, Projection
from ._rate_circuit import RateCircuit
from ._spectra import Band

ALPHA_LOW_BETA_BAND: Band = (8.0, 15.0)
"""The feedback band of Mejias et al. (2016), Hz."""
GAMMA_BAND: Band = (30.0, 70.0)
"""The feedforward band of Mejias et al. (2016), Hz."""

# Populations of a column: 0 L2/3 E, 1 L2/3 I, 2 L5/6 E, 3 L5/6 I.
_L23E, _L23I, _L56E, _L56I = 0, 1, 2, 3


def laminar_areas(
    n_areas: int = 2,
    *,
    G_w: float = 1.0,
    fb_selectivity: float = 0.1,
    fb_superficial_factor: float = 1.0,
    fb_inhibitory: float = 0.5,
    input_superficial: float = 2.0,
    input_deep: float = 4.0,
    local_rule: eqx.Module | None = None,
    long_range_rule: eqx.Module | None = None,
    **column_kwargs,
) -> LaminarColumn:
    r"""A chain of laminar areas (V1, V4, ...) as one :class:`LaminarColumn`, one channel each.

    Args:
        n_areas: areas along the hierarchy (2: V1 and V4).
        G_w: inter-areal coupling strength (1, the authors' Fig. 4).
        fb_selectivity: $s$, the share of deep feedback onto superficial E (0.1).
        fb_superficial_factor: $c$ in the weight $G_w c s$ onto L2/3 E (1 in the authors'
            Fig. 4, 2 in Fig. 5).
        fb_inhibitory: feedback weight onto each inhibitory population (0.5).
        input_superficial, input_deep: background input onto each area's L2/3 E and
            L5/6 E (2 and 4, the authors' Fig. 4a).
        local_rule, long_range_rule: plasticity rules for the within-column and the
            inter-areal projections (the ``rule`` slot).
        column_kwargs: further arguments of :func:`laminar_column` (e.g. ``tau_syn``).

    Returns:
        The network; its projections are the column's (local) followed by the five
        inter-areal ones: FF L2/3 E -> L2/3 E, then FB from L5/6 E onto L2/3 E, L5/6 E,
        L2/3 I and L5/6 I.

    Example:
        >>> net = laminar_areas()
        >>> net.n_channels, len(net.circuit.projections)
        (2, 15)
    """
    if not (isinstance(n_areas, int) and n_areas >= 2):
        raise ValueError(f"`n_areas` must be an int >= 2, got {n_areas!r}")
    for name, v in (("G_w", G_w), ("fb_inhibitory", fb_inhibitory)):
        if not v >= 0:
            raise ValueError(f"`{name}` must be >= 0, got {v}")
    if not 0 <= fb_selectivity <= 1:
        raise ValueError(f"`fb_selectivity` must lie in [0, 1], got {fb_selectivity}")
    col = laminar_column(
        n_channels=n_areas,
        input_superficial=input_superficial,
        input_deep=input_deep,
        superficial_rule=local_rule,
        deep_rule=local_rule,
        **column_kwargs,
    )
    syn = col.circuit.projections[0].synapse
    up = np.eye(n_areas, k=-1)  # W[k + 1, k]: from area k to area k + 1
    down = np.eye(n_areas, k=1)  # W[k, k + 1]: from area k + 1 to area k
    dtype = jnp.result_type(float)
    s = fb_selectivity
    long_range = [(_L23E, _L23E, G_w * up)] + [
        (_L56E, post, G_w * w * down)
        for post, w in (
            (_L23E, fb_superficial_factor * s),
            (_L56E, 1.0 - s),
            (_L23I, fb_inhibitory),
            (_L56I, fb_inhibitory),
        )
    ]
    extra = tuple(
        Projection(pre, post, syn, Dense(jnp.asarray(W, dtype)), rule=long_range_rule)
        for pre, post, W in long_range
    )
    circuit = RateCircuit(col.circuit.populations, col.circuit.projections + extra)
    return LaminarColumn(circuit, col.sigma, col.r0)


class DirectedInfluence(eqx.Module):
    """Spectra of each area's recorded signal and the directed influences between areas.

    Attributes:
        freqs: frequencies, Hz.
        power: spectral density of each area's signal, Hz²/Hz (areas, freq).
        granger: ``granger[b, a]`` is $G_{b \\to a}(f)$ (areas, areas, freq); zero on the
            diagonal.
        rates: fixed-point rates of every unit, Hz.
    """

    freqs: Float[Array, " freq"]
    power: Float[Array, "areas freq"]
    granger: Float[Array, "areas areas freq"]
    rates: Float[Array, " units"]

    def dai(self, source: int, target: int) -> Float[Array, " freq"]:
        """$\\mathrm{DAI}_{source \\to target}(f)$ in [-1, 1]."""
        g, h = self.granger[source, target], self.granger[target, source]
        return (g - h) / (g + h)

    def band_mean(self, x: Float[Array, "... freq"], band: Band) -> Array:
        """Mean of ``x`` over ``band`` (Hz, inclusive)."""
        m = (self.freqs >= band[0]) & (self.freqs <= band[1])
        return jnp.sum(jnp.where(m, x, 0.0), axis=-1) / jnp.sum(m).astype(self.freqs.dtype)

    def peak(self, x: Float[Array, "... freq"]) -> Array:
        """The frequency at which ``x`` is largest, Hz."""
        return self.freqs[jnp.argmax(x, axis=-1)]


def directed_influence(
    network: LaminarColumn,
    *,
    drive: Float[ArrayLike, " units"] | None = None,
    freqs: Float[ArrayLike, " freq"] | None = None,
    eta: float = 0.2,
) -> DirectedInfluence:
    r"""Linear-noise spectra and directed influences between areas (module docstring).

    Args:
        network: areas as channels of a column (:func:`laminar_areas`).
        drive: extra input per unit (``network.drive(superficial=..., deep=...)``).
        freqs: frequencies, Hz (default 1 to 100 Hz in 0.5 Hz steps).
        eta: weight of L2/3 E in the recorded signal, the rest L5/6 E (0.2).

    Returns:
        A :class:`DirectedInfluence`. Differentiable in the network's parameters.
    """
    if not isinstance(network, LaminarColumn):
        raise TypeError(f"`network` must be a LaminarColumn, got {type(network).__name__}")
    if not 0 <= eta <= 1:
        raise ValueError(f"`eta` must lie in [0, 1], got {eta}")
    dtype = jnp.result_type(float)
    freqs = jnp.arange(2, 201, dtype=dtype) * 0.5 if freqs is None else jnp.asarray(freqs, dtype)
    drive = jnp.zeros((network.n_units,), dtype) if drive is None else jnp.asarray(drive, dtype)
    if drive.shape != (network.n_units,):
        raise ValueError(f"`drive` must have shape ({network.n_units},), got {drive.shape}")
    return _directed(network, drive, freqs, jnp.asarray(eta, dtype))


@eqx.filter_jit
def _directed(network, drive, freqs, eta):
    dtype = freqs.dtype
    lin = linearise_column(network, drive=drive, freqs=freqs[:1])
    A = lin.jacobian
    n, n_units, n_areas = A.shape[0], network.n_units, network.n_channels
    n_gating = n - n_units
    sigma = jnp.repeat(jnp.asarray(network.sigma, dtype), n_areas)
    q = sigma**2 / network.taus()  # noise intensity of each rate, Hz²/s
    # Rates are ordered population-major: unit p * n_areas + a is population p of area a.
    area_of = jnp.tile(jnp.arange(n_areas), 4)
    obs = jnp.zeros((n_areas, n), dtype)
    rows = jnp.arange(n_areas)
    obs = obs.at[rows, n_gating + _L23E * n_areas + rows].set(eta)
    obs = obs.at[rows, n_gating + _L56E * n_areas + rows].set(1.0 - eta)
    cdtype = jnp.complex128 if dtype == jnp.float64 else jnp.complex64
    w = 2 * jnp.pi * freqs
    eye = jnp.eye(n, dtype=cdtype)
    iw = jax.lax.complex(jnp.zeros_like(w), w)
    M = iw[:, None, None] * eye[None] - A.astype(cdtype)[None]
    # Transfer from each rate's noise to each area's signal: obs (f - A)^-1, (freq, areas, n).
    H = jnp.linalg.solve(
        jnp.swapaxes(M, -1, -2), jnp.broadcast_to(obs.T.astype(cdtype), M.shape[:1] + obs.T.shape)
    )
    H = jnp.swapaxes(H, -1, -2)[..., n_gating:]
    P = jnp.abs(H) ** 2 * q[None, None, :]  # (freq, areas, units): power from each source
    total = jnp.sum(P, axis=-1)  # (freq, areas)
    by_area = jnp.stack(
        [jnp.sum(jnp.where((area_of == b)[None, None, :], P, 0.0), axis=-1) for b in range(n_areas)]
    )
    # Own sources (b = a) are not an influence: the diagonal is set to 0, not log(S/0).
    own = jnp.eye(n_areas, dtype=bool)[:, None, :]  # (source, 1, target)
    rest = jnp.where(own, total[None], total[None] - by_area)
    granger = jnp.where(own, 0.0, jnp.log(total[None] / rest))  # (source, freq, target)
    granger = jnp.swapaxes(granger, 1, 2)
    return DirectedInfluence(freqs, 2.0 * total.T, granger, lin.rates)
