"""Validation helpers shared by the families: numbers, integers, float arrays, flags and named
choices, with errors that name the parameter.

Kinds and values
----------------
Every message starts with the parameter's name as the caller wrote it, then ``": "``.

* A parameter of the wrong *kind* raises :class:`ParameterTypeError`, which is a ``TypeError``
  and a ``ValueError`` at once (so ``except ValueError`` keeps catching it): a complex number,
  a string or bytes (``"1"`` is not a number), a ``datetime64`` or ``timedelta64``, ``None``,
  a bool where a number is expected, an array of dtype object (whatever it holds), a list
  holding anything but numbers, an array where one number is expected, any other object, or
  a torch tensor that cannot be read (below).
* A parameter of the right kind and a wrong *value* raises ``ValueError``: out of range, not
  integral, not finite where that is required, or an integer beyond what the code can hold
  (``10**400`` as a float, a count above a documented maximum).

Numbers are Python ints and floats, NumPy integer and floating scalars, 0-d arrays of them,
and, for the array validators, arrays, lists and tuples of them (a list may hold Python ints
beyond int64; an array of dtype object is refused whatever it holds).

Torch tensors
-------------
``theory`` never imports torch; a tensor is recognised by the module of its type.  The rule:
a tensor on the CPU that does not require grad is read like a NumPy array of its values (its
dtype then decides, as for any array: a complex tensor is still a wrong kind).  A tensor that
requires grad, lives on another device, or has a dtype NumPy cannot hold is refused with a
:class:`ParameterTypeError`; it is never detached or copied to the CPU on the caller's behalf
(theory values are not differentiable, and a silent detach would hide that).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["ParameterTypeError", "is_tensor", "plain", "integer", "integers", "number", "instance",
           "positive_number", "floats", "positive_floats", "flag", "choice",
           "distinct_points", "sample_counts"]


class ParameterTypeError(TypeError, ValueError):
    """A parameter of the wrong kind (see the module docstring): a ``TypeError`` and, so that
    ``except ValueError`` handlers keep working, a ``ValueError``."""


_SHOWN = 60  # characters of a value quoted in a message


def _shown(x) -> str:
    """``repr(x)``, cut short (a 400-digit integer or a large array stays readable)."""
    text = repr(x)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


def is_tensor(x) -> bool:
    """True for a torch tensor (or a subclass such as a parameter), by its type's module."""
    module = getattr(type(x), "__module__", "") or ""
    return module == "torch" or module.startswith("torch.")


def _kind(x) -> str:
    """A few words saying what ``x`` is, for messages about a wrong kind."""
    if x is None:
        return "None"
    if isinstance(x, (bool, np.bool_)):
        return f"the bool {x!r}"
    if isinstance(x, (complex, np.complexfloating)):
        return f"the complex number {_shown(x)}"
    if isinstance(x, (str, np.str_)):
        return f"the string {_shown(x)}"
    if isinstance(x, (bytes, np.bytes_)):
        return f"the bytes {_shown(x)}"
    if isinstance(x, (np.datetime64, np.timedelta64)):
        return f"the date/time value {_shown(x)}"
    if is_tensor(x):
        return f"a torch tensor of shape {tuple(x.shape)}"
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"{_shown(x)} (of type {type(x).__name__})"


def _wrong_kind(name, x, expected) -> ParameterTypeError:
    return ParameterTypeError(f"{name}: expected {expected} (got {_kind(x)})")


def _tensor_values(name, x) -> np.ndarray:
    """The values of a CPU tensor that does not require grad, as a NumPy array (see the
    module docstring); any other tensor is a :class:`ParameterTypeError`."""
    if getattr(x, "requires_grad", False):
        raise ParameterTypeError(f"{name}: a torch tensor that requires grad is not accepted "
                                 f"(pass tensor.detach(); theory values are not differentiable)")
    device = getattr(getattr(x, "device", None), "type", "cpu")
    if device != "cpu":
        raise ParameterTypeError(f"{name}: a torch tensor on the {device} device is not "
                                 f"accepted (pass tensor.cpu())")
    try:
        return np.asarray(x.numpy())
    except (TypeError, RuntimeError, ValueError, AttributeError):
        raise ParameterTypeError(f"{name}: a torch tensor of dtype {getattr(x, 'dtype', '?')} "
                                 f"cannot be read as numbers") from None


def plain(name: str, x):
    """``x`` with a torch tensor replaced by a NumPy array of its values (the rule of the
    module docstring: a tensor that requires grad or is not on the CPU is refused); an array
    of dtype object is a :class:`ParameterTypeError` whatever it holds; anything else is
    returned as it is."""
    if is_tensor(x):
        return _tensor_values(name, x)
    if isinstance(x, np.ndarray) and x.dtype.kind == "O":
        raise _wrong_kind(name, x, "numbers (an array of dtype object is not accepted)")
    return x


