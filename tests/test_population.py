"""Tests of batched decision-circuit trials: chunking, members, compile-once, failures.

All tests share 2 coherences x 4 trials (chunks of 8) so that compilations are reused.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.behavior as mb
import multiscale.circuit as mc
import multiscale.population as mp
from multiscale import RESULTS
from multiscale.population import _batch

COH = jnp.asarray([0.0, 0.5])
# 0.3 s trials with the stimulus on from 50 ms (TrialProtocol refuses an onset after t1).
SHORT = dict(protocol=mc.TrialProtocol(dt=5e-4, t_on=0.05, t1=0.3, segment=50))
READOUT = mb.ThresholdReadout(threshold=5.0, window=0.01)


def _equal(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_chunking_does_not_change_results_and_compiles_once(key):
    c = mc.WongWang2006()
    before = _batch._TRACES[0]
    whole = mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, **SHORT)
    mid = _batch._TRACES[0]
    chunked = mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, chunk_size=3, **SHORT)
    assert whole.readout.choice.shape == (2, 4)
    _equal(whole.readout.choice, chunked.readout.choice)
    _equal(whole.readout.decision_time, chunked.readout.decision_time)
    # Three chunks of 3 (the last one padded) compile once; a repeated call not at all.
    assert mid - before <= 1 and _batch._TRACES[0] - mid == 1
    mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, chunk_size=3, **SHORT)
    assert _batch._TRACES[0] - mid == 1
    # Trial n at coherence index c uses fold_in(fold_in(key, c), n).
    k = jr.fold_in(jr.fold_in(key, 1), 2)
    one = mc.simulate(c, mc.Stimulus(coherence=0.5), key=k, readout=READOUT, save_every=0, **SHORT)
    _equal(whole.readout.decision_time[1, 2], one.readout.decision_time)


def test_tiles_do_not_change_results(key):
    """Tiles of 3 trials run by lax.map (one padded) give the untiled batch's trials exactly."""
    c = mc.WongWang2006()
    whole = mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, tile_size=None, **SHORT)
    tiled = mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, tile_size=3, **SHORT)
    _equal(whole.readout.choice, tiled.readout.choice)
    _equal(whole.readout.decision_time, tiled.readout.decision_time)
    with pytest.raises(ValueError, match="tile_size"):
        mp.run_trials(c, COH, key=key, n_trials=4, readout=READOUT, tile_size=0, **SHORT)


def test_subjects_and_a_diverging_member_isolated(key):
    subjects = mp.vary_parameters(
        mc.WongWang2006(), lambda c: (c.J_N11, c.I_0), key=key, n=3, cv=0.05
    )
    assert subjects.J_N11.shape == (3,) and isinstance(subjects.I_0, jnp.ndarray)
    assert isinstance(subjects.J_N12, float)  # unselected parameters stay shared
    bad = eqx.tree_at(lambda c: c.I_0, subjects, subjects.I_0.at[1].set(jnp.nan))
    # A NaN parameter raises by default (naming it); with throw=False its member is marked.
    with pytest.raises(Exception, match="I_0"):
        mp.run_trials(bad, COH, key=key, n_trials=4, readout=READOUT, **SHORT)
    batch = mp.run_trials(bad, COH, key=key, n_trials=4, readout=READOUT, throw=False, **SHORT)
    assert batch.result.shape == (3, 2, 4)
    assert np.all(np.asarray(batch.result[1]) == RESULTS.invalid)
    assert np.all(np.asarray(batch.result[jnp.asarray([0, 2])]) == 0)
    assert np.all(np.asarray(batch.readout.choice[1]) == -1)  # flagged undecided
    clean = mp.run_trials(subjects, COH, key=key, n_trials=4, readout=READOUT, **SHORT)
    _equal(batch.readout.decision_time[0], clean.readout.decision_time[0])
    _equal(batch.readout.decision_time[2], clean.readout.decision_time[2])


def test_simulate_batch_gives_the_trials_of_vmap_simulate(key):
    """Populations-first batch loop == vmap of the per-trial loop, for both readouts."""
    n = 6
    keys = jr.split(key, n)
    circuit = eqx.tree_at(lambda c: c.J_N11, mc.WongWang2006(), jnp.linspace(0.255, 0.265, n))
    stim = eqx.tree_at(lambda s: s.coherence, mc.Stimulus(), jnp.linspace(0.0, 0.5, n))
    for readout in (READOUT, mb.HazardReadout(window=0.01)):
        batch = mc.simulate_batch(circuit, stim, keys=keys, readout=readout, **SHORT)

        def one(k, j, c, readout=readout):
            member = eqx.tree_at(lambda m: m.J_N11, circuit, j)
            s = eqx.tree_at(lambda m: m.coherence, stim, c)
            return mc.simulate(member, s, key=k, readout=readout, save_every=0, **SHORT)

        ref = eqx.filter_vmap(one)(keys, circuit.J_N11, stim.coherence)
        assert batch.S.shape == ref.S.shape == (n, 1, 2) and batch.result.shape == (n,)
        np.testing.assert_allclose(np.asarray(batch.S), np.asarray(ref.S), rtol=2e-6)
        for a, b in zip(jax.tree.leaves(batch.readout), jax.tree.leaves(ref.readout), strict=True):
            assert a.shape == b.shape
            if readout is READOUT:  # crossing step and winner: the same trials exactly
                _equal(a, b)
            else:
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
    # Nothing per trial but the keys: the same trials as one simulate each.
    shared = mc.simulate_batch(mc.WongWang2006(), mc.Stimulus(coherence=0.2), keys=keys, **SHORT)
    alone = mc.simulate(
        mc.WongWang2006(), mc.Stimulus(coherence=0.2), key=keys[3], save_every=0, **SHORT
    )
    np.testing.assert_allclose(np.asarray(shared.S[3, -1]), np.asarray(alone.S[-1]), rtol=2e-6)
    with pytest.raises(Exception, match=r"coherence.*\[0, 1\]"):
        bad = eqx.tree_at(lambda m: m.coherence, stim, stim.coherence.at[2].set(1.5))
        mc.simulate_batch(circuit, bad, keys=keys, readout=READOUT, **SHORT)
    with pytest.raises(ValueError, match="one value per trial"):
        mc.simulate_batch(circuit, stim, keys=keys[:4], readout=READOUT, **SHORT)
    with pytest.raises((ValueError, TypeError), match="keys"):  # TypeError: jaxtyping
        mc.simulate_batch(circuit, stim, keys=keys.reshape(2, 3), readout=READOUT, **SHORT)


