"""E/PV/SST/VIP and E–I rate circuits: published steady-state results, stability, bad input.

Targets:

- Inhibition-stabilised network (Tsodyks et al. 1997, J Neurosci 17:4382): in the linear
  E–I model with $(W_{EE}, W_{EI}, W_{IE}, W_{II}) = (1.5, 1, 1.5, 0.5)$ and equal time
  constants, $dr_I/dI_I = (1 - W_{EE})/\\det M = -2/3$ and $dr_E/dI_I = -W_{EI}/\\det M = -4/3$
  (linear algebra; rel. tol. 1e-6 from the solve, 1e-3 from simulation).
- Garcia del Molino et al. 2017 (eLife 6:e29742) rate model: background currents set the
  low (1, 10, 3, 2 Hz) and high (30, 50, 30, 20 Hz) baselines to < 0.01 Hz; +10 pA onto VIP
  changes (E, PV, SST, VIP) by (+0.26, +1.13, -2.42, +4.71) Hz at the low baseline and
  (+16.3, +6.39, +9.85, +24.3) Hz at the high one (steady states of their published
  parameters, Euler at 0.1 ms; within 5 %): SST's response reverses sign.
- Pi et al. 2013 (Nature 503:521): VIP activation suppresses SST and raises pyramidal
  activity; Pfeffer et al. 2013 (Nat Neurosci 16:1068): no SST -> SST and no PV -> SST.
"""

import doctest

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

import multiscale as ms
from multiscale.circuit import (
    HIGH_BASELINE,
    INTERNEURON_W,
    LOW_BASELINE,
    Stimulus,
    TrialProtocol,
    interneuron_circuit,
    isn_circuit,
    linearise,
    spectral_abscissa,
    steady_state,
)

VIP_STEP = 0.01  # nA: the +10 pA of Garcia del Molino et al. (2017)
LOW_DELTA = (0.26, 1.13, -2.42, 4.71)  # Hz
HIGH_DELTA = (16.3, 6.39, 9.85, 24.3)  # Hz


def simulate(circuit, *, dt, t1):
    """One noise-free trial (the circuits here have no noise)."""
    protocol = TrialProtocol(dt=dt, t_on=0.0, t1=t1)
    return ms.circuit.simulate(
        circuit, Stimulus(mu0=0.0), key=jax.random.key(0), protocol=protocol, save_every=0
    )


def simulated_rates(circuit, *, dt, t1):
    """Final rates of one noise-free trial, Hz."""
    traj = simulate(circuit, dt=dt, t1=t1)
    assert bool(traj.ok)
    return np.asarray(traj.r[-1])


def add_input(circuit, population: int, current: float):
    """``circuit`` with ``current`` (nA) added to one population's background input."""
    return eqx.tree_at(
        lambda c: c.populations[population].I_0,
        circuit,
        jnp.asarray(circuit.populations[population].I_0) + current,
    )


def linear_isn(W_EE, W_EI, W_IE, W_II, I_E, I_I):
    M = np.array([[1 - W_EE, W_EI], [-W_IE, 1 + W_II]])
    return np.linalg.solve(M, [I_E, I_I]), np.linalg.det(M)


# ---- the two-population ISN ---------------------------------------------------------


def test_isn_steady_state_is_the_linear_solve(float64):
    c = isn_circuit()
    expected, det = linear_isn(1.5, 1.0, 1.5, 0.5, 10.0, 5.0)
    assert det == pytest.approx(0.75)
    ss = steady_state(c, [10.0, 10.0])
    np.testing.assert_allclose(ss.rates, expected, rtol=1e-10)
    np.testing.assert_allclose(simulated_rates(c, dt=1e-3, t1=1.0), expected, rtol=1e-6)


