r"""A stimulus gain that is not proportional to coherence.

Wong & Wang's (2006) circuit receives $I_{1,2} = J_{A,\mathrm{ext}}\,\mu_0\,(1 \pm c)$:
the difference between the two populations' inputs, the circuit's "drift", is
proportional to the motion coherence $c$, as in the proportional-rate diffusion model
(Palmer et al. 2005). Fitted to monkeys' choices and reaction times a proportional drift
can leave the psychometric function too shallow at low coherence while the RTs at high
coherence are already right; a drift that grows as a power of coherence, $A = a\,C^m$
with $m < 1$ (Eckhoff et al. 2008, fitted to monkeys learning the random-dot task),
raises the weak coherences relative to the strong ones.

:class:`CoherenceGain` composes any circuit with an :class:`AbstractCoherenceGain`
$g$: the circuit sees the stimulus with coherence $g(c)$ in place of $c$ (and the same
$\mu_0$), so for Wong & Wang's circuit $I_{1,2} = J_{A,\mathrm{ext}}\,\mu_0\,(1 \pm
g(c))$. :class:`PowerGain`, $g(c) = c^m$, maps [0, 1] onto itself with $g(0) = 0$ and
$g(1) = 1$: the mean input $J_{A,\mathrm{ext}}\,\mu_0$ and the inputs at 0 and 100 %
coherence are unchanged, and $m = 1$ is the circuit itself (tested);
:class:`NakaRushtonGain` also levels off at strong coherence. The circuit's
dynamics, noise and readouts are those of the wrapped circuit, so the likelihoods and fits
run it through the ordinary interface, and it composes with
:class:`~multiscale.circuit.Urgent`.

References:
    Wong KF, Wang X-J (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
    Palmer J, Huk AC, Shadlen MN (2005) The effect of stimulus strength on the speed and
    accuracy of a perceptual decision. J Vis 5:376-404.
    Eckhoff P, Holmes P, Law C, Connolly PM, Gold JI (2008) On diffusion processes with
    variable drift rates as models for decision making during learning. New J Phys
    10:015006.
    Naka KI, Rushton WAH (1966) S-potentials from colour units in the retina of fish
    (Cyprinidae). J Physiol 185:536-555.
    Albrecht DG, Hamilton DB (1982) Striate cortex of monkey and cat: contrast response
    function. J Neurophysiol 48:217-237.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields, checked, violations
from ._abstract import AbstractCircuit
from ._protocol import Stimulus

Param = Float[ArrayLike, "..."]


class AbstractCoherenceGain(eqx.Module):
    """A map from the stimulus coherence to the coherence the circuit sees, [0, 1] -> [0, 1]."""

    @abc.abstractmethod
    def __call__(self, c: Float[Array, "*batch"]) -> Float[Array, "*batch"]:
        """The effective coherence (a fraction) for the coherence ``c`` (a fraction)."""

    @abc.abstractmethod
    def checked(self) -> "AbstractCoherenceGain":
        """This gain with its constrained leaves checked at run time."""

    @abc.abstractmethod
    def violations(self) -> Array:
        """True where a constrained leaf is out of range."""


class PowerGain(AbstractCoherenceGain):
    r"""A power law of coherence, $g(c) = c^m$ (Eckhoff et al. 2008).

    $m < 1$ raises the weak coherences relative to the strong ones (a steeper
    psychometric function at low coherence for the same input at high coherence);
    $m = 1$ is the proportional input of Wong & Wang (2006). Differentiable in $m$ at
    every $c$, including $c = 0$ (where $g = 0$ and $\partial g / \partial m = 0$).

    Attributes:
        exponent: $m$, dimensionless, > 0 (1).

    Example:
        >>> import jax.numpy as jnp
        >>> g = PowerGain(exponent=0.5)
        >>> [round(float(x), 3) for x in g(jnp.array([0.0, 0.04, 0.25, 1.0]))]
        [0.0, 0.2, 0.5, 1.0]

    References:
        Eckhoff P, Holmes P, Law C, Connolly PM, Gold JI (2008) New J Phys 10:015006.
    """

    exponent: Param = 1.0
    constraints = Constraints(positive=("exponent",))

    def __check_init__(self):
        check_fields("PowerGain", self, self.constraints)

    def __call__(self, c):
        c = jnp.asarray(c)
        positive = c > 0
        safe = jnp.where(positive, c, 1.0)  # no log(0): the gradient in m stays finite
        return jnp.where(positive, jnp.exp(jnp.asarray(self.exponent) * jnp.log(safe)), 0.0)

    def checked(self) -> "PowerGain":
        return checked("PowerGain", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class NakaRushtonGain(AbstractCoherenceGain):
    r"""A saturating gain, the Naka-Rushton function scaled to $g(1) = 1$:
    $g(c) = c^n\,(1 + c_{50}^n) / (c^n + c_{50}^n)$.

    The contrast-response function of visual neurons (Naka & Rushton 1966; Albrecht &
    Hamilton 1982), here of motion coherence: it grows as $c^n$ well below the
    semi-saturation coherence $c_{50}$ and levels off above it, so the strong coherences
    differ less from each other than a power law gives. $c_{50} \to \infty$ is
    :class:`PowerGain` with $m = n$ (tested); $g(0) = 0$, $g(1) = 1$, so the mean input
    and the inputs at 0 and 100 % coherence are unchanged. Differentiable in $n$ and
    $c_{50}$ at every $c$, including $c = 0$.

    Attributes:
        exponent: $n$, dimensionless, > 0 (1).
        c50: $c_{50}$, the semi-saturation coherence, a fraction, > 0 (0.5).

    Example:
        >>> import jax.numpy as jnp
        >>> g = NakaRushtonGain(exponent=1.0, c50=0.25)
        >>> [round(float(x), 3) for x in g(jnp.array([0.0, 0.25, 1.0]))]
        [0.0, 0.625, 1.0]

    References:
        Naka KI, Rushton WAH (1966) S-potentials from colour units in the retina of fish
        (Cyprinidae). J Physiol 185:536-555.
        Albrecht DG, Hamilton DB (1982) Striate cortex of monkey and cat: contrast response
        function. J Neurophysiol 48:217-237.
    """

    exponent: Param = 1.0
    c50: Param = 0.5
    constraints = Constraints(positive=("exponent", "c50"))

    def __check_init__(self):
        check_fields("NakaRushtonGain", self, self.constraints)

    def __call__(self, c):
        c = jnp.asarray(c)
        n = jnp.asarray(self.exponent)
        positive = c > 0
        safe = jnp.where(positive, c, 1.0)  # no log(0): the gradients stay finite
        cn = jnp.where(positive, jnp.exp(n * jnp.log(safe)), 0.0)
        sn = jnp.exp(n * jnp.log(jnp.asarray(self.c50)))
        return cn * (1.0 + sn) / (cn + sn)

    def checked(self) -> "NakaRushtonGain":
        return checked("NakaRushtonGain", self, self.constraints)

    def violations(self) -> Array:
        return violations(self, self.constraints)


class CoherenceGain(AbstractCircuit):
    r"""A circuit that sees the stimulus's coherence through a gain $g$.

    The stimulus input is ``circuit.stimulus_input(Stimulus(g(c), mu0))``; everything
    else is ``circuit``'s. With ``PowerGain(1.0)`` it is ``circuit`` itself (tested).

    Attributes:
        circuit: the circuit (any :class:`~multiscale.circuit.AbstractCircuit`).
        gain: the coherence gain (an :class:`AbstractCoherenceGain`).

    Example:
        >>> import multiscale as ms
        >>> c = ms.circuit.CoherenceGain(ms.circuit.WongWang2006(), ms.circuit.PowerGain(0.8))
        >>> c.n_noise
        2

    References:
        Eckhoff P, Holmes P, Law C, Connolly PM, Gold JI (2008) New J Phys 10:015006.
    """

    circuit: AbstractCircuit
    gain: AbstractCoherenceGain

    def __check_init__(self):
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"CoherenceGain `circuit` must be an AbstractCircuit, got "
                f"{type(self.circuit).__name__}"
            )
        if not isinstance(self.gain, AbstractCoherenceGain):
            raise TypeError(
                f"CoherenceGain `gain` must be an AbstractCoherenceGain, got "
                f"{type(self.gain).__name__}"
            )

    @property
    def n_noise(self) -> int:
        return self.circuit.n_noise

    def init(self, batch, dtype):
        return self.circuit.init(batch, dtype)

    def stimulus_input(self, stimulus: Stimulus) -> Array:
        seen = Stimulus(coherence=self.gain(stimulus.coherence), mu0=stimulus.mu0)
        return self.circuit.stimulus_input(seen)

    def discretise(self, dt: float):
        return self.circuit.discretise(dt)

    def choice_rates(self, rates):
        return self.circuit.choice_rates(rates)

    def check_step(self, dt: float) -> None:
        self.circuit.check_step(dt)

    def checked(self) -> "CoherenceGain":
        return CoherenceGain(self.circuit.checked(), self.gain.checked())

    def violations(self) -> Array:
        return self.circuit.violations() | self.gain.violations()
