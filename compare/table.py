"""A small tidy table: ordered columns, rows of plain values, text / CSV / JSON output."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

__all__ = ["Table", "figure_row"]


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


@dataclass
class Table:
    """Rows (dicts) with a fixed column order and free-form metadata."""

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

    def to_text(self, columns=None) -> str:
        cols = columns or self.columns
        cells = [[_fmt(r.get(c)) for c in cols] for r in self.rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        lines.append("  ".join("-" * w for w in widths))
        for row in cells:
            lines.append("  ".join(v.rjust(w) for v, w in zip(row, widths)))
        return "\n".join(lines)

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

