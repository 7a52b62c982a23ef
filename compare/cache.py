"""A content-addressed result cache on disk: data only, safe against interruption, corruption
and crafted files, and touching only its own files.

The cache is a folder marked as such by a ``CACHEDIR.TAG`` file (the Cache Directory
Tagging convention, so backup tools skip it too).  An entry is one file
``ROOT/ab/abcdef….ldc`` named by the hex SHA-256 of its key.  Its layout is a magic line,
a one-line JSON header (the key's digest, the payload's SHA-256 and length, the time of
writing), and the payload: the value as a JSON tree, a newline, and an ``.npz`` archive of
its NumPy arrays.  Nothing in an entry is ever unpickled or run: arrays are loaded with
``allow_pickle=False`` and the JSON tree can only rebuild plain data (numbers, strings,
lists, tuples, dicts, arrays, :class:`~lowdim.compare.table.Table`).

Writes go to a temporary file in the same folder, are flushed and renamed over the entry,
so a process killed at any moment leaves either the old state or the complete new entry.
Reads open only regular files (no links, FIFOs or devices) up to a size limit, check the
magic and that the header names the key asked for before anything else, then the payload's
digest, and only then decode it.  An entry that fails a check counts as ``corrupt``, is
deleted and recomputed; one that is not a regular file is skipped.  A cache that cannot be
written (read-only, full, a file where a folder should be) makes the run go on without it,
with one warning.  Clearing removes only files recognised by folder, name and header.

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
import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import stat
import tempfile
import warnings
from functools import lru_cache

import numpy as np

__all__ = ["ResultCache", "CacheWarning", "default_cache_dir", "task_key", "key_digest",
           "code_version", "source_closure", "canonical", "MARKER", "import_targets"]

_MAGIC = b"lowdim-cache 2\n"
_LEGACY_MAGIC = b"lowdim-cache 1\n"   # the pickled format of earlier releases: never read
_HEADER_MAX = 4096
_PACKAGE = "lowdim."  # our modules: lowdim.theory, lowdim.simulate, lowdim.compare
SUFFIX = ".ldc"
MARKER = "CACHEDIR.TAG"
_MARKER_LINE = b"# lowdim-diffusion result cache"
_MARKER_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                "# lowdim-diffusion result cache: data only (JSON and NumPy arrays).\n"
                "# `lowdim cache --clear` removes its entries and nothing else.\n")
MAX_ENTRY_BYTES = 1 << 30


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
    if cls.__module__.startswith(_PACKAGE) and hasattr(obj, "__dict__"):
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


def _lazy_target(node) -> str | None:
    """``"mod"`` for a ``LazyModule("mod")`` call (an import deferred to first use)."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    arg = node.args[0]
    if called == "LazyModule" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def import_targets(source, module: str, is_package: bool = False) -> list:
    """Every import of a source file (text or bytes) of the module ``module``, as
    ``(line, imported module, names)``: ``names`` are those of ``from m import a, b`` (empty
    for ``import m`` and for a deferred ``LazyModule("m")``), and relative imports are
    resolved against ``module`` (a package's ``__init__`` when ``is_package``).  Imports
    inside functions count; nothing is imported."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.append((node.lineno, mod, tuple(a.name for a in node.names)))
        elif (lazy := _lazy_target(node)) is not None:
            found.append((node.lineno, lazy, ()))
    return found


def _imports_of(name: str, path: str) -> set[str]:
    """Module names of ours that the source file ``path`` (module ``name``) imports,
    deferred imports (:class:`lowdim.compare._lazy.LazyModule`) included."""
    with open(path, "rb") as fh:
        source = fh.read()
    found = set()
    for _, mod, names in import_targets(source, name, path.endswith("__init__.py")):
        found.add(mod)
        found.update(f"{mod}.{n}" for n in names)  # submodules imported by name
    return {m for m in found if m.startswith(_PACKAGE)}


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


# --------------------------------------------------------------------------- values
class CacheWarning(UserWarning):
    """The cache could not be used as asked; the run goes on without it (message says why)."""


def _encode(obj, arrays: list):
    """A JSON tree for ``obj``, its arrays appended to ``arrays`` (see :func:`_decode`).

    Kept: None, bools, ints, floats (NaN and infinities included), strings, lists, tuples,
    dicts (any encodable keys), NumPy arrays of numbers, bools or strings and NumPy scalars,
    and :class:`lowdim.compare.table.Table`.  Anything else raises ``TypeError``: the cache stores
    data, never objects that would have to be rebuilt by running code."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufcUSMm":
            raise TypeError(f"cannot store an array of dtype {arr.dtype}")
        arrays.append(arr)
        return {"$array" if isinstance(obj, np.ndarray) else "$scalar": len(arrays) - 1}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        return {"$dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    from .table import Table

    if type(obj) is Table:
        return {"$table": [_encode(obj.columns, arrays), _encode(obj.rows, arrays),
                           _encode(obj.meta, arrays)]}
    raise TypeError(f"cannot store a value of type {type(obj).__module__}."
                    f"{type(obj).__qualname__} in the cache (data only)")


def _hashable(x):
    return x if not isinstance(x, list) else tuple(_hashable(v) for v in x)


def _decode(node, arrays: dict):
    """The inverse of :func:`_encode`; a malformed tree raises ``ValueError``."""
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (tag, body), = node.items()
        if tag in ("$array", "$scalar"):
            arr = arrays[f"a{int(body)}"]
            return arr if tag == "$array" else arr[()]
        if tag == "$tuple":
            return tuple(_decode(v, arrays) for v in body)
        if tag == "$dict":
            return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in body}
        if tag == "$table":
            from .table import Table

            columns, rows, meta = (_decode(v, arrays) for v in body)
            return Table(columns, rows, meta)
        if tag.startswith("$"):
            raise ValueError(f"unknown tag {tag!r}")
    return {k: _decode(v, arrays) for k, v in node.items()}


