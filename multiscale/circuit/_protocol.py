r"""What a trial presents and when: the stimulus and the trial protocol.

:class:`Stimulus` says **what** is shown (a random-dot motion coherence and the mean
input rate it drives); :class:`TrialProtocol` says **when** and at what resolution (the
step, the pre-stimulus period, the stimulus duration, the trial length and the length of
the checkpointed segments of the time loop). Every simulation, likelihood, batch, session
and sweep of a circuit takes one protocol, so the timing of a trial is written once.
"""

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import error_if

Param = Float[ArrayLike, "..."]


class Stimulus(eqx.Module):
    r"""Random-dot stimulus: motion coherence $c$ and mean input rate $\mu_0$.

    A circuit turns it into input currents while the stimulus is on
    (:meth:`AbstractCircuit.stimulus_input`); for Wong & Wang's circuit
    $I_{1,2} = J_{A,\mathrm{ext}}\,\mu_0\,(1 \pm c)$ (their eq. A4). Population 1 is the
    one favoured by the stimulus, so choice 1 is correct for $c > 0$. Either field may be
    an array with one value per trial (a batch).

    Attributes:
        coherence: motion coherence $c$ as a **fraction** in [0, 1] (51.2 % is 0.512).
        mu0: mean stimulus input rate $\mu_0$, Hz (30).

    References:
        Wong KF, Wang XJ (2006) A recurrent network mechanism of time integration in
        perceptual decisions. J Neurosci 26:1314-1328.
    """

    coherence: Param = 0.0
    mu0: Param = 30.0

    def __check_init__(self):
        try:
            c = jnp.asarray(self.coherence, float)
            bad = bool(jnp.any(~((c >= 0) & (c <= 1))))
        except Exception:  # a tracer (built inside jit): checked where it is used
            bad = False
        if bad:
            raise ValueError(
                f"Stimulus `coherence` is a fraction in [0, 1] (51.2 % is 0.512), got "
                f"{self.coherence}; divide percentages by 100"
            )
        try:
            mu0 = jnp.asarray(self.mu0, float)
            bad = bool(jnp.any(~(jnp.isfinite(mu0) & (mu0 >= 0))))
        except Exception:
            bad = False
        if bad:
            raise ValueError(f"Stimulus `mu0` must be finite and >= 0 Hz, got {self.mu0}")

    def checked(self) -> "Stimulus":
        """This stimulus with a run-time error (also under ``jit``) for values out of range."""
        c = jnp.asarray(self.coherence)
        c = error_if(
            c,
            ~((c >= 0) & (c <= 1)),
            "Stimulus `coherence` must be a fraction in [0, 1] (51.2 % is 0.512)",
        )
        mu0 = jnp.asarray(self.mu0)
        mu0 = error_if(mu0, ~(jnp.isfinite(mu0) & (mu0 >= 0)), "Stimulus `mu0` must be >= 0 Hz")
        return Stimulus(coherence=c, mu0=mu0)

    def violations(self) -> Array:
        """True where a value is out of range (the batch shape of the fields)."""
        c, mu0 = jnp.asarray(self.coherence), jnp.asarray(self.mu0)
        return ~((c >= 0) & (c <= 1)) | ~(jnp.isfinite(mu0) & (mu0 >= 0))


class TrialProtocol(eqx.Module):
    r"""The timing of a trial and the resolution of its time loop (all static).

    A trial runs from $t = 0$ to ``t1`` in ``n_steps = round(t1 / dt)`` fixed steps. The
    stimulus is on from ``t_on`` (the end of the pre-stimulus period) for ``duration``
    (``inf``: to the end). Steps are grouped into checkpointed segments of ``segment``
    steps: under ``jax.grad`` only segment boundaries are stored, so memory grows with
    ``n_steps / segment + segment`` instead of ``n_steps`` (a smoothing readout sets the
    segment to its window instead).

    Attributes:
        dt: step, s (0.5 ms).
        t_on: stimulus onset, s (0.5).
        duration: stimulus duration, s (``inf``).
        t1: end of the trial, s (2.5 = 0.5 s before the stimulus + 2 s).
        segment: steps per checkpointed segment (100).

    Example:
        >>> p = TrialProtocol(dt=1e-3, t_on=0.2, t1=1.2)
        >>> p.n_steps, p.n_on
        (1200, 200)
    """

    dt: float = eqx.field(static=True, default=5e-4)
    t_on: float = eqx.field(static=True, default=0.5)
    duration: float = eqx.field(static=True, default=math.inf)
    t1: float = eqx.field(static=True, default=2.5)
    segment: int = eqx.field(static=True, default=100)

    def __check_init__(self):
        for name in ("dt", "t_on", "duration", "t1"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(
                    f"TrialProtocol `{name}` must be a Python number of seconds (it fixes "
                    f"array shapes), got {value!r}"
                )
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"TrialProtocol `dt` must be > 0 s, got {self.dt}")
        if not (math.isfinite(self.t1) and self.t1 > 0):
            raise ValueError(f"TrialProtocol `t1` must be > 0 s, got {self.t1}")
        if not (math.isfinite(self.t_on) and self.t_on >= 0):
            raise ValueError(f"TrialProtocol `t_on` must be >= 0 s, got {self.t_on}")
        if not self.duration > 0:
            raise ValueError(f"TrialProtocol `duration` must be > 0 s, got {self.duration}")
        if self.t_on >= self.t1:
            raise ValueError(
                f"TrialProtocol `t_on` ({self.t_on} s) must come before `t1` ({self.t1} s)"
            )
        if not (isinstance(self.segment, int) and self.segment >= 1):
            raise ValueError(f"TrialProtocol `segment` must be an int >= 1, got {self.segment!r}")
        if self.t1 / self.dt > 2**31 - 1:
            raise ValueError(f"TrialProtocol has too many steps: t1 / dt = {self.t1 / self.dt:g}")

    @property
    def n_steps(self) -> int:
        """Steps in the trial, ``max(1, round(t1 / dt))``."""
        return max(1, round(self.t1 / self.dt))

    @property
    def n_on(self) -> int:
        """Index of the first step with the stimulus on, ``round(t_on / dt)``."""
        return round(self.t_on / self.dt)

    @property
    def n_off(self) -> int:
        """Index of the first step with the stimulus off again (past the end if never)."""
        if math.isinf(self.duration):
            return self.n_steps + 1
        return self.n_on + max(1, round(self.duration / self.dt))

    def stimulus_on(self, k: int | Array) -> bool | Array:
        """True at the steps ``k`` (int) during which the stimulus is on."""
        return (k >= self.n_on) & (k < self.n_off)
