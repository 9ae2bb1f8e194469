r"""Spiking networks whose synapses learn while they run: online spike-timing plasticity.

:class:`PlasticSpikingNetwork` wraps a :class:`~multiscale.circuit.spiking.SpikingNetwork`
and makes some of its sparse projections plastic. It is a circuit
(:class:`~multiscale.circuit.AbstractCircuit`) run by the one time loop; each step of
$\Delta t$:

1. the wrapped network advances one step with the current weights of its plastic
   projections (the weights are part of the state);
2. each plastic projection's rule updates its weights from the spikes of this step and
   from exponential spike traces of its presynaptic ($x_j$) and postsynaptic ($y_i$)
   neurons, decayed by $e^{-\Delta t/\tau}$ over the step and read before this step's
   spikes are added (a pair $\Delta t$ apart meets the trace $e^{-\Delta t/\tau}$; a pair
   in the same step counts neither as pre-before-post nor as post-before-pre);
3. the traces jump by 1 at each spike.

Rules (weights in the unit of the receptor fed, clipped to $[0, w_\mathrm{max}]$):

- :class:`InhibitorySTDP` (Vogels et al. 2011): a presynaptic spike changes $w$ by
  $\eta (y_i - \alpha)$, a postsynaptic one by $\eta x_j$, with
  $\alpha = 2 \rho_0 \tau_\mathrm{STDP}$; for uncorrelated Poisson trains the drift
  vanishes at the postsynaptic rate $\rho_0$.
- :class:`PairSTDP` (Song, Miller & Abbott 2000): a presynaptic spike changes $w$ by
  $-A_- y_i$, a postsynaptic one by $+A_+ x_j$ (additive, hard bounds).
- :class:`DopamineSTDP` (Izhikevich 2007): pair-STDP changes are written to an
  eligibility trace $c$ ($\tau_c$ = 1 s) instead of the weight, and
  $\dot w = (d_0 + d)\,c$ with the dopamine concentration $d$ ($\tau_d$ = 0.2 s), which
  jumps at rewards.

The weights are one copy per network, so a plastic network runs one trial at a time
(batch of one).

References:
    Vogels TP, Sprekeler H, Zenke F, Clopath C, Gerstner W (2011) Inhibitory plasticity
    balances excitation and inhibition in sensory pathways and memory networks. Science
    334:1569-1573.
    Song S, Miller KD, Abbott LF (2000) Competitive Hebbian learning through
    spike-timing-dependent synaptic plasticity. Nat Neurosci 3:919-926.
    Izhikevich EM (2007) Solving the distal reward problem through linkage of STDP and
    dopamine signaling. Cereb Cortex 17:2443-2452.
"""

import abc
import math
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._abstract import AbstractCircuit
from .._integrate import integrate
from .._noise import CounterNoise
from .._online_readout import NoReadout
from .._protocol import Stimulus, TrialProtocol
from ._connectivity import SparseConnectivity
from ._network import SpikingNetwork
from ._run import _with_max_counts
from ._state import SpikingState
from ._step import _discretise


class AbstractSpikeRule(eqx.Module):
    """An online plasticity rule of one sparse projection (traces decay with ``tau_pre`` and
    ``tau_post``; weights are clipped to ``[0, w_max]``)."""

    tau_pre: eqx.AbstractVar[float]
    tau_post: eqx.AbstractVar[float]
    w_max: eqx.AbstractVar[float]

    def init_aux(self, n_syn: int, dtype) -> Any:
        """Extra per-synapse state of the rule (e.g. an eligibility trace), or ``()``."""
        del n_syn, dtype
        return ()

    @abc.abstractmethod
    def update(self, w, aux, pre, post, x, y, t, dt):
        """New ``(w, aux)`` from this step's spikes ``pre``/``post`` and the traces ``x``
        (presynaptic) and ``y`` (postsynaptic), all per synapse, ``(synapses, 1)``."""


class InhibitorySTDP(AbstractSpikeRule):
    r"""Vogels et al.'s (2011) symmetric inhibitory STDP (see the module).

    Attributes:
        eta: learning rate, weight units per pairing (0.01 nS).
        rho0: target postsynaptic rate, Hz (3).
        tau: trace time constant $\tau_\mathrm{STDP}$, s (0.02).
        w_max: upper bound (100 nS).
    """

    eta: float = 1e-2
    rho0: float = 3.0
    tau: float = 0.02
    w_max: float = 100.0

    @property
    def tau_pre(self):
        return self.tau

    @property
    def tau_post(self):
        return self.tau

    def update(self, w, aux, pre, post, x, y, t, dt):
        alpha = 2.0 * self.rho0 * self.tau
        w = w + self.eta * (pre * (y - alpha) + post * x)
        return jnp.clip(w, 0.0, self.w_max), aux


