r"""Calcium-based plasticity rule of Graupner & Brunel 2012 (the model and its parameter sets).

Calcium is a sum of exponentially decaying transients; the efficacy variable $\rho$ is
bistable and is driven up while calcium is above $\theta_p$ and down while it is above
$\theta_d$:

$$\frac{dc}{dt} = -\frac{c}{\tau_\mathrm{Ca}} + C_\mathrm{pre}\sum_i \delta(t - t_i - D)
  + C_\mathrm{post}\sum_j \delta(t - t_j),$$

$$\tau\frac{d\rho}{dt} = -\rho(1-\rho)(\rho_\star-\rho) + \gamma_p(1-\rho)\Theta[c-\theta_p]
  - \gamma_d\,\rho\,\Theta[c-\theta_d] + \sigma\sqrt{\tau}\sqrt{\Theta[c-\theta_d]
  + \Theta[c-\theta_p]}\;\eta(t).$$

The simulations are in :mod:`._graupner_brunel_sim` (spike-driven, exact between
threshold crossings) and :mod:`._graupner_brunel_readout` (the authors' analytic readout,
STDP curves and the rate-based form).
"""

import equinox as eqx
from jaxtyping import ArrayLike, Float

from ..._checks import Constraints, check_fields


class GraupnerBrunel(eqx.Module):
    r"""Graupner & Brunel 2012 calcium-based plasticity rule.

    Attributes:
        tau_Ca: calcium decay time constant, s.
        C_pre: calcium transient per presynaptic spike (dimensionless, units of $\theta_d$).
        C_post: calcium transient per postsynaptic spike (dimensionless).
        theta_d: depression threshold (dimensionless).
        theta_p: potentiation threshold (dimensionless).
        gamma_d: depression rate (dimensionless; divided by $\tau$ it is a rate in 1/s).
        gamma_p: potentiation rate (dimensionless).
        sigma: noise amplitude (dimensionless; 0 gives the deterministic model).
        tau: time constant of $\rho$, s.
        rho_star: boundary between the basins of attraction of DOWN and UP (dimensionless).
        D: delay of the presynaptically evoked calcium transient, s.
        beta: fraction of synapses initially DOWN ($\rho = 0$).
        b: ratio of UP to DOWN synaptic weight, $w_\mathrm{UP}/w_\mathrm{DOWN}$.

    References:
        Graupner M, Brunel N (2012) PNAS 109:3991, with the noise correction PNAS 2013
        (doi 10.1073/pnas.1220044110). Parameter sets from the authors' code
        (github.com/mgraupe/CalciumBasedPlasticityModel, ``synapticChange.py``).
    """

    tau_Ca: Float[ArrayLike, ""]
    C_pre: Float[ArrayLike, ""]
    C_post: Float[ArrayLike, ""]
    theta_d: Float[ArrayLike, ""]
    theta_p: Float[ArrayLike, ""]
    gamma_d: Float[ArrayLike, ""]
    gamma_p: Float[ArrayLike, ""]
    sigma: Float[ArrayLike, ""]
    tau: Float[ArrayLike, ""]
    rho_star: Float[ArrayLike, ""]
    D: Float[ArrayLike, ""]
    beta: Float[ArrayLike, ""]
    b: Float[ArrayLike, ""]

    def __check_init__(self):
        check_fields(
            "GraupnerBrunel",
            self,
            Constraints(
                positive=("tau_Ca", "tau", "theta_d", "theta_p", "b"),
                nonnegative=("C_pre", "C_post", "gamma_d", "gamma_p", "sigma", "D", "beta"),
                finite=("rho_star",),
            ),
        )


def _make(tau_Ca_ms, C_pre, C_post, theta_d, theta_p, gamma_d, gamma_p, sigma, tau, D_ms, beta, b):
    # The authors' parameter tables give tau_Ca and D in ms; the toolkit uses seconds.
    return GraupnerBrunel(
        tau_Ca=tau_Ca_ms * 1e-3,
        C_pre=C_pre,
        C_post=C_post,
        theta_d=theta_d,
        theta_p=theta_p,
        gamma_d=gamma_d,
        gamma_p=gamma_p,
        sigma=sigma,
        tau=tau,
        rho_star=0.5,
        D=D_ms * 1e-3,
        beta=beta,
        b=b,
    )


def gb2012_dp() -> GraupnerBrunel:
    """Generic DP set of Graupner & Brunel 2012 Fig. 2 (the authors' parameters)."""
    return _make(20.0, 1.0, 2.0, 1.0, 1.3, 200.0, 321.808, 2.8284, 150.0, 13.7, 0.5, 5.0)


def gb2012_cortical() -> GraupnerBrunel:
    """Cortical-slice set, fitted to Sjöström et al. 2001 (the authors' parameters)."""
    return _make(
        22.6936, 0.5617539, 1.23964, 1.0, 1.3, 331.909, 725.085, 3.3501, 346.3615, 4.6098,
        0.5, 5.40988,
    )  # fmt: skip


def gb2012_hippocampal() -> GraupnerBrunel:
    """Hippocampal-slice set, fitted to Wittenberg & Wang 2006 (the authors' parameters)."""
    return _make(
        48.8373, 1.0, 0.275865, 1.0, 1.3, 313.0965, 1645.59, 9.1844, 688.355, 18.8008, 0.7,
        5.28145,
    )  # fmt: skip


def gb2012_hippocampal_cultures() -> GraupnerBrunel:
    """Hippocampal-culture set, fitted to Wang et al. 2005 (the authors' parameters)."""
    return _make(
        11.9536, 0.58156, 1.76444, 1.0, 1.3, 61.141, 113.6545, 2.5654, 33.7596, 10.0, 0.5,
        36.0263,
    )  # fmt: skip


def gb2012_dpd() -> GraupnerBrunel:
    """DPD set of Graupner & Brunel 2012 (the authors' parameters)."""
    return _make(20.0, 0.9, 0.9, 1.0, 1.3, 250.0, 550.0, 2.8284, 150.0, 4.6, 0.5, 5.0)


def gb2012_p() -> GraupnerBrunel:
    """P (potentiation-only) set of Graupner & Brunel 2012 (the authors' parameters)."""
    return _make(20.0, 2.0, 2.0, 1.0, 1.3, 160.0, 257.447, 2.8284, 150.0, 0.0, 0.5, 5.0)


def gb2012_d() -> GraupnerBrunel:
    """D (depression-only) set of Graupner & Brunel 2012 (the authors' parameters)."""
    return _make(20.0, 0.6, 0.6, 1.0, 1.3, 500.0, 550.0, 5.6568, 150.0, 0.0, 0.5, 5.0)
