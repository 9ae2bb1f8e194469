"""The five workloads of ``bench_gpu.py``, each through the public API of multiscale.

Each ``run_*_workload(sizes, report, deadline)`` calls ``report(result)`` with its result
dict whenever it grows, so that a run stopped at its budget keeps what finished, and
skips optional repeats that would end after ``deadline`` (``time.monotonic()`` seconds).
Sizes, units and references: ``bench_gpu.py``'s docstring.
"""

import math
import os
import statistics
import time

COHERENCES = (0.0, 0.032, 0.064, 0.128, 0.256, 0.512)
GOAL_TRIAL_STEPS_PER_S = 1e10  # one H100
SYNTHETIC_DDM = dict(k=10.0, a=1.4, t0=0.3, p_outlier=0.02, rt_max=2.0)


def device_info() -> dict:
    """The first JAX device: kind (e.g. "NVIDIA H100 80GB HBM3"), platform, memory for XLA."""
    import jax

    device = jax.devices()[0]
    info = {
        "device_kind": device.device_kind,
        "platform": device.platform,
        "device_count": jax.device_count(),
        "jax_version": jax.__version__,
    }
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        info["memory_limit_gb"] = stats["bytes_limit"] / 1e9
    return info


def peak_memory_gb() -> float | None:
    """Peak bytes in use on the first device, GB (None on CPU, which does not count them)."""
    import jax

    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return stats["peak_bytes_in_use"] / 1e9
    return None


def _timed(f, *args):
    import jax

    t = time.perf_counter()
    out = jax.block_until_ready(f(*args))
    return out, time.perf_counter() - t


def run_trials_workload(sizes, report, deadline):
    """Decision-circuit trials in one call; trial-steps per second after compilation."""
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    coherence = jnp.asarray(COHERENCES)
    n_per = math.ceil(sizes["trials"] / len(COHERENCES))
    protocol = ms.circuit.TrialProtocol(dt=5e-4, t_on=0.5, t1=2.5)
    n_steps = protocol.n_steps
    n_trials = n_per * len(COHERENCES)
    circuit = ms.circuit.WongWang2006()
    readout = ms.behavior.ThresholdReadout()

    def go(i):
        return ms.population.run_trials(
            circuit, coherence, key=jr.key(i), n_trials=n_per, readout=readout, protocol=protocol
        )

    result = {"trials": n_trials, "steps_per_trial": n_steps, "dt_s": protocol.dt,
              "t1_s": protocol.t1}  # fmt: skip
    out, first = _timed(go, 0)
    result["first_call_s"] = first
    report(result)
    times = []
    for i in range(sizes["trial_repeats"]):
        if times and time.monotonic() + max(times) > deadline:
            break
        out, t = _timed(go, i + 1)
        times.append(t)
        run_s = statistics.median(times)
        result.update(
            run_s=run_s,
            repeats=len(times),
            trial_steps_per_s=n_trials * n_steps / run_s,
            goal_trial_steps_per_s=GOAL_TRIAL_STEPS_PER_S,
        )
        report(result)
    choice = np.asarray(out.readout.choice)  # (coherences, trials)
    decided = choice >= 0
    result["p_decided"] = [float(x) for x in decided.mean(axis=1)]
    result["p_correct"] = [
        float((c == 0).sum() / max(d.sum(), 1)) for c, d in zip(choice, decided, strict=True)
    ]
    result["diverged"] = int(np.count_nonzero(np.asarray(out.result)))
    result["coherence"] = list(COHERENCES)
    report(result)