def _tensor_inside(name, x) -> None:
    """Raise the tensor's own error when a list or tuple ``x`` holds an unreadable tensor, and
    a :class:`ParameterTypeError` when it holds an array of dtype object."""
    plain(name, x)
    if isinstance(x, (list, tuple)):
        for item in x:
            _tensor_inside(name, item)


#: Not numbers, whatever NumPy's class tree says (``timedelta64`` is a NumPy integer).
_NOT_NUMBERS = (bool, np.bool_, np.datetime64, np.timedelta64)


def _scalar(name, x):
    """``x`` with a tensor replaced by its values and a 0-d array of numbers (or of complex
    numbers and dates, refused by the caller) by its NumPy scalar; an object array stays an
    array (a wrong kind)."""
    if is_tensor(x):
        x = _tensor_values(name, x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "biufcmM":
        x = x[()]
    return x


# --------------------------------------------------------------------------- scalars
def number(name: str, x) -> float:
    """``x`` as a float (NaN and infinities included): a Python or NumPy int or float, a 0-d
    array or CPU tensor of one.  A bool, complex number, string, bytes, date, ``None``, array
    or other object is a :class:`ParameterTypeError`; an int beyond the float64 range is a
    ``ValueError``."""
    v = _scalar(name, x)
    if isinstance(v, _NOT_NUMBERS):
        raise _wrong_kind(name, x, "a number")
    if isinstance(v, (int, np.integer)):
        try:
            return float(v)
        except OverflowError:
            raise ValueError(f"{name}: {_shown(x)} is beyond the float64 range") from None
    if isinstance(v, (float, np.floating)):
        return float(v)
    raise _wrong_kind(name, x, "a number")


def positive_number(name: str, x, allow_zero: bool = False) -> float:
    """:func:`number`, finite and ``> 0`` (``>= 0`` with ``allow_zero``)."""
    v = number(name, x)
    if not (math.isfinite(v) and (v >= 0 if allow_zero else v > 0)):
        raise ValueError(f"{name}: must be a finite number {'>=' if allow_zero else '>'} 0 "
                         f"(got {_shown(x)})")
    return v


def integer(name: str, x, low: int | None = None, high: int | None = None, *,
            strict: bool = False) -> int:
    """``x`` as an int: a Python or NumPy integer (a 0-d array or CPU tensor of one), or
    unless ``strict`` a float with an integral value; ``low <= x <= high`` where given.

    A bool, complex number, string, bytes, date, ``None``, array or other object (and, when
    ``strict``, a float) is a :class:`ParameterTypeError`; a float that is not integral or
    not finite, or a value outside the bounds, is a ``ValueError``."""
    v = _scalar(name, x)
    if isinstance(v, _NOT_NUMBERS):
        raise _wrong_kind(name, x, "an integer")
    if isinstance(v, (int, np.integer)):
        v = int(v)
    elif isinstance(v, (float, np.floating)) and not strict:
        if not (math.isfinite(v) and float(v).is_integer()):
            raise ValueError(f"{name}: must be an integer (got {_shown(x)})")
        v = int(v)
    else:
        raise _wrong_kind(name, x, "an integer")
    if low is not None and v < low:
        raise ValueError(f"{name}: must be an integer >= {low} (got {_shown(x)})")
    if high is not None and v > high:
        raise ValueError(f"{name}: must be an integer <= {high} (got {_shown(x)})")
    return v


def integers(name: str, values, low: int | None = None, high: int | None = None, *,
             strict: bool = False) -> list[int]:
    """Every entry of ``values`` (a scalar, a sequence, an array or a CPU tensor) through
    :func:`integer`."""
    values = plain(name, values)
    try:
        flat = np.atleast_1d(np.asarray(values, dtype=object)).ravel().tolist()
    except Exception:  # noqa: BLE001 - ragged or odd input
        raise ValueError(f"{name}: expected integers (got {_shown(values)})") from None
    return [integer(name, v, low, high, strict=strict) for v in flat]


def instance(name: str, x, cls):
    """``x`` itself when it is a ``cls``, else a :class:`ParameterTypeError` naming ``name``
    (for the settings and targets an entry point takes)."""
    if not isinstance(x, cls):
        raise ParameterTypeError(f"{name}: expected {_article(cls.__name__)} {cls.__name__} "
                                 f"(got {type(x).__name__})")
    return x


def _article(word: str) -> str:
    """"an" before a vowel sound (also an acronym's letter read "ar", "ef", "em", ...)."""
    acronym = len(word) > 1 and word[1].isupper()
    return "an" if word[0] in ("AEFHILMNORSX" if acronym else "AEIOU") else "a"


def flag(name: str, x) -> bool:
    """``x`` as a bool: ``True``, ``False``, a NumPy bool or a 0-d array of one; anything else
    (``1``, ``"yes"``, an array of several) is a :class:`ParameterTypeError`."""
    v = _scalar(name, x)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise _wrong_kind(name, x, "True or False")


def choice(name: str, x, options) -> str:
    """``x`` if it is a string among ``options``; a non-string (an array of names included) is
    a :class:`ParameterTypeError`, an unknown string a ``ValueError`` listing the options."""
    if not isinstance(x, str):
        raise _wrong_kind(name, x, f"one of {', '.join(map(repr, options))}")
    if x not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))} "
                         f"(got {x!r})")
    return x


