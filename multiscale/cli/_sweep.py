"""``multiscale sweep CONFIG.toml``: a parameter sweep described by a TOML file.

A config names a model and its readouts from the registry ``MODELS`` below (explicit
objects in a dict: a config can only reach what is listed here), the parameters to vary
and their ranges, and where to write::

    model = "wong_wang_2006"             # a key of MODELS
    readouts = ["coh_12.8"]              # keys of that model's readouts (default: all)
    output = "nmda-sweep"                # folder, relative to the config file's folder
    seed = 0                             # PRNG seed of the sweep (and of random designs)
    memory_budget = "2 GiB"              # optional: bytes, or a number with B/kB/MB/GB/KiB/MiB/GiB
    chunk_size = 4096                    # optional: overrides the memory planner
    distributed = false                  # true: call jax.distributed.initialize() first
                                         # (one process per host, e.g. under srun)

    [model_args]                         # optional: fixed (non-swept) parameter values
    sigma_noise = 0.02

    [design]
    kind = "grid"                        # grid | random_uniform | latin_hypercube | halton
    # n = 1000                           # number of parameter sets (not for grid)

    [parameters]                         # grid: {start, stop, num} or {values = [...]}
    "nmda.tau_decay" = { start = 0.05, stop = 0.2, num = 16 }
    J_N11 = { start = 0.24, stop = 0.28, num = 16 }
    # random designs: J_N11 = { low = 0.24, high = 0.28 }

Every key is checked: an unknown key (a typo such as ``[parameter]``) is an error that
names it and lists the known ones. Rerunning the same command resumes an interrupted sweep
(Ctrl-C keeps every finished chunk on disk); a folder holding a different sweep, or other
files, is refused unless ``--force``, which deletes the previous sweep's files there (and
nothing else) and starts afresh. The result is ``OUTPUT/sweep.nc`` (netCDF4, open with
``xarray.open_dataset``).
"""

import argparse
import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..circuit import WongWang2006
from ..sweep import (
    STATUS_OK,
    AbstractDesign,
    DecisionSummary,
    Grid,
    Halton,
    LatinHypercube,
    RandomUniform,
    sweep,
)
from ..synapse import MgBlock, SaturatingNMDA, TsodyksMarkram
from ._run import BadInput, Outcome, Progress, run
from ._sweep_config import SweepConfig, check_config, read_toml


def _nmda_steady_gating_40hz(model: SaturatingNMDA, key: Any) -> Any:
    """Steady NMDA gating $S^*$ at 40 Hz presynaptic rate (the decision circuit's regime)."""
    del key
    return model.steady_gating(40.0)


def _nmda_gamma(model: SaturatingNMDA, key: Any) -> Any:
    """Rate-averaged gating coefficient $\\gamma$ (dimensionless)."""
    del key
    return model.gamma


def _stp_steady_efficacy_20hz(model: TsodyksMarkram, key: Any) -> Any:
    """Steady-state efficacy $u^* R^*$ during a 20 Hz train."""
    del key
    return model.steady_state_efficacy(20.0)


