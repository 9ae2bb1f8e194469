"""Structural plasticity as boolean masks: pruning and synaptogenesis."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import multiscale.synapse as ms


def test_prune_below_removes_exactly_the_weak_synapses(getkey):
    w = jr.uniform(getkey(), (6, 3))
    mask = ms.prune_below(w, 0.3)
    np.testing.assert_array_equal(np.asarray(mask), np.asarray(w) >= 0.3)
    # An already-silent site stays silent, whatever its stored weight.
    prior = jnp.ones((6, 3), bool).at[0, 0].set(False)
    w = w.at[0, 0].set(0.9)
    assert not bool(ms.prune_below(w, 0.3, prior)[0, 0])


def test_prune_weakest_removes_floor_fraction_of_existing(getkey):
    w = jr.uniform(getkey(), (5, 4))
    prior = jr.bernoulli(getkey(), 0.7, (5, 4))
    n = int(prior.sum())
    for fraction in (0.0, 0.25, 0.5, 1.0):
        mask = ms.prune_weakest(w, fraction, prior)
        removed = int(n - mask.sum())
        assert removed == int(np.floor(fraction * n)), fraction
        assert not np.any(np.asarray(mask & ~prior))  # nothing created
        if 0 < removed < n:
            # Every removed synapse is weaker than every kept one.
            wn, m, p = np.asarray(w), np.asarray(mask), np.asarray(prior)
            assert wn[p & ~m].max() <= wn[m].min()


def test_prune_weakest_is_jittable_with_traced_fraction(getkey):
    w = jr.uniform(getkey(), (4, 4))
    f = jax.jit(ms.prune_weakest)
    assert int(f(w, jnp.asarray(0.5)).sum()) == 8
    masks = jax.vmap(lambda q: ms.prune_weakest(w, q))(jnp.array([0.0, 0.5, 1.0]))
    assert masks.shape == (3, 4, 4) and masks.dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(masks.sum((1, 2))), [16, 8, 0])


def test_synaptogenesis_rate_matches_probability(getkey):
    mask = jnp.zeros((200, 100), bool).at[:, :10].set(True)
    grown = ms.synaptogenesis(mask, 0.5, 2.0, key=getkey())
    assert bool(jnp.all(grown[:, :10]))  # existing synapses stay
    p = float(grown[:, 10:].mean())
    expected = 1 - np.exp(-1.0)
    assert abs(p - expected) < 0.01, (p, expected)
    assert bool(jnp.all(ms.synaptogenesis(mask, 0.0, 2.0, key=getkey()) == mask))


def test_structural_step_prunes_then_grows_with_new_weight(getkey):
    sp = ms.StructuralPlasticity(threshold=0.2, growth_rate=1e3, w_new=0.05)
    w = jnp.array([[0.1, 0.5], [0.0, 0.9]])
    state = sp.init(w, jnp.array([[True, True], [False, True]]))
    new = sp.step(state, 1.0, key=getkey())
    # (0,0) was pruned this step and may not regrow in it; (1,0) was silent and grows.
    np.testing.assert_array_equal(np.asarray(new.mask), [[False, True], [True, True]])
    np.testing.assert_allclose(np.asarray(new.weights), [[0.0, 0.5], [0.05, 0.9]])
    assert ms.n_synapses(new.mask).shape == ()


def test_weights_pass_through_the_mask_in_gradients(float64, getkey):
    sp = ms.StructuralPlasticity(threshold=0.3, w_new=0.02, growth_rate=0.1)
    w = jr.uniform(getkey(), (4, 3), jnp.float64)
    mask = jnp.ones((4, 3), bool).at[1, 2].set(False)
    k = getkey()

    def loss(w, w_new):
        sp2 = ms.StructuralPlasticity(sp.threshold, sp.fraction, sp.growth_rate, w_new)
        s = sp2.step(ms.StructuralState(ms.apply_mask(w, mask), mask), 5.0, key=k)
        return jnp.sum(s.weights**2)

    g_w, g_new = jax.jit(jax.grad(loss, argnums=(0, 1)))(w, 0.02)
    s = sp.step(ms.StructuralState(ms.apply_mask(w, mask), mask), 5.0, key=k)
    kept = np.asarray(s.mask & mask)
    np.testing.assert_allclose(np.asarray(g_w), np.where(kept, 2 * np.asarray(w), 0.0))
    h = 1e-6
    fd = (loss(w, 0.02 + h) - loss(w, 0.02 - h)) / (2 * h)
    np.testing.assert_allclose(float(g_new), float(fd), rtol=1e-6)


def test_bad_input_raises():
    w = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="boolean"):
        ms.apply_mask(w, jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        ms.prune_below(w, 0.1, jnp.ones((2, 3), bool))
    with pytest.raises(ValueError, match="fraction"):
        ms.prune_weakest(w, 1.5)
    with pytest.raises(ValueError, match="fraction"):
        ms.StructuralPlasticity(fraction=-0.1)
    with pytest.raises(ValueError, match="threshold"):
        ms.prune_below(w, -1.0)
    with pytest.raises(ValueError, match="rate"):
        ms.synaptogenesis(jnp.ones((3, 2), bool), -1.0, 1.0, key=jr.key(0))
    with pytest.raises(ValueError, match="weights"):
        ms.StructuralPlasticity().init(jnp.ones(3))
