# ruff: noqa: E501  (the RESULTS table rows read best unbroken)
"""GB2012 cortical-set STDP curve: multiscale (exact segments) vs a SciPy solve_ivp loop.

Workload: the Graupner & Brunel 2012 cortical parameter set, deterministic (sigma = 0),
float64; 201 Δt from -100 to +100 ms, each 60 pre/post pairs at 1 Hz; the output is the
final efficacy variable rho at the end of the protocol (rho0 = 0.5).

Engines:
- ``multiscale``: ``jax.jit(jax.vmap(simulate_graupner_brunel))``: calcium between events
  is exponential, threshold crossings are computed in closed form, and rho is integrated
  with RK4 (4 substeps) on each constant-drive segment; float64, and float32 for comparison.
- ``scipy``: the loop a user would write: ``solve_ivp`` (RK45, rtol 1e-6, atol 1e-9) on
  (c, rho) between spikes, with the Heaviside drive stepped blindly.
- ``brian2``: one ``Synapses`` object of 201 independent pre/post pairs driven by two
  ``SpikeGeneratorGroup``s; calcium and rho as clock-driven equations (RK4, dt = 0.1 ms),
  pre spikes as ``on_pre`` (delay D, rounded to dt), post spikes as ``on_post``;
  cpp_standalone (built once, then the binary re-run), falling back to the runtime device
  if the standalone build fails (see ``_peers.brian2_stdp_curve``).

Error: max |rho - rho_ref| over the Δt computed, where rho_ref integrates analytically
between the calcium threshold crossings (segments from the closed-form crossing times;
rho by solve_ivp at rtol 1e-12 on each segment). ``--quick`` computes the SciPy peer and the
reference on 11 Δt (every 20th) and scales the SciPy time to 201 Δt.

Run: ``python benchmarks/bench_stdp_curve.py [--quick]``; writes
``benchmarks/results/stdp_curve.md``.
"""

import argparse
import os
import pathlib
import platform
import statistics
import time

import numpy as np
from scipy.integrate import solve_ivp

N_PAIRS, FREQ, RHO0 = 60, 1.0, 0.5
DTS = np.linspace(-0.1, 0.1, 201)
NAMES = (
    "tau_Ca",
    "C_pre",
    "C_post",
    "theta_d",
    "theta_p",
    "gamma_d",
    "gamma_p",
    "tau",
    "rho_star",
    "D",
)


def brian2_version():
    try:
        import brian2

        return brian2.__version__
    except Exception:  # noqa: BLE001
        return "?"


def _trains(dt, t0=0.05):
    base = t0 + max(-dt, 0.0) + np.arange(N_PAIRS) / FREQ
    return base, base + dt, base[-1] + abs(dt) + 1.0 / FREQ


def _params():
    import multiscale.synapse as syn

    rule = syn.gb2012_cortical()
    return {k: float(getattr(rule, k)) for k in NAMES}


def _events(p, dt):
    pre, post, t_end = _trains(dt)
    ev = sorted([(t + p["D"], p["C_pre"]) for t in pre] + [(t, p["C_post"]) for t in post])
    return [e for e in ev if e[0] <= t_end] + [(t_end, 0.0)]


def reference(p, dt):
    """Exact between threshold crossings: closed-form segments, tight solve_ivp on each."""
    t, c, rho = 0.0, 0.0, RHO0
    for t_next, amp in _events(p, dt):
        cuts = {t, t_next}
        for theta in (p["theta_d"], p["theta_p"]):
            if c > theta:
                cuts.add(min(t_next, t + p["tau_Ca"] * np.log(c / theta)))
        cuts = sorted(cuts)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            cm = c * np.exp(-((a + b) / 2 - t) / p["tau_Ca"])
            hp, hd = float(cm > p["theta_p"]), float(cm > p["theta_d"])

            def f(_, r, hp=hp, hd=hd):
                return (-r * (1 - r) * (p["rho_star"] - r) + p["gamma_p"] * (1 - r) * hp
                        - p["gamma_d"] * r * hd) / p["tau"]  # fmt: skip

            rho = solve_ivp(f, (a, b), [rho], rtol=1e-12, atol=1e-14).y[0, -1]
        c = c * np.exp(-(t_next - t) / p["tau_Ca"]) + amp
        t = t_next
    return rho


def scipy_peer(p, dt):
    """A straightforward solve_ivp loop over spikes (the threshold steps are not located)."""

    def f(_, y):
        c, r = y
        hp, hd = float(c > p["theta_p"]), float(c > p["theta_d"])
        drho = (-r * (1 - r) * (p["rho_star"] - r) + p["gamma_p"] * (1 - r) * hp
                - p["gamma_d"] * r * hd) / p["tau"]  # fmt: skip
        return [-c / p["tau_Ca"], drho]

    t, y = 0.0, [0.0, RHO0]
    for t_next, amp in _events(p, dt):
        if t_next > t:
            y = solve_ivp(f, (t, t_next), y, rtol=1e-6, atol=1e-9).y[:, -1].tolist()
        y[0] += amp
        t = t_next
    return y[1]


