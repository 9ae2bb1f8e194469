"""``multiscale demo``: the chain from NMDA kinetics to choices, on data the package carries.

Four steps, each a published model at its own scale, all on the Roitman & Shadlen (2002)
reaction-time data embedded in :mod:`multiscale.data`:

1. **Synapse.** The Graupner & Brunel (2012) calcium rule (cortical set) gives the STDP
   window and its frequency dependence, compared with Sjöström et al. (2001).
2. **Circuit → behavior.** The Wong & Wang (2006) decision circuit, whose NMDA gating
   comes from the synapse scale, is fitted to the monkeys' accuracies and mean RTs
   (stimulus gain, readout threshold and non-decision time; summary likelihood over
   common-random-number noise paths, multi-start Adam then Newton, Fisher standard
   errors; :func:`~multiscale.fit.fit_circuit_summary`). The fitted circuit's psychometric
   (Weibull) and chronometric curves from hard threshold crossings are compared with the
   monkeys'.
3. **The coarsest scale.** Palmer, Huk & Shadlen's (2005) proportional-rate diffusion is
   fitted to the same data with the same summary likelihood (Newton steps through
   ``jax.hessian``), with Laplace standard errors; the two fits are compared by AIC.
4. **Scales linked.** Faster NMDA decay or weaker NMDA recurrence at the synapse changes
   the psychometric threshold and the reaction times.

Figures (PNG; accuracies with 95 % Wilson intervals, 0 % coherence drawn at 0),
``results.csv`` (the summary table) and ``report.md`` go into the output folder (see
:mod:`multiscale.cli._demo_output` for which folders it writes into); the summary table is
printed.
"""

import os
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._demo_figures import figures as draw_figures
from ._demo_output import prepare_out, write_results_csv
from ._run import Outcome, Progress

_HEADER = ("quantity", "multiscale", "reference", "source")


