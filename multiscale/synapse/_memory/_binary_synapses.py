r"""Reward-dependent plasticity of stochastic binary synapses, in mean-field form.

Soltani & Wang 2006 give the input synapses onto each choice-selective population of a
decision circuit two efficacy states, depressed and potentiated. After each trial, the
synapses onto the population that won (the chosen target, whose neurons fire at high
rates) make stochastic transitions that depend on the outcome: on a rewarded trial each
depressed synapse is potentiated with probability $q_+$, on an unrewarded trial each
potentiated synapse is depressed with probability $q_-$. In a large population the
fraction $c_i$ of potentiated synapses onto population $i$ then follows the mean-field
update (the expectation over the transitions, exact as the number of synapses grows)

$$\text{chosen } i:\quad c_i \leftarrow \begin{cases} c_i + q_+(1 - c_i) & \text{rewarded}\\
  c_i - q_-\,c_i & \text{not rewarded.}\end{cases}$$

Synapses onto the population that lost are left unchanged (their postsynaptic neurons
are nearly silent, so a Hebbian rule does not touch them). Iigaya 2016 (eLife 5:e18073,
Fig. 2 and its text) describes the variant in which the synapses onto the unchosen
population take the *opposite* transition with probabilities scaled by a factor $g$;
here that is the field ``g_unchosen``:

$$\text{unchosen } j:\quad c_j \leftarrow \begin{cases} c_j - g\,q_+\,c_j & \text{rewarded}\\
  c_j + g\,q_-(1 - c_j) & \text{not rewarded.}\end{cases}$$

With ``g_unchosen = 0`` (the default, Soltani & Wang's rule) and $q_+ = q_-$, the fixed
point of $c_i$ is the *return* of target $i$ (reward per choice of $i$): the synapses
integrate past rewards into an estimate of the local return, the first main result of
Soltani & Wang 2006. :meth:`StochasticBinarySynapses.steady_state` gives the fixed point
for any parameters.

The values of $q_\pm$ used by Soltani & Wang were not available to us (only their
abstract and figure captions were); the defaults below are our choice, not the
paper's.

References:
    Soltani A, Wang X-J (2006) A biophysically based neural model of matching law
    behavior: melioration by stochastic synapses. J Neurosci 26:3731–3744.
    Fusi S, Asaad WF, Miller EK, Wang X-J (2007) Neuron 54:319 (same rule family).
    Iigaya K (2016) eLife 5:e18073 (the unchosen-population variant, factor $g$).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, Real

from ..._checks import Constraints, check_fields, error_if

Param = Float[ArrayLike, ""]


class BinarySynapseState(eqx.Module):
    """State of :class:`StochasticBinarySynapses`.

    Attributes:
        c: fraction of potentiated synapses onto each choice population, in [0, 1],
            shape (targets,) (two for the foraging task: target A, target B).
    """

    c: Float[Array, " targets"]


class StochasticBinarySynapses(eqx.Module):
    r"""Mean-field reward-dependent plasticity of binary synapses (Soltani & Wang 2006).

    An ``(init, step)`` pair: ``init(c0)`` and ``step(state, choice, reward)``, applied
    once per trial after the outcome (see the module docstring for the equations).

    Attributes:
        q_plus: $q_+$, probability per rewarded trial that a depressed synapse onto the
            chosen population is potentiated, in [0, 1] (0.1: our default, not the paper's).
        q_minus: $q_-$, probability per unrewarded trial that a potentiated synapse onto
            the chosen population is depressed, in [0, 1] (0.1: our default).
        g_unchosen: $g$, scale of the opposite transitions of the synapses onto the
            unchosen population(s), in [0, 1] (0: they do not change, as in Soltani &
            Wang 2006; Iigaya 2016's variant has $g > 0$).

    Example:
        >>> import jax.numpy as jnp
        >>> rule = StochasticBinarySynapses(q_plus=0.2, q_minus=0.1)
        >>> state = rule.init(jnp.array([0.5, 0.5]))
        >>> new = rule.step(state, jnp.asarray(0), jnp.asarray(1.0))  # A chosen, rewarded
        >>> [round(float(x), 3) for x in new.c]
        [0.6, 0.5]

    References:
        Soltani A, Wang X-J (2006) J Neurosci 26:3731.
    """

    q_plus: Param = 0.1
    q_minus: Param = 0.1
    g_unchosen: Param = 0.0

    def __check_init__(self):
        check_fields(
            "StochasticBinarySynapses",
            self,
            Constraints(nonnegative=("q_plus", "q_minus", "g_unchosen")),
        )
        for name in ("q_plus", "q_minus", "g_unchosen"):
            value = getattr(self, name)
            if isinstance(value, int | float) and value > 1:
                raise ValueError(
                    f"StochasticBinarySynapses `{name}` is a probability in [0, 1], got {value}"
                )

    def init(self, c0: Real[ArrayLike, " targets"]) -> BinarySynapseState:
        """State with potentiated fractions ``c0`` (shape (targets,), values in [0, 1])."""
        c = jnp.asarray(c0)
        if not jnp.issubdtype(c.dtype, jnp.floating):
            c = c.astype(jnp.result_type(float))
        if c.ndim != 1 or c.shape[0] < 2:
            raise ValueError(
                f"`c0` must have shape (targets,) with at least 2 targets, got shape {c.shape}"
            )
        c = error_if(c, (c < 0) | (c > 1), "`c0` (potentiated fractions) must be in [0, 1]")
        return BinarySynapseState(c=c)

    def step(
        self,
        state: BinarySynapseState,
        choice: Int[ArrayLike, ""],
        reward: Real[ArrayLike, ""],
    ) -> BinarySynapseState:
        r"""State after one trial's outcome.

        Args:
            state: the current state.
            choice: index of the chosen population (0 = target A, 1 = target B), or -1
                for an undecided trial, after which nothing changes.
            reward: 1 for a rewarded trial, 0 otherwise. Values in between give the
                expected update over the outcome (smooth in ``reward``).

        Returns:
            The new :class:`BinarySynapseState`.
        """
        c = state.c
        choice = jnp.asarray(choice)
        if choice.ndim != 0 or not jnp.issubdtype(choice.dtype, jnp.integer):
            raise ValueError(
                f"`choice` must be an integer scalar, got {choice.dtype}{choice.shape}"
            )
        r = jnp.asarray(reward, c.dtype)
        if r.ndim != 0:
            raise ValueError(f"`reward` must be a scalar, got shape {r.shape}")
        decided = choice >= 0
        chosen = (jnp.arange(c.shape[0], dtype=choice.dtype) == choice).astype(c.dtype)
        unchosen = decided.astype(c.dtype) - chosen
        q_p = jnp.asarray(self.q_plus, c.dtype)
        q_m = jnp.asarray(self.q_minus, c.dtype)
        g = jnp.asarray(self.g_unchosen, c.dtype)
        up = r * q_p * (1.0 - c) - (1.0 - r) * q_m * c
        opposite = g * (-r * q_p * c + (1.0 - r) * q_m * (1.0 - c))
        return BinarySynapseState(c=c + chosen * up + unchosen * opposite)

    def steady_state(
        self,
        p_choice: Float[ArrayLike, " targets"],
        returns: Float[ArrayLike, " targets"],
    ) -> Float[Array, " targets"]:
        r"""Fixed point of the expected update at fixed choice probabilities and returns.

        Population $i$ is chosen with probability $P_i$ and then rewarded with
        probability $R_i$ (its return). Setting the expected change of $c_i$ to zero,

        $$c_i^* = \frac{P_i R_i q_+ + g\,q_- U_i}
          {P_i R_i q_+ + P_i (1 - R_i) q_- + g\,q_+ W_i + g\,q_- U_i},$$

        with $W_i = \sum_{j\ne i} P_j R_j$ and $U_i = \sum_{j \ne i} P_j (1 - R_j)$. For
        $g = 0$ this is $R_i q_+ / (R_i q_+ + (1 - R_i) q_-)$, i.e. $c_i^* = R_i$ when
        $q_+ = q_-$.

        Args:
            p_choice: choice probabilities $P_i$, shape (targets,).
            returns: returns $R_i$ (rewards per choice of $i$), shape (targets,).
        """
        P = jnp.asarray(p_choice)
        R = jnp.asarray(returns, P.dtype)
        if P.ndim != 1 or R.shape != P.shape:
            raise ValueError(
                f"`p_choice` and `returns` must both have shape (targets,), got {P.shape}, "
                f"{R.shape}"
            )
        q_p = jnp.asarray(self.q_plus, P.dtype)
        q_m = jnp.asarray(self.q_minus, P.dtype)
        g = jnp.asarray(self.g_unchosen, P.dtype)
        W = jnp.sum(P * R) - P * R
        U = jnp.sum(P * (1.0 - R)) - P * (1.0 - R)
        up = P * R * q_p + g * q_m * U
        return up / (up + P * (1.0 - R) * q_m + g * q_p * W)
