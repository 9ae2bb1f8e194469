"""Two-compartment pyramidal cells and dendritic disinhibitory gating.

Yang GR, Murray JD, Wang X-J (2016) A dendritic disinhibitory circuit mechanism for
pathway-specific gating. Nat Commun 7:12815. The fitted branch and soma functions are
checked against their values computed from the coefficients of the authors' code (ModelDB
206227); the circuit's steady state against the authors' static reduction (their gating
analysis evaluates the same chain of functions without dynamics), written out here in
NumPy; the gating result against the paper's claim.
"""

import doctest

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.circuit as mc
from multiscale._results import RESULTS
from multiscale.circuit import _two_compartment

STEADY = mc.TrialProtocol(dt=5e-4, t_on=0.0, t1=0.4)


def _batch(protocol=STEADY, coherence=0.0, **fields):
    """Final rates (trials, units) of the noise-free circuit, one trial per field value."""
    n = len(next(iter(fields.values())))
    dtype = jnp.result_type(float)
    circuit = mc.DisinhibitoryGating(**{k: jnp.asarray(v, dtype) for k, v in fields.items()})
    out = mc.simulate_batch(
        circuit,
        mc.Stimulus(coherence=coherence, mu0=30.0),
        keys=jr.split(jr.key(0), n),
        protocol=protocol,
    )
    assert np.all(np.asarray(out.ok))
    return np.asarray(out.r[:, -1, :])


# The authors' static reduction, written independently of the package (NumPy, float64).
def _dendrite_v(E, I):  # noqa: E741
    q = (5.5592051, 9.64361681, 6.5386557, 0.7779744)
    return 30.0 * (1.0 + np.tanh((E - q[0] * (4.0 + I)) / (q[1] * np.exp(I / q[2])))) + q[3] - 70.0


def _static(control_A, control_B, E_A, E_B, w_PS=0.03):
    relu = lambda x: np.maximum(x, 0.0)
    r_V = 100.0 * relu(np.array([control_A, control_B]))
    r_S = 90.0 * relu(0.15 - 0.03 * r_V - 0.04)
    g_I = 40.0 * 0.02 * r_S
    r_P = relu(220.0 * (0.2 - 0.02 * r_S.mean()) / (1.0 + 220.0 * 0.03))
    v_mean = 0.5 * (_dendrite_v(E_A, g_I[0]) + _dendrite_v(E_B, g_I[1]))
    current = 8.0 * (v_mean + 55.0) - 1e3 * w_PS * r_P  # pA
    r_E = (relu(current + 174.85951028) / 45.16030095) ** 2.89003711
    return np.array([r_E, r_E, *r_S, r_P, *r_V])  # at c = 0 both cells are equal


def test_dendrite_nonlinearity_matches_the_fit():
    # Check values of the authors' fit (I, E in nS -> mV), to 0.01 mV.
    v = mc.DendriteNonlinearity()
    E = jnp.asarray([0.0, 10.0, 20.0, 30.0, 40.0, 60.0])
    table = {
        0.0: [-68.63, -64.83, -46.06, -19.22, -10.69, -9.25],
        5.0: [-68.75, -67.99, -66.09, -61.64, -52.71, -25.81],
        10.0: [-67.46, -66.50, -65.07, -62.96, -59.95, -50.64],
    }
    for inh, expected in table.items():
        np.testing.assert_allclose(v(E, jnp.full(6, inh)), expected, atol=0.005)
    # Clustered excitation (30 nS) is gated out by 5 nS of branch inhibition.
    assert float(v(30.0, 0.0)) == pytest.approx(-19.22, rel=1e-3)
    assert float(v(30.0, 5.0)) == pytest.approx(-61.64, rel=1e-3)
    # The fit's documented extrapolation failure at large inhibition.
    assert float(v(0.0, 20.0)) == pytest.approx(-56.4, abs=0.05)


