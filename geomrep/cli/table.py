"""Plain-text tables for CLI output."""

from __future__ import annotations

import math

__all__ = ["format_table", "format_value", "markdown_table", "round_sig"]


def format_value(v) -> str:
    """Format a table cell: floats in 4 significant digits (scientific when tiny or huge)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v != v:  # NaN
            return "nan"
        if v == 0.0:
            return "0"
        if abs(v) < 1e-3 or abs(v) >= 1e5:
            return f"{v:.3e}"
        return f"{v:.4g}"
    return str(v)


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Render ``rows`` (dicts) as an aligned text table; missing cells are blank."""
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
    cells = [[format_value(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join([line, sep, *body])


def markdown_table(rows: list[dict]) -> str:
    """Render ``rows`` (dicts) as a GitHub-flavoured markdown table (floats in 4 significant digits)."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def round_sig(v):
    """A finite float rounded to 4 significant digits (for table rows); anything else unchanged."""
    return float(f"{v:.4g}") if isinstance(v, float) and math.isfinite(v) else v
