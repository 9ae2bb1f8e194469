"""The identity of a sweep: a hash of everything that fixes its results.

A sweep written to a folder records this hash; rerunning into the folder resumes only if the
hash is the same, so a changed function, model or design never reuses old chunks. The hash
is a SHA-256 over a canonical walk of the objects, stable across processes (no ``id()``,
memory addresses, line numbers or set order enter it). It covers:

- values: numbers (exact bits), strings, bytes, ``None``; NumPy and JAX arrays by dtype,
  shape and bytes (PRNG keys by their implementation and key data); tuples, lists and dicts
  element by element, in order; sets of plain values, sorted;
- objects: their class and every field, for dataclasses and ``eqx.Module`` (static fields
  included), NamedTuples, other JAX pytree nodes (children and auxiliary data) and plain
  objects (their ``__dict__`` and ``__slots__``);
- functions: the bytecode, constants and names (not the line numbers), default and
  keyword-default arguments, the values in the closure cells, every global the code reads
  (and attributes of modules of the user's own code that it reads), and attributes set on
  the function, recursively through nested functions, ``functools.partial``, bound methods
  and wrappers (``functools.wraps``, ``jax.jit``); the user's own classes by their bases
  and the code of their methods.

Code of installed packages (the standard library, third-party packages and this toolkit)
is identified by its qualified name and the package's version. Modules are identified by
their name only. What the walk cannot identify (an open file, a lock, a traced value...)
raises :class:`Unidentifiable`, naming where it was found.
"""

import builtins
import dataclasses
import dis
import enum
import functools
import hashlib
import importlib.metadata
import site
import struct
import sys
import sysconfig
import types
from typing import Any

import jax
import jax.random as jr
import numpy as np

# Class attributes that say nothing about behaviour (documentation, annotations, caches of
# abc and dataclasses whose content is covered by the instances' fields) or hold line numbers.
_CLASS_NOISE = frozenset(
    {
        "__dict__",
        "__weakref__",
        "__module__",
        "__qualname__",
        "__doc__",
        "__annotations__",
        "__dataclass_fields__",
        "__dataclass_params__",
        "__abstractmethods__",
        "__abstractvars__",
        "__abstractclassvars__",
        "_abc_impl",
        "__parameters__",
        "__orig_bases__",
        "__firstlineno__",
        "__static_attributes__",
    }
)
_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_ATTRS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


class Unidentifiable(Exception):
    """An object the identity cannot cover; ``where`` says how it was reached."""

    def __init__(self, where: str, what: str):
        super().__init__(f"{where} is {what}")
        self.where, self.what = where, what


@functools.cache
def _site_dirs() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    paths.update(getattr(site, "getsitepackages", list)())
    return tuple(sorted(paths))


@functools.cache
def _distributions() -> dict:
    return importlib.metadata.packages_distributions()


@functools.cache
def library_version(module_name: str) -> str | None:
    """``"package==version"`` if ``module_name`` belongs to an installed package, else None.

    The standard library counts as installed (with Python's version); so does a package
    installed in development mode under its own distribution name (this toolkit).
    """
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return "python==" + ".".join(map(str, sys.version_info[:3]))
    file = getattr(sys.modules.get(module_name), "__file__", None) or ""
    installed = bool(file) and file.startswith(_site_dirs())
    names = [top]
    if installed and not _has_distribution(top):
        # The import name differs from the distribution's (``yaml`` from PyYAML).
        names = _distributions().get(top, []) or [top]
    for name in names:
        if _has_distribution(name):
            return f"{name}=={importlib.metadata.version(name)}"
    return f"{top}==unknown" if installed else None


