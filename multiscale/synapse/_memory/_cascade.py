r"""The cascade model of metaplasticity (Fusi, Drew & Abbott 2005) and the binary synapse.

A synapse has a binary efficacy, weak or strong, and a hidden **level** $i = 1, \dots, n$
that sets how plastic it is. Each plasticity event is a potentiation or a depression. An
event that opposes the efficacy (potentiation of a weak synapse, depression of a strong
one) switches the efficacy with probability $q_i$ and sends the synapse to the top, most
plastic, level $1$ of its new side; an event that agrees with the efficacy moves the
synapse one level deeper with probability $p_i$ (a **metaplastic** transition: the
efficacy is unchanged, only its future plasticity falls). In the cascade model

$$q_i = x^{i-1}\ (i < n),\qquad q_n = \frac{x^{n-1}}{1 - x},\qquad
  p_i = \frac{x^i}{1 - x}\ (i < n),\qquad p_n = 0,$$

with $x = 1/2$. The boundary terms make every level equally occupied at equilibrium
(:func:`memory_equilibrium`; the flux into level $i+1$, $P_i p_i$, equals the flux out of it,
$P_{i+1}(p_{i+1} + q_{i+1})$, because $p_{i+1} + q_{i+1} = p_i$). The comparison model
is the binary synapse of :class:`BinaryMemorySynapse`: one level, switching probability $q$.

**Memory signal.** At $t = 0$ a memory is stored: half of the $N$ synapses receive a
potentiation, the other half a depression. Then every further memory gives each synapse
one more event, a potentiation or a depression with probability 1/2 each. The signal is
the expected difference in efficacy between the synapses the tracked memory potentiated
and those it depressed, $t$ events later, in units of $w_\mathrm{strong} - w_\mathrm{weak}$:

$$S(t) = \big(\pi M_+ - \pi M_-\big)\, M^t\, w,\qquad M = \tfrac12 (M_+ + M_-),$$

with $\pi$ the equilibrium over the $2n$ states, $M_\pm$ the transition matrices of a
potentiation and a depression event and $w$ the efficacy of each state (0 weak, 1
strong). The noise is the standard deviation of the same difference for a memory never
stored, $1/\sqrt N$, so $\mathrm{SNR}(t) = \sqrt N\, S(t)$. For the binary synapse
$S(t) = q (1 - q)^t$, an exponential. For the cascade $S(0) = 1/(n(1 - x))$ exactly
($2/n$ at $x = 1/2$: as fast as a binary synapse with $q = 2/n$), and $S(t)$ decays
roughly as a power law for $1 \ll t \ll x^{-n}$, exponentially after
(the validation module ``_synapse_cascade`` measures both).

**Time.** $t$ counts plasticity events per synapse after storage (dimensionless); with
events at rate $r$ (Hz) the time after storage is $t/r$ seconds.

**Numerics.** Deep levels have switching probabilities such as $2^{-28}$, below the
float32 resolution of $1 - q$. The mean field therefore works with the increments
$G_\pm = M_\pm - I$ (a discrete generator, whose entries are the small probabilities
themselves), and raises $M = I + G$ to the power $t$ by repeated squaring in that form,
$G_{2^{k+1}} = 2 G_{2^k} + G_{2^k}^2$, resetting each diagonal to minus its row's
off-diagonal sum so that probability is conserved exactly. In float32 the absolute
error stays near $2 \times 10^{-7} S(0)$ for any $t < 2^{31}$, i.e. under 1 % relative
wherever $S(t) > 10^{-6} S(0)$ (checked against float64 matrix powers up to $t = 10^9$).

References:
    Fusi S, Drew PJ, Abbott LF (2005) Cascade models of synaptically stored memories.
    Neuron 45:599-611. The transition probabilities above, with their boundary terms,
    were read from a public reimplementation (GitHub kostasl/synapticMemory,
    ``MFPT-synapseModels/synapseCascade.cpp``: "q_i=x^(i-1)", "p=x^i/(1-x) x=1/2 As
    given in Fusi '05", "last q is divided by (1-x)"); the paper's own text was not available
    to us. The uniform equilibrium they produce is stated for the cascade by Ben
    Dayan Rubin & Fusi (2007) Front Comput Neurosci 1:7 (as quoted in a third-party
    transcription).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Real

# Bits of an int32 time: memory_signal and memory_lifetime reach t = 2**31 - 1 events.
_BITS = 31


def _concrete(v) -> float | None:
    try:
        return float(np.asarray(v, dtype=float))
    except (TypeError, jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _as_float(v) -> Array:
    a = jnp.asarray(v)
    return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(float)


class AbstractMemorySynapse(eqx.Module):
    """A binary synapse (weak or strong) with hidden plasticity levels.

    A concrete synapse gives its number of levels and, per level, the probability $q_i$
    that an opposing event switches the efficacy (to level 1 of the other side) and the
    probability $p_i$ that an agreeing event moves it one level deeper; the functions of
    this module compute everything else from these. States are numbered weak levels
    first: state $i - 1$ is weak at level $i$, state $n + i - 1$ strong at level $i$.
    """

    @property
    @abc.abstractmethod
    def n_levels(self) -> int:
        """Number of levels $n$ on each side (a Python int: it fixes the shapes)."""

    @abc.abstractmethod
    def probabilities(self) -> tuple[Float[Array, " levels"], Float[Array, " levels"]]:
        """``(q, p)``, each of shape (levels,): switching and deepening probabilities.

        ``p`` of the last level is 0 (there is no deeper level).
        """


class CascadeSynapse(AbstractMemorySynapse):
    r"""The cascade synapse of Fusi, Drew & Abbott (2005); equations in the module docstring.

    $q_i = x^{i-1}$ ($i < n$), $q_n = x^{n-1}/(1-x)$, $p_i = x^i/(1-x)$ ($i < n$),
    $p_n = 0$. All are probabilities when $0 < x \le 1/2$ and $n \ge 2$ ($p_1 \le 1$
    needs $x \le 1/2$; with $n = 1$ the formula gives $q_1 = 1/(1-x) > 1$, so a single
    level is the :class:`BinaryMemorySynapse`). The slowest level switches with probability
    $\sim x^{n}$ per event, which sets the end of the power-law regime, $t \sim x^{-n}$.

    Attributes:
        n: number of levels per efficacy (dimensionless, static: it fixes the shapes);
            our default 15.
        x: ratio of the plasticity of successive levels (dimensionless, in (0, 1/2]);
            the paper's 1/2. Differentiable.

    Example:
        >>> from multiscale.synapse import CascadeSynapse, memory_signal
        >>> s = memory_signal(CascadeSynapse(n=10), [0, 10, 100])
        >>> [round(float(v), 4) for v in s]   # S(0) = 2/n, then a slow decay
        [0.2, 0.0367, 0.0082]
    """

    n: int = eqx.field(static=True, default=15)
    x: Float[ArrayLike, ""] = 0.5

    def __check_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 2:
            raise ValueError(
                f"CascadeSynapse `n` must be a Python int >= 2 (number of levels), got {self.n!r}; "
                "use BinaryMemorySynapse for a single level"
            )
        x = _concrete(self.x)
        if x is not None and not (np.isfinite(x) and 0.0 < x <= 0.5):
            raise ValueError(
                f"CascadeSynapse `x` must lie in (0, 1/2] so that every p_i = x^i/(1-x) <= 1, "
                f"got {x}"
            )

    @property
    def n_levels(self) -> int:
        return int(self.n)

    def probabilities(self) -> tuple[Float[Array, " levels"], Float[Array, " levels"]]:
        x = _as_float(self.x)
        i = jnp.arange(self.n, dtype=x.dtype)  # i - 1 for levels i = 1..n
        last = jnp.arange(self.n) == self.n - 1
        q = jnp.where(last, x**i / (1.0 - x), x**i)
        p = jnp.where(last, 0.0, x ** (i + 1.0) / (1.0 - x))
        return q, p


class BinaryMemorySynapse(AbstractMemorySynapse):
    r"""A binary synapse without hidden levels: an opposing event switches it with probability $q$.

    The comparison model of Fusi, Drew & Abbott (2005). Its memory signal is
    $S(t) = q (1 - q)^t$: a large $q$ learns fast and forgets fast, a small $q$ keeps
    memories longer but stores them weakly.

    Attributes:
        q: switching probability per event (dimensionless, in (0, 1]). Differentiable.

    Example:
        >>> from multiscale.synapse import BinaryMemorySynapse, memory_signal
        >>> memory_signal(BinaryMemorySynapse(q=0.5), [0, 1, 2]).tolist()
        [0.5, 0.25, 0.125]
    """

    q: Float[ArrayLike, ""]

    def __check_init__(self):
        q = _concrete(self.q)
        if q is not None and not (np.isfinite(q) and 0.0 < q <= 1.0):
            raise ValueError(f"BinaryMemorySynapse `q` must lie in (0, 1], got {q}")

    @property
    def n_levels(self) -> int:
        return 1

    def probabilities(self) -> tuple[Float[Array, " levels"], Float[Array, " levels"]]:
        q = _as_float(self.q)
        return q[None], jnp.zeros((1,), q.dtype)


def _check_model(model) -> None:
    if not isinstance(model, AbstractMemorySynapse):
        raise ValueError(
            f"`model` must be an AbstractMemorySynapse (CascadeSynapse, BinaryMemorySynapse), "
            f"got {type(model).__name__}"
        )


def _increments(model: AbstractMemorySynapse) -> tuple[Array, Array]:
    """``(G_pot, G_dep) = (M_pot - I, M_dep - I)``, each (2n, 2n), rows summing to 0."""
    q, p = model.probabilities()
    n = model.n_levels
    # NumPy constants for the structure (n is static): quicker to compile than jnp.diag.
    eye = np.eye(n, dtype=q.dtype)
    p = p * (1.0 - eye[-1])  # nowhere deeper to go from the last level
    to_top = q[:, None] * eye[:1, :]  # switch: to level 1 of the other side
    deeper = p[:, None] * (np.eye(n, k=1, dtype=q.dtype) - eye)
    zero = jnp.zeros((n, n), q.dtype)
    stay = -q[:, None] * eye
    g_pot = jnp.block([[stay, to_top], [zero, deeper]])
    g_dep = jnp.block([[deeper, zero], [to_top, stay]])
    return g_pot, g_dep


def memory_transition_matrices(
    model: AbstractMemorySynapse,
) -> tuple[Float[Array, "states states"], Float[Array, "states states"]]:
    """Markov transition matrices of one potentiation and one depression event.

    Row-stochastic: ``M[i, j]`` is the probability of going from state ``i`` to state
    ``j`` (states numbered as in :class:`AbstractMemorySynapse`). Returns
    ``(M_pot, M_dep)``, each (2n, 2n). In float32 a diagonal $1 - q$ with $q$ below
    ~6e-8 rounds to 1; the mean-field functions avoid this (module docstring).
    """
    _check_model(model)
    return _matrices(model)


@eqx.filter_jit
def _matrices(model):
    g_pot, g_dep = _increments(model)
    eye = np.eye(g_pot.shape[0], dtype=g_pot.dtype)
    return eye + g_pot, eye + g_dep


def memory_equilibrium(model: AbstractMemorySynapse) -> Float[Array, " states"]:
    r"""Stationary distribution over the 2n states under balanced random events.

    With potentiation and depression equally likely, level $i+1$ of a side is fed from
    level $i$ and drained by deepening and switching, so
    $P_{i+1} = P_i\, p_i / (p_{i+1} + q_{i+1})$, and each side holds half the synapses.
    For the cascade every ratio is 1: all $2n$ states hold $1/(2n)$. Returns the
    distribution, shape (2n,), weak levels first.
    """
    _check_model(model)
    return _equilibrium(model)


@eqx.filter_jit
def _equilibrium(model):
    q, p = model.probabilities()
    n = model.n_levels
    p = p * (1.0 - np.eye(n, dtype=q.dtype)[-1])
    ratio = p[:-1] / (p[1:] + q[1:])
    # Cumulative product as a masked product (a single reduction; n is small and static).
    lower = np.tri(n, n - 1, -1, dtype=bool)  # row i takes the ratios of levels 1..i
    side = jnp.prod(jnp.where(lower, ratio[None, :], 1.0), axis=1)
    side = 0.5 * side / jnp.sum(side)
    return jnp.concatenate([side, side])


def _mean_field(model):
    """d0 = pi M_pot - pi M_dep, the centred efficacy w, and M^(2^k) - I for k < _BITS."""
    g_pot, g_dep = _increments(model)
    pi = _equilibrium(model)
    g = 0.5 * (g_pot + g_dep)
    d0 = pi @ (g_pot - g_dep)  # pi M_pot - pi M_dep; sums to 0
    n = model.n_levels
    w = jnp.concatenate([jnp.full((n,), -0.5, g.dtype), jnp.full((n,), 0.5, g.dtype)])
    eye = np.eye(g.shape[0], dtype=g.dtype)

    def square(gk, _):
        # (I + G)^2 = I + (2G + G^2). Off-diagonal entries of a power of M are >= 0 and
        # each row of the increment sums to 0, so the diagonal is rebuilt from them.
        nxt = (2.0 * gk + gk @ gk) * (1.0 - eye)
        nxt = nxt - eye * jnp.sum(nxt, axis=1)[:, None]
        return nxt, gk

    _, powers = jax.lax.scan(square, g, None, length=_BITS)
    return d0, w, powers


def _check_times(t) -> Array:
    traced = isinstance(t, jax.core.Tracer)
    tv = t if traced else np.asarray(t)
    if not jnp.issubdtype(tv.dtype, jnp.integer):
        raise ValueError(f"`t` must be integer numbers of events, got dtype {tv.dtype}")
    if not traced and (np.any(tv < 0) or np.any(tv > 2**_BITS - 1)):
        raise ValueError(f"`t` must lie in [0, 2**31 - 1] events, got {tv}")
    return jnp.asarray(tv).astype(jnp.int32)


def memory_signal(
    model: AbstractMemorySynapse, t: Real[ArrayLike, "*times"]
) -> Float[Array, "*times"]:
    r"""Exact mean-field memory signal $S(t)$, $t$ events after storage.

    $S(t) = (\pi M_+ - \pi M_-) M^t w$ (module docstring), in units of the efficacy step
    $w_\mathrm{strong} - w_\mathrm{weak}$. $M^t$ is applied by binary powers (a
    ``lax.scan`` over the 31 bits of $t$), so any $t$ costs the same. Jittable,
    vmappable, and differentiable in the model's continuous parameters.

    Args:
        model: the synapse.
        t: events after storage (dimensionless integers in [0, 2**31 - 1]), any shape.

    Returns:
        $S(t)$, shaped like ``t``.
    """
    _check_model(model)
    return _signal(model, _check_times(t))


@eqx.filter_jit
def _signal(model, t):
    d0, w, powers = _mean_field(model)
    flat = t.reshape(-1)
    bits = (flat[None, :] >> jnp.arange(_BITS, dtype=jnp.int32)[:, None]) & 1

    def apply(v, inputs):
        gk, bit = inputs
        return jnp.where(bit[:, None] == 1, v + v @ gk.T, v), None

    v0 = jnp.broadcast_to(w, (flat.shape[0], w.shape[0]))
    v, _ = jax.lax.scan(apply, v0, (powers, bits))
    return (v @ d0).reshape(t.shape)


def memory_snr(
    model: AbstractMemorySynapse,
    t: Real[ArrayLike, "*times"],
    n_synapses: Real[ArrayLike, ""],
) -> Float[Array, "*times"]:
    r"""Signal-to-noise ratio $\sqrt N\, S(t)$ of a memory stored in $N$ synapses.

    The noise, $1/\sqrt N$, is the standard deviation of the difference of mean
    efficacies between the two halves of the synapses for a memory never stored.
    ``t``: events after storage (integers, any shape); ``n_synapses``: $N$ (> 0, may be
    large, e.g. 1e12). Returns the SNR, shaped like ``t``.
    """
    s = memory_signal(model, t)
    return s * jnp.sqrt(_check_n(n_synapses, s.dtype))


def _check_n(n_synapses, dtype) -> Array:
    v = _concrete(n_synapses)
    if v is not None and not (np.isfinite(v) and v > 0):
        raise ValueError(f"`n_synapses` must be a finite number > 0, got {n_synapses!r}")
    return jnp.asarray(n_synapses).astype(dtype)


def memory_lifetime(
    model: AbstractMemorySynapse,
    n_synapses: Real[ArrayLike, ""],
    *,
    threshold: float = 1.0,
) -> Int[Array, ""]:
    r"""Memory lifetime: the last $t$ (events) at which $\mathrm{SNR}(t) \ge$ ``threshold``.

    Found bit by bit (binary search over $t < 2^{31}$), assuming the SNR falls with $t$:
    true here except over the first two events of a cascade with $x = 1/2$ (its top
    level switches with probability 1, so $S(2) > S(1)$), which matters only for a
    threshold inside that wiggle.

    Args:
        model: the synapse.
        n_synapses: $N$ (> 0).
        threshold: SNR at which the memory counts as lost (1, the usual choice).

    Returns:
        The lifetime, int32 events; -1 if even $\mathrm{SNR}(0)$ is below the threshold,
        and $2^{31} - 1$ if the memory outlives that.
    """
    _check_model(model)
    dtype = model.probabilities()[0].dtype
    theta = _concrete(threshold)
    if theta is not None and not np.isfinite(theta):
        raise ValueError(f"`threshold` must be finite, got {threshold!r}")
    return _lifetime(model, _check_n(n_synapses, dtype), jnp.asarray(threshold, dtype))


@eqx.filter_jit
def _lifetime(model, n_synapses, theta):
    d0, w, powers = _mean_field(model)
    scale = jnp.sqrt(n_synapses)

    def bit(carry, inputs):
        t, v = carry
        gk, step = inputs
        cand = v + gk @ v
        keep = scale * (d0 @ cand) >= theta
        return (jnp.where(keep, t + step, t), jnp.where(keep, cand, v)), None

    # Highest bit first: try t + 2^k and keep it while the memory is still detectable.
    steps = jnp.asarray(2 ** np.arange(_BITS - 1, -1, -1), dtype=jnp.int32)
    (t, _), _ = jax.lax.scan(bit, (jnp.zeros((), jnp.int32), w), (powers[::-1], steps))
    return jnp.where(scale * (d0 @ w) >= theta, t, -1)


class MemorySimulation(eqx.Module):
    """Stochastic run of N synapses after one tracked memory.

    Attributes:
        ts: events after storage, 0, 1, ..., n_events, shape (time,).
        signal: measured signal, the mean efficacy of the synapses the memory potentiated
            minus that of those it depressed (units of the efficacy step), shape (time,).
        state: final state of every synapse (weak levels first), shape (synapses,).
    """

    ts: Int[Array, " time"]
    signal: Float[Array, " time"]
    state: Int[Array, " synapses"]

    @property
    def snr(self) -> Float[Array, "*batch time"]:
        r"""Measured signal over the equilibrium noise $1/\sqrt N$ (batch axes kept)."""
        return self.signal * jnp.sqrt(jnp.asarray(self.state.shape[-1], self.signal.dtype))


def simulate_memory(
    model: AbstractMemorySynapse,
    n_synapses: int,
    n_events: int,
    *,
    key: PRNGKeyArray,
) -> MemorySimulation:
    r"""Simulate ``n_synapses`` synapses storing one memory, then ``n_events`` random ones.

    Synapses start in states drawn from :func:`memory_equilibrium`. At t = 0 the first
    half is potentiated and the second half depressed (the tracked memory); each later
    event potentiates or depresses each synapse with probability 1/2, independently. The
    rule is applied from ``model.probabilities()``, not from the transition matrices, so
    the mean of ``signal`` over runs independently checks :func:`memory_signal`. One
    ``lax.scan`` step per event; batch runs with ``jax.vmap`` over keys. Float32
    uniforms resolve probabilities down to $2^{-23}$ (cascades up to $n \approx 24$ at
    $x = 1/2$); deeper ones need float64.

    Args:
        model: the synapse.
        n_synapses: N, an even Python int >= 2.
        n_events: number of events after storage, a Python int >= 0.
        key: PRNG key.

    Returns:
        A :class:`MemorySimulation` sampled at t = 0, ..., n_events.
    """
    _check_model(model)
    n_ok = isinstance(n_synapses, int | np.integer) and not isinstance(n_synapses, bool)
    if not n_ok or n_synapses < 2 or n_synapses % 2:
        raise ValueError(f"`n_synapses` must be an even int >= 2 (two halves), got {n_synapses!r}")
    if isinstance(n_events, bool) or not isinstance(n_events, int | np.integer) or n_events < 0:
        raise ValueError(f"`n_events` must be an int >= 0, got {n_events!r}")
    return _simulate(model, int(n_synapses), int(n_events), key)


@eqx.filter_jit
def _simulate(model, n_synapses, n_events, key):
    q, p = model.probabilities()
    n = model.n_levels
    p = p * (1.0 - np.eye(n, dtype=q.dtype)[-1])  # nowhere deeper from the last level
    # One (2, N) block of uniforms per event, from keys split up front: a single random
    # kernel in the loop body keeps compilation short.
    keys = jr.split(key, n_events + 1)
    u0 = jr.uniform(keys[0], (2, n_synapses), q.dtype)
    cdf = jnp.cumsum(_equilibrium(model))
    state0 = jnp.minimum(jnp.searchsorted(cdf, u0[0], side="right"), 2 * n - 1)
    tracked = jnp.arange(n_synapses) < n_synapses // 2  # True: potentiated by the memory

    def event(state, potentiate, u):
        strong = state >= n
        level = state % n
        agree = strong == potentiate
        # An opposing event switches the efficacy (to level 1 of the other side) with q;
        # an agreeing one moves one level deeper with p (p = 0 on the last level).
        switched = jnp.where(potentiate, n, 0).astype(jnp.int32)
        deeper = jnp.where(u < p[level], state + 1, state)
        return jnp.where(agree, deeper, jnp.where(u < q[level], switched, state))

    def measure(state):
        w = (state >= n).astype(q.dtype)
        half = n_synapses // 2
        return jnp.mean(w[:half]) - jnp.mean(w[half:])

    state = event(state0.astype(jnp.int32), tracked, u0[1])

    def step(state, k):
        u = jr.uniform(k, (2, n_synapses), q.dtype)
        state = event(state, u[0] < 0.5, u[1])
        return state, measure(state)

    final, later = jax.lax.scan(step, state, keys[1:])
    signal = jnp.concatenate([measure(state)[None], later])
    return MemorySimulation(jnp.arange(n_events + 1, dtype=jnp.int32), signal, final)
