r"""Pair and triplet spike-timing-dependent plasticity (STDP).

Both rules are written in the trace form of Pfister & Gerstner 2006: presynaptic traces
$r_1$ ($\tau_+$) and $r_2$ ($\tau_x$), postsynaptic traces $o_1$ ($\tau_-$) and $o_2$
($\tau_y$), each decaying exponentially between spikes and jumping at spikes:

$$\text{pre at } t:\; w \leftarrow w - o_1(t)\,[A_2^- + A_3^- r_2(t-\epsilon)],\qquad
  \text{post at } t:\; w \leftarrow w + r_1(t)\,[A_2^+ + A_3^+ o_2(t-\epsilon)].$$

The pair rule is the special case $A_3^\pm = 0$. Because the traces are exponentials
between spikes, a ``lax.scan`` over the merged, time-sorted pre/post event list that
decays each trace by $e^{-\Delta t/\tau}$ is *exact*: spikes act at their true times and
no time step is involved (:func:`simulate_stdp`). The rate form
(:meth:`AbstractSTDP.step`) is the expected drift under independent Poisson firing.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from ..._checks import Constraints, check_fields
from ..._typing import ScalarLike
from .._protocols import SpikeTrains
from .._receptors._receptor_simulation import _check_spike_times
from ._rate_rule import (
    AbstractBounds,
    AbstractDriftRule,
    HardBounds,
)

_INF = float("inf")


# --------------------------------------------------------------------------- pairing schemes


class AbstractPairingScheme(eqx.Module):
    """Which earlier spikes a spike interacts with (how a trace jumps at a spike)."""

    @abc.abstractmethod
    def jump(self, trace: Array) -> Array:
        """Trace value right after a spike of its neuron."""

    @abc.abstractmethod
    def mean_trace(self, rate: Array, tau: Real[ArrayLike, ""]) -> Array:
        """Expected trace seen by an independent Poisson spike, for Poisson ``rate`` (Hz)."""


class AllToAll(AbstractPairingScheme):
    r"""All-to-all interaction: every earlier spike counts, $r \leftarrow r + 1$.

    For Poisson spikes at rate $\rho$ the mean trace is $\tau\rho$.
    """

    def jump(self, trace: Array) -> Array:
        return trace + 1.0

    def mean_trace(self, rate: Array, tau: Real[ArrayLike, ""]) -> Array:
        return tau * rate


class NearestSpike(AbstractPairingScheme):
    r"""Nearest-spike interaction: only the latest spike counts, $r \leftarrow 1$.

    For Poisson spikes at rate $\rho$ the mean trace is $E[e^{-s/\tau}] = \tau\rho/(1 + \tau\rho)$
    ($s$ exponential with rate $\rho$).
    """

    def jump(self, trace: Array) -> Array:
        return jnp.ones_like(trace)

    def mean_trace(self, rate: Array, tau: Real[ArrayLike, ""]) -> Array:
        return tau * rate / (1.0 + tau * rate)


# --------------------------------------------------------------------------- rules


class AbstractSTDP(AbstractDriftRule):
    """An STDP rule in trace form. Concrete rules provide :meth:`triplet_parameters`."""

    scheme: eqx.AbstractVar[AbstractPairingScheme]
    bounds: eqx.AbstractVar[AbstractBounds]

    @abc.abstractmethod
    def triplet_parameters(self) -> tuple:
        """``(tau_plus, tau_minus, tau_x, tau_y, A2_plus, A3_plus, A2_minus, A3_minus)``."""

    def drift(self, pre_rate: Array, post_rate: Array) -> Array:
        r"""Expected $dw/dt$ (weight unit per s) for independent Poisson rates (Hz).

        $$\frac{dw}{dt} = \rho_y\,\bar r_1(\rho_x)\,[A_2^+ + A_3^+\bar o_2(\rho_y)]
          - \rho_x\,\bar o_1(\rho_y)\,[A_2^- + A_3^-\bar r_2(\rho_x)],$$

        with the mean traces of the pairing scheme ($\bar r_1 = \tau_+\rho_x$ etc. for
        all-to-all, which gives Pfister & Gerstner 2006 Eq. 4's rate form; for the pair
        rule $\rho_x\rho_y(A_+\tau_+ - A_-\tau_-)$). Broadcasts over its arguments.
        """
        tp, tm, tx, ty, a2p, a3p, a2m, a3m = self.triplet_parameters()
        m = self.scheme.mean_trace
        ltp = post_rate * m(pre_rate, tp) * (a2p + a3p * m(post_rate, ty))
        ltd = pre_rate * m(post_rate, tm) * (a2m + a3m * m(pre_rate, tx))
        return ltp - ltd


def _check_stdp(owner, rule, taus, amplitudes):
    check_fields(owner, rule, Constraints(positive=taus, nonnegative=amplitudes))


class PairSTDP(AbstractSTDP):
    r"""Pair STDP with an exponential window.

    $$\Delta w(\Delta t) = \begin{cases} A_+ e^{-\Delta t/\tau_+} & \Delta t > 0\\
      -A_- e^{\Delta t/\tau_-} & \Delta t < 0 \end{cases},\qquad
      \Delta t = t_\mathrm{post} - t_\mathrm{pre}.$$

    Defaults are Song, Miller & Abbott 2000 (A+ = 0.005 of the maximal weight,
    A−/A+ = 1.05, τ± = 20 ms). Bi & Poo's window time constants are
    ``tau_plus=0.0168, tau_minus=0.0337`` (Bi & Poo 2001, as used by Pfister & Gerstner
    2006); no fitted Bi–Poo amplitudes exist.

    Attributes:
        A_plus: potentiation amplitude (weight unit), >= 0.
        A_minus: depression amplitude (weight unit), >= 0.
        tau_plus: potentiation window time constant, s.
        tau_minus: depression window time constant, s.
        scheme: :class:`AllToAll` (default) or :class:`NearestSpike`.
        bounds: weight bounds (default unbounded ``HardBounds(-inf, inf)``).

    References:
        Song S, Miller KD, Abbott LF (2000) Nat Neurosci 3:919.
        Bi G-q, Poo M-m (2001) Annu Rev Neurosci 24:139.
    """

    A_plus: Float[ArrayLike, ""] = 0.005
    A_minus: Float[ArrayLike, ""] = 0.00525
    tau_plus: Float[ArrayLike, ""] = 0.020
    tau_minus: Float[ArrayLike, ""] = 0.020
    scheme: AbstractPairingScheme = AllToAll()
    bounds: AbstractBounds = HardBounds(-_INF, _INF)

    def __check_init__(self):
        _check_stdp("PairSTDP", self, ("tau_plus", "tau_minus"), ("A_plus", "A_minus"))

    def triplet_parameters(self) -> tuple:
        # The triplet time constants are irrelevant when A3 = 0; reuse the pair ones.
        tp, tm = self.tau_plus, self.tau_minus
        return (tp, tm, tp, tm, self.A_plus, 0.0, self.A_minus, 0.0)

    def window(self, delta_t: Real[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        """Weight change of one isolated pair at ``delta_t = t_post - t_pre`` (s)."""
        dt = jnp.asarray(delta_t, dtype=float)
        ltp = self.A_plus * jnp.exp(-jnp.abs(dt) / self.tau_plus)
        ltd = -self.A_minus * jnp.exp(-jnp.abs(dt) / self.tau_minus)
        return jnp.where(dt > 0, ltp, jnp.where(dt < 0, ltd, 0.0))


class TripletSTDP(AbstractSTDP):
    r"""Triplet STDP (Pfister & Gerstner 2006); see the module docstring for the update.

    Build the published parameter rows with :func:`pfister_visual_all_to_all_full` and
    its siblings (a row is fitted as a package, pairing scheme included).

    Attributes:
        tau_plus: presynaptic trace $r_1$ time constant, s (16.8 ms, Bi & Poo 2001).
        tau_minus: postsynaptic trace $o_1$ time constant, s (33.7 ms).
        tau_x: presynaptic triplet trace $r_2$ time constant, s.
        tau_y: postsynaptic triplet trace $o_2$ time constant, s.
        A2_plus, A3_plus: pair and triplet potentiation amplitudes (weight unit), >= 0.
        A2_minus, A3_minus: pair and triplet depression amplitudes (weight unit), >= 0.
        scheme: :class:`AllToAll` or :class:`NearestSpike`.
        bounds: weight bounds (default unbounded, as fitted: additive rule).

    References:
        Pfister J-P, Gerstner W (2006) J Neurosci 26:9673, Table 4.
    """

    tau_plus: Float[ArrayLike, ""]
    tau_minus: Float[ArrayLike, ""]
    tau_x: Float[ArrayLike, ""]
    tau_y: Float[ArrayLike, ""]
    A2_plus: Float[ArrayLike, ""]
    A3_plus: Float[ArrayLike, ""]
    A2_minus: Float[ArrayLike, ""]
    A3_minus: Float[ArrayLike, ""]
    scheme: AbstractPairingScheme = AllToAll()
    bounds: AbstractBounds = HardBounds(-_INF, _INF)

    def __check_init__(self):
        _check_stdp(
            "TripletSTDP",
            self,
            ("tau_plus", "tau_minus", "tau_x", "tau_y"),
            ("A2_plus", "A3_plus", "A2_minus", "A3_minus"),
        )

    def triplet_parameters(self) -> tuple:
        return (
            self.tau_plus,
            self.tau_minus,
            self.tau_x,
            self.tau_y,
            self.A2_plus,
            self.A3_plus,
            self.A2_minus,
            self.A3_minus,
        )


def _row(tau_x_ms, tau_y_ms, a2p, a3p, a2m, a3m, scheme, bounds) -> TripletSTDP:
    # Minimal rows have no tau_x (A3- = 0); any positive value is then irrelevant.
    tau_x = 1e-3 * (tau_x_ms if tau_x_ms is not None else 101.0)
    return TripletSTDP(
        tau_plus=0.0168,
        tau_minus=0.0337,
        tau_x=tau_x,
        tau_y=1e-3 * tau_y_ms,
        A2_plus=a2p,
        A3_plus=a3p,
        A2_minus=a2m,
        A3_minus=a3m,
        scheme=scheme,
        bounds=bounds,
    )


_UNBOUNDED = HardBounds(-_INF, _INF)


def pfister_visual_all_to_all_full(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Visual cortex, all-to-all, full model (Pfister & Gerstner 2006 Table 4)."""
    return _row(101.0, 125.0, 5e-10, 6.2e-3, 7e-3, 2.3e-4, AllToAll(), bounds)


