"""A small tidy table: ordered columns, rows of plain values, text / CSV / JSON output."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

from lowdim.theory.tidy import Tidy, grid_data, records_data

__all__ = ["Table", "figure_row", "TEXT_WIDTH"]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v == 0:
            return "0"
        a = abs(v)
        if 1e-3 <= a < 1e5:
            return f"{v:.5g}" if a >= 1 else f"{v:.4g}"
        return f"{v:.3e}"
    return str(v)


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


#: The widest line of a text table (``--format table``): a terminal's width.
TEXT_WIDTH = 100
#: The narrowest a text column is squeezed to (its header, when that is wider): a column
#: that would squeeze the ones before it below this is left out instead.
TEXT_FLOOR = 22
#: The mark of a shortened text cell.
ELLIPSIS = "…"
#: Spaces between two text columns.
_GAP = 2


def _empty(rows, name) -> bool:
    """Whether column ``name`` holds nothing (``None`` or ``""``) in every row."""
    return all(r.get(name) is None or r.get(name) == "" for r in rows)


def _is_text(rows, name) -> bool:
    """A column of strings only: its cells may be wrapped or shortened when it has to be
    narrower than its longest cell.  A column holding numbers is never cut."""
    values = [r.get(name) for r in rows if r.get(name) is not None]
    return bool(values) and all(isinstance(v, str) for v in values)


def _is_number(value) -> bool:
    """A number, or a string that reads as one (``"12"``, ``"inf"``)."""
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _left_aligned(rows, name) -> bool:
    """Words are left-aligned, numbers right-aligned: a column is read as words when most
    of its values are not numbers (``r`` of ``0, 1, ..., global`` stays a number column)."""
    values = [r.get(name) for r in rows if r.get(name) not in (None, "")]
    return _is_text(rows, name) and 2 * sum(map(_is_number, values)) < len(values)


def _natural_width(rows, name) -> int:
    """The width column ``name`` needs to show its header and every cell in full."""
    return max([len(name)] + [len(_fmt(r.get(name))) for r in rows])


def _fit(rows, names, width) -> tuple:
    """The columns of ``names`` (in order) that fit in ``width`` characters and the width
    of each: text columns may shrink to :data:`TEXT_FLOOR` (the widest first), the others
    keep their natural width; the first column that does not fit ends the list."""
    natural = {c: _natural_width(rows, c) for c in names}
    floor = {c: min(natural[c], max(len(c), TEXT_FLOOR)) if _is_text(rows, c) else natural[c]
             for c in names}
    shown = names[:1]   # the first column always, however wide
    for c in names[1:]:
        if sum(floor[k] for k in shown) + floor[c] + _GAP * len(shown) > width:
            break
        shown.append(c)
    widths = {c: natural[c] for c in shown}
    excess = sum(widths.values()) + _GAP * (len(shown) - 1) - width
    while excess > 0:   # squeeze the widest shrinkable column by one, until the line fits
        squeezable = [k for k in shown if widths[k] > floor[k]]
        if not squeezable:
            break
        widths[max(squeezable, key=lambda k: widths[k])] -= 1
        excess -= 1
    return shown, widths


def _cell_lines(text: str, width: int, wrap: bool) -> list:
    """``text`` in a column ``width`` wide: as it is when it fits, else wrapped onto several
    lines (``wrap``) or shortened with :data:`ELLIPSIS`."""
    if len(text) <= width:
        return [text]
    if wrap:
        import textwrap

        return textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    return [text[:width - 1] + ELLIPSIS]


def _layout(rows, names, widths, *, wrap) -> str:
    """Header, rule and rows of ``names`` in ``widths``; words left-aligned, numbers
    right-aligned; a wrapped cell continues on the lines below its row's first."""
    left = {c: _left_aligned(rows, c) for c in names}

    def line(cells):
        return "  ".join(v.ljust(widths[c]) if left[c] else v.rjust(widths[c])
                         for c, v in zip(names, cells)).rstrip()

    out = [line(names), line(["-" * widths[c] for c in names])]
    for r in rows:
        cells = [_cell_lines(_fmt(r.get(c)), widths[c], c in wrap) for c in names]
        for k in range(max(len(v) for v in cells) if cells else 1):
            out.append(line([v[k] if k < len(v) else "" for v in cells]))
    return "\n".join(out)


def _shared_columns(rows, names) -> list:
    """The columns of ``names`` with one value in every row (of two rows or more)."""
    if len(rows) < 2:
        return []
    return [c for c in names if len({_fmt(r.get(c)) for r in rows}) == 1
            and len(_fmt(rows[0].get(c))) <= 24]


def _shared_line(rows, shared, width) -> str:
    """``shared`` columns as ``name = value`` pairs above the table, wrapped to ``width``."""
    import textwrap

    text = ", ".join(f"{c} = {_fmt(rows[0].get(c))}" for c in shared)
    return "\n".join(textwrap.wrap("every row: " + text, width, break_on_hyphens=False))


def _footnote(hidden, width) -> str:
    """One line naming the columns left out for want of width, shortened to ``width``."""
    tail = "; --columns or --format csv)"
    head = f"(+{len(hidden)} more column{'s' if len(hidden) > 1 else ''}: "
    names = ", ".join(hidden)
    if len(head) + len(names) + len(tail) > width:
        room = width - len(head) - len(tail) - len(", " + ELLIPSIS)
        kept = []
        for c in hidden:
            if len(", ".join(kept + [c])) > room:
                break
            kept.append(c)
        names = ", ".join(kept + [ELLIPSIS])
    return head + names + tail


