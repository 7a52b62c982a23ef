"""Results as tables and labelled arrays: ``to_pandas()`` and ``to_xarray()``.

Every public result type of the package (predictions, bounds, measurements, tables of
checks) derives from :class:`Tidy` and describes itself once, as a :class:`TidyData`: named
dimensions with their coordinate values, data variables over some of those dimensions,
further coordinates, and scalar metadata.  From that one description

* ``to_pandas()`` gives a :class:`pandas.DataFrame` in long form: one row per point of the
  result's table dimensions, the coordinates as columns first, then the variables, and the
  metadata in ``df.attrs``.  A variable over a dimension the table does not have (the
  per-time curves of a radius curve, say) goes to ``df.attrs`` as a list;
* ``to_xarray()`` gives an :class:`xarray.Dataset` with named dimensions, coordinates and
  variables, and the metadata in ``ds.attrs``.

A prediction on the grid of a setting (:func:`grid_data`) keeps the grid's own order in the
DataFrame; its Dataset has one dimension per varying parameter (``psi_n``, ``psi_p``, ``m``,
``t``, ``lam``, ...) when the grid is a full product of their values, and a ``point``
dimension otherwise.  Parameters that do not vary are scalar coordinates (and constant
columns), so that tables of several results concatenate.

The conventions:

* Values are float64; ``converged`` is bool; counts and status codes are int64.
* Where a point did not converge, its values are NaN in the output (the ``converged``,
  ``residual`` and ``status`` columns say why); the result object itself is not changed.
* netCDF: ``ds.to_netcdf(path, engine="scipy")`` writes netCDF3 through SciPy, with no netCDF
  library needed.  netCDF3 has no bool and no 64-bit integer: xarray stores ``converged`` as
  int8 and turns it back into bool when it reads the file, and writes int64 variables as
  int32 (counts, codes and the usual seeds are far below 2^31; xarray refuses a value that
  is not), which come back as int32.  Attributes are made storable by
  :func:`netcdf_attrs` (a bool attribute comes back as 0 or 1).
* CSV: ``df.to_csv(path, index=False)`` and ``pandas.read_csv(path)`` give the same columns
  and values back (``inf`` included); ``df.attrs`` is not written.

pandas and xarray are imported only when these methods are called, so a command that does
not convert starts as fast as before; they come with ``pip install 'lowdim-diffusion[tidy]'``.
"""
from __future__ import annotations

import copy
import importlib
import math
import numbers

import numpy as np

__all__ = ["Tidy", "TidyData", "grid_data", "records_data", "netcdf_attrs", "require"]

#: The dimension of a grid that is not a product of its parameters' values.
POINT = "point"


def require(module: str):
    """Import ``module`` (``"pandas"`` or ``"xarray"``), or raise ``ImportError`` naming the
    extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is needed to convert results (to_pandas / to_xarray): "
                          "pip install 'lowdim-diffusion[tidy]'") from exc


def _array(value) -> np.ndarray:
    """A NumPy array of ``value``; a torch tensor is detached and copied to the CPU (torch is
    never imported here)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    return arr


def _plain(value):
    """A NumPy scalar as the Python number it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def netcdf_attrs(attrs: dict) -> dict:
    """``attrs`` as netCDF3 can store them: strings, numbers and bools stay (netCDF3 keeps a
    bool as 0 or 1), a flat list of numbers becomes an array, ``None`` is left out, an
    integer beyond 32 bits becomes its decimal text, and anything else (dicts, lists of
    strings, nested lists) is written as JSON text."""
    import json

    out = {}
    for key, value in attrs.items():
        value = _plain(value)
        if value is None:
            continue
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) \
                and not _INT32[0] <= value <= _INT32[1]:
            out[str(key)] = str(value)
        elif isinstance(value, (str, bool, numbers.Number)):
            out[str(key)] = value
        else:
            arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
            if arr is not None and arr.ndim == 1 and arr.size and (
                    arr.dtype.kind == "f" or arr.dtype.kind in "biu"
                    and _INT32[0] <= arr.min() and arr.max() <= _INT32[1]):
                out[str(key)] = arr.astype(np.float64 if arr.dtype.kind == "f" else np.int32)
            else:
                out[str(key)] = json.dumps(value, default=_json_default)
    return out


#: The integers netCDF3 holds (32 bits).
_INT32 = (-2**31, 2**31 - 1)


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _as_list(value):
    """A variable's values for ``df.attrs``: a list (nested for several dimensions)."""
    return np.asarray(value).tolist()


