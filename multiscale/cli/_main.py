"""The ``multiscale`` command line: the parser and the dispatch to each command."""

import argparse
import sys

from ._run import EXIT_BAD_INPUT, dump_json, run, sentence

_DESCRIPTION = """\
multiscale: differentiable models from synaptic plasticity to behavior (JAX).

Subcommands:
  demo      the main job, on data the package carries: synapse -> circuit -> behavior,
            fitted to the Roitman & Shadlen (2002) reaction-time data; writes figures,
            results.csv and a report into an output folder and prints a summary table
  validate  reproduce every registered published result and print expected vs measured
  fit       fit a model to your own trial-level CSV (choices and reaction times)
  sweep     run a parameter sweep described by a TOML file (resumable: rerun to continue)
  bench     run the benchmarks in benchmarks/ against peer tools and print the ratios

Run `multiscale SUBCOMMAND --help` for the options of each.

Exit status: 0 done; 2 bad input (the one-line message says what to fix); 130
interrupted (Ctrl-C; what finished is reported, and a sweep's finished chunks stay on
disk); 1 an internal error (please report it; MULTISCALE_DEBUG=1 prints the traceback).
With --json, stdout is JSON also on error: {"error": {"kind", "message", "exit_status"}}.

Compiled programs are cached in $XDG_CACHE_HOME/multiscale/jax (default
~/.cache/multiscale/jax), so a second run starts in seconds; --no-cache or
MULTISCALE_NO_CACHE=1 turns this off.
"""


