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

Rerunning the same command resumes an interrupted sweep; a folder holding a different
sweep is refused. The result is ``OUTPUT/sweep.nc`` (netCDF4, open with
``xarray.open_dataset``).
"""

import dataclasses
import pathlib
import re
import sys
import tomllib
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


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def _parse_bytes(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgG]?i?[bB])\s*", str(value))
    if not match:
        raise ValueError(f"`memory_budget` must be bytes or e.g. '2 GiB', got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _design(config: dict, entry: ModelEntry, seed: int) -> AbstractDesign:
    spec = config.get("design", {"kind": "grid"})
    kind = spec.get("kind", "grid")
    params = config.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ValueError("the config needs a non-empty [parameters] table")
    unknown = sorted(set(params) - set(entry.parameters))
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; this model has {sorted(entry.parameters)}")
    accessors = {name: entry.parameters[name] for name in params}
    if kind == "grid":
        values = {}
        for name, p in params.items():
            if "values" in p:
                values[accessors[name]] = np.asarray(p["values"], dtype=np.float64)
            elif {"start", "stop", "num"} <= set(p):
                values[accessors[name]] = np.linspace(p["start"], p["stop"], int(p["num"]))
            else:
                raise ValueError(
                    f"grid parameter {name!r} needs values = [...] or start, stop, num"
                )
        return Grid(values)
    designs = {"random_uniform": RandomUniform, "latin_hypercube": LatinHypercube, "halton": Halton}
    if kind not in designs:
        raise ValueError(f"design kind {kind!r} is not one of {['grid', *designs]}")
    bounds = {}
    for name, p in params.items():
        if not {"low", "high"} <= set(p):
            raise ValueError(f"parameter {name!r} of a {kind} design needs low and high")
        bounds[accessors[name]] = (p["low"], p["high"])
    if "n" not in spec:
        raise ValueError(f"a {kind} design needs `n` (number of parameter sets) in [design]")
    if kind == "halton":
        return Halton(bounds, spec["n"])
    return designs[kind](bounds, spec["n"], key=jr.fold_in(jr.key(seed), 1))


def run_config(config_path: str | pathlib.Path, *, progress: bool = True):
    """Run the sweep a TOML config describes; returns the ``xarray.Dataset`` and its folder."""
    path = pathlib.Path(config_path)
    with open(path, "rb") as f:
        config = tomllib.load(f)
    name = config.get("model")
    if name not in MODELS:
        raise ValueError(f"`model` must be one of {sorted(MODELS)}, got {name!r}")
    entry = MODELS[name]
    readout_names = config.get("readouts", list(entry.readouts))
    unknown = sorted(set(readout_names) - set(entry.readouts))
    if unknown or not readout_names:
        raise ValueError(
            f"`readouts` must name some of {sorted(entry.readouts)}, got {readout_names}"
        )
    if "output" not in config:
        raise ValueError("the config needs `output`, the folder to write the sweep to")
    seed = int(config.get("seed", 0))
    if config.get("distributed", False):
        import jax

        jax.distributed.initialize()
    model = entry.factory(**config.get("model_args", {}))
    fn = _Readouts(tuple(readout_names), tuple(entry.readouts[r] for r in readout_names))
    budget = config.get("memory_budget")
    out = path.parent / config["output"]
    dataset = sweep(
        fn,
        model,
        _design(config, entry, seed),
        key=jr.fold_in(jr.key(seed), 0),
        out=str(out),
        chunk_size=config.get("chunk_size"),
        memory_budget=None if budget is None else _parse_bytes(budget),
        progress=progress,
    )
    return dataset, out


def sweep_command(config_path: str) -> int:
    """Entry point of ``multiscale sweep CONFIG.toml``; returns the exit status."""
    try:
        dataset, out = run_config(config_path)
    except (ValueError, OSError, tomllib.TOMLDecodeError) as error:
        print(f"multiscale sweep: {error}", file=sys.stderr)
        return 2
    status = dataset["status"].values
    failed = int(np.count_nonzero(status != STATUS_OK))
    print(f"{status.size} parameter sets, {failed} failed; results in {out / 'sweep.nc'}")
    return 0
