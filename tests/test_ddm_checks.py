"""DDM parameter values are checked where they are used, also under jit: a NaN drift or a
negative bound raises an error that names the field, never a silent NaN likelihood."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms

B = ms.behavior
RT, CHOICE, COND = jnp.asarray([0.5, 0.8]), jnp.asarray([1, 0]), jnp.asarray([0.1, 0.2])


@pytest.mark.parametrize(
    "cls, kwargs, field",
    [
        (B.DDM, dict(v=float("nan")), "v"),
        (B.DDM, dict(a=-1.0), "a"),
        (B.DDM, dict(z=0.5, sz=1.2), "sz"),
        (B.DDM, dict(t0=0.05, st0=0.2), "st0"),
        (B.ProportionalRateDDM, dict(k=float("inf")), "k"),
    ],
)
def test_construction_names_the_field(cls, kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        cls(**kwargs)


@eqx.filter_jit
def _log_likelihood(m):
    return jnp.sum(B.ddm_log_density(m, RT, CHOICE, COND))


@pytest.mark.parametrize(
    "field, value, words",
    [("v", jnp.nan, "`v` must be finite"), ("a", -1.0, "`a` must be finite and > 0"),
     ("t0", -0.1, "`t0` must be finite and >= 0"), ("z", 1.5, "`z` must lie in")],
)  # fmt: skip
def test_bad_value_set_after_construction_raises_under_jit(field, value, words):
    m = B.DDM(v=1.0, a=1.2, t0=0.3)
    bad = eqx.tree_at(lambda q: getattr(q, field), m, jnp.asarray(value))
    assert np.isfinite(float(_log_likelihood(m)))
    with pytest.raises(eqx.EquinoxRuntimeError, match=words):
        _log_likelihood(bad)


def test_nan_drift_from_the_condition_names_the_fix():
    # A NaN condition (e.g. a missing coherence) makes the drift k C NaN.
    m = B.ProportionalRateDDM(k=8.0, a=1.2, t0=0.3)
    with pytest.raises(eqx.EquinoxRuntimeError, match="drift is not finite.*`k`.*condition"):
        _log_likelihood_prop(m, jnp.asarray([0.1, jnp.nan]))
    # Under plain jax.jit the message travels inside JAX's runtime error.
    with pytest.raises(Exception, match="drift is not finite"):
        jax.jit(lambda c: B.ddm_choice_probability(m, c))(jnp.asarray([jnp.nan]))


@eqx.filter_jit
def _log_likelihood_prop(m, cond):
    return jnp.sum(B.ddm_log_density(m, RT, CHOICE, cond))


def test_simulator_and_closed_forms_check_too():
    m = B.DDM(v=1.0, a=1.2, t0=0.3)
    bad = eqx.tree_at(lambda q: q.a, m, jnp.asarray(-1.0))
    with pytest.raises(eqx.EquinoxRuntimeError, match="`a`"):
        eqx.filter_jit(B.ddm_simulate)(bad, jnp.zeros(3), key=jr.key(0))
    with pytest.raises(eqx.EquinoxRuntimeError, match="`a`"):
        eqx.filter_jit(B.ddm_mean_rt)(bad, 0.0)
