"""Generalised-DDM maximum-likelihood fit: multiscale vs PyDDM 0.9, same model, same data.

Workload (issue 16): a leaky drift-diffusion model with a linearly collapsing bound,
drift k * coh - leak * x (noise 1), bounds +-max(B - slope * t, 0), unbiased start,
non-decision time t0 and a 2 % uniform contaminant on [0, T_DUR], fitted (k, B, slope,
leak, t0) to 2600 trials simulated from it over the six Roitman & Shadlen (2002)
coherences. multiscale: ``ms.fit.fit`` with damped Newton on the default Fokker-Planck grid
(100 intervals, dt = 5 ms); PyDDM: its own ``Model.fit`` (differential evolution) with its
defaults (dx = dt = 0.005). The two run alternately, ``--repeats`` times each, in one
process tree on this machine (PyDDM in its own environment through a subprocess, see
``_gddm_pyddm.py``). Each estimate's NLL is then computed with two fine solvers:
multiscale's (400 intervals, dt = 0.5 ms, float64) and PyDDM's (dx = dt = 0.001).

Run: ``python benchmarks/bench_gddm.py --pyddm /path/to/pyddm-venv/bin/python`` (default:
``$PYDDM_PYTHON``, else this Python, which then needs PyDDM installed)
(``--quick``: 600 trials, one repeat, no results file).
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

TRUE = dict(k=8.0, B=1.0, slope=0.3, leak=1.0, t0=0.3)
START = dict(k=4.0, B=0.7, slope=0.1, leak=0.3, t0=0.2)
COHERENCES = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)
T_DUR, P_OUT = 2.5, 0.02
HERE = pathlib.Path(__file__).parent
_FIT = {}  # the loss and optimiser objects, made once so that later fits reuse the compilation


def _nll(m, d):
    return -m.log_density(d).sum()


def model(p, solver):
    import jax.numpy as jnp

    import multiscale as ms

    B = ms.behavior
    return B.GDDM(
        v=0.0, k=jnp.asarray(p["k"]), leak=jnp.asarray(p["leak"]),
        bound=B.LinearCollapse(B=p["B"], slope=p["slope"]), z=0.5, t0=p["t0"],
        p_outlier=P_OUT, rt_max=T_DUR, solver=solver,
    )  # fmt: skip


def simulate(n, seed):
    import jax
    import jax.numpy as jnp

    import multiscale as ms

    solver = ms.behavior.FokkerPlanck(t_max=T_DUR)
    coh = jnp.asarray(np.resize(np.asarray(COHERENCES), n), jnp.float32)
    t = model(TRUE, solver).simulate(coh, key=jax.random.key(seed), dt=5e-4)
    return np.asarray(t.rt, float), np.asarray(t.choice), np.asarray(t.condition, float)


def fit_multiscale(rt, choice, coh):
    import equinox as eqx
    import jax

    import multiscale as ms

    B = ms.behavior
    solver = B.FokkerPlanck(t_max=T_DUR, max_conditions=len(COHERENCES))
    trials = B.Trials(rt=rt.astype(np.float32), choice=choice, condition=coh.astype(np.float32))
    start = model(START, solver)
    fields = lambda m: [m.k, m.bound.B, m.bound.slope, m.leak, m.t0]
    spec = eqx.tree_at(fields, jax.tree.map(lambda _: False, start), [True] * 5)
    optimizer = _FIT.setdefault("newton", ms.fit.newton())
    t = time.perf_counter()
    fit, history = ms.fit.fit(start, _nll, trials, optimizer=optimizer, steps=100,
                              key=jax.random.key(0), filter_spec=spec, patience=5, tol=1e-3,
                              chunk=5, progress=False)  # fmt: skip
    jax.block_until_ready(fit)
    elapsed = time.perf_counter() - t
    params = dict(zip(("k", "B", "slope", "leak", "t0"), map(float, fields(fit)), strict=True))
    return params, elapsed, float(_nll(fit, trials)), history.steps_taken


def _pyddm(python, *args):
    """Run ``_gddm_pyddm.py`` in PyDDM's environment; its last stdout line is JSON."""
    out = subprocess.run(
        [python, str(HERE / "_gddm_pyddm.py"), *args], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"PyDDM run failed ({python}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit_pyddm(python, data_path):
    return _pyddm(python, "fit", data_path)


def nll_pyddm(python, data_path, sets):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(sets, f)
    try:
        return _pyddm(python, "nll", data_path, f.name)
    finally:
        os.unlink(f.name)


def nll_fine(rt, choice, coh, sets):
    """NLL of each parameter set on multiscale's fine grid, in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import multiscale as ms

    B = ms.behavior
    solver = B.FokkerPlanck(dt=5e-4, n_x=400, t_max=T_DUR)
    trials = B.Trials(rt=rt, choice=choice, condition=coh)
    return [float(-jax.numpy.sum(model(p, solver).log_density(trials))) for p in sets]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyddm", default=os.environ.get("PYDDM_PYTHON", sys.executable),
                    help="Python of an environment with PyDDM 0.9")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, repeats = (600, 1) if args.quick else (2600, args.repeats)
    rt, choice, coh = simulate(n, seed=0)
    keep = rt <= T_DUR
    rt, choice, coh = rt[keep], choice[keep], coh[keep]
    data_path = tempfile.mktemp(suffix=".npz")
    np.savez(data_path, rt=rt, choice=choice, coh=coh, t_dur=T_DUR, p_outlier=P_OUT)

    ms_runs, py_runs = [], []
    for _ in range(repeats):  # interleaved: multiscale, PyDDM, multiscale, PyDDM, ...
        ms_runs.append(fit_multiscale(rt, choice, coh))
        py_runs.append(fit_pyddm(args.pyddm, data_path))
    ms_p, _, ms_loss, ms_steps = ms_runs[-1]
    py_p, py_loss = py_runs[-1]["params"], py_runs[-1]["loss"]
    sets = [TRUE, ms_p, py_p]
    fine = nll_fine(rt, choice, coh, sets)
    py_fine = nll_pyddm(args.pyddm, data_path, sets)
    os.unlink(data_path)

    import jax

    ms_times = [r[1] for r in ms_runs]
    py_times = [r["seconds"] for r in py_runs]
    warm = statistics.median(ms_times[1:]) if len(ms_times) > 1 else ms_times[0]
    py_med = statistics.median(py_times)
    names = ("k", "B", "slope", "leak", "t0")
    rows = [
        ("true parameters", TRUE, None),
        ("multiscale (damped Newton, float32)", ms_p, ms_times),
        (f"PyDDM {py_runs[-1]['version']} (differential evolution)", py_p, py_times),
    ]
    lines = [
        "## Generalised DDM maximum-likelihood fit (`bench_gddm.py`)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"jax {jax.__version__} on {jax.default_backend()}; Python {sys.version.split()[0]}. "
        f"Data: {rt.size} simulated trials (of {n}; RT <= {T_DUR} s kept) from a leaky GDDM with "
        "a linearly collapsing bound, six coherences, 2 % uniform contaminant "
        f"(true: {', '.join(f'{k} = {v}' for k, v in TRUE.items())}). Five parameters fitted; "
        f"{repeats} interleaved runs of each program. NLL (nats; RT density in 1/s) of each "
        "estimate on two fine grids: multiscale's (400 intervals, dt = 0.5 ms, float64) and "
        "PyDDM's (dx = dt = 0.001).",
        "",
        "| | k | B | slope | leak | t0 (s) | NLL, multiscale fine | NLL, PyDDM fine | "
        "wall time per fit (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, p, times), a, b in zip(rows, fine, py_fine, strict=True):
        t = "" if times is None else ", ".join(f"{x:.1f}" for x in times)
        lines.append(
            f"| {name} | "
            + " | ".join(f"{p[k]:.3f}" for k in names)
            + f" | {a:.3f} | {b:.3f} | {t} |"
        )
    lines += [
        "",
        f"Own losses at the estimates: multiscale {ms_loss:.3f} (default grid, {ms_steps} Newton "
        f"steps), PyDDM {py_loss:.3f} (its default grid).",
        (
            f"multiscale's first run includes compilation ({ms_times[0]:.1f} s); later runs "
            f"{warm:.1f} s. Ratio PyDDM / multiscale (medians, warm): {py_med / warm:.1f}x; "
            f"including compilation: {py_med / ms_times[0]:.1f}x."
            if len(ms_times) > 1
            else f"One run of each, multiscale's with compilation ({ms_times[0]:.1f} s): no "
            f"warm timing. Ratio PyDDM / multiscale: {py_med / ms_times[0]:.1f}x."
        ),
        "Timings are wall times on a machine shared with other jobs; read them as the order "
        "of magnitude.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        out = HERE / "results" / "gddm.md"
        out.write_text(text)


if __name__ == "__main__":
    main()