def test_soma_transfer_functions():
    fi, fv = mc.SomaFI(), mc.SomaFV()
    assert float(fi(0.0)) == pytest.approx(50.02, rel=1e-3)
    assert float(fi(0.1)) == pytest.approx(184.9, rel=1e-3)
    assert float(fi(-0.1)) == pytest.approx(4.31, rel=2e-3)
    assert float(fi(-0.2)) == 0.0  # below -I_theta
    assert float(fv(-19.22)) == pytest.approx(461.9, rel=1e-3)
    assert float(fv(-68.63)) == pytest.approx(2.84, abs=0.005)
    assert float(fv(-80.0)) == pytest.approx(2.59035567)  # below rest: r_0, finite
    # Gradients stay finite at the rectification, in the input and in the exponent.
    g = jax.grad(lambda x, n: mc.SomaFI(n=n)(x), argnums=(0, 1))(-0.2, 2.89)
    assert all(np.isfinite(float(x)) for x in g)


def test_gating_selectivity_formula():
    on = jnp.asarray([30.0, 20.0, 10.0, 5.0, 12.0])
    off = jnp.asarray([10.0, 0.0, 10.0, 15.0, -4.0])
    np.testing.assert_allclose(mc.gating_selectivity(on, off), [0.5, 1.0, 0.0, 0.0, 1.0], atol=1e-6)
    assert float(mc.gating_selectivity(0.0, 0.0)) == 0.0  # eps keeps 0/0 finite


def test_steady_state_matches_static_reduction_and_gates(float64):
    conds = [  # (control_A, control_B, pathway_A, pathway_B, w_PS)
        (0.1, 0.0, 1.0, 0.0, 0.0),
        (0.1, 0.0, 0.0, 1.0, 0.0),
        (0.1, 0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 1.0, 0.0),
        (0.0, 0.0, 0.0, 0.0, 0.0),
        (0.1, 0.0, 1.0, 0.0, 0.03),
        (0.1, 0.0, 0.0, 1.0, 0.03),
        (0.0, 0.04, 1.0, 1.0, 0.03),
    ]
    cols = list(zip(*conds, strict=True))
    r = _batch(control_A=cols[0], control_B=cols[1], pathway_A=cols[2], pathway_B=cols[3],
               w_PS=cols[4])  # fmt: skip
    for got, (ca, cb, pa, pb, w) in zip(r, conds, strict=True):
        expected = _static(ca, cb, 30.0 * pa, 30.0 * pb, w)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # control -> VIP_A -| SST_A -| A branches: pathway A passes, B is blocked (Yang 2016).
    E = r[:, 0]
    dr_on, dr_off = E[0] - E[2], E[1] - E[2]
    assert dr_on > 150.0 and dr_off < 5.0
    assert float(mc.gating_selectivity(dr_on, dr_off)) == pytest.approx(0.960, abs=0.002)
    # Without control both pathways are blocked by SST.
    assert max(E[3] - E[5], E[4] - E[5]) < 0.05 * dr_on


def test_context_decides_the_choice():
    # Incongruent evidence (A favours choice 1, B choice 2): the choice follows the pathway
    # that the context gates on, as in the paper's context-dependent task (Yang 2016).
    r = _batch(coherence=0.5, control_A=[0.1, 0.0, 0.1], control_B=[0.0, 0.1, 0.0],
               overlap=[0.0, 0.0, 0.5])  # fmt: skip
    c = mc.DisinhibitoryGating()
    np.testing.assert_array_equal(c.choice_rates(r.T).T, r[:, :2])
    assert r[0, 0] > 2 * r[0, 1] and r[1, 1] > 2 * r[1, 0]
    # SST inhibition that is not branch-specific (overlap 0.5) removes the gating.
    assert r[2, 0] == pytest.approx(r[2, 1], rel=1e-5)


def test_dt_convergence_first_order(float64):
    # Forward Euler: halving dt halves the error (Richardson differences of the transient).
    finals = []
    for dt in (4e-4, 2e-4, 1e-4):
        p = mc.TrialProtocol(dt=dt, t_on=0.0, t1=0.04)
        out = mc.simulate(mc.DisinhibitoryGating(control_A=0.1), mc.Stimulus(), key=jr.key(0),
                          protocol=p, save_every=0)  # fmt: skip
        finals.append(np.asarray(out.r[-1]))
    ratio = np.abs(finals[0] - finals[1]).max() / np.abs(finals[1] - finals[2]).max()
    assert ratio == pytest.approx(2.0, abs=0.2)


