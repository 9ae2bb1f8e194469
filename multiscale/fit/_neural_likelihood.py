r"""Neural likelihood estimation: a trained conditional density in place of the circuit's
Monte Carlo likelihood, for fast and smooth posterior sampling.

The circuit's trial likelihood (:func:`~multiscale.behavior.trial_log_likelihood`) is a
path average over $M \ge 2000$ noise paths per coherence, re-simulated at every
parameter value NUTS visits: slow (seconds per gradient) and rough (its Monte Carlo error
makes the log density wiggle on the scale NUTS steps across). Neural likelihood estimation
(Papamakarios, Sterratt & Murray 2019) instead simulates the circuit once, at parameters
$\theta_n$ drawn from the prior, one trial each,

$$\theta_n \sim p(\theta), \qquad c_n \sim \mathrm{U}(\mathcal C), \qquad
  (i_n, t_n) \sim p_\mathrm{circuit}(i, t \mid \theta_n, c_n),$$

and fits a conditional density $q_\phi(i, t \mid \theta, c)$ by maximum likelihood,
$\phi^\star = \arg\min_\phi -\frac1N \sum_n \log q_\phi(i_n, t_n \mid \theta_n, c_n)$,
which minimises $E_{\theta, c}\,\mathrm{KL}(p_\mathrm{circuit} \,\|\, q_\phi)$ over the
prior. $q_\phi$ is then a closed-form, differentiable surrogate likelihood that
:func:`~multiscale.fit.sample_posterior` and
:func:`~multiscale.fit.simulation_based_calibration` use unchanged.

**The density.** A multilayer perceptron maps the parameters (scaled to $[-1, 1]$ over
the prior's range) and the unsigned coherence $|c|$ to a Bernoulli probability of a
correct choice and, for each outcome (correct, error), a mixture of $K$ log-normals for
the RT (s),

$$q(i, t \mid \theta, c) = \pi_i(\theta, |c|)\,
  \sum_{k=1}^K w_{ik}\, \frac{1}{t\,s_{ik}}\,
  \varphi\!\Big(\frac{\log t - \mu_{ik}}{s_{ik}}\Big),$$

a mixture density network (Bishop 1994) in 1/s, like the circuit's. Choice 1 (upper) is
the direction of positive coherence, as in
:class:`~multiscale.behavior.CircuitChoiceModel`; the circuit is symmetric, so the
network sees "correct" and $|c|$, and at $c = 0$ "correct" means choice 1 (probability
1/2 by symmetry, learned, not imposed).

**Simulator.** One trial is one noise path of the circuit at its own $\theta$
(the first-event masses of the hazard readout, as
:func:`~multiscale.behavior.draw_trials` draws them), plus a normal non-decision time of
SD $\sqrt{s_\mathrm{nd}^2 + s_\mathrm{min}^2}$ truncated at 0. A trial undecided at the end
of the stimulus window (2.5 s by default) is kept with its decision time at the window's
end and a random choice, so that the simulator has a fixed output shape (``jit``,
``vmap``); the prior should make this rare (the validation reports the fraction).

**Limits.**
(1) Amortisation gap: $q_\phi$ is fitted on average over the prior; at a given $\theta$
its error is what the held-out log-density gap to the circuit measures, and it does not
shrink with more data from the experiment, only with more simulations and a larger
network. (2) Prior range: outside the range it was trained on the network extrapolates
freely; use priors with bounded support inside the training range (``Uniform``), as the
bounded transform of :func:`~multiscale.fit.sample_posterior` then keeps every draw inside.
(3) Coherence set: trained on a fixed set of levels; other levels are interpolation
without guarantee. (4) No lapse or contaminant unless modelled: the simulator has none,
so a single fast guess in real data can dominate the posterior; ``lapse`` mixes a uniform
contaminant on $(0, \mathrm{rt\_max}]$ into the surrogate (as the circuit likelihood does),
a modelling choice that the training did not see. (5) Every fixed leaf of the circuit
(noise, recurrent weights, protocol) is frozen into the network: changing one means
simulating and training again.

References:
    Papamakarios G, Sterratt D, Murray I (2019) Sequential neural likelihood: fast
    likelihood-free inference with autoregressive flows. Proc 22nd Int Conf Artif Intell
    Stat (AISTATS), PMLR 89:837-848.
    Bishop CM (1994) Mixture density networks. Technical report NCRG/94/004, Aston
    University.
    Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
"""

