"""Bayesian DDM fits, multiscale (BlackJAX NUTS) against HSSM 0.5 (PyMC NUTS, numpyro NUTS).

Workloads (one run, one machine, every fit in a fresh process, interleaved round by round
-- A B C ... A B C ..., the order rotated each round -- so that machine load affects all
alike):

- **single**: one subject, trials simulated by ``ms.behavior.ddm_simulate`` from
  v = 1.0 /s, a = 1.5, z = 0.55, t0 = 0.3 s (unit noise; no contaminant), at
  ``--trials`` sizes (500 and 2000). Free: v, a, z, t0 with priors v ~ N(0, 2^2),
  a ~ U(0.3, 3), z ~ U(0.1, 0.9), t0 ~ U(0, 0.6) s in both tools; no lapse mixture
  (multiscale ``p_outlier=0.0``, HSSM ``p_outlier=None``).
- **hier**: the shape of HSSM's Cavanagh example (``--subjects`` 14 subjects x
  ``--subject-trials`` 285 trials), each subject with its own drift, boundary and
  non-decision time, v_s = 1.0 + 0.3 e, a_s = 1.5 exp(0.2 e), t0_s = 0.3 exp(0.1 e)
  (independent e ~ N(0, 1)), and z = 0.55 shared. Fitted model in both tools:
  ``v ~ 1 + (1|subj_idx)`` (identity link), ``a ~ 1 + (1|subj_idx)`` and
  ``t0 ~ 1 + (1|subj_idx)`` (log links), non-centred subject effects (standardised offsets
  ~ N(0, 1) times an SD ~ HalfNormal(0.5) on the link scale), intercepts v ~ N(0, 2^2),
  log a ~ N(0, 1), log t0 ~ N(log 0.2, 1); z ~ U(0.1, 0.9) shared (HSSM's "ddm" has z
  free; multiscale ``ms.data.regression`` with these priors, HSSM's formulas with bambi's
  group-specific priors).

Sampling: 4 chains x 500 warmup x 500 draws (``--chains``, ``--warmup``, ``--draws``;
the hierarchical comparison of RESULTS.md used 1000 + 1000).
multiscale adapts a dense mass matrix for one subject and a diagonal one for the hierarchy
(``--ms-mass auto``), runs its chains one after another (``--ms-chains sequential``;
``diag`` / ``vectorized`` give the former setting) and samples the subjects' intercepts
centred (``--ms-hier centred``: ``sample_posterior(centred=True)``, the same posterior;
``non-centred`` samples bambi's standardised offsets as HSSM does): on one core, chains
under ``vmap`` move in lockstep, so each NUTS step costs the longest trajectory among them.
HSSM keeps its defaults (diagonal mass matrix; PyMC runs
chains in 2 processes, ``--cores 2``).
multiscale is timed twice in one process (the first call includes tracing and XLA
compilation); HSSM's ``sample`` includes its own compilation (PyTensor's C code for PyMC,
JAX for numpyro) and is timed once per process, its model build separately. ESS per
second is the minimum bulk ESS (Vehtari et al. 2021, ArviZ) over the reported parameters
(one subject: v, a, z, t0; hier: the three intercepts and subject SDs, and z) divided by
the sampling wall (or CPU) time; the report also gives the median bulk ESS and, for each
posterior mean, its Monte Carlo SE sd / sqrt(bulk ESS).

HSSM comes from the ``bench`` extra in a separate interpreter (Python >= 3.12), given by
``--peers-python`` or ``MULTISCALE_PEERS_PYTHON``; see ``benchmarks/README.md``.

Run: ``python benchmarks/bench_bayes.py [--quick] [--rounds N]``; writes
benchmarks/results/bayes.md (and bayes.json as results arrive).
"""

