"""The step function of a :class:`~multiscale.circuit.spiking.SpikingNetwork` (see there).

Every constant of the step (decay factors, propagators, Poisson thresholds) is computed
here once, outside the time loop; the returned function works on states whose trailing
(trial) axes are flattened into one.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._noise import _mix
from ._connectivity import EventDriven, SparseConnectivity
from ._neurons import DeltaVoltage, ExpConductance, ExpCurrent
from ._state import SpikingState


def _uniform(counter: Int[Array, " n"], seed: tuple[Array, Array]) -> Float[Array, "n trials"]:
    """Uniform numbers in (0, 1) per counter and trial from the step's seed words."""
    h = _mix(_mix(counter.astype(jnp.uint32)[:, None] ^ seed[0][None]) ^ seed[1][None])
    return ((h >> 8).astype(jnp.int32) * 2 + 1).astype(jnp.float32) * jnp.float32(2.0**-25)


def _poisson_levels(lam, n: int):
    r"""$F_0 \ldots F_{n-2}$ of a Poisson count with mean ``lam``, for inversion.

    Computed as $F_j = 1 - \sum_{i > j} p_i$ (the tail summed from its small end) where
    $F_j \ge 1/2$, and as the forward sum below, so that levels beyond the float
    resolution are exactly 1 and are never exceeded by a uniform number in (0, 1). (A
    forward cumulative sum alone stops a few ulps below 1, so a draw above it, probability
    ~5e-7 per neuron and step in float32, got the largest count.) Levels equal to 1 are
    dropped when ``lam`` is concrete: the count is then a short unrolled sum of
    comparisons, vectorised over neurons.
    """
    dtype = jnp.result_type(float)
    j = jnp.arange(n, dtype=dtype)
    log_pmf = j * jnp.log(jnp.maximum(lam, 1e-30)) - lam - jax.scipy.special.gammaln(j + 1)
    pmf = jnp.exp(log_pmf)
    head = jnp.cumsum(pmf)[:-1]  # P(X <= j): accurate while small
    upper = 1.0 - jnp.cumsum(pmf[::-1])[::-1][1:]  # 1 - P(j < X < n): accurate near 1
    F = jnp.where(head < 0.5, head, upper)
    try:
        below = np.asarray(F) < 1.0
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return F
    return F[: max(1, int(below.sum()))]


def poisson_max_count(rate: float, n_sources: int, dt: float) -> int:
    """Poisson counts per step beyond which the tail is negligible: the smallest $m$ with
    $P(X > m) < 10^{-10}$ (below the $2^{-25}$ resolution of the uniform numbers that draw
    the counts); mean + 10 SD + 10 for means above 100."""
    lam = n_sources * rate * dt
    if lam > 100:
        return int(math.ceil(lam + 10 * math.sqrt(lam) + 10))
    m, p = 0, math.exp(-lam)
    cdf = p
    while 1.0 - cdf >= 1e-10:
        m += 1
        p *= lam / m
        cdf += p
    return max(m, 1)


def _col(x, dtype):
    """A scalar or per-neuron parameter as a column that meets (neurons, trials)."""
    x = jnp.asarray(x, dtype)
    return x[:, None] if x.ndim == 1 else x


