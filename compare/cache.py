"""A content-addressed result cache on disk, safe against interruption and corruption.

An entry is one file ``ROOT/ab/abcdef….pkl`` named by the hex SHA-256 of its key.  Its
layout is a fixed magic line, the hex SHA-256 of the payload, a newline, and the payload (a
pickle of ``{"key": ..., "value": ..., "created": ...}``).  Writes go to a temporary file in
the same directory, are flushed to disk and renamed over the entry (an atomic replace on
POSIX and Windows), so a process killed at any moment leaves either the old state or the
complete new entry, never a partial one.  Reads check the magic, the digest and that the
stored key is the key asked for; anything else (a truncated file, flipped bytes, a stray
file) counts as ``corrupt``, is deleted and reported as a miss, so it is recomputed and
never read as data.

Keys are built by :func:`task_key` from a canonical form of the arguments (dataclasses,
NumPy arrays, floats with their exact bits) and the code version of the function's
module (:func:`code_version`: a hash of every ``theory``/``simulate``/``compare`` source
file that module imports, directly or not), so editing the code a result depends on
invalidates it, and editing unrelated families does not.
"""
from __future__ import annotations

import ast
import dataclasses
import datetime as _dt
import enum
import hashlib
import importlib.util
import json
import math
import os
import pickle
import tempfile
import functools
from functools import lru_cache

import numpy as np

__all__ = ["ResultCache", "default_cache_dir", "task_key", "key_digest", "code_version",
           "source_closure", "canonical"]

_MAGIC = b"lowdim-cache 1\n"
_PACKAGES = ("theory", "simulate", "compare")


def default_cache_dir() -> str:
    """``$LOWDIM_CACHE`` if set, else ``$XDG_CACHE_HOME/lowdim-diffusion`` (``~/.cache``)."""
    env = os.environ.get("LOWDIM_CACHE")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lowdim-diffusion")


# --------------------------------------------------------------------------- keys
def canonical(obj):
    """A JSON-able form of ``obj`` that is equal exactly when the arguments are equal.

    Floats keep their exact bits (``float.hex``); arrays keep dtype and shape; dataclasses
    are keyed by their class and public fields (fields starting with ``_`` are caches), as
    are plain objects of this package's modules (cached properties left out); objects with
    a ``recipe`` (derived activations) by it; module-level functions and ufuncs by their
    qualified name.  Anything else raises ``TypeError``
    rather than being keyed by an unstable ``repr``.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return {"f": x.hex()} if math.isfinite(x) else {"f": repr(x)}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return {"array": str(obj.dtype), "shape": list(obj.shape),
                "data": [canonical(v) for v in obj.ravel().tolist()]}
    if isinstance(obj, (list, tuple)):
        return {"seq": type(obj).__name__, "items": [canonical(v) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": [[str(k), canonical(obj[k])] for k in sorted(obj, key=str)]}
    if isinstance(obj, enum.Enum):
        return {"enum": f"{type(obj).__qualname__}.{obj.name}"}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if getattr(obj, "recipe", None) is not None:  # derived objects: how to rebuild them
            return {"recipe": canonical(obj.recipe)}
        fields = {f.name: canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                  if not f.name.startswith("_")}
        return {"dataclass": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "fields": fields}
    if isinstance(obj, np.ufunc):
        return {"ufunc": obj.__name__}
    if callable(obj) and hasattr(obj, "__qualname__"):
        if "<" in obj.__qualname__:
            raise TypeError(f"cannot key a cached result on a lambda or closure "
                            f"({obj.__module__}.{obj.__qualname__}); use a module-level function")
        return {"callable": f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"}
    if type(obj).__module__ == "torch" and type(obj).__name__ in ("device", "dtype"):
        return {"torch": str(obj)}
    cls = type(obj)
    if cls.__module__.split(".")[0] in _PACKAGES and hasattr(obj, "__dict__"):
        # a plain object of ours: its public attributes (cached properties are derived)
        fields = {k: canonical(v) for k, v in sorted(vars(obj).items())
                  if not k.startswith("_")
                  and not isinstance(getattr(cls, k, None), functools.cached_property)}
        return {"object": f"{cls.__module__}.{cls.__qualname__}", "fields": fields}
    raise TypeError(f"cannot key a cached result on an argument of type {cls.__name__}")


def _module_file(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return spec.origin


def _imports_of(name: str, path: str) -> set[str]:
    """Module names of ours that the source file ``path`` (module ``name``) imports."""
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), filename=path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # submodules imported by name
    return {m for m in found if m.split(".")[0] in _PACKAGES}


@lru_cache(maxsize=None)
def _closure(module: str) -> tuple:
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        seen[name] = path or ""
        if path is None:
            continue
        todo.extend(_imports_of(name, path))
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return tuple(sorted((n, p) for n, p in seen.items() if p))


def source_closure(module: str) -> list[str]:
    """Modules of ours whose source ``module`` depends on: itself, what it imports
    (at any depth, function-level imports included) and their parent packages."""
    return [name for name, _ in _closure(module)]


@lru_cache(maxsize=None)
def code_version(module: str) -> str:
    """Hash of the source files of :func:`source_closure` of ``module``: editing any of them
    changes it, editing another family's files does not."""
    h = hashlib.sha256()
    for name, path in _closure(module):
        h.update(name.encode() + b"\0")
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()[:16]