def run_multiscale(dtype64, repeats):
    import jax
    import jax.numpy as jnp

    import multiscale.synapse as syn

    with jax.enable_x64(dtype64):
        rule = syn.gb2012_cortical()
        pre, post, t_end = zip(*[_trains(d) for d in DTS], strict=True)
        trains = jax.tree.map(
            lambda *x: jnp.stack(x),
            *[syn.SpikeTrains(a, b, c) for a, b, c in zip(pre, post, t_end, strict=True)],
        )
        f = jax.jit(jax.vmap(lambda tr: syn.simulate_graupner_brunel(rule, tr, rho0=RHO0).rho))
        t0 = time.perf_counter()
        out = f(trains).block_until_ready()
        compile_s = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f(trains).block_until_ready()
            times.append(time.perf_counter() - t0)
        return np.asarray(out, np.float64), statistics.median(times), compile_s


def run_brian2(p):
    """Brian2 peer on all 201 Δt; returns (rho, median s, build s, mode) or the failure."""
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    import _peers

    pre, post, t_end = zip(*[_trains(d) for d in DTS], strict=True)
    return _peers.with_fallback(_peers.brian2_stdp_curve, p, pre, post, t_end, RHO0, dt=1e-4,
                                repeats=3)  # fmt: skip


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    p = _params()
    idx = np.arange(0, 201, 20) if args.quick else np.arange(201)

    rho64, t64, c64 = run_multiscale(True, 20)
    rho32, t32, c32 = run_multiscale(False, 20)
    ref = np.array([reference(p, DTS[i]) for i in idx])
    t0 = time.perf_counter()
    sp = np.array([scipy_peer(p, DTS[i]) for i in idx])
    t_scipy = (time.perf_counter() - t0) * 201 / len(idx)

    b2 = run_brian2(p)
    err64 = np.max(np.abs(rho64[idx] - ref))
    err32 = np.max(np.abs(rho32[idx] - ref))
    err_sp = np.max(np.abs(sp - ref))
    agree = np.max(np.abs(rho32 - rho64))
    hw = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared)"
    note = "SciPy peer and reference on all 201 Δt"
    if args.quick:
        note = f"SciPy peer and reference on {len(idx)} of 201 Δt (every 20th), time scaled to 201"
    if isinstance(b2, str):
        b2_row = f"| Brian2 | {b2} | | | |"
    else:
        rho_b2, t_b2, build_b2, mode = b2
        err_b2 = np.max(np.abs(rho_b2[idx] - ref))
        b2_row = (
            f"| Brian2 {brian2_version()} {mode} (RK4, dt 0.1 ms, 1 thread; time = one "
            f"run of the built binary) | {t_b2:.2f} s | {build_b2:.1f} s (code gen + C++ "
            f"build) | {err_b2:.1e} | {t_b2 / t64:.0f} |"
        )
    met = t64 <= 0.02 and err64 <= 1e-3
    md = f"""## GB2012 STDP curve (cortical set, 201 Δt × 60 pairs at 1 Hz, deterministic)

Machine: {hw}; Python {platform.python_version()}. {note}.
Efficacy = final rho (rho0 = 0.5). Error = max |rho - rho_ref| against a reference that is
exact between calcium threshold crossings.

| engine | median per curve (compiled) | compile | max error | time / multiscale f64 |
|---|---|---|---|---|
| multiscale f64 (exact crossings, RK4×4/segment) | {t64 * 1e3:.1f} ms | {c64:.2f} s | {err64:.1e} | 1 |
| multiscale float32 | {t32 * 1e3:.1f} ms | {c32:.2f} s | {err32:.1e} | {t32 / t64:.2f} |
| SciPy solve_ivp loop (RK45, rtol 1e-6) | {t_scipy:.1f} s | – | {err_sp:.1e} | {t_scipy / t64:.0f} |
{b2_row}

Goal: ≤ 20 ms per curve, error ≤ 1e-3: {"met" if met else "NOT met"}.
float32 vs float64 over the whole curve: max |Δrho| = {agree:.1e}.
The machine is shared with other jobs (2 cores): timings are noisy, ratios within this one
run are what to read. Brian2's time per curve is one run of its compiled binary (process
start, 610k steps of 0.1 ms for 201 synapses, writing results), median of 3; its error
comes from the dt grid (threshold crossings and the delay D = 4.61 ms seen on the 0.1 ms
grid), not from RK4.
"""
    out = pathlib.Path(__file__).parent / "results" / "stdp_curve.md"
    out.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