def test_vary_parameters_coefficient_of_variation(key):
    subjects = mp.vary_parameters(mc.WongWang2006(), lambda c: (c.J_N11,), key=key, n=4000, cv=0.05)
    cv = float(jnp.std(subjects.J_N11) / jnp.mean(subjects.J_N11))
    assert cv == pytest.approx(0.05, rel=0.1)
    assert float(jnp.mean(subjects.J_N11)) == pytest.approx(0.2609, rel=0.01)


def test_stacked_parameter_sets(key):
    sets = mp.stack_circuits([mc.WongWang2006(), mc.WongWang2006(J_N11=0.25)])
    assert sets.J_N11.shape == (2,) and sets.nmda.tau_decay.shape == (2,)


def test_member_axes_that_do_not_broadcast(key):
    c = eqx.tree_at(
        lambda m: (m.J_N11, m.I_0),
        mc.WongWang2006(),
        (jnp.full((3,), 0.2609), jnp.full((2,), 0.3255)),
    )
    with pytest.raises(ValueError, match="member axis"):
        mp.run_trials(c, COH, key=key, n_trials=2, readout=READOUT, **SHORT)


def test_bad_batch_arguments(key):
    c = mc.WongWang2006()
    with pytest.raises(ValueError, match="coherence"):
        mp.run_trials(c, jnp.zeros((2, 2)), key=key, n_trials=2, readout=READOUT)
    with pytest.raises(ValueError, match="n_trials"):
        mp.run_trials(c, COH, key=key, n_trials=0, readout=READOUT)
    # Checked once, before the loop (51.2 % is 0.512, not 51.2).
    with pytest.raises(Exception, match=r"coherence.*\[0, 1\]"):
        mp.run_trials(c, jnp.asarray([0.0, 51.2]), key=key, n_trials=2, readout=READOUT)
    with pytest.raises(ValueError, match="cv"):
        mp.vary_parameters(c, lambda m: (m.J_N11,), key=key, n=2, cv=-1.0)
    with pytest.raises(ValueError, match="empty"):
        mp.stack_circuits([])


_TWO_DEVICES = """
import sys, jax
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp, jax.random as jr, numpy as np
import multiscale.behavior as mb, multiscale.circuit as mc, multiscale.population as mp
kw = dict(key=jr.key(3), n_trials=4, readout=mb.HazardReadout(window=0.01),
          protocol=mc.TrialProtocol(dt=5e-4, t_on=0.05, t1=0.3, segment=50))
c = mc.WongWang2006()
out = mp.run_trials(c, jnp.asarray([0.0, 0.5]), **kw)
assert jax.device_count() == 2 and len(out.readout.p_undecided.sharding.device_set) == 2
# Each device's 4 trials in tiles of 3 (the last one padded), and two members of which
# the second has a weaker recurrent NMDA coupling.
tiled = mp.run_trials(c, jnp.asarray([0.0, 0.5]), tile_size=3, **kw)
members = mp.stack_circuits([c, mc.WongWang2006(J_N11=0.25)])
both = mp.run_trials(members, jnp.asarray([0.0, 0.5]), **kw)
np.savez(sys.argv[1], whole=out.readout.p_choice, tiled=tiled.readout.p_choice,
         members=both.readout.p_choice)
"""


def test_trials_split_across_two_cpu_devices_are_the_same_trials(tmp_path, float64):
    # With one device per core, run_trials splits each chunk across the devices (one
    # loop per device, optionally in tiles); the trials must not change (the device
    # count is fixed at start-up, hence a subprocess). In float64: a member of a stacked
    # batch and the same circuit alone differ by float32 rounding (2.8e-5 relative in
    # p_choice, where float32 itself is 1.1e-4 from float64), and by 1e-14 in float64.
    import subprocess
    import sys

    path = tmp_path / "p_choice.npz"
    subprocess.run([sys.executable, "-c", _TWO_DEVICES, str(path)], check=True)
    kw = dict(key=jr.key(3), n_trials=4, readout=mb.HazardReadout(window=0.01), **SHORT)
    coherence = jnp.asarray([0.0, 0.5])  # COH, made in float64
    here = mp.run_trials(mc.WongWang2006(), coherence, **kw)
    weaker = mp.run_trials(mc.WongWang2006(J_N11=0.25), coherence, **kw)
    there = np.load(path)
    for name in ("whole", "tiled"):
        np.testing.assert_allclose(there[name], np.asarray(here.readout.p_choice), rtol=1e-5)
    np.testing.assert_allclose(there["members"][0], np.asarray(here.readout.p_choice), rtol=1e-5)
    np.testing.assert_allclose(there["members"][1], np.asarray(weaker.readout.p_choice), rtol=1e-5)
