r"""Acetylcholine, noradrenaline and serotonin: modulators of plasticity and circuit gain.

Dopamine enters plasticity as the third factor of :mod:`._three_factor`. The other three
ascending modulators act here, each as a Module whose fields are the sizes of its
effects and whose **level** $L \ge 0$ (dimensionless; 0 = baseline, no effect) is an
explicit argument, so it can change trial by trial, be batched with ``vmap`` and be
differentiated. Each modulator has two sides:

- :meth:`~AbstractNeuromodulator.effect` gives multipliers on afferent and recurrent
  excitatory transmission and on the neuronal transfer gain
  (:class:`ModulatoryEffect`); the circuit scale applies them to a circuit's parameters
  (:func:`multiscale.circuit.modulate_circuit`), so this scale never imports a circuit.
- :meth:`~AbstractNeuromodulator.plasticity_factor` multiplies the weight change of any
  rate rule; :class:`~multiscale.synapse.Modulated` wraps any
  :class:`AbstractRateRule` with a modulator.

With a modulator factor $f_{ij}(L)$ and the base rule's change
$\Delta w_{ij} = w^\mathrm{base}_{ij} - w_{ij}$ over a step,

$$w_{ij} \leftarrow \mathrm{clip}\big(w^\mathrm{base}_{ij} + (f_{ij} - 1)\,\Delta w_{ij},\;
  w_\min,\, w_\max\big),$$

so $f = 1$ (every modulator at $L = 0$) returns the base rule's weights bit for bit.
For a rule with constant drift and no active bound this equals scaling its learning
rate by $f$; for rules integrated nonlinearly over a step (BCM's sliding threshold,
soft bounds, Oja) it scales the step's net change, which agrees to first order in the
step. State variables other than the weights (thresholds, eligibility traces,
dopamine) are the base rule's, unmodulated.

**Numbers.** The literature fixes the *direction* of each effect (cited per class). The
sizes per unit level are model choices: no published dose–response that maps a level
onto these factors is available to us (the carbachol suppression percentages of Hasselmo
& Bower 1992 and Hasselmo & Schnell 1994, and the gain values of Servan-Schreiber et al.
1990, were not available). Level 1 is the reference level at which the
fields apply; the circuit defaults keep the Wong–Wang circuit in its decision regime
(validation targets ``neuromod_*``).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, error_if
from ._rate_rule import (
    ModulatorSignals,
)

Param = Float[ArrayLike, ""]


def check_level(level: Real[ArrayLike, "..."], dtype) -> Float[Array, ""]:
    """A modulator ``level`` as a scalar array of ``dtype``; it must be finite and >= 0.

    A concrete bad value raises ``ValueError`` at once; inside ``jit`` the check is an
    ``eqx.error_if``.
    """
    lv = jnp.asarray(level, dtype=dtype)
    if lv.ndim != 0:
        raise ValueError(
            f"`level` must be a scalar (dimensionless; batch with vmap), got shape {lv.shape}"
        )
    try:
        value = float(np.asarray(lv))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = ~(jnp.isfinite(lv) & (lv >= 0))
        return error_if(lv, bad, "modulator `level` must be finite and >= 0")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"modulator `level` must be finite and >= 0 (0 = baseline), got {value}")
    return lv


class ModulatoryEffect(eqx.Module):
    """Multipliers (dimensionless, 1 = no change) that a modulator level applies to a circuit.

    Attributes:
        afferent: factor on afferent (feedforward, external) excitatory transmission.
        recurrent: factor on recurrent (intrinsic, intracortical) excitatory transmission.
        gain: factor on the slope of the neuronal transfer function.
    """

    afferent: Float[Array, ""]
    recurrent: Float[Array, ""]
    gain: Float[Array, ""]


class AbstractNeuromodulator(eqx.Module):
    """A neuromodulator: its effect on circuit transmission and gain, and on plasticity.

    Concrete modulators are final classes whose fields are the effect sizes at level 1.
    """

    @abc.abstractmethod
    def effect(self, level: Real[ArrayLike, ""]) -> ModulatoryEffect:
        """Multipliers on afferent and recurrent transmission and on gain at ``level``."""

    @abc.abstractmethod
    def plasticity_factor(
        self,
        dw: Float[Array, "pre post"],
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        level: Float[Array, ""],
    ) -> Float[Array, "pre post"]:
        """Factor on each synapse's weight change ``dw`` at rates (Hz) and ``level``.

        Must equal exactly 1 at ``level == 0``.
        """

    @abc.abstractmethod
    def level_in(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """This modulator's level among a session's :class:`ModulatorSignals`."""


def _ones(level: Real[ArrayLike, ""]) -> Float[Array, ""]:
    lv = check_level(level, jnp.result_type(float))
    return jnp.ones_like(lv)


class Acetylcholine(AbstractNeuromodulator):
    r"""Acetylcholine: novelty / expected uncertainty; afferent over recurrent, active synapses.

    Circuit: afferent transmission up, recurrent transmission down,

    $$J_\mathrm{aff} \to J_\mathrm{aff}\,(1 + \alpha L), \qquad
      J_\mathrm{rec} \to J_\mathrm{rec} / (1 + \beta L).$$

    In piriform cortex and hippocampus, cholinergic agonists (carbachol) suppress
    glutamatergic transmission at intrinsic/recurrent fibre synapses (layer Ib; CA1
    stratum radiatum) much more than at afferent fibre synapses (layer Ia; stratum
    lacunosum-moleculare), largely by presynaptic muscarinic inhibition (Hasselmo &
    Bower 1992; Hasselmo & Schnell 1994; in CA3 the laminar difference is significant
    at low concentrations only: Kremin & Hasselmo 2007). In neocortex, ACh causes less
    presynaptic inhibition at afferent than at intracortical synapses (Gil, Connors &
    Amitai 1997). Yu & Dayan (2005) read ACh as *expected uncertainty*, which should shift
    inference from top-down expectations towards bottom-up sensory input. The afferent
    *increase* $\alpha > 0$ is a modelling choice (the data show afferent input spared,
    not boosted; set ``afferent_gain=0`` for that reading).

    Plasticity: changes of active synapses are enhanced, those of inactive ones suppressed,

    $$f_{ij} = \begin{cases} 1 + \kappa_a L & x_i > \theta_\mathrm{act} \\
      1 / (1 + \kappa_i L) & \text{otherwise,} \end{cases}$$

    which sharpens what is learned (signal-to-noise of the learned weights). ACh enhances
    LTP induction in cortex and hippocampus (reviewed by Hasselmo 2006) and, in
    Hasselmo's models, suppressing recurrent transmission during encoding keeps old
    associations from interfering with new ones. The gate $x_i > \theta_\mathrm{act}$
    is a hard step, so the gradient with respect to the rates does not pass through it;
    gradients with respect to ``level`` and the other fields do.

    Attributes:
        afferent_gain: $\alpha$, fractional increase of afferent transmission at level 1,
            >= 0 (0.2; model choice, no published number available).
        recurrent_suppression: $\beta$, recurrent transmission is divided by
            $1 + \beta L$, >= 0 (0.05; model choice. The Wong–Wang circuit tolerates
            little: with $J_{N11}, J_{N12}$ divided by 1.1, 9.6 % of trials at 3.2 %
            coherence stay undecided for 2 s, and at x 0.8 none decides, so the large
            suppressions seen with carbachol in slices are out of its range).
        active_boost: $\kappa_a$, >= 0 (1.0: level 1 doubles active synapses' changes;
            model choice).
        inactive_suppression: $\kappa_i$, >= 0 (1.0: level 1 halves inactive synapses'
            changes; model choice).
        activity_threshold: $\theta_\mathrm{act}$, presynaptic rate above which a
            synapse counts as active, Hz (5.0; model choice).

    Example:
        >>> import jax.numpy as jnp
        >>> ach = Acetylcholine()
        >>> f = ach.plasticity_factor(jnp.ones((2, 1)), jnp.array([20.0, 1.0]),
        ...                           jnp.array([10.0]), jnp.asarray(1.0))
        >>> [round(float(v), 2) for v in f[:, 0]]
        [2.0, 0.5]

    References:
        Hasselmo ME, Bower JM (1992) Cholinergic suppression specific to intrinsic not
        afferent fiber synapses in rat piriform (olfactory) cortex. J Neurophysiol 67:1222.
        Hasselmo ME, Schnell E (1994) J Neurosci 14:3898.
        Gil Z, Connors BW, Amitai Y (1997) Differential regulation of neocortical synapses
        by neuromodulators and activity. Neuron 19:679.
        Yu AJ, Dayan P (2005) Uncertainty, neuromodulation, and attention. Neuron 46:681.
        Hasselmo ME (2006) The role of acetylcholine in learning and memory. Curr Opin
        Neurobiol 16:710.
        Kremin T, Hasselmo ME (2007) Neuroscience, doi:10.1016/j.neuroscience.2007.07.007.
    """

    afferent_gain: Param = 0.2
    recurrent_suppression: Param = 0.05
    active_boost: Param = 1.0
    inactive_suppression: Param = 1.0
    activity_threshold: Param = 5.0

    def __check_init__(self):
        check_fields(
            "Acetylcholine",
            self,
            Constraints(
                nonnegative=(
                    "afferent_gain",
                    "recurrent_suppression",
                    "active_boost",
                    "inactive_suppression",
                    "activity_threshold",
                )
            ),
        )

    def level_in(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """The ``acetylcholine`` level of the signals."""
        return signals.acetylcholine

    def effect(self, level: Real[ArrayLike, ""]) -> ModulatoryEffect:
        lv = check_level(level, jnp.result_type(float))
        return ModulatoryEffect(
            afferent=1.0 + jnp.asarray(self.afferent_gain, lv.dtype) * lv,
            recurrent=1.0 / (1.0 + jnp.asarray(self.recurrent_suppression, lv.dtype) * lv),
            gain=jnp.ones_like(lv),
        )

    def plasticity_factor(
        self,
        dw: Float[Array, "pre post"],
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        level: Float[Array, ""],
    ) -> Float[Array, "pre post"]:
        del post_rate
        dt = dw.dtype
        up = 1.0 + jnp.asarray(self.active_boost, dt) * level
        down = 1.0 / (1.0 + jnp.asarray(self.inactive_suppression, dt) * level)
        active = pre_rate > jnp.asarray(self.activity_threshold, dt)
        return jnp.broadcast_to(jnp.where(active, up, down)[:, None], dw.shape)


class Noradrenaline(AbstractNeuromodulator):
    r"""Noradrenaline: arousal / unexpected uncertainty; global gain and a surprise learning boost.

    Circuit: the slope of the transfer function is multiplied, $g \to g\,(1 + \gamma L)$
    (for the Wong–Wang circuit, $a \to a(1 + \gamma L)$ with $b$ moved so the rate at a
    pivot current is unchanged: :func:`multiscale.circuit.modulate_circuit`). NE increases
    the responsivity of target cells to their excitatory and inhibitory inputs, modelled
    as the gain of the activation function (Servan-Schreiber, Printz & Cohen 1990); the
    adaptive-gain theory makes LC-NE the regulator of that gain (Aston-Jones & Cohen 2005).
    In a biophysical decision network, high tonic NE gives impulsive, inaccurate choices
    and low NE unmotivated ones (Eckhoff, Wong-Lin & Holmes 2009).

    Plasticity: a learning-rate boost proportional to the level,

    $$f_{ij} = 1 + \kappa L,$$

    with $L$ set from the surprise of the outcome, e.g. the unsigned reward prediction
    error $|\delta|$ in reward units: NE signals *unexpected* uncertainty, as after an
    unsignalled context switch, which should speed learning (Yu & Dayan 2005); pupil-linked
    arousal predicts the learning rate after change points (Nassar et al. 2012); and
    beta-adrenergic receptors convert Hebbian eligibility traces into LTP (He et al. 2015).

    Attributes:
        gain: $\gamma$, fractional increase of the transfer gain at level 1, >= 0 (0.03;
            model choice, the gain values of Servan-Schreiber et al. were not available.
            In the Wong–Wang circuit with the spontaneous-state pivot, 0.03 is about the
            largest gain at which the symmetric state at $\mu_0$ = 30 Hz stays unstable and
            below the 15 Hz decision threshold (14.5 Hz, unstable eigenvalue 3.1/s, from
            11.5 Hz and 4.3/s); at 0.05 it is at 16.4 Hz, and at 0.1 it is a stable
            20.7 Hz state, so both populations cross the threshold without competing).
        learning_boost: $\kappa$, >= 0 (1.0: a surprise of one reward unit doubles the
            step; model choice).

    References:
        Servan-Schreiber D, Printz H, Cohen JD (1990) A network model of catecholamine
        effects: gain, signal-to-noise ratio, and behavior. Science 249:892.
        Aston-Jones G, Cohen JD (2005) Annu Rev Neurosci 28:403.
        Yu AJ, Dayan P (2005) Neuron 46:681.
        Eckhoff P, Wong-Lin KF, Holmes P (2009) J Neurosci 29:4301.
        Nassar MR et al. (2012) Nat Neurosci 15:1040.
        He K et al. (2015) Distinct eligibility traces for LTP and LTD in cortical
        synapses. Neuron 88:528.
    """

    gain: Param = 0.03
    learning_boost: Param = 1.0

    def __check_init__(self):
        check_fields("Noradrenaline", self, Constraints(nonnegative=("gain", "learning_boost")))

    def level_in(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """The ``noradrenaline`` level of the signals."""
        return signals.noradrenaline

    def effect(self, level: Real[ArrayLike, ""]) -> ModulatoryEffect:
        lv = check_level(level, jnp.result_type(float))
        one = jnp.ones_like(lv)
        return ModulatoryEffect(one, one, 1.0 + jnp.asarray(self.gain, lv.dtype) * lv)

    def plasticity_factor(
        self,
        dw: Float[Array, "pre post"],
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        level: Float[Array, ""],
    ) -> Float[Array, "pre post"]:
        del pre_rate, post_rate
        f = 1.0 + jnp.asarray(self.learning_boost, dw.dtype) * level
        return jnp.broadcast_to(f, dw.shape)


class Serotonin(AbstractNeuromodulator):
    r"""Serotonin: patience; slower, more conservative updating biased towards depression.

    Plasticity: every change is slowed and depression is weighted up against
    potentiation,

    $$f_{ij} = \frac{1}{1 + \pi L}\times\begin{cases} 1 & \Delta w_{ij} > 0 \\
      1 + \lambda L & \Delta w_{ij} \le 0. \end{cases}$$

    The slowing follows the reading of 5-HT as setting the time scale of prediction
    (Doya 2002) and promoting patience: optogenetic activation of dorsal raphe 5-HT
    neurons prolongs waiting for delayed rewards (Miyazaki et al. 2014; Fonseca, Murakami
    & Mainen 2015). The LTD bias follows He et al. (2015): in visual cortex, 5-HT2C
    receptors convert Hebbian eligibility traces into LTD (beta-adrenergic receptors
    into LTP). Across trials whose postsynaptic rates straddle a rule's LTP/LTD threshold,
    the bias moves up the mean rate at which potentiation and depression balance.

    The direction of 5-HT's effect on learning rate is **not settled**: stimulating
    dorsal raphe 5-HT neurons *increased* the learning rate from rewards in mice (Iigaya
    et al. 2018), and 5-HT neuron activity tracks uncertainty in a way that modulates
    learning rate (Grossman, Bari & Cohen 2022). ``patience = 0`` keeps only the LTD bias.

    Circuit: identity (all multipliers 1). Cortical 5-HT receptors act in opposite
    directions on excitability (5-HT1A inhibitory, 5-HT2 excitatory; Araneda & Andrade
    1991), and the waiting effect of 5-HT neuron activation came without a change in
    reaction time (Fonseca et al. 2015), so no net change of the decision circuit is
    imposed.

    Attributes:
        patience: $\pi$, >= 0 (1.0: level 1 halves every step; model choice).
        ltd_bias: $\lambda$, >= 0 (1.0: at level 1 depression keeps its size while
            potentiation halves; model choice).

    References:
        Doya K (2002) Metalearning and neuromodulation. Neural Netw 15:495.
        Miyazaki KW et al. (2014) Optogenetic activation of dorsal raphe serotonin
        neurons enhances patience for future rewards. Curr Biol 24:2033.
        Fonseca MS, Murakami M, Mainen ZF (2015) Curr Biol 25:306.
        He K et al. (2015) Neuron 88:528.
        Iigaya K et al. (2018) Nat Commun 9:2477.
        Grossman CD, Bari BA, Cohen JY (2022) Curr Biol 32:586.
        Araneda R, Andrade R (1991) Neuroscience 40:399.
    """

    patience: Param = 1.0
    ltd_bias: Param = 1.0

    def __check_init__(self):
        check_fields("Serotonin", self, Constraints(nonnegative=("patience", "ltd_bias")))

    def level_in(self, signals: ModulatorSignals) -> Float[Array, ""]:
        """The ``serotonin`` level of the signals."""
        return signals.serotonin

    def effect(self, level: Real[ArrayLike, ""]) -> ModulatoryEffect:
        one = _ones(level)
        return ModulatoryEffect(one, one, one)

    def plasticity_factor(
        self,
        dw: Float[Array, "pre post"],
        pre_rate: Float[Array, " pre"],
        post_rate: Float[Array, " post"],
        level: Float[Array, ""],
    ) -> Float[Array, "pre post"]:
        del pre_rate, post_rate
        dt = dw.dtype
        slow = 1.0 / (1.0 + jnp.asarray(self.patience, dt) * level)
        ltd = 1.0 + jnp.asarray(self.ltd_bias, dt) * level
        return jnp.where(dw > 0, slow, slow * ltd)
