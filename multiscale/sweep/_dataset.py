"""A sweep's results as an ``xarray.Dataset``, and its atomic netCDF file.

xarray is imported inside the functions so that ``import multiscale`` stays light.
"""

import os
import pathlib

import numpy as np

from ._design import AbstractDesign


def build_dataset(
    names: list[str],
    design: AbstractDesign,
    table: np.ndarray,
    data: dict[str, np.ndarray],
    attrs: dict,
):
    """Arrange per-member results on the design's coordinates.

    Args:
        names: the swept parameters' names (dotted pytree paths), in design order.
        design: the design the table came from (a ``Grid`` gives one dimension per
            parameter; any other design a ``member`` dimension).
        table: parameter values, shape ``(members, parameters)``.
        data: per-member arrays, each of shape ``(members, ...)``, including ``status``.
        attrs: attributes stored on the Dataset (strings and numbers).

    Returns:
        The ``xarray.Dataset``.
    """
    import xarray as xr

    shape = design.shape
    if shape is not None:
        dims = tuple(names)
        coords = {
            name: (name, np.asarray(values))
            for name, values in zip(names, design.values.values(), strict=True)
        }
    else:
        shape, dims = (table.shape[0],), ("member",)
        coords = {"member": ("member", np.arange(table.shape[0]))}
        coords.update({name: ("member", table[:, j]) for j, name in enumerate(names)})
    variables = {}
    for var, array in data.items():
        extra = tuple(f"{var}_dim{k}" for k in range(array.ndim - 1))
        variables[var] = (dims + extra, array.reshape(tuple(shape) + array.shape[1:]))
    dataset = xr.Dataset(variables, coords=coords, attrs=attrs)
    dataset["status"].attrs["meaning"] = attrs.get("status_codes", "")
    return dataset


def write_netcdf(dataset, path: str | os.PathLike) -> None:
    """Write ``dataset`` to a netCDF4 file atomically (temporary name, then ``os.replace``)."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    dataset.to_netcdf(tmp, engine="netcdf4")
    os.replace(tmp, path)
