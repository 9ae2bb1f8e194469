r"""Calcium-control plasticity rule of Shouval, Bear & Cooper 2002.

$$\frac{dw}{dt} = \eta([\mathrm{Ca}])\,\big(\Omega([\mathrm{Ca}]) - \lambda w\big),$$

$$\Omega = 0.25 + \sigma([\mathrm{Ca}] - \alpha_2, \beta_2)
  - 0.25\,\sigma([\mathrm{Ca}] - \alpha_1, \beta_1),\quad
  \sigma(u, b) = \frac{e^{bu}}{1 + e^{bu}},\qquad
  \eta = \frac{1}{P_1/(P_2 + [\mathrm{Ca}]^{P_3}) + P_4}.$$

Moderate calcium ($\alpha_1 < [\mathrm{Ca}] < \alpha_2$) pulls $w$ down towards 0, high
calcium up towards 1, and at rest $w$ relaxes to 0.25 over hours. The calcium comes from
:class:`SpineCalcium` (NMDA receptors with the Mg²⁺ block plus a BPAP).
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields, error_if
from ..._typing import ScalarLike
from .._protocols import SpikeTrains
from .._receptors._receptor_simulation import _check_spike_times, _check_ts, _clip_at_jumps
from ._spine_calcium import SpineCalcium

_DEFAULT_SOLVER = diffrax.Tsit5()
_DEFAULT_CONTROLLER = diffrax.PIDController(rtol=1e-5, atol=1e-7)


class ShouvalBearCooper(eqx.Module):
    r"""Shouval–Bear–Cooper 2002 calcium-control rule (deterministic model).

    Attributes:
        alpha1: LTD calcium threshold, µM (0.35).
        alpha2: LTP calcium threshold, µM (0.55).
        beta1: steepness of the LTD sigmoid, 1/µM (80).
        beta2: steepness of the LTP sigmoid, 1/µM (80).
        P1: learning-rate numerator, s·µM^P3 (0.1).
        P2: learning-rate offset, µM^P3 (P1 × 1e-4 = 1e-5: the reimplementation notes a
            typo in the paper's value; with it the time constant at rest is ≈ 3 h).
        P3: learning-rate exponent (3).
        P4: fastest learning time constant, s (1).
        lambda_: weight decay factor (1; $w$ relaxes to $\Omega/\lambda$).
        calcium: the spine calcium model (:class:`SpineCalcium`, µM).

    References:
        Shouval HZ, Bear MF, Cooper LN (2002) PNAS 99:10831. Parameters as in the
        MATLAB reimplementation github.com/folmez/CaDP-MatLab (not checked against the
        paper's tables).
    """

    alpha1: Float[ArrayLike, ""] = 0.35
    alpha2: Float[ArrayLike, ""] = 0.55
    beta1: Float[ArrayLike, ""] = 80.0
    beta2: Float[ArrayLike, ""] = 80.0
    P1: Float[ArrayLike, ""] = 0.1
    P2: Float[ArrayLike, ""] = 1e-5
    P3: Float[ArrayLike, ""] = 3.0
    P4: Float[ArrayLike, ""] = 1.0
    lambda_: Float[ArrayLike, ""] = 1.0
    calcium: SpineCalcium = SpineCalcium()

    def __check_init__(self):
        check_fields(
            "ShouvalBearCooper",
            self,
            Constraints(
                positive=("alpha1", "alpha2", "beta1", "beta2", "P1", "P2", "P3", "P4"),
                nonnegative=("lambda_",),
            ),
        )

    def Omega(self, Ca: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        r"""Target weight $\Omega([\mathrm{Ca}])$ (dimensionless) at calcium ``Ca`` (µM)."""
        Ca = jnp.asarray(Ca)
        return (
            0.25
            + jax.nn.sigmoid(self.beta2 * (Ca - self.alpha2))
            - 0.25 * jax.nn.sigmoid(self.beta1 * (Ca - self.alpha1))
        )

    def eta(self, Ca: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        r"""Learning rate $\eta([\mathrm{Ca}]) = 1/(P_1/(P_2 + [\mathrm{Ca}]^{P_3}) + P_4)$, 1/s."""
        Ca = jnp.maximum(jnp.asarray(Ca), 0.0)
        return 1.0 / (self.P1 / (self.P2 + Ca**self.P3) + self.P4)

    def vector_field(self, t, y: Float[Array, " 2"], trains: SpikeTrains) -> Float[Array, " 2"]:
        """Joint time derivative of ``(Ca [µM], w)``."""
        Ca, w = y[0], y[1]
        dCa = self.calcium.vector_field(t, Ca, trains)
        dw = self.eta(Ca) * (self.Omega(Ca) - self.lambda_ * w)
        return jnp.stack([dCa, dw])


class ShouvalResult(eqx.Module):
    """Calcium and weight of one run of :func:`simulate_shouval`.

    Attributes:
        ts: save times, s, shape (time,).
        Ca: spine calcium, µM, shape (time,).
        w: synaptic weight (dimensionless), shape (time,).
    """

    ts: Float[Array, " time"]
    Ca: Float[Array, " time"]
    w: Float[Array, " time"]


def simulate_shouval(
    rule: ShouvalBearCooper,
    trains: SpikeTrains,
    ts: Real[ArrayLike, " time"],
    *,
    w0: ScalarLike = 0.25,
    solver: diffrax.AbstractSolver = _DEFAULT_SOLVER,
    stepsize_controller: diffrax.AbstractStepSizeController = _DEFAULT_CONTROLLER,
    dt0: ScalarLike | None = None,
    max_steps: int | None = None,
    throw: bool = True,
) -> ShouvalResult:
    r"""Calcium and weight under a spike protocol, solved with ``diffrax.diffeqsolve``.

    Calcium starts at 0 and $w$ at ``w0`` (0.25 is the resting fixed point
    $\Omega(0)/\lambda \approx 0.25$). Presynaptic spikes and BPAP arrivals are
    ``jump_ts`` of the step-size controller, so no step straddles a discontinuity of
    the calcium influx.

    Args:
        rule: the rule and its calcium model.
        trains: pre and post spike times (:class:`SpikeTrains`, s).
        ts: save times, s, shape (time,), non-decreasing, >= 0.
        w0: initial weight.
        solver, stepsize_controller, dt0, max_steps, throw: as in :func:`spine_calcium`.

    Returns:
        :class:`ShouvalResult`.

    References:
        Shouval HZ, Bear MF, Cooper LN (2002) PNAS 99:10831.
    """
    pre = _check_spike_times(trains.pre)
    post = _check_spike_times(trains.post)
    trains = SpikeTrains(pre, post, trains.t_end)
    ts = _check_ts(jnp.asarray(ts, dtype=float))
    ts = error_if(ts, ts[0] < 0, "save times `ts` must be >= 0 s")
    t1 = ts[-1]
    jumps = rule.calcium.jump_times(trains)
    jumps = jnp.where(jnp.isfinite(jumps), jumps, t1 + 1.0)
    if max_steps is None:
        max_steps = 4096 + 64 * int(jumps.shape[0])
    y0 = jnp.stack([jnp.zeros((), ts.dtype), jnp.asarray(w0, ts.dtype)])
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
        solver,
        t0=jnp.zeros((), dtype=ts.dtype),
        t1=t1,
        dt0=dt0,
        y0=y0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=_clip_at_jumps(stepsize_controller, dt0, jumps),
        args=(rule, trains),
        max_steps=max_steps,
        throw=throw,
    )
    return ShouvalResult(ts=ts, Ca=sol.ys[:, 0], w=sol.ys[:, 1])


def _vector_field(t, y, args):
    rule, trains = args
    return rule.vector_field(t, y, trains)
