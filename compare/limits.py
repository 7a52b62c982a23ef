"""Resource limits of the command line, checked from the arguments before any work.

Two budgets guard every action that computes:

* **memory**: the estimated peak of what an action allocates (arrays, tensors, table rows; not
  the libraries themselves) must stay below the machine's physical memory (or the memory
  limit of its control group) times :data:`MEMORY_FRACTION`.  ``--max-memory SIZE`` or the
  environment variable :data:`MEMORY_ENV` (``4G``, ``512M``, ``1.5GiB``, ``2e9``) set
  another budget.
* **work**: the estimated number of floating-point operations (counted as the dense linear
  algebra an action amounts to, so that a slow inner loop counts for more) must stay below
  :data:`DEFAULT_WORK` (1e15), about 5 hours on two CPU cores (:data:`REFERENCE_RATE`) and
  minutes on a large GPU.  ``--max-work OPS`` or :data:`WORK_ENV` set another budget; an
  accepted run above :data:`NOTE_WORK` is announced with its rough duration.

The estimates are deliberately rough (within a factor of a few) and err on the large side;
their job is to refuse requests that cannot finish (a typo such as ``1e9`` for ``1e3``), not
to predict run times.  A refusal is a ``ValueError`` naming the option responsible, as the
user typed it: the option whose return to its default shrinks the estimate most
(:func:`check_footprint`).  Besides, :data:`MAX_VALUES` caps the number of values one list or
range option may expand to and :data:`MAX_INT` the integers a size or count may take, so
that nothing is materialised, or handed to a backend, before it is counted.

This module imports neither torch nor scipy: the command line stays fast.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

__all__ = ["MEMORY_FRACTION", "MEMORY_ENV", "WORK_ENV", "DEFAULT_WORK", "NOTE_WORK",
           "REFERENCE_RATE", "MAX_VALUES", "MAX_INT", "MAX_SEED", "Footprint", "parse_size",
           "parse_work", "physical_memory", "memory_budget", "work_budget", "format_bytes",
           "duration", "require_memory", "require_work", "check_footprint", "check_integer"]

#: Share of the physical memory an action may plan to use by default.
MEMORY_FRACTION = 0.5
#: Environment variable overriding the memory budget (``4G``, ``512M``, ...).
MEMORY_ENV = "LOWDIM_MAX_MEMORY"
#: Environment variable overriding the work budget (floating-point operations, ``1e16``).
WORK_ENV = "LOWDIM_MAX_WORK"
#: Default work budget in floating-point operations: about 5 hours on two CPU cores.
DEFAULT_WORK = 1e15
#: Work above which the command line says, on stderr, that a run will take a while.
NOTE_WORK = 1e13
#: Operations per second of the reference machine (two CPU cores, float64 BLAS) used to turn
#: an estimate into a duration for messages.
REFERENCE_RATE = 5e10
#: Values one list or range option may expand to.
MAX_VALUES = 10**6
#: The largest size or count an integer option takes (the int32 range of the backends).
MAX_INT = 2**31 - 1
#: The largest seed (the generators take 63-bit seeds).
MAX_SEED = 2**63 - 1
#: Budget when the physical memory cannot be read.
FALLBACK_MEMORY = 8 * 2**30

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgtpe]?)(?:i?b)?\s*$", re.I)


@dataclass(frozen=True)
class Footprint:
    """What an action is estimated to need: ``nbytes`` at its peak and ``flops`` in all,
    with a few words each on what they are (``memory_what``, ``work_what``)."""

    nbytes: float
    flops: float
    memory_what: str
    work_what: str = ""

    def __post_init__(self):
        if not self.work_what:
            object.__setattr__(self, "work_what", self.memory_what)


def check_integer(name: str, value, low: int, high: int = MAX_INT) -> int:
    """``value`` as an int in ``[low, high]``, else ``ValueError`` naming ``name``.

    Accepts ints and strings of integers, including exact floats written like ``1e3``."""
    text = value
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    else:
        number = _integer_text(str(value))
    if number is None or not low <= number <= high:
        raise ValueError(f"{name}: must be an integer between {low} and {high} (got {text!r})")
    return number


def _integer_text(text: str):
    """An integer written as ``123``, ``-4`` or an exact ``1e3``; ``None`` otherwise."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return None
    if not math.isfinite(x) or not x.is_integer():
        return None
    return int(x)


def parse_size(text, name: str = "max-memory") -> int:
    """Bytes from ``4G``, ``512M``, ``1.5GiB``, ``64k`` or a plain number of bytes (``2e9``);
    units are binary (``1K = 1024``)."""
    match = _SIZE.match(str(text))
    value = float(match.group(1)) * _UNITS[match.group(2).lower()] if match else float("nan")
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{name}: expected a size like 4G, 512M or 2e9 (bytes), "
                         f"got {text!r}")
    return int(value)


