r"""A rate circuit composed of populations and projections: the composition layer.

:class:`RateCircuit` implements :class:`~multiscale.circuit.AbstractCircuit` for any set
of :class:`RatePopulation` joined by :class:`Projection`. With $u$ the units of all
populations in order, one step of length $\Delta t$ computes, for each unit,

$$I = \sum_{p \to u} W_p\bigl(o_p(s_p)\bigr) + I_0 + I_\mathrm{stim} + I_\mathrm{noise},
  \qquad r = f(I)\ \ \text{or the rate state},$$

then advances every projection's gating by Euler,
$s_p \leftarrow s_p + \Delta t\, \dot s_p(s_p, e_p\,r_\mathrm{pre})$ ($e_p$ the short-term
efficacy, 1 without), the rates of populations with $\tau_r$ by Euler, and the noise by
the exact Ornstein–Uhlenbeck transition. The rates returned are those at the start of the
step. Euler holds the noise constant over the step, so the step must resolve every time
constant: ``check_step`` requires $\Delta t \le \tau/2$ for each.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, checked, violations
from ._abstract import AbstractCircuit
from ._populations import RatePopulation
from ._projections import Projection
from ._protocol import Stimulus

Param = Float[ArrayLike, "..."]


class RateState(eqx.Module):
    """State of a :class:`RateCircuit`, every leaf (units, *batch).

    Attributes:
        gating: one gating array per projection (presynaptic units first).
        short_term: per projection ``(R, u)`` of its short-term plasticity, or ``None``.
        rates: the rate state of all units, Hz, when a population has ``tau`` (else None).
        I_noise: the noise current of all units, nA.
    """

    gating: tuple
    short_term: tuple
    rates: Array | None
    I_noise: Array

    @property
    def S(self) -> Array:
        """The gating of the first projection (the NMDA gating of Wong & Wang's circuit)."""
        return self.gating[0]


class StimulusInput(eqx.Module):
    r"""How the random-dot stimulus enters: $J\mu_0(1 + c)$ onto ``units[0]``, $J\mu_0(1 - c)$
    onto ``units[1]`` (Wong & Wang 2006, eq. A4), nothing onto the other units.

    Attributes:
        units: the two receiving units, indices into all units (static).
        gain: $J$, nA/Hz (5.2e-4).
    """

    units: tuple[int, int] = eqx.field(static=True, default=(0, 1))
    gain: Param = 5.2e-4
    constraints = Constraints(positive=("gain",))


def _is_constrained(x) -> bool:
    return isinstance(x, eqx.Module) and isinstance(
        getattr(type(x), "constraints", None), Constraints
    )


def _children(m):
    """The sub-Modules held in ``m``'s fields, by field name."""
    return {
        f.name: getattr(m, f.name)
        for f in dataclasses.fields(m)
        if isinstance(getattr(m, f.name, None), eqx.Module)
    }


def checked_parts(tree):
    """``tree`` with every sub-Module that declares ``constraints`` checked at run time.

    Nested parts are checked too (a kinetic receptor's Mg²⁺ block inside a projection).
    """

    def check(m):
        m = checked(type(m).__name__, m, m.constraints)
        for name, child in _children(m).items():
            m = eqx.tree_at(lambda o, n=name: getattr(o, n), m, checked_parts(child))
        return m

    return jax.tree.map(
        lambda m: check(m) if _is_constrained(m) else m, tree, is_leaf=_is_constrained
    )


def part_violations(tree) -> Array:
    """True where any sub-Module (nested ones too) that declares ``constraints`` breaks one."""
    bad = jnp.asarray(False)
    for m in jax.tree.leaves(tree, is_leaf=_is_constrained):
        if _is_constrained(m):
            bad = bad | violations(m, m.constraints)
            for child in _children(m).values():
                bad = bad | part_violations(child)
    return bad


class RateCircuit(AbstractCircuit):
    """Rate populations joined by projections (see the module docstring).

    Attributes:
        populations: the populations, in order (their units are numbered in this order).
        projections: the projections between them.
        stimulus: how the stimulus enters (:class:`StimulusInput`), or ``None`` (no unit
            receives it; the circuit runs on its background input and noise).
        choice: the two units read by decision readouts (static), or ``None``.

    Example:
        >>> import multiscale as ms
        >>> E = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), size=2, tau=0.02)
        >>> ee = ms.circuit.Projection(0, 0, ms.synapse.ExponentialSynapse(0.005),
        ...                            ms.circuit.SelfCross(0.5, -0.3))
        >>> c = ms.circuit.RateCircuit((E,), (ee,), ms.circuit.StimulusInput(gain=1.0), (0, 1))
        >>> c.n_units
        2
    """

    populations: tuple[RatePopulation, ...]
    projections: tuple[Projection, ...] = ()
    stimulus: StimulusInput | None = None
    choice: tuple[int, int] | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not self.populations or not all(isinstance(p, RatePopulation) for p in self.populations):
            raise TypeError("RateCircuit `populations` must be a non-empty tuple of RatePopulation")
        n = len(self.populations)
        for i, proj in enumerate(self.projections):
            if not isinstance(proj, Projection):
                raise TypeError(f"RateCircuit `projections[{i}]` must be a Projection")
            if not (0 <= proj.pre < n and 0 <= proj.post < n):
                raise ValueError(
                    f"RateCircuit `projections[{i}]` joins populations {proj.pre} -> "
                    f"{proj.post}, but there are {n}"
                )
        units = self.n_units
        for name, idx in (
            ("choice", self.choice),
            ("stimulus.units", getattr(self.stimulus, "units", None)),
        ):
            if idx is not None and (len(idx) != 2 or not all(0 <= i < units for i in idx)):
                raise ValueError(
                    f"RateCircuit `{name}` must be two unit indices < {units}, got {idx}"
                )

    @property
    def n_units(self) -> int:
        """Units in all populations."""
        return sum(p.size for p in self.populations)

    @property
    def n_noise(self) -> int:
        return self.n_units

    def _slices(self) -> list[slice]:
        out, start = [], 0
        for p in self.populations:
            out.append(slice(start, start + p.size))
            start += p.size
        return out

    def init(self, batch, dtype):
        shape = lambda n: (n,) + tuple(batch)
        gating = tuple(
            jnp.full(shape(self.populations[p.pre].size), p.s0, dtype) for p in self.projections
        )
        stp = tuple(
            None
            if p.short_term is None
            else p.short_term.rate_init(shape(self.populations[p.pre].size), dtype)
            for p in self.projections
        )
        zeros = jnp.zeros(shape(self.n_units), dtype)
        # Only populations with a rate time constant carry their rates as state.
        rates = zeros if any(p.tau is not None for p in self.populations) else None
        return RateState(gating, stp, rates, zeros)

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        c = jnp.asarray(stimulus.coherence)
        if self.stimulus is None:  # the stimulus reaches no unit
            shape = jnp.broadcast_shapes(c.shape, jnp.shape(stimulus.mu0))
            return jnp.zeros((self.n_units,) + shape, jnp.result_type(float))
        level = jnp.asarray(self.stimulus.gain) * jnp.asarray(stimulus.mu0)
        pair = level * jnp.stack([1.0 + c, 1.0 - c])
        if self.stimulus.units == (0, 1) and self.n_units == 2:
            return pair
        drive = jnp.zeros((self.n_units,) + pair.shape[1:], pair.dtype)
        return drive.at[jnp.asarray(self.stimulus.units)].set(pair)

    def _per_unit(self, values, dtype):
        """Stack per-population values (scalars or per-trial (1, trials)) to (units, ...)."""
        if len(self.populations) == 1:
            return values[0]
        arrs = [jnp.asarray(v, dtype) for v in values]
        tail = jnp.broadcast_shapes(*(a.shape[1:] for a in arrs if a.ndim))
        return jnp.concatenate(
            [
                jnp.broadcast_to(a if a.ndim else a[None], (p.size,) + tail)
                for a, p in zip(arrs, self.populations, strict=True)
            ]
        )

    def discretise(self, dt: float):
        dtype = jnp.result_type(float)
        dt_ = jnp.asarray(dt, dtype)
        slices = self._slices()
        pops = self.populations
        trans = []
        for p in pops:
            if p.noise is None:
                trans.append((jnp.zeros((), dtype), jnp.zeros((), dtype)))
            else:
                trans.append(p.noise.transition(dt))
        decay = self._per_unit([d for d, _ in trans], dtype)
        sd = self._per_unit([s for _, s in trans], dtype)
        I_0 = self._per_unit([p.I_0 for p in pops], dtype)
        one_pop = len(pops) == 1

        def rates_of(current, r_state):
            parts = []
            for p, sl in zip(pops, slices, strict=True):
                x = current if one_pop else current[sl]
                if p.tau is None:
                    parts.append(p.transfer(x))
                else:
                    parts.append(r_state if one_pop else r_state[sl])
            return parts[0] if one_pop else jnp.concatenate(parts)

        def step(state, drive, xi):
            rec = None
            for proj, s in zip(self.projections, state.gating, strict=True):
                post = pops[proj.post]
                out = proj.synapse.rate_output(s, post.V)
                current = proj.weight(out, post.size)
                if not one_pop:
                    full = jnp.zeros((self.n_units,) + current.shape[1:], current.dtype)
                    current = full.at[slices[proj.post]].add(current)
                rec = current if rec is None else rec + current
            nd = state.I_noise.ndim
            base = _trailing(I_0, nd) if rec is None else rec + _trailing(I_0, nd)
            current = base + (drive + state.I_noise)
            r = rates_of(current, state.rates)
            gating, stp = [], []
            for proj, s, st in zip(self.projections, state.gating, state.short_term, strict=True):
                r_pre = r if one_pop else r[slices[proj.pre]]
                if st is not None:
                    eff = r_pre * proj.short_term.relative_efficacy(st)
                    dR, du = proj.short_term.rate_field(st, r_pre)
                    st = (st[0] + dt_ * dR, st[1] + dt_ * du)
                else:
                    eff = r_pre
                gating.append(s + dt_ * proj.synapse.rate_field(s, eff))
                stp.append(st)
            r_state = state.rates
            if any(p.tau is not None for p in pops):
                parts = []
                for p, sl in zip(pops, slices, strict=True):
                    rs = r_state if one_pop else r_state[sl]
                    if p.tau is None:
                        parts.append(rs)
                    else:
                        x = current if one_pop else current[sl]
                        parts.append(rs + dt_ * (p.transfer(x) - rs) / jnp.asarray(p.tau))
                r_state = parts[0] if one_pop else jnp.concatenate(parts)
            I_noise = state.I_noise * _trailing(decay, nd) + _trailing(sd, nd) * xi
            return RateState(tuple(gating), tuple(stp), r_state, I_noise), r

        return step

    def choice_rates(self, rates):
        if self.choice is None:
            return None
        if self.choice == (0, 1) and self.n_units == 2:
            return rates
        return rates[jnp.asarray(self.choice)]

    def time_constants(self) -> dict[str, Param]:
        """Every time constant of the circuit, by path, s."""
        out = {}
        for i, p in enumerate(self.populations):
            if p.noise is not None:
                out[f"populations[{i}].noise.tau"] = p.noise.tau
            if p.tau is not None:
                out[f"populations[{i}].tau"] = p.tau
        for i, proj in enumerate(self.projections):
            for name, tau in proj.synapse.rate_time_constants().items():
                out[f"projections[{i}].synapse.{name}"] = tau
            if proj.short_term is not None:
                out[f"projections[{i}].short_term.tau_rec"] = proj.short_term.tau_rec
        return out

    def check_step(self, dt: float) -> None:
        check_time_constants(self.time_constants(), dt)

    def checked(self):
        return checked_parts(self)

    def violations(self):
        return part_violations(self)


def _trailing(v, ndim: int):
    """A per-unit vector ``(units,)`` given trailing axes to meet ``(units, *batch)``."""
    v = jnp.asarray(v)
    if v.ndim == 0 or v.ndim >= ndim:
        return v
    return v.reshape(v.shape + (1,) * (ndim - v.ndim))


def check_time_constants(taus: dict, dt: float) -> None:
    """Raise ``ValueError`` unless ``dt`` > 0 and ``dt <= tau / 2`` for each concrete ``tau``."""
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 s, got {dt}")
    for name, tau in taus.items():
        try:
            values = jnp.asarray(tau, float)
            lo = float(jnp.min(values))
        except (
            TypeError,
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            continue
        if not lo > 0:
            raise ValueError(f"time constant `{name}` must be > 0 s, got {tau}")
        if dt > 0.5 * lo:
            raise ValueError(
                f"`dt` = {dt} s is too large for `{name}` = {lo} s; use dt <= {0.5 * lo:g} s"
            )
