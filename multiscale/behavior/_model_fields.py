r"""Shared pieces of the generalised DDM, the LBA and the racing diffusion model.

Parameters are equinox fields whose metadata names their domain (``multiscale.fit``
optimises them on the real line through that transform). A field given as a Python number
is a constant (the fitting loop trains array leaves only); a field given as an array, or
with ``convert=True``, is trainable. Every model mixes a contaminant process into its
density, as HDDM and PyDDM do: with weight $p_o$ a trial is a guess with RT uniform on
$[0, \mathrm{rt\_max}]$ and either choice with probability 1/2,

$$p(c, t) = (1 - p_o)\, f(c, t)
  + p_o\, \frac{\mathbb 1[t \le \mathrm{rt\_max}]}{2\,\mathrm{rt\_max}},$$

so that a few fast guesses can neither force an absurd non-decision time nor give a trial
a log-likelihood of $-\infty$ (Ratcliff & Tuerlinckx 2002, Psychon Bull Rev 9:438).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._constraints import constraint

FLOAT = Float[ArrayLike, "..."]


def as_float(x):
    """``x`` as a JAX array of a floating dtype (integers become the default float)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)


def _as_float_keep_zero(x):
    return x if is_zero_constant(x) else as_float(x)


def param(transform, default=None, *, convert: bool = True, keep_zero: bool = False):
    """A parameter field with a constraint.

    ``convert=False`` keeps Python numbers constant; ``keep_zero=True`` converts every
    value to an array except the Python number 0, which switches a term off exactly.
    """
    kwargs = {"metadata": constraint(transform)}
    if keep_zero:
        kwargs["converter"] = _as_float_keep_zero
    elif convert:
        kwargs["converter"] = as_float
    if default is not None:
        kwargs["default"] = default
    return eqx.field(**kwargs)


def is_zero_constant(x) -> bool:
    """True for the Python number 0 (a switched-off term, skipped exactly)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and x == 0


def mix_contaminant(
    log_f: Float[Array, " trials"], rt: Float[Array, " trials"], p_outlier, rt_max
) -> Float[Array, " trials"]:
    """$\\log[(1 - p_o) e^{\\log f} + p_o \\mathbb 1[t \\le t_\\max] / (2 t_\\max)]$ per trial."""
    if is_zero_constant(p_outlier):
        return log_f
    dtype = rt.dtype
    p = jnp.asarray(p_outlier, dtype)
    rt_max = jnp.asarray(rt_max, dtype)
    inside = rt <= rt_max
    log_d = jnp.log1p(-p) + log_f
    # Outside the contaminant's range only the decision density remains. A "double where":
    # logaddexp(x, -inf) has a NaN second derivative, which would stop Newton fits.
    mixed = jnp.logaddexp(log_d, jnp.log(p) + jnp.log(0.5 / rt_max))
    return jnp.where(inside, mixed, log_d)


def contaminate(
    rt: Float[Array, " trials"],
    choice: Array,
    p_outlier,
    rt_max,
    *,
    key: PRNGKeyArray,
) -> tuple[Array, Array]:
    """Replace each trial by a contaminant guess with probability ``p_outlier`` (sampling)."""
    if is_zero_constant(p_outlier):
        return rt, choice
    k_mix, k_rt, k_choice = jr.split(key, 3)
    n = rt.shape[0]
    guess = jr.uniform(k_mix, (n,), rt.dtype) < jnp.asarray(p_outlier, rt.dtype)
    rt_guess = jr.uniform(k_rt, (n,), rt.dtype) * jnp.asarray(rt_max, rt.dtype)
    choice_guess = jr.bernoulli(k_choice, 0.5, (n,)).astype(choice.dtype)
    return jnp.where(guess, rt_guess, rt), jnp.where(guess, choice_guess, choice)


def concrete_or_none(x):
    """The NumPy value of ``x``, or None when it is a tracer (inside ``jit``/``vmap``)."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def accumulator_drifts(v0, v1, k, condition: Float[Array, " *c"]) -> Float[Array, " 2 *c"]:
    r"""Mean drifts of the two accumulators of a race: $v_1 + k c$ and $v_0 - k c$.

    Row 0 is the accumulator of choice 0 (lower), row 1 that of choice 1 (upper): with
    accuracy coding (choice 1 correct) $v_1 > v_0$ without any condition; with a signed
    condition (e.g. coherence, positive favouring choice 1) $k > 0$ moves evidence from
    one accumulator to the other.
    """
    kc = k * condition
    return jnp.stack([v0 - kc, v1 + kc]).astype(condition.dtype)


