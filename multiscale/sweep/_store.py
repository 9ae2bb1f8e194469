"""The on-disk record of a sweep: a manifest of its identity and finished chunks.

Layout of an output folder::

    manifest.json          identity hash, sizes, finished chunks (rewritten atomically)
    chunks/chunk_000000.npz  outputs and status of members [0, chunk_size), ...
    sweep.nc               the assembled xarray Dataset, once every chunk is done

Every file is written to a temporary name in the same folder, flushed to disk and then
renamed with ``os.replace`` (atomic on POSIX), so a killed process leaves either the
previous complete file or the new complete file, never half of one. A chunk file that
exists is therefore finished; the manifest's ``done`` list mirrors them.
"""

import io
import json
import os
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import jax
import jax.random as jr
import numpy as np

from ._identity import Hasher, Unidentifiable

_FORMAT = 2
"""Version of the folder layout and of the identity hash (1: before closures, defaults,
globals and static fields entered the identity; such folders are refused as different)."""
_MARK = "multiscale_sweep"
_CONFIG = ("jax_enable_x64", "jax_default_prng_impl", "jax_threefry_partitionable")


def fn_name(fn: Callable) -> str:
    """``module.qualname`` of a function (or its class for a callable object)."""
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def sweep_identity(fn: Callable, model: Any, names: list[str], fingerprint: dict, key: Any) -> str:
    """A SHA-256 hash of everything that fixes a sweep's results.

    It covers ``fn`` and ``model`` completely, as described in ``_identity`` (code,
    closures, defaults, globals read, every field and array value, static fields), the
    swept parameters' names, the design's kind and values, the key, JAX's version and the
    JAX settings that change numbers (64-bit mode, PRNG implementation). Chunking, devices
    and memory budget are left out on purpose: they do not change the results.

    Raises:
        Unidentifiable: if ``fn`` or ``model`` holds something the hash cannot cover.
    """
    h = Hasher()
    h.token("format", str(_FORMAT))
    h.token("jax", jax.__version__)
    for name in _CONFIG:
        h.token(name, repr(getattr(jax.config, name, None)))
    try:
        h.value(fn, "`fn`")
        h.value(model, "`model`")
    except RecursionError:
        raise Unidentifiable("`fn` or `model`", "nested too deeply to walk") from None
    h.token("names", json.dumps(names))
    h.token("design", json.dumps([fingerprint["kind"], fingerprint["shape"]]))
    table = np.ascontiguousarray(fingerprint["table"], dtype=np.float64)
    h.token("table", f"{table.shape}".encode() + table.tobytes())
    h.token("key", str(key.dtype).encode() + key_bytes(key))
    return h.hexdigest()


