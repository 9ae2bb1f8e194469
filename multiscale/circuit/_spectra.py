r"""Oscillation tools: power spectra, peak frequency, band power and coherence of rates.

Spectra of population rates are estimated by Welch's method: the signal is cut into
segments of $L$ samples that overlap by a fraction (half by default), each segment has its
mean removed and is multiplied by a periodic Hann window $w$, and the squared moduli of the
segments' discrete Fourier transforms are averaged. With sampling step $\Delta t$ (s) the
one-sided power spectral density at $f_k = k / (L \Delta t)$ is

$$P(f_k) = \frac{c_k\,\Delta t}{\sum_n w_n^2}\,\left\langle \bigl|\textstyle\sum_n w_n x_n
  e^{-2\pi i k n / L}\bigr|^2 \right\rangle_\mathrm{segments},$$

with $c_k = 2$ except at $f = 0$ and the Nyquist frequency ($c_k = 1$), so that
$\sum_k P(f_k)\,\Delta f$ is the variance of the signal (units: signal² per Hz, Hz²/Hz for
rates). The cross-spectral density $P_{xy}$ replaces $|X|^2$ by $X \bar Y$, and the
magnitude-squared coherence is $C_{xy}(f) = |P_{xy}|^2 / (P_{xx} P_{yy})$, which lies in
$[0, 1]$: 1 for signals that are linear transforms of each other, and of order
$1/n_\mathrm{segments}$ for independent signals.

For a linear (or linearised) stochastic system $dx = A x\,dt + B\,dW$ the spectrum is
known in closed form (:func:`linear_noise_spectrum`): with $Q = B B^\top$,
$P(f) = 2\,\mathrm{diag}\bigl[(2\pi i f - A)^{-1} Q (2\pi i f - A)^{-H}\bigr]$ (one-sided).

Everything is written in JAX and can be jitted, vmapped and differentiated with respect to
the signal (and so with respect to any parameter of the model that produced it).
:func:`peak_frequency` refines the arg-max bin by a parabola through the log power of the
three bins around it, so it moves continuously with the spectrum and has a gradient
within a bin.

References:
    Welch P (1967) The use of fast Fourier transform for the estimation of power spectra:
    a method based on time averaging over short, modified periodograms. IEEE Trans Audio
    Electroacoust 15:70-73.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

Band = tuple[float, float]


class Spectrum(eqx.Module):
    """A one-sided power spectral density, like the result of ``scipy.signal.welch``.

    Attributes:
        freqs: frequencies, Hz, shape (freq,).
        power: power spectral density, signal² per Hz (Hz²/Hz for rates), shape
            (..., freq): the leading axes of the signal are kept.
        n_segments: number of averaged segments (static).
    """

    freqs: Float[Array, " freq"]
    power: Float[Array, "... freq"]
    n_segments: int = eqx.field(static=True, default=1)

    def peak_frequency(self, band: Band | None = None) -> Array:
        """The frequency of the largest power in ``band`` (Hz); see :func:`peak_frequency`."""
        return peak_frequency(self.freqs, self.power, band)

    def band_power(self, band: Band) -> Array:
        """The power in ``band`` (signal²); see :func:`band_power`."""
        return band_power(self.freqs, self.power, band)


class Coherence(eqx.Module):
    """Magnitude-squared coherence of two signals, in [0, 1].

    Attributes:
        freqs: frequencies, Hz, shape (freq,).
        coherence: $|P_{xy}|^2 / (P_{xx} P_{yy})$, shape (..., freq).
        n_segments: number of averaged segments (static); the coherence of independent
            signals is about ``1 / n_segments``.
    """

    freqs: Float[Array, " freq"]
    coherence: Float[Array, "... freq"]
    n_segments: int = eqx.field(static=True, default=1)

    def band_mean(self, band: Band) -> Array:
        """The mean coherence over the frequencies in ``band`` (Hz)."""
        mask = jnp.broadcast_to(_band_mask(self.freqs, band), self.coherence.shape)
        return jnp.sum(jnp.where(mask, self.coherence, 0.0), axis=-1) / jnp.sum(
            mask, axis=-1
        ).astype(self.coherence.dtype)


def _segments(x: Array, dt: float, segment: int | None, overlap: float, axis: int):
    """Windowed, mean-removed DFTs of the segments: (..., segments, freq), and the scale."""
    x = jnp.moveaxis(jnp.asarray(x), axis, -1)
    if x.ndim == 0:
        raise ValueError("the signal must have a time axis, got a scalar")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    n = x.shape[-1]
    L = n if segment is None else segment
    if not (isinstance(L, int) and 2 <= L <= n):
        raise ValueError(
            f"`segment` must be an int between 2 and the signal's length {n} (samples), "
            f"got {segment!r}"
        )
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"`overlap` must lie in [0, 1), got {overlap!r}")
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 s, got {dt!r}")
    hop = max(1, int(round(L * (1.0 - overlap))))
    n_seg = 1 + (n - L) // hop
    idx = hop * jnp.arange(n_seg)[:, None] + jnp.arange(L)[None, :]
    seg = x[..., idx]  # (..., segments, L)
    seg = seg - jnp.mean(seg, axis=-1, keepdims=True)
    # The periodic Hann window (scipy's default for welch).
    w = 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(L, dtype=x.dtype) / L)
    X = jnp.fft.rfft(seg * jnp.broadcast_to(w, seg.shape), axis=-1)
    freqs = jnp.fft.rfftfreq(L, dt).astype(x.dtype)
    c = jnp.full(freqs.shape, 2.0, x.dtype).at[0].set(1.0)
    if L % 2 == 0:
        c = c.at[-1].set(1.0)
    scale = c * dt / jnp.sum(w**2)
    return X, freqs, scale, n_seg


def power_spectrum(
    x: Float[ArrayLike, "..."],
    dt: float,
    *,
    segment: int | None = None,
    overlap: float = 0.5,
    axis: int = -1,
) -> Spectrum:
    """Welch estimate of the one-sided power spectral density of ``x``.

    Args:
        x: the signal (e.g. a population rate, Hz), time along ``axis``; other axes are
            kept (several units or trials at once).
        dt: sampling step, s (a Python number: it fixes the frequency grid).
        segment: samples per segment $L$ (static); the frequency resolution is
            $1 / (L\\,\\Delta t)$ Hz. ``None``: one segment of the whole signal (a Hann-window
            periodogram).
        overlap: fraction of a segment shared with the next (0.5).
        axis: the time axis of ``x`` (-1).

    Returns:
        A :class:`Spectrum` with ``power`` of shape (..., freq), time axis removed.

    Example:
        >>> import jax.numpy as jnp
        >>> t = jnp.arange(4000.0) * 1e-3
        >>> s = power_spectrum(jnp.sin(2 * jnp.pi * 40.0 * t), 1e-3, segment=1000)
        >>> round(float(s.peak_frequency()), 1)
        40.0
    """
    X, freqs, scale, n_seg = _segments(x, dt, segment, overlap, axis)
    power = jnp.mean(jnp.real(X * jnp.conj(X)), axis=-2)
    power = power * jnp.broadcast_to(scale, power.shape)
    return Spectrum(freqs, power, n_seg)


def cross_spectrum(
    x: Float[ArrayLike, "..."],
    y: Float[ArrayLike, "..."],
    dt: float,
    *,
    segment: int | None = None,
    overlap: float = 0.5,
    axis: int = -1,
) -> tuple[Array, Array]:
    """Welch estimate of the one-sided cross-spectral density $P_{xy}$ (complex).

    Returns:
        ``(freqs, P_xy)``: Hz, and signal² per Hz with shape (..., freq).
    """
    _same_shape(x, y)
    X, freqs, scale, _ = _segments(x, dt, segment, overlap, axis)
    Y, _, _, _ = _segments(y, dt, segment, overlap, axis)
    pxy = jnp.mean(X * jnp.conj(Y), axis=-2)
    return freqs, pxy * jnp.broadcast_to(scale, pxy.shape)


def coherence(
    x: Float[ArrayLike, "..."],
    y: Float[ArrayLike, "..."],
    dt: float,
    *,
    segment: int,
    overlap: float = 0.5,
    axis: int = -1,
) -> Coherence:
    r"""Magnitude-squared coherence $|P_{xy}|^2/(P_{xx}P_{yy})$ of two signals (e.g. two layers).

    Coherence needs several segments (with one segment it is 1 at every frequency), so
    ``segment`` is required; the estimate of independent signals is biased up by about
    ``1 / n_segments``.

    Args:
        x, y: the two signals, same shape, time along ``axis``.
        dt: sampling step, s.
        segment: samples per segment (static).
        overlap: fraction of overlap between segments (0.5).
        axis: the time axis (-1).

    Returns:
        A :class:`Coherence`.
    """
    _same_shape(x, y)
    X, freqs, _, n_seg = _segments(x, dt, segment, overlap, axis)
    Y, _, _, _ = _segments(y, dt, segment, overlap, axis)
    if n_seg < 2:
        raise ValueError(
            f"coherence needs at least 2 segments; `segment` = {segment} leaves {n_seg}"
        )
    pxy = jnp.mean(X * jnp.conj(Y), axis=-2)
    pxx = jnp.mean(jnp.real(X * jnp.conj(X)), axis=-2)
    pyy = jnp.mean(jnp.real(Y * jnp.conj(Y)), axis=-2)
    tiny = jnp.finfo(pxx.dtype).tiny
    coh = jnp.real(pxy * jnp.conj(pxy)) / jnp.maximum(pxx * pyy, tiny)
    return Coherence(freqs, coh, n_seg)


def _same_shape(x, y):
    if jnp.shape(x) != jnp.shape(y):
        raise ValueError(
            f"`x` and `y` must have the same shape, got {jnp.shape(x)} and {jnp.shape(y)}"
        )


def _band_mask(freqs: Array, band: Band | None) -> Array:
    if band is None:
        return freqs > 0  # the DC bin carries only what detrending left
    lo, hi = band
    if not lo < hi:
        raise ValueError(f"`band` must be (low, high) with low < high, Hz; got {band!r}")
    mask = (freqs >= lo) & (freqs <= hi)
    try:
        empty = not np.any(np.asarray(mask))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        empty = False  # frequencies traced under jit: checked where they are concrete
    if empty:
        raise ValueError(f"`band` {band!r} Hz holds none of the spectrum's frequencies")
    return mask


def band_power(
    freqs: Float[ArrayLike, " freq"], power: Float[ArrayLike, "..."], band: Band
) -> Array:
    r"""Power in a frequency band: $\sum_{f_k \in [f_\mathrm{lo}, f_\mathrm{hi}]} P(f_k)\,\Delta f$.

    Args:
        freqs: frequencies, Hz (a uniform grid).
        power: spectral density, (..., freq).
        band: ``(low, high)``, Hz, inclusive.

    Returns:
        Power in the band, signal² (Hz² for rates), shape (...).
    """
    freqs, power = jnp.asarray(freqs), jnp.asarray(power)
    mask = jnp.broadcast_to(_band_mask(freqs, band), power.shape)
    if freqs.shape[0] < 2:
        raise ValueError("`freqs` must hold at least two frequencies")
    df = freqs[1] - freqs[0]
    return jnp.sum(jnp.where(mask, power, 0.0), axis=-1) * df


def peak_frequency(
    freqs: Float[ArrayLike, " freq"],
    power: Float[ArrayLike, "..."],
    band: Band | None = None,
) -> Array:
    """Frequency of the spectral peak in ``band``, refined between bins (Hz).

    The bin of largest power is found, and a parabola through the logarithm of the power
    at it and its two neighbours gives the peak between grid points (exact for a Gaussian
    peak; within a small fraction of a bin for a Hann-windowed sinusoid). The result is
    continuous in the spectrum and differentiable except where the arg-max bin changes.

    Args:
        freqs: frequencies, Hz (uniform grid).
        power: spectral density, (..., freq).
        band: ``(low, high)`` Hz to search in; ``None``: every frequency above 0.

    Returns:
        Peak frequency, Hz, shape (...).
    """
    freqs, power = jnp.asarray(freqs), jnp.asarray(power)
    if power.shape[-1] != freqs.shape[0]:
        raise ValueError(
            f"`power` has {power.shape[-1]} frequencies along its last axis but `freqs` has "
            f"{freqs.shape[0]}"
        )
    if freqs.shape[0] < 3:
        raise ValueError("`freqs` must hold at least three frequencies")
    mask = jnp.broadcast_to(_band_mask(freqs, band), power.shape)
    k = jnp.argmax(jnp.where(mask, power, -jnp.inf), axis=-1)
    k = jnp.clip(k, 1, freqs.shape[0] - 2)
    tiny = jnp.finfo(power.dtype).tiny
    take = lambda j: jnp.log(
        jnp.maximum(jnp.take_along_axis(power, j[..., None], axis=-1)[..., 0], tiny)
    )
    a, b, c = take(k - 1), take(k), take(k + 1)
    denom = a - 2 * b + c
    safe = jnp.where(denom < 0, denom, -1.0)
    shift = jnp.where(denom < 0, 0.5 * (a - c) / safe, 0.0)
    df = freqs[1] - freqs[0]
    return freqs[k] + jnp.clip(shift, -0.5, 0.5) * df


def linear_noise_spectrum(
    A: Float[ArrayLike, "_n _n"],
    Q: Float[ArrayLike, "_n _n"],
    freqs: Float[ArrayLike, " freq"],
) -> Float[Array, "n freq"]:
    r"""One-sided spectral density of each variable of $dx = A x\,dt + B\,dW$, $Q = B B^\top$.

    $P_i(f) = 2\,\bigl[(2\pi i f - A)^{-1} Q\,(2\pi i f - A)^{-H}\bigr]_{ii}$ (units of $x$²
    per Hz). Valid when $A$ is stable (every eigenvalue has negative real part). For a
    rate model linearised at a fixed point, $A$ is the Jacobian (1/s) and
    $Q = \mathrm{diag}(\sigma^2/\tau)$ (Hz²/s) for noise $\sqrt{\tau}\,\sigma\,\xi$ added to
    $\tau\,dr/dt$.

    Args:
        A: drift matrix, 1/s.
        Q: noise covariance rate, (units of x)²/s.
        freqs: frequencies, Hz.

    Returns:
        The spectral density of each variable, shape (n, freq).
    """
    A, Q, freqs = jnp.asarray(A), jnp.asarray(Q), jnp.asarray(freqs)
    n = A.shape[0]
    if A.shape != (n, n) or Q.shape != (n, n):
        raise ValueError(
            f"`A` and `Q` must be square and of the same shape, got {A.shape} and {Q.shape}"
        )
    eye = jnp.eye(n, dtype=A.dtype)
    cdtype = jnp.complex128 if A.dtype == jnp.float64 else jnp.complex64
    w = 2 * jnp.pi * freqs.astype(A.dtype)
    iw = jax.lax.complex(jnp.zeros_like(w), w)
    eye_c = eye.astype(cdtype)
    M = iw[:, None, None] * eye_c[None] - A.astype(cdtype)[None]  # (freq, n, n)
    G = jnp.linalg.solve(M, jnp.broadcast_to(eye_c, M.shape))
    S = G @ Q.astype(cdtype)[None] @ jnp.conj(jnp.swapaxes(G, -1, -2))
    return 2.0 * jnp.real(jnp.diagonal(S, axis1=-2, axis2=-1)).T