def test_isn_paradoxical_response(float64):
    """Tsodyks et al. 1997: extra drive to I lowers I's steady rate when W_EE > 1."""
    base = isn_circuit()
    dI = 0.1
    r0 = steady_state(base, [10.0, 10.0]).rates
    r1 = steady_state(add_input(base, 1, dI), [10.0, 10.0]).rates
    slope = (r1 - r0) / dI
    np.testing.assert_allclose(slope, [-4 / 3, -2 / 3], rtol=1e-6)
    s0 = simulated_rates(base, dt=1e-3, t1=1.0)
    s1 = simulated_rates(add_input(base, 1, dI), dt=1e-3, t1=1.0)
    np.testing.assert_allclose((s1 - s0) / dI, [-4 / 3, -2 / 3], rtol=1e-3)
    # Not an ISN (W_EE < 1): the response is no longer paradoxical. The slope is
    # (1 - W_EE) / det M = 0.5 / 2.25 (det M = 0.5 * 1.5 + 1.5 * 1).
    weak = isn_circuit(W_EE=0.5)
    q0 = steady_state(weak, [5.0, 5.0]).rates
    q1 = steady_state(add_input(weak, 1, dI), [5.0, 5.0]).rates
    assert float(q1[1] - q0[1]) / dI == pytest.approx(0.5 / 2.25, rel=1e-6)


def test_isn_eigenvalues_are_analytic(float64):
    """In gating form the linearisation is exact: (-1 +- i sqrt(2)) / (2 tau), and 1/tau."""
    tau = 0.01
    J, lam = linearise(isn_circuit(), [40 / 3, 50 / 3])
    assert J.shape == (4, 4)
    np.testing.assert_allclose(lam[:2].real, -0.5 / tau, rtol=1e-10)
    np.testing.assert_allclose(np.abs(lam[:2].imag), np.sqrt(2) / 2 / tau, rtol=1e-10)
    np.testing.assert_allclose(lam[2:].real, -1 / tau, rtol=1e-10)
    # The E subnetwork alone is unstable (W_EE > 1): that is what makes it an ISN.
    E_only = isn_circuit(W_EI=0.0, W_IE=0.0)
    assert float(spectral_abscissa(E_only, [10.0, 10.0])) == pytest.approx(0.5 / tau)


def test_population_time_constants_converge_to_the_gating_form(float64):
    """A circuit with rate time constants and fast synapses has the same slow eigenvalues."""
    tau_s = 1e-5
    E = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), I_0=10.0, tau=0.01)
    Ipop = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), I_0=5.0, tau=0.01)
    W = ((1.5, -1.0), (1.5, -0.5))
    projections = tuple(
        ms.circuit.Projection(
            j, i, ms.synapse.ExponentialSynapse(tau_s), ms.circuit.Uniform(W[i][j])
        )
        for i in range(2)
        for j in range(2)
    )
    c = ms.circuit.RateCircuit((E, Ipop), projections)
    ss = steady_state(c, [10.0, 10.0])
    np.testing.assert_allclose(ss.rates, [40 / 3, 50 / 3], rtol=1e-10)
    assert ss.jacobian.shape == (6, 6)
    slow = ss.eigenvalues[:2]
    np.testing.assert_allclose(slow.real, -50.0, rtol=1e-2)
    np.testing.assert_allclose(np.abs(slow.imag), 50 * np.sqrt(2), rtol=1e-2)


