"""A sweep's report folder: the figures of ``plots`` as PNG files and an ``index.html`` that shows
them with the summary table (inline CSS, images by relative path: it opens from disk)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

from shockwave.errors import InputError
from shockwave.report.build import save_png
from shockwave.report.charts import PANELS
from shockwave.report.html import CSS
from shockwave.report.style import RC
from shockwave.report.tables import METRIC_COLUMNS
from shockwave.sweep.cache import write_atomic
from shockwave.sweep.plots import LABELS, Grouping, bars_figure, describe, line_figure, series_label
from shockwave.sweep.tables import METRICS

Row = Mapping[str, Any]
DEFAULT_METRICS: tuple[str, ...] = tuple(panel.field for panel in PANELS)
"""The metrics drawn against the swept variable unless ``--metric`` names others."""
_FORMATS = {c.field: c.fmt.replace(":d", ":,.1f") for c in METRIC_COLUMNS} | {"jobs_total": "{:,.1f}"}


NOT_AN_AXIS = ("cluster",)
"""Swept variables that are not numbers (a ``cluster:`` text): conditions, never an x axis."""


def swept(rows: Sequence[Row], column: str) -> bool:
    """Whether ``column`` takes more than one value in ``rows``."""
    return len({repr(row.get(column)) for row in rows if row.get(column) is not None}) > 1


def default_x(columns: Sequence[str], rows: Sequence[Row]) -> str | None:
    """The variable to draw metrics against: the cluster size when it is swept, else the first
    other swept variable (conditions before policy parameters); ``None`` when only policies
    (and seeds) vary."""
    grouping = Grouping.of(columns)
    candidates = ["gpus", *grouping.conditions, *(c for c in grouping.series if c != "policy")]
    return next((c for c in candidates if c not in NOT_AN_AXIS and swept(rows, c)), None)


def check_choices(columns: Sequence[str], x: str | None, metrics: Sequence[str]) -> None:
    """``--x`` names a swept variable and every ``--metric`` a metric; else an ``InputError``."""
    variables = [c for c in columns if c not in ("policy", "seed")]
    if x in NOT_AN_AXIS:
        raise InputError(f"'{x}' is text, not a number to draw against; each {x} has its own "
                         "bars", field="--x")
    if x is not None and x not in variables:
        known = ", ".join(variables) or "none: this sweep varies only policies and seeds"
        raise InputError(f"'{x}' is not a swept variable; swept: {known}", field="--x")
    for metric in metrics:
        if metric not in METRICS:
            raise InputError(f"unknown metric '{metric}'; known: {', '.join(METRICS)}",
                             field="--metric")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_") or "all"


def _conditions(rows: Sequence[Row], grouping: Grouping) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(describe(row, grouping.conditions), []).append(row)
    return groups


def draw_figures(out: Path, name: str, columns: Sequence[str], rows: Sequence[Row],
                 x: str | None, metrics: Sequence[str]) -> list[tuple[str, str]]:
    """Draw every figure into ``out``; (file name, caption) of each, in page order."""
    grouping = Grouping.of(columns)
    figures: list[tuple[str, str]] = []
    groups = _conditions(rows, grouping)
    for condition, members in groups.items():
        file = "bars.png" if len(groups) == 1 else f"bars-{_slug(condition)}.png"
        title = f"{name}: {condition}" if condition else name
        with matplotlib.rc_context(RC):
            save_png(bars_figure(members, grouping, f"{title} (mean, 95 % CI across seeds)"),
                     out / file)
        figures.append((file, f"Headline metrics{' for ' + condition if condition else ''}: "
                              "mean across seeds, whiskers the 95 % confidence interval; lower "
                              "is better."))
    if x is not None:
        for metric in metrics:
            file = f"{metric}-vs-{_slug(x)}.png"
            with matplotlib.rc_context(RC):
                save_png(line_figure(rows, grouping, metric, x), out / file)
            figures.append((file, f"{LABELS.get(metric, metric)} against {x}; one line per "
                                  "policy, whiskers the 95 % confidence interval across seeds."))
    return figures


def _table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    grouping = Grouping.of(columns)
    shown = [*DEFAULT_METRICS, "cluster_util"]
    head = "".join(f"<th>{escape(LABELS[m])}</th>" for m in shown)
    conditions = "".join(f"<th>{escape(c)}</th>" for c in grouping.conditions)
    body = []
    for row in rows:
        cells = "".join(f"<td>{escape(str(row[c]))}</td>" for c in grouping.conditions)
        for metric in shown:
            mean, half = row[f"{metric}_mean"], row[f"{metric}_ci95"]
            fmt = _FORMATS.get(metric, "{}")
            text = fmt.format(mean) + ("" if half is None else " ± " + fmt.format(half))
            cells += f'<td class="num" data-value="{mean!r}">{escape(text)}</td>'
        body.append(f"<tr><th scope=\"row\">{escape(series_label(row, grouping.series))}</th>"
                    f"{cells}<td class=\"num\">{row['n']}</td></tr>")
    return (f'<div class="wide"><table id="summary"><thead><tr><th>Policy</th>{conditions}{head}'
            f"<th>n</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def build_sweep_report(out: Path, name: str, columns: Sequence[str], rows: Sequence[Row], *,
                       x: str | None, metrics: Sequence[str], command_line: str) -> Path:
    """Write the figures and ``index.html`` of a sweep into ``out``; the page's path.

    Args:
        out: the report folder (created; files of the same name replaced).
        name: the sweep's name, for titles.
        columns: the swept variables (``runs.csv``'s, seed included).
        rows: ``summary.csv``'s rows.
        x: the variable to draw ``metrics`` against (``default_x`` when ``None``; no line
            figures when nothing but policies varies).
        metrics: the metrics to draw against ``x``.
        command_line: the command that re-creates the sweep, shown on the page.
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("bars*.png"), *out.glob("*-vs-*.png")]:  # of an earlier report
        stale.unlink()
    x = x or default_x(columns, rows)
    figures = draw_figures(out, name, columns, rows, x, metrics)
    images = "".join(
        f'<figure><img src="{escape(file)}" alt="{escape(caption)}"><figcaption>'
        f"{escape(caption)}</figcaption></figure>" for file, caption in figures)
    runs = sum(int(row["n"]) for row in rows)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sweep: {escape(name)}</title><style>{CSS}</style></head>
<body>
<h1>Sweep: {escape(name)}</h1>
<p class="sub">{runs} runs in {len(rows)} grid points; each value is the mean across seeds
± the half-width of its 95 % confidence interval (Student's t).</p>
{images}
<h2>Summary</h2>
{_table(rows, columns)}
<h2>Data and how to re-run</h2>
<p>Every run: <a href="../runs.csv">runs.csv</a>; the table above with every metric:
<a href="../summary.csv">summary.csv</a>. Re-run (only missing runs are simulated):</p>
<pre><code id="command-line">{escape(command_line)}</code></pre>
</body></html>
"""
    index = out / "index.html"
    write_atomic(index, page)
    return index