def parse_work(text, name: str = "max-work") -> float:
    """A number of floating-point operations ``> 0`` (``1e16``)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a number of floating-point operations like 1e16, "
                         f"got {text!r}")
    return value


def _cgroup_limit():
    """The memory limit of this process's control group, or ``None``."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def physical_memory():
    """Bytes of physical memory (the control group's limit when lower), or ``None``."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    if not total or total <= 0:
        total = None
    limit = _cgroup_limit()
    if limit is not None:
        total = limit if total is None else min(total, limit)
    return total


def memory_budget(option=None) -> int:
    """The memory budget in bytes: ``option`` (the ``--max-memory`` text) when given, else
    :data:`MEMORY_ENV` when set, else physical memory times :data:`MEMORY_FRACTION`."""
    if option is not None:
        return parse_size(option, "max-memory")
    env = os.environ.get(MEMORY_ENV)
    if env is not None and env.strip():
        return parse_size(env, MEMORY_ENV)
    total = physical_memory()
    return int((FALLBACK_MEMORY if total is None else total) * MEMORY_FRACTION)


def work_budget(option=None) -> float:
    """The work budget in floating-point operations: ``option`` (``--max-work``), else
    :data:`WORK_ENV`, else :data:`DEFAULT_WORK`."""
    if option is not None:
        return parse_work(option, "max-work")
    env = os.environ.get(WORK_ENV)
    if env is not None and env.strip():
        return parse_work(env, WORK_ENV)
    return DEFAULT_WORK


def format_bytes(nbytes: float) -> str:
    """``1536 -> '1.5 KiB'``; GiB from 1 GiB on, larger units from 10 000 GiB."""
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40)):
        if nbytes >= 1e4 * 2**30 and nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes:.0f} bytes"


def duration(flops: float) -> str:
    """Rough wall time of ``flops`` on the reference machine, in words."""
    seconds = flops / REFERENCE_RATE
    for unit, size in (("years", 3.15e7), ("days", 86400.0), ("hours", 3600.0),
                       ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.2g} seconds"


def require_memory(nbytes: float, what: str, *, option: str = "max-memory",
                   budget: int | None = None) -> None:
    """Refuse (``ValueError`` naming ``option``) when ``nbytes`` exceed the memory budget."""
    budget = memory_budget() if budget is None else budget
    if not nbytes <= budget:
        raise ValueError(f"{option}: {what} needs about {format_bytes(nbytes)}, more than the "
                         f"budget of {format_bytes(budget)} (set --max-memory or {MEMORY_ENV} "
                         f"to raise it)")


def require_work(flops: float, what: str, *, option: str = "max-work",
                 budget: float | None = None) -> None:
    """Refuse (``ValueError`` naming ``option``) when ``flops`` exceed the work budget."""
    budget = work_budget() if budget is None else budget
    if not flops <= budget:
        raise ValueError(f"{option}: {what} is about {flops:.2g} floating-point operations "
                         f"(roughly {duration(flops)} on two CPU cores), more than the work "
                         f"budget of {budget:.2g} (set --max-work or {WORK_ENV} to raise it)")


def _quantity(value) -> bool:
    """Whether an option value is a size or count (a number, or text with digits such as a
    list or range), as opposed to a flag or a choice (``--learner trained``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and any(c.isdigit() for c in value)


def _culprit(estimate, values: dict, defaults: dict, field: str, fallback: str) -> str:
    """The size or count option whose return to its default shrinks
    ``getattr(estimate(...), field)`` most, spelled as typed (``psi_p -> psi-p``);
    ``fallback`` when none shrinks it."""
    defaults = defaults() if callable(defaults) else defaults
    base = getattr(estimate(values), field)
    best, best_value = fallback, base
    for key, default in defaults.items():
        if key not in values or values[key] == default or not _quantity(values[key]):
            continue
        try:
            value = getattr(estimate(dict(values, **{key: default})), field)
        except (ValueError, TypeError, OverflowError):
            continue
        if value < best_value:
            best, best_value = key.replace("_", "-"), value
    return best


def check_footprint(estimate, values: dict, defaults: dict, *, max_memory=None,
                    max_work=None) -> Footprint:
    """Estimate an action from its option ``values`` and refuse it when over a budget.

    ``estimate(values) -> Footprint`` reads the options it needs from the dict (option
    destinations, e.g. ``psi_p``) and raises a named ``ValueError`` on a malformed value.
    ``defaults`` holds every option's default (or is a function returning them, called only
    on a refusal); the refusal names the option whose return to
    its default shrinks the estimate most (``max-memory`` / ``max-work`` when none does).
    Returns the footprint when within both budgets.
    """
    mem_budget, flop_budget = memory_budget(max_memory), work_budget(max_work)
    fp = estimate(values)
    if not fp.nbytes <= mem_budget:
        option = _culprit(estimate, values, defaults, "nbytes", "max-memory")
        require_memory(fp.nbytes, fp.memory_what, option=option, budget=mem_budget)
    if not fp.flops <= flop_budget:
        option = _culprit(estimate, values, defaults, "flops", "max-work")
        require_work(fp.flops, fp.work_what, option=option, budget=flop_budget)
    return fp
