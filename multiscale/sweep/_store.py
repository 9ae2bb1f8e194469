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

import hashlib
import json
import os
import pathlib
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.random as jr
import numpy as np

_FORMAT = 1


def fn_name(fn: Callable) -> str:
    """``module.qualname`` of a function (or its class for a callable object)."""
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(fn))}"


def sweep_identity(fn: Callable, model: Any, names: list[str], fingerprint: dict, key: Any) -> str:
    """A SHA-256 hash of everything that fixes a sweep's results.

    It covers the function's name and bytecode (or a callable object's repr), the model's
    structure and parameter values, the swept parameters' names, the design's kind and
    values, and the key. Chunking, devices and budget are left out on purpose: they do not
    change the results. Values a closure captures are not covered.
    """
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + len(data).to_bytes(8, "little") + data)

    add("format", str(_FORMAT).encode())
    add("fn", fn_name(fn).encode())
    # The name alone does not tell two lambdas apart; their bytecode and constants do.
    # (Values a closure captures are not covered: pass them through the model instead.)
    code = getattr(fn, "__code__", None)
    if code is not None:
        add("code", _code_bytes(code))
    else:
        add("callable", _stable(repr(fn)))  # A callable object: its fields tell it apart.
    leaves, treedef = jax.tree_util.tree_flatten(model)
    add("treedef", _stable(str(treedef)))
    for leaf in leaves:
        if isinstance(leaf, jax.Array | np.ndarray | np.generic):
            array = np.asarray(leaf)
            add("leaf", f"{array.dtype}{array.shape}".encode() + array.tobytes())
        else:
            add("leaf", _stable(repr(leaf)))
    add("names", json.dumps(names).encode())
    add("design", json.dumps([fingerprint["kind"], fingerprint["shape"]]).encode())
    add("table", np.ascontiguousarray(fingerprint["table"], dtype=np.float64).tobytes())
    add("key", key_bytes(key))
    return h.hexdigest()


def key_bytes(key: Any) -> bytes:
    """The raw bits of a PRNG key, typed (``jr.key``) or legacy uint32 (``jr.PRNGKey``)."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jr.key_data(key)
    return np.asarray(key).tobytes()


def _stable(text: str) -> bytes:
    """``text`` without memory addresses (``<function f at 0x7f...>``), which vary by process."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text).encode()


def _code_bytes(code: Any) -> bytes:
    """Bytecode and constants of a code object, nested code objects included.

    Not ``repr(co_consts)``: a nested code object's repr holds its memory address, which
    changes between processes and would make a resumed sweep look different.
    """
    parts = [code.co_code]
    for const in code.co_consts:
        parts.append(_code_bytes(const) if hasattr(const, "co_code") else _stable(repr(const)))
    return b"\0".join(parts)


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

    Opening a folder that holds a different sweep raises; opening one that holds the same
    sweep keeps its chunk size (``chunk_size`` is then not ``None``) so that it resumes.
    """

    def __init__(self, folder: str | os.PathLike, manifest: dict):
        self.folder = pathlib.Path(folder)
        self.chunks = self.folder / "chunks"
        path = self.folder / "manifest.json"
        self.manifest = dict(manifest, chunk_size=None, n_chunks=None)
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("identity") != manifest["identity"]:
                raise ValueError(
                    f"the output folder {self.folder} holds a different sweep "
                    f"(fn {old.get('fn')!r}, parameters {old.get('parameters')}, "
                    f"{old.get('n_members')} members); it is never overwritten. Choose "
                    f"another `out` folder, or delete this one to start afresh."
                )
            # Chunking is not part of the identity; a resumed sweep keeps the old one so
            # that its finished chunks stay valid.
            self.manifest.update(chunk_size=old["chunk_size"], n_chunks=old["n_chunks"])
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise ValueError(
                f"the output folder {self.folder} is not empty and holds no sweep manifest; "
                f"choose an empty or new folder so that nothing is overwritten"
            )

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
        import io

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