def race_log_density(
    log_f: Float[Array, "2 trials"],
    log_s: Float[Array, "2 trials"],
    choice: Array,
    log_p_response: Float[Array, " trials"],
) -> Float[Array, " trials"]:
    r"""$\log[f_i(t) S_j(t) / P(\text{response})]$: accumulator $i$ = choice finishes first."""
    win = jnp.asarray(choice) == 1
    log_fw = jnp.where(win, log_f[1], log_f[0])
    log_sl = jnp.where(win, log_s[0], log_s[1])
    return log_fw + log_sl - log_p_response


def checked_fields(owner: str, obj, constraints):
    """``multiscale._checks.checked`` that leaves Python-number fields as they are.

    Python numbers are constants that switch terms on or off (``st0 = 0`` skips the
    convolution); they are checked here in Python and stay numbers, while array fields go
    through ``eqx.error_if``.
    """
    import dataclasses

    from .._checks import Constraints, check_fields, checked

    def keep(name):
        return not isinstance(getattr(obj, name), int | float)

    numbers = {
        kind: tuple(n for n in getattr(constraints, kind) if not keep(n))
        for kind in ("positive", "nonnegative", "finite", "fraction")
    }
    arrays = {
        f.name: tuple(n for n in getattr(constraints, f.name) if keep(n))
        for f in dataclasses.fields(constraints)
    }
    check_fields(owner, obj, Constraints(**numbers))
    return checked(owner, obj, Constraints(**arrays))


def log_density_floor(x: Array) -> Array:
    r"""``log(x)`` for a density, held at ``log(floor)`` (zero derivatives) below a floor.

    The floor is $100\sqrt{\text{tiny}}$ of the dtype (about 1e-17 in float32, 1e-152 in
    float64): the Hessian of ``log x`` divides by ``x**2``, which underflows to 0 (and
    makes Newton's Hessian NaN) for smaller ``x``. ``multiscale._numerics.safe_log``
    (``log(max(x, 1e-30))``) has this problem in float32 twice over: ``1e-30**2``
    underflows, and its second derivative ``-1/floor**2`` overflows. A "double where"
    keeps the dead branch at ``log(1)``. A trial whose density is below the floor has
    (almost) no support under the model; the contaminant mixture is the principled way
    to give it some.
    """
    floor = 100.0 * float(np.sqrt(np.finfo(x.dtype).tiny))
    ok = x > floor
    return jnp.where(ok, jnp.log(jnp.where(ok, x, 1.0)), np.log(floor))


def threshold_gap(owner: str, A, B, b, default: float):
    r"""The gap $B = b - A$ from either the gap ``B`` or the threshold ``b`` (not both).

    Race models are fitted on the gap, which keeps the threshold above the start-point
    range $A$ for any positive value; the threshold $b$ of the papers is accepted too.
    """
    if B is not None and b is not None:
        raise ValueError(f"{owner}: give the threshold `b` or the gap `B = b - A`, not both")
    if b is None:
        return default if B is None else B
    a_val, b_val = concrete_or_none(A), concrete_or_none(b)
    if a_val is not None and b_val is not None and np.any(np.asarray(b_val) <= np.asarray(a_val)):
        raise ValueError(
            f"{owner} needs the threshold `b` above the start-point range `A` (A >= b would "
            f"start some trials at or past the threshold); got A = {a_val}, b = {b_val}: "
            "raise b or lower A"
        )
    return b - A
