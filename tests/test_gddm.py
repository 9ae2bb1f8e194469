"""Generalised DDM: PyDDM's solver, the analytic DDM, Monte Carlo, gradients, bad input.

The PyDDM reference densities come from ``tests/data/gddm_pyddm_reference.py`` (run in a
separate environment with PyDDM 0.9; its docstring says how they were computed).
"""

import json
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale as ms

B = ms.behavior
DATA = pathlib.Path(__file__).parent / "data" / "gddm_pyddm_reference.npz"
BOUNDS = {
    "constant": B.ConstantBound,
    "linear": B.LinearCollapse,
    "exponential": B.ExponentialCollapse,
    "weibull": B.WeibullCollapse,
    "hyperbolic": B.HyperbolicCollapse,
}


def _model(s, solver, **kw):
    kind, p = s["bound"]
    return B.GDDM(
        v=s["v"], leak=s["leak"], sigma=s["sigma"], z=s["z"], bound=BOUNDS[kind](**p),
        solver=solver, **kw,
    )  # fmt: skip


def _on_grid(pd, t):
    """(2, times) decision densities of condition 0 at times t (linear interpolation)."""
    nodes = np.concatenate([[0.0], np.asarray(pd.t)])
    dens = np.asarray(pd.density[0])
    return np.stack([np.interp(t, nodes, np.concatenate([[0.0], dens[j]])) for j in (0, 1)])


def test_matches_pyddm_reference(float64):
    # "Within 1e-3": max over both bounds and all times of |f_ms - f_PyDDM| <= 1e-3 x the
    # peak density of the set (1/s). PyDDM's finest solution has its own first-order error
    # of that size (0.27e-3 and 0.72e-3 1/s against its analytic solutions of sets 0 and 2);
    # PyDDM stops solving once less than 1e-4 of the probability is undecided (its density
    # is 0 afterwards), so the comparison ends there.
    ref = np.load(DATA)
    sets, t = json.loads(str(ref["sets"])), ref["t"]
    solver = B.FokkerPlanck(dt=0.001, n_x=300, t_max=3.0)
    worst = []
    for i, s in enumerate(sets):
        mine = _on_grid(_model(s, solver).passage_density(jnp.zeros(1)), t)
        fine = ref[f"fine_{i}"]
        end = np.flatnonzero(fine.sum(0) > 0)[-1] + 1
        diff = np.abs(mine - fine)[:, 1:end].max()
        worst.append(diff / fine.max())
        if f"analytic_{i}" in ref:
            # Against PyDDM's analytic solutions (constant bound; Anderson's series for
            # the linear collapse) the agreement is much closer than to its numerics.
            assert np.abs(mine - ref[f"analytic_{i}"])[:, 1:].max() < 3e-4, i
        # PyDDM at its default dx = dt = 0.005 is 10-100x further from its fine solution.
        assert np.abs(ref[f"default_{i}"] - fine)[:, 1:end].max() > 5 * diff, i
    assert max(worst) < 1e-3, np.round(worst, 5)


def test_constant_bound_is_the_ddm(float64):
    # lambda = 0, B(t) = a/2: the Navarro-Fuss density, with drift v + k c, start bias,
    # uniform non-decision time and the contaminant.
    rt = jnp.linspace(0.36, 2.5, 60)
    trials = B.Trials(rt=rt, choice=np.arange(60) % 2, condition=np.full(60, 0.1))
    solver = B.FokkerPlanck(dt=0.002, n_x=200)
    for st0 in (0.0, 0.1):
        g = B.GDDM(
            v=0.5, k=5.0, bound=B.ConstantBound(0.7), z=0.45, t0=0.35, st0=st0, solver=solver
        )
        d = B.DDM(v=1.0, a=1.4, z=0.45, t0=0.35, st0=st0)
        got = np.exp(np.asarray(g.log_density(trials)))
        ref = np.exp(
            np.asarray(B.ddm_log_density(d, rt, trials.choice, trials.condition))
        )
        assert np.abs(got - ref).max() < 1e-3 * ref.max()


