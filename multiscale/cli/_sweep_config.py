"""Reading a sweep's TOML config strictly: every key known, every value of the right type.

A typo is an error naming the key, the table it sits in, the keys that table knows, and
the closest one ("did you mean ...?"); nothing is silently ignored.
"""

import dataclasses
import difflib
import inspect
import math
import pathlib
import re
import tomllib
from typing import Any

from ._run import BadInput

_TOP = {
    "model": "a key of the model registry, e.g. 'wong_wang_2006'",
    "readouts": "a list of that model's readout names",
    "output": "the output folder, relative to the config file",
    "seed": "the PRNG seed, an integer >= 0",
    "memory_budget": "bytes per chunk, e.g. '2 GiB'",
    "chunk_size": "members per compiled call, an integer >= 1",
    "distributed": "true to call jax.distributed.initialize() first",
    "model_args": "a table of fixed parameter values",
    "design": "a table with kind (and n)",
    "parameters": "a table of the swept parameters and their ranges",
}
DESIGNS = ("grid", "random_uniform", "latin_hypercube", "halton")
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A checked config. ``parameters`` maps a name to ``("values", [...])``,
    ``("linspace", (start, stop, num))`` or ``("bounds", (low, high))``."""

    model: str
    readouts: tuple[str, ...]
    output: pathlib.Path
    seed: int
    memory_budget: int | None
    chunk_size: int | None
    distributed: bool
    model_args: dict[str, float]
    kind: str
    n: int | None
    parameters: dict[str, tuple[str, Any]]


def _unknown(keys, known, where: str) -> None:
    unknown = [k for k in keys if k not in known]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInput(f"unknown key {key!r} in {where}{hint}; the known keys are {sorted(known)}")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _integer(value, where: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise BadInput(f"{where} must be an integer >= {low}, got {value!r}")
    return value


def parse_bytes(value: Any) -> int:
    """Bytes from an integer or a string such as ``'2 GiB'`` (B, kB, MB, GB, KiB, MiB, GiB)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?i?[bB])\s*", str(value))
    if not match or float(match.group(1)) <= 0:
        raise BadInput(f"`memory_budget` must be > 0 bytes or e.g. '2 GiB', got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def read_toml(path: pathlib.Path) -> dict:
    """The TOML file as a dict; a missing, unreadable or malformed file is bad input."""
    if path.is_dir():
        raise BadInput(f"the config path {str(path)!r} is a folder; give the TOML file itself")
    if not path.exists():
        raise BadInput(f"the config file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except UnicodeDecodeError:
        raise BadInput(f"the config file {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"the config file {str(path)!r} is not valid TOML: {error}") from None


def _model_args(table, factory, model: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise BadInput(f"`model_args` must be a table ([model_args]), got {table!r}")
    known = {
        name: p.default
        for name, p in inspect.signature(factory).parameters.items()
        if isinstance(p.default, int | float) and not isinstance(p.default, bool)
    }
    _unknown(table, known, f"[model_args] of {model!r}")
    return {name: _number(v, f"[model_args] {name}") for name, v in table.items()}


def _parameter(name: str, spec, kind: str) -> tuple[str, Any]:
    where = f"parameter {name!r}"
    if not isinstance(spec, dict):
        example = "{ start = 0.1, stop = 0.2, num = 5 }" if kind == "grid" else "{ low, high }"
        raise BadInput(f"{where} must be a table such as {example}, got {spec!r}")
    if kind != "grid":
        _unknown(spec, ("low", "high"), f"{where} of a {kind} design")
        if set(spec) != {"low", "high"}:
            raise BadInput(f"{where} of a {kind} design needs low and high")
        low, high = (_number(spec[k], f"{where} {k}") for k in ("low", "high"))
        if not low < high:
            raise BadInput(f"{where} needs low < high, got low = {low:g}, high = {high:g}")
        return "bounds", (low, high)
    _unknown(spec, ("values", "start", "stop", "num"), f"{where} of a grid")
    if "values" in spec:
        if set(spec) != {"values"}:
            raise BadInput(f"{where} takes either values = [...] or start, stop, num, not both")
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise BadInput(f"{where} values must be a non-empty list of numbers, got {values!r}")
        return "values", [_number(v, f"{where} values") for v in values]
    if set(spec) != {"start", "stop", "num"}:
        missing = sorted({"start", "stop", "num"} - set(spec))
        raise BadInput(f"{where} of a grid needs values = [...] or start, stop, num ({missing})")
    start, stop = (_number(spec[k], f"{where} {k}") for k in ("start", "stop"))
    return "linspace", (start, stop, _integer(spec["num"], f"{where} num", 1))


def check_config(raw: dict, path: pathlib.Path, models: dict) -> SweepConfig:
    """Check every key and value of a parsed config against ``models`` (the registry)."""
    _unknown(raw, _TOP, "the config (top level)")
    model = raw.get("model")
    if model not in models:
        raise BadInput(f"`model` must be one of {sorted(models)}, got {model!r}")
    entry = models[model]
    readouts = raw.get("readouts", list(entry.readouts))
    if not isinstance(readouts, list) or not readouts:
        raise BadInput(f"`readouts` must be a non-empty list of {sorted(entry.readouts)}")
    for r in readouts:
        if r not in entry.readouts:
            raise BadInput(f"`readouts` must name some of {sorted(entry.readouts)}, got {r!r}")
    if len(set(readouts)) != len(readouts):
        raise BadInput(f"`readouts` names a readout twice: {readouts}")
    output = raw.get("output")
    if not isinstance(output, str) or not output.strip():
        raise BadInput("the config needs `output`, the folder to write the sweep to (a string)")
    seed = _integer(raw.get("seed", 0), "`seed`", 0)
    if seed >= 2**32:
        raise BadInput(f"`seed` must be < 2**32, got {seed}")
    distributed = raw.get("distributed", False)
    if not isinstance(distributed, bool):
        raise BadInput(f"`distributed` must be true or false, got {distributed!r}")
    chunk = raw.get("chunk_size")
    design = raw.get("design", {"kind": "grid"})
    if not isinstance(design, dict):
        raise BadInput(f"`design` must be a table ([design]), got {design!r}")
    _unknown(design, ("kind", "n"), "[design]")
    kind = design.get("kind", "grid")
    if kind not in DESIGNS:
        raise BadInput(f"design kind {kind!r} is not one of {list(DESIGNS)}")
    if kind == "grid" and "n" in design:
        raise BadInput("a grid design takes no `n`: its size is the product of the grid's nums")
    if kind != "grid" and "n" not in design:
        raise BadInput(f"a {kind} design needs `n` (number of parameter sets) in [design]")
    n = None if kind == "grid" else _integer(design["n"], "[design] n", 1)
    params = raw.get("parameters")
    if not isinstance(params, dict) or not params:
        raise BadInput("the config needs a non-empty [parameters] table")
    _unknown(params, entry.parameters, f"[parameters] of {model!r}")
    return SweepConfig(
        model=model,
        readouts=tuple(readouts),
        output=path.parent / output,
        seed=seed,
        memory_budget=None if "memory_budget" not in raw else parse_bytes(raw["memory_budget"]),
        chunk_size=None if chunk is None else _integer(chunk, "`chunk_size`", 1),
        distributed=distributed,
        model_args=_model_args(raw.get("model_args", {}), entry.factory, model),
        kind=kind,
        n=n,
        parameters={name: _parameter(name, spec, kind) for name, spec in params.items()},
    )