def test_field_is_the_circuit_step(float64):
    """The field that linearise differentiates is the one the circuit's Euler step uses,
    here with NMDA saturation, facilitating and depressing synapses and rate time constants."""
    from multiscale.circuit._linearise import _field

    E = ms.circuit.RatePopulation(ms.circuit.AbbottChance(), size=2, I_0=0.3, name="E")
    PV = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), size=1, tau=0.005, name="PV")
    tm = ms.synapse.TsodyksMarkram(U=0.2, tau_rec=0.5, tau_facil=0.3)
    projections = (
        ms.circuit.Projection(0, 0, ms.synapse.SaturatingNMDA(), ms.circuit.SelfCross(0.2, -0.05)),
        ms.circuit.Projection(
            0, 1, ms.synapse.ExponentialSynapse(0.002), ms.circuit.Uniform(0.5), short_term=tm
        ),
        ms.circuit.Projection(
            1, 0, ms.synapse.ExponentialSynapse(0.005), ms.circuit.Uniform(-2e-3)
        ),
    )
    c = ms.circuit.RateCircuit((E, PV), projections)
    state = c.init((), jnp.float64)
    state = ms.circuit.RateState(
        (jnp.array([0.3, 0.1]), jnp.array([5.0, 7.0]), jnp.array([4.0])),
        (None, (jnp.array([0.8, 0.6]), jnp.array([0.3, 0.25])), None),
        jnp.array([0.0, 0.0, 12.0]),
        state.I_noise,
    )
    drive = jnp.array([0.01, 0.02, 0.0])
    F, x0, unravel = _field(c, state, drive, (False, False, False))
    dt = 1e-4
    new, _ = c.discretise(dt)(state, drive, jnp.zeros(3))
    expected = jax.flatten_util.ravel_pytree((new.gating, new.short_term, new.rates[2:]))[0]
    np.testing.assert_allclose(x0 + dt * F(x0), expected, rtol=1e-12)
    # Pure depression (tau_facil = 0) holds u at U: it is no variable, so no zero eigenvalue.
    depressing = eqx.tree_at(lambda c: c.projections[1].short_term.tau_facil, c, 0.0)
    ss = steady_state(depressing, [5.0, 5.0, 10.0])
    assert ss.jacobian.shape == (8, 8)  # 5 gatings, 2 resources R, PV's rate
    assert bool(ss.stable) and float(jnp.min(jnp.abs(ss.eigenvalues))) > 1.0


# ---- E/PV/SST/VIP ---------------------------------------------------------------------


def test_pfeffer_connectivity_is_structural():
    c = interneuron_circuit()
    pairs = {(p.pre, p.post) for p in c.projections}
    assert (2, 2) not in pairs  # SST -> SST
    assert (1, 2) not in pairs and (1, 3) not in pairs  # PV -> SST, PV -> VIP
    assert {post for pre, post in pairs if pre == 3} == {2}  # VIP -> SST only
    assert len(pairs) == 10


@pytest.mark.parametrize("base", [LOW_BASELINE, HIGH_BASELINE], ids=["low", "high"])
def test_baselines(base, float64):
    ss = steady_state(interneuron_circuit(base.I_bkg), base.rates)
    np.testing.assert_allclose(ss.rates, base.rates, atol=0.01)
    assert bool(ss.stable)


@pytest.mark.parametrize(
    "base, delta", [(LOW_BASELINE, LOW_DELTA), (HIGH_BASELINE, HIGH_DELTA)], ids=["low", "high"]
)
def test_vip_drive_response(base, delta, float64):
    """Garcia del Molino et al. 2017: +10 pA onto VIP, steady-state changes within 5 %."""
    c = interneuron_circuit(base.I_bkg)
    r0 = steady_state(c, base.rates).rates
    r1 = steady_state(c, base.rates, drive=[0.0, 0.0, 0.0, VIP_STEP]).rates
    np.testing.assert_allclose(r1 - r0, delta, rtol=0.05)
    # The same by simulation (0.5 s settles: the slowest mode decays at ~270 /s).
    s0 = simulated_rates(c, dt=1e-4, t1=0.3)
    s1 = simulated_rates(add_input(c, 3, VIP_STEP), dt=1e-4, t1=0.3)
    np.testing.assert_allclose(s1 - s0, r1 - r0, rtol=1e-6, atol=1e-8)


def test_sst_response_reversal_and_vip_disinhibition(float64):
    """SST falls at the low baseline (Pi et al. 2013 direction) and rises at the high one."""
    out = []
    for base in (LOW_BASELINE, HIGH_BASELINE):
        c = interneuron_circuit(base.I_bkg)
        r0 = steady_state(c, base.rates).rates
        r1 = steady_state(c, base.rates, drive=[0.0, 0.0, 0.0, VIP_STEP]).rates
        out.append(np.asarray(r1 - r0))
    low, high = out
    assert low[2] < 0 < high[2]  # SST: response reversal
    assert low[0] > 0 and high[0] > 0  # E is disinhibited at both baselines
    # VIP acts only through SST: without VIP -> SST its drive changes nothing else.
    W = INTERNEURON_W.copy()
    W[2, 3] = 0.0
    c = interneuron_circuit(LOW_BASELINE.I_bkg, W)
    r0 = steady_state(c, LOW_BASELINE.rates).rates
    r1 = steady_state(c, LOW_BASELINE.rates, drive=[0.0, 0.0, 0.0, VIP_STEP]).rates
    np.testing.assert_allclose(r1[:3], r0[:3], atol=1e-9)