def task_key(fn, kwargs: dict, **context) -> dict:
    """The key document of ``fn(**kwargs)``: function, code version, arguments, context."""
    module = fn.__module__
    return {"function": f"{module}.{fn.__qualname__}", "code": code_version(module),
            "kwargs": canonical(kwargs), "context": canonical(context)}


def key_digest(key: dict) -> str:
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- store
class ResultCache:
    """Results on disk under ``root`` (see the module docstring for the format).

    ``stats`` counts ``hits``, ``misses``, ``writes`` and ``corrupt`` entries found (and
    removed) since construction.
    """

    def __init__(self, root: str | None = None):
        self.root = os.path.abspath(root or default_cache_dir())
        self.stats = {"hits": 0, "misses": 0, "writes": 0, "corrupt": 0}

    def path(self, digest: str) -> str:
        return os.path.join(self.root, digest[:2], f"{digest}.pkl")

    def get(self, key: dict):
        """``(True, value)`` for a sound entry, ``(False, None)`` otherwise."""
        digest = key_digest(key)
        path = self.path(digest)
        try:
            with open(path, "rb") as fh:
                blob = fh.read()
        except FileNotFoundError:
            self.stats["misses"] += 1
            return False, None
        record = self._decode(blob, key)
        if record is None:
            self.stats["corrupt"] += 1
            self.stats["misses"] += 1
            try:
                os.remove(path)
            except OSError:
                pass
            return False, None
        self.stats["hits"] += 1
        return True, record["value"]

    @staticmethod
    def _decode(blob: bytes, key: dict):
        n = len(_MAGIC)
        if not blob.startswith(_MAGIC) or len(blob) < n + 65 or blob[n + 64:n + 65] != b"\n":
            return None
        digest, payload = blob[n:n + 64], blob[n + 65:]
        if hashlib.sha256(payload).hexdigest().encode() != digest:
            return None
        try:
            record = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - any unpickling failure is corruption
            return None
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        return record

    def put(self, key: dict, value) -> str:
        """Store ``value`` under ``key`` atomically; returns the entry's path."""
        digest = key_digest(key)
        path = self.path(digest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        record = {"key": key, "value": value,
                  "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        payload = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        blob = _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise
        self.stats["writes"] += 1
        return path

    def entries(self) -> list[str]:
        """Paths of the entries present (temporary files of interrupted writes excluded)."""
        out = []
        if not os.path.isdir(self.root):
            return out
        for sub in sorted(os.listdir(self.root)):
            d = os.path.join(self.root, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".pkl")]
        return out

    def clear(self) -> int:
        """Remove every entry and leftover temporary file; returns how many files went."""
        removed = 0
        if not os.path.isdir(self.root):
            return 0
        for sub in os.listdir(self.root):
            d = os.path.join(self.root, sub)
            if not os.path.isdir(d) or len(sub) != 2:
                continue
            for f in os.listdir(d):
                if f.endswith(".pkl") or f.startswith(".tmp-"):
                    os.remove(os.path.join(d, f))
                    removed += 1
        return removed
