r"""Several cortical areas: the hierarchy of timescales of Chaudhuri et al. (2015).

Each area $i$ has an excitatory and an inhibitory rate population; its local recurrent
excitation, and the long-range excitation it receives, grow with its position $h_i \in
[0, 1]$ along the anatomical hierarchy (V1 = 0, 24c = 1):

$$\tau_E\,\dot r_{E,i} = -r_{E,i} + \Bigl[\beta_E\bigl((1 + \eta h_i)(w_{EE} r_{E,i}
   + \mu_{EE} \textstyle\sum_j \mathrm{FLN}_{ij} r_{E,j}) - w_{EI} r_{I,i}\bigr)
   + I_{\mathrm{bg},E,i} + I_{\mathrm{ext},i}\Bigr]_+$$

$$\tau_I\,\dot r_{I,i} = -r_{I,i} + \Bigl[\beta_I\bigl((1 + \eta h_i)(w_{IE} r_{E,i}
   + \mu_{IE} \textstyle\sum_j \mathrm{FLN}_{ij} r_{E,j}) - w_{II} r_{I,i}\bigr)
   + I_{\mathrm{bg},I,i}\Bigr]_+$$

with $\mathrm{FLN}_{ij}$ the fraction of labelled neurons projecting from area $j$ to
area $i$. The backgrounds are set so that every area rests at $r_E$ = 10 Hz, $r_I$ =
35 Hz. Around that state the system is linear, and its eigen time constants
$-1/\mathrm{Re}\,\lambda$ are the areas' intrinsic timescales: an isolated area has a
slow mode of 41.9 ms at $h = 0$ and 400.9 ms at $h = 1$ (computed from the published
parameters; the fast modes are 2.06 and 2.21 ms).

As a :class:`~multiscale.circuit.RateCircuit`. Inputs here are in rate units (Hz), as in
the paper: the transfer function is $[x]_+$ and the weights are $\beta w$
(dimensionless). A projection of a rate circuit always carries a synaptic gating, so the
rate time constant is put where the gating is: population $b$ responds instantly,
$\rho_b = [x_b]_+$, and every projection from it low-passes $\rho_b$ with $\tau_b$
(:class:`~multiscale.synapse.ExponentialSynapse`). The gating of each projection from $b$
then obeys exactly the equation of $r_b$ above, so it *is* $r_b$; the circuit's rates
``traj.r`` are $\rho_b$, which relax to $r_b$ within $\tau_b$. Because several projections
leave each population, their identical gatings add modes at exactly $-1/\tau_E$ and
$-1/\tau_I$ to the circuit's Jacobian, which no input excites;
the method ``eigen_time_constants`` works on the paper's equations and has none of them.

Local projections (within an area) and long-range ones (between areas) are separate
:class:`~multiscale.circuit.Projection` objects, each with its own ``rule`` slot;
:func:`projection_kinds`, :func:`projection_rules` and :func:`replace_rules` list and
replace the rules by kind, for any circuit whose populations are named ``"area.pop"`` or
whose channels are areas (:func:`~multiscale.circuit.laminar_areas`).

The paper's full network has 29 areas joined by the retrograde-tracing FLN matrix of
Markov et al. (2014); with that matrix (not distributed here; pass it as ``fln`` with the
hierarchy values of :data:`CHAUDHURI_HIERARCHY`) the authors' replication gives a slowest
network mode of about 760 ms. Only the isolated-area values are checked in this package.

References:
    Chaudhuri R, Knoblauch K, Gariel MA, Kennedy H, Wang XJ (2015) A large-scale circuit
    mechanism for hierarchical dynamical processing in the primate cortex. Neuron
    88:419-431.

    Markov NT, Ercsey-Ravasz MM, Ribeiro Gomes AR, Lamy C, Magrou L, Vezoli J, et al.
    (2014) A weighted and directed interareal connectivity matrix for macaque cerebral
    cortex. Cereb Cortex 24:17-36.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, error_if, violations
from ..synapse import ExponentialSynapse
from ._populations import RatePopulation, ThresholdLinear
from ._projections import Dense, Projection, Uniform
from ._protocol import Stimulus
from ._rate_circuit import RateCircuit, StimulusInput

Param = Float[ArrayLike, "..."]

CHAUDHURI_HIERARCHY: dict[str, float] = {
    "V1": 0.0, "V2": 0.546, "V4": 1.3091, "DP": 1.8204, "MT": 1.8889, "8m": 2.0355,
    "5": 2.1754, "8l": 2.1905, "TEO": 2.1933, "2": 2.1997, "F1": 2.253, "STPc": 2.3441,
    "7A": 2.4023, "46d": 2.5115, "10": 2.5572, "9/46v": 2.5788, "9/46d": 2.5971,
    "F5": 2.611, "TEpd": 2.6252, "PBr": 2.652, "7m": 2.67, "7B": 2.7985, "F2": 2.8342,
    "STPi": 2.8457, "ProM": 2.858, "F7": 2.9254, "8B": 2.972, "STPr": 3.1078,
    "24c": 3.1162,
}  # fmt: skip
r"""Raw hierarchy values of the 29 areas of Chaudhuri et al. (2015), from the Kennedy
laboratory's retrograde tracing data (Markov et al. 2014); divide by the maximum (24c) for
$h \in [0, 1]$. The 29 x 29 FLN matrix is not distributed with this package."""

LOCAL, LONG_RANGE = "local", "long_range"


class AreaHierarchy(eqx.Module):
    r"""Areas along the cortical hierarchy joined by long-range excitation (Chaudhuri 2015).

    Attributes:
        h: hierarchy position of each area, in [0, 1], shape (areas,).
        fln: $\mathrm{FLN}_{ij}$, the fraction of labelled neurons from area $j$ into
            area $i$, >= 0 with a zero diagonal, shape (areas, areas).
        names: the areas' names (static).
        beta_E, beta_I: slopes of the E and I f-I curves, Hz/pA (0.066, 0.351).
        tau_E, tau_I: rate time constants, s (20 ms, 10 ms).
        w_EE, w_IE, w_EI, w_II: local couplings, pA/Hz (24.3, 12.2, 19.7, 12.5).
        mu_EE, mu_IE: long-range couplings onto E and I, pA/Hz (33.7, 25.3).
        eta: scaling of excitation along the hierarchy (0.68).
        r_E0, r_I0: resting rates the backgrounds are set for, Hz (10, 35).
        local_rule, long_range_rule: plasticity rules (``ms.synapse``) put in the
            ``rule`` slot of the local and long-range projections, or ``None``.

    Example:
        >>> import multiscale as ms
        >>> v1 = ms.circuit.AreaHierarchy(h=[0.0], fln=[[0.0]])
        >>> round(float(v1.eigen_time_constants()[0]) * 1e3, 1)
        41.9

    References:
        Chaudhuri R, Knoblauch K, Gariel MA, Kennedy H, Wang XJ (2015) Neuron 88:419-431.
    """

    h: Float[Array, " areas"] = eqx.field(converter=jnp.asarray)
    fln: Float[Array, "areas areas"] = eqx.field(converter=jnp.asarray)
    names: tuple[str, ...] = eqx.field(static=True, default=())
    beta_E: Param = 0.066
    beta_I: Param = 0.351
    tau_E: Param = 0.02
    tau_I: Param = 0.01
    w_EE: Param = 24.3
    w_IE: Param = 12.2
    w_EI: Param = 19.7
    w_II: Param = 12.5
    mu_EE: Param = 33.7
    mu_IE: Param = 25.3
    eta: Param = 0.68
    r_E0: Param = 10.0
    r_I0: Param = 35.0
    local_rule: eqx.Module | None = None
    long_range_rule: eqx.Module | None = None
    constraints = Constraints(
        positive=("beta_E", "beta_I", "tau_E", "tau_I", "r_E0", "r_I0"),
        nonnegative=("w_EE", "w_IE", "w_EI", "w_II", "mu_EE", "mu_IE", "eta", "fln"),
        fraction=("h",),
    )

    def __check_init__(self):
        h_shape, fln_shape = np.shape(self.h), np.shape(self.fln)
        if len(h_shape) != 1 or h_shape[0] < 1:
            raise ValueError(f"AreaHierarchy `h` must have shape (areas,), got {h_shape}")
        n = h_shape[0]
        if fln_shape != (n, n):
            raise ValueError(
                f"AreaHierarchy `fln` must have shape (areas, areas) = ({n}, {n}) to match "
                f"`h`, got {fln_shape}"
            )
        if self.names and len(self.names) != n:
            raise ValueError(f"AreaHierarchy `names` must name the {n} areas, got {self.names}")
        check_fields("AreaHierarchy", self, self.constraints)
        fln = _concrete(self.fln)
        if fln is not None and np.any(np.diag(fln) != 0):
            raise ValueError("AreaHierarchy `fln` must have a zero diagonal (local input is w)")

    @property
    def n_areas(self) -> int:
        return int(np.shape(self.h)[0])

    @property
    def area_names(self) -> tuple[str, ...]:
        return self.names or tuple(f"area{i}" for i in range(self.n_areas))

    def checked(self) -> "AreaHierarchy":
        """This hierarchy with run-time errors (also under ``jit``) for values out of range."""
        return checked("AreaHierarchy", self, self.constraints)

    def violations(self) -> Array:
        """True if a value is out of range."""
        return jnp.any(violations(self, self.constraints))

    def backgrounds(self) -> tuple[Array, Array]:
        """``(I_bg_E, I_bg_I)``, Hz, per area: the inputs that hold the resting rates."""
        g, fln = 1.0 + jnp.asarray(self.eta) * jnp.asarray(self.h), jnp.asarray(self.fln)
        long = jnp.sum(fln, axis=1) * self.r_E0
        exc_E = g * (self.w_EE * self.r_E0 + self.mu_EE * long)
        exc_I = g * (self.w_IE * self.r_E0 + self.mu_IE * long)
        bg_E = self.r_E0 - self.beta_E * (exc_E - self.w_EI * self.r_I0)
        bg_I = self.r_I0 - self.beta_I * (exc_I - self.w_II * self.r_I0)
        return bg_E, bg_I

    def vector_field(
        self, r: Float[Array, "2 areas"], I_ext: Float[ArrayLike, " areas"] = 0.0
    ) -> Float[Array, "2 areas"]:
        """$dr/dt$, Hz/s, of the paper's equations at rates ``r`` = (r_E, r_I), Hz."""
        g, fln = 1.0 + jnp.asarray(self.eta) * jnp.asarray(self.h), jnp.asarray(self.fln)
        r_E, r_I = r[0], r[1]
        long = fln @ r_E
        bg_E, bg_I = self.backgrounds()
        x_E = self.beta_E * (g * (self.w_EE * r_E + self.mu_EE * long) - self.w_EI * r_I)
        x_I = self.beta_I * (g * (self.w_IE * r_E + self.mu_IE * long) - self.w_II * r_I)
        x_E = x_E + bg_E + I_ext
        x_I = x_I + bg_I
        return jnp.stack(
            [(jax.nn.relu(x_E) - r_E) / self.tau_E, (jax.nn.relu(x_I) - r_I) / self.tau_I]
        )

    def rest(self) -> Float[Array, "2 areas"]:
        """The resting rates (r_E, r_I), Hz, shape (2, areas)."""
        dtype = jnp.result_type(float)
        ones = jnp.ones((self.n_areas,), dtype)
        return jnp.stack([self.r_E0 * ones, self.r_I0 * ones])

    def jacobian(self) -> Float[Array, "n n"]:
        """The Jacobian, 1/s, at rest; state ordered (r_E of all areas, then r_I)."""
        n = self.n_areas
        flat = lambda x: self.vector_field(x.reshape(2, n)).reshape(-1)
        return jax.jacfwd(flat)(self.rest().reshape(-1))

    def spectral_abscissa(self) -> Array:
        """The largest real part of the Jacobian's eigenvalues at rest, 1/s (< 0: stable).

        Uses ``jnp.linalg.eigvals`` (a general eigenproblem, which JAX computes on the CPU).
        """
        return jnp.max(jnp.real(jnp.linalg.eigvals(self.jacobian())))

    def check_stable(self) -> "AreaHierarchy":
        """This hierarchy, or an error naming the spectral abscissa if rest is unstable.

        Concrete values raise ``ValueError``; traced ones (inside ``jit``) raise at run
        time through ``eqx.error_if`` on the returned hierarchy's ``h``.
        """
        s = self.spectral_abscissa()
        value = _concrete(s)
        if value is not None and not value < 0:
            raise ValueError(
                f"AreaHierarchy is unstable at rest: spectral abscissa (largest Re "
                f"eigenvalue) = {float(value):.4g} 1/s >= 0; lower `eta`, `w_EE` or `mu_EE`"
            )
        h = error_if(
            self.h,
            ~(s < 0),
            "AreaHierarchy is unstable at rest: spectral abscissa (largest Re eigenvalue) >= 0",
        )
        return eqx.tree_at(lambda m: m.h, self, h)

    def eigen_time_constants(self) -> Float[Array, " modes"]:
        """$-1/\\mathrm{Re}\\,\\lambda$ of the Jacobian at rest, s, slowest first (2 x areas).

        Example:
            >>> import multiscale as ms
            >>> top = ms.circuit.AreaHierarchy(h=[1.0], fln=[[0.0]])
            >>> [round(float(t) * 1e3, 1) for t in top.eigen_time_constants()]
            [400.9, 2.2]
        """
        lam = jnp.real(jnp.linalg.eigvals(self.jacobian()))
        return jnp.sort(-1.0 / lam)[::-1]

    def circuit(self, input_area: int = 0) -> RateCircuit:
        """This hierarchy as a :class:`RateCircuit` (see the module docstring).

        Populations are ``[E_0, I_0, E_1, I_1, ...]``, each of size 1 and named
        ``"<area>.E"``, ``"<area>.I"``; the projections are the four local ones of each
        area, then E_j -> E_i and E_j -> I_i for each FLN_ij != 0. The stimulus reaches the
        E population of ``input_area`` (use :func:`area_pulse`). Raises ``ValueError`` if the
        resting state is unstable, with the spectral abscissa.
        """
        if not 0 <= input_area < self.n_areas:
            raise ValueError(f"`input_area` must be < {self.n_areas}, got {input_area}")
        self = self.check_stable()
        bg_E, bg_I = self.backgrounds()
        g = 1.0 + jnp.asarray(self.eta) * jnp.asarray(self.h)
        fln = jnp.asarray(self.fln)
        relu = ThresholdLinear()
        pops, projs = [], []
        for i, name in enumerate(self.area_names):
            pops.append(RatePopulation(relu, I_0=bg_E[i], name=f"{name}.E"))
            pops.append(RatePopulation(relu, I_0=bg_I[i], name=f"{name}.I"))
        syn_E, syn_I = ExponentialSynapse(self.tau_E), ExponentialSynapse(self.tau_I)

        def proj(pre, post, w, syn, s0, rule):
            return Projection(pre, post, syn, Uniform(w), rule=rule, s0=s0)

        rule = self.local_rule
        for i in range(self.n_areas):
            ex, inh = 2 * i, 2 * i + 1
            projs += [
                proj(ex, ex, self.beta_E * g[i] * self.w_EE, syn_E, self.r_E0, rule),
                proj(inh, ex, -self.beta_E * self.w_EI, syn_I, self.r_I0, rule),
                proj(ex, inh, self.beta_I * g[i] * self.w_IE, syn_E, self.r_E0, rule),
                proj(inh, inh, -self.beta_I * self.w_II, syn_I, self.r_I0, rule),
            ]
        pattern = _concrete(self.fln)
        rule = self.long_range_rule
        for i in range(self.n_areas):
            for j in range(self.n_areas):
                if i == j or (pattern is not None and pattern[i, j] == 0):
                    continue
                w_E = self.beta_E * g[i] * self.mu_EE * fln[i, j]
                w_I = self.beta_I * g[i] * self.mu_IE * fln[i, j]
                projs += [
                    proj(2 * j, 2 * i, w_E, syn_E, self.r_E0, rule),
                    proj(2 * j, 2 * i + 1, w_I, syn_E, self.r_E0, rule),
                ]
        k = 2 * input_area
        stim = StimulusInput(units=(k, k + 1), gain=1.0)
        return RateCircuit(tuple(pops), tuple(projs), stim)


