"""Stimulation protocols as spike-time inputs.

A protocol is data, not code: a :class:`SpikeTrains` Module holding the presynaptic and
postsynaptic spike times in seconds. Trains of different lengths are padded with
``+inf`` (a spike that never comes), so protocols with different spike counts stack
into one batch and a whole STDP curve is one ``vmap``-ed call.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._typing import SpikeTimes


class SpikeTrains(eqx.Module):
    """Pre- and postsynaptic spike times of one protocol.

    Attributes:
        pre: presynaptic spike times (s), ascending, padded with ``+inf``.
        post: postsynaptic spike times (s), ascending, padded with ``+inf``.
        t_end: end of the protocol (s): when plasticity is read out. At least the last spike.
    """

    pre: SpikeTimes
    post: SpikeTimes
    t_end: Float[Array, ""]

    def __init__(self, pre, post, t_end=None):
        pre = jnp.asarray(pre, dtype=float)
        post = jnp.asarray(post, dtype=float)
        for name, x in (("pre", pre), ("post", post)):
            if x.ndim != 1:
                raise ValueError(f"`{name}` spike times must be 1-D, got shape {x.shape}")
        self.pre = pre
        self.post = post
        if t_end is None:
            finite = jnp.concatenate([pre, post, jnp.zeros(1)])
            finite = jnp.where(jnp.isfinite(finite), finite, 0.0)
            t_end = jnp.max(finite)
        self.t_end = jnp.asarray(t_end, dtype=float)

    def __check_init__(self):
        for name in ("pre", "post"):
            try:
                xs = np.asarray(getattr(self, name))
            except jax.errors.TracerArrayConversionError:
                continue  # built under jit/vmap: values are unknown at trace time
            n_finite = int(np.isfinite(xs).sum())
            if np.any(np.isnan(xs)):
                raise ValueError(f"`{name}` spike times contain NaN; pad with +inf instead")
            if not np.all(np.isfinite(xs[:n_finite])) or np.any(np.diff(xs[:n_finite]) < 0):
                raise ValueError(
                    f"`{name}` spike times must be ascending, with +inf padding only at the end"
                )
            if n_finite and xs[0] < 0:
                raise ValueError(f"`{name}` spike times must be >= 0 s, got {xs[0]:g}")


def pairing(delta_t, frequency, n_pairs, *, t0=0.05):
    """``n_pairs`` pre/post pairs at ``frequency`` (Hz), post at ``delta_t`` (s) after pre.

    ``delta_t = t_post - t_pre`` (positive: pre before post, the LTP side of STDP). This is
    the protocol of Bi & Poo 1998 (60 pairs at 1 Hz) and of Sjöström et al. 2001 (75 pairs,
    1-50 Hz, as fitted by Graupner & Brunel 2012).

    Args:
        delta_t: post minus pre spike time, in s. A scalar; ``vmap`` over it for a curve.
        frequency: pairing frequency, Hz.
        n_pairs: number of pairs (static: it fixes the array length).
        t0: time of the first pair's earlier spike, s.
    """
    if n_pairs < 1:
        raise ValueError(f"`n_pairs` must be >= 1, got {n_pairs}")
    # Checked only when concrete, so that a curve can be vmapped over frequency.
    if not isinstance(frequency, jax.core.Tracer) and np.any(np.asarray(frequency) <= 0):
        raise ValueError(f"`frequency` must be > 0 Hz, got {frequency}")
    delta_t = jnp.asarray(delta_t, dtype=float)
    period = 1.0 / jnp.asarray(frequency, dtype=float)
    base = t0 + jnp.maximum(-delta_t, 0.0) + period * jnp.arange(n_pairs, dtype=period.dtype)
    pre = base
    post = base + delta_t
    t_end = base[-1] + jnp.abs(delta_t) + period
    return SpikeTrains(pre, post, t_end)


def pre_post_burst(delta_t, frequency, n_presentations, *, n_post=2, burst_isi=0.0115, t0=0.05):
    """One presynaptic spike and a postsynaptic burst, repeated at ``frequency`` (Hz).

    The first post spike is ``delta_t`` (s) after the pre spike, followed by ``n_post - 1``
    more at ``burst_isi`` (s). Graupner & Brunel 2012 Fig. 3 (after Wittenberg & Wang
    2006): 100 or 30 presentations at 5 Hz with a post pair 11.5 ms apart.
    """
    if n_presentations < 1 or n_post < 1:
        raise ValueError("`n_presentations` and `n_post` must be >= 1")
    delta_t = jnp.asarray(delta_t, dtype=float)
    period = 1.0 / jnp.asarray(frequency, dtype=float)
    base = (
        t0 + jnp.maximum(-delta_t, 0.0) + period * jnp.arange(n_presentations, dtype=period.dtype)
    )
    post = (
        base[:, None] + delta_t + burst_isi * jnp.arange(n_post, dtype=period.dtype)[None, :]
    ).reshape(-1)
    post = jnp.sort(post)
    t_end = base[-1] + jnp.abs(delta_t) + burst_isi * n_post + period
    return SpikeTrains(base, post, t_end)


def tetanus(frequency, n_pulses, *, n_trains=1, train_interval=0.0, t0=0.05):
    """Presynaptic pulse trains only (HFS, LFS), no imposed postsynaptic spikes.

    HFS: ``tetanus(100.0, 100)``; LFS: ``tetanus(1.0, 900)`` (Dudek & Bear 1992).
    """
    if n_pulses < 1 or n_trains < 1:
        raise ValueError("`n_pulses` and `n_trains` must be >= 1")
    within = np.arange(n_pulses) / float(frequency)
    starts = t0 + np.arange(n_trains) * (within[-1] + float(train_interval))
    pre = (starts[:, None] + within[None, :]).reshape(-1)
    return SpikeTrains(pre, jnp.full((1,), jnp.inf), pre[-1] + 1.0 / float(frequency))


def theta_burst(n_bursts=10, *, spikes_per_burst=4, intra=100.0, inter=5.0, t0=0.05):
    """Theta-burst stimulation.

    Bursts of ``spikes_per_burst`` spikes at ``intra`` Hz, repeated at ``inter`` Hz.
    """
    within = np.arange(spikes_per_burst) / intra
    starts = t0 + np.arange(n_bursts) / inter
    pre = (starts[:, None] + within[None, :]).reshape(-1)
    return SpikeTrains(pre, jnp.full((1,), jnp.inf), pre[-1] + 1.0 / inter)


def spike_count(times: Float[Array, " spikes"]) -> Array:
    """Number of real (finite) spikes in a padded train."""
    return jnp.sum(jnp.isfinite(times))