def _synapse_step(fast: bool):
    from ..synapse import gb2012_cortical, stdp_curve

    rule = gb2012_cortical()
    delta_t = jnp.linspace(-0.1, 0.1, 101 if fast else 201)
    ratios = stdp_curve(rule, delta_t, 1.0, 60.0)
    freqs = jnp.asarray([1.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    plus = jax.vmap(lambda f: stdp_curve(rule, jnp.asarray([0.01]), f, 75.0)[0])(freqs)
    minus = jax.vmap(lambda f: stdp_curve(rule, jnp.asarray([-0.01]), f, 75.0)[0])(freqs)
    return dict(rule=rule, delta_t=delta_t, ratios=ratios, freqs=freqs, plus=plus, minus=minus)


def _circuit_fit_step(fast: bool, key):
    from ..data import roitman_shadlen_2002
    from ..fit import SummaryData, fit_circuit_summary

    df = roitman_shadlen_2002()
    n = df["n"].to_numpy(float)
    data = SummaryData(
        coherence=df["coherence"].to_numpy(float),
        n=n,
        n_correct=np.round(df["p_correct"].to_numpy(float) * n),
        mean_rt=df["mean_rt"].to_numpy(float),
    )
    # Fast: fewer noise paths and starts; the estimates are then rougher (more Monte Carlo
    # error), which the report states.
    options = (
        dict(n_paths=16, n_starts=2, steps=40, newton_steps=0, n_paths_eval=64)
        if fast
        else dict(n_paths=64, n_starts=4, steps=150, newton_steps=10, n_paths_eval=256)
    )
    return fit_circuit_summary(data, key=key, **options), options


def _circuit_step(n_trials: int, key, fitted):
    from ..behavior import ThresholdReadout, psychophysics
    from ..data import roitman_shadlen_2002

    data = roitman_shadlen_2002()
    control = fitted.circuit
    variants = {
        "control": control,
        "NMDA tau_decay 90 ms": eqx.tree_at(lambda c: c.nmda.tau_decay, control, 0.09),
        "J_N x 0.97": eqx.tree_at(
            lambda c: (c.J_N11, c.J_N12), control, (0.2609 * 0.97, 0.0497 * 0.97)
        ),
    }
    # The fitted hazard readout's threshold and non-decision time carry over to the hard
    # threshold readout. Common random numbers: every variant sees the same noise.
    t_nd = float(fitted.readout.non_decision_time)
    readout = ThresholdReadout(threshold=fitted.readout.threshold, non_decision_time=t_nd)
    results = {
        name: psychophysics(circuit, key=key, n_trials=n_trials, readout=readout)
        for name, circuit in variants.items()
    }
    return dict(data=data, results=results, t_nd=t_nd, n_trials=n_trials)


def _ddm_step():
    from ..fit import fit_proportional_rate_summary

    model, se, nll = fit_proportional_rate_summary(key=jr.key(0))
    return dict(model=model, se=se, nll=nll)


def _rows(syn, circ, ddm, cfit) -> list[tuple[str, str, str, str]]:
    """(quantity, multiscale, published or data, source) rows of the summary table."""
    data = circ["data"]
    control = circ["results"]["control"]
    ratio = np.asarray(syn["ratios"])
    dts = np.asarray(syn["delta_t"])
    rows = [
        (
            "GB2012 cortical: ratio at +10 ms, 1 Hz (60 pairs)",
            f"{ratio[np.argmin(np.abs(dts - 0.01))]:.3f}",
            "potentiation (> 1)",
            "Graupner & Brunel 2012 Fig. 2",
        ),
        (
            "GB2012 cortical: ratio at +10 / -10 ms, 50 Hz",
            f"{float(syn['plus'][-1]):.2f} / {float(syn['minus'][-1]):.2f}",
            "both > 1 (Sjöström: LTP)",
            "Sjöström et al. 2001",
        ),
        (
            "fitted circuit: Weibull alpha (hard readout)",
            f"{100 * float(control.weibull.alpha):.2f} %",
            "7.2 % (model), 7.4 % (monkeys)",
            "Wong & Wang 2006; Roitman & Shadlen 2002",
        ),
        (
            "fitted circuit: Weibull beta",
            f"{float(control.weibull.beta):.2f}",
            "1.25 (model), 1.3 (monkeys)",
            "Wong & Wang 2006",
        ),
    ]
    for i in (0, 2, 5):
        c = float(data["coherence"][i])
        rows.append(
            (
                f"fitted circuit: mean correct RT at {100 * c:.1f} %",
                f"{1e3 * float(control.summary.mean_rt_correct[i]):.0f} ms",
                f"{1e3 * float(data['mean_rt_correct'][i]):.0f} ms",
                "Roitman & Shadlen 2002",
            )
        )
    fit, options = cfit
    units = {"J_A_ext": "nA/Hz", "threshold": "Hz", "non_decision_time": "s"}
    for name, value in (
        ("J_A_ext", fit.model.circuit.J_A_ext),
        ("threshold", fit.model.readout.threshold),
        ("non_decision_time", fit.model.readout.non_decision_time),
    ):
        rows.append(
            (
                f"circuit fit {name} (± SE), {units[name]}",
                f"{float(value):.4g} ± {fit.se[name]:.2g}",
                {"J_A_ext": "5.2e-4 (Wong & Wang)", "threshold": "15 (Wong & Wang)"}.get(name, "-"),
                f"{options['n_paths']} paths x {options['n_starts']} starts",
            )
        )
    m, se = ddm["model"], ddm["se"]
    for name, ref in (("k", "13.14"), ("a", "2 x 0.715"), ("t0", "0.323 s")):
        rows.append(
            (
                f"proportional-rate DDM {name} (± SE)",
                f"{float(getattr(m, name)):.3f} ± {float(getattr(se, name)):.3f}",
                ref,
                "Palmer et al. 2005 fitted to Roitman & Shadlen 2002 (RT SEMs)",
            )
        )
    rows.append(
        (
            "summary NLL / AIC: circuit (fresh paths) vs DDM",
            f"{fit.nll:.1f} / {fit.aic:.1f}",
            f"{ddm['nll']:.1f} / {2 * 3 + 2 * ddm['nll']:.1f}",
            "same likelihood: binomial accuracy + Gaussian mean RT",
        )
    )
    for name, r in circ["results"].items():
        if name == "control":
            continue
        rows.append(
            (
                f"{name}: alpha / RT at 6.4 %",
                f"{100 * float(r.weibull.alpha):.2f} % / "
                f"{1e3 * float(r.summary.mean_rt_correct[2]):.0f} ms",
                f"control {100 * float(control.weibull.alpha):.2f} % / "
                f"{1e3 * float(control.summary.mean_rt_correct[2]):.0f} ms",
                "this run (common random numbers)",
            )
        )
    return rows


def _table(rows, header=_HEADER) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda r: "  ".join(s.ljust(w) for s, w in zip(r, widths, strict=True)).rstrip()
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def _markdown(rows, figures, circ, seconds: float, fast: bool) -> str:
    head = "| quantity | multiscale | reference | source |\n|---|---|---|---|\n"
    body = "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in rows)
    figs = "\n".join(f"![{f}]({f})" for f in figures)
    return (
        "# multiscale demo report\n\n"
        "From NMDA receptor kinetics to the choices and reaction times of two monkeys "
        "(Roitman & Shadlen 2002, 6149 trials, carried in the package).\n\n"
        f"Circuit trials per coherence: {circ['n_trials']}"
        + (
            " (fast settings: fewer noise paths in the circuit fit, rougher estimates)"
            if fast
            else ""
        )
        + f". Devices: {jax.devices()}. "
        f"Wall time: {seconds:.0f} s.\n\n" + head + body + "\n" + figs + "\n"
    )


def run_demo(
    out: str = "multiscale-demo",
    fast: bool = False,
    seed: int = 0,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Run the demo; write figures, ``results.csv`` and ``report.md`` into ``out``.

    Args:
        out: output folder: new, empty or a previous demo's output, unless ``force``
            (the rule is in :mod:`multiscale.cli._demo_output`).
        fast: fewer circuit trials (also set by the environment variable
            ``MULTISCALE_FAST=1``), for a run of well under a minute.
        seed: PRNG seed of the circuit trials.
        force: write into ``out`` even if it holds other files (never deleted).
        progress: the command line's record of finished steps (for Ctrl-C).

    Returns:
        The summary table (text) and its rows (data).

    Raises:
        BadInput: ``out`` is a file, or holds other files and ``force`` is false.
    """
    progress = Progress() if progress is None else progress
    fast = fast or os.environ.get("MULTISCALE_FAST") == "1"
    out_dir = prepare_out(out, force=force)  # before any work: a refusal costs nothing
    progress.kept = f"no figures or report were written to {out_dir}"
    start = time.perf_counter()
    from tqdm.auto import tqdm

    steps = [
        "synapse: calcium STDP",
        "fit: circuit",
        "circuit: psychophysics",
        "fit: diffusion model",
        "figures",
    ]
    bar = tqdm(total=len(steps), desc="demo", unit="step", file=sys.stderr)

    def step(i: int) -> None:
        bar.set_postfix_str(steps[i])
        progress.phase = f"running the demo step {steps[i]!r}"

    step(0)
    syn = _synapse_step(fast)
    bar.update()
    step(1)
    cfit = _circuit_fit_step(fast, jr.key(seed))
    bar.update()
    step(2)
    circ = _circuit_step(300 if fast else 2000, jr.fold_in(jr.key(seed), 1), cfit[0].model)
    bar.update()
    step(3)
    ddm = _ddm_step()
    bar.update()
    step(4)
    figures = draw_figures(out_dir, syn, circ, ddm)
    bar.update()
    bar.close()
    rows = _rows(syn, circ, ddm, cfit)
    seconds = time.perf_counter() - start
    write_results_csv(out_dir / "results.csv", rows, _HEADER)
    (out_dir / "report.md").write_text(_markdown(rows, figures, circ, seconds, fast))
    text = (
        f"{_table(rows)}\n\nfigures, results.csv and report.md written to "
        f"{out_dir.resolve()} ({seconds:.0f} s)"
    )
    data = {
        "rows": [dict(zip(_HEADER, r, strict=True)) for r in rows],
        "out": str(out_dir.resolve()),
    }
    return Outcome(text=text, data=data)


def demo_command(args, progress: Progress) -> Outcome:
    """The ``demo`` subcommand."""
    return run_demo(args.out, args.fast, args.seed, force=args.force, progress=progress)