def test_second_order_convergence(float64):
    # Halving h and dt divides the error against the analytic density by about 4.
    v, a, z = 1.5, 1.6, 0.4
    t = np.linspace(0.05, 2.0, 200)
    d = B.DDM(v=v, a=a, z=z, t0=0.0, p_outlier=0.0)
    ref = np.exp(
        np.stack(
            [np.asarray(B.ddm_log_density(d, t, np.full(200, c), np.zeros(200))) for c in (0, 1)]
        )
    )
    errors = []
    for n_x, dt in [(50, 0.004), (100, 0.002), (200, 0.001)]:
        g = B.GDDM(v=v, bound=B.ConstantBound(a / 2), z=z, solver=B.FokkerPlanck(dt=dt, n_x=n_x))
        errors.append(np.abs(_on_grid(g.passage_density(jnp.zeros(1)), t) - ref).max())
    ratios = np.asarray(errors[:-1]) / np.asarray(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


def test_probability_is_conserved(float64):
    g = B.GDDM(
        v=0.3, k=4.0, leak=-0.8, z=0.6, bound=B.WeibullCollapse(B=1.1, lam=0.7, k=2.0, c=0.1)
    )
    pd = g.passage_density(jnp.asarray([0.0, 0.2, -0.5]))
    total = np.asarray(pd.density.sum(axis=(1, 2)) * g.solver.dt + pd.undecided)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert np.all(np.asarray(pd.density) > -1e-12)


def test_bound_closing_absorbs_everything(float64):
    # A linear collapse reaching 0 at 1.5 s: every trial has responded by then.
    g = B.GDDM(v=0.3, leak=0.5, bound=B.LinearCollapse(B=0.6, slope=0.4))
    pd = g.passage_density(jnp.zeros(1))
    after = np.asarray(pd.t) > 1.5 + 2 * g.solver.dt
    assert float(pd.undecided[0]) < 1e-12
    assert np.abs(np.asarray(pd.density[0][:, after])).max() < 1e-9


def test_simulation_matches_density(key):
    # Euler-Maruyama walk with bridge checks (dt = 1 ms) against the Fokker-Planck
    # defective distributions: Kolmogorov-Smirnov distance per choice and P(choice 1).
    n = 6000
    g = B.GDDM(
        v=0.3, k=8.0, leak=1.5, z=0.45, t0=0.0, p_outlier=0.0,
        bound=B.WeibullCollapse(B=1.2, lam=0.8, k=3.0, c=0.2),
        solver=B.FokkerPlanck(dt=0.002, n_x=150),
    )  # fmt: skip
    sim = g.simulate(jnp.full(n, 0.064), key=key)
    assert sim.n_trials == n
    pd = g.passage_density(jnp.asarray([0.064]))
    cdf = np.cumsum(np.asarray(pd.density[0]), axis=1) * g.solver.dt
    ends = np.asarray(pd.t) + g.solver.dt / 2
    rt, choice = np.asarray(sim.rt), np.asarray(sim.choice)
    for c in (0, 1):
        emp = np.searchsorted(np.sort(rt[choice == c]), ends, side="right") / n
        assert np.abs(emp - cdf[c]).max() < 1.63 / np.sqrt(n)  # KS 99 % critical value
    p = cdf[1, -1]
    assert abs(choice.mean() - p) < 3 * np.sqrt(p * (1 - p) / n)


def test_st0_convolution_is_exact(float64):
    # The uniform non-decision time, convolved in closed form, against a fine Simpson rule
    # over the st0 = 0 density.
    kw = dict(v=0.5, k=5.0, leak=1.0, bound=B.LinearCollapse(0.9, 0.3), z=0.45, t0=0.35,
              p_outlier=0.0, solver=B.FokkerPlanck(dt=0.002, n_x=100))  # fmt: skip
    g0, g1 = B.GDDM(**kw), B.GDDM(st0=0.15, **kw)
    for rt in (0.3, 0.42, 0.6, 1.1):
        s = np.linspace(-0.075, 0.075, 3001)
        for c in (0, 1):
            trials = B.Trials(rt=rt - s, choice=np.full(s.size, c), condition=np.full(s.size, 0.1))
            f = np.exp(np.asarray(g0.log_density(trials)))
            w = np.ones(s.size)
            w[1:-1:2], w[2:-1:2] = 4, 2
            ref = np.sum(w * f) * (s[1] - s[0]) / 3 / 0.15
            one = B.Trials(rt=[rt], choice=[c], condition=[0.1])
            got = float(jnp.exp(g1.log_density(one)[0]))
            assert abs(got - ref) < 1e-6 * max(ref, 1.0)


def test_jit_vmap_and_conditions():
    g = B.GDDM(v=0.2, k=6.0, leak=1.0, bound=B.HyperbolicCollapse(1.0, 0.5, 0.6))
    trials = B.Trials(
        rt=[0.5, 0.7, 0.9, 1.2, 0.6], choice=[1, 0, 1, 1, 0], condition=[0.0, 0.1, 0.1, 0.3, 0.0]
    )
    eager = g.log_density(trials)
    fixed = eqx.tree_at(lambda m: m.solver, g, B.FokkerPlanck(max_conditions=4))
    jitted = eqx.filter_jit(lambda m, t: m.log_density(t))(fixed, trials)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5)
    # One solve per distinct condition: the same as computing trial by trial.
    single = [g.log_density(B.Trials(rt=[r], choice=[c], condition=[x]))[0]
              for r, c, x in zip(trials.rt, trials.choice, trials.condition, strict=True)]  # fmt: skip
    np.testing.assert_allclose(eager, jnp.stack(single), rtol=1e-5)
    # vmap over a batch of models (three drifts at once).
    vs = jnp.asarray([0.0, 0.2, 0.5])
    batch = eqx.tree_at(lambda m: m.v, fixed, vs)
    axes = eqx.tree_at(lambda m: m.v, jax.tree.map(lambda _: None, fixed), 0,
                       is_leaf=lambda x: x is None)  # fmt: skip
    out = eqx.filter_vmap(lambda m: m.log_density(trials), in_axes=(axes,))(batch)
    for i, v in enumerate(vs):
        np.testing.assert_allclose(
            out[i], eqx.tree_at(lambda m: m.v, g, v).log_density(trials), rtol=1e-5
        )