def test_exact_linearisation_contains_the_rate_model_eigenvalues(float64):
    """The eigenvalues of (-1 + diag(phi') W) / tau_r are among those of the gating form."""
    base = HIGH_BASELINE
    c = interneuron_circuit(base.I_bkg)
    ss = steady_state(c, base.rates)
    x = jnp.asarray(INTERNEURON_W) @ ss.rates + jnp.asarray(base.I_bkg)
    gain = jnp.stack([jax.grad(p.transfer)(x[i]) for i, p in enumerate(c.populations)])
    J_rate = (-jnp.eye(4) + gain[:, None] * jnp.asarray(INTERNEURON_W)) / 0.002
    for lam in np.linalg.eigvals(np.asarray(J_rate)):
        assert np.min(np.abs(np.asarray(ss.eigenvalues) - lam)) < 1e-6 * abs(lam)
    assert float(ss.spectral_abscissa) == pytest.approx(np.max(np.linalg.eigvals(J_rate).real))


def test_high_baseline_is_inhibition_stabilised(float64):
    """The E loop gain phi_E' W_EE exceeds 1 at the high baseline only (measured 0.26 and
    1.34): E alone would be unstable there, and the full circuit is stable at both."""
    gains = []
    for base in (LOW_BASELINE, HIGH_BASELINE):
        c = interneuron_circuit(base.I_bkg)
        ss = steady_state(c, base.rates)
        x_E = jnp.asarray(INTERNEURON_W[0]) @ ss.rates + base.I_bkg[0]
        gains.append(float(jax.grad(c.populations[0].transfer)(x_E)) * INTERNEURON_W[0, 0])
        assert bool(ss.stable)
    assert gains[0] < 1 < gains[1]


# ---- jit, vmap, grad ----------------------------------------------------------------------


def test_grad_of_steady_state_matches_finite_differences(float64):
    def r_E(w_sst_e):
        W = jnp.asarray(INTERNEURON_W).at[0, 2].set(w_sst_e)
        c = interneuron_circuit(HIGH_BASELINE.I_bkg, W)
        return steady_state(c, HIGH_BASELINE.rates).rates[0]

    w = float(INTERNEURON_W[0, 2])
    g = eqx.filter_jit(jax.grad(r_E))(w)
    h = 1e-7
    fd = (r_E(w + h) - r_E(w - h)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-5)
    assert float(g) > 0  # a weaker (less negative) SST -> E weight raises E


def test_vmap_sweep_compiles_once(float64):
    base = LOW_BASELINE
    c = interneuron_circuit(base.I_bkg)

    @eqx.debug.assert_max_traces(max_traces=1)
    def sst(d):
        return steady_state(c, base.rates, drive=jnp.stack([0.0 * d, 0.0 * d, 0.0 * d, d])).rates[2]

    f = jax.jit(jax.vmap(sst))
    out = np.asarray(f(jnp.linspace(0.0, 0.01, 5)))
    assert np.all(np.diff(out) < 0)
    f(jnp.linspace(0.0, 0.005, 5))


# ---- stability and bad input ------------------------------------------------------------------


UNSTABLE = dict(W_EE=2.6, W_EI=3.0, W_IE=3.0, W_II=0.5, I_E=10.0, I_I=2.0)