@functools.cache
def _has_distribution(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _named(obj: Any) -> str | None:
    """``module.qualname@version`` of a module-level object of an installed package."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    version = library_version(module)
    if version is None:
        return None
    target = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return f"{module}.{qualname}@{version}" if target is obj else None


def _global_reads(code: types.CodeType) -> set[tuple[str, tuple[str, ...]]]:
    """Globals read by ``code`` and nested code, each with the attributes read from it."""
    reads, chain = set(), None
    for instruction in dis.get_instructions(code):
        if instruction.opname in _LOADS:
            if chain:
                reads.add((chain[0], tuple(chain[1:])))
            chain = [instruction.argval]
        elif instruction.opname in _ATTRS and chain:
            chain.append(instruction.argval)
        elif instruction.opname not in ("CACHE", "EXTENDED_ARG", "PRECALL") and chain:
            reads.add((chain[0], tuple(chain[1:])))
            chain = None
    if chain:
        reads.add((chain[0], tuple(chain[1:])))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            reads |= _global_reads(const)
    return reads


class Hasher:
    """A SHA-256 over a canonical, process-independent walk of Python objects."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._seen: dict[int, int] = {}
        self._alive: list = []  # keeps walked objects alive, so that no id() is reused

    def token(self, tag: str, data: bytes | memoryview | str = b"") -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        self._hash.update(tag.encode() + b"\0" + memoryview(data).nbytes.to_bytes(8, "little"))
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def value(self, obj: Any, where: str) -> None:
        """Add ``obj``; ``where`` names it in an :class:`Unidentifiable` error."""
        if isinstance(obj, enum.Enum):
            self.value(type(obj), where)
            self.token("enum", obj.name)
        elif isinstance(obj, _PLAIN):
            self._plain(obj)
        elif obj is Ellipsis:
            self.token("ellipsis")
        elif id(obj) in self._seen:
            self.token("ref", str(self._seen[id(obj)]))
        else:
            self._seen[id(obj)] = len(self._seen)
            self._alive.append(obj)
            self._object(obj, where)

    def _plain(self, obj: Any) -> None:
        if obj is None or isinstance(obj, bool):
            self.token(repr(obj))
        elif isinstance(obj, int):
            self.token("int", str(obj))
        elif isinstance(obj, float):
            self.token("float", struct.pack("<d", obj))
        elif isinstance(obj, complex):
            self.token("complex", struct.pack("<dd", obj.real, obj.imag))
        else:
            self.token(type(obj).__name__, obj)

    def _object(self, obj: Any, where: str) -> None:  # noqa: C901 -- one dispatch table
        if isinstance(obj, jax.core.Tracer):
            raise Unidentifiable(where, "a traced value (the sweep was called inside jit/vmap)")
        if isinstance(obj, jax.Array | np.ndarray | np.generic):
            self._array(obj, where)
        elif isinstance(obj, np.dtype):
            self.token("dtype", str(obj))
        elif isinstance(obj, list | tuple):
            if type(obj) not in (list, tuple):  # a NamedTuple: its class too
                self.value(type(obj), f"the type of {where}")
            self.token("list" if isinstance(obj, list) else "tuple", str(len(obj)))
            for i, item in enumerate(obj):
                self.value(item, f"{where}[{i}]")
        elif isinstance(obj, dict | types.MappingProxyType):
            if type(obj) is not dict:
                self.value(type(obj), f"the type of {where}")
            self.token("dict", str(len(obj)))
            for k, v in obj.items():
                self.value(k, f"a key of {where}")
                self.value(v, f"{where}[{k!r}]")
        elif isinstance(obj, set | frozenset):
            if not all(isinstance(x, _PLAIN) for x in obj):
                raise Unidentifiable(where, "a set of objects other than numbers and strings")
            self.token("set", str(len(obj)))
            for item in sorted(obj, key=lambda x: (type(x).__name__, repr(x))):
                self._plain(item)
        elif isinstance(obj, types.ModuleType):
            self.token("module", obj.__name__)
        elif isinstance(obj, types.CodeType):
            self._code(obj, where)
        elif isinstance(obj, type):
            self._class(obj, where)
        elif isinstance(obj, functools.partial):
            self.token("partial")
            self.value(obj.func, f"{where}.func")
            self.value(obj.args, f"{where}.args")
            self.value(obj.keywords, f"{where}.keywords")
        elif isinstance(obj, types.MethodType):
            self.token("method")
            self.value(obj.__self__, f"{where}.__self__")
            self.value(obj.__func__, where)
        elif isinstance(obj, staticmethod | classmethod):
            self.token(type(obj).__name__)
            self.value(obj.__func__, where)
        elif isinstance(obj, property):
            self.token("property")
            for part in ("fget", "fset", "fdel"):
                self.value(getattr(obj, part), f"{where}.{part}")
        elif (name := _named(obj)) is not None:
            self.token("named", name)
        elif isinstance(obj, types.FunctionType):
            self._function(obj, where)
        else:
            self._instance(obj, where)

    def _array(self, obj: Any, where: str) -> None:
        if isinstance(obj, jax.Array) and not obj.is_fully_addressable:
            raise Unidentifiable(where, "an array not held by this process")
        if isinstance(obj, jax.Array) and jax.dtypes.issubdtype(obj.dtype, jax.dtypes.prng_key):
            self.token("key", str(obj.dtype))
            obj = jr.key_data(obj)
        array = np.asarray(obj)
        if array.dtype.hasobject:
            raise Unidentifiable(where, "a NumPy array of Python objects")
        self.token("array", f"{array.dtype.str}{array.shape}")
        self.token("data", memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8)))

    def _code(self, code: types.CodeType, where: str) -> None:
        self.token("code", code.co_qualname)
        counts = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)
        self.token("counts", repr(counts + (code.co_flags,)))
        self.token("bytecode", code.co_code)
        self.token("exceptions", code.co_exceptiontable)
        for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
            self.token("names", "\0".join(names))
        self.token("consts", str(len(code.co_consts)))
        for const in code.co_consts:
            self.value(const, f"a constant of {where}")

    def _function(self, fn: types.FunctionType, where: str) -> None:
        self.token("function", f"{fn.__module__}.{fn.__qualname__}")
        self._code(fn.__code__, where)
        self.value(fn.__defaults__, f"a default argument of {where}")
        self.value(fn.__kwdefaults__, f"a keyword default of {where}")
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            self.token("free", name)
            try:
                contents = cell.cell_contents
            except ValueError:  # a cell not yet filled (a name defined after the function)
                self.token("empty")
            else:
                self.value(contents, f"the closure variable `{name}` of {where}")
        namespace = fn.__globals__
        for name, attrs in sorted(_global_reads(fn.__code__)):
            self.token("global", name)
            if name not in namespace:
                self.token("builtin" if hasattr(builtins, name) else "unbound")
                continue
            obj, path = namespace[name], name
            # Values read from modules of the user's own code (``params.TAU``) are part
            # of the function's behaviour; an installed package's are named by version.
            for attr in attrs:
                if not isinstance(obj, types.ModuleType) or library_version(obj.__name__):
                    break
                obj, path = getattr(obj, attr, None), f"{path}.{attr}"
                self.token("attr", attr)
            self.value(obj, f"the global `{path}` read by {where}")
        if fn.__dict__:
            self.value(dict(sorted(fn.__dict__.items())), f"an attribute of {where}")

    def _class(self, cls: type, where: str) -> None:
        name = _named(cls)
        version = library_version(cls.__module__)
        if name is not None or version is not None:  # an installed package's class
            self.token("class", name or f"{cls.__module__}.{cls.__qualname__}@{version}")
            return
        self.token("class", f"{cls.__module__}.{cls.__qualname__}")
        for base in cls.__bases__:
            self.value(base, f"a base of {cls.__qualname__}")
        for attr, value in sorted(vars(cls).items()):
            code = getattr(value, "__code__", None)
            if attr in _CLASS_NOISE or (
                # Methods that dataclasses generate follow from the fields, which the
                # instances' own walk covers.
                code is not None and code.co_qualname.startswith("__create_fn__")
            ):
                continue
            self.token("attr", attr)
            self.value(value, f"{cls.__qualname__}.{attr}")

    def _instance(self, obj: Any, where: str) -> None:
        cls = type(obj)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and library_version(cls.__module__) is not None:
            # An installed package's wrapper (jax.jit, eqx.filter_jit): the function it wraps.
            self.token("wrapper", f"{cls.__module__}.{cls.__qualname__}")
            self.value(wrapped, where)
            return
        self.value(cls, f"the type of {where}")
        if isinstance(obj, np.ufunc):
            self.token("ufunc", obj.__name__)
        elif dataclasses.is_dataclass(obj):
            for field in dataclasses.fields(obj):
                self.token("field", field.name)
                self.value(getattr(obj, field.name, None), f"{where}.{field.name}")
        elif not _is_leaf(obj):
            children, treedef = jax.tree_util.tree_flatten(obj, is_leaf=lambda x: x is not obj)
            text = str(treedef)
            if " at 0x" in text:
                raise Unidentifiable(where, f"a pytree whose structure is not printable: {text}")
            self.token("pytree", text)
            for i, child in enumerate(children):
                self.value(child, f"{where} (child {i})")
        elif cls is object:
            self.token("object")  # a bare sentinel: no state
        elif hasattr(obj, "__dict__") or hasattr(cls, "__slots__"):
            state = dict(getattr(obj, "__dict__", {}))
            for klass in cls.__mro__:
                for slot in getattr(klass, "__slots__", ()):
                    if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                        state[slot] = getattr(obj, slot)
            self.token("state", str(len(state)))
            for attr, value in state.items():
                self.token("attr", attr)
                self.value(value, f"{where}.{attr}")
        else:
            kind = f"{cls.__module__}.{cls.__qualname__}"
            raise Unidentifiable(where, f"an object of type {kind} with no fields to read")


def _is_leaf(obj: Any) -> bool:
    return jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(obj))
