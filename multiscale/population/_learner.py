r"""The subject of a training session: sensory units, critic, rule, circuit and weights.

:class:`SensoryPopulation` gives the direction-tuned input rates of a trial,
:class:`RewardPrediction` turns the outcome into a dopamine burst or dip, and
:class:`Learner` holds them with the decision circuit and the plasticity rule of the
sensory→decision weights (:func:`~multiscale.population.run_session`).

References:
    Law C-T, Gold JI (2009) Nat Neurosci 12:655.
    Izhikevich EM (2007) Cereb Cortex 17:2443.
    Clarke HF et al. (2011) J Neurosci 31:4290 (reversal under DA depletion).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Shaped

from ..circuit import (
    AbstractCircuit,
    WongWang2006,
)
from ..synapse import (
    AbstractRateRule,
    RewardModulatedHebb,
    apply_mask,
    check_mask,
)
from ._critical_period import AbstractPlasticityGate
from ._session_projections import _plastic_projections

Param = Float[ArrayLike, ""]


def _check_nonneg(owner, obj, names):
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, int | float) and not value >= 0:
            raise ValueError(f"{owner} `{name}` must be >= 0, got {value}")


class SensoryPopulation(eqx.Module):
    r"""Direction-tuned sensory units: $x_j = [x_0 + g\,c\,s\,p_j + \sigma\xi_j]_+$ (Hz).

    Units alternate in preference, $p = (+1, -1, +1, \dots)$. Rates are constant over
    the trial; $\xi_j \sim N(0, 1)$ per unit and trial.

    Attributes:
        n_units: number of units (even), static.
        baseline: $x_0$, Hz (15).
        gain: $g$, Hz per unit coherence (15).
        noise: $\sigma$, Hz (2).
    """

    n_units: int = eqx.field(static=True, default=4)
    baseline: Param = 15.0
    gain: Param = 15.0
    noise: Param = 2.0

    def __check_init__(self):
        if not (isinstance(self.n_units, int) and self.n_units >= 2 and self.n_units % 2 == 0):
            raise ValueError(
                f"SensoryPopulation `n_units` must be an even int >= 2, got {self.n_units}"
            )
        _check_nonneg("SensoryPopulation", self, ("baseline", "gain", "noise"))

    @property
    def preferred(self) -> Float[Array, " units"]:
        """Preferred direction of each unit, +1 or -1."""
        return jnp.where(jnp.arange(self.n_units) % 2 == 0, 1.0, -1.0)

    def rates(
        self, direction: Param, coherence: Param, *, key: PRNGKeyArray
    ) -> Float[Array, " units"]:
        """Rates (Hz) on one trial of ``direction`` (+1/-1) and ``coherence`` (fraction)."""
        dtype = jnp.result_type(float)
        mean = jnp.asarray(self.baseline, dtype) + jnp.asarray(self.gain, dtype) * jnp.asarray(
            coherence, dtype
        ) * jnp.asarray(direction, dtype) * self.preferred.astype(dtype)
        xi = jr.normal(key, (self.n_units,), dtype)
        return jax.nn.relu(mean + jnp.asarray(self.noise, dtype) * xi)


class RewardPrediction(eqx.Module):
    r"""A Rescorla–Wagner critic whose prediction error is released as dopamine.

    $$\delta = R - V,\qquad V \leftarrow V + \alpha_V\,\delta,\qquad
      d_0 = k_+\,[\delta]_+ - k_-\,[-\delta]_+ .$$

    $k_\pm$ default to 50 s⁻¹ per unit reward: ``daspnet.m``'s burst of 0.5 per 10-ms
    update (Izhikevich 2007) for a fully unexpected reward. Blunted dopamine
    (e.g. depletion, Clarke et al. 2011) is a smaller $k_+$ and/or $k_-$.

    Attributes:
        alpha: learning rate of the prediction $V$, in [0, 1] (0.1).
        burst_gain: $k_+$, 1/s per unit positive RPE (50).
        dip_gain: $k_-$, 1/s per unit negative RPE (50).
        v0: initial prediction $V$ (0.5: chance in a two-choice task).
    """

    alpha: Param = 0.1
    burst_gain: Param = 50.0
    dip_gain: Param = 50.0
    v0: Param = 0.5

    def __check_init__(self):
        _check_nonneg("RewardPrediction", self, ("alpha", "burst_gain", "dip_gain"))
        if isinstance(self.alpha, int | float) and self.alpha > 1:
            raise ValueError(f"RewardPrediction `alpha` must be in [0, 1], got {self.alpha}")

    def dopamine(self, rpe: Float[Array, ""]) -> Float[Array, ""]:
        """Dopamine burst (> 0) or dip (< 0), 1/s, for a prediction error."""
        return jnp.asarray(self.burst_gain) * jax.nn.relu(rpe) - jnp.asarray(
            self.dip_gain
        ) * jax.nn.relu(-rpe)


class Learner(eqx.Module):
    """A subject: circuit, sensory front end, plasticity rule, critic and initial weights.

    Attributes:
        circuit: the decision circuit.
        sensory: the sensory units.
        rule: the plasticity rule of the sensory→decision weights: any
            :class:`~multiscale.synapse.AbstractRateRule` (three-factor, Hebb, Oja, BCM,
            STDP in rate form, scaling, iSTDP, a :class:`~multiscale.synapse.Modulated`
            rule, ...). Rules on the circuit's own projections live in their
            ``Projection.rule`` slot.
        critic: reward prediction and dopamine release.
        weights: initial weights, shape (units, 2), dimensionless (input rate to
            population i is $\\sum_j W_{ji} x_j$). Default: 0.5 everywhere (no preference).
        gate: learning-rate factor by age, e.g. a
            :class:`~multiscale.population.CriticalPeriod` (None: always 1). Each trial
            the weights move by gate × the rule's change, for ``rule`` and for every
            learning projection of the circuit.
        mask: existing synapses, boolean, shape (units, 2) (None: all); silent sites
            are held at 0 (structural plasticity, :mod:`multiscale.synapse`).
    """

    circuit: AbstractCircuit = WongWang2006()
    sensory: SensoryPopulation = SensoryPopulation()
    rule: AbstractRateRule = RewardModulatedHebb()
    critic: RewardPrediction = RewardPrediction()
    weights: Float[Array, "units 2"] | None = None
    gate: AbstractPlasticityGate | None = None
    mask: Shaped[Array, "..."] | None = None

    def __check_init__(self):
        if not isinstance(self.rule, AbstractRateRule):
            raise TypeError(
                "Learner `rule` must be an AbstractRateRule (e.g. ms.synapse.Hebb(), "
                f"ms.synapse.RewardModulatedHebb()), got {type(self.rule).__name__}"
            )
        if not isinstance(self.circuit, AbstractCircuit):
            raise TypeError(
                f"Learner `circuit` must be an AbstractCircuit, got {type(self.circuit).__name__}"
            )
        _plastic_projections(self.circuit)  # a rule that cannot act on its projection raises

    def initial_weights(self) -> Float[Array, "units 2"]:
        if self.weights is None:
            w = jnp.full((self.sensory.n_units, 2), 0.5, jnp.result_type(float))
        else:
            w = jnp.asarray(self.weights)
            if w.shape != (self.sensory.n_units, 2):
                raise ValueError(
                    f"Learner `weights` must have shape ({self.sensory.n_units}, 2), got {w.shape}"
                )
        if self.mask is None:
            return w
        return apply_mask(w, check_mask(self.mask, w, "Learner `mask`"))