import dataclasses
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray
from tqdm.auto import tqdm

from .._checks import runtime_checks
from ..behavior import (
    NDT_SD_MIN,
    AbstractChoiceModel,
    CircuitBehavior,
    Trials,
    path_first_events,
)

ROITMAN_COHERENCE = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)
"""Unsigned coherence levels of Roitman & Shadlen (2002), fractions."""


class CircuitSimulator(eqx.Module):
    """Draws one trial of a :class:`~multiscale.behavior.CircuitBehavior` per parameter
    vector (see the module docstring): pure, ``jit``- and ``vmap``-able, fixed shape.

    Attributes:
        behavior: the circuit with its readout and noise model; the leaves that ``wheres``
            name are replaced by each trial's parameters.
        wheres: accessors of the free leaves (static), e.g.
            ``lambda b: b.circuit.J_A_ext``.
        ndt_sd_min: floor on the SD of the non-decision time, s (static).
        chunk: trials simulated at once (static; memory).
    """

    behavior: CircuitBehavior
    wheres: tuple[Callable, ...] = eqx.field(static=True)
    ndt_sd_min: float = eqx.field(static=True, default=NDT_SD_MIN)
    chunk: int = eqx.field(static=True, default=256)

    def __call__(
        self,
        theta: Float[Array, "trials p"],
        coherence: Float[Array, " trials"],
        *,
        key: PRNGKeyArray,
    ) -> tuple[Array, Array, Array]:
        """``(correct, rt, decided)`` for each row of ``theta`` at unsigned ``coherence``."""
        dtype = jnp.result_type(float)
        theta = jnp.asarray(theta, dtype)
        coherence = jnp.asarray(coherence, dtype)
        n = coherence.shape[0]
        k_path, k_u, k_v, k_ndt, k_side = jr.split(key, 5)
        protocol = self.behavior.protocol
        n_on, n_steps = protocol.n_on, protocol.n_steps

        def one(args):
            th, c, k, u = args
            model = self._at(th)
            q, _ = path_first_events(model, c, k)
            return jnp.searchsorted(jnp.cumsum(q.reshape(-1)), u)

        inputs = (theta, coherence, jr.split(k_path, n), jr.uniform(k_u, (n,), dtype))
        idx = jax.lax.map(one, inputs, batch_size=min(self.chunk, n))
        decided = idx < 2 * n_steps
        step = jnp.minimum(idx // 2, n_steps)
        bins = jnp.maximum(step - n_on, 0).astype(dtype)
        u = jnp.where(decided, jr.uniform(k_v, (n,), dtype), 0.0)
        decision_time = (bins + u) * jnp.asarray(protocol.dt, dtype)
        mu = jax.vmap(lambda th: jnp.asarray(self._at(th).readout.non_decision_time, dtype))(theta)
        sd_nd = jax.vmap(lambda th: jnp.asarray(self._at(th).ndt_sd, dtype))(theta)
        sd = jnp.sqrt(sd_nd**2 + jnp.asarray(self.ndt_sd_min, dtype) ** 2)
        z = jr.truncated_normal(k_ndt, -mu / sd, jnp.asarray(jnp.inf, dtype), (n,), dtype)
        rt = decision_time + mu + sd * z
        coin = jr.bernoulli(k_side, 0.5, (n,))
        correct = jnp.where(decided, idx % 2 == 0, coin)
        return correct, rt, decided

    def _at(self, th):
        values = [
            jnp.asarray(th[i], jnp.asarray(w(self.behavior)).dtype)
            for i, w in enumerate(self.wheres)
        ]
        return eqx.tree_at(lambda b: [w(b) for w in self.wheres], self.behavior, values)


class MixtureDensityNetwork(eqx.Module):
    """$q(\\text{correct}, t \\mid \\theta, |c|)$: an MLP with a Bernoulli head and, per
    outcome, a ``components``-mixture of log-normal RTs (module docstring).

    Attributes:
        mlp: the network, input ``p + 1`` (scaled parameters, $|c|$), output
            ``1 + 6 * components``.
        components: $K$, log-normal components per outcome (static).
        log_rt_shift: centre of $\\log t$ the mixture means are offset by (static), log s.
    """

    mlp: eqx.nn.MLP
    components: int = eqx.field(static=True)
    log_rt_shift: float = eqx.field(static=True, default=-0.5)

    def __init__(
        self,
        n_parameters: int,
        *,
        key: PRNGKeyArray,
        width: int = 64,
        depth: int = 3,
        components: int = 4,
        log_rt_shift: float = -0.5,
    ):
        self.mlp = eqx.nn.MLP(
            n_parameters + 1, 1 + 6 * components, width, depth, activation=jax.nn.silu, key=key
        )
        self.components = components
        self.log_rt_shift = log_rt_shift

    def heads(self, x: Float[Array, " p1"]):
        """``(logit of correct, log weights (2, K), means (2, K), SDs (2, K))`` of log RT."""
        out = self.mlp(x)
        k = self.components
        logit = out[0]
        rest = out[1:].reshape(2, 3, k)
        log_w = jax.nn.log_softmax(rest[:, 0], axis=-1)
        mean = rest[:, 1] + self.log_rt_shift
        sd = jax.nn.softplus(rest[:, 2] - 1.0) + 1e-3
        return logit, log_w, mean, sd

    def log_prob(self, x: Float[Array, " p1"], correct, rt) -> Float[Array, ""]:
        """$\\log q$ of one trial (RT density in 1/s)."""
        logit, log_w, mean, sd = self.heads(x)
        side = jnp.where(correct, 0, 1)
        log_choice = jnp.where(correct, jax.nn.log_sigmoid(logit), jax.nn.log_sigmoid(-logit))
        safe = jnp.where(rt > 0, rt, 1.0)
        log_t = jnp.log(safe)
        z = (log_t - mean[side]) / sd[side]
        comp = log_w[side] - 0.5 * z**2 - jnp.log(sd[side]) - 0.5 * jnp.log(2 * jnp.pi)
        lp = log_choice + logsumexp(comp) - log_t
        return jnp.where(rt > 0, lp, -jnp.inf)

    def sample(self, x: Float[Array, " p1"], key: PRNGKeyArray) -> tuple[Array, Array]:
        """One ``(correct, rt)`` draw."""
        k1, k2, k3 = jr.split(key, 3)
        logit, log_w, mean, sd = self.heads(x)
        correct = jr.bernoulli(k1, jax.nn.sigmoid(logit))
        side = jnp.where(correct, 0, 1)
        j = jr.categorical(k2, log_w[side])
        rt = jnp.exp(mean[side, j] + sd[side, j] * jr.normal(k3, (), mean.dtype))
        return correct, rt


def _scaled(theta, low, high):
    """Each parameter mapped from its range ``(low, high)`` onto ``(-1, 1)``."""
    low = jnp.broadcast_to(jnp.asarray(low, theta.dtype), theta.shape)
    high = jnp.broadcast_to(jnp.asarray(high, theta.dtype), theta.shape)
    return 2 * (theta - low) / (high - low) - 1


class NeuralLikelihoodModel(AbstractChoiceModel):
    """A trained neural likelihood of a circuit as a choice model (module docstring).

    ``log_density`` is the network (``jit``, ``vmap``, ``grad`` in the parameters);
    ``simulate`` samples from the network, or, when ``simulator`` is set, from the circuit
    itself at the model's parameters (fixed shape, ``vmap``-able either way): calibration
    of the surrogate against the true simulator is then
    :func:`~multiscale.fit.simulation_based_calibration` of this model.

    Attributes:
        theta: the free parameters by name, scalar float arrays (``Prior(lambda m:
            m.theta["threshold"], ...)``), in the circuit's units.
        network: the trained :class:`MixtureDensityNetwork`.
        low, high: the training range of each parameter (static), in order of ``names``.
        names: the parameters' names (static), the order of the network's inputs.
        simulator: the circuit simulator for ``simulate`` (``None``: sample the network).
        lapse: weight of a uniform contaminant on $(0, \\mathrm{rt\\_max}]$ mixed into the
            density (0: none, as trained).
        rt_max: the contaminant's upper end, s (static).
    """

    theta: dict[str, Array]
    network: MixtureDensityNetwork
    low: tuple[float, ...] = eqx.field(static=True)
    high: tuple[float, ...] = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)
    simulator: CircuitSimulator | None = None
    lapse: float | Array = 0.0
    rt_max: float = eqx.field(static=True, default=2.5)

    def _vector(self) -> Array:
        dtype = jnp.result_type(float)
        return jnp.stack([jnp.asarray(self.theta[n], dtype) for n in self.names])

    def _inputs(self, condition) -> Array:
        th = _scaled(self._vector(), self.low, self.high)
        c = jnp.abs(jnp.asarray(condition, th.dtype))
        return jnp.concatenate([jnp.broadcast_to(th, c.shape + th.shape), c[:, None]], axis=1)

    def log_density(self, trials: Trials) -> Float[Array, " trials"]:
        """$\\log q(\\text{choice}, \\text{RT} \\mid \\theta, c)$ per trial (RT in 1/s)."""
        c = jnp.asarray(trials.condition)
        upper = trials.choice == 1
        correct = jnp.where(c >= 0, upper, ~upper)
        x = self._inputs(c)
        rt = jnp.asarray(trials.rt, x.dtype)
        lp = jax.vmap(self.network.log_prob)(x, correct, rt)
        eps = jnp.asarray(self.lapse, x.dtype)
        contaminant = jnp.where(rt <= self.rt_max, 0.5 / self.rt_max, 0.0)
        mixed = jnp.logaddexp(jnp.log1p(-eps) + lp, jnp.log(eps) + jnp.log(contaminant))
        return jnp.where(eps > 0, mixed, lp)

    def simulate(self, condition: Float[ArrayLike, " trials"], *, key: PRNGKeyArray) -> Trials:
        """One trial per signed coherence; never drops a trial (fixed shape)."""
        c = jnp.asarray(condition, jnp.result_type(float))
        n = c.shape[0]
        if self.simulator is None:
            correct, rt = jax.vmap(self.network.sample)(self._inputs(c), jr.split(key, n))
        else:
            theta = jnp.broadcast_to(self._vector(), (n, len(self.names)))
            correct, rt, _ = self.simulator(theta, jnp.abs(c), key=key)
        upper = jnp.where(c >= 0, correct, ~correct)
        return Trials(rt=rt, choice=upper.astype(jnp.int32), condition=c)