# --------------------------------------------------------------------------- arrays
_ARRAY_KINDS = {"b": "bools", "c": "complex numbers", "U": "strings", "S": "bytes",
                "M": "dates (datetime64)", "m": "time spans (timedelta64)",
                "V": "structured records"}


def _object_floats(name, x, arr) -> np.ndarray:
    """An object array of real numbers (ints beyond int64, fractions) as floats."""
    out = np.empty(arr.shape, dtype=float)
    flat = out.reshape(-1)
    for i, item in enumerate(arr.reshape(-1)):
        if is_tensor(item):
            item = _scalar(name, item)
        if isinstance(item, _NOT_NUMBERS) or not isinstance(item, numbers.Real):
            raise ParameterTypeError(f"{name}: expected numbers (got {_kind(item)} among "
                                     f"them)")
        try:
            flat[i] = float(item)
        except OverflowError:
            raise ValueError(f"{name}: {_shown(item)} is beyond the float64 range") from None
        except (TypeError, ValueError):
            raise ParameterTypeError(f"{name}: expected numbers (got {_kind(item)} among "
                                     f"them)") from None
    return out


def floats(name: str, x) -> np.ndarray:
    """``x`` as a float64 array: a number, or an array, list or tuple of numbers (ints, floats,
    NumPy scalars, CPU tensors; see the module docstring).  Bools, complex numbers, strings,
    bytes, dates, ``None`` and other objects are a :class:`ParameterTypeError`; a ragged list
    or an int beyond the float64 range a ``ValueError``.  Values are converted exactly as
    ``np.asarray(x, dtype=float)`` does (a float64 array is returned as it is)."""
    x = plain(name, x)
    try:
        arr = np.asarray(x)
    except (TypeError, RuntimeError):
        _tensor_inside(name, x)
        raise _wrong_kind(name, x, "a number or an array of numbers") from None
    except (ValueError, OverflowError):
        _tensor_inside(name, x)
        raise ValueError(f"{name}: expected a number or an array of numbers, not a ragged "
                         f"sequence (got {_shown(x)})") from None
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(float)
    if kind == "f":
        with np.errstate(over="ignore"):  # a long double beyond float64 becomes inf
            return arr.astype(float, copy=False)
    if kind == "O":  # a list holding ints beyond int64, or things that are not numbers
        _tensor_inside(name, x)
        return _object_floats(name, x, arr)
    raise ParameterTypeError(f"{name}: expected numbers (got "
                             f"{_ARRAY_KINDS.get(kind, f'dtype {arr.dtype}')}: {_shown(x)})")


def positive_floats(name: str, x) -> np.ndarray:
    """:func:`floats` with every entry finite and ``> 0``."""
    arr = floats(name, x)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name}: must be finite and > 0 (got {_shown(x)})")
    return arr


def distinct_points(name: str, x, at_least: int = 2) -> np.ndarray:
    """The abscissae ``x`` of a fit (a line needs two): finite floats with at least
    ``at_least`` distinct values, else a ``ValueError`` naming ``name``."""
    arr = floats(name, x).ravel()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: the abscissae of a fit must be finite (got {_shown(x)})")
    if np.unique(arr).size < at_least:
        raise ValueError(f"{name}: a fit needs at least {at_least} distinct abscissae "
                         f"(got {_shown(x)})")
    return arr


def sample_counts(name: str, N, low: int = 1) -> np.ndarray:
    """Validate a sample count (or an array of them): integers ``>= low`` and below 2^62
    (integer or integral float values of any kind :func:`floats` accepts),
    returned as int64."""
    low = integer("low", low)
    as_float = floats(name, N)          # the kind: numbers only
    arr = as_float if is_tensor(N) else np.asarray(N)
    if arr.dtype.kind not in "iu":      # floats, or integers beyond int64 (object)
        if not (np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float))):
            raise ValueError(f"{name}: sample counts must be integers (got {N!r})")
        arr = as_float
    if np.any(arr < low):
        raise ValueError(f"{name}: sample counts must be >= {low} (got {N!r})")
    if np.any(arr > 2**62):
        raise ValueError(f"{name}: sample counts must be below 2^62 (got {N!r})")
    return arr.astype(np.int64)