def area_pulse(amplitude: Param) -> Stimulus:
    """The stimulus that puts ``amplitude`` (Hz, rate units) into the input area's E
    population of :meth:`AreaHierarchy.circuit` while on (the protocol sets when)."""
    return Stimulus(coherence=1.0, mu0=jnp.asarray(amplitude) / 2.0)


def _rate_circuit(circuit):
    """The :class:`RateCircuit` of ``circuit`` and the accessor that reaches it."""
    if isinstance(circuit, RateCircuit):
        return circuit, lambda c: c
    if isinstance(getattr(circuit, "circuit", None), RateCircuit):  # e.g. a LaminarColumn
        return circuit.circuit, lambda c: c.circuit
    raise TypeError(
        f"`circuit` must be a RateCircuit or hold one as `.circuit`, got {type(circuit).__name__}"
    )


def _kind_by_weight(i: int, proj: Projection) -> str:
    W = _concrete(getattr(proj.weight, "W", None)) if isinstance(proj.weight, Dense) else None
    if W is None or W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(
            f"projection {i}: name the populations '<area>.<population>', or give areas as "
            "channels with square Dense weights, so that its kind is known"
        )
    off = W - np.diag(np.diag(W))
    if not np.any(off):
        return LOCAL
    if not np.any(np.diag(W)):
        return LONG_RANGE
    raise ValueError(f"projection {i} mixes within- and between-area weights; split it")


