"""``runs.csv`` (one row per run: its run id, the swept variables and every metric) and
``summary.csv`` (one row per grid point across seeds: n, and each metric's mean and 95 %
confidence half-width).

Rows follow the grid's order and numbers are written exactly (``repr``: the shortest text that
reads back as the same float), so the same runs give byte-identical files however they ran.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from shockwave.metrics import Summary
from shockwave.sweep.cache import write_atomic
from shockwave.sweep.grid import values
from shockwave.sweep.summary import mean_ci

METRICS: tuple[str, ...] = (*(f.name for f in fields(Summary)), "jobs_total")
"""The metric columns: every ``shockwave.metrics.Summary`` field, then the trace's job count."""
RUN_ID_CHARS = 12


def cell(value: Any) -> str:
    """A value as the CSV files write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value)
    return str(value)


def run_rows(points: Sequence[Any], keys: Sequence[str], columns: Sequence[str],
             records: Mapping[int, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per finished run, in grid order: ``run`` (the key's first characters), the
    ``columns`` and the metrics."""
    rows = []
    for index, point in enumerate(points):
        if index not in records:
            continue
        metrics = records[index]["metrics"]
        rows.append({"run": keys[index][:RUN_ID_CHARS], **values(point, columns),
                     **{name: metrics.get(name) for name in METRICS}})
    return rows


def summary_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
                 ) -> list[dict[str, Any]]:
    """``rows`` grouped by every column but ``seed`` (in order of first appearance): ``n`` and
    each metric's ``_mean`` and ``_ci95`` (half-width of the 95 % interval, Student's t)."""
    group_by = [c for c in columns if c != "seed"]
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(cell(row[c]) for c in group_by), []).append(row)
    summary = []
    for members in groups.values():
        out: dict[str, Any] = {c: members[0][c] for c in group_by}
        out["n"] = len(members)
        for name in METRICS:
            mean, half = mean_ci([float(m[name]) for m in members])
            out[f"{name}_mean"], out[f"{name}_ci95"] = mean, half
        summary.append(out)
    return summary


def summary_columns(columns: Sequence[str]) -> list[str]:
    """The header of ``summary.csv``."""
    names = [c for c in columns if c != "seed"] + ["n"]
    for name in METRICS:
        names += [f"{name}_mean", f"{name}_ci95"]
    return names


def csv_text(header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """The CSV text of ``rows`` (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in header])
    return buffer.getvalue()


def write_tables(out: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
                 ) -> tuple[Path, Path, list[dict[str, Any]]]:
    """Write ``runs.csv`` and ``summary.csv`` into ``out``; their paths and the summary rows."""
    runs_path, summary_path = out / "runs.csv", out / "summary.csv"
    write_atomic(runs_path, csv_text(["run", *columns, *METRICS], rows))
    summary = summary_rows(rows, columns)
    write_atomic(summary_path, csv_text(summary_columns(columns), summary))
    return runs_path, summary_path, summary
