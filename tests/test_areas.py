"""Several areas: the hierarchy of timescales (Chaudhuri, Knoblauch, Gariel, Kennedy & Wang
2015, Neuron 88:419), local and long-range projections with their own rules.

The eigen time constants are computed here from the paper's published parameters (the
paper does not print them per area): an isolated area has a slow mode of 41.9 ms at the
bottom of the hierarchy (h = 0) and 400.9 ms at the top (h = 1).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import multiscale as ms
from multiscale.circuit._areas import (
    AreaHierarchy,
    area_pulse,
    projection_kinds,
    projection_rules,
    replace_rules,
)

DT = 2e-4  # the Euler step of the authors' replication


def isolated(h: float, **kw) -> AreaHierarchy:
    return AreaHierarchy(h=[h], fln=[[0.0]], **kw)


def chain() -> AreaHierarchy:
    """Three areas with illustrative FLN (not the tracing data): V1 -> V4 -> 24c, feedback."""
    fln = np.array([[0.0, 0.05, 0.0], [0.5, 0.0, 0.1], [0.1, 0.3, 0.0]])
    return AreaHierarchy(h=[0.0, 0.42, 1.0], fln=fln, names=("V1", "V4", "24c"))


@pytest.mark.parametrize(("h", "slow", "fast"), [(0.0, 41.9e-3, 2.06e-3), (1.0, 400.9e-3, 2.21e-3)])
def test_isolated_area_time_constants(h, slow, fast):
    taus = np.asarray(isolated(h).eigen_time_constants())
    np.testing.assert_allclose(taus[0], slow, rtol=1e-3)
    np.testing.assert_allclose(taus[1], fast, rtol=3e-3)


def _circuit_eigenvalues(circuit):
    """Eigenvalues of the circuit's own Euler field, F(x) = step_{dt = 1 s}(x) - x."""
    state = circuit.init((), jnp.float32)
    step = circuit.discretise(1.0)
    x0, unravel = ravel_pytree(state.gating)
    zero = jnp.zeros((circuit.n_units,))

    def F(x):
        new, _ = step(eqx.tree_at(lambda s: s.gating, state, unravel(x)), zero, zero)
        return ravel_pytree(new.gating)[0] - x

    return np.linalg.eigvals(np.asarray(jax.jit(jax.jacobian(F))(x0), float))


def test_circuit_has_the_papers_modes_plus_inert_copies():
    h = chain()
    lam = np.sort(_circuit_eigenvalues(h.circuit()).real)
    paper = np.sort(-1.0 / np.asarray(h.eigen_time_constants()))
    # Every mode of the paper's equations is a mode of the circuit ...
    for x in paper:
        assert np.min(np.abs(lam - x)) < 1e-3 * abs(x)
    # ... and the rest are the copies of the gatings, at exactly -1/tau_E and -1/tau_I.
    extra = list(lam)
    for x in paper:
        extra.pop(int(np.argmin(np.abs(np.asarray(extra) - x))))
    assert np.allclose(np.sort(np.abs(extra))[[0, -1]], [50.0, 100.0], rtol=1e-4)
    assert set(np.round(np.abs(extra), 2)) <= {50.0, 100.0}


@pytest.mark.parametrize("h", [0.0, pytest.param(1.0, marks=pytest.mark.slow)])
def test_pulse_decays_with_the_areas_time_constant(h):
    hier = isolated(h)
    tau = float(hier.eigen_time_constants()[0])
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.1, duration=0.05, t1=0.2 + 2.5 * tau)
    traj = ms.circuit.simulate(hier.circuit(), area_pulse(5.0), key=jr.key(0), protocol=protocol)
    t = np.asarray(traj.ts)
    r_E = np.asarray(traj.state.gating[0])[:, 0]  # the E -> E gating is r_E
    assert np.allclose(r_E[t < 0.1], 10.0, atol=1e-4)  # the backgrounds hold rest
    window = (t > 0.15 + 10 * 2.2e-3) & (t < 0.15 + 2 * tau)  # fast mode gone
    fit = -1.0 / np.polyfit(t[window], np.log(r_E[window] - 10.0), 1)[0]
    # Euler at 0.2 ms shortens it by ~dt/2 (0.24 % at 41.9 ms).
    np.testing.assert_allclose(fit, tau, rtol=0.01)


def test_long_range_excitation_slows_the_network():
    h = chain()
    taus = np.asarray(h.eigen_time_constants())
    top = float(isolated(1.0).eigen_time_constants()[0])
    assert h.spectral_abscissa() < 0
    assert taus[0] > top  # 419 ms > 401 ms with these FLN
    c = h.circuit()
    assert projection_kinds(c).count("long_range") == 2 * 5  # five nonzero FLN entries


