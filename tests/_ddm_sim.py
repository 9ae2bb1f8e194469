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


# Independent float64 reference for the Wiener first-passage density (NumPy and SciPy only):
# both classical series taken to many terms, and scipy's adaptive quadrature over the
# start-point and non-decision-time distributions.
_IMAGES = np.arange(-40, 41)
_EIGEN = np.arange(1, 301)


def reference_lower(s, v, sv, a, w):
    """Lower-boundary first-passage density (1/s) at decision time ``s``, drift averaged.

    Method of images (81 terms) for s < a^2, eigenfunction series (300 terms) after;
    the drift variability sv enters through its closed form (Blurton et al. 2017, eq. 3).
    """
    if s <= 0:
        return 0.0
    u = s / a**2
    if u < 1.0:
        d = w + 2 * _IMAGES
        std = np.sum(d * np.exp(-(d**2) / (2 * u))) / np.sqrt(2 * np.pi * u**3)
    else:
        k = _EIGEN
        std = np.pi * np.sum(k * np.exp(-(k**2) * np.pi**2 * u / 2) * np.sin(k * np.pi * w))
    r = 1 + sv**2 * s
    log_tilt = (sv**2 * a**2 * w**2 - 2 * a * v * w - v**2 * s) / (2 * r)
    return std / (a**2 * np.sqrt(r)) * np.exp(log_tilt)


def _quad(f, lo, hi, points=None):
    import warnings

    from scipy import integrate

    with warnings.catch_warnings():
        # Far in the onset the integrand underflows to 0 and no relative tolerance can be
        # met; those values are below every threshold the tests compare at.
        warnings.simplefilter("ignore")
        return integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=400, points=points)[0]


def reference_density(rt, upper, v, a, z, t0, sv=0.0, sz=0.0, st0=0.0):
    """Joint density (1/s) of (choice, RT) with every variability integrated by quadrature."""
    vv, ww = (-v, 1 - z) if upper else (v, z)

    def over_start(s):
        if sz == 0:
            return reference_lower(s, vv, sv, a, ww)
        return _quad(lambda x: reference_lower(s, vv, sv, a, x), ww - sz / 2, ww + sz / 2) / sz

    dt = rt - t0
    if st0 == 0:
        return over_start(dt)
    lo, hi = max(dt - st0 / 2, 0.0), dt + st0 / 2
    if hi <= 0:
        return 0.0
    points = [p for p in (0.01 * a * a, 0.05 * a * a, 0.2 * a * a) if lo < p < hi]
    return _quad(over_start, lo, hi, points or None) / st0
