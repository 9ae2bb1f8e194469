r"""A laminar cortical column: superficial gamma, deep alpha (Mejias, Murray, Kennedy & Wang 2016).

Each layer is a Wilson–Cowan excitatory–inhibitory pair; L2/3 (superficial) and L5/6
(deep) differ only in their time constants, deep ones 5 times slower. For each population
$a \in \{E_{2/3}, I_{2/3}, E_{5/6}, I_{5/6}\}$ (rates in spikes/s),

$$\tau_a\,\frac{dr_a}{dt} = -r_a + \phi(x_a) + \sqrt{\tau_a}\,\sigma_a\,\xi_a(t),\qquad
  x_a = I_a + \sum_b J_{ab}\, r_b,\qquad \phi(x) = \frac{x}{1 - e^{-x}},$$

with $\xi_a$ independent white noise. Integrated by Euler–Maruyama with step $\Delta t$:
$r \leftarrow r + (\Delta t/\tau)(-r + \phi) + \sqrt{\Delta t\,\sigma^2/\tau}\,N(0, 1)$.
Parameters (Mejias et al. 2016, from the authors' code): $\tau_E$ = 6 ms, $\tau_I$ = 15 ms
in L2/3 and 30, 75 ms in L5/6; $\sigma$ = 0.3 (L2/3) and 0.45 (L5/6); within each layer
$J_{EE}$ = 1.5, $J_{EI}$ = −3.25 (I onto E), $J_{IE}$ = 3.5 (E onto I), $J_{II}$ = −2.5;
between layers L2/3 E → L5/6 E = 1 and L5/6 E → L2/3 I = 0.75 (zero when decoupled).
Inputs, rates and weights are in the paper's dimensionless units (input 1 ≙ rate 1 Hz).

The column is a :class:`~multiscale.circuit.RateCircuit` of four
:class:`~multiscale.circuit.RatePopulation` (with rate time constants ``tau``) joined by
:class:`~multiscale.circuit.Projection`; the transfer function $\phi$ is
:class:`~multiscale.circuit.AbbottChance` with $a = d = 1$, $b = 0$. Two choices differ
from the paper's equations, for reasons of the composition layer:

- The paper's coupling is instantaneous; a projection of the composition layer always
  carries a synapse's rate form, so each carries an :class:`~multiscale.synapse.ExponentialSynapse`
  of ``tau_syn`` = 0.5 ms (the integrator needs a step of at most half of every time
  constant, and 0.4 ms rounds below twice the paper's 0.2 ms step in float32). Linearised,
  the L2/3 eigenfrequency at input 4, 6, 8 is then 34.9, 40.3, 43.8 Hz against 34.7,
  40.6, 44.5 Hz without it; ``tau_syn`` → 0 recovers the paper's model.
- The paper's noise is added to the rate equation, not to the input current, so
  :class:`LaminarColumn` is a circuit of its own around the rate circuit: its step is
  Euler–Maruyama of the rate circuit's continuous-time field plus
  $\sqrt{\Delta t/\tau_a}\,\sigma_a\xi$ on each rate, and
  :func:`~multiscale.circuit.integrate` runs it like any circuit.

Feedforward output is taken from superficial (L2/3) excitatory rates and feedback output
from deep (L5/6) excitatory rates (:meth:`LaminarColumn.feedforward`,
:meth:`LaminarColumn.feedback`), as in the paper's inter-areal model.

References:
    Mejias JF, Murray JD, Kennedy H, Wang XJ (2016) Feedforward and feedback frequency-
    dependent interactions in a large-scale laminar network of the primate cortex. Sci Adv
    2:e1601335.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Complex, Float

from .._checks import Constraints, check_fields, error_if
from ..synapse import ExponentialSynapse
from ._abstract import AbstractCircuit
from ._linearise import _derivatives
from ._populations import AbbottChance, RatePopulation
from ._projections import Dense, Projection
from ._protocol import Stimulus
from ._rate_circuit import RateCircuit, RateState, checked_parts, part_violations
from ._spectra import linear_noise_spectrum, peak_frequency

LAYERS = ("L23E", "L23I", "L56E", "L56I")
"""The four populations of a column, in order: superficial E, I; deep E, I."""

# (post, pre) couplings within a layer, Mejias et al. 2016: rows E, I; columns E, I.
_J_LAYER = ((1.5, -3.25), (3.5, -2.5))


def _phi() -> AbbottChance:
    # phi(x) = x / (1 - exp(-x)) is Abbott-Chance's function with a = d = 1, b = 0.
    return AbbottChance(a=1.0, b=0.0, d=1.0)


class LaminarColumn(AbstractCircuit):
    r"""A laminar column: a rate circuit plus the paper's additive rate noise.

    The populations of ``circuit`` are, in order, L2/3 E, L2/3 I, L5/6 E, L5/6 I (each
    ``n_channels`` units; one channel is one column). Build it with
    :func:`laminar_column`. Batch trials with ``jax.vmap`` over
    :func:`~multiscale.circuit.simulate` (its weights are matrices and ``sigma`` a vector,
    which :func:`~multiscale.circuit.simulate_batch` does not take).

    Attributes:
        circuit: the noise-free :class:`RateCircuit` (its populations have ``tau``).
        sigma: noise amplitude $\sigma_a$ of each population, Hz (4,).
        r0: initial rate of every unit, Hz (scalar or (units,)).
    """

    circuit: RateCircuit
    sigma: Float[ArrayLike, "..."]
    r0: Float[ArrayLike, "..."] = 0.0
    constraints = Constraints(nonnegative=("sigma",), finite=("r0",))

    def __check_init__(self):
        if not isinstance(self.circuit, RateCircuit):
            raise TypeError("LaminarColumn `circuit` must be a RateCircuit")
        pops = self.circuit.populations
        if len(pops) != 4 or any(p.tau is None for p in pops):
            raise ValueError(
                "LaminarColumn `circuit` must have four populations (L2/3 E, I; L5/6 E, I), "
                "each with a rate time constant `tau`"
            )
        if len({p.size for p in pops}) != 1:
            raise ValueError("LaminarColumn populations must all have the same size")
        if jnp.shape(self.sigma) != (4,):
            raise ValueError(
                f"LaminarColumn `sigma` must have shape (4,), one per population; got "
                f"{jnp.shape(self.sigma)}"
            )
        check_fields("LaminarColumn", self, self.constraints)

    @property
    def n_channels(self) -> int:
        """Units per population (columns side by side, e.g. one per stimulus)."""
        return self.circuit.populations[0].size

    @property
    def n_units(self) -> int:
        return 4 * self.n_channels

    @property
    def n_noise(self) -> int:
        return self.n_units

    def units(self, layer: str) -> slice:
        """The units of population ``layer`` (one of :data:`LAYERS`) in the rate vector."""
        if layer not in LAYERS:
            raise ValueError(f"`layer` must be one of {LAYERS}, got {layer!r}")
        k, n = LAYERS.index(layer), self.n_channels
        return slice(k * n, (k + 1) * n)

    def feedforward(self, rates: Float[Array, "... units"]) -> Array:
        """The feedforward output: superficial (L2/3) excitatory rates, Hz (units last)."""
        return rates[..., self.units("L23E")]

    def feedback(self, rates: Float[Array, "... units"]) -> Array:
        """The feedback output: deep (L5/6) excitatory rates, Hz (units last)."""
        return rates[..., self.units("L56E")]

    def choice_rates(self, rates: Float[Array, "units ..."]) -> Float[Array, "2 ..."]:
        """The first channel's feedforward (L2/3 E) and feedback (L5/6 E) rates, Hz.

        A column makes no two-way choice; online readouts see these two outputs.
        """
        n = self.n_channels
        return rates[jnp.asarray([0, 2 * n])]

    def _per_unit(self, values) -> Array:
        v = jnp.asarray(values)
        return jnp.repeat(v, self.n_channels, axis=0, total_repeat_length=self.n_units)

    def taus(self) -> Array:
        """The rate time constant of every unit, s (units,)."""
        return self._per_unit(jnp.stack([jnp.asarray(p.tau) for p in self.circuit.populations]))

    def init(self, batch, dtype):
        state = self.circuit.init(batch, dtype)
        shape = (self.n_units,) + tuple(batch)
        r0 = jnp.asarray(self.r0, dtype)
        r0 = r0.reshape(r0.shape + (1,) * (len(shape) - r0.ndim)) if r0.ndim else r0
        rates = jnp.broadcast_to(r0, shape).astype(dtype)
        gating = tuple(
            jnp.broadcast_to(rates[self.units(LAYERS[_pop_of(p)])], g.shape).astype(dtype)
            for p, g in zip(self.circuit.projections, state.gating, strict=True)
        )
        return RateState(gating, state.short_term, rates, state.I_noise)

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        r"""A sensory stimulus drives the superficial E units with $\mu_0$ (input units).

        The coherence is not used; for patterned input give the drive directly to
        :func:`~multiscale.circuit.integrate` (see :meth:`drive`).
        """
        mu0 = jnp.asarray(stimulus.mu0, jnp.result_type(float))
        v = self._per_unit(jnp.zeros((4,), mu0.dtype).at[0].set(1.0))
        return v.reshape(v.shape + (1,) * mu0.ndim) * mu0[None]

    def drive(
        self,
        superficial: Float[ArrayLike, "..."] = 0.0,
        deep: Float[ArrayLike, "..."] = 0.0,
    ) -> Float[Array, " units"]:
        """An input onto the E units of each layer (scalar or (n_channels,)), (units,)."""
        n = self.n_channels
        dtype = jnp.result_type(float)
        sup = jnp.broadcast_to(jnp.asarray(superficial, dtype), (n,))
        dp = jnp.broadcast_to(jnp.asarray(deep, dtype), (n,))
        zero = jnp.zeros((n,), dtype)
        return jnp.concatenate([sup, zero, dp, zero])

    def discretise(self, dt: float):
        r"""Euler–Maruyama step of the paper's equation (module docstring).

        The drift is the rate circuit's own continuous-time field (the same equations as
        :class:`RateCircuit`'s Euler step), the noise
        $\sqrt{\Delta t/\tau_a}\,\sigma_a\,\xi$ is added to the rates.
        """
        dtype = jnp.result_type(float)
        dt_ = jnp.asarray(dt, dtype)
        amp = jnp.sqrt(dt_ / self.taus()) * self._per_unit(self.sigma)
        circuit = self.circuit

        def one_trial(state, drive, xi):
            # The populations have no current noise, so `I_noise` stays 0.
            d, r = _derivatives(circuit, state, drive)
            new = jax.tree.map(lambda x, dx: x + dt_ * dx, state, d)
            return eqx.tree_at(lambda s: s.rates, new, new.rates + amp * xi), r

        def step(state, drive, xi):
            f = one_trial
            # Trailing batch axes (units first): one vmap per axis.
            for _ in range(xi.ndim - 1):
                f = jax.vmap(f, in_axes=-1, out_axes=-1)
            return f(state, drive, xi)

        return step

    def check_step(self, dt: float) -> None:
        self.circuit.check_step(dt)

    def checked(self) -> "LaminarColumn":
        col = checked_parts(self)
        pops = tuple(
            eqx.tree_at(
                lambda p: p.tau,
                p,
                error_if(
                    jnp.asarray(p.tau),
                    ~(jnp.asarray(p.tau) > 0),
                    f"RatePopulation `tau` of {p.name or i} must be finite and > 0 s",
                ),
            )
            for i, p in enumerate(col.circuit.populations)
        )
        return eqx.tree_at(lambda c: c.circuit.populations, col, pops)

    def violations(self) -> Array:
        bad = jnp.any(part_violations(self))
        for p in self.circuit.populations:
            bad = bad | jnp.any(~(jnp.asarray(p.tau) > 0))
        return bad


def _pop_of(proj: Projection) -> int:
    return proj.pre


def laminar_column(
    *,
    input_superficial: Float[ArrayLike, "..."] = 6.0,
    input_deep: Float[ArrayLike, "..."] = 6.0,
    interlaminar: bool = True,
    n_channels: int = 1,
    tau_E: float = 0.006,
    tau_I: float = 0.015,
    deep_slowing: float = 5.0,
    sigma_superficial: float = 0.3,
    sigma_deep: float = 0.45,
    tau_syn: float = 5e-4,
    superficial_rule: eqx.Module | None = None,
    deep_rule: eqx.Module | None = None,
) -> LaminarColumn:
    r"""Mejias et al.'s (2016) laminar column as a :class:`LaminarColumn`.

    Args:
        input_superficial: constant input $I$ onto L2/3 E (the paper's units), as the
            population's background ``I_0``. 6 (default) lies in the 4–8 range for which
            the authors' code comments report gamma; a choice, not a fitted value.
        input_deep: constant input onto L5/6 E (6).
        interlaminar: couple the layers (L2/3 E → L5/6 E = 1, L5/6 E → L2/3 I = 0.75);
            False gives the isolated layers of the paper's Fig. 2.
        n_channels: units per population (side-by-side columns without cross-talk).
        tau_E, tau_I: L2/3 rate time constants, s (6, 15 ms).
        deep_slowing: L5/6 time constants are this multiple of L2/3's (5).
        sigma_superficial, sigma_deep: noise amplitudes, Hz (0.3, 0.45).
        tau_syn: time constant of the fast synapse on every projection, s (0.5 ms).
        superficial_rule, deep_rule: plasticity rules for the projections onto the
            superficial and deep populations (the ``rule`` slot; see
            :func:`with_layer_rules`).

    Returns:
        The column; its projections are ordered: within L2/3 (E→E, I→E, E→I, I→I),
        within L5/6 (same order), then L2/3 E → L5/6 E and L5/6 E → L2/3 I if coupled.

    Example:
        >>> col = laminar_column(interlaminar=False)
        >>> col.n_units, len(col.circuit.projections)
        (4, 8)
    """
    if not (isinstance(n_channels, int) and n_channels >= 1):
        raise ValueError(f"`n_channels` must be an int >= 1, got {n_channels!r}")
    for name, v in (("tau_E", tau_E), ("tau_I", tau_I), ("tau_syn", tau_syn)):
        if not v > 0:
            raise ValueError(f"`{name}` must be > 0 s, got {v}")
    if not deep_slowing > 0:
        raise ValueError(f"`deep_slowing` must be > 0, got {deep_slowing}")
    n = n_channels
    dtype = jnp.result_type(float)
    eye = np.eye(n)
    # Parameters are stored as arrays, so that columns differing only in values share
    # one compiled program under jit.
    arr = lambda v: jnp.asarray(v, dtype)  # noqa: E731
    taus = (tau_E, tau_I, deep_slowing * tau_E, deep_slowing * tau_I)
    I0 = (input_superficial, 0.0, input_deep, 0.0)
    pops = tuple(
        RatePopulation(_phi(), size=n, I_0=arr(I0[k]), tau=arr(taus[k]), name=LAYERS[k])
        for k in range(4)
    )
    syn = ExponentialSynapse(arr(tau_syn))

    def proj(pre, post, w, rule):
        return Projection(pre, post, syn, Dense(jnp.asarray(w * eye, dtype)), rule=rule)

    projections = []
    for base, rule in ((0, superficial_rule), (2, deep_rule)):
        for post in (0, 1):
            for pre in (0, 1):
                projections.append(proj(base + pre, base + post, _J_LAYER[post][pre], rule))
    if interlaminar:
        projections.append(proj(0, 2, 1.0, deep_rule))  # L2/3 E -> L5/6 E
        projections.append(proj(2, 1, 0.75, superficial_rule))  # L5/6 E -> L2/3 I
    sigma = jnp.asarray(
        [sigma_superficial, sigma_superficial, sigma_deep, sigma_deep], jnp.result_type(float)
    )
    return LaminarColumn(RateCircuit(pops, tuple(projections)), sigma)


# ----------------------------------------------------------------------------------------
# Linearisation around the noise-free fixed point
# ----------------------------------------------------------------------------------------


class LinearColumn(eqx.Module):
    """A column linearised at its noise-free fixed point.

    Attributes:
        rates: fixed-point rates of every unit, Hz (units,).
        jacobian: Jacobian of the noise-free field in the rates and gatings, 1/s.
        eigenvalues: its eigenvalues, 1/s.
        freqs: frequencies of ``power``, Hz.
        power: linear-noise spectral density of every unit's rate, Hz²/Hz (units, freq).
    """

    rates: Float[Array, " units"]
    jacobian: Float[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    freqs: Float[Array, " freq"]
    power: Float[Array, "units freq"]

    @property
    def stable(self) -> Array:
        """True if every eigenvalue has a negative real part."""
        return jnp.max(jnp.real(self.eigenvalues)) < 0

    def peak_frequency(self, unit: int, band=None) -> Array:
        """Peak of the linear-noise spectrum of ``unit``'s rate, Hz."""
        return peak_frequency(self.freqs, self.power[unit], band)


def _flat_field(column: LaminarColumn, drive: Array):
    """The noise-free field F(x) of the column on its flattened (rates, gatings)."""
    circuit = column.circuit
    dtype = jnp.result_type(float)
    template = circuit.init((), dtype)
    x0, unravel = ravel_pytree((template.gating, template.rates))
    zeros = jnp.zeros((column.n_units,), dtype)

    def F(x):
        gating, rates = unravel(x)
        state = RateState(gating, template.short_term, rates, zeros)
        d, _ = _derivatives(circuit, state, drive)
        return ravel_pytree((d.gating, d.rates))[0]

    return F, x0, unravel


def linearise_column(
    column: LaminarColumn,
    *,
    drive: Float[ArrayLike, " units"] | None = None,
    freqs: Float[ArrayLike, " freq"] | None = None,
    n_newton: int = 40,
    r_start: float = 1.0,
) -> LinearColumn:
    r"""Fixed point, Jacobian, eigenvalues and linear-noise spectra of a column.

    The fixed point of the noise-free field $F$ (rates and synaptic gatings) is found by
    Newton's method from all rates at ``r_start``; the Jacobian is ``jax.jacobian`` of
    $F$, and the spectrum of each rate is $2[(2\pi i f - A)^{-1} Q (2\pi i f - A)^{-H}]$
    with $Q = \mathrm{diag}(\sigma_a^2/\tau_a)$ on the rates
    (:func:`~multiscale.circuit.linear_noise_spectrum`). Differentiable in the
    column's parameters.

    Args:
        column: the column.
        drive: extra input per unit on top of the backgrounds (``column.drive(...)``).
        freqs: frequencies of the spectra, Hz (default 0.25 to 100 Hz in 0.25 Hz steps).
        n_newton: Newton iterations (40).
        r_start: initial rate guess, Hz (1).

    Returns:
        A :class:`LinearColumn`.
    """
    dtype = jnp.result_type(float)
    drive = jnp.zeros((column.n_units,), dtype) if drive is None else jnp.asarray(drive, dtype)
    if drive.shape != (column.n_units,):
        raise ValueError(f"`drive` must have shape ({column.n_units},), got {drive.shape}")
    if freqs is None:
        freqs = jnp.arange(1, 401, dtype=dtype) * 0.25
    return _linearise(column, drive, jnp.asarray(freqs, dtype), n_newton, r_start)


@eqx.filter_jit
def _linearise(column, drive, freqs, n_newton, r_start):
    dtype = drive.dtype
    F, x0, unravel = _flat_field(column, drive)
    x = jnp.full_like(x0, r_start)
    jac = jax.jacobian(F)
    x = jax.lax.fori_loop(0, n_newton, lambda _, y: y - jnp.linalg.solve(jac(y), F(y)), x)
    A = jac(x)
    _, rates = unravel(x)
    n_gating = x.shape[0] - column.n_units
    q_rates = column._per_unit(jnp.asarray(column.sigma, dtype)) ** 2 / column.taus()
    q = jnp.concatenate([jnp.zeros((n_gating,), dtype), q_rates])
    power = linear_noise_spectrum(A, jnp.diag(q), freqs)[n_gating:]
    return LinearColumn(rates, A, jnp.linalg.eigvals(A), freqs, power)


def layer_frequency(linear: LinearColumn, column: LaminarColumn, layer: str = "L23E") -> Array:
    r"""$\mathrm{Im}\,\lambda/2\pi$ (Hz) of the oscillatory mode that moves ``layer`` most.

    The eigenvector of each eigenvalue with $\mathrm{Im}\,\lambda > 0$ is weighed by its
    component on the first unit of ``layer``'s rates; the largest wins.
    """
    A = linear.jacobian
    n_gating = A.shape[0] - column.n_units
    idx = n_gating + column.units(layer).start
    lam, vec = jnp.linalg.eig(A)
    weight = jnp.abs(vec[idx]) / jnp.linalg.norm(vec, axis=0)
    weight = jnp.where(jnp.imag(lam) > 1e-6, weight, -1.0)
    return jnp.imag(lam[jnp.argmax(weight)]) / (2 * jnp.pi)