def _mg_unblocked_at_rest(model: MgBlock, key: Any) -> Any:
    """Unblocked NMDA fraction $B$ at -65 mV."""
    del key
    return model(-65.0)


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A model a config may name: its constructor, its sweepable parameters, its readouts.

    Attributes:
        factory: builds the model from keyword arguments (the config's ``[model_args]``).
        parameters: name -> accessor of each parameter a config may vary.
        readouts: name -> ``readout(model, key) -> array`` a config may request.
    """

    factory: Callable[..., Any]
    parameters: dict[str, Callable[[Any], Any]]
    readouts: dict[str, Callable[[Any, Any], Any]]


MODELS: dict[str, ModelEntry] = {
    "saturating_nmda": ModelEntry(
        SaturatingNMDA,
        {
            "tau_rise": lambda m: m.tau_rise,
            "tau_decay": lambda m: m.tau_decay,
            "alpha": lambda m: m.alpha,
            "gamma0": lambda m: m.gamma0,
        },
        {"steady_gating_40hz": _nmda_steady_gating_40hz, "gamma": _nmda_gamma},
    ),
    "wong_wang_2006": ModelEntry(
        WongWang2006,
        {
            "nmda.tau_decay": lambda m: m.nmda.tau_decay,
            "nmda.alpha": lambda m: m.nmda.alpha,
            "nmda.gamma0": lambda m: m.nmda.gamma0,
            "J_N11": lambda m: m.J_N11,
            "J_N12": lambda m: m.J_N12,
            "I_0": lambda m: m.I_0,
            "sigma_noise": lambda m: m.sigma_noise,
        },
        {
            # 64 trials at 12.8 % and 51.2 % coherence: accuracy, mean RT, p_decided.
            "coh_12.8": DecisionSummary(coherence=0.128, n_trials=64),
            "coh_51.2": DecisionSummary(coherence=0.512, n_trials=64),
        },
    ),
    "tsodyks_markram": ModelEntry(
        TsodyksMarkram,
        {"U": lambda m: m.U, "tau_rec": lambda m: m.tau_rec, "tau_facil": lambda m: m.tau_facil},
        {"steady_efficacy_20hz": _stp_steady_efficacy_20hz},
    ),
    "mg_block": ModelEntry(
        MgBlock,
        {"Mg": lambda m: m.Mg, "k": lambda m: m.k, "K_Mg": lambda m: m.K_Mg},
        {"unblocked_at_rest": _mg_unblocked_at_rest},
    ),
}
"""The models and readouts a sweep config can name."""


@dataclasses.dataclass(frozen=True)
class _Readouts:
    """Evaluate the named readouts of one member; its repr enters the sweep's identity."""

    names: tuple[str, ...]
    functions: tuple[Callable[[Any, Any], Any], ...]

    def __call__(self, model: Any, key: Any) -> dict:
        keys = jr.split(key, len(self.functions))
        outputs, status = {}, jnp.asarray(0, jnp.int32)
        for name, f, k in zip(self.names, self.functions, keys, strict=True):
            value = f(model, k)
            if isinstance(value, dict):
                # A readout with several outputs (and perhaps a status): flatten its names;
                # the first non-zero status of the readouts is the member's.
                code = jnp.asarray(value.get("status", 0), jnp.int32)
                status = jnp.where(status != 0, status, code)
                outputs.update({f"{name}_{k_}": v for k_, v in value.items() if k_ != "status"})
            else:
                outputs[name] = value
        return {**outputs, "status": status}

    def __repr__(self) -> str:
        return f"readouts({', '.join(self.names)})"


def _design(config: SweepConfig, entry: ModelEntry) -> AbstractDesign:
    accessors = {name: entry.parameters[name] for name in config.parameters}
    if config.kind == "grid":
        values = {}
        for name, (form, spec) in config.parameters.items():
            if form == "values":
                values[accessors[name]] = np.asarray(spec, dtype=np.float64)
            else:
                values[accessors[name]] = np.linspace(*spec)
        return Grid(values)
    bounds = {accessors[name]: spec for name, (_, spec) in config.parameters.items()}
    if config.kind == "halton":
        return Halton(bounds, config.n)
    designs = {"random_uniform": RandomUniform, "latin_hypercube": LatinHypercube}
    return designs[config.kind](bounds, config.n, key=jr.fold_in(jr.key(config.seed), 1))


def load_config(config_path: str | pathlib.Path) -> SweepConfig:
    """Read and check a sweep config (every error is :class:`BadInput`)."""
    path = pathlib.Path(config_path)
    return check_config(read_toml(path), path, MODELS)


def run_config(
    config_path: str | pathlib.Path,
    *,
    progress: bool = True,
    overwrite: bool = False,
    callback: Callable[[int, int], None] | None = None,
):
    """Run the sweep a TOML config describes; returns the ``xarray.Dataset`` and its folder."""
    config = load_config(config_path)
    entry = MODELS[config.model]
    if config.distributed:
        import jax

        try:
            jax.distributed.initialize()
        except Exception as error:
            raise BadInput(
                f"distributed = true, but jax.distributed.initialize() failed ({error}); "
                "start one process per host under a cluster manager (e.g. srun), or set "
                "distributed = false"
            ) from None
    try:
        model = entry.factory(**config.model_args)
    except (TypeError, ValueError) as error:
        raise BadInput(f"[model_args] do not make a valid {config.model!r}: {error}") from None
    fn = _Readouts(config.readouts, tuple(entry.readouts[r] for r in config.readouts))
    dataset = sweep(
        fn,
        model,
        _design(config, entry),
        key=jr.fold_in(jr.key(config.seed), 0),
        out=str(config.output),
        chunk_size=config.chunk_size,
        memory_budget=config.memory_budget,
        progress=progress,
        callback=callback,
        overwrite=overwrite,
    )
    return dataset, config.output


def sweep_main(args, progress: Progress) -> Outcome:
    """The ``sweep`` subcommand; Ctrl-C reports the chunks saved so far."""
    config = load_config(args.config)  # bad input is reported before any work
    done: list[int] = []
    # A chunk is saved before it is counted, so an interrupt may come after the save and
    # before the count: the count is a lower bound.
    progress.kept = (
        f"any chunk finished so far is saved in {config.output}; rerun the same command to resume"
    )

    def chunk_done(index: int, n_chunks: int) -> None:
        done.append(index)
        progress.phase = f"running the sweep ({len(done)} of {n_chunks} chunks done)"
        progress.kept = (
            f"the chunks finished so far (at least {len(done)} in this run) are saved in "
            f"{config.output}; rerun the same command to resume"
        )

    progress.start("running the sweep")
    dataset, out = run_config(
        args.config, overwrite=args.force, callback=chunk_done, progress=not args.json
    )
    status = dataset["status"].values
    failed = int(np.count_nonzero(status != STATUS_OK))
    result = {"n_members": int(status.size), "n_failed": failed, "output": str(out / "sweep.nc")}
    text = f"{status.size} parameter sets, {failed} failed; results in {out / 'sweep.nc'}"
    # jax.distributed shuts down in the interpreter's teardown, which os._exit would skip.
    return Outcome(text=text, data=result, quick_exit=not config.distributed)


def sweep_command(config_path: str, *, force: bool = False, as_json: bool = False) -> int:
    """``multiscale sweep CONFIG.toml`` from Python; returns the exit status."""
    args = argparse.Namespace(config=config_path, force=force, json=as_json)
    return run("multiscale sweep", lambda p: sweep_main(args, p), as_json=as_json)