class TidyData:
    """Named dimensions, variables, coordinates and metadata of one result.

    Parameters
    ----------
    dims : dict
        Dimension name -> its coordinate values (1-d), or ``None`` for a dimension that is
        only counted (no coordinate variable, no column).
    variables : dict
        Name -> ``(dims, values)`` with ``dims`` a tuple of dimension names (``()`` for a
        scalar) and ``values`` of the matching shape; a bare value is a scalar.
    coords : dict, optional
        Further coordinates, in the same form (a setting's constant parameters, labels).
    attrs : dict, optional
        Scalar metadata (messages, names, sizes).
    table : tuple of str, optional
        The dimensions of the DataFrame's rows (default: all of ``dims``).
    sizes : dict, optional
        The length of each dimension given as ``None`` (default: read off the variables).

    Methods ``to_pandas()`` and ``to_xarray()`` build the frame and the dataset (module
    docstring); :meth:`masked` sets values to NaN where a point did not converge.
    """

    def __init__(self, dims, variables, coords=None, attrs=None, *, table=None, sizes=None):
        self.dims = {str(k): (None if v is None else _array(v).ravel()) for k, v in dims.items()}
        self.sizes = dict(sizes or {})
        self.sizes.update({k: v.size for k, v in self.dims.items() if v is not None})
        self.variables, self.coords = {}, {}
        for k, v in variables.items():
            self.variables[k] = self._entry(k, v)
        for k, v in (coords or {}).items():
            self.coords[k] = self._entry(k, v)
        self.attrs = dict(attrs or {})
        self.table = tuple(self.dims if table is None else table)
        self._grid = None   # grid_data: the parameters, in the order they become dimensions

    def _entry(self, name, value):
        """``(dims, array)`` of a variable or coordinate, its lengths checked."""
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], tuple):
            dd, arr = value
        else:
            dd, arr = (), value
        arr = _array(arr)
        if arr.ndim != len(dd):
            raise ValueError(f"{name}: {arr.ndim} axes for the dimensions {dd}")
        for d, n in zip(dd, arr.shape):
            if d not in self.dims:
                raise ValueError(f"{name}: unknown dimension {d!r}")
            if self.sizes.setdefault(d, n) != n:
                raise ValueError(f"{name}: length {n} along {d!r}, expected {self.sizes[d]}")
        return tuple(dd), arr

    def size(self, dim: str) -> int:
        """The length of ``dim``."""
        return int(self.sizes.get(dim, 0))

    def masked(self, ok: str, names=None, *, keep=("residual", "status", "nit")) -> "TidyData":
        """Set the float variables ``names`` (default: every float variable but ``ok`` and
        ``keep``) to NaN where the bool variable ``ok`` is False; returns ``self``."""
        ok_dims, ok_values = self.variables[ok]
        if names is None:
            names = [k for k, (_, a) in self.variables.items()
                     if a.dtype.kind == "f" and k != ok and k not in keep]
        for name in names:
            dd, arr = self.variables[name]
            good = _broadcast(ok_values.astype(bool), ok_dims, dd, arr.shape)
            self.variables[name] = (dd, np.where(good, arr, np.nan))
        return self

    # ------------------------------------------------------------------ pandas
    def to_pandas(self):
        """A long-form :class:`pandas.DataFrame` (module docstring)."""
        pd = require("pandas")
        rows = self.table
        shape = tuple(self.size(d) for d in rows)
        columns, extra = {}, {}
        if rows:
            grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
            for d, g in zip(rows, grids):
                if self.dims[d] is not None:
                    columns[d] = self.dims[d][g.ravel()]
        for name, (dd, arr) in {**self.coords, **self.variables}.items():
            if set(dd) <= set(rows):
                columns[name] = _broadcast(arr, dd, rows, shape).ravel()
            else:
                extra[name] = _as_list(arr)
        n = int(np.prod(shape)) if rows else 1
        df = pd.DataFrame(columns, index=pd.RangeIndex(n))
        df.attrs = copy.deepcopy({**self.attrs, **extra})
        return df

    # ------------------------------------------------------------------ xarray
    def to_xarray(self):
        """An :class:`xarray.Dataset` with named dimensions (module docstring); its
        attributes are those of :func:`netcdf_attrs`."""
        xr = require("xarray")
        data = _split_mixed(self._dense() if self._grid is not None else self)
        coords = {d: (d, v) for d, v in data.dims.items() if v is not None}
        coords.update({k: (dd, a) for k, (dd, a) in data.coords.items()})
        variables = {k: (dd, a) for k, (dd, a) in data.variables.items()}
        return xr.Dataset(variables, coords=coords, attrs=netcdf_attrs(data.attrs))

    def _dense(self) -> "TidyData":
        """A grid's points on the product of its parameters' values, when they form one
        (each combination once); else the points as they are."""
        n = self.size(POINT)
        varying = [c for c in self._grid if self.coords[c][0] == (POINT,)]
        codes, values = {}, {}
        for c in varying:
            values[c], codes[c] = np.unique(self.coords[c][1], return_inverse=True)
        chosen, dependent = [], []
        for c in varying:
            (dependent if chosen and _determined(codes[c], [codes[k] for k in chosen])
             else chosen).append(c)
        sizes = [values[c].size for c in chosen]
        if math.prod(sizes) != n:
            return self
        flat = (np.ravel_multi_index([codes[c] for c in chosen], sizes) if chosen
                else np.zeros(n, dtype=np.int64))
        if np.unique(flat).size != n:
            return self

        def spread(arr):
            out = np.empty(n, dtype=arr.dtype)
            out[flat] = arr
            return out.reshape(sizes)

        dims = tuple(chosen)
        new = TidyData({c: values[c] for c in chosen}, {}, attrs=self.attrs)
        for c, (dd, arr) in self.coords.items():
            if c in chosen:
                continue
            new.coords[c] = (dims, spread(arr)) if dd == (POINT,) else (dd, arr)
        for k, (dd, arr) in self.variables.items():
            new.variables[k] = (dims, spread(arr)) if dd == (POINT,) else (dd, arr)
        return new


