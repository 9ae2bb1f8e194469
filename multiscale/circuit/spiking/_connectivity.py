r"""Sparse and dense connectivity for spiking projections, and how spikes cross it.

A sparse projection is stored as a list of synapses: presynaptic index, postsynaptic
index and weight (one each per synapse, sorted by presynaptic neuron), plus the offsets
of each presynaptic neuron's run of synapses. That is the memory of the indices and
weights alone (plus one offset per neuron), whatever the spread of in- or out-degrees, so
no padding to the largest degree is stored.

Each step the spikes that arrive (one 0/1 value per presynaptic neuron and trial) are
turned into the summed weight per postsynaptic neuron and trial by a propagation object:

- :class:`SegmentSum`: every synapse reads its presynaptic spike, and the products are
  summed per postsynaptic neuron (``jax.ops.segment_sum``). Work $\propto$ synapses per
  step; the gradient reaches every synapse (the surrogate's derivative of silent neurons
  included), so it is the one to differentiate through.
- :class:`EventDriven`: only the neurons that spiked are visited (up to a fixed capacity
  per trial, found by ``lax.top_k``), and their outgoing synapses are scattered onto the
  targets. Work $\propto$ capacity $\times$ out-degree per step, the event-driven scheme
  of Brian2 and NEST.
  When more neurons spike than the capacity holds, that step falls back to
  :class:`SegmentSum` (``lax.cond``), so the result is exact either way.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


class AbstractConnectivity(eqx.Module):
    """Weights from ``n_pre`` presynaptic onto ``n_post`` postsynaptic neurons."""

    n_pre: eqx.AbstractVar[int]
    n_post: eqx.AbstractVar[int]

    @abc.abstractmethod
    def propagate(
        self, spikes: Float[Array, "pre trials"], method: "AbstractPropagation"
    ) -> Float[Array, "post trials"]:
        """The summed weight of the arriving spikes onto each postsynaptic neuron."""

    @abc.abstractmethod
    def nbytes(self) -> int:
        """Bytes of the stored arrays."""


class SparseConnectivity(AbstractConnectivity):
    r"""A sparse projection as synapse lists: ``pre``, ``post``, ``weight``, sorted by ``pre``.

    Build it with :func:`fixed_probability` or :func:`fixed_indegree`. ``weight`` is a
    differentiable leaf (its unit is that of the receptor it feeds: nS for a conductance,
    nA for a current, mV for a voltage jump).

    Attributes:
        pre: presynaptic index of each synapse, sorted, int32 (synapses,).
        post: postsynaptic index of each synapse, int32 (synapses,).
        weight: weight of each synapse (synapses,).
        offsets: start of each presynaptic neuron's synapses, int32 (n_pre + 2,); the last
            two entries both equal the number of synapses.
        n_pre, n_post: population sizes (static).
        max_out: the largest out-degree (static; fixes the event-driven gather's shape).
    """

    pre: Int[Array, " synapses"]
    post: Int[Array, " synapses"]
    weight: Float[Array, " synapses"]
    offsets: Int[Array, " n_pre_2"]
    n_pre: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    max_out: int = eqx.field(static=True)

    @property
    def n_synapses(self) -> int:
        return int(self.pre.shape[0])

    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in (self.pre, self.post, self.weight, self.offsets))

    def propagate(self, spikes, method):
        return method(self, spikes)


class DelayRing(eqx.Module):
    r"""The synapses of projections with different delays, merged for one delivery per step.

    Each step the spikes of step $k$ are delivered once, through every synapse of the
    network, into a ring buffer of future input with ``slots`` rows of ``rows`` targets
    (receptor-major: ``receptor * n + neuron``): a synapse of delay $d$ steps onto row $r$
    adds its weight to ring row $((k + d) \bmod D)\,R + r$, read at the start of step
    $k + d$. This replaces one event pass per distinct delay (about 50 in the
    Potjans-Diesmann microcircuit) with one, as NEST's and Brian2's ring buffers do.
    Built from the projections by :func:`delay_ring` (indices only: the weights stay in
    the projections and are gathered through ``perm``, so gradients reach them).

    Attributes:
        perm: index of each merged synapse in the projections' concatenated weights.
        pre: presynaptic neuron of each synapse (network index), sorted, int32.
        post: ring offset of each synapse, $(d \bmod D)\,R + r$, int32.
        offsets: start of each neuron's synapses, int32 (n + 2,).
        n_neurons, rows, slots: $n$, $R$ and $D$ (the largest delay, in steps) (static).
        max_out: the largest out-degree over all projections together (static).
    """

    perm: Int[Array, " synapses"]
    pre: Int[Array, " synapses"]
    post: Int[Array, " synapses"]
    offsets: Int[Array, " n_2"]
    n_neurons: int = eqx.field(static=True)
    rows: int = eqx.field(static=True)
    slots: int = eqx.field(static=True)
    max_out: int = eqx.field(static=True)

    def connectivity(self, weights) -> SparseConnectivity:
        """The merged synapses onto the ``slots * rows`` ring rows, with ``weights`` (the
        projections' weights, concatenated in projection order) in merged order."""
        return SparseConnectivity(
            pre=self.pre,
            post=self.post,
            weight=weights[self.perm],
            offsets=self.offsets,
            n_pre=self.n_neurons,
            n_post=self.slots * self.rows,
            max_out=self.max_out,
        )


def delay_ring(projections, delays, n: int, n_receptors: int) -> "DelayRing | None":
    """A :class:`DelayRing` for sparse ``projections`` with ``delays`` (steps), or ``None``
    when fewer than two distinct delays occur, a projection is dense, or the indices are
    traced (the merge sorts them with NumPy)."""
    if len(set(delays)) < 2:
        return None
    if not all(isinstance(p.connectivity, SparseConnectivity) for p in projections):
        return None
    try:
        pre = [np.asarray(p.connectivity.pre) for p in projections]
        post = [np.asarray(p.connectivity.post) for p in projections]
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None
    slots, rows = max(delays), n_receptors * n
    pre_all = np.concatenate([a + p.pre_start for a, p in zip(pre, projections, strict=True)])
    ring = np.concatenate(
        [
            (d % slots) * rows + p.receptor * n + p.post_start + a
            for a, p, d in zip(post, projections, delays, strict=True)
        ]
    )
    if slots * rows * 2 >= 2**31:
        return None  # int32 ring rows would overflow
    order = np.argsort(pre_all, kind="stable")
    counts = np.bincount(pre_all, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts), [len(order)]])
    return DelayRing(
        perm=jnp.asarray(order.astype(np.int32)),
        pre=jnp.asarray(pre_all[order].astype(np.int32)),
        post=jnp.asarray(ring[order].astype(np.int32)),
        offsets=jnp.asarray(offsets.astype(np.int32)),
        n_neurons=int(n),
        rows=int(rows),
        slots=int(slots),
        max_out=max(1, int(counts.max(initial=0))),
    )