def run_sweep_workload(sizes, report, deadline):
    """A decision-circuit parameter sweep, chunked by the sweep's memory planner."""
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    n = sizes["sweep_sets"]
    summary = ms.sweep.DecisionSummary(coherence=0.128, n_trials=sizes["sweep_trials"])
    design = ms.sweep.LatinHypercube(
        {lambda m: m.nmda.tau_decay: (0.08, 0.14), lambda m: m.J_N11: (0.25, 0.27)},
        n,
        key=jr.key(0),
    )
    chunks = []

    def go():
        chunks.clear()
        return ms.sweep.sweep(
            summary,
            ms.circuit.WongWang2006(),
            design,
            key=jr.key(1),
            progress=False,
            callback=lambda c, total: chunks.append(total),
        )

    steps = summary.protocol.n_steps
    result = {"sets": n, "trials_per_set": sizes["sweep_trials"], "steps_per_trial": steps}
    t = time.perf_counter()
    ds = go()
    result["first_call_s"] = time.perf_counter() - t
    result["chunks"] = chunks[-1] if chunks else None
    report(result)
    if time.monotonic() + result["first_call_s"] < deadline:
        t = time.perf_counter()
        ds = go()
        run_s = time.perf_counter() - t
        result.update(
            run_s=run_s,
            sets_per_s=n / run_s,
            trial_steps_per_s=n * sizes["sweep_trials"] * steps / run_s,
        )
        report(result)
    if result["chunks"] and time.monotonic() + result["first_call_s"] < deadline:
        # The same sweep with the planned chunk size given: without the planner's compile.
        chunk = -(-n // result["chunks"])
        t = time.perf_counter()
        ms.sweep.sweep(summary, ms.circuit.WongWang2006(), design, key=jr.key(1),
                       progress=False, chunk_size=chunk)  # fmt: skip
        result.update(chunk_size=chunk, run_given_chunk_s=time.perf_counter() - t)
    acc = np.asarray(ds["accuracy"].values, float)
    result["failed"] = int(ds.attrs["n_failed"])
    result["mean_accuracy"] = float(np.nanmean(acc)) if np.isfinite(acc).any() else None
    report(result)


def fit_data(n: int, data: str | None):
    """``(Trials, source)``: ``n`` Roitman & Shadlen trials from ``data``, else simulated."""
    import numpy as np
    import pandas as pd

    import multiscale as ms

    if data and os.path.isfile(data):
        df = pd.read_csv(data)
        df = df.sample(min(n, len(df)), random_state=0)
        source = f"Roitman & Shadlen (2002) trials from {os.path.basename(data)}, seed 0"
    else:
        df = simulate_ddm(n, np.random.default_rng(0), **SYNTHETIC_DDM)
        source = "simulated proportional-rate DDM " + ", ".join(
            f"{k} = {v}" for k, v in SYNTHETIC_DDM.items()
        )
    trials, _ = ms.data.load_trials(df, condition="coh")
    return trials, source


def simulate_ddm(n, rng, *, k, a, t0, p_outlier, rt_max, dt=1e-4):
    """Trials of a proportional-rate DDM (drift k c, unit noise, start a/2) by Euler steps.

    Columns ``rt`` (s), ``coh`` (fraction) and ``correct`` (1 = upper boundary, the
    direction the drift favours); a fraction ``p_outlier`` of the trials is replaced by a
    contaminant (RT uniform on [0, rt_max], either response); decisions after ``rt_max``
    are dropped, as an experiment's deadline would drop them.
    """
    import numpy as np
    import pandas as pd

    coh = np.resize(np.asarray(COHERENCES), n)
    x = np.full(n, a / 2)
    rt = np.full(n, np.inf)
    correct = np.zeros(n, int)
    alive = np.arange(n)
    i = 0
    while alive.size and (i + 1) * dt + t0 <= rt_max:
        i += 1
        x[alive] += k * coh[alive] * dt + math.sqrt(dt) * rng.standard_normal(alive.size)
        up, down = x[alive] >= a, x[alive] <= 0
        done = up | down
        rt[alive[done]] = i * dt + t0
        correct[alive[up]] = 1
        alive = alive[~done]
    out = rng.random(n) < p_outlier
    rt[out] = rng.uniform(0, rt_max, out.sum())
    correct[out] = rng.integers(0, 2, out.sum())
    keep = np.isfinite(rt)
    return pd.DataFrame(dict(rt=rt[keep], coh=coh[keep], correct=correct[keep]))


def run_ddm_fit_workload(sizes, report, deadline, data=None):
    """The proportional-rate DDM fit (damped Newton and Laplace SEs), twice."""
    import jax.random as jr

    import multiscale as ms

    trials, source = fit_data(sizes["fit_trials"], data)
    result = {"fit_trials": int(trials.n_trials), "data": source}
    t = time.perf_counter()
    model, se, _, hist = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
    result["first_call_s"] = time.perf_counter() - t
    report(result)
    if time.monotonic() + result["first_call_s"] < deadline:
        t = time.perf_counter()
        model, se, _, hist = ms.fit.fit_ddm_trials(trials, key=jr.key(0))
        result["run_s"] = time.perf_counter() - t
    result["parameters"] = {p: float(getattr(model, p)) for p in ("k", "a", "t0")}
    result["se"] = {p: float(getattr(se, p)) for p in ("k", "a", "t0")}
    result["converged"] = bool(hist.converged)
    result["steps_taken"] = int(hist.steps_taken)
    report(result)


def run_circuit_fit_workload(sizes, report, deadline, data=None):
    """The trial-level circuit fit with the command line's recipe, at the given sizes."""
    import equinox as eqx
    import jax.random as jr
    import numpy as np

    import multiscale as ms

    trials, source = fit_data(sizes["fit_trials"], data)
    model = ms.fit.default_circuit_behavior()
    rt_max = max(float(model.rt_max), float(np.max(np.asarray(trials.rt))))
    model = eqx.tree_at(lambda m: m.rt_max, model, rt_max)
    options = dict(
        n_paths=sizes["circuit_paths"],
        n_paths_eval=sizes["circuit_eval_paths"],
        steps=sizes["circuit_steps"],
        lbfgs_steps=sizes["circuit_lbfgs"],
        n_starts=sizes["circuit_starts"],
    )
    result = {"fit_trials": int(trials.n_trials), "data": source, **options}
    report(result)
    t = time.perf_counter()
    data = ms.behavior.circuit_trials(trials)
    r = ms.fit.fit_circuit_trials(data, key=jr.key(0), model=model, **options)
    result.update(
        total_s=time.perf_counter() - t,
        optimisation_s=float(r.seconds),
        parameters={k: float(v) for k, v in r.parameters.items()},
        se={k: float(v) for k, v in r.se.items()},
        nll=float(r.nll),
        optimiser_steps=int(r.history.steps_taken),
        converged=bool(r.history.converged),
    )
    report(result)


def run_session_workload(sizes, report, deadline):
    """Learning sessions vmapped over subjects: forward, then value_and_grad."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    import multiscale as ms

    n_trials, n_subjects = sizes["session_trials"], sizes["session_subjects"]
    task = ms.population.reversal_task(
        n_trials, key=jr.key(1), coherence=0.2, reversal_at=n_trials // 2
    )
    readout = ms.behavior.HazardReadout()
    protocol = ms.circuit.TrialProtocol(dt=1e-3, t_on=0.1, t1=1.1)  # 1 s of stimulus
    keys = jr.split(jr.key(2), n_subjects)
    last = max(1, min(100, n_trials // 5))

    def session(params, key):
        eta, gain = params
        learner = ms.population.Learner(
            rule=ms.synapse.RewardModulatedHebb(eta=eta),
            critic=ms.population.RewardPrediction(burst_gain=gain, dip_gain=gain),
        )
        return ms.population.run_session(learner, task, key=key, readout=readout, protocol=protocol)

    def score(params, keys):
        return jnp.mean(jax.vmap(lambda k: session(params, k))(keys).p_correct[:, -last:])

    params = (jnp.asarray(2e-4), jnp.asarray(50.0))
    forward = jax.jit(lambda p, k: jax.vmap(lambda kk: session(p, kk))(k).p_correct)
    grad = jax.jit(jax.value_and_grad(score))
    steps = n_trials * n_subjects * protocol.n_steps
    result = {"session_trials": n_trials, "subjects": n_subjects, "circuit_steps": steps}
    _, result["first_call_s"] = _timed(forward, params, keys)
    report(result)
    _, result["run_s"] = _timed(forward, params, keys)
    result["circuit_steps_per_s"] = steps / result["run_s"]
    report(result)
    if time.monotonic() + 3 * result["first_call_s"] > deadline:
        return
    _, result["grad_first_call_s"] = _timed(grad, params, keys)
    report(result)
    (value, (d_eta, d_gain)), result["grad_run_s"] = _timed(grad, params, keys)
    result.update(
        p_correct_last=float(value),
        last_trials=last,
        d_eta=float(d_eta),
        d_gain=float(d_gain),
    )
    report(result)


RUNNERS = {
    "trials": run_trials_workload,
    "sweep": run_sweep_workload,
    "ddm_fit": run_ddm_fit_workload,
    "circuit_fit": run_circuit_fit_workload,
    "session": run_session_workload,
}
