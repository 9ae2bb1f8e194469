r"""Trial-to-trial variability of the stimulus input.

In the diffusion model the drift rate varies from trial to trial, $v \sim
\mathcal{N}(\bar v, s_v^2)$ (Ratcliff 1978; Ratcliff & Tuerlinckx 2002): the RT
distribution of a strong stimulus becomes a mixture of fast and slower decisions, a
fast front with a longer right tail, which a fixed drift cannot give. In an attractor
circuit the decision time at strong stimuli is set by the nearly deterministic rise of
the winning population, so its high-coherence RTs are tight; the circuit analogue of
$s_v$ is a gain of the stimulus input that varies from trial to trial (e.g. the
fluctuating sensory gain that couples neurons' responses across a trial, Goris et al.
2014).

:class:`VariableInput` composes any circuit with an :class:`AbstractInputVariability`
that changes the stimulus input of the receiving units with a draw $\eta \sim
\mathcal{N}(0, 1)$ per trial. :class:`GainVariability` multiplies it by $\max(0, 1 +
s_v\eta)$: for Wong & Wang's (2006) circuit $J_{A,\mathrm{ext}}(1 + s_v\eta)\,\mu_0\,(1
\pm c)$, so the drive difference (the "drift") varies in proportion to its mean, and so
does the mean input. :class:`CoherenceVariability` shifts the coherence, $J_{A,\mathrm{
ext}}\,\mu_0\,(1 \pm (c + s_v\eta))$: the same spread of the drift at every coherence,
the mean input unchanged, as in the diffusion model. $\eta$ is
the first standard normal of the trial's first step, taken from the trial's own noise
stream (that step's first normal is then replaced by 0 for the circuit, so $\eta$ is
independent of every normal the circuit uses): a trial's $\eta$ is fixed by its key,
the Monte Carlo likelihood's paths stay fixed across parameter values (common random
numbers) and the gradient in $s_v$ flows through $s_v\eta$ (a reparameterised draw).
The draw and a flag are carried in the state (two extra rows), so
:func:`~multiscale.circuit.integrate`, the readouts, the trial likelihood and the fits
run it through the ordinary interface, and it composes with
:class:`~multiscale.circuit.Urgent` and :class:`~multiscale.circuit.CoherenceGain`
(wrap it outermost to leave an urgency current unscaled).

References:
    Ratcliff R (1978) A theory of memory retrieval. Psychol Rev 85:59-108.
    Ratcliff R, Tuerlinckx F (2002) Estimating parameters of the diffusion model:
    approaches to dealing with contaminant reaction times and parameter variability.
    Psychon Bull Rev 9:438-481.
    Goris RLT, Movshon JA, Simoncelli EP (2014) Partitioning neuronal variability.
    Nat Neurosci 17:858-865.
    Wong KF, Wang X-J (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
"""

import abc
from typing import Any, NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, violations
from ._abstract import AbstractCircuit
from ._protocol import Stimulus

Param = Float[ArrayLike, "..."]


class VariableInputState(NamedTuple):
    """The wrapped circuit's state, the trial's gain draw $\\eta$ and whether it is drawn
    (0 before the first step, 1 after), each ``(1, *batch)``."""

    inner: Any
    eta: Array
    drawn: Array


class AbstractInputVariability(eqx.Module):
    """How a trial's draw $\\eta \\sim \\mathcal{N}(0, 1)$ changes the stimulus input."""

    @abc.abstractmethod
    def __call__(
        self, drive: Float[Array, "rows ..."], eta: Float[Array, "..."], units
    ) -> Float[Array, "rows ..."]:
        """The stimulus input ``drive`` (nA, one row per input) of a trial with draw ``eta``;
        ``units`` are the rows it acts on (static)."""

    @abc.abstractmethod
    def checked(self) -> "AbstractInputVariability":
        """This variability with its constrained leaves checked at run time."""

    @abc.abstractmethod
    def violations(self) -> Array:
        """True where a constrained leaf is out of range."""


def _rows(drive, units) -> np.ndarray:
    rows = np.zeros((drive.shape[0],) + (1,) * (drive.ndim - 1), bool)
    rows[list(units)] = True
    return rows