class PairSTDP(AbstractSpikeRule):
    r"""Additive pair STDP with hard bounds (Song, Miller & Abbott 2000).

    Attributes:
        a_plus: potentiation per pairing at zero lag, weight units.
        a_minus: depression per pairing at zero lag, weight units.
        tau_plus, tau_minus: window time constants, s (0.02).
        w_max: upper bound.
    """

    a_plus: float
    a_minus: float
    w_max: float
    tau_plus: float = 0.02
    tau_minus: float = 0.02

    @property
    def tau_pre(self):
        return self.tau_plus

    @property
    def tau_post(self):
        return self.tau_minus

    def update(self, w, aux, pre, post, x, y, t, dt):
        w = w + self.a_plus * post * x - self.a_minus * pre * y
        return jnp.clip(w, 0.0, self.w_max), aux


class DopamineState(NamedTuple):
    """Eligibility traces (synapses, 1), dopamine (1, 1), the step of the pending reward
    (-1: none) and the number of rewards so far (1, 1)."""

    c: Array
    d: Array
    pending: Array
    rewards: Array


class DopamineSTDP(AbstractSpikeRule):
    r"""Dopamine-gated STDP (Izhikevich 2007): STDP writes an eligibility trace.

    $\dot c = -c/\tau_c + \mathrm{STDP}$ (at a postsynaptic spike $c$ grows by $A_+ x_j$,
    at a presynaptic one it falls by $A_- y_i$), $\dot d = -d/\tau_d$ plus
    $d_\mathrm{reward}$ at each reward, and $\dot w = (d_0 + d)\,c/\tau_w$ (weights
    clipped to $[0, w_\mathrm{max}]$). Izhikevich's code: $A_+ = 0.1$, $A_-/A_+ = 1.5$,
    $\tau_\pm \approx 20$ ms, $\tau_c \approx 1$ s, $\tau_d \approx 0.2$ s,
    $d_\mathrm{reward} = 0.5$, tonic $d_0 = 0.002$, $w \mathrel{+}= (d_0 + d) c$ every
    10 ms ($\tau_w$ = 10 ms), $w_\mathrm{max} = 4$ mV.

    Rewards come at the fixed ``reward_times`` and, if ``rewarded`` is a synapse index,
    ``reward_delay`` after each postsynaptic spike of that synapse that follows one of its
    presynaptic spikes within ``reward_window`` (Izhikevich rewards pre -> post within
    20 ms, after a random 1-3 s delay; here the delay is fixed, and a pairing while a
    reward is pending is not rewarded again).

    Attributes:
        a_plus, a_minus: STDP amplitudes written to $c$ per pairing.
        w_max: upper bound.
        reward_times: times of scheduled rewards, s (static tuple).
        rewarded: index (in the projection) of the synapse whose pairings are rewarded
            (static; ``None``: none).
        reward_delay: delay from the rewarded pairing to the reward, s (static, 1).
        reward_window: longest pre -> post lag that is rewarded, s (static, 0.02).
        d_reward: dopamine jump per reward (0.5).
        d0: tonic dopamine (0.002).
        tau_c, tau_d, tau_w: eligibility, dopamine and weight-update time constants, s
            (1, 0.2, 0.01).
        tau_plus, tau_minus: STDP window time constants, s (0.02).
    """

    a_plus: float
    a_minus: float
    w_max: float
    reward_times: tuple[float, ...] = eqx.field(static=True, default=())
    rewarded: int | None = eqx.field(static=True, default=None)
    reward_delay: float = eqx.field(static=True, default=1.0)
    reward_window: float = eqx.field(static=True, default=0.02)
    d_reward: float = 0.5
    d0: float = 0.002
    tau_c: float = 1.0
    tau_d: float = 0.2
    tau_w: float = 0.01
    tau_plus: float = 0.02
    tau_minus: float = 0.02

    @property
    def tau_pre(self):
        return self.tau_plus

    @property
    def tau_post(self):
        return self.tau_minus

    def init_aux(self, n_syn, dtype):
        return DopamineState(
            c=jnp.zeros((n_syn, 1), dtype),
            d=jnp.zeros((1, 1), dtype),
            pending=jnp.full((1, 1), -1, jnp.int32),
            rewards=jnp.zeros((1, 1), jnp.int32),
        )

    def update(self, w, aux, pre, post, x, y, t, dt):
        c = aux.c * math.exp(-dt / self.tau_c) + self.a_plus * post * x - self.a_minus * pre * y
        d = aux.d * math.exp(-dt / self.tau_d)
        k = jnp.round(t / dt).astype(jnp.int32)
        reward = jnp.zeros_like(aux.rewards)
        if self.reward_times:
            steps = jnp.asarray([round(r / dt) for r in self.reward_times], jnp.int32)
            reward = reward + jnp.sum(steps == k).astype(reward.dtype)
        pending = aux.pending
        if self.rewarded is not None:
            i = self.rewarded
            due = pending == k
            reward = reward + due.astype(reward.dtype)
            pending = jnp.where(due, -1, pending)
            # A postsynaptic spike now with a presynaptic spike within the window before.
            paired = (post[i] > 0) & (x[i] >= math.exp(-self.reward_window / self.tau_plus))
            delay = max(1, round(self.reward_delay / dt))
            pending = jnp.where(paired[:, None] & (pending < 0), k + delay, pending)
        d = d + self.d_reward * reward.astype(d.dtype)
        w = w + (self.d0 + d) * c * (dt / self.tau_w)
        state = DopamineState(c=c, d=d, pending=pending, rewards=aux.rewards + reward)
        return jnp.clip(w, 0.0, self.w_max), state