def test_jit_vmap_grad_and_finite_differences(float64):
    protocol = mc.TrialProtocol(dt=5e-4, t_on=0.0, t1=0.3)

    @eqx.filter_jit
    def rate(w_PS, J_E):
        c = mc.DisinhibitoryGating(w_PS=w_PS, J_E=J_E, control_A=0.1, pathway_B=0.0)
        out = mc.simulate(c, mc.Stimulus(), key=jr.key(0), protocol=protocol, save_every=0)
        return out.r[-1, 0]

    x, one = jnp.asarray(0.03), jnp.asarray(1.0)
    g = jax.grad(rate)(x, one)
    h = 1e-5
    fd = (rate(x + h, one) - rate(x - h, one)) / (2 * h)
    assert float(g) < 0.0  # more PV -> soma inhibition, lower rate
    assert float(g) == pytest.approx(float(fd), rel=1e-6)
    # vmap over parameter values equals one call per value.
    xs = jnp.asarray([0.0, 0.03])
    vm = jax.vmap(rate, in_axes=(0, None))(xs, one)
    np.testing.assert_allclose(vm, [rate(jnp.asarray(0.0), one), rate(x, one)], rtol=1e-10)
    assert float(rate(x, jnp.asarray(0.9))) < float(rate(x, one))


def test_noise_reproducible_and_finite():
    c = mc.DisinhibitoryGating(sigma=0.02)
    p = mc.TrialProtocol(dt=5e-4, t_on=0.05, t1=0.1)
    run = jax.jit(lambda k: mc.simulate(c, mc.Stimulus(), key=k, protocol=p, save_every=0).r[-1])
    a, b, other = run(jr.key(1)), run(jr.key(1)), run(jr.key(2))
    assert np.all(np.isfinite(np.asarray(a)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, other)


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="tau_d"):
        mc.DisinhibitoryGating(tau_d=-0.005)
    with pytest.raises(ValueError, match="overlap"):
        mc.DisinhibitoryGating(overlap=1.5)
    with pytest.raises(ValueError, match="DendriteNonlinearity `g_s`"):
        mc.DendriteNonlinearity(g_s=-1.0)
    with pytest.raises(TypeError, match="dendrite"):
        mc.DisinhibitoryGating(dendrite=mc.SomaFV())
    with pytest.raises(ValueError, match="tau_d"):
        mc.simulate(mc.DisinhibitoryGating(), mc.Stimulus(), key=jr.key(0),
                    protocol=mc.TrialProtocol(dt=4e-3, t1=0.8))  # fmt: skip


def test_negative_time_constant_under_jit():
    protocol = mc.TrialProtocol(dt=5e-4, t_on=0.01, t1=0.02)

    # Every parameter an array: new values reuse the one compilation.
    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(c):
        return mc.simulate(c, mc.Stimulus(), key=jr.key(0), protocol=protocol, save_every=0).r

    good = jax.tree.map(jnp.asarray, mc.DisinhibitoryGating())
    run(good)
    bad = eqx.tree_at(lambda c: c.tau_E, good, jnp.asarray(-0.02))
    with pytest.raises(eqx.EquinoxRuntimeError, match="DisinhibitoryGating `tau_E`"):
        run(bad)
    nested = eqx.tree_at(lambda c: c.dendrite.s_0, good, jnp.asarray(-1.0))
    with pytest.raises(eqx.EquinoxRuntimeError, match="DendriteNonlinearity `s_0`"):
        run(nested)
    # In a batch with throw=False only the bad member is marked.
    c = eqx.tree_at(lambda c: c.g_SD, good, jnp.asarray([40.0, -1.0]))
    out = mc.simulate_batch(c, mc.Stimulus(), keys=jr.split(jr.key(0), 2), protocol=protocol,
                            throw=False)  # fmt: skip
    assert out.result.tolist() == [RESULTS.ok, RESULTS.invalid]


def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match="`control_A`"):
        mc.simulate(mc.DisinhibitoryGating(control_A=jnp.zeros(3)), mc.Stimulus(),
                    key=jr.key(0), protocol=mc.TrialProtocol(t_on=0.01, t1=0.02))  # fmt: skip
    with pytest.raises(ValueError, match=r"`E` \(3,\), `I` \(2,\)"):
        mc.DendriteNonlinearity()(jnp.zeros(3), jnp.zeros(2))
    with pytest.raises(ValueError, match="`dr_on`"):
        mc.gating_selectivity(jnp.zeros(3), jnp.zeros(2))


def test_docstring_examples():
    result = doctest.testmod(_two_compartment, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0