class GainVariability(AbstractInputVariability):
    r"""A gain of the whole stimulus input, $\max(0, 1 + s_v\eta)$, per trial.

    For Wong & Wang's (2006) circuit the input is $J_{A,\mathrm{ext}}(1 + s_v\eta)\,\mu_0
    \,(1 \pm c)$: the drive difference varies in proportion to its mean (more at strong
    coherence), and so does the mean input to both populations.

    Attributes:
        sd: $s_v$, the coefficient of variation of the gain, dimensionless, >= 0 (0.1).

    References:
        Goris RLT, Movshon JA, Simoncelli EP (2014) Nat Neurosci 17:858-865.
    """

    sd: Param = 0.1
    constraints = Constraints(nonnegative=("sd",))

    def __check_init__(self):
        check_fields("GainVariability", self, self.constraints)

    def __call__(self, drive, eta, units):
        gain = jnp.maximum(1.0 + jnp.asarray(self.sd) * eta, 0.0)
        return jnp.where(_rows(drive, units), drive * gain[None], drive)

    def checked(self) -> "GainVariability":
        return checked("GainVariability", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class CoherenceVariability(AbstractInputVariability):
    r"""An additive variability of the coherence the circuit sees, $c + s_v\eta$, per trial.

    For the two units $(a, b)$ with mean input $\bar I = (I_a + I_b)/2$ the inputs become
    $I_a + s_v\eta\bar I$ and $I_b - s_v\eta\bar I$: for Wong & Wang's (2006) circuit
    $J_{A,\mathrm{ext}}\,\mu_0\,(1 \pm (c + s_v\eta))$. The drive difference varies by
    the same amount at every coherence and the mean input is unchanged: the diffusion
    model's $v \sim \mathcal{N}(\bar v, s_v^2)$ (Ratcliff 1978), $s_v$ in units of coherence.

    Attributes:
        sd: $s_v$, the SD of the coherence, a fraction, >= 0 (0.05).

    References:
        Ratcliff R (1978) Psychol Rev 85:59-108.
    """

    sd: Param = 0.05
    constraints = Constraints(nonnegative=("sd",))

    def __check_init__(self):
        check_fields("CoherenceVariability", self, self.constraints)

    def __call__(self, drive, eta, units):
        if len(units) != 2:
            raise ValueError(f"CoherenceVariability acts on two units, got {units}")
        a, b = units
        shift = jnp.asarray(self.sd) * eta * 0.5 * (drive[a] + drive[b])
        return drive.at[a].add(shift).at[b].add(-shift)

    def checked(self) -> "CoherenceVariability":
        return checked("CoherenceVariability", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class VariableInput(AbstractCircuit):
    r"""A circuit whose stimulus input varies from trial to trial.

    While the stimulus is on, the input of ``units`` is changed by ``variability`` with
    $\eta \sim \mathcal{N}(0, 1)$ drawn once per trial from the trial's noise (see the
    module docstring): :class:`GainVariability` scales it by $\max(0, 1 + s_v\eta)$,
    :class:`CoherenceVariability` shifts the coherence by $s_v\eta$. The other units and
    everything else of ``circuit`` are unchanged. With $s_v = 0$ it is ``circuit`` itself
    up to one step's noise.

    Attributes:
        circuit: the circuit (any :class:`~multiscale.circuit.AbstractCircuit` whose
            stimulus input is a current onto its units, units first).
        variability: how the draw enters (an :class:`AbstractInputVariability`).
        units: the units whose input varies (static; the two choice populations (0, 1)).

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.VariableInput(
        ...     ms.circuit.WongWang2006(), ms.circuit.GainVariability(sd=0.2)
        ... )
        >>> c.n_noise
        2

    References:
        Ratcliff R, Tuerlinckx F (2002) Psychon Bull Rev 9:438-481.
    """

    circuit: AbstractCircuit
    variability: AbstractInputVariability
    units: tuple[int, ...] = eqx.field(static=True, default=(0, 1))

    def __check_init__(self):
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"VariableInput `circuit` must be an AbstractCircuit, got "
                f"{type(self.circuit).__name__}"
            )
        if not isinstance(self.variability, AbstractInputVariability):
            raise TypeError(
                f"VariableInput `variability` must be an AbstractInputVariability, got "
                f"{type(self.variability).__name__}"
            )
        if len(self.units) < 1 or len(set(self.units)) != len(self.units):
            raise ValueError(
                f"VariableInput `units` must be distinct unit indices, got {self.units}"
            )

    @property
    def n_noise(self) -> int:
        return self.circuit.n_noise

    def init(self, batch, dtype) -> VariableInputState:
        zero = jnp.zeros((1,) + tuple(batch), dtype)
        return VariableInputState(self.circuit.init(batch, dtype), zero, zero)

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        drive = self.circuit.stimulus_input(stimulus)
        if drive.shape[0] <= max(self.units):
            raise ValueError(
                f"VariableInput `units` {self.units} must index the circuit's input rows "
                f"({drive.shape[0]})"
            )
        return drive

    def discretise(self, dt: float):
        inner_step = self.circuit.discretise(dt)

        def step(state: VariableInputState, drive, xi):
            # Every trial of a batch draws on the same (first) step, so one element of the
            # flag stands for all (the normals may be shared over a batch's leading axes).
            first = jnp.reshape(state.drawn, (-1,))[0] == 0
            eta = jnp.where(first, xi[0], state.eta[0])
            # The draw's normal is not also used as the circuit's noise.
            xi = xi.at[0].set(jnp.where(first, jnp.zeros_like(xi[0]), xi[0]))
            drive = self.variability(drive, eta, self.units)
            inner, rates = inner_step(state.inner, drive, xi)
            one = jnp.ones_like(state.drawn)
            return VariableInputState(inner, eta[None], one), rates

        return step

    def choice_rates(self, rates):
        return self.circuit.choice_rates(rates)

    def check_step(self, dt: float) -> None:
        self.circuit.check_step(dt)

    def checked(self) -> "VariableInput":
        return VariableInput(self.circuit.checked(), self.variability.checked(), self.units)

    def violations(self) -> Array:
        return self.circuit.violations() | self.variability.violations()
