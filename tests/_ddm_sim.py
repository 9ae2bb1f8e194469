"""Test-only DDM simulator: an Euler random walk with a fine step (NumPy)."""

import numpy as np


def simulate_ddm(rng, n, v, a, z=0.5, t0=0.3, dt=2e-4, t_max=6.0, p_outlier=0.0, rt_max=2.0):
    """Choices (1 = upper) and RTs (s) of ``n`` trials; v may be an array of shape (n,).

    The walk x <- x + v dt + sqrt(dt) N(0, 1) starts at z*a and stops at 0 or a. The
    overshoot of a discrete walk delays crossings by O(sqrt(dt)) in x, i.e. ~0.6 % of a at
    dt = 2e-4 and a = 1.5, which is well inside the recovery tolerances of the tests.
    """
    v = np.broadcast_to(np.asarray(v, float), (n,))
    x = np.full(n, z * a)
    rt = np.full(n, np.nan)
    choice = np.zeros(n, int)
    alive = np.ones(n, bool)
    sq = np.sqrt(dt)
    for i in range(int(t_max / dt)):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        x[idx] += v[idx] * dt + sq * rng.standard_normal(idx.size)
        up = x[idx] >= a
        down = x[idx] <= 0
        done = up | down
        rt[idx[done]] = (i + 1) * dt + t0
        choice[idx[up]] = 1
        alive[idx[done]] = False
    out = rng.random(n) < p_outlier
    rt[out] = rng.uniform(0, rt_max, out.sum())
    choice[out] = rng.integers(0, 2, out.sum())
    keep = ~np.isnan(rt)
    return choice[keep], rt[keep], keep