def pfister_visual_all_to_all_minimal(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Visual cortex, all-to-all, minimal model (Pfister & Gerstner 2006 Table 4)."""
    return _row(None, 114.0, 0.0, 6.5e-3, 7.1e-3, 0.0, AllToAll(), bounds)


def pfister_visual_nearest_full(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Visual cortex, nearest-spike, full model (Pfister & Gerstner 2006 Table 4)."""
    return _row(714.0, 40.0, 8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, NearestSpike(), bounds)


def pfister_hippocampal_all_to_all_full(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Hippocampal culture, all-to-all, full model (Pfister & Gerstner 2006 Table 4)."""
    return _row(946.0, 27.0, 6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, AllToAll(), bounds)


def pfister_hippocampal_all_to_all_minimal(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Hippocampal culture, all-to-all, minimal model (Pfister & Gerstner 2006 Table 4).

    Taken from a third-party transcription of the table and not checked against the paper.
    """
    return _row(None, 40.0, 5.3e-3, 8e-3, 3.5e-3, 0.0, AllToAll(), bounds)


def pfister_hippocampal_nearest_full(bounds: AbstractBounds = _UNBOUNDED) -> TripletSTDP:
    """Hippocampal culture, nearest-spike, full model (Pfister & Gerstner 2006 Table 4)."""
    return _row(575.0, 47.0, 4.6e-3, 9.1e-3, 3e-3, 7.5e-9, NearestSpike(), bounds)


# --------------------------------------------------------------------------- spike-driven form


class STDPResult(eqx.Module):
    """Weight trajectory of one spike-driven STDP run.

    Attributes:
        ts: event times, s, ascending, shape (events,) (pre and post merged; padding +inf).
        ws: weight right after each event, shape (events,) (padding repeats the last weight).
        w: final weight (weight unit).
        delta_w: ``w - w0``.
    """

    ts: Float[Array, " events"]
    ws: Float[Array, " events"]
    w: Float[Array, ""]
    delta_w: Float[Array, ""]


def simulate_stdp(rule: AbstractSTDP, trains: SpikeTrains, *, w0: ScalarLike = 0.0) -> STDPResult:
    r"""Exact event-driven STDP over a spike protocol.

    Pre and post spikes are merged into one time-sorted list (a presynaptic spike comes
    first when both are simultaneous). A ``lax.scan`` walks the list: it decays the four
    traces by $e^{-\Delta t/\tau}$ over the interval since the previous event (exact,
    since they are exponentials between spikes), applies the weight change of the
    event with the traces just before it ($t - \epsilon$), passes it through
    ``rule.bounds.apply``, and then makes the traces of the spiking neuron jump as the
    pairing scheme says. ``+inf`` padding is skipped, so protocols of different lengths
    batch with ``vmap``.

    Args:
        rule: a :class:`PairSTDP` or :class:`TripletSTDP`.
        trains: pre and post spike times (:class:`SpikeTrains`, s).
        w0: initial weight (weight unit).

    Returns:
        :class:`STDPResult`.

    Example:
        >>> import multiscale as ms
        >>> rule = ms.synapse.PairSTDP()
        >>> res = ms.synapse.simulate_stdp(rule, ms.synapse.pairing(0.01, 1.0, 1))
        >>> round(float(res.delta_w), 6)  # A+ exp(-10/20)
        0.003033

    References:
        Pfister J-P, Gerstner W (2006) J Neurosci 26:9673.
    """
    pre = _check_spike_times(trains.pre)
    post = _check_spike_times(trains.post)
    times = jnp.concatenate([pre, post])
    is_post = jnp.concatenate([jnp.zeros(pre.shape, bool), jnp.ones(post.shape, bool)])
    # A stable sort keeps a presynaptic spike before a simultaneous postsynaptic one.
    order = jnp.argsort(times, stable=True)
    times, is_post = times[order], is_post[order]
    tp, tm, tx, ty, a2p, a3p, a2m, a3m = rule.triplet_parameters()
    scheme, bounds = rule.scheme, rule.bounds
    dtype = times.dtype
    w0 = jnp.asarray(w0, dtype=dtype)
    zero = jnp.zeros((), dtype)

    def event(carry, inp):
        t_last, r1, r2, o1, o2, w = carry
        t, post_spike = inp
        valid = jnp.isfinite(t)
        # Padding: hold the state (dt = 0 keeps the exponentials, and their gradients, finite).
        t_eff = jnp.where(valid, t, t_last)
        dt = t_eff - t_last
        r1, o1 = r1 * jnp.exp(-dt / tp), o1 * jnp.exp(-dt / tm)
        r2, o2 = r2 * jnp.exp(-dt / tx), o2 * jnp.exp(-dt / ty)
        dw = jnp.where(post_spike, r1 * (a2p + a3p * o2), -o1 * (a2m + a3m * r2))
        w_new = jnp.where(valid, bounds.apply(w, dw), w)
        pre_jump = valid & ~post_spike
        post_jump = valid & post_spike
        r1 = jnp.where(pre_jump, scheme.jump(r1), r1)
        r2 = jnp.where(pre_jump, scheme.jump(r2), r2)
        o1 = jnp.where(post_jump, scheme.jump(o1), o1)
        o2 = jnp.where(post_jump, scheme.jump(o2), o2)
        return (t_eff, r1, r2, o1, o2, w_new), w_new

    # Spike times are >= 0 (SpikeTrains checks it), so every trace starts at 0 at t = 0.
    init = (zero, zero, zero, zero, zero, w0)
    (_, *_, w), ws = jax.lax.scan(event, init, (times, is_post))
    return STDPResult(ts=times, ws=ws, w=w, delta_w=w - w0)