class _UsageError(Exception):
    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one sentence (raised, so ``main`` returns the status)."""

    def error(self, message):
        raise _UsageError(self.prog, f"{message} (see `{self.prog} --help`)")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the seed must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"the seed must be in [0, 2**32), got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds as a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected finite seconds >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="multiscale",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND")
    common = _Parser(add_help=False)
    common.add_argument(
        "--no-cache",
        action="store_true",
        help="do not use the on-disk compilation cache (also: MULTISCALE_NO_CACHE=1)",
    )

    d = sub.add_parser(
        "demo",
        parents=[common],
        help="run the main job on the data the package carries",
        description="Run the demo and write its figures, results.csv and report.md into "
        "OUT. OUT must be new, empty, or a previous demo's output (it holds the "
        ".multiscale-demo marker and only files the demo writes); anything else is refused "
        "unless --force, which overwrites the demo's own files there and leaves every other "
        "file alone.",
    )
    d.add_argument("--out", default="multiscale-demo", help="output folder (default: %(default)s)")
    d.add_argument(
        "--fast",
        action="store_true",
        help="fewer simulated trials and fit steps (seconds instead of minutes)",
    )
    d.add_argument("--seed", type=_seed, default=0, help="PRNG seed (default: %(default)s)")
    d.add_argument(
        "--force", action="store_true", help="write into OUT even if it holds other files"
    )

    v = sub.add_parser(
        "validate",
        parents=[common],
        help="reproduce the published results and compare",
        description="Run every registered reproduction of a published result and print a table "
        "(name, scale, source, expected, measured, tolerance, pass). Exit status 1 if any fails.",
    )
    v.add_argument("--scale", choices=["synapse", "circuit", "population", "behavior", "fit"])
    v.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    v.add_argument("--fast", action="store_true", help="skip targets marked slow")
    v.add_argument("--list", action="store_true", help="list the targets without running them")

    f = sub.add_parser(
        "fit",
        parents=[common],
        help="fit a model to a CSV of trials",
        description="Fit the drift-diffusion model (or the decision circuit, the GDDM, the RLDDM, "
        "the LBA or the racing diffusion model) to trial-level data in HDDM, HSSM or PyDDM "
        "column conventions. The condition column (e.g. coherence) scales "
        "the drift (proportional-rate form) or sets the circuit's stimulus (coherence as a "
        "fraction, sign = direction). The circuit is fitted by the likelihood of every trial's "
        "choice and RT (Monte Carlo over 2048 noise paths per coherence, 4 starts split over "
        "the CPU cores; about 5 minutes for 2600 trials on 2 cores), or "
        "with --likelihood summary by choice counts and mean RT per coherence (faster; its NLL "
        "is not comparable with the DDM's). Implausible data (RTs in ms, coherence in percent, "
        "signed coherence with accuracy coding) is refused with the fix; RT outliers over 100 "
        "times the median are removed and reported. Ctrl-C during the standard errors prints "
        "the fitted parameters without them.",
    )
    f.add_argument("data", help="CSV file with one row per trial")
    f.add_argument(
        "--model",
        choices=["ddm", "circuit", "rlddm", "gddm", "lba", "racing"],
        default="ddm",
        help="ddm (default), circuit, rlddm: Q-learning with the DDM choice rule on a "
        "learning task in HDDM's RLDDM columns (subj_idx, response, rt, trial, split_by, "
        "feedback, q_init), gddm: leaky collapsing-bound DDM with variable non-decision "
        "time (Fokker-Planck likelihood, about a minute for 400 trials on 2 cores), lba: "
        "linear ballistic accumulator (Brown & Heathcote 2008) or racing: racing diffusion "
        "model (Tillman et al. 2020); both race two accumulators with rates v1 + k*condition "
        "and v0 - k*condition (free: v1, v0, k, A, B, t0)",
    )
    f.add_argument(
        "--condition",
        help="condition column, e.g. coherence (required unless --formula names the columns)",
    )
    f.add_argument(
        "--formula",
        action="append",
        metavar="'PARAM ~ TERMS'",
        help="DDM only, repeatable: a DDM parameter as a regression on columns of the data, "
        "e.g. --formula 'v ~ 0 + coherence' --formula 'a ~ 1 + instruction' (text columns "
        "are treatment-coded; log link for a and t0)",
    )
    f.add_argument(
        "--depends-on",
        action="append",
        metavar="PARAM=COLUMN",
        help="DDM, repeatable: one value of the parameter (k, a or t0; with --formula v, a "
        "or t0) per level of the column, e.g. --depends-on a=instruction reports a[accuracy] "
        "and a[speed] (the regression 'a ~ 0 + C(instruction)'; text levels accepted)",
    )
    f.add_argument(
        "--free",
        action="append",
        metavar="PATH",
        help="circuit, repeatable: the circuit parameters to free instead of the default "
        "J_A_ext, threshold and non_decision_time, by path (circuit.sigma_noise, "
        "readout.temperature, circuit.nmda.tau_decay) or last part (sigma_noise)",
    )
    f.add_argument(
        "--out",
        dest="output",
        metavar="FILE",
        help="write the estimates to this .json or .nc file (any model), or with --sampler "
        "nuts the posterior (ArviZ netCDF, .nc); an existing file is refused before fitting",
    )
    f.add_argument("--output", dest="output", metavar="FILE", help="the same as --out")
    f.add_argument(
        "--by",
        metavar="COLUMN",
        help="DDM: fit each level of this column (e.g. subject) separately, one table row per "
        "level (JSON: each level's result under 'levels')",
    )
    f.add_argument(
        "--sampler",
        choices=["mle", "nuts"],
        default="mle",
        help="DDM (also per level with --by; not with --formula or --depends-on): maximum "
        "likelihood (default) or the posterior by NUTS from the MLE (weakly-informative "
        "priors; mean, sd, HDI, R-hat, ESS and divergences reported)",
    )
    f.add_argument(
        "--draws",
        type=_positive_int,
        default=1000,
        help="with --sampler nuts: draws per chain, after as many warm-up steps (1000)",
    )
    f.add_argument(
        "--chains",
        type=_positive_int,
        default=4,
        help="with --sampler nuts: chains (4)",
    )
    f.add_argument(
        "--likelihood",
        choices=["trial", "summary"],
        default="trial",
        help="circuit only: fit every trial's choice and RT (default) or per-coherence summaries",
    )
    f.add_argument(
        "--rt-range",
        nargs=2,
        type=_seconds,
        metavar=("LOW", "HIGH"),
        help="keep trials with LOW <= RT <= HIGH seconds (replaces the outlier removal)",
    )
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.add_argument("--seed", type=_seed, default=0)
    f.add_argument("--verbose", action="store_true", help="say on stderr which phase is running")

    w = sub.add_parser(
        "sweep",
        parents=[common],
        help="run a resumable parameter sweep from a TOML config",
        description="Sweep a model's parameters over a grid or a random/quasi-random design, "
        "chunked to a memory budget and sharded over the local devices; results go to "
        "OUTPUT/sweep.nc (xarray/netCDF). Rerunning the same command resumes an interrupted "
        "sweep (Ctrl-C keeps the finished chunks). Unknown keys in the config are errors. "
        "The config format is documented in docs/cli.md.",
    )
    w.add_argument("config", help="TOML file: model, parameters and ranges, readouts, output")
    w.add_argument("--json", action="store_true", help="print the summary as JSON")
    w.add_argument(
        "--force",
        action="store_true",
        help="delete a previous sweep's files in OUTPUT and start afresh",
    )

    b = sub.add_parser(
        "bench",
        help="run benchmarks against peer tools",
        description="Run benchmarks/bench_*.py from a source checkout (peers come from the "
        "`bench` extra: pip install '.[bench]') and print their ratio tables.",
    )
    b.add_argument("names", nargs="*", help="benchmark names, e.g. stdp_curve (default: all)")
    b.add_argument("--quick", action="store_true", help="small workloads, for a smoke run")
    b.add_argument(
        "--gpu",
        action="store_true",
        help="also run bench_gpu.py, the accelerator goals (with --quick: its CPU sizes)",
    )
    return p


def _command(args):
    """The command function ``args`` selects (imported lazily: each pulls in JAX code)."""
    if args.command == "validate":
        from ._validate import validate_command

        return lambda progress: validate_command(args, progress)
    if args.command == "demo":
        from ._demo import demo_command

        return lambda progress: demo_command(args, progress)
    if args.command == "fit":
        from ._fit import fit_main

        return lambda progress: fit_main(args, progress)
    if args.command == "sweep":
        from ._sweep import sweep_main

        return lambda progress: sweep_main(args, progress)
    from ._bench import bench_command

    return lambda progress: bench_command(args, progress)


def main(argv: list[str] | None = None) -> int:
    """Run the ``multiscale`` command line; return the exit status.

    Args:
        argv: the arguments; None (the ``multiscale`` program itself) reads ``sys.argv``
            and lets the command own the process: the compilation cache is switched on
            and Ctrl-C is handled as described in ``multiscale --help``.
    """
    owns_process = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            prog = f"multiscale {args.command}" if args.command else "multiscale"
            raise _UsageError(
                prog, f"unrecognized arguments: {' '.join(extra)} (see `{prog} --help`)"
            )
        if (
            args.command == "fit"
            and args.condition is None
            and not args.formula
            and args.model != "rlddm"
        ):
            raise _UsageError(
                "multiscale fit",
                "the following arguments are required: --condition (the column that scales "
                "the drift; or name the columns with --formula) (see `multiscale fit --help`)",
            )
    except _UsageError as error:
        line = sentence(error.prog, f"error: {error}")
        if "--json" in argv:
            message = line[len(error.prog) + 2 :]
            print(dump_json({"error": dict(kind="usage", message=message, exit_status=2)}))
        print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    if args.version:
        from .. import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    command = _command(args)
    from ._cache import cache_disabled, enable_compilation_cache

    if owns_process and not cache_disabled(getattr(args, "no_cache", True)):
        # Inside `run`, so that a warning about the cache folder prints as one line.
        uncached = command

        def command(progress):
            enable_compilation_cache()
            return uncached(progress)

    return run(
        f"multiscale {args.command}",
        command,
        as_json=getattr(args, "json", False),
        owns_process=owns_process,
    )