@dataclasses.dataclass(frozen=True)
class SimulationSet:
    """Simulated training trials: parameters, unsigned coherence and outcome per row."""

    theta: np.ndarray  # (n, p)
    coherence: np.ndarray  # (n,)
    correct: np.ndarray  # (n,) bool
    rt: np.ndarray  # (n,) s
    decided: np.ndarray  # (n,) bool

    def split(self, n_first: int) -> tuple["SimulationSet", "SimulationSet"]:
        """The first ``n_first`` rows and the rest."""
        head = {f.name: getattr(self, f.name)[:n_first] for f in dataclasses.fields(self)}
        tail = {f.name: getattr(self, f.name)[n_first:] for f in dataclasses.fields(self)}
        return SimulationSet(**head), SimulationSet(**tail)


@eqx.filter_jit
def _run_simulator(simulator, theta, coherence, key):
    return simulator(theta, coherence, key=key)


def simulate_training_set(
    simulator: CircuitSimulator,
    priors: Sequence,
    n: int,
    *,
    key: PRNGKeyArray,
    coherence: Sequence[float] = ROITMAN_COHERENCE,
    batch: int = 2048,
    progress: bool = True,
) -> SimulationSet:
    """``n`` trials, each at its own parameters drawn from ``priors`` (one
    :class:`~multiscale.fit.Prior` per entry of ``simulator.wheres``, in order) and a
    coherence drawn uniformly from ``coherence`` (unsigned fractions)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"`n` must be an int >= 1, got {n!r}")
    if len(priors) != len(simulator.wheres):
        raise ValueError("give one prior per free leaf of the simulator, in the same order")
    dtype = jnp.result_type(float)
    k_theta, k_c, k_sim = jr.split(key, 3)
    ks = jr.split(k_theta, len(priors))
    theta = jnp.stack(
        [p.distribution.sample(kk, (n,)).astype(dtype) for p, kk in zip(priors, ks, strict=True)],
        axis=1,
    )
    levels = jnp.asarray(coherence, dtype)
    c = levels[jr.randint(k_c, (n,), 0, levels.shape[0])]
    parts = []
    keys = jr.split(k_sim, -(-n // batch))
    with runtime_checks(False):
        for i, start in enumerate(
            tqdm(range(0, n, batch), disable=not progress, desc="simulate", unit="batch")
        ):
            sl = slice(start, min(start + batch, n))
            th, cc = theta[sl], c[sl]
            m = th.shape[0]
            if m < batch:  # pad so that the compiled batch is reused
                th = jnp.concatenate([th, jnp.broadcast_to(th[:1], (batch - m, th.shape[1]))])
                cc = jnp.concatenate([cc, jnp.broadcast_to(cc[:1], (batch - m,))])
            out = _run_simulator(simulator, th, cc, keys[i])
            parts.append([np.asarray(a)[:m] for a in out])
    correct, rt, decided = (np.concatenate(a) for a in zip(*parts, strict=True))
    return SimulationSet(np.asarray(theta), np.asarray(c), correct, rt, decided)


@dataclasses.dataclass(frozen=True)
class NeuralLikelihoodFit:
    """A trained neural likelihood and its training record.

    Attributes:
        model: the :class:`NeuralLikelihoodModel` (parameters at the prior's centre).
        train_nll, valid_nll: mean NLL per trial (nats, RT density in 1/s) on the training
            (at most 20,000 of them) and held-out simulations, before training and every
            ``log_every`` steps.
    """

    model: NeuralLikelihoodModel
    train_nll: np.ndarray
    valid_nll: np.ndarray


def _mean_nll(network, x, correct, rt):
    return -jnp.mean(jax.vmap(network.log_prob)(x, correct, rt))


def train_neural_likelihood(
    data: SimulationSet,
    names: Sequence[str],
    low: Sequence[float],
    high: Sequence[float],
    *,
    key: PRNGKeyArray,
    valid_fraction: float = 0.1,
    steps: int = 3000,
    batch: int = 512,
    optimizer: optax.GradientTransformation | None = None,
    width: int = 64,
    depth: int = 3,
    components: int = 4,
    log_every: int = 100,
    simulator: CircuitSimulator | None = None,
    progress: bool = True,
) -> NeuralLikelihoodFit:
    """Fit a :class:`MixtureDensityNetwork` to simulated trials by maximum likelihood.

    Args:
        data: simulated trials (:func:`simulate_training_set`).
        names, low, high: the parameters' names and training ranges (the priors'
            supports), in the order of ``data.theta``'s columns.
        key: PRNG key (initialisation, validation split, mini-batches).
        valid_fraction: share of rows held out for the validation NLL (0.1).
        steps, batch: Adam steps and mini-batch size (3000, 512).
        optimizer: default Adam with a cosine decay of the learning rate from 3e-3.
        width, depth, components: the network (64, 3, 4).
        log_every: steps between NLL records.
        simulator: stored in the returned model for ``simulate`` (``None``: the network).
        progress: show a progress bar.
    """
    names, low, high = tuple(names), tuple(map(float, low)), tuple(map(float, high))
    if not (len(names) == len(low) == len(high) == data.theta.shape[1]):
        raise ValueError("`names`, `low`, `high` must each have one entry per parameter")
    dtype = jnp.result_type(float)
    k_init, k_perm, k_batch = jr.split(key, 3)
    x = jnp.concatenate(
        [
            _scaled(jnp.asarray(data.theta, dtype), low, high),
            jnp.asarray(data.coherence, dtype)[:, None],
        ],
        axis=1,
    )
    correct, rt = jnp.asarray(data.correct), jnp.asarray(data.rt, dtype)
    perm = jr.permutation(k_perm, x.shape[0])
    n_valid = max(1, int(round(valid_fraction * x.shape[0])))
    iv, it = perm[:n_valid], perm[n_valid:]
    xv, cv, rv = x[iv], correct[iv], rt[iv]
    xt, ct, rtt = x[it], correct[it], rt[it]
    log_rt_shift = float(jnp.mean(jnp.log(rtt)))
    net = MixtureDensityNetwork(
        len(names),
        key=k_init,
        width=width,
        depth=depth,
        components=components,
        log_rt_shift=log_rt_shift,
    )
    if optimizer is None:
        optimizer = optax.adam(optax.cosine_decay_schedule(3e-3, steps, alpha=0.03))
    n_train = xt.shape[0]
    params, static = eqx.partition(net, eqx.is_inexact_array)
    opt_state = optimizer.init(params)

    def step(carry, k):
        params, opt_state = carry
        idx = jr.randint(k, (min(batch, n_train),), 0, n_train)
        loss_fn = lambda p: _mean_nll(eqx.combine(p, static), xt[idx], ct[idx], rtt[idx])
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def block(params, opt_state, keys):
        """``len(keys)`` Adam steps in one compiled loop."""
        return jax.lax.scan(step, (params, opt_state), keys)[0]

    evaluate = jax.jit(lambda p, x, c, r: _mean_nll(eqx.combine(p, static), x, c, r))
    train_rec, valid_rec = [], []
    keys = jr.split(k_batch, steps)
    n_eval = min(n_train, 20000)
    starts = list(range(0, steps, log_every))
    # Optax relies on NumPy's implicit promotions (an int step count with float decay
    # rates); a user who sets JAX's strict modes must still be able to train.
    with runtime_checks(False), jax.numpy_dtype_promotion("standard"):
        train_rec.append(float(evaluate(params, xt[:n_eval], ct[:n_eval], rtt[:n_eval])))
        valid_rec.append(float(evaluate(params, xv, cv, rv)))
        for start in tqdm(starts, disable=not progress, desc="train", unit="block"):
            chunk = keys[start : start + log_every]
            params, opt_state = block(params, opt_state, chunk)
            train_rec.append(float(evaluate(params, xt[:n_eval], ct[:n_eval], rtt[:n_eval])))
            valid_rec.append(float(evaluate(params, xv, cv, rv)))
    net = eqx.combine(params, static)
    centre = {
        n: jnp.asarray(0.5 * (lo + hi), dtype) for n, lo, hi in zip(names, low, high, strict=True)
    }
    model = NeuralLikelihoodModel(centre, net, low, high, names, simulator=simulator)
    return NeuralLikelihoodFit(model, np.asarray(train_rec), np.asarray(valid_rec))
