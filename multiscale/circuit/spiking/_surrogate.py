r"""Surrogate gradients: a Heaviside spike in the forward pass, a smooth derivative backward.

A spike is $s = H(v - \vartheta)$, whose derivative is zero almost everywhere, so
``jax.grad`` through a spiking network would be zero. A surrogate gradient keeps the exact
forward pass (spikes are 0 or 1) and replaces $H'(x)$, $x = v - \vartheta$ (mV), by a
smooth pseudo-derivative $\sigma'(x)$ in the backward pass (Neftci, Mostafa & Zenke 2019,
IEEE Signal Process Mag). Each shape is an object; its parameter sets the width in mV.
The rule is written with ``jax.custom_jvp``, so it serves forward and reverse mode.

References:
    Neftci EO, Mostafa H, Zenke F (2019) Surrogate gradient learning in spiking neural
    networks. IEEE Signal Process Mag 36:51-63.
    Zenke F, Ganguli S (2018) SuperSpike: supervised learning in multilayer spiking neural
    networks. Neural Comput 30:1514-1541.
    Bellec G, Salaj D, Subramoney A, Legenstein R, Maass W (2018) Long short-term memory
    and learning-to-learn in networks of spiking neurons. NeurIPS 31.
    Fang W, Yu Z, Chen Y, Masquelier T, Huang T, Tian Y (2021) Incorporating learnable
    membrane time constant to enhance learning of spiking neural networks. Proc IEEE/CVF
    Int Conf Comput Vis (ICCV), 2661-2671.
"""

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def _spike_function(derivative):
    """A Heaviside step with ``derivative(x, width)`` as its JVP rule (no tangent in width)."""

    @jax.custom_jvp
    def spike(x, width):
        del width
        return (x >= 0).astype(x.dtype)

    @spike.defjvp
    def _jvp(primals, tangents):
        x, width = primals
        dx, _ = tangents
        return spike(x, width), derivative(x, width).astype(x.dtype) * dx

    return spike


def _fast_sigmoid(x, width):
    return 0.5 / (width * (1.0 + jnp.abs(x) / width) ** 2)


def _arctan(x, width):
    return 1.0 / (math.pi * width * (1.0 + (x / width) ** 2))


def _triangle(x, width):
    return jnp.maximum(0.0, 1.0 - jnp.abs(x) / width) / width


_FAST_SIGMOID = _spike_function(_fast_sigmoid)
_ARCTAN = _spike_function(_arctan)
_TRIANGLE = _spike_function(_triangle)


class AbstractSurrogate(eqx.Module):
    r"""A spike nonlinearity: $H(x)$ forward, a pseudo-derivative $\sigma'(x)$ backward.

    ``surrogate(x)`` returns exact 0/1 spikes for $x = v - \vartheta$ (mV); under
    differentiation its derivative is :meth:`derivative`, which integrates to 1 over $x$
    (so the surrogate is the derivative of a smoothed step of unit height).
    """

    width: eqx.AbstractVar[Float[ArrayLike, ""]]

    @abc.abstractmethod
    def derivative(self, x: Float[Array, "..."]) -> Float[Array, "..."]:
        """The pseudo-derivative $\\sigma'(x)$, 1/mV."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, "..."]) -> Float[Array, "..."]:
        """Spikes $H(x)$ (0 or 1, the dtype of ``x``) with the surrogate derivative."""


class FastSigmoid(AbstractSurrogate):
    r"""SuperSpike's fast sigmoid: $\sigma'(x) = 1 / (2w\,(1 + |x|/w)^2)$ (Zenke & Ganguli 2018).

    Attributes:
        width: $w$, mV (1.0): the derivative falls to a quarter of its peak at $|x| = w$.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> f = FastSigmoid(width=1.0)
        >>> float(f(jnp.asarray(0.5))), float(jax.grad(f)(jnp.asarray(0.0)))
        (1.0, 0.5)
    """

    width: Float[ArrayLike, ""] = 1.0

    def derivative(self, x):
        return _fast_sigmoid(x, self.width)

    def __call__(self, x):
        return _FAST_SIGMOID(x, jnp.asarray(self.width, x.dtype))


class ArcTan(AbstractSurrogate):
    r"""Arctangent surrogate: $\sigma'(x) = 1 / (\pi w (1 + (x/w)^2))$ (Fang et al. 2021).

    Attributes:
        width: $w$, mV (1.0), the half width at half maximum.
    """

    width: Float[ArrayLike, ""] = 1.0

    def derivative(self, x):
        return _arctan(x, self.width)

    def __call__(self, x):
        return _ARCTAN(x, jnp.asarray(self.width, x.dtype))


class Triangle(AbstractSurrogate):
    r"""Piecewise-linear surrogate: $\sigma'(x) = \max(0, 1 - |x|/w)/w$ (Bellec et al. 2018).

    Attributes:
        width: $w$, mV (1.0): the derivative is zero beyond $|x| = w$.
    """

    width: Float[ArrayLike, ""] = 1.0

    def derivative(self, x):
        return _triangle(x, self.width)

    def __call__(self, x):
        return _TRIANGLE(x, jnp.asarray(self.width, x.dtype))