def key_bytes(key: Any) -> bytes:
    """The raw bits of a PRNG key, typed (``jr.key``) or legacy uint32 (``jr.PRNGKey``)."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jr.key_data(key)
    return np.asarray(key).tobytes()


def atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Store:
    """A sweep's output folder: checks its identity, records and loads finished chunks.

    The folder is written only if it is new or empty, holds this same sweep (it then
    resumes, keeping its chunk size: ``chunk_size`` is not ``None``), or ``overwrite`` is
    true (the sweep's own files are then deleted first; other files are left alone).
    A folder holding a different sweep, a sweep whose identity could not be computed, or
    other files, is refused.

    Args:
        folder: the output folder.
        manifest: this sweep's manifest (``identity`` is ``None`` when ``fn`` or ``model``
            cannot be identified; ``unidentified`` then says why).
        overwrite: delete a previous sweep's files in ``folder`` and start afresh.
        follower: a process of a ``jax.distributed`` run opening the folder after process 0
            checked it and wrote this run's manifest.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        manifest: dict,
        *,
        overwrite: bool = False,
        follower: bool = False,
    ):
        self.folder = pathlib.Path(folder)
        self.chunks = self.folder / "chunks"
        self.manifest = dict(manifest, chunk_size=None, n_chunks=None)
        self.manifest[_MARK] = _FORMAT
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"`out` must be a folder, but {self.folder} is a file")
        if overwrite and not follower:
            self._clear()
        old = self._read_manifest()
        if old is None:
            if not (follower or overwrite) and self.folder.exists() and any(self.folder.iterdir()):
                raise ValueError(
                    f"the `out` folder {self.folder} is not empty and holds no sweep; choose "
                    f"an empty or new folder (nothing is ever overwritten), or pass "
                    f"overwrite=True to write the sweep's files among the others"
                )
            return
        if follower and old.get("identity") == manifest["identity"]:
            pass  # The leader checked the folder and wrote this run's manifest.
        elif manifest["identity"] is None or old.get("identity") is None:
            reason = manifest.get("unidentified") or old.get("unidentified")
            raise ValueError(
                f"cannot tell whether the sweep in the `out` folder {self.folder} was made by "
                f"this same `fn` and `model`: {reason}. Resuming could reuse stale results, "
                f"so it is refused. Pass overwrite=True to discard that folder's results and "
                f"start afresh, or choose another `out` folder; to make the sweep resumable, "
                f"pass such values through the model or as plain numbers and arrays"
            )
        elif old["identity"] != manifest["identity"]:
            raise ValueError(
                f"the `out` folder {self.folder} holds a different sweep (fn "
                f"{old.get('fn')!r}, parameters {old.get('parameters')}, "
                f"{old.get('n_members')} members, format {old.get(_MARK)}): its function, "
                f"model, design or key differ from this one's, so its results cannot be "
                f"reused. Choose another `out` folder, or pass overwrite=True to replace it"
            )
        # Chunking is not part of the identity; a resumed sweep keeps the old one so that
        # its finished chunks stay valid.
        self.manifest.update(chunk_size=old["chunk_size"], n_chunks=old["n_chunks"])

    def _read_manifest(self) -> dict | None:
        """The folder's manifest, ``None`` if there is none; raises if it is not a sweep's."""
        path = self.folder / "manifest.json"
        if not path.exists():
            return None
        try:
            old = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            old = None
        if not isinstance(old, dict) or not ({"identity", "chunk_size", "n_chunks"} <= set(old)):
            raise ValueError(
                f"the `out` folder {self.folder} holds a manifest.json that is not a sweep's "
                f"manifest; it is never overwritten: choose another `out` folder, or pass "
                f"overwrite=True to replace it"
            )
        return old

    def _clear(self) -> None:
        """Delete the files a sweep writes (and nothing else) from the folder."""
        if not self.folder.exists():
            return
        for name in ("manifest.json", "sweep.nc"):
            (self.folder / name).unlink(missing_ok=True)
        for tmp in self.folder.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
        if self.chunks.is_dir():
            for path in self.chunks.iterdir():
                if path.name.startswith(("chunk_", ".chunk_")):
                    path.unlink()
            if not any(self.chunks.iterdir()):
                shutil.rmtree(self.chunks)

    def start(self, chunk_size: int, n_chunks: int) -> None:
        """Create the folder and record the chunking (kept from before when resuming)."""
        self.manifest.update(chunk_size=chunk_size, n_chunks=n_chunks)
        self.chunks.mkdir(parents=True, exist_ok=True)
        if jax.process_index() == 0:
            self._write_manifest()

    @property
    def chunk_size(self) -> int | None:
        return self.manifest["chunk_size"]

    def _chunk_path(self, index: int) -> pathlib.Path:
        return self.chunks / f"chunk_{index:06d}.npz"

    def done(self) -> set[int]:
        """Indices of the chunks whose files are complete on disk."""
        return {
            int(p.stem.split("_")[1])
            for p in self.chunks.glob("chunk_*.npz")
            if p.stem.split("_")[1].isdigit()
        }

    def save_chunk(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write one finished chunk atomically, then record it in the manifest."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(self._chunk_path(index), buffer.getvalue())
        if jax.process_count() == 1:
            self._write_manifest()

    def load_chunk(self, index: int) -> dict[str, np.ndarray]:
        with np.load(self._chunk_path(index)) as data:
            return {k: data[k] for k in data.files}

    def _write_manifest(self) -> None:
        self.manifest["done"] = sorted(self.done())
        text = json.dumps(self.manifest, indent=1)
        atomic_write_bytes(self.folder / "manifest.json", text.encode())

    def finish(self) -> None:
        """Record the final manifest (by the first process only)."""
        if jax.process_index() == 0:
            self._write_manifest()
