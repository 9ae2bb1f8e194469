r"""Rate populations: transfer functions, background input, current noise and rate dynamics.

A :class:`RatePopulation` is a group of ``size`` rate units that share a transfer
function $f$ (Hz of nA), a background current $I_0$, an Ornstein–Uhlenbeck current noise
and, optionally, a rate time constant $\tau_r$: with $\tau_r$ the rate obeys
$\tau_r\,dr/dt = -r + f(I)$ (Wilson–Cowan form); without it the rate follows the input
instantly, $r = f(I)$, and the slow variables are the synaptic gatings (the Wong–Wang
form).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields
from .._numerics import exprel

Param = Float[ArrayLike, "..."]


class AbstractTransfer(eqx.Module):
    """A transfer function: rate (Hz) of input current (nA), elementwise."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """Rate, Hz, at input current ``x``, nA."""


class AbbottChance(AbstractTransfer):
    r"""$f(x) = (a x - b) / (1 - e^{-d(a x - b)})$ (Abbott & Chance 2005), finite at $a x = b$.

    The defaults are Wong & Wang's (2006) fit to a population of leaky integrate-and-fire
    neurons.

    Attributes:
        a: gain, Hz/nA (270).
        b: offset, Hz (108).
        d: curvature, s (0.154).

    References:
        Abbott LF, Chance FS (2005) Drivers and modulators from push-pull and balanced
        synaptic input. Prog Brain Res 149:147-155.
    """

    a: Param = 270.0
    b: Param = 108.0
    d: Param = 0.154
    constraints = Constraints(positive=("a", "d"), finite=("b",))

    def __check_init__(self):
        check_fields("AbbottChance", self, self.constraints)

    def __call__(self, x):
        d = jnp.asarray(self.d)
        u = jnp.asarray(self.a) * jnp.asarray(x) - jnp.asarray(self.b)
        return exprel(d * u) / d


class ThresholdLinear(AbstractTransfer):
    r"""$f(x) = g\,[x - \theta]_+$, Hz.

    Attributes:
        gain: $g$, Hz/nA (1).
        threshold: $\theta$, nA (0).
    """

    gain: Param = 1.0
    threshold: Param = 0.0
    constraints = Constraints(positive=("gain",), finite=("threshold",))

    def __check_init__(self):
        check_fields("ThresholdLinear", self, self.constraints)

    def __call__(self, x):
        return jnp.asarray(self.gain) * jax.nn.relu(x - jnp.asarray(self.threshold))


class PowerLaw(AbstractTransfer):
    r"""$f(x) = k\,[x]_+^n$, Hz: the supralinear stabilised network (Ahmadian et al. 2013).

    Attributes:
        k: gain, Hz/nA^n (0.04).
        n: exponent (2).

    References:
        Ahmadian Y, Rubin DB, Miller KD (2013) Analysis of the stabilized supralinear
        network. Neural Comput 25:1994-2037.
    """

    k: Param = 0.04
    n: Param = 2.0
    constraints = Constraints(positive=("k", "n"))

    def __check_init__(self):
        check_fields("PowerLaw", self, self.constraints)

    def __call__(self, x):
        return jnp.asarray(self.k) * jax.nn.relu(x) ** jnp.asarray(self.n)


class Sigmoid(AbstractTransfer):
    r"""$f(x) = r_\max / (1 + e^{-\beta (x - \theta)})$, Hz (Wilson & Cowan 1972).

    Attributes:
        r_max: maximal rate, Hz (100).
        slope: $\beta$, 1/nA (1).
        threshold: $\theta$, nA (0).

    References:
        Wilson HR, Cowan JD (1972) Excitatory and inhibitory interactions in localized
        populations of model neurons. Biophys J 12:1-24.
    """

    r_max: Param = 100.0
    slope: Param = 1.0
    threshold: Param = 0.0
    constraints = Constraints(positive=("r_max", "slope"), finite=("threshold",))

    def __check_init__(self):
        check_fields("Sigmoid", self, self.constraints)

    def __call__(self, x):
        return jnp.asarray(self.r_max) * jax.nn.sigmoid(
            jnp.asarray(self.slope) * (x - jnp.asarray(self.threshold))
        )


class OUNoise(eqx.Module):
    r"""Ornstein–Uhlenbeck current noise: $\tau\,dI = -I\,dt + \sqrt{\tau}\,\sigma\,dW$.

    Its stationary standard deviation is $\sigma/\sqrt 2$; the step uses the exact
    transition
    $I \leftarrow I e^{-\Delta t/\tau} + (\sigma/\sqrt2)\sqrt{1 - e^{-2\Delta t/\tau}}\,\xi$.

    Attributes:
        sigma: amplitude $\sigma$, nA (0.02).
        tau: correlation time, s (2 ms: AMPA).

    References:
        Wong KF, Wang XJ (2006) J Neurosci 26:1314-1328 (eq. A3).
    """

    sigma: Param = 0.02
    tau: Param = 0.002
    constraints = Constraints(nonnegative=("sigma",), positive=("tau",))

    def __check_init__(self):
        check_fields("OUNoise", self, self.constraints)

    def transition(self, dt: float) -> tuple[Array, Array]:
        """``(decay, sd)`` of one exact step of ``dt`` seconds."""
        dtype = jnp.result_type(float)
        decay = jnp.exp(-jnp.asarray(dt, dtype) / jnp.asarray(self.tau))
        sd = jnp.asarray(self.sigma) / jnp.sqrt(2.0) * jnp.sqrt(1.0 - decay**2)
        return decay, sd


class RatePopulation(eqx.Module):
    r"""A group of ``size`` rate units with one transfer function, input and noise.

    The input current of a unit is the sum of its projections' currents, the background
    $I_0$, the stimulus and the noise current (nA).

    Attributes:
        transfer: the transfer function $f$ (e.g. :class:`AbbottChance`).
        size: number of units (static).
        I_0: background current, nA (0).
        noise: an :class:`OUNoise`, or ``None`` for a noiseless population.
        tau: rate time constant $\tau_r$, s, or ``None`` for instantaneous rates.
        V: mean membrane potential, mV (-55), at which voltage-dependent receptors (the
            NMDA Mg²⁺ block) of projections onto this population are evaluated.
        name: a label for plots and messages (static).
    """

    transfer: AbstractTransfer
    size: int = eqx.field(static=True, default=1)
    I_0: Param = 0.0
    noise: OUNoise | None = None
    tau: Param | None = None
    V: Param = -55.0
    name: str = eqx.field(static=True, default="")
    # A ``tau`` of None (instantaneous rates) is skipped by the checks.
    constraints = Constraints(positive=("tau",), finite=("I_0", "V"))

    def __check_init__(self):
        if not isinstance(self.transfer, AbstractTransfer):
            raise TypeError(
                f"RatePopulation `transfer` must be an AbstractTransfer (e.g. "
                f"AbbottChance()), got {type(self.transfer).__name__}"
            )
        if not (isinstance(self.size, int) and self.size >= 1):
            raise ValueError(f"RatePopulation `size` must be an int >= 1, got {self.size!r}")
        check_fields("RatePopulation", self, self.constraints)
