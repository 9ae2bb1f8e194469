"""The ``multiscale`` command line: the parser and the dispatch to each command."""

import argparse

_DESCRIPTION = """\
multiscale: differentiable models from synaptic plasticity to behavior (JAX).

Subcommands:
  demo      the main job, on data the package carries: synapse -> circuit -> behavior,
            fitted to the Roitman & Shadlen (2002) reaction-time data; writes figures and
            a report into an output folder and prints a summary table
  validate  reproduce every registered published result and print expected vs measured
  fit       fit a model to your own trial-level CSV (choices and reaction times)
  sweep     run a parameter sweep described by a TOML file (resumable: rerun to continue)
  bench     run the benchmarks in benchmarks/ against peer tools and print the ratios

Run `multiscale SUBCOMMAND --help` for the options of each.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="multiscale",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND")

    d = sub.add_parser("demo", help="run the main job on the data the package carries")
    d.add_argument("--out", default="multiscale-demo", help="output folder (default: %(default)s)")
    d.add_argument(
        "--fast",
        action="store_true",
        help="fewer simulated trials and fit steps (seconds instead of minutes)",
    )
    d.add_argument("--seed", type=int, default=0, help="PRNG seed (default: %(default)s)")

    v = sub.add_parser(
        "validate",
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
        help="fit a model to a CSV of trials",
        description="Fit the drift-diffusion model (or the decision circuit) to trial-level data "
        "in HDDM, HSSM or PyDDM column conventions. The condition column (e.g. coherence) scales "
        "the drift (proportional-rate form) or sets the circuit's stimulus (coherence as a "
        "fraction, sign = direction). The circuit is fitted by the likelihood of every trial's "
        "choice and RT (Monte Carlo over 2048 noise paths per coherence, 4 starts split over "
        "the CPU cores; about 5 minutes for 2600 trials on 2 cores), or "
        "with --likelihood summary by choice counts and mean RT per coherence (faster; its NLL "
        "is not comparable with the DDM's).",
    )
    f.add_argument("data", help="CSV file with one row per trial")
    f.add_argument("--model", choices=["ddm", "circuit"], default="ddm")
    f.add_argument("--condition", required=True, help="condition column, e.g. coherence")
    f.add_argument(
        "--likelihood",
        choices=["trial", "summary"],
        default="trial",
        help="circuit only: fit every trial's choice and RT (default) or per-coherence summaries",
    )
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.add_argument("--seed", type=int, default=0)

    w = sub.add_parser(
        "sweep",
        help="run a resumable parameter sweep from a TOML config",
        description="Sweep a model's parameters over a grid or a random/quasi-random design, "
        "chunked to a memory budget and sharded over the local devices; results go to "
        "OUTPUT/sweep.nc (xarray/netCDF). Rerunning the same command resumes an interrupted "
        "sweep. The config format is documented in docs/cli.md.",
    )
    w.add_argument("config", help="TOML file: model, parameters and ranges, readouts, output")

    b = sub.add_parser(
        "bench",
        help="run benchmarks against peer tools",
        description="Run benchmarks/bench_*.py from a source checkout (peers come from the "
        "`bench` extra: pip install '.[bench]') and print their ratio tables.",
    )
    b.add_argument("names", nargs="*", help="benchmark names, e.g. stdp_curve (default: all)")
    b.add_argument("--quick", action="store_true", help="small workloads, for a smoke run")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "validate":
        from ._validate import validate_command

        return validate_command(args)
    if args.command == "demo":
        from ._demo import run_demo

        return run_demo(out=args.out, fast=args.fast, seed=args.seed)
    if args.command == "fit":
        from ._fit import fit_main

        return fit_main(args)
    if args.command == "sweep":
        from ._sweep import sweep_command

        return sweep_command(args.config)
    if args.command == "bench":
        from ._bench import run_benchmarks

        return run_benchmarks(args.names, quick=args.quick)
    parser.error(f"unknown command {args.command!r}")
    return 2