def _determined(code, by) -> bool:
    """Whether the integer codes ``code`` are a function of the codes ``by``."""
    groups = np.unique(np.stack(by, axis=1), axis=0, return_inverse=True)[1].ravel()
    pairs = np.unique(np.stack([groups, code], axis=1), axis=0)
    return pairs.shape[0] == np.unique(groups).size


def _broadcast(arr, dd, rows, shape):
    """``arr`` over the dimensions ``dd`` laid out over ``rows`` (a superset) of ``shape``."""
    arr = np.asarray(arr)
    if dd:
        arr = np.transpose(arr, [dd.index(r) for r in rows if r in dd])
    arr = arr.reshape([shape[i] if r in dd else 1 for i, r in enumerate(rows)])
    return np.broadcast_to(arr, shape)


def grid_data(coords: dict, variables: dict, attrs=None, *, ok: str | None = "converged",
              keep=("residual", "status", "nit")) -> TidyData:
    """A result on a grid of parameters: ``coords`` and ``variables`` map names to arrays of
    the grid's shape (or anything that broadcasts to it).

    The DataFrame has one row per grid point in the grid's C order.  In the Dataset a
    parameter that takes one value is a scalar coordinate; the others become dimensions
    when the grid is the product of their values (a parameter that is a function of those
    before it, such as ``psi_p`` along a path in ``psi_n``, becomes a coordinate over them),
    ordered by the first axis of the grid along which each varies; otherwise the points lie
    along one ``point`` dimension.  Where the bool variable ``ok`` is False the float
    variables other than ``keep`` are NaN (:meth:`TidyData.masked`).
    """
    arrays = {k: _array(v) for k, v in {**coords, **variables}.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) if arrays else ()
    arrays = {k: np.broadcast_to(a, shape) for k, a in arrays.items()}
    n = int(np.prod(shape))
    cvals, first = {}, {}
    for k in coords:
        a = arrays[k]
        flat = a.ravel()
        if n and np.all(flat == flat[0]):
            cvals[k] = ((), flat[0])
        else:
            cvals[k] = ((POINT,), flat)
            axes = [i for i in range(a.ndim) if a.shape[i] > 1 and np.any(
                np.take(a, range(1, a.shape[i]), axis=i) != np.take(a, range(a.shape[i] - 1),
                                                                     axis=i))]
            first[k] = axes[0] if axes else a.ndim
    data = TidyData({POINT: None}, {k: ((POINT,), arrays[k].ravel()) for k in variables},
                    cvals, attrs, sizes={POINT: n})
    order = list(coords)
    data._grid = sorted(first, key=lambda k: (first[k], order.index(k)))
    if ok is not None and ok in data.variables:
        data.masked(ok, keep=keep)
    return data


