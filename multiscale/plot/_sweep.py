"""Figures of parameter sweeps: a readout over two swept parameters."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def sweep_heatmap(
    dataset,
    variable: str,
    *,
    x: str | None = None,
    y: str | None = None,
    failed_color: str = "0.8",
    colorbar: bool = True,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """A readout of a sweep as a function of two swept parameters.

    A grid sweep (a Dataset with one dimension per parameter) is drawn as a heatmap; a
    random or quasi-random sweep (a ``member`` dimension) as points coloured by the
    readout. Members whose ``status`` is not 0 (diverged or failed) are drawn in
    ``failed_color`` rather than with their value.

    Args:
        dataset: the ``xarray.Dataset`` returned by :func:`multiscale.sweep.sweep` (or
            read back from its ``sweep.nc``).
        variable: the readout to colour by (a scalar per member).
        x, y: the parameters on the axes (default: the first two swept parameters; a grid
            with more parameters must be reduced first, e.g. ``ds.isel(alpha=0)``).
        failed_color: colour of failed members.
        colorbar: add a colour bar labelled with ``variable``.
        ax: axes to draw on (the current axes if ``None``).
        **kwargs: passed to ``pcolormesh`` (grid) or ``scatter`` (members).

    Returns:
        The Axes.
    """
    ax = plt.gca() if ax is None else ax
    data = dataset[variable]
    status = dataset["status"] if "status" in dataset else None
    if "member" in data.dims:
        if data.ndim != 1:
            raise ValueError(f"`{variable}` must be one value per member, got dims {data.dims}")
        params = [c for c in dataset.coords if c != "member" and dataset[c].dims == ("member",)]
        x, y = (x or params[0]), (y or params[1 if x is None else 0])
        ok = np.ones(data.shape, bool) if status is None else status.values == 0
        xs, ys = dataset[x].values, dataset[y].values
        artist = ax.scatter(xs[ok], ys[ok], c=data.values[ok], **kwargs)
        ax.scatter(xs[~ok], ys[~ok], c=failed_color, marker="x", label="failed")
    else:
        x = x or data.dims[0]
        y = y or next(d for d in data.dims if d != x)
        if data.ndim != 2:
            raise ValueError(
                f"`{variable}` has dims {data.dims}; select all but two swept parameters "
                f"first, e.g. ds.isel(...)"
            )
        values = data.transpose(y, x).values.astype(float)
        if status is not None:
            failed = status.transpose(y, x).values != 0
            values = np.ma.masked_array(values, mask=failed | ~np.isfinite(values))
        ax.set_facecolor(failed_color)
        artist = ax.pcolormesh(dataset[x].values, dataset[y].values, values, **kwargs)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if colorbar:
        ax.figure.colorbar(artist, ax=ax, label=variable)
    return ax