import argparse
import json
import math
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
PEER = HERE / "peers" / "ddm_hssm.py"
DEFAULT_PEERS_PYTHON = "/work/venvs/bench312/bin/python"
TRUE = dict(v=1.0, a=1.5, z=0.55, t0=0.3)
# subject spread: SD of v, of log a, of log t0 across subjects (hier workload)
SPREAD = dict(v=0.3, a=0.2, t0=0.1)
# multiscale names -> the names printed in the report (HSSM's names in _HSSM_NAMES)
SINGLE = ("v", "a", "z", "t0")
HIER = (
    "v:Intercept", "v|subj_idx:sd", "a:Intercept", "a|subj_idx:sd",
    "t0:Intercept", "t0|subj_idx:sd", "z",
)  # fmt: skip
_HSSM_HALF_A = ("a", "a:Intercept")
_BASELINE = "multiscale, diagonal mass, vectorised chains"
_HSSM_NAMES = (
    {"t0": "t"}
    | {f"{p}:Intercept": f"{h}_Intercept" for p, h in (("v", "v"), ("a", "a"), ("t0", "t"))}
    | {
        f"{p}|subj_idx:sd": f"{h}_1|subj_idx_sigma"
        for p, h in (("v", "v"), ("a", "a"), ("t0", "t"))
    }
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one round, 500 trials, 200 + 200 steps")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--trials", default="500,2000", help="comma-separated single-subject sizes")
    p.add_argument("--subjects", type=int, default=14, help="hierarchical subjects (0: skip)")
    p.add_argument("--subject-trials", type=int, default=285)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--samplers", default="pymc,numpyro", help="HSSM samplers ('' for no HSSM)")
    p.add_argument(
        "--ms-mass",
        choices=("auto", "dense", "diag"),
        default="auto",
        help="multiscale mass matrix (auto: dense for one subject, diagonal for hier)",
    )
    p.add_argument(
        "--ms-hier",
        choices=("centred", "non-centred"),
        default="centred",
        help="multiscale's parameterisation of the subject intercepts (hier)",
    )
    p.add_argument(
        "--ms-chains",
        choices=("sequential", "vectorized"),
        default="sequential",
        help="multiscale chains one after another or under vmap",
    )
    p.add_argument(
        "--ms-baseline",
        action="store_true",
        help="also run multiscale with a diagonal mass matrix and vectorised chains",
    )
    p.add_argument("--no-multiscale", action="store_true", help="run the HSSM fits only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--peers-python", default=os.environ.get("MULTISCALE_PEERS_PYTHON", DEFAULT_PEERS_PYTHON)
    )
    p.add_argument("--timeout", type=float, default=1200.0, help="s per fit process")
    p.add_argument("--out", default=str(HERE / "results" / "bayes.md"))
    p.add_argument("--render-only", action="store_true", help="report from the .json only")
    p.add_argument(
        "--merge", nargs="*", default=[], help="with --render-only: more .json files to add"
    )
    p.add_argument("--worker", choices=("single", "hier"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    try:
        a.trials = [int(x) for x in a.trials.split(",") if x.strip()]
    except ValueError:
        p.error(f"--trials must be comma-separated integers, got {a.trials!r}")
    if a.rounds < 1 or any(n < 10 for n in a.trials):
        p.error("--rounds must be >= 1 and every --trials size >= 10")
    if min(a.chains, a.warmup, a.draws) < 1 or a.subjects < 0 or a.subject_trials < 10:
        p.error("--chains, --warmup, --draws must be >= 1, --subject-trials >= 10")
    a.samplers = [s.strip() for s in a.samplers.split(",") if s.strip()]
    if a.quick:
        a.rounds, a.trials, a.warmup, a.draws = 1, a.trials[:1], 200, 200
    return a


# --------------------------------------------------------------------------- data
def make_data(kind: str, n: int, a, path: pathlib.Path) -> None:
    """Simulate a data set and write it as an HSSM-style CSV (rt, response = +-1, subj_idx)."""
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    import pandas as pd

    import multiscale as ms

    key = jr.key(a.seed + 1000 * n + (7 if kind == "hier" else 0))
    if kind == "single":
        m = ms.behavior.DDM(**TRUE, p_outlier=0.0)
        t = ms.behavior.ddm_simulate(m, jnp.zeros(n), key=key)
        rt, ch, subj = np.asarray(t.rt), np.asarray(t.choice), np.zeros(n, int)
    else:
        k_e, k_t = jr.split(key)
        e = np.asarray(jr.normal(k_e, (3, a.subjects)))
        v_s = TRUE["v"] + SPREAD["v"] * e[0]
        a_s = TRUE["a"] * np.exp(SPREAD["a"] * e[1])
        t_s = TRUE["t0"] * np.exp(SPREAD["t0"] * e[2])
        rt, ch, subj = [], [], []
        for s, ki in enumerate(jr.split(k_t, a.subjects)):
            p = dict(v=float(v_s[s]), a=float(a_s[s]), z=TRUE["z"], t0=float(t_s[s]))
            m = ms.behavior.DDM(**p, p_outlier=0.0)
            t = ms.behavior.ddm_simulate(m, jnp.zeros(a.subject_trials), key=ki)
            rt.append(np.asarray(t.rt))
            ch.append(np.asarray(t.choice))
            subj.append(np.full(a.subject_trials, s))
        rt, ch, subj = map(np.concatenate, (rt, ch, subj))
    df = pd.DataFrame({"rt": rt.astype(float), "response": np.where(ch == 1, 1, -1)})
    df["subj_idx"] = subj
    df.to_csv(path, index=False)


# --------------------------------------------------------------------------- multiscale
def _ms_problem(kind: str, data: str):
    import jax.numpy as jnp
    import pandas as pd

    import multiscale as ms
    from multiscale.fit import Normal, Prior, Uniform

    df = pd.read_csv(data)
    start = ms.behavior.DDM(v=0.5, a=1.0, z=0.5, t0=0.2, p_outlier=0.0)
    shared = [
        Prior(lambda m: m.v, Normal(0.0, 2.0), name="v"),
        Prior(lambda m: m.z, Uniform(0.1, 0.9), name="z"),
        Prior(lambda m: m.t0, Uniform(0.0, 0.6), name="t0"),
    ]
    if kind == "single":
        trials = ms.behavior.Trials(
            rt=jnp.asarray(df.rt.to_numpy()), choice=jnp.asarray((df.response == 1).to_numpy())
        )
        priors = shared + [Prior(lambda m: m.a, Uniform(0.3, 3.0), name="a")]
        return start, trials, priors
    return hier_problem(df)


def hier_problem(df):
    """The hierarchical model, trials and priors of the ``hier`` workload (module docstring)."""
    import math

    import multiscale as ms
    from multiscale.fit import HalfNormal, Normal, Prior, Uniform

    # t0 starts low (0.1 s) so that the chains' jittered starts stay below every
    # subject's fastest RT
    start = ms.behavior.DDM(v=0.5, a=1.0, z=0.5, t0=0.1, p_outlier=0.0)
    links = {"v": ms.behavior.Identity(), "a": ms.behavior.Log(), "t0": ms.behavior.Log()}
    model, trials, _ = ms.data.regression(
        start, [f"{p} ~ 1 + (1|subj_idx)" for p in links], df, links=links
    )
    intercept = {"v": Normal(0.0, 2.0), "a": Normal(0.0, 1.0), "t0": Normal(math.log(0.2), 1.0)}
    priors = [Prior(lambda m: m.base.z, Uniform(0.1, 0.9), name="z")]
    for p in links:
        key = f"{p}|subj_idx"
        priors += [
            Prior(lambda m, p=p: m.coefficients[f"{p}:Intercept"], intercept[p],
                  name=f"{p}:Intercept"),
            Prior(lambda m, k=key: m.offsets[k], Normal(0.0, 1.0), name=key),
            Prior(lambda m, k=key: m.sds[f"{k}:sd"], HalfNormal(0.5), name=f"{key}:sd"),
        ]  # fmt: skip
    return model, trials, priors


def multiscale_worker(kind: str, a) -> dict:
    import jax
    import jax.random as jr

    import multiscale as ms

    model, trials, priors = _ms_problem(kind, a.data)
    names = SINGLE if kind == "single" else HIER
    dense = a.ms_mass == "dense" or (a.ms_mass == "auto" and kind == "single")
    calls = []
    for i in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        post = ms.fit.sample_posterior(
            model, trials, priors, key=jr.key(a.seed + i), chains=a.chains,
            warmup=a.warmup, draws=a.draws, predictive=None,
            dense_mass=dense, chain_method=a.ms_chains,
            centred=kind == "hier" and a.ms_hier == "centred",
        )  # fmt: skip
        calls.append((time.perf_counter() - t0, post, time.process_time() - c0))
    post = calls[1][1]
    ess, rhat = post.ess, post.r_hat
    x = post.idata.posterior
    return {
        "engine": f"multiscale {ms.__version__}",
        "workload": kind,
        "trials": int(trials.rt.shape[0]),
        "first_s": calls[0][0],
        "sample_s": calls[1][0],
        "first_cpu_s": calls[0][2],
        "sample_cpu_s": calls[1][2],
        "min_ess_bulk": min(ess[n][0] for n in names),
        "median_ess_bulk": statistics.median(ess[n][0] for n in names),
        "ess_bulk": {n: ess[n][0] for n in names},
        "max_rhat": max(rhat[n] for n in names),
        "divergences": post.divergences,
        "means": {n: float(x[n].mean()) for n in names},
        "sds": {n: float(x[n].std()) for n in names},
        "dtype": str(trials.rt.dtype),
        "sampler": f"{'dense' if dense else 'diag'} mass matrix, {a.ms_chains} chains"
        + (f", {a.ms_hier} subject intercepts" if kind == "hier" else ""),
        "steps_per_draw": float(post.idata.sample_stats["n_steps"].mean()),
        "versions": {m: __import__(m).__version__ for m in ("jax", "blackjax", "arviz")},
        "backend": jax.default_backend(),
    }


# --------------------------------------------------------------------------- driver
def _engines(a) -> dict:
    """label -> command (a list) for one fit, per workload tag."""
    me = [sys.executable, str(pathlib.Path(__file__).resolve())]
    steps = ["--chains", str(a.chains), "--warmup", str(a.warmup), "--draws", str(a.draws)]
    mine = ["--ms-mass", a.ms_mass, "--ms-chains", a.ms_chains, "--ms-hier", a.ms_hier]
    out = {}
    for tag, kind in [(f"single-{n}", "single") for n in a.trials] + (
        [("hier", "hier")] if a.subjects else []
    ):
        data = str(a.tmp / f"{tag}.csv")
        eng = (
            {}
            if a.no_multiscale
            else {"multiscale": me + ["--worker", kind, "--data", data, *steps, *mine]}
        )
        if a.ms_baseline and not a.no_multiscale:
            base = ["--ms-mass", "diag", "--ms-chains", "vectorized", "--ms-hier", "non-centred"]
            eng[_BASELINE] = me + ["--worker", kind, "--data", data, *steps, *base]
        for s in a.samplers:
            label = "HSSM, PyMC NUTS (default)" if s == "pymc" else f"HSSM, {s} NUTS"
            eng[label] = [a.peers_python, str(PEER), "--data", data, "--workload", kind,
                          "--sampler", s, *steps]  # fmt: skip
        out[tag] = (kind, data, eng)
    return out


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(cmd: list[str], a) -> dict:
    t0, c0 = time.perf_counter(), _cpu_children()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {a.timeout:.0f} s"}
    except OSError as e:
        return {"error": str(e)}
    lines = [ln for ln in r.stdout.strip().splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {r.returncode}: {tail[:300]}"}
    out = json.loads(lines[-1])
    out["process_wall_s"] = time.perf_counter() - t0
    out["process_cpu_s"] = _cpu_children() - c0
    return out


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


def main(argv=None) -> str:
    a = parse_args(argv)
    if a.worker:
        print(json.dumps(multiscale_worker(a.worker, a)))
        return ""
    out = pathlib.Path(a.out)
    store = out.with_suffix(".json")
    if a.render_only:
        raw = json.loads(store.read_text())
        for extra in a.merge:
            more = json.loads(pathlib.Path(extra).read_text())
            for tag in more["results"]:
                raw.setdefault("tag_settings", {})[tag] = more["settings"]
            for tag, res in more["results"].items():
                for label, runs in res.items():
                    raw["results"].setdefault(tag, {}).setdefault(label, []).extend(runs)
        if a.merge:
            store.write_text(json.dumps(raw, indent=1))
    else:
        a.tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench_bayes_"))
        engines = _engines(a)
        raw = {"started": time.strftime("%Y-%m-%d %H:%M"), "load_before": _load(),
               "machine": _machine(), "settings": [a.chains, a.warmup, a.draws],
               "results": {}}  # fmt: skip
        for tag, (kind, data, _) in engines.items():
            n = int(tag.split("-")[1]) if kind == "single" else 0
            make_data(kind, n, a, pathlib.Path(data))
        for r in range(a.rounds):
            for tag, (_, _, eng) in engines.items():
                labels = list(eng)
                order = labels[r % len(labels) :] + labels[: r % len(labels)]
                for label in order:
                    res = _run(eng[label], a)
                    raw["results"].setdefault(tag, {}).setdefault(label, []).append(res)
                    raw["load_after"] = _load()
                    store.write_text(json.dumps(raw, indent=1))
                    print(f"[{tag}] round {r} {label}: {_summary(res)}", flush=True)
    text = render(raw)
    out.write_text(text)
    print(text)
    return text


def _summary(res: dict) -> str:
    if "error" in res:
        return res["error"]
    first = f" (first call {res['first_s']:.1f} s)" if "first_s" in res else ""
    return (
        f"{res['sample_s']:.1f} s{first}, min bulk ESS {res['min_ess_bulk']:.0f}, "
        f"R-hat {res['max_rhat']:.3f}, {res['divergences']} divergences"
    )


def _med(runs: list[dict], key: str):
    v = [x[key] for x in runs if key in x]
    return statistics.median(v) if v else None


def _f(x, d=1) -> str:
    return "-" if x is None else f"{x:.{d}f}"


def render(raw: dict) -> str:
    c, w, d = raw["settings"]
    lines = [
        f"Machine: {raw['machine']}; shared with other jobs (load average {raw['load_before']} "
        f"before, {raw.get('load_after', '?')} after). Started {raw['started']}. "
        f"{c} chains x {w} warmup x {d} draws; fits interleaved round by round, order rotated; "
        "medians over rounds.",
        "",
    ]
    for tag, res in raw["results"].items():
        ms_runs = res.get("multiscale", [])
        ms_t = _med(ms_runs, "sample_s")
        cw = raw.get("tag_settings", {}).get(tag, raw["settings"])
        lines += [f"**{tag}** ({cw[0]} chains x {cw[1]} warmup x {cw[2]} draws)", ""]
        lines += [
            "| engine | sampling, wall (s) | sampling, CPU (s) | first call / build, wall (s) | "
            "min bulk ESS | median bulk ESS | ESS / wall s | ESS / CPU s | max R-hat | "
            "divergences | wall / multiscale | CPU / multiscale | runs |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        ms_cpu = _med(ms_runs, "sample_cpu_s")
        for label, runs in res.items():
            ok = [x for x in runs if "error" not in x]
            if not ok:
                lines.append(f"| {label} | failed: {runs[-1].get('error', '?')} |" + " |" * 11)
                continue
            t, cpu = _med(ok, "sample_s"), _med(ok, "sample_cpu_s")
            rate = statistics.median(x["min_ess_bulk"] / x["sample_s"] for x in ok)
            crate = statistics.median(x["min_ess_bulk"] / x["sample_cpu_s"] for x in ok)
            if label in ("multiscale", _BASELINE):
                first = f"{_f(_med(ok, 'first_s'))} (compile + sample)"
                ratio = f"{t / ms_t:.1f}x" if ms_t else "-"
                cratio = f"{cpu / ms_cpu:.1f}x" if ms_cpu else "-"
            else:
                first = f"{_f(_med(ok, 'build_s'))} (build)"
                ratio = f"{t / ms_t:.1f}x" if ms_t else "-"
                cratio = f"{cpu / ms_cpu:.1f}x" if ms_cpu else "-"
            lines.append(
                f"| {label} | {_f(t)} | {_f(cpu)} | {first} | "
                f"{_f(_med(ok, 'min_ess_bulk'), 0)} | {_f(_median_ess(ok), 0)} | "
                f"{_f(rate, 2)} | {_f(crate, 2)} | "
                f"{_f(max(x['max_rhat'] for x in ok), 3)} | "
                f"{max(x['divergences'] for x in ok)} | {ratio} | {cratio} | {len(ok)} |"
            )
        lines += ["", _means_table(res), ""]
    lines.append(_versions(raw))
    return "\n".join(lines) + "\n"


def _median_ess(runs: list[dict]):
    """Median over runs of the median bulk ESS over the reported parameters."""
    v = [statistics.median(x["ess_bulk"].values()) for x in runs if x.get("ess_bulk")]
    return statistics.median(v) if v else None


def _means_table(res: dict) -> str:
    labels = [k for k, v in res.items() if any("means" in x for x in v)]
    if not labels:
        return ""
    names = list(next(x for x in res[labels[0]] if "means" in x)["means"])
    if not labels[0].startswith("multiscale"):
        back = {v: k for k, v in _HSSM_NAMES.items()}
        names = [back.get(n, n) for n in names]
    head = "| parameter | truth | " + " | ".join(f"{k} mean +- MCSE (sd)" for k in labels) + " |"
    rows = [head, "|---" * (len(labels) + 2) + "|"]
    truth = {"v": TRUE["v"], "a": TRUE["a"], "z": TRUE["z"], "t0": TRUE["t0"]}
    # the hier workload's population values (link scale; module docstring)
    truth |= {"v:Intercept": TRUE["v"], "a:Intercept": round(math.log(TRUE["a"]), 4),
              "t0:Intercept": round(math.log(TRUE["t0"]), 4)}  # fmt: skip
    truth |= {f"{p}|subj_idx:sd": SPREAD[p] for p in SPREAD}
    for n in names:
        cells = []
        for k in labels:
            last = [x for x in res[k] if "means" in x][-1]
            key = n if k.startswith("multiscale") else _HSSM_NAMES.get(n, n)
            m, s = last["means"].get(key), last["sds"].get(key)
            ess = last.get("ess_bulk", {}).get(key)
            if not k.startswith("multiscale") and m is not None and n in _HSSM_HALF_A:
                # HSSM's "ddm" has bounds at +-a (ssm-simulators), so its a is half the
                # separation: shown on multiscale's scale (x 2, or + log 2 on the log link).
                m, s = (2 * m, 2 * s) if n == "a" else (m + math.log(2), s)
            # Monte Carlo SE of the mean: sd / sqrt(bulk ESS)
            mcse = f" +- {s / math.sqrt(ess):.4f}" if ess and m is not None else ""
            cells.append("-" if m is None else f"{m:.4f}{mcse} ({s:.4f})")
        cell = n.replace("|", "\\|")  # a pipe in a name would split the table cell
        rows.append(f"| {cell} | {truth.get(n, '-')} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _versions(raw: dict) -> str:
    seen = {}
    for res in raw["results"].values():
        for label, runs in res.items():
            for x in runs:
                if "versions" in x:
                    extra = x.get("floatX") or x.get("dtype")
                    if "sampler" in x:
                        extra = f"{extra}, {x['sampler']}"
                    seen[label] = (
                        f"{x['engine']}, "
                        + ", ".join(f"{k} {v}" for k, v in x["versions"].items())
                        + (f", {extra}" if extra else "")
                    )
    return "Versions: " + "; ".join(f"{k}: {v}" for k, v in seen.items()) + "."


if __name__ == "__main__":
    main()
