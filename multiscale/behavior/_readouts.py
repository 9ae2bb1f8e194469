r"""Decision readouts of population rates: a hard threshold crossing and a soft hazard.

Both read the rates smoothed by a causal boxcar of ``window`` seconds (the simulation keeps
the running sums and hands each step its window mean) and ignore the pre-stimulus period.
Both are :class:`~multiscale.circuit.AbstractOnlineReadout` ``(init, step, finish)`` triples,
so they run inside :func:`~multiscale.circuit.simulate` (no stored trajectory) or over a
saved trajectory with :func:`apply_readout`.

The soft readout replaces the first crossing by a first event of an inhomogeneous
Poisson process with hazard $h_i(t) = \lambda\,\sigma((\bar r_i(t) - \theta)/T)$ per
population. With the hazards held constant over a step, the probability mass of
deciding for $i$ in step $k$ is exactly

$$m_{i,k} = P_k\, \frac{h_i}{h_1 + h_2}\left(1 - e^{-(h_1 + h_2)\Delta t}\right),
  \qquad P_{k+1} = P_k\, e^{-(h_1 + h_2)\Delta t},$$

with survival $P_0 = 1$. Everything is smooth in the rates, so gradients flow; as
$T \to 0$ and $\lambda\Delta t \to \infty$ the first event is the first crossing.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from .._numerics import exprel
from ..circuit import (
    AbstractCircuit,
    AbstractDecision,
    AbstractOnlineReadout,
    GivenNormals,
    TrialProtocol,
    integrate,
)

Param = Float[Array, ""] | float


def _window_steps(window: float, dt: float) -> int:
    return max(1, round(window / dt))


class Decision(AbstractDecision):
    """Choice and timing of trials (leading batch axes after ``vmap``).

    Attributes:
        choice: 0 for population 1 (favoured by the stimulus: correct for c > 0),
            1 for population 2, -1 for an undecided trial (kept, never dropped).
        decision_time: time from stimulus onset to the crossing, s (NaN if undecided).
        rt: reaction time, decision time + non-decision time, s (NaN if undecided).
    """

    choice: Int[Array, "*batch"]
    decision_time: Float[Array, "*batch"]
    rt: Float[Array, "*batch"]

    @property
    def decided(self) -> Bool[Array, "*batch"]:
        """True where a bound was crossed before the end of the trial."""
        return self.choice >= 0

    @property
    def correct(self) -> Bool[Array, "*batch"]:
        """True where population 1 (the stimulus-favoured one) won."""
        return self.choice == 0

    def choice_probabilities(self):
        """1 for the choice made, 0 for the other (both 0 if undecided)."""
        dtype = self.decision_time.dtype
        return jnp.stack([self.choice == 0, self.choice == 1], axis=-1).astype(dtype)

    def decision_times(self):
        return jnp.stack([self.decision_time, self.decision_time], axis=-1)

    def reaction_times(self):
        return jnp.stack([self.rt, self.rt], axis=-1)


class _HardState(NamedTuple):
    t_on: Float[Array, ""]
    choice: Int[Array, ""]
    t_cross: Float[Array, ""]


class ThresholdReadout(AbstractOnlineReadout):
    r"""First crossing of ``threshold`` by the boxcar-smoothed rate after stimulus onset.

    Attributes:
        threshold: decision threshold $\theta$ on the rate, Hz (15).
        non_decision_time: added to the decision time to give the RT, s (0.1).
        window: boxcar length, s (0.05); fixes the buffer shape, hence static.

    References:
        Wong KF, Wang XJ (2006) J Neurosci 26:1314 (threshold 15 Hz, RT = DT + 100 ms).
    """

    threshold: Param = 15.0
    non_decision_time: Param = 0.1
    window: float = eqx.field(static=True, default=0.05)

    def __check_init__(self):
        if not self.window >= 0:
            raise ValueError(f"ThresholdReadout `window` must be >= 0 s, got {self.window}")
        if isinstance(self.non_decision_time, float) and self.non_decision_time < 0:
            raise ValueError("ThresholdReadout `non_decision_time` must be >= 0 s")

    def window_steps(self, dt: float) -> int:
        return _window_steps(self.window, dt)

    def init(self, r0: Float[Array, "2 ..."], *, dt: float, t_on: Float[Array, ""]) -> _HardState:
        del dt
        batch = r0.shape[1:]
        return _HardState(t_on, jnp.full(batch, -1), jnp.full(batch, jnp.nan, r0.dtype))

    def step(
        self, state: _HardState, t: Float[Array, ""], r_bar: Float[Array, "2 ..."]
    ) -> tuple[_HardState, Bool[Array, "..."]]:
        crossed = (t >= state.t_on) & jnp.any(r_bar >= self.threshold, axis=0)
        new = crossed & (state.choice < 0)
        winner = jnp.argmax(r_bar, axis=0).astype(state.choice.dtype)
        choice = jnp.where(new, winner, state.choice)
        t_cross = jnp.where(new, t - state.t_on, state.t_cross)
        return _HardState(state.t_on, choice, t_cross), new

    def finish(self, state: _HardState) -> Decision:
        rt = state.t_cross + jnp.asarray(self.non_decision_time, state.t_cross.dtype)
        return Decision(choice=state.choice, decision_time=state.t_cross, rt=rt)


class SoftDecision(AbstractDecision):
    """Choice probabilities and expected timing of trials from the hazard readout.

    Attributes:
        p_choice: probability of choosing population 1 and 2, shape (..., 2).
        p_undecided: probability of no decision before the end of the trial.
        mean_decision_time: expected decision time given each choice, s, shape (..., 2)
            (NaN for a choice of probability below ~1e-19 in float32, where the quotient
            and its gradient stop being representable).
        non_decision_time: s.
        decision_time: expected decision time given a decision (either choice), s:
            $\\sum_i m_i \\bar t_i / \\sum_i m_i$ computed from the summed moments, so its
            gradient stays finite when one choice's probability underflows (the
            per-choice means divide by that probability).
    """

    p_choice: Float[Array, "*batch 2"]
    p_undecided: Float[Array, "*batch"]
    mean_decision_time: Float[Array, "*batch 2"]
    non_decision_time: Float[Array, "*batch"]
    decision_time: Float[Array, "*batch"]

    @property
    def p_correct(self) -> Float[Array, "*batch"]:
        """Probability of choosing population 1 (correct for c > 0), given a decision."""
        return self.p_choice[..., 0] / jnp.sum(self.p_choice, axis=-1)

    @property
    def expected_rt(self) -> Float[Array, "*batch"]:
        """Expected RT given a decision, s."""
        return self.decision_time + self.non_decision_time

    def choice_probabilities(self):
        return self.p_choice

    def decision_times(self):
        return self.mean_decision_time

    def reaction_times(self):
        return self.mean_decision_time + jnp.asarray(self.non_decision_time)[..., None]


class _SoftState(NamedTuple):
    t_on: Float[Array, ""]
    dt: Float[Array, ""]
    survival: Float[Array, ""]
    mass: Float[Array, "2"]
    moment: Float[Array, "2"]


class HazardReadout(AbstractOnlineReadout):
    r"""Differentiable readout: escape hazard $\lambda\,\sigma((\bar r - \theta)/T)$ per population.

    Attributes:
        threshold: $\theta$, Hz (15).
        temperature: $T$, Hz (0.25); the hard crossing is the limit $T \to 0$. $T$ must
            be small next to the distance from the saddle's rate (~11.5 Hz at
            $\mu_0 = 30$ Hz) to $\theta$, or the readout decides prematurely.
        rate: maximal hazard $\lambda$, 1/s (1000): about 1 ms from crossing to decision.
        non_decision_time: s (0.1).
        window: boxcar length, s (0.05), static.
    """

    threshold: Param = 15.0
    temperature: Param = 0.25
    rate: Param = 1000.0
    non_decision_time: Param = 0.1
    window: float = eqx.field(static=True, default=0.05)

    def __check_init__(self):
        for name in ("temperature", "rate"):
            value = getattr(self, name)
            if isinstance(value, float) and not value > 0:
                raise ValueError(f"HazardReadout `{name}` must be > 0, got {value}")
        if not self.window >= 0:
            raise ValueError(f"HazardReadout `window` must be >= 0 s, got {self.window}")

    def window_steps(self, dt: float) -> int:
        return _window_steps(self.window, dt)

    def init(self, r0: Float[Array, "2 ..."], *, dt: float, t_on: Float[Array, ""]) -> _SoftState:
        zeros = jnp.zeros(r0.shape, r0.dtype)
        survival = jnp.ones(r0.shape[1:], r0.dtype)
        return _SoftState(t_on, jnp.asarray(dt, r0.dtype), survival, zeros, zeros)

    def hazard(self, r_bar: Float[Array, "2 ..."]) -> Float[Array, "2 ..."]:
        """Escape hazard $\\lambda\\,\\sigma((\\bar r - \\theta)/T)$, 1/s, of rates in Hz."""
        return jnp.asarray(self.rate) * jax.nn.sigmoid((r_bar - self.threshold) / self.temperature)

    def step(
        self, state: _SoftState, t: Float[Array, ""], r_bar: Float[Array, "2 ..."]
    ) -> tuple[_SoftState, Float[Array, "2 ..."]]:
        h = self.hazard(r_bar)
        h = jnp.where(t >= state.t_on, h, jnp.zeros_like(h))
        mass, survival = first_event_masses(state.survival, h, state.dt)
        t_mid = t - 0.5 * state.dt - state.t_on
        new = _SoftState(
            state.t_on, state.dt, survival, state.mass + mass, state.moment + mass * t_mid
        )
        return new, mass

    def finish(self, state: _SoftState) -> SoftDecision:
        # The quotient's gradient divides by mass**2, which underflows to 0 (inf, then NaN
        # after a zero cotangent) for a losing choice's mass of ~1e-20 in float32: below
        # sqrt(smallest normal) the mean is NaN and the gradient is kept off the quotient.
        tiny = jnp.sqrt(jnp.finfo(state.mass.dtype).tiny)
        mean = _safe_ratio(state.moment, state.mass, tiny)
        pooled = _safe_ratio(jnp.sum(state.moment), jnp.sum(state.mass), tiny)
        ndt = jnp.asarray(self.non_decision_time, state.survival.dtype)
        return SoftDecision(state.mass, state.survival, mean, ndt, pooled)


def first_event_masses(
    survival: Float[Array, "*batch"], h: Float[Array, "2 ..."], dt: Float[Array, ""]
) -> tuple[Float[Array, "2 ..."], Float[Array, "*batch"]]:
    r"""Masses of the first event in one step of length ``dt`` (s), and the new survival.

    With the hazards $h_i$ (1/s, leading axis: the two populations) constant over the
    step, $m_i = P\,h_i\,(1 - e^{-H})/H \cdot \Delta t$ with $H = (h_1 + h_2)\Delta t$, and
    $P \leftarrow P e^{-H}$; written with :func:`~multiscale._numerics.exprel` so that
    the mass is finite ($= P h_i \Delta t$) at $H = 0$.
    """
    H = jnp.sum(h, axis=0) * dt
    mass = (survival / exprel(H))[None] * h * dt
    return mass, survival * jnp.exp(-H)


def _safe_ratio(num: Array, den: Array, tiny: Array) -> Array:
    """``num / den`` where ``den > tiny``, else NaN, with finite gradients everywhere."""
    ok = den > tiny
    return jnp.where(ok, num / jnp.where(ok, den, jnp.ones_like(den)), jnp.nan)


class ReadoutTrace(eqx.Module):
    """A readout applied to a saved trajectory: its result and its per-step outputs.

    Attributes:
        result: the readout's result Module (:class:`Decision` or :class:`SoftDecision`).
        ts: end time of each step, s, shape (time,).
        per_step: per-step output: for :class:`HazardReadout` the probability mass of
            deciding for each population in each step, shape (time, 2) (the first-passage
            density times ``dt``); for :class:`ThresholdReadout` True at the crossing step.
    """

    result: eqx.Module
    ts: Float[Array, " time"]
    per_step: Array


class _Replay(AbstractCircuit):
    """A "circuit" that replays saved rates: step ``k`` returns ``rates[k]``."""

    rates: Float[Array, "time 2"]

    @property
    def n_noise(self) -> int:
        return 0

    def init(self, batch, dtype):
        del batch, dtype
        return jnp.zeros((1,), jnp.int32)

    def stimulus_input(self, stimulus):
        del stimulus
        return jnp.zeros((0,), self.rates.dtype)

    def discretise(self, dt):
        del dt
        last = self.rates.shape[0] - 1

        def step(k, drive, xi):
            del drive, xi
            r = jax.lax.dynamic_index_in_dim(self.rates, jnp.minimum(k[0], last), keepdims=False)
            return k + 1, r

        return step

    def choice_rates(self, rates):
        return rates

    def check_step(self, dt):
        del dt

    def checked(self):
        return self

    def violations(self):
        return jnp.asarray(False)


def apply_readout(
    readout: AbstractOnlineReadout,
    ts: Float[Array, " time"],
    r: Float[Array, "time 2"],
    *,
    protocol: TrialProtocol,
) -> ReadoutTrace:
    """Run an online readout over saved choice rates ``r`` (Hz) at times ``ts`` (s).

    ``ts`` are the times at which the rates were saved with ``save_every=1`` (step ``k``
    ends at ``ts[k] + dt``); ``protocol`` gives ``dt`` and the stimulus onset. The rates
    are replayed through the circuit's one loop (:func:`~multiscale.circuit.integrate`),
    so the result is the same as running the readout inside the simulation.
    """
    if r.ndim != 2 or r.shape != ts.shape + (2,):
        raise ValueError(
            f"`r` must have shape (time, 2) matching `ts`, got {r.shape} and {ts.shape}"
        )
    n = ts.shape[0]
    replay_protocol = TrialProtocol(
        dt=protocol.dt,
        t_on=min(protocol.t_on, (n - 1) * protocol.dt),
        t1=n * protocol.dt,
        segment=protocol.segment,
    )
    out = integrate(
        _Replay(r),
        jnp.zeros((0,), r.dtype),
        replay_protocol,
        GivenNormals(jnp.zeros((n, 0), r.dtype)),
        jnp.zeros((n, 0), r.dtype),
        readout,
        emit=lambda x: x,
    )
    ends = ts + jnp.asarray(protocol.dt, ts.dtype)
    return ReadoutTrace(readout.finish(out.readout), ends, out.emitted)