class PlasticState(NamedTuple):
    """State of a :class:`PlasticSpikingNetwork` (units first, the one trial trailing).

    Attributes:
        net: the wrapped network's :class:`SpikingState`.
        w: weights of each plastic projection, (synapses, 1) each.
        x: presynaptic traces of each plastic projection, (n_pre, 1) each.
        y: postsynaptic traces, (n_post, 1) each.
        aux: each rule's extra state.
    """

    net: SpikingState
    w: tuple
    x: tuple
    y: tuple
    aux: tuple


class PlasticSpikingNetwork(AbstractCircuit):
    """A :class:`SpikingNetwork` whose projections ``plastic`` learn by ``rules`` online.

    Attributes:
        network: the network (its plastic projections must be sparse).
        plastic: indices of the plastic projections (static).
        rules: one :class:`AbstractSpikeRule` per plastic projection.
        t_plastic: plasticity is on from this time, s (static, 0).
        initial: the state a trial starts from (``None``: the network's initial state
            with its own weights); :func:`run_plastic` uses it to continue a run.
    """

    network: SpikingNetwork
    plastic: tuple[int, ...] = eqx.field(static=True)
    rules: tuple[AbstractSpikeRule, ...]
    t_plastic: float = eqx.field(static=True, default=0.0)
    initial: PlasticState | None = None

    def __check_init__(self):
        if len(self.plastic) != len(self.rules):
            raise ValueError("`plastic` and `rules` must have the same length")
        for i in self.plastic:
            if not isinstance(self.network.projections[i].connectivity, SparseConnectivity):
                raise ValueError(f"projections[{i}] must be sparse to be plastic")

    @property
    def n_noise(self) -> int:
        return self.network.n_noise

    def init(self, batch, dtype) -> PlasticState:
        if math.prod(batch) != 1:
            raise ValueError(f"a plastic network runs one trial at a time, got batch {batch}")
        if self.initial is not None:
            return jax.tree.map(lambda a: a.reshape(a.shape[:1] + tuple(batch)), self.initial)
        projs = [self.network.projections[i].connectivity for i in self.plastic]
        col = lambda a: jnp.asarray(a, dtype).reshape((-1,) + tuple(batch))
        return PlasticState(
            net=self.network.init(batch, dtype),
            w=tuple(col(c.weight) for c in projs),
            x=tuple(jnp.zeros((c.n_pre,) + tuple(batch), dtype) for c in projs),
            y=tuple(jnp.zeros((c.n_post,) + tuple(batch), dtype) for c in projs),
            aux=tuple(
                jax.tree.map(
                    lambda a: a.reshape(a.shape[:1] + tuple(batch)),
                    r.init_aux(c.n_synapses, dtype),
                )
                for r, c in zip(self.rules, projs, strict=True)
            ),
        )

    def stimulus_input(self, stimulus: Stimulus):
        return self.network.stimulus_input(stimulus)

    def choice_rates(self, rates):
        return self.network.choice_rates(rates)

    def check_step(self, dt: float) -> None:
        self.network.check_step(dt)

    def checked(self) -> "PlasticSpikingNetwork":
        return eqx.tree_at(lambda m: m.network, self, self.network.checked())

    def violations(self) -> Array:
        return self.network.violations()

    def with_weights(self, w) -> SpikingNetwork:
        """The wrapped network with the plastic projections' weights set to ``w``."""
        where = lambda n: [n.projections[i].connectivity.weight for i in self.plastic]
        return eqx.tree_at(where, self.network, [jnp.reshape(a, (-1,)) for a in w])

    def discretise(self, dt: float):
        self.check_step(dt)
        projs = [self.network.projections[i] for i in self.plastic]
        k_on = int(round(self.t_plastic / dt))

        def step(state: PlasticState, drive, xi):
            # late=False: a spike crosses at the start of the next step, with the
            # weights after this step's plasticity update.
            base = _discretise(self.with_weights(state.w), dt, late=False)
            net, rates = base(state.net, drive, xi)
            s = net.count - state.net.count  # this step's spikes (neurons, 1)
            t = state.net.k[0, 0].astype(s.dtype) * dt
            on = state.net.k[0, 0] >= k_on
            ws, xs, ys, auxs = [], [], [], []
            for p, r, w, x, y, aux in zip(
                projs, self.rules, state.w, state.x, state.y, state.aux, strict=True
            ):
                c = p.connectivity
                s_pre = s[p.pre_start : p.pre_start + c.n_pre]
                s_post = s[p.post_start : p.post_start + c.n_post]
                x = x * math.exp(-dt / r.tau_pre)
                y = y * math.exp(-dt / r.tau_post)
                w_new, aux_new = r.update(
                    w, aux, s_pre[c.pre], s_post[c.post], x[c.pre], y[c.post], t, dt
                )
                ws.append(jnp.where(on, w_new, w))
                auxs.append(jax.tree.map(lambda a, b: jnp.where(on, a, b), aux_new, aux))
                xs.append(x + s_pre)
                ys.append(y + s_post)
            new = PlasticState(net=net, w=tuple(ws), x=tuple(xs), y=tuple(ys), aux=tuple(auxs))
            return new, rates

        return step