def records_data(columns, rows, attrs=None, *, dim: str = "row", index=None) -> TidyData:
    """A table of records (dicts) over the dimension ``dim``, one variable per column.

    A column of numbers is float64 (``None`` read as NaN; int64 when it holds integers
    only), a column of bools (without ``None``) bool; ``"inf"``, ``"-inf"`` and ``"nan"``
    next to numbers read as numbers.  Other columns (words, with ``None`` where missing, or
    numbers and words) are kept as objects; in the Dataset a column of words has "" where
    missing, and one of numbers and words is split into ``name`` (the numbers, NaN
    elsewhere) and ``name_text`` (the words), which netCDF can store.
    ``index`` names columns that label the rows: they become coordinates along ``dim``.
    """
    data = TidyData({dim: None}, {}, attrs=attrs, sizes={dim: len(rows)})
    index = set(index or ())
    for c in columns:
        values = _column([r.get(c) for r in rows])
        target = data.coords if c in index else data.variables
        target[c] = ((dim,), values)
    return data


_NON_FINITE = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan,
               "infinity": math.inf, "-infinity": -math.inf}


def _is_number(v) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


def _column(values) -> np.ndarray:
    """A table column as a typed array (see :func:`records_data`)."""
    values = [v.item() if isinstance(v, (np.ndarray, np.generic)) and np.ndim(v) == 0 else v
              for v in values]
    present = [v for v in values if v is not None]
    if not present:
        return np.full(len(values), np.nan)
    if all(isinstance(v, (bool, np.bool_)) for v in present) and len(present) == len(values):
        return np.array(values, dtype=bool)
    words = [v for v in present if isinstance(v, str)]
    spelled = all(w.strip().lower() in _NON_FINITE for w in words)
    if all(_is_number(v) or isinstance(v, str) for v in present) and spelled \
            and len(words) < len(present):
        if not words and len(present) == len(values) \
                and all(isinstance(v, (numbers.Integral, np.integer)) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([math.nan if v is None else
                         _NON_FINITE[v.strip().lower()] if isinstance(v, str) else float(v)
                         for v in values], dtype=np.float64)
    return np.array(values, dtype=object)


def _words(arr) -> bool:
    """An object array of strings and ``None``."""
    return all(v is None or isinstance(v, str) for v in arr.ravel())


def _split_mixed(data: TidyData) -> TidyData:
    """``data`` as netCDF can store it: in an object array of words ``None`` becomes "", and
    one that holds numbers and words is split in two (:func:`records_data`)."""
    arrays = [a for _, a in [*data.coords.values(), *data.variables.values()]]
    if not any(a.dtype == object for a in arrays):
        return data
    out = TidyData(data.dims, {}, attrs=data.attrs, sizes=data.sizes)
    for target, source in ((out.coords, data.coords), (out.variables, data.variables)):
        for k, (dd, arr) in source.items():
            if arr.dtype != object:
                target[k] = (dd, arr)
                continue
            flat = arr.ravel()
            if _words(arr):
                target[k] = (dd, np.array(["" if v is None else v for v in flat],
                                          dtype=object).reshape(arr.shape))
                continue
            target[k] = (dd, np.array([float(v) if _is_number(v) else math.nan for v in flat])
                         .reshape(arr.shape))
            target[k + "_text"] = (dd, np.array(["" if v is None or _is_number(v) else str(v)
                                                 for v in flat], dtype=object)
                                   .reshape(arr.shape))
    out.table = data.table
    return out


class Tidy:
    """Conversion of a result to pandas and xarray (mixin).

    A subclass describes itself once in ``_tidy()`` (a :class:`TidyData`); ``to_pandas()``
    and ``to_xarray()`` follow from it.  pandas and xarray are imported on first use
    (``pip install 'lowdim-diffusion[tidy]'``).
    """

    __slots__ = ()

    def _tidy(self) -> TidyData:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def to_pandas(self):
        """The result as a long-form :class:`pandas.DataFrame`: one row per point, the
        coordinates as the first columns, the metadata in ``df.attrs``; NaN where a point
        did not converge (:mod:`lowdim.theory.tidy`)."""
        return self._tidy().to_pandas()

    def to_xarray(self):
        """The result as an :class:`xarray.Dataset` with named dimensions and coordinates,
        the metadata in ``ds.attrs``; NaN where a point did not converge; ready for
        ``to_netcdf(path, engine="scipy")`` (:mod:`lowdim.theory.tidy`)."""
        return self._tidy().to_xarray()