def projection_kinds(circuit) -> tuple[str, ...]:
    """``"local"`` or ``"long_range"`` for each projection of ``circuit``.

    A projection is local when it stays within an area. The area of a population is the
    part of its ``name`` before the first ``"."`` (``"V1.E"``); in a circuit whose
    channels are areas (:func:`~multiscale.circuit.laminar_areas`), a square
    :class:`Dense` weight that is diagonal is local and one with a zero diagonal is
    long-range.

    Args:
        circuit: a :class:`RateCircuit`, or a circuit that holds one as ``.circuit``
            (a :class:`~multiscale.circuit.LaminarColumn`).
    """
    rc, _ = _rate_circuit(circuit)
    names = [p.name for p in rc.populations]
    by_name = all("." in n for n in names)
    kinds = []
    for i, p in enumerate(rc.projections):
        if by_name:
            pre, post = names[p.pre].split(".")[0], names[p.post].split(".")[0]
            kinds.append(LOCAL if pre == post else LONG_RANGE)
        else:
            kinds.append(_kind_by_weight(i, p))
    return tuple(kinds)


def projection_rules(circuit) -> dict[str, tuple]:
    """The ``rule`` of every projection, grouped by kind (``"local"``, ``"long_range"``)."""
    rc, _ = _rate_circuit(circuit)
    out: dict[str, tuple] = {LOCAL: (), LONG_RANGE: ()}
    for kind, p in zip(projection_kinds(circuit), rc.projections, strict=True):
        out[kind] = out[kind] + (p.rule,)
    return out


def replace_rules(circuit, **rules):
    """``circuit`` with the ``rule`` of every projection of each named kind replaced.

    Example: ``replace_rules(c, local=ms.synapse.BCM(), long_range=ms.synapse.Oja())``.
    """
    unknown = set(rules) - {LOCAL, LONG_RANGE}
    if unknown:
        raise ValueError(f"unknown projection kinds {sorted(unknown)}; use 'local', 'long_range'")
    _, inner = _rate_circuit(circuit)
    kinds = projection_kinds(circuit)
    idx = [i for i, k in enumerate(kinds) if k in rules]
    if not idx:
        return circuit
    return eqx.tree_at(
        lambda c: [inner(c).projections[i].rule for i in idx],
        circuit,
        [rules[kinds[i]] for i in idx],
        is_leaf=lambda x: x is None,
    )


def _concrete(x):
    """``x`` as a NumPy array, or ``None`` if it is a tracer."""
    try:
        return np.asarray(x, dtype=float)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None