def test_gradient_matches_finite_differences(float64):
    trials = B.Trials(
        rt=[0.45, 0.62, 0.81, 1.13, 0.7, 1.52],
        choice=[1, 0, 1, 1, 0, 1],
        condition=[0.0, 0.1, 0.1, 0.3, 0.3, 0.0],
    )
    g = B.GDDM(
        v=0.2, k=jnp.asarray(4.0), leak=jnp.asarray(0.8), z=0.537, t0=0.283,
        st0=jnp.asarray(0.061), bound=B.LinearCollapse(B=0.93, slope=0.27),
        solver=B.FokkerPlanck(dt=0.004, n_x=60),
    )  # fmt: skip
    params, static = eqx.partition(g, eqx.is_inexact_array)
    f = jax.jit(lambda p: jnp.sum(eqx.combine(p, static).log_density(trials)))
    grad = jax.grad(f)(params)
    leaves, treedef = jax.tree.flatten(params)
    for i, gi in enumerate(jax.tree.leaves(grad)):
        eps = 1e-6
        up = jax.tree.unflatten(treedef, [x + eps if j == i else x for j, x in enumerate(leaves)])
        dn = jax.tree.unflatten(treedef, [x - eps if j == i else x for j, x in enumerate(leaves)])
        fd = (f(up) - f(dn)) / (2 * eps)
        np.testing.assert_allclose(gi, fd, rtol=1e-5, atol=1e-7, err_msg=str(i))
    assert len(leaves) == 8


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: B.ConstantBound(B=-1.0), "ConstantBound `B`"),
        (lambda: B.LinearCollapse(B=1.0, slope=-0.2), "LinearCollapse `slope`"),
        (lambda: B.WeibullCollapse(k=0.5), "WeibullCollapse `k`"),
        (lambda: B.HyperbolicCollapse(kappa=1.5), "HyperbolicCollapse `kappa`"),
        (lambda: B.GDDM(st0=-0.1), "GDDM `st0`"),
        (lambda: B.GDDM(t0=0.1, st0=0.3), "st0"),
        (lambda: B.GDDM(z=1.2), "GDDM `z`"),
        (lambda: B.GDDM(z=0.005), "grid too coarse for the start"),
        (lambda: B.GDDM(bound=1.0), "AbstractBound"),
        (lambda: B.FokkerPlanck(dt=0.003, t_max=1.0), "whole number of steps"),
        (lambda: B.FokkerPlanck(n_x=4), "n_x"),
    ],
)
def test_bad_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_values_raise_under_jit():
    trials = B.Trials(rt=[0.5, 0.8], choice=[1, 0], condition=[0.0, 0.1])
    g = B.GDDM(solver=B.FokkerPlanck(max_conditions=2))
    run = eqx.filter_jit(lambda m, t: m.log_density(t))
    bad_bound = eqx.tree_at(lambda m: m.bound.B, g, jnp.asarray(-1.0))
    with pytest.raises(Exception, match="ConstantBound `B`"):
        run(bad_bound, trials)
    bad_st0 = eqx.tree_at(lambda m: m.st0, g, jnp.asarray(-0.1))
    with pytest.raises(Exception, match="GDDM `st0`"):
        run(bad_st0, trials)
    # A drift of 60 across a corridor of 100 intervals: cell Peclet number 2.4 > 2.
    steep = eqx.tree_at(lambda m: m.v, g, jnp.asarray(60.0))
    with pytest.raises(Exception, match="grid too coarse for the bound"):
        run(steep, trials)
    with pytest.raises(Exception, match="t_max"):
        run(g, B.Trials(rt=[0.5, 3.5], choice=[1, 0], condition=[0.0, 0.1]))
    with pytest.raises(Exception, match="max_conditions"):
        run(g, B.Trials(rt=[0.5, 0.6, 0.7], choice=[1, 0, 1], condition=[0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="max_conditions"):
        eqx.filter_jit(lambda m, t: m.log_density(t))(B.GDDM(), trials)


def test_simulate_under_jit_and_bad_input(key):
    g = B.GDDM(v=1.0, bound=B.ExponentialCollapse(B=1.0, tau=0.8), t0=0.25, st0=0.1)
    sim = eqx.filter_jit(lambda m, c, k: m.simulate(c, key=k))(g, jnp.zeros(500), key)
    assert sim.n_trials == 500
    assert float(jnp.min(sim.rt)) > 0
    again = g.simulate(jnp.zeros(500), key=key)
    np.testing.assert_allclose(again.rt, sim.rt, rtol=1e-6)
    with pytest.raises(ValueError, match="dt"):
        g.simulate(jnp.zeros(5), key=key, dt=-1e-3)
    with pytest.raises(TypeError, match="Trials"):
        g.log_density({"rt": [0.5]})
    # A constant bound far away and no drift: most trials undecided by t_max = 0.5 s.
    slow = B.GDDM(v=0.0, bound=B.ConstantBound(3.0), solver=B.FokkerPlanck(t_max=0.5))
    assert slow.simulate(jnp.zeros(200), key=jr.fold_in(key, 1)).n_trials < 200
    with pytest.raises(Exception, match="no decision"):
        eqx.filter_jit(lambda m, c, k: m.simulate(c, key=k))(slow, jnp.zeros(200), key)
