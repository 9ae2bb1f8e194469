"""Voltage-dependent Mg2+ block of NMDA receptors (Jahr & Stevens 1990)."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields


class MgBlock(eqx.Module):
    r"""Fraction of NMDA receptors not blocked by extracellular Mg²⁺ (Jahr & Stevens 1990).

    $$B(V) = \frac{1}{1 + e^{-k V}\,[\mathrm{Mg}^{2+}]_o / K_\mathrm{Mg}}$$

    with $k = 0.062\ \mathrm{mV}^{-1}$ and $K_\mathrm{Mg} = 3.57$ mM. $B$ rises from
    ≈ 0.02 at −80 mV to ≈ 0.93 at +20 mV at 1 mM Mg²⁺; it multiplies the NMDA
    conductance, which makes NMDA receptors coincidence detectors of presynaptic
    glutamate and postsynaptic depolarisation.

    Attributes:
        Mg: extracellular Mg²⁺ concentration, mM (1 mM).
        k: voltage sensitivity, 1/mV (0.062).
        K_Mg: Mg²⁺ concentration of half block at 0 mV, mM (3.57).

    Example:
        >>> import multiscale as ms
        >>> round(float(ms.synapse.MgBlock()(-65.0)), 4)
        0.0597

    References:
        Jahr CE, Stevens CF (1990) J Neurosci 10:3178 (Eq. 5 and its fitted constants).
        The same form and constants are used by Wang 2002 (Neuron 36:955) and by
        ModelDB 18500 ``nmda.mod``.
    """

    Mg: Float[ArrayLike, ""] = 1.0
    k: Float[ArrayLike, ""] = 0.062
    K_Mg: Float[ArrayLike, ""] = 3.57
    constraints = Constraints(positive=("k", "K_Mg"), nonnegative=("Mg",))

    def __check_init__(self):
        check_fields("MgBlock", self, self.constraints)

    def __call__(self, V: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        """Unblocked fraction at membrane potential ``V`` (mV), same shape as ``V``."""
        V = jnp.asarray(V)
        if not jnp.issubdtype(V.dtype, jnp.floating):
            V = V.astype(float)
        # Written as a logistic of log-terms so that it neither overflows for very
        # negative V nor loses its gradient: B = sigmoid(k V - log(Mg / K_Mg)).
        # Mg = 0 (no block) gives log(0) = -inf and B = 1 exactly.
        log_ratio = jnp.log(jnp.asarray(self.Mg, dtype=V.dtype)) - jnp.log(
            jnp.asarray(self.K_Mg, dtype=V.dtype)
        )
        return jax.nn.sigmoid(jnp.asarray(self.k, dtype=V.dtype) * V - log_ratio)


def mg_block(
    V: Real[ArrayLike, "*batch"], Mg: Float[ArrayLike, ""] = 1.0
) -> Float[Array, "*batch"]:
    r"""Jahr & Stevens 1990 unblocked fraction $B(V, [\mathrm{Mg}^{2+}]_o)$; see :class:`MgBlock`.

    Args:
        V: membrane potential, mV, any shape.
        Mg: extracellular Mg²⁺, mM (1 mM).

    Returns:
        $B$ (dimensionless, in (0, 1]), same shape as ``V``.
    """
    return MgBlock(Mg=Mg)(V)
