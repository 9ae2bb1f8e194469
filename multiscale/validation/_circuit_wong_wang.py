"""Published targets for the Wong–Wang appendix model: fixed points (Wong & Wang 2006).

Fixed points are computed by Newton's method on the noise-free model with the Jacobian
from ``jax.jacobian`` (float64), and their stability from its eigenvalues.
"""

import jax
import jax.numpy as jnp

from ..circuit import WongWang2006, symmetric_fixed_point, symmetry_breaking_mu0
from ._registry import holds, target, within


@target(
    name="wong_wang_fixed_points",
    scale="circuit",
    source="Wong & Wang 2006 J Neurosci 26:1314, appendix parameters (fixed points and "
    "eigenvalues computed from them; the paper's 7 Hz bifurcation is its AMPA model's)",
)
def _fixed_points():
    with jax.enable_x64(True):
        circuit = WongWang2006()
        spont = symmetric_fixed_point(circuit, 0.0, 0.1)
        saddle = symmetric_fixed_point(circuit, 30.0, 0.4)
        mu_star = symmetry_breaking_mu0(circuit)
        S15 = circuit.gating_at_rate(15.0)
        lam0 = jnp.real(spont.eigenvalues)
        lam = jnp.real(saddle.eigenvalues)
        return [
            within("spontaneous S (mu0 = 0)", 0.1027, float(spont.S[0]), rtol=0.01),
            within("spontaneous r (mu0 = 0), Hz", 1.78, float(spont.r[0]), rtol=0.01),
            holds(
                "spontaneous state stable",
                "all eigenvalues < 0",
                float(lam0[-1]),
                bool(lam0[-1] < 0),
            ),
            within("symmetric S (mu0 = 30 Hz)", 0.4245, float(saddle.S[0]), rtol=0.01),
            within("symmetric r (mu0 = 30 Hz), Hz", 11.5, float(saddle.r[0]), rtol=0.01),
            within("unstable eigenvalue (mu0 = 30 Hz), 1/s", 4.35, float(lam[1]), rtol=0.01),
            within("stable eigenvalue (mu0 = 30 Hz), 1/s", -2.60, float(lam[0]), rtol=0.01),
            within("gating at the 15 Hz threshold", 0.4902, float(S15), rtol=0.01),
            within("symmetry-breaking mu0, Hz", 10.7, float(mu_star), rtol=0.01),
        ]
