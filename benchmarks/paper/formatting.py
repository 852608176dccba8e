"""Formatting: summaries over seeds, table cells, Markdown tables, CSV files."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def fmt_number(x: float) -> str:
    """A table's number: four decimals from 1e-3 to 1e4 (and 0), scientific otherwise."""
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4f}"
    return f"{x:.3e}"


def summarise(results: Sequence[dict], key: str = "error") -> dict:
    """Mean and std (population, over the seeds that succeeded) of ``key``; the failures."""
    values = [r[key] for r in results if "failed" not in r and r.get(key) is not None]
    failed = [r["failed"] for r in results if "failed" in r]
    out = {"n": len(values), "n_failed": len(failed), "failed": failed[0] if failed else ""}
    out["mean"] = float(np.mean(values)) if values else float("nan")
    out["std"] = float(np.std(values)) if values else float("nan")
    out["values"] = values
    return out


def cell(summary: dict, n_seeds: int) -> str:
    """``mean ± std`` (std only with more than one seed); ``failed: Name`` when every seed failed."""
    if summary["n"] == 0:
        return f"failed: {summary['failed']}" if summary["failed"] else "n/a"
    text = fmt_number(summary["mean"]) + (f" ± {fmt_number(summary['std'])}" if n_seeds > 1 else "")
    if summary["n_failed"]:
        text += f" (failed: {summary['failed']} on {summary['n_failed']}/{n_seeds} seeds)"
    return text


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] = ()) -> str:
    align = list(align) + ["r"] * (len(header) - len(align))
    sep = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def csv_number(x) -> str:
    """A CSV number: full precision, empty for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


@dataclass
class TableOutput:
    """One table: its Markdown (with notes), CSV header and rows, and raw results."""

    name: str
    markdown: str
    csv_header: list[str]
    csv_rows: list[list]
    raw: list = field(default_factory=list)
    wall_s: float = 0.0