def test_unstable_parameters_report_the_spectral_abscissa(float64):
    c = isn_circuit(**UNSTABLE)
    # Linear model: the focus has real part ((W_EE - 1) - (1 + W_II)) / (2 tau) = +5 /s.
    with pytest.raises(ValueError, match=r"unstable: spectral abscissa 5 1/s"):
        steady_state(c, [1.0, 4.0])
    ss = steady_state(c, [1.0, 4.0], throw=False)
    assert not bool(ss.stable) and float(ss.spectral_abscissa) == pytest.approx(5.0)
    expected, _ = linear_isn(2.6, 3.0, 3.0, 0.5, 10.0, 2.0)
    np.testing.assert_allclose(ss.rates, expected, rtol=1e-10)
    with pytest.raises(eqx.EquinoxRuntimeError, match="spectral abscissa"):
        eqx.filter_jit(lambda dI: steady_state(add_input(c, 1, dI), [1.0, 4.0]).rates)(0.0)


def test_wrong_shape_and_sign_of_weights():
    with pytest.raises(ValueError, match=r"`W` must have shape \(4, 4\)"):
        interneuron_circuit(W=np.zeros((3, 4)))
    W = INTERNEURON_W.copy()
    W[0, 1] = 1e-3
    with pytest.raises(ValueError, match=r"`W\[0, 1\]` \(PV -> E\).*PV is inhibitory"):
        interneuron_circuit(W=W)
    W = INTERNEURON_W.copy()
    W[1, 0] = -1e-3
    with pytest.raises(ValueError, match=r"`W\[1, 0\]` \(E -> PV\).*E is excitatory"):
        interneuron_circuit(W=W)
    with pytest.raises(ValueError, match="`I_bkg` must have shape"):
        interneuron_circuit(I_bkg=(0.1, 0.2))
    with pytest.raises(ValueError, match="`W_EI` is a magnitude"):
        isn_circuit(W_EI=-1.0)
    with pytest.raises(ValueError, match="`drive` must have shape"):
        steady_state(isn_circuit(), [10.0, 10.0], drive=[0.0])
    with pytest.raises(ValueError, match="`state_or_rates` must be"):
        linearise(isn_circuit(), [10.0])
    with pytest.raises(TypeError, match="RateCircuit"):
        linearise(ms.circuit.WongWang2006(), [1.0, 1.0])


def test_wrong_sign_under_jit_raises():
    W = INTERNEURON_W.copy()
    W[2, 3] = 1e-3  # VIP -> SST made excitatory
    f = eqx.filter_jit(lambda W: steady_state(interneuron_circuit(W=W), LOW_BASELINE.rates).rates)
    with pytest.raises(eqx.EquinoxRuntimeError, match="wrong sign"):
        f(jnp.asarray(W, jnp.float32))


def test_negative_time_constant_raises_under_jit():
    c = interneuron_circuit()
    with pytest.raises(ValueError, match="tau"):
        interneuron_circuit(tau_r=-0.002)

    def run(tau):
        bad = eqx.tree_at(lambda c: c.projections[0].synapse.tau, c, tau)
        return simulate(bad, dt=1e-4, t1=0.01).r

    with pytest.raises(eqx.EquinoxRuntimeError, match="ExponentialSynapse `tau`"):
        eqx.filter_jit(run)(-0.002)
    with pytest.raises(eqx.EquinoxRuntimeError, match="ExponentialSynapse `tau`"):
        eqx.filter_jit(
            lambda t: linearise(
                eqx.tree_at(lambda c: c.projections[0].synapse.tau, c, t), LOW_BASELINE.rates
            )[1]
        )(-0.002)
    # A population's rate time constant is checked by linearise and steady_state too.
    E = ms.circuit.RatePopulation(ms.circuit.ThresholdLinear(), I_0=1.0, tau=0.01)
    c1 = ms.circuit.RateCircuit((E,))
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"populations\[0\].tau"):
        eqx.filter_jit(
            lambda t: steady_state(eqx.tree_at(lambda c: c.populations[0].tau, c1, t), [1.0]).rates
        )(-0.01)


@pytest.mark.slow  # compiles the circuits again in float32 (~10 s)
def test_docstring_examples_run():
    from multiscale.circuit import _interneurons, _linearise

    for module in (_interneurons, _linearise):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0