class DenseConnectivity(AbstractConnectivity):
    """An all-to-all weight matrix ``W`` of shape (post, pre); spikes cross by a matrix product.

    Attributes:
        W: weights, (n_post, n_pre), in the unit of the receptor fed.
    """

    W: Float[Array, "post pre"]

    @property
    def n_pre(self) -> int:
        return int(self.W.shape[1])

    @property
    def n_post(self) -> int:
        return int(self.W.shape[0])

    def nbytes(self) -> int:
        return int(self.W.nbytes)

    def propagate(self, spikes, method):
        del method
        return self.W.astype(spikes.dtype) @ spikes


_BLOCK = 32  # neurons per block of the batched two-level compaction


def _compact(spikes, m: int):
    """The first ``m`` spiking neurons of each trial, in increasing index, and their values.

    Two levels, as one top_k over all neurons is dominated by the long rows (and, for a
    batch, the transpose): the blocks of ``_BLOCK`` neurons with a spike (top_k over
    blocks), then the spikes inside them (one trial of 4000 neurons: 1 us instead of 4 us
    per step on a 2-core Xeon). Padding entries are silent neurons (value 0).
    """
    n, trials = spikes.shape
    nb = -(-n // _BLOCK)
    if nb <= m:
        return jax.lax.top_k(spikes.T, m)
    # The barrier keeps XLA from constant-folding the block reduction when the spikes are
    # constant (the loop's first, all-silent step): its evaluator took seconds for it.
    spikes = jax.lax.optimization_barrier(spikes)
    blocks = jnp.pad(spikes, ((0, nb * _BLOCK - n), (0, 0))).reshape(nb, _BLOCK, trials)
    active = jnp.any(blocks != 0, axis=1).T.astype(jnp.float32)  # (trials, nb)
    _, b = jax.lax.top_k(active, min(m, nb))  # (trials, mb)
    t = jnp.arange(trials)[:, None]
    sub = blocks[b, :, t].reshape(trials, -1)  # (trials, mb * _BLOCK)
    value, j = jax.lax.top_k(sub, m)
    neuron = jnp.take_along_axis(b, j // _BLOCK, axis=1) * _BLOCK + j % _BLOCK
    return value, jnp.minimum(neuron, n)


def _scatter(conn, neuron, trial, value, out, place, trials: int, dtype, spare=False):
    """``out`` (flat (rows, trials)) plus the synapses of events ``(neuron, trial, value)``
    at rows ``place(post)``; events with value 0 add nothing."""
    width = conn.max_out
    # Each event reads its synapses as one contiguous window of ``max_out`` (a sliced
    # gather, several times cheaper on CPU than one index per synapse); a window that
    # would run past the end is moved back, and only [start, end) is kept.
    last = conn.n_synapses - width
    start = conn.offsets[neuron]
    end = jnp.where(value != 0, conn.offsets[neuron + 1], start)
    lane = jnp.arange(width, dtype=start.dtype)[None]
    if last >= 0:
        first = jnp.minimum(start, last)
        syn = first[:, None] + lane
        window = lambda x: jax.vmap(lambda f: jax.lax.dynamic_slice(x, (f,), (width,)))(first)
        post, weight = window(conn.post), window(conn.weight)
    else:
        syn = jnp.minimum(start[:, None] + lane, conn.n_synapses - 1)
        post, weight = conn.post[syn], conn.weight[syn]
    valid = (syn >= start[:, None]) & (syn < end[:, None])
    w = jnp.where(valid, weight.astype(dtype), 0.0) * value[:, None]
    if out.ndim == 2:
        # Into a (rows, trials) buffer that the loop carries: a 2-D scatter keeps it in
        # place (a reshape to 1-D and back makes XLA copy it). Its spare last row takes
        # the unused lanes, as below.
        row = jnp.where(valid, place(post), out.shape[0] - 1)
        col = jnp.broadcast_to(trial[:, None], row.shape)
        return out.at[row.reshape(-1), col.reshape(-1)].add(w.reshape(-1), mode="promise_in_bounds")
    # One flat scatter over (post, trial): XLA's CPU scatter is fastest in 1-D. (A spare
    # last entry for the unused lanes, as above, made the scatter alone ~3 us faster per
    # COBA step but the whole step ~1 us slower: the slice that drops it costs more.)
    if spare:
        # A flat buffer with a spare last entry for the unused lanes.
        target = jnp.where(valid, place(post) * trials + trial[:, None], out.shape[0] - 1)
        return out.at[target.reshape(-1)].add(w.reshape(-1), mode="promise_in_bounds")
    target = jnp.where(valid, place(post) * trials + trial[:, None], out.shape[0])
    return out.at[target.reshape(-1)].add(w.reshape(-1), mode="drop")


class AbstractPropagation(eqx.Module):
    """How the spikes of one step reach the postsynaptic neurons of a sparse projection."""

    @abc.abstractmethod
    def __call__(
        self, conn: SparseConnectivity, spikes: Float[Array, "pre trials"]
    ) -> Float[Array, "post trials"]:
        """Summed weight per postsynaptic neuron and trial."""

    def deliver(
        self,
        conn: SparseConnectivity,
        spikes: Float[Array, "pre trials"],
        out: Float[Array, "rows trials"],
        base: Int[Array, ""],
    ) -> Float[Array, "rows trials"]:
        """``out`` (rows = ``conn.n_post`` and one spare last row, left zero) with each
        synapse's weight times its presynaptic spike added to row
        ``(conn.post + base) mod conn.n_post``.

        The delivery into a ring buffer of future input (:class:`DelayRing`); this default
        visits every synapse (as :class:`SegmentSum`).
        """
        rows = _wrap(conn.post + base, conn.n_post)
        contrib = spikes[conn.pre] * conn.weight.astype(spikes.dtype)[:, None]
        return out.at[rows].add(contrib)


def _wrap(rows, size: int):
    """``rows mod size`` for rows in ``[0, 2 size)``."""
    return jnp.where(rows >= size, rows - size, rows)


class SegmentSum(AbstractPropagation):
    """Every synapse reads its presynaptic spike; sums per target by ``segment_sum``."""

    def __call__(self, conn, spikes):
        contrib = spikes[conn.pre] * conn.weight.astype(spikes.dtype)[:, None]
        return jax.ops.segment_sum(contrib, conn.post, num_segments=conn.n_post)


class EventDriven(AbstractPropagation):
    """Visit only the neurons that spiked (up to ``capacity`` per trial and step).

    Attributes:
        capacity: spikes per trial and step handled by the event path (static): an int,
            or increasing ints for tiers (each step uses the smallest tier that holds its
            spikes, e.g. ``(64, 1024)`` for a network with synchronous volleys; a batch of
            T trials uses the smallest tier whose ``capacity * T`` holds its spikes in
            total). A step where some trial has more spikes than ``capacity[-1]`` uses
            :class:`SegmentSum` instead (exact, slower). At 20 Hz, 4000 neurons and 0.1 ms
            steps about 8 neurons spike per step; the default ``(8, 32)`` serves the quiet
            steps with a quarter of the work (each tier costs its capacity times the
            largest out-degree, per trial).

    The gradient passes only through the synapses of neurons that spiked; differentiate
    through :class:`SegmentSum`. Delivery by :meth:`deliver` (a :class:`DelayRing`, and
    projections that all share a one-step delay, as in COBA) runs in a while loop, which
    has no reverse-mode derivative at all.
    """

    capacity: int | tuple[int, ...] = eqx.field(static=True, default=(8, 32))

    def __check_init__(self):
        tiers = self.capacity if isinstance(self.capacity, tuple) else (self.capacity,)
        if not (
            tiers
            and all(isinstance(c, int) and c >= 1 for c in tiers)
            and list(tiers) == sorted(set(tiers))
        ):
            raise ValueError(
                f"EventDriven `capacity` must be an int >= 1 or increasing ints, got "
                f"{self.capacity!r}"
            )

    def __call__(self, conn, spikes):
        out = jnp.zeros((conn.n_post * spikes.shape[1],), spikes.dtype)
        dense = lambda spikes, out: SegmentSum()(conn, spikes).reshape(-1)
        return self._events(conn, spikes, out, lambda post: post, dense).reshape(
            conn.n_post, spikes.shape[1]
        )

    def deliver(self, conn, spikes, out, base, mark=None, extra=None):
        """As :meth:`AbstractPropagation.deliver`; with ``mark``, also ``extra`` updated
        by ``mark(neuron, trial, value, extra)`` from each chunk of the step's events
        (padding entries have value 0), and ``(out, extra)`` is returned."""
        # The events of the step (flat (neuron, trial) index, increasing) are taken
        # ``capacity[0] * trials`` at a time by a masked two-level ``lax.top_k``
        # (``_compact``), in a while loop
        # that runs once per chunk (not at all in a silent step) and updates ``out`` in
        # place (a ``lax.cond`` would copy the ring buffer into each branch). Per target
        # the weights are added in increasing presynaptic index, as in ``__call__``. A
        # while loop has no reverse-mode derivative: differentiate through SegmentSum.
        n_pre, trials = spikes.shape
        tiers = self.capacity if isinstance(self.capacity, tuple) else (self.capacity,)
        flat = spikes.reshape(-1)
        m = min(tiers[0] * trials, flat.shape[0])
        index = jnp.arange(flat.shape[0], dtype=jnp.int32)
        count = jnp.sum(flat != 0)
        place = lambda post: _wrap(post + base, conn.n_post)

        def chunk(carry):
            out, extra, done, after = carry
            todo = ((flat != 0) & (index > after)).astype(jnp.float32)
            hit, j = _compact(todo[:, None], m)
            hit, j = hit[0], j[0]
            value = jnp.where(hit > 0, flat[j], 0.0)
            neuron, trial = j // trials, j % trials
            out = _scatter(
                conn, neuron, trial, value, out, place, trials, flat.dtype, out.ndim == 1
            )
            if mark is not None:
                extra = mark(neuron, trial, value, extra)
            return out, extra, done + m, jnp.max(jnp.where(hit > 0, j, after))

        out, extra, _, _ = jax.lax.while_loop(
            lambda c: c[2] < count, chunk, (out, extra, jnp.zeros_like(count), jnp.int32(-1))
        )
        return out if mark is None else (out, extra)

    def _events(self, conn, spikes, out, place, dense):
        """Scatter the spikes' synapses into ``out`` (flat (rows, trials)) at rows
        ``place(post)``; ``dense(spikes, out)`` is the fallback of a crowded step."""
        n_pre, trials = spikes.shape
        tiers = self.capacity if isinstance(self.capacity, tuple) else (self.capacity,)
        # Each trial's spikes are compacted by ``lax.top_k`` (see ``_compact``): top_k breaks
        # ties by the lower index, so the spiking neurons come first and in increasing
        # index, then silent ones (value 0, adding nothing). On CPU this is 3x faster than
        # an associative prefix count searched for 1, 2, ..., m, and 7x faster than
        # ``jnp.nonzero``. Per target and trial the weights are added in increasing
        # presynaptic index on every path, so all paths agree to the last bit.
        per_trial = jnp.sum(spikes != 0, axis=0)
        busiest = jnp.max(per_trial)
        scatter = lambda neuron, trial, value, out: _scatter(
            conn, neuron, trial, value, out, place, trials, spikes.dtype
        )

        if trials == 1:

            def events(m):
                def go(spikes, out):
                    value, neuron = _compact(spikes, min(m, n_pre))
                    return scatter(neuron[0], jnp.zeros_like(neuron[0]), value[0], out)

                return go

            fits = lambda m: busiest <= m
        else:
            # A batch: every trial compacted once at the largest tier, then the first
            # ``m * trials`` events of the batch (trial-major, each trial's in increasing
            # index) are kept, so a step costs its total spikes, not its busiest trial's.
            K = min(tiers[-1], n_pre)
            trial = jnp.repeat(jnp.arange(trials, dtype=jnp.int32), K)
            total = jnp.sum(per_trial)

            def events(m):
                budget = min(m, K) * trials

                def go(spikes, out):
                    value, neuron = _compact(spikes, K)  # (trials, K)
                    value, neuron = value.reshape(-1), neuron.reshape(-1)
                    if budget == K * trials:
                        return scatter(neuron, trial, value, out)
                    _, pick = jax.lax.top_k((value != 0).astype(jnp.float32), budget)
                    return scatter(neuron[pick], trial[pick], value[pick], out)

                return go

            fits = lambda m: (busiest <= K) & (total <= min(m, K) * trials)

        branch = dense
        for m in reversed(tiers):
            branch = lambda f, o, m=m, inner=branch: jax.lax.cond(fits(m), events(m), inner, f, o)
        if trials > 1:
            # The common step of a batch: no trial has more spikes than the first tier.
            # Each trial is compacted at that tier (cheaper than at the largest) and all
            # ``tiers[0] * trials`` events are scattered, in the same order as above.
            m0 = min(tiers[0], n_pre)

            def each(spikes, out):
                value, neuron = _compact(spikes, m0)
                trial = jnp.repeat(jnp.arange(trials, dtype=neuron.dtype), m0)
                return scatter(neuron.reshape(-1), trial, value.reshape(-1), out)

            crowded = branch
            branch = lambda f, o: jax.lax.cond(busiest <= m0, each, crowded, f, o)
        return branch(spikes, out)