def test_rules_by_projection_kind():
    local, long = ms.synapse.BCM(), ms.synapse.Oja()
    c = chain().circuit()
    assert projection_rules(c) == {"local": (None,) * 12, "long_range": (None,) * 10}
    c2 = replace_rules(c, local=local, long_range=long)
    rules = projection_rules(c2)
    assert all(isinstance(r, ms.synapse.BCM) for r in rules["local"])
    assert all(isinstance(r, ms.synapse.Oja) for r in rules["long_range"])
    # Rules given to the hierarchy land in the same slots.
    c3 = eqx.tree_at(lambda m: m.long_range_rule, chain(), long, is_leaf=lambda x: x is None)
    rules3 = projection_rules(c3.circuit())
    assert rules3["local"] == (None,) * 12
    assert all(isinstance(r, ms.synapse.Oja) for r in rules3["long_range"])
    # Replacing one kind leaves the other and the weights alone.
    c4 = replace_rules(c2, local=None)
    assert projection_rules(c4)["local"] == (None,) * 12
    assert all(isinstance(r, ms.synapse.Oja) for r in projection_rules(c4)["long_range"])
    same = lambda a, b: bool(a.weight.w == b.weight.w)  # noqa: E731
    assert all(same(a, b) for a, b in zip(c.projections, c4.projections, strict=True))
    with pytest.raises(ValueError, match="unknown projection kinds"):
        replace_rules(c, lateral=local)


def test_bad_input():
    with pytest.raises(ValueError, match="`fln` must have shape"):
        AreaHierarchy(h=[0.0, 1.0], fln=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`h` must have shape"):
        AreaHierarchy(h=[[0.0]], fln=[[0.0]])
    with pytest.raises(ValueError, match="`fln` must be finite and >= 0"):
        AreaHierarchy(h=[0.0, 1.0], fln=[[0.0, -0.1], [0.2, 0.0]])
    with pytest.raises(ValueError, match="zero diagonal"):
        AreaHierarchy(h=[0.0, 1.0], fln=[[0.1, 0.0], [0.2, 0.0]])
    with pytest.raises(ValueError, match="`h` must lie in"):
        AreaHierarchy(h=[0.0, 2.0], fln=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`names`"):
        AreaHierarchy(h=[0.0], fln=[[0.0]], names=("V1", "V2"))
    with pytest.raises(ValueError, match="`tau_E` must be finite and > 0"):
        isolated(0.0, tau_E=-0.02)
    # Unstable: the error reports the spectral abscissa (eta = 0.8 gives +1.61 1/s).
    with pytest.raises(ValueError, match=r"spectral abscissa .* = 1\.6"):
        isolated(1.0, eta=0.8).circuit()
    unstable = eqx.tree_at(lambda m: m.eta, isolated(1.0), jnp.asarray(0.8))
    with pytest.raises(Exception, match="unstable at rest"):
        jax.jit(lambda m: m.check_stable().h)(unstable)


def test_negative_tau_under_jit():
    bad = eqx.tree_at(lambda m: m.tau_E, isolated(0.0), jnp.asarray(-0.02))
    with pytest.raises(Exception, match="AreaHierarchy `tau_E` must be finite and > 0"):
        jax.jit(lambda m: m.checked().eigen_time_constants())(bad)
    # A circuit whose synaptic time constant was made negative after it was built.
    c = isolated(0.0).circuit()
    c = eqx.tree_at(lambda c: c.projections[0].synapse.tau, c, jnp.asarray(-0.02))
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.01, t1=0.02)
    run = jax.jit(
        lambda c: ms.circuit.simulate(c, area_pulse(1.0), key=jr.key(0), protocol=protocol).r
    )
    with pytest.raises(Exception, match="ExponentialSynapse `tau` must be finite and > 0"):
        run(c)


def test_jit_vmap_grad():
    etas = jnp.array([0.0, 0.3, 0.68])

    def slowest(eta):
        return eqx.tree_at(lambda m: m.eta, isolated(1.0), eta).eigen_time_constants()[0]

    slow = jax.jit(jax.vmap(slowest))(etas)
    assert np.all(np.diff(np.asarray(slow)) > 0)  # more recurrence, slower
    np.testing.assert_allclose(slow[-1], 0.4009, rtol=1e-3)
    protocol = ms.circuit.TrialProtocol(dt=DT, t_on=0.02, duration=0.02, t1=0.1)

    @jax.jit
    def late_rate(w_EE):
        hier = eqx.tree_at(lambda m: m.w_EE, isolated(0.5), w_EE)
        traj = ms.circuit.simulate(
            hier.circuit(), area_pulse(5.0), key=jr.key(0), protocol=protocol, save_every=0
        )
        return traj.state.gating[0][-1, 0]

    with jax.enable_x64(True):
        w = jnp.asarray(24.3)
        g = jax.grad(late_rate)(w)
        eps = 1e-4
        fd = (late_rate(w + eps) - late_rate(w - eps)) / (2 * eps)
        assert np.isfinite(float(g)) and float(g) > 0
        np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)
        tau = jax.jit(slowest)
        d_tau = jax.jit(jax.grad(slowest))(jnp.asarray(0.5))
        fd = (tau(jnp.asarray(0.5 + 1e-6)) - tau(jnp.asarray(0.5 - 1e-6))) / 2e-6
        np.testing.assert_allclose(float(d_tau), float(fd), rtol=1e-5)
