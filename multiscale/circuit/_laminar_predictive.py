r"""The predictive laminar column: superficial prediction errors, deep predictions.

In the canonical microcircuit for predictive coding (Bastos et al. 2012), superficial
pyramidal cells report the mismatch between their bottom-up input and a prediction, and
deep pyramidal cells hold the prediction (expectation), which they form by accumulating
the superficial errors and which suppresses the superficial cells through local
inhibition. Here this is a :class:`~multiscale.circuit.LaminarColumn` (Mejias et al. 2016)
with one channel per stimulus and a learned expectation $p_k$ per channel:

- while stimulus $k$ is shown (the protocol's stimulus window) L2/3 E of channel $k$
  receives the input $s$ and L5/6 E of every channel $j$ receives its expectation $p_j$;
  the deep E → L2/3 I projection (weight ``prediction_weight``, 2 by default, above the
  0.75 of Mejias et al.: a choice that makes the suppression visible within one layer of
  the model) turns the expectation into inhibition of the superficial E cells, so the
  superficial response is the mismatch between input and prediction;
- after each presentation the expectation integrates the superficial error $e_j$ (mean
  L2/3 E rate in the stimulus window minus the mean before it, Hz) and leaks:
  $p_j \leftarrow \max\bigl(0,\ (1 - \lambda)\,p_j + \eta\,e_j\bigr)$
  (:class:`PredictionUpdate`, an ``(init, step)`` pair applied between presentations).

A repeated (expected) stimulus therefore evokes shrinking mismatch responses (repetition
suppression), and a rare (unexpected) one evokes a large response (the oddball or
mismatch response). Every presentation runs through the one circuit loop,
:func:`~multiscale.circuit.integrate`.

References:
    Bastos AM, Usrey WM, Adams RA, Mangun GR, Fries P, Friston KJ (2012) Canonical
    microcircuits for predictive coding. Neuron 76:695-711.

    Mejias JF, Murray JD, Kennedy H, Wang XJ (2016) Feedforward and feedback frequency-
    dependent interactions in a large-scale laminar network of the primate cortex. Sci Adv
    2:e1601335.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._checks import Constraints, check_fields
from ._integrate import integrate
from ._laminar import LaminarColumn, laminar_column
from ._noise import AbstractCircuitNoise, CounterNoise
from ._online_readout import NoReadout
from ._protocol import TrialProtocol

Param = Float[ArrayLike, ""]
PRESENTATION = TrialProtocol(dt=2e-4, t_on=0.1, t1=0.3, segment=250)
"""One presentation: 100 ms before the stimulus, 200 ms of stimulus, 0.2 ms steps."""


def predictive_column(
    n_channels: int = 2, *, prediction_weight: float = 2.0, background: float = 2.0
) -> LaminarColumn:
    """A :func:`laminar_column` with one channel per stimulus, for :func:`oddball`.

    Args:
        n_channels: stimuli (channels) the column tells apart (2).
        prediction_weight: deep E → superficial I weight (2).
        background: constant input onto L2/3 E and L5/6 E (2, a low spontaneous state).

    Returns:
        The column (interlaminar coupling on).
    """
    col = laminar_column(input_superficial=background, input_deep=background, n_channels=n_channels)
    # The last projection is L5/6 E -> L2/3 I (see laminar_column).
    return eqx.tree_at(
        lambda c: c.circuit.projections[-1].weight.W,
        col,
        prediction_weight * col.circuit.projections[-1].weight.W,
    )


class PredictionUpdate(eqx.Module):
    r"""Expectation update between presentations: $p \leftarrow \max(0, (1-\lambda)p + \eta e)$.

    Attributes:
        eta: learning rate $\eta$, input units per Hz of superficial error (1.5).
        leak: fraction $\lambda$ of the expectation lost per presentation (0.1).
    """

    eta: Param = 1.5
    leak: Param = 0.1
    constraints = Constraints(nonnegative=("eta",), fraction=("leak",))

    def __check_init__(self):
        check_fields("PredictionUpdate", self, self.constraints)

    def init(self, n_channels: int) -> Float[Array, " channels"]:
        """No expectation: zeros."""
        return jnp.zeros((n_channels,), jnp.result_type(float))

    def step(
        self, prediction: Float[Array, " channels"], error: Float[Array, " channels"]
    ) -> Float[Array, " channels"]:
        """The expectation after a presentation that left superficial errors ``error`` (Hz)."""
        new = (1.0 - jnp.asarray(self.leak)) * prediction + jnp.asarray(self.eta) * error
        return jax.nn.relu(new)


class OddballResult(eqx.Module):
    """Responses to a sequence of presentations (presentations first).

    Attributes:
        mismatch: superficial (L2/3 E) response of each channel, Hz: mean rate in the
            stimulus window minus the mean before it, (presentations, channels).
        deep: the same for the deep (L5/6 E) rates, (presentations, channels).
        prediction: each channel's expectation before each presentation.
        presented: the stimulus shown, (presentations,).
    """

    mismatch: Float[Array, "presentations channels"]
    deep: Float[Array, "presentations channels"]
    prediction: Float[Array, "presentations channels"]
    presented: Int[Array, " presentations"]

    @property
    def response(self) -> Float[Array, "*batch presentations"]:
        """The mismatch response of the channel shown, Hz, per presentation (batch first)."""
        return jnp.take_along_axis(self.mismatch, self.presented[..., None], axis=-1)[..., 0]


def oddball(
    column: LaminarColumn,
    sequence: ArrayLike,
    *,
    key: PRNGKeyArray,
    strength: Param = 4.0,
    rule: PredictionUpdate | None = None,
    protocol: TrialProtocol = PRESENTATION,
    noise: AbstractCircuitNoise | None = None,
    prediction0: ArrayLike | None = None,
) -> OddballResult:
    """Present ``sequence`` (channel indices) one after the other, learning expectations.

    Each presentation is one run of :func:`~multiscale.circuit.integrate` from the
    column's initial state, with its own noise (a key split from ``key``); the
    expectation carries over between presentations through ``rule``.

    Args:
        column: a column with one channel per stimulus (:func:`predictive_column`).
        sequence: the channel shown at each presentation, ints in [0, n_channels).
        key: PRNG key (split per presentation).
        strength: input onto the shown channel's L2/3 E (4).
        rule: the expectation update (default :class:`PredictionUpdate` ``()``).
        protocol: timing of one presentation (:data:`PRESENTATION`).
        noise: the noise source (default :class:`~multiscale.circuit.CounterNoise`).
        prediction0: expectations before the first presentation (zeros).

    Returns:
        An :class:`OddballResult`.
    """
    rule = PredictionUpdate() if rule is None else rule
    noise = CounterNoise() if noise is None else noise
    seq = jnp.asarray(sequence)
    if seq.ndim != 1 or not jnp.issubdtype(seq.dtype, jnp.integer):
        raise ValueError(
            f"`sequence` must be a 1-d array of channel indices, got shape {seq.shape} "
            f"and dtype {seq.dtype}"
        )
    n = column.n_channels
    column.check_step(protocol.dt)
    save_every = 5
    if protocol.segment % save_every or protocol.n_on < save_every:
        raise ValueError(
            f"`protocol.segment` must be a multiple of {save_every} and the stimulus must "
            "start after the first few steps"
        )
    col = column.checked()
    p0 = rule.init(n) if prediction0 is None else jnp.asarray(prediction0, jnp.result_type(float))
    if p0.shape != (n,):
        raise ValueError(f"`prediction0` must have shape ({n},), got {p0.shape}")
    n_pre = protocol.n_on // save_every
    keys = jr.split(key, seq.shape[0])

    def present(prediction, inp):
        k, shown = inp
        onehot = jax.nn.one_hot(shown, n, dtype=prediction.dtype)
        drive = col.drive(superficial=strength * onehot, deep=prediction)
        out = integrate(col, drive, protocol, noise, noise.init(k), NoReadout(), save_every=5)
        r = out.saved[2]  # (time, units), every 5th step
        resp = jnp.mean(r[n_pre:], axis=0) - jnp.mean(r[:n_pre], axis=0)
        err, deep = col.feedforward(resp), col.feedback(resp)
        return rule.step(prediction, err), (err, deep, prediction)

    _, (err, deep, pred) = jax.lax.scan(present, p0, (keys, seq))
    return OddballResult(err, deep, pred, seq)