@dataclass
class Table(Tidy):
    """Rows (dicts) with a fixed column order and free-form metadata.

    ``to_pandas()`` gives a DataFrame with the columns in table order and ``meta`` in
    ``df.attrs``: a column of numbers is float64 (``None`` read as NaN; int64 when it holds
    integers only), a column of bools bool, a column of words strings.  ``to_xarray()``
    gives a Dataset over the ``row`` dimension, or over the columns named in ``coords``
    (see :meth:`to_xarray`).
    """

    columns: list
    rows: list
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.rows)

    def column(self, name):
        return [r.get(name) for r in self.rows]

    def select(self, columns):
        return Table([c for c in columns if c in self.columns],
                     [{c: r.get(c) for c in columns if c in self.columns} for r in self.rows],
                     dict(self.meta))

    def filter(self, pred):
        return Table(list(self.columns), [r for r in self.rows if pred(r)], dict(self.meta))

    def _tidy(self):
        return records_data(self.columns, self.rows, self.meta)

    def to_xarray(self, coords=None):
        """The table as an :class:`xarray.Dataset`: one variable per column over the ``row``
        dimension, or, with ``coords`` (column names, the parameters of an experiment's grid
        say), those columns as coordinates: one dimension each when the rows are the
        product of their values (each combination once), else along a ``point`` dimension;
        a column that holds one value becomes a scalar coordinate.  A column of numbers and
        words is split into ``name`` (the numbers) and ``name_text`` (the words)."""
        if not coords:
            return self._tidy().to_xarray()
        missing = [c for c in coords if c not in self.columns]
        if missing:
            raise ValueError(f"coords: not columns of the table: {', '.join(map(str, missing))}")
        data = self._tidy()
        columns = {k: arr for k, (_, arr) in data.variables.items()}
        return grid_data({c: columns[c] for c in coords},
                         {c: columns[c] for c in self.columns if c not in coords},
                         self.meta, ok=None).to_xarray()

    def to_csv(self, path=None, *, digits=None) -> str:
        """CSV text (and file when ``path``); ``digits`` rounds floats to that many
        significant digits (full precision by default)."""
        def cell(v):
            if v is None:
                return ""
            if digits is not None and isinstance(v, float) and math.isfinite(v):
                return f"{v:.{digits}g}"
            return v

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({c: cell(r.get(c)) for c in self.columns})
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", newline="") as fh:
                fh.write(text)
        return text

    def to_json(self, path=None, *, with_meta=True) -> str:
        rows = [{c: _json_value(r.get(c)) for c in self.columns} for r in self.rows]
        payload = {"meta": self.meta, "rows": rows} if with_meta else rows
        text = json.dumps(payload, indent=1, default=str)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    def to_text(self, columns=None, width=TEXT_WIDTH, *, wrap=()) -> str:
        """The table as aligned text for a terminal (``--format table``).

        ``columns`` are the columns to show, in order of priority (default: all, in table
        order).  With a ``width`` (default :data:`TEXT_WIDTH`) no line is wider: columns
        empty in every row are left out, text cells too long for their share are wrapped
        onto the next lines (the columns named in ``wrap``) or shortened with "…" (the
        others), and the columns that still do not fit are dropped from the right and named
        in a last line, so that a wide table stays readable and says what it hides (the
        CSV and JSON formats have every column).  Before any is dropped, columns
        holding one value in every row move to a line above the table
        (``every row: t = 0.1, ...``).  ``width=None`` prints ``columns`` as
        they are, in full (what ``--columns`` asks for).
        """
        names = list(columns or self.columns)
        if width is None:
            return _layout(self.rows, names, {c: _natural_width(self.rows, c) for c in names},
                           wrap=())
        if self.rows:
            names = [c for c in names if not _empty(self.rows, c)]
        head = ""
        if _fit(self.rows, names, width)[0] != names:   # too wide: shared values go on top
            shared = _shared_columns(self.rows, names)
            if shared:
                names = [c for c in names if c not in shared]
                head = _shared_line(self.rows, shared, width) + "\n"
        shown, widths = _fit(self.rows, names, width)
        lines = _layout(self.rows, shown, widths, wrap=wrap)
        hidden = names[len(shown):]
        return head + lines + ("\n" + _footnote(hidden, width) if hidden else "")

    @classmethod
    def from_csv(cls, path) -> "Table":
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            rows = []
            for r in reader:
                row = {}
                for k, v in r.items():
                    if v == "":
                        row[k] = None
                        continue
                    try:
                        row[k] = int(v) if v.lstrip("-").isdigit() else float(v)
                    except ValueError:
                        row[k] = {"True": True, "False": False}.get(v, v)
                rows.append(row)
            return cls(list(reader.fieldnames or []), rows)


def figure_row(kind, panel, series, x, y, se=None, note=None, **extra) -> dict:
    """One row of a figure's tidy table: ``kind`` ("theory" or "simulation"), the panel and
    series it is drawn in, the point ``(x, y)`` with its standard error and a note; numbers
    as floats, ``None`` left empty.  ``extra`` columns (say ``x2``) follow."""
    row = {"kind": kind, "panel": panel, "series": series, "x": float(x),
           "y": None if y is None else float(y), "se": None if se is None else float(se),
           "note": note}
    row.update(extra)
    return row

