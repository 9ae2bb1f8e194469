"""A surrogate gradient scaled by a dampening factor, for recurrent networks whose
linearised loop through unit-height surrogates is unstable."""

import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from ._surrogate import AbstractSurrogate, FastSigmoid

Param = Float[ArrayLike, ""]


class DampedSurrogate(AbstractSurrogate):
    r"""A surrogate whose pseudo-derivative is scaled by $\gamma$: $\gamma\,\sigma'(x)$.

    The forward pass is the exact spike of ``inner``. A unit-height surrogate treats every
    step as a fresh chance to spike: averaged over a membrane-potential distribution
    spread over $\sim$20 mV it gives about 0.02-0.05 spikes per step and mV, while a cell
    of this network (20 Hz, f-I slope of a few Hz/mV) changes its spike probability per
    0.1 ms step by about $5\cdot10^{-4}$ per mV. In the recurrent network the
    linearised loop through the pools then has a gain above one and the gradient grows
    by about 8 % per step (measured: $10^{32}$ after 0.1 s). A dampening factor
    (Bellec et al. 2018 used 0.3) brings the linearised gain down to the network's.

    Attributes:
        inner: the surrogate that is scaled.
        gamma: the factor $\gamma$ (dimensionless, 0.003).

    Measured on :func:`~multiscale.circuit.spiking.wang2002_network` with $N = 200$ (16
    trials, 0.3 s, stimulus 51.2 % from 0.1 s): the gradient of pool A's mean rate with
    respect to $g_\mathrm{ext}$ is 23 Hz/nS at $\gamma = 0.003$ against 29-36 Hz/nS from
    central finite differences (steps of 1-10 %); $\gamma = 0.01$ gives 469 Hz/nS and
    $\gamma = 1$ diverges. The value calibrates the linearisation; it is not a
    property of the network.

    References:
        Bellec G, Salaj D, Subramoney A, Legenstein R, Maass W (2018) Long short-term
        memory and learning-to-learn in networks of spiking neurons. NeurIPS 31.
    """

    inner: AbstractSurrogate = FastSigmoid()
    gamma: Param = 0.003

    @property
    def width(self):
        return self.inner.width

    def derivative(self, x):
        return jnp.asarray(self.gamma, x.dtype) * self.inner.derivative(x)

    def __call__(self, x):
        y = self.inner(x)
        y0 = jax.lax.stop_gradient(y)
        return y0 + jnp.asarray(self.gamma, x.dtype) * (y - y0)
