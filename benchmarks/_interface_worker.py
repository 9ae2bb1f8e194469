"""One timing of the circuit-interface benchmark, in a fresh process (old or new package).

Run by bench_circuit_interface.py with PYTHONPATH pointing at the package to time; prints
one JSON line: the workload, the best of ``--repeats`` warm calls (s) and a checksum.
The same code drives the old API (keywords ``dt``/``t1``, likelihoods in ``ms.fit``) and
the new one (``TrialProtocol``, likelihoods in ``ms.behavior``).
"""

import argparse
import json
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

import multiscale as ms

NEW = hasattr(ms.circuit, "TrialProtocol")
COHERENCE = jnp.array([0.0, 0.032, 0.064, 0.128, 0.256, 0.512])


def _best(f, repeats):
    jax.block_until_ready(f())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(f())
        times.append(time.perf_counter() - t)
    return min(times), out


def trials(n, window, repeats):
    readout = ms.behavior.ThresholdReadout(window=window)
    circuit = ms.circuit.WongWang2006()
    f = lambda: (
        ms.population.run_trials(  # noqa: E731
            circuit, COHERENCE, key=jr.key(0), n_trials=n // COHERENCE.shape[0], readout=readout
        ).readout.rt
    )
    best, rt = _best(f, repeats)
    return best, float(jnp.nanmean(rt))


def _model():
    readout = ms.behavior.HazardReadout(non_decision_time=jnp.asarray(0.3))
    circuit = ms.circuit.WongWang2006(J_A_ext=jnp.asarray(5.2e-4))
    if NEW:
        return ms.behavior.CircuitBehavior(circuit=circuit, readout=readout, ndt_sd=0.05)
    return ms.fit.CircuitBehavior(circuit=circuit, readout=readout, ndt_sd=0.05)


def likelihood(n_paths, mode, repeats):
    lib = ms.behavior if NEW else ms.fit
    model = _model()
    data = lib.sample_circuit_trials(model, COHERENCE[1:], 200, key=jr.key(1))
    keys = jr.split(jr.key(2), n_paths)
    if mode == "fwd_grad1":  # one free parameter
        where = lambda m: m.circuit.J_A_ext  # noqa: E731
    else:
        where = lambda m: (m.circuit.J_A_ext, m.readout.non_decision_time)  # noqa: E731
    if mode == "forward":
        extra = {}
    elif NEW:
        forward = mode.startswith("fwd")
        extra = {"differentiation": ms.ForwardMode() if forward else ms.ReverseMode()}
    else:
        extra = {"forward_mode": mode.startswith("fwd")}

    def nll(x):
        m = eqx.tree_at(where, model, x)
        return -jnp.sum(lib.trial_log_likelihood(m, data, keys, chunk=1024, **extra))

    x = where(model)
    f = jax.jit(nll) if mode == "forward" else jax.jit(jax.value_and_grad(nll))
    best, out = _best(lambda: f(x), repeats)
    value = out if mode == "forward" else out[0]
    return best, float(value)


def circuit_fit(n_paths, repeats):
    """The whole trial-level fit, as a user runs it: one call, compilation included."""
    del repeats  # one fit per process: its compile time is part of what a user waits for
    lib = ms.behavior if NEW else ms.fit
    truth = _model()
    data = lib.sample_circuit_trials(truth, COHERENCE[1:], 120, key=jr.key(1))
    start = eqx.tree_at(
        lambda m: (m.circuit.J_A_ext, m.readout.threshold, m.readout.non_decision_time),
        truth,
        (jnp.asarray(5.2e-4 * 1.15), jnp.asarray(17.0), jnp.asarray(0.25)),
    )
    t = time.perf_counter()
    r = ms.fit.fit_circuit_trials(
        data, key=jr.key(7), model=start, n_paths=n_paths, n_paths_eval=1000, steps=20,
        lbfgs_steps=5, n_starts=4,
    )  # fmt: skip
    jax.block_until_ready(r.nll)
    return time.perf_counter() - t, float(r.nll)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["trials", "likelihood", "fit"])
    p.add_argument("--n", type=int, default=120000)
    p.add_argument("--window", type=float, default=0.05)
    p.add_argument(
        "--mode", default="forward", choices=["forward", "rev_grad", "fwd_grad", "fwd_grad1"]
    )
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.workload == "trials":
        t, check = trials(a.n, a.window, a.repeats)
    elif a.workload == "fit":
        t, check = circuit_fit(a.n, a.repeats)
    else:
        t, check = likelihood(a.n, a.mode, a.repeats)
    print(json.dumps({"seconds": t, "check": check, "new": NEW}))
