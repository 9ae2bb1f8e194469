"""Fits written to and read from files: JSON or netCDF, atomically, never overwriting."""

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._parameters import Free, Parameterization, parameterize


def _atomic_write(path: Path, overwrite: bool, write: Callable[[Path], Any]) -> Path:
    if path.exists() and not overwrite:
        raise FileExistsError(f"`path` {path} exists; choose another name or pass overwrite=True")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_point_estimates(
    path: str | os.PathLike,
    model,
    free: Sequence[Free],
    *,
    info: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the free leaves of a fitted ``model`` to JSON (``.json``) or netCDF (``.nc``).

    The file holds each free scalar by name (the names of :func:`parameterize`) and
    ``info`` (e.g. ``{"nll": ..., "converged": ...}``, JSON-serialisable values). An
    existing file is never replaced unless ``overwrite``. Read back with
    :func:`load_point_estimates`.
    """
    _, rebuild = parameterize(model, free)
    values = {
        n: float(v) for n, v in zip(rebuild.names, np.asarray(_leaves(rebuild, model)), strict=True)
    }
    path = Path(path)
    info = {} if info is None else dict(info)
    if path.suffix == ".json":
        text = json.dumps({"parameters": values, "info": info}, indent=2)
        return _atomic_write(path, overwrite, lambda tmp: tmp.write_text(text))
    if path.suffix == ".nc":
        import xarray as xr

        ds = xr.Dataset({n: ((), v) for n, v in values.items()})
        ds.attrs["info"] = json.dumps(info)
        return _atomic_write(path, overwrite, lambda tmp: ds.to_netcdf(tmp))
    raise ValueError(f"`path` must end in .json or .nc, got {path.name!r}")


def _leaves(rebuild: Parameterization, model) -> Array:
    return jnp.concatenate(
        [jnp.asarray(w(model), jnp.result_type(float)).reshape(-1) for w in rebuild.wheres]
    )


def load_point_estimates(path: str | os.PathLike, model, free: Sequence[Free]):
    """``model`` with the free leaves set to the values saved by :func:`save_point_estimates`,
    and the saved ``info``. Raises ``ValueError`` naming any parameter the file lacks."""
    path = Path(path)
    if path.suffix == ".json":
        saved = json.loads(path.read_text())
        values, info = saved["parameters"], saved.get("info", {})
    elif path.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path) as ds:
            values = {n: float(ds[n]) for n in ds.data_vars}
            info = json.loads(ds.attrs.get("info", "{}"))
    else:
        raise ValueError(f"`path` must end in .json or .nc, got {path.name!r}")
    _, rebuild = parameterize(model, free)
    missing = [n for n in rebuild.names if n not in values]
    if missing:
        raise ValueError(f"{path} has no value for {', '.join(missing)}")
    return _with_values(rebuild, [values[n] for n in rebuild.names]), info


def _with_values(rebuild: Parameterization, flat: Sequence[float]):
    """``rebuild.model`` with its free leaves set to ``flat`` (in the order of the names)."""
    parts, i = [], 0
    for shape, dtype in zip(rebuild.shapes, rebuild.dtypes, strict=True):
        size = int(np.prod(shape))
        parts.append(jnp.asarray(flat[i : i + size], dtype).reshape(shape))
        i += size
    return eqx.tree_at(lambda m: [w(m) for w in rebuild.wheres], rebuild.model, parts)