def _pack(value) -> bytes:
    """``value`` as bytes: its JSON tree, a newline, then an ``.npz`` of its arrays."""
    arrays: list = []
    tree = json.dumps(_encode(value, arrays), separators=(",", ":"), allow_nan=True)
    buf = io.BytesIO()
    np.savez(buf, **{f"a{i}": a for i, a in enumerate(arrays)})
    return tree.encode() + b"\n" + buf.getvalue()


def _unpack(payload: bytes):
    head, sep, blob = payload.partition(b"\n")
    if not sep:
        raise ValueError("no value tree")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return _decode(json.loads(head), arrays)


# --------------------------------------------------------------------------- store
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SUB = re.compile(r"[0-9a-f]{2}")
_TMP = ".ldc-tmp-"


def _open_regular(path: str):
    """``(fd, size)`` for a regular file at ``path``, opened without following a symbolic
    link and without blocking on a FIFO; ``None`` when it is anything else.
    ``FileNotFoundError`` and ``NotADirectoryError`` propagate (no entry)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError:  # a symbolic link (ELOOP), no permission, ...
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st.st_size


def _read_prefix(path: str, n: int) -> bytes:
    """The first ``n`` bytes of a regular file (``b""`` for anything else)."""
    try:
        opened = _open_regular(path)
    except OSError:
        return b""
    if opened is None:
        return b""
    fd, _ = opened
    with os.fdopen(fd, "rb") as fh:
        return fh.read(n)


class ResultCache:
    """Results on disk under ``root`` (see the module docstring for the format).

    ``max_entry_bytes``: entries larger than this are skipped (and recomputed) rather than
    read.  ``warn(message)``: called once per kind of problem that makes the cache fall back
    to computing without it (default: :class:`CacheWarning` through :mod:`warnings`).

    ``stats`` counts ``hits``, ``misses``, ``writes``, ``corrupt`` entries found (and
    removed), ``skipped`` entries that were not regular files or too large, and
    ``write_errors`` since construction.
    """

    def __init__(self, root: str | None = None, *, max_entry_bytes: int = MAX_ENTRY_BYTES,
                 warn=None):
        self.root = os.path.abspath(root or default_cache_dir())
        self.max_entry_bytes = int(max_entry_bytes)
        self.stats = {"hits": 0, "misses": 0, "writes": 0, "corrupt": 0, "skipped": 0,
                      "write_errors": 0}
        self._warn_fn = warn
        self._warned: set = set()
        self._state: str | None = None   # None: not looked at yet; "ok"; or why not usable

    # ------------------------------------------------------------------ the folder
    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        if self._warn_fn is not None:
            self._warn_fn(message)
        else:
            warnings.warn(message, CacheWarning, stacklevel=4)

    def is_marked(self) -> bool:
        """Whether ``root`` carries this cache's marker file."""
        return _MARKER_LINE in _read_prefix(os.path.join(self.root, MARKER), 4096)

    def _legacy_or_empty(self) -> bool:
        """True when ``root`` holds nothing, or only entries of the previous format (and
        their temporary files): a folder that may be adopted as a cache."""
        for sub in os.listdir(self.root):
            d = os.path.join(self.root, sub)
            if not (_SUB.fullmatch(sub) and os.path.isdir(d) and not os.path.islink(d)):
                return False
            for f in os.listdir(d):
                if not (f.startswith(".tmp-") or (f.endswith(".pkl")
                                                   and _DIGEST.fullmatch(f[:-4]))):
                    return False
                if f.endswith(".pkl") and not _read_prefix(os.path.join(d, f), 32) \
                        .startswith(_LEGACY_MAGIC):
                    return False
        return True

    def _check(self, create: bool) -> str:
        """``"ok"`` when ``root`` is a cache folder of ours (made one when ``create`` and it
        is missing or empty), else the reason it cannot be used."""
        if os.path.isdir(self.root):
            if self.is_marked():
                return "ok"
            try:
                adoptable = self._legacy_or_empty()
            except OSError as exc:
                return f"cannot read {self.root} ({exc.strerror or exc})"
            if not adoptable:
                return (f"{self.root} holds files that are not a lowdim cache (no {MARKER} "
                        f"marker)")
            if not create:
                return "no marker yet"
        elif os.path.lexists(self.root):
            return f"{self.root} is not a folder"
        elif not create:
            return "missing"
        try:
            os.makedirs(self.root, exist_ok=True)
            _write_atomic(os.path.join(self.root, MARKER), _MARKER_TEXT.encode())
        except OSError as exc:
            return f"cannot write to {self.root} ({exc.strerror or exc})"
        return "ok"

    def _usable(self) -> bool:
        if self._state is None:
            self._state = self._check(create=True)
            if self._state != "ok":
                self._warn("unusable", f"cache: {self._state}; running without a cache")
        return self._state == "ok"

    def writable(self) -> tuple[bool, str]:
        """``(ok, why)``: whether entries can be written under ``root`` now, found by writing
        (and removing) a probe file where entries go, not by looking at permissions."""
        state = self._check(create=True)
        if state != "ok":
            return False, state
        sub = os.path.join(self.root, "00")
        probe = os.path.join(sub, f"{_TMP}probe-{os.getpid()}")
        try:
            os.makedirs(sub, exist_ok=True)
            _write_atomic(probe, b"probe")           # the way entries are written
            os.remove(probe)
        except OSError as exc:
            return False, f"cannot write to {sub} ({exc.strerror or exc})"
        return True, "yes"

    # ------------------------------------------------------------------ entries
    def path(self, digest: str) -> str:
        return os.path.join(self.root, digest[:2], f"{digest}{SUFFIX}")

    def get(self, key: dict):
        """``(True, value)`` for a sound entry, ``(False, None)`` otherwise.

        The file must be a regular file (not a link, FIFO or device) no larger than
        ``max_entry_bytes``; its header must name ``key``'s digest, and its payload must
        match the recorded SHA-256, before any of the payload is decoded."""
        if not self._usable():
            self.stats["misses"] += 1
            return False, None
        digest = key_digest(key)
        path = self.path(digest)
        try:
            opened = _open_regular(path)
        except OSError:  # no entry (or a file where a subfolder should be)
            self.stats["misses"] += 1
            return False, None
        if opened is None or opened[1] > self.max_entry_bytes:
            if opened is not None:
                os.close(opened[0])
            self.stats["skipped"] += 1
            self.stats["misses"] += 1
            self._warn("skipped", f"cache: skipped {path} (not a regular file, or larger than "
                                  f"{self.max_entry_bytes} bytes); recomputing")
            return False, None
        fd, size = opened
        with os.fdopen(fd, "rb") as fh:
            found, value = self._read(fh, size, digest)
        if not found:
            self.stats["corrupt"] += 1
            self.stats["misses"] += 1
            try:
                os.remove(path)
            except OSError:
                pass
            return False, None
        self.stats["hits"] += 1
        return True, value

    @staticmethod
    def _read(fh, size: int, digest: str):
        """``(True, value)`` from an open entry, ``(False, None)`` if it is not sound."""
        head = fh.readline(len(_MAGIC) + 1)
        if head != _MAGIC:
            return False, None
        line = fh.readline(_HEADER_MAX + 1)
        if not line.endswith(b"\n"):
            return False, None
        try:
            header = json.loads(line)
            ok = (isinstance(header, dict) and header.get("key") == digest
                  and isinstance(header.get("bytes"), int)
                  and header["bytes"] == size - len(_MAGIC) - len(line))
        except ValueError:
            ok = False
        if not ok:                             # the key is checked before anything else
            return False, None
        payload = fh.read(header["bytes"])
        if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            return False, None
        try:
            return True, _unpack(payload)
        except Exception:  # noqa: BLE001 - a payload that does not decode is corruption
            return False, None

    def put(self, key: dict, value) -> str | None:
        """Store ``value`` under ``key`` atomically; returns the entry's path, or ``None``
        (with one warning) when the value is not plain data or the entry cannot be written:
        the caller keeps its result either way."""
        if not self._usable():
            return None
        try:
            payload = _pack(value)
        except TypeError as exc:
            self._warn(f"type:{exc}", f"cache: {exc}; that result is not cached")
            return None
        digest = key_digest(key)
        path = self.path(digest)
        header = json.dumps({"key": digest, "sha256": hashlib.sha256(payload).hexdigest(),
                             "bytes": len(payload),
                             "created": _dt.datetime.now(_dt.timezone.utc)
                             .isoformat(timespec="seconds")}).encode() + b"\n"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_atomic(path, _MAGIC + header + payload)
        except OSError as exc:
            self.stats["write_errors"] += 1
            self._warn("write", f"cache: cannot write entries under {self.root} "
                                f"({exc.strerror or exc}); results are kept but not cached")
            return None
        self.stats["writes"] += 1
        return path

    def _files(self):
        """``(path, kind)`` of this cache's own files: ``entry``, ``legacy`` (the previous,
        pickled format, never read) and ``tmp`` (a write that was interrupted).  Files are
        recognised by folder, name and header; links and anything else are left alone."""
        if not os.path.isdir(self.root) or os.path.islink(self.root):
            return
        for sub in sorted(os.listdir(self.root)):
            d = os.path.join(self.root, sub)
            if not _SUB.fullmatch(sub) or os.path.islink(d) or not os.path.isdir(d):
                continue
            for f in sorted(os.listdir(d)):
                p = os.path.join(d, f)
                if f.endswith(SUFFIX) and _DIGEST.fullmatch(f[:-len(SUFFIX)]) \
                        and f.startswith(sub):
                    if _read_prefix(p, len(_MAGIC)) == _MAGIC:
                        yield p, "entry"
                elif f.endswith(".pkl") and _DIGEST.fullmatch(f[:-4]):
                    if _read_prefix(p, len(_LEGACY_MAGIC)) == _LEGACY_MAGIC:
                        yield p, "legacy"
                elif f.startswith((_TMP, ".tmp-")):
                    st = os.lstat(p)
                    if stat.S_ISREG(st.st_mode) and (f.startswith(_TMP) or _read_prefix(
                            p, len(_LEGACY_MAGIC)) in (b"", _LEGACY_MAGIC[:st.st_size])):
                        yield p, "tmp"

    def entries(self) -> list[str]:
        """Paths of the entries present (temporary files and foreign files excluded)."""
        return [p for p, kind in self._files() if kind == "entry"]

    def clear(self) -> int:
        """Remove this cache's entries, old-format entries and leftover temporary files;
        returns how many files went.  Nothing else is touched: a folder without the marker
        (that is not empty or an old-format cache) raises ``ValueError`` and loses nothing."""
        if not os.path.isdir(self.root):
            return 0
        if not self.is_marked() and not self._legacy_or_empty():
            raise ValueError(f"dir: {self.root} is not a lowdim cache (no {MARKER} marker); "
                             f"nothing removed")
        removed = 0
        for p, _ in list(self._files()):
            os.remove(p)
            removed += 1
        for sub in os.listdir(self.root):
            d = os.path.join(self.root, sub)
            if _SUB.fullmatch(sub) and os.path.isdir(d) and not os.path.islink(d):
                try:
                    os.rmdir(d)        # only when empty
                except OSError:
                    pass
        return removed


def _write_atomic(path: str, blob: bytes) -> None:
    """Write ``blob`` to a temporary file beside ``path``, flush it to disk and rename it
    over ``path``; the temporary file is removed if anything fails or interrupts."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP, dir=os.path.dirname(path))
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