def _discretise(net, dt: float, late: bool = True):
    """The step of ``net`` at ``dt``. ``late=False`` keeps the delivery of a one-step delay
    at the start of the next step (the weights then in force: a plastic network, which
    updates them between the two, passes it)."""
    dtype = jnp.result_type(float)
    n = net.n_neurons
    nrn = net.neuron
    tau_m, g_L = _col(nrn.tau_m, dtype), _col(nrn.g_L, dtype)
    E_L, V_th, V_r = _col(nrn.E_L, dtype), _col(nrn.V_th, dtype), _col(nrn.V_reset, dtype)
    I_e = _col(nrn.I_e, dtype)
    C = g_L * tau_m  # nF
    # Refractory steps: ceil(t_ref / dt) (a concrete value fixes no shape, so a traced one
    # is fine; the tolerance keeps 5 ms / 0.1 ms at 50 steps).
    n_ref = jnp.ceil(jnp.asarray(nrn.t_ref, dtype) / dt - 1e-4).astype(jnp.int32)
    n_ref = n_ref[:, None] if n_ref.ndim == 1 else n_ref
    receptors = net.receptors
    conductance = [i for i, r in enumerate(receptors) if isinstance(r, ExpConductance)]
    current = [i for i, r in enumerate(receptors) if isinstance(r, ExpCurrent)]
    delta = [i for i, r in enumerate(receptors) if isinstance(r, DeltaVoltage)]
    decay = [
        None if isinstance(r, DeltaVoltage) else jnp.exp(-dt / _col(r.tau, dtype))
        for r in receptors
    ]
    half = {i: jnp.exp(-0.5 * dt / _col(receptors[i].tau, dtype)) for i in conductance}
    E_rev = {i: _col(receptors[i].E_rev, dtype) for i in conductance}
    P_m = jnp.exp(-dt / tau_m)
    # Exact current-to-voltage propagators (mV per nA):
    # 1e3/C * tm ts/(tm - ts) (e^-dt/tm - e^-dt/ts), with its limit 1e3/C * dt e^-dt/tm
    # when the two time constants coincide.
    P_I = {}
    for i in current:
        ts = _col(receptors[i].tau, dtype)
        diff = tau_m - ts
        safe = jnp.where(jnp.abs(diff) > 1e-9, diff, 1.0)
        gen = tau_m * ts / safe * (P_m - decay[i])
        P_I[i] = 1e3 / C * jnp.where(jnp.abs(diff) > 1e-9, gen, dt * P_m)
    adapt = net.adaptation
    if adapt is not None:
        P_w = jnp.exp(-dt / _col(adapt.tau_w, dtype))
        a_w, b_w = _col(adapt.a, dtype), _col(adapt.b, dtype)
    slots = net._buffer_slots()
    delays = [int(round(p.delay / dt)) for p in net.projections]
    # Projections with one delay from contiguous presynaptic ranges cross in one pass
    # (one event list per step instead of one per projection; about half the cost of
    # COBA's two projections): (pre_start, n_pre, connectivity onto receptor-major rows).
    merged = _merge(net.projections, delays, n, len(net.receptors))
    # Projections with several delays: each step's spikes are delivered once, through all
    # synapses, into a ring buffer of future input (``DelayRing``) instead of one pass per
    # delay over the spikes of ``d`` steps ago.
    ring = net.delivery
    if ring is not None:
        merged = None
    # One merged, event-driven pass from all neurons with a delay of one step (COBA): the
    # step's own spikes are delivered at its end, so their compaction also updates the
    # spike statistics, at the spiking neurons only (~4 of ~25 us per COBA step for the
    # four dense statistics arrays). Results are bit-identical: the conductances add the
    # same values in the same order (``syn`` then holds the input of the next step, as
    # with a ``DelayRing``).
    late = (
        late
        and merged is not None
        and slots == 1
        and isinstance(net.propagation, EventDriven)
        and merged[0] == 0
        and merged[1].n_pre == n
    )
    # Then, without voltage-jump receptors, the receptor variables are updated as one array
    # (an elementwise update that XLA does in place; per receptor and concatenated, it
    # copied the array every step).
    whole = late and not delta
    if whole:
        decay_all = jnp.concatenate([jnp.broadcast_to(f, (n, 1)) for f in decay])
    if ring is not None:
        rows = ring.rows
        ring_conn = ring.connectivity(
            jnp.concatenate([p.connectivity.weight for p in net.projections])
        )
    inputs = []
    for inp in net.inputs:
        lam = inp.n_sources * jnp.asarray(inp.rate, dtype) * dt
        m = inp.max_count
        if m is None:
            try:
                lam_c = float(lam)
            except (jax.errors.ConcretizationTypeError, TypeError):
                raise ValueError(
                    "PoissonInput `max_count` must be given when `rate` is traced"
                ) from None
            m = poisson_max_count(lam_c / dt, 1, dt)
        k0 = int(math.floor(inp.t_start / dt + 1e-6))
        k1 = int(math.floor(inp.t_stop / dt + 1e-6)) if math.isfinite(inp.t_stop) else 2**31 - 1
        inputs.append((inp, _poisson_levels(lam, m + 1), k0, k1))
    sizes = net.sizes
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    n_rec = len(receptors)
    surrogate, propagation = net.surrogate, net.propagation
    # Rows of the step's uniforms: one per Poisson input; counters neuron + n * row.
    arange_n = jnp.arange(n, dtype=jnp.int32)

    def step(state, drive, xi):
        del drive
        batch = state.V.shape[1:]
        flat = lambda x: x.reshape((x.shape[0], -1))
        st = jax.tree.map(flat, state)
        trials = st.V.shape[1]
        k = st.k[0, 0]
        seed = jax.lax.bitcast_convert_type(flat(xi).astype(jnp.float32), jnp.uint32)
        seed = (seed[0], _mix_words(seed[1]))
        # Receptor variables as one array per receptor (static slices of the carry fuse).
        syn = [st.syn[i * n : (i + 1) * n] for i in range(n_rec)]
        syn_all = st.syn
        buf = st.buffer
        # 1. Spikes that arrive now, and external input.
        if ring is not None:
            # The input arriving now was added to ``syn`` at the end of the last step; its
            # slot is cleared for the spikes that will arrive ``slots`` steps from now.
            # (Reading the slot here, before clearing it, would make XLA copy the whole
            # buffer every step instead of updating it in place.)
            row0 = jnp.mod(k, ring.slots) * rows
            clear = jnp.zeros((rows, trials), buf.dtype)
            buf = jax.lax.dynamic_update_slice(buf, clear, (row0, jnp.zeros_like(row0)))
        elif merged is not None and not late:
            pre_start, c = merged
            pre = buf[pre_start : pre_start + c.n_pre] if slots == 1 else None
            if pre is None:
                row0 = jnp.mod(k - delays[0], slots) * n + pre_start
                pre = jax.lax.dynamic_slice(buf, (row0, jnp.zeros_like(row0)), (c.n_pre, trials))
            add = c.propagate(pre, propagation)
            syn = [x + add[r * n : (r + 1) * n] for r, x in enumerate(syn)]
        crossed = merged is not None or ring is not None
        for p, d in zip(() if crossed else net.projections, delays, strict=False):
            c = p.connectivity
            if slots == 1:
                pre = buf[p.pre_start : p.pre_start + c.n_pre]
            else:
                slot = jnp.mod(k - d, slots)
                row0 = slot * n + p.pre_start
                pre = jax.lax.dynamic_slice(buf, (row0, jnp.zeros_like(row0)), (c.n_pre, trials))
            add = c.propagate(pre, propagation)
            syn[p.receptor] = _add_rows(syn[p.receptor], add, p.post_start, n)
        for row, (inp, F, k0, k1) in enumerate(inputs):

            def draw(seed, inp=inp, F=F, row=row):
                u = _uniform(arange_n[inp.start : inp.stop] + row * n, seed)
                # An unrolled sum over the levels (one fused pass over the neurons) is
                # about 12 % faster for Potjans-Diesmann than a reduction over a trailing
                # axis of levels.
                F = F.astype(u.dtype)
                counts = (u > F[0]).astype(jnp.int32)
                for level in range(1, F.shape[0]):
                    counts = counts + (u > F[level]).astype(jnp.int32)
                return jnp.asarray(inp.weight, dtype) * counts.astype(dtype)

            def off(seed, inp=inp):
                del seed
                return jnp.zeros((inp.stop - inp.start, trials), dtype)

            # Inputs that are on only for a window (the COBA kick) cost nothing outside it.
            # Inputs that are always on go through the same ``lax.cond``: its operands are
            # computed once, whereas XLA fuses the scalar hash and Box-Muller arithmetic
            # that make the seed words into the per-neuron draws and redoes it for every
            # neuron (Potjans-Diesmann: ~170 of ~250 us per step).
            add = jax.lax.cond((k >= k0) & (k < k1), draw, off, seed)
            if whole:
                syn_all = _add_rows(syn_all, add, inp.receptor * n + inp.start, n_rec * n)
            else:
                syn[inp.receptor] = _add_rows(syn[inp.receptor], add, inp.start, n)
        if whole:
            syn = [syn_all[i * n : (i + 1) * n] for i in range(n_rec)]
        V, ref, w = st.V, st.ref, st.w
        refractory = ref > 0
        for i in delta:
            V = V + jnp.where(refractory, 0.0, syn[i])
            syn[i] = jnp.zeros_like(syn[i])
        # 2. Subthreshold update over the step.
        # Without adaptation ``w`` stays zero: not read, so not streamed through each step.
        I_in = I_e if adapt is None else I_e - w
        if conductance:
            G = g_L
            GE = g_L * E_L
            for i in conductance:
                g = syn[i] * half[i]
                G = G + g
                GE = GE + g * E_rev[i]
            for i in current:
                I_in = I_in + syn[i] * half_current(receptors[i].tau, dt, dtype)
            V_inf = (GE + 1e3 * I_in) / G
            V_new = V_inf + (V - V_inf) * jnp.exp(-dt * G / C)
        else:
            V_rest = E_L + 1e3 * I_in / g_L
            V_new = V_rest + (V - V_rest) * P_m
            for i in current:
                V_new = V_new + syn[i] * P_I[i]
        if not whole:
            syn = [x if f is None else x * f for x, f in zip(syn, decay, strict=True)]
        V_new = jnp.where(refractory, V_r, V_new)
        # 3. Spikes, reset and refractoriness.
        s = surrogate(V_new - V_th) * (~refractory).astype(dtype)
        V = V_new * (1 - s) + V_r * s
        fired = s > 0
        ref = jnp.where(fired, n_ref, jnp.maximum(ref - 1, 0))
        if adapt is not None:
            w = a_w * 1e-3 * (V - E_L) + (w - a_w * 1e-3 * (V - E_L)) * P_w + b_w * s
        # 4. Statistics, buffer, counter.
        t = (k + 1).astype(dtype) * dt
        stats = (st.count, st.last, st.isi_sum, st.isi_sq)
        if late:
            c = merged[1]
            # A flat buffer (a fresh one each step, not carried) takes XLA's 1-D scatter.
            zero = jnp.zeros((c.n_post * trials + 1,), dtype)
            add, stats = propagation.deliver(c, s, zero, jnp.int32(0), _marker(t, n), stats)
            add = add[:-1].reshape(c.n_post, trials)
            if whole:
                syn_all = syn_all * decay_all + add[: n_rec * n]
            else:
                syn = [x + add[r * n : (r + 1) * n] for r, x in enumerate(syn)]
        else:
            stats = _statistics(s, t, stats)
        if ring is not None:
            buffer = propagation.deliver(ring_conn, s, buf, row0)
            row1 = jnp.mod(k + 1, ring.slots) * rows
            arrive = jax.lax.dynamic_slice(buffer, (row1, jnp.zeros_like(row1)), (rows, trials))
            syn = [x + arrive[r * n : (r + 1) * n] for r, x in enumerate(syn)]
        elif slots == 1:
            buffer = s
        else:
            buffer = jax.lax.dynamic_update_slice(
                buf, s, (jnp.mod(k, slots) * n, jnp.zeros_like(k))
            )
        new = st._replace(
            V=V,
            syn=syn_all if whole else syn[0] if n_rec == 1 else jnp.concatenate(syn),
            w=w,
            ref=ref,
            buffer=buffer,
            k=st.k + 1,
            count=stats[0],
            last=stats[1],
            isi_sum=stats[2],
            isi_sq=stats[3],
        )
        pops = [s[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        rates = jnp.stack([jnp.mean(x, axis=0) for x in pops]) / dt
        unflat = lambda x: x.reshape(x.shape[:1] + batch)
        return jax.tree.map(unflat, SpikingState(*new)), unflat(rates)

    return step


def _statistics(s, t, stats):
    """Spike count, time of the last spike and sums of the inter-spike intervals and their
    squares, updated with the step's spikes ``s`` at time ``t`` (every neuron)."""
    count, last, isi_sum, isi_sq = stats
    fired = s > 0
    isi = jnp.where(fired & (count > 0), t - last, 0.0)
    return count + s, jnp.where(fired, t, last), isi_sum + isi, isi_sq + isi * isi


def _marker(t, n: int):
    """:func:`_statistics` for the events ``(neuron, trial, value)`` of an event pass only
    (the same values at the spiking neurons; the others are not touched)."""

    def mark(neuron, trial, value, stats):
        count, last, isi_sum, isi_sq = stats
        i = jnp.where(value > 0, neuron, n)  # silent padding: out of range, dropped
        # A neuron has spiked before iff its last spike time is > 0 (spikes come at t > 0),
        # so ``count`` is only written. The new last time is max(old, t) = t: written so,
        # it depends on the value read, which lets XLA update ``last`` in place (else it
        # copies the array, twice, for each chunk of events).
        old = last.at[i, trial].get(mode="fill", fill_value=0)
        isi = jnp.where(old > 0, t - old, 0.0)
        return (
            count.at[i, trial].add(value, mode="drop"),
            last.at[i, trial].set(jnp.maximum(old, t), mode="drop"),
            isi_sum.at[i, trial].add(isi, mode="drop"),
            isi_sq.at[i, trial].add(isi * isi, mode="drop"),
        )

    return mark


def _merge(projections, delays, n: int, n_receptors: int):
    """One sparse connectivity onto receptor-major rows for projections that share a delay
    and whose presynaptic ranges follow each other, or ``None``."""
    if len(projections) < 2 or len(set(delays)) != 1:
        return None
    if not all(isinstance(p.connectivity, SparseConnectivity) for p in projections):
        return None
    ps = sorted(projections, key=lambda p: p.pre_start)
    for a, b in zip(ps[:-1], ps[1:], strict=True):
        if b.pre_start != a.pre_start + a.connectivity.n_pre:
            return None
    pre, post, weight, offsets, total = [], [], [], [], 0
    for p in ps:
        c = p.connectivity
        pre.append(c.pre + (p.pre_start - ps[0].pre_start))
        post.append(c.post + (p.post_start + p.receptor * n))
        weight.append(c.weight)
        offsets.append(c.offsets[: c.n_pre] + total)
        total += c.n_synapses
    end = jnp.full((2,), total, jnp.int32)
    conn = SparseConnectivity(
        pre=jnp.concatenate(pre),
        post=jnp.concatenate(post),
        weight=jnp.concatenate(weight),
        offsets=jnp.concatenate(offsets + [end]),
        n_pre=sum(p.connectivity.n_pre for p in ps),
        n_post=n * n_receptors,
        max_out=max(p.connectivity.max_out for p in ps),
    )
    return ps[0].pre_start, conn


def _add_rows(x, add, start: int, n: int):
    """``x`` with ``add`` added to its rows ``[start, start + len(add))``."""
    if start == 0 and add.shape[0] == n:
        return x + add
    return x.at[start : start + add.shape[0]].add(add)


def half_current(tau, dt, dtype):
    return jnp.exp(-0.5 * dt / _col(tau, dtype))


def _mix_words(h):
    return _mix(h ^ jnp.uint32(0x9E3779B9))