class PlasticRun(NamedTuple):
    """What :func:`run_plastic` returns.

    Attributes:
        network: the plastic network set to continue from the end of the run.
        rate: each neuron's rate in each chunk, Hz (chunks, neurons).
        weights: the plastic projections' weights at the end, each (synapses,).
        mean_weight: mean weight of each plastic projection after each chunk
            (chunks, projections).
    """

    network: PlasticSpikingNetwork
    rate: np.ndarray
    weights: tuple
    mean_weight: np.ndarray


@eqx.filter_jit
def _advance(circuit, key, protocol):
    noise = CounterNoise()
    noise_state = jax.vmap(noise.init, out_axes=-1)(key[None])
    drive = circuit.stimulus_input(Stimulus())[:, None]
    out = integrate(circuit, drive, protocol, noise, noise_state, NoReadout(), batch=(1,))
    return out.state


def run_plastic(
    circuit: PlasticSpikingNetwork, *, key: PRNGKeyArray, t1: float, chunk: float = 0.5
) -> PlasticRun:
    """Run ``circuit`` for ``t1`` s in chunks of ``chunk`` s, each continuing the last.

    Each chunk is one call of the time loop (compiled once); the state, weights included,
    carries over exactly. Returns the per-chunk rates and mean weights.
    """
    net = circuit.network
    net.check_step(net.dt)
    circuit = eqx.tree_at(lambda c: c.network, circuit, _with_max_counts(net))
    n_chunk = max(1, round(t1 / chunk))
    steps = max(1, round(chunk / net.dt))
    protocol = TrialProtocol(dt=net.dt, t_on=0.0, t1=steps * net.dt, segment=min(1000, steps))
    if circuit.initial is None:
        st = circuit.init((1,), jnp.result_type(float))
        circuit = eqx.tree_at(lambda c: c.initial, circuit, st, is_leaf=lambda x: x is None)
    rates, means = [], []
    for k in jr.split(key, n_chunk):
        c0 = circuit.initial.net.count
        st = _advance(circuit, k, protocol)
        st = jax.tree.map(lambda a: a.reshape(a.shape[:1] + (1,)), st)
        rates.append(np.asarray((st.net.count - c0)[:, 0]) / (steps * net.dt))
        means.append([float(jnp.mean(w)) for w in st.w])
        circuit = eqx.tree_at(lambda c: c.initial, circuit, st)
    return PlasticRun(
        network=circuit,
        rate=np.stack(rates),
        weights=tuple(np.asarray(w[:, 0]) for w in circuit.initial.w),
        mean_weight=np.asarray(means),
    )
