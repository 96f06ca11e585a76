"""``index.html``: one self-contained page (inline CSS, images by relative path, no scripts, no
network) with the figures, the metrics table and the command that re-creates the report."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from shockwave.metrics import UNFAIR_RHO, utilization_by_type
from shockwave.report.charts import PANELS, panel_values
from shockwave.report.runs import Run
from shockwave.report.tables import METRIC_COLUMNS, format_metric

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1280px; padding: 1.2rem 2rem 3rem; color: #1a1a1a; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem;
     margin-top: 2.2rem; }
.sub { color: #555; margin-top: 0; }
img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
.pair { display: flex; flex-wrap: wrap; gap: 1rem; } .pair figure { flex: 1 1 420px; margin: 0; }
figcaption { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.6rem 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.3rem 0.55rem; }
th { background: #f2f2f2; text-align: left; vertical-align: bottom; }
tbody th { vertical-align: middle; white-space: nowrap; }
.wide { overflow-x: auto; }
nav { font-size: 0.95rem; } nav a { margin-right: 0.8rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { font-weight: 600; background: #f7f9fc; }
pre { background: #f4f4f4; padding: 0.8rem; border: 1px solid #ddd; white-space: pre-wrap;
      overflow-wrap: anywhere; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
"""


@dataclass(frozen=True)
class Page:
    """What the page shows: the runs, the baseline, the command and the files it links."""

    runs: Sequence[Run]
    baseline: Run
    command_line: str
    timeline_files: dict[str, str]
    batch_size_files: dict[str, str]


def _figure(src: str, caption: str, link: str | None = None) -> str:
    image = f'<img src="{escape(src)}" alt="{escape(caption)}">'
    if link:
        image = f'<a href="{escape(link)}">{image}</a>'
    return f"<figure>{image}<figcaption>{escape(caption)}</figcaption></figure>"


def metrics_table(runs: Sequence[Run], baseline: Run) -> str:
    """One row per run; each cell carries the exact ``summarize`` value in ``data-value``."""
    head = "".join(f"<th>{escape(c.header)}</th>" for c in METRIC_COLUMNS)
    rows = []
    for run in runs:
        cells = []
        for column in METRIC_COLUMNS:
            exact, text = format_metric(column, run.summary)
            cells.append(f'<td class="num" data-field="{column.field}" data-value="{exact}">'
                         f"{escape(text)}</td>")
        css = ' class="baseline"' if run is baseline else ""
        rows.append(f'<tr{css} data-policy="{escape(run.key)}"><th scope="row">'
                    f"{escape(run.label)}</th>{''.join(cells)}</tr>")
    return (f'<table id="metrics"><thead><tr><th>Policy</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def relative_table(runs: Sequence[Run], baseline: Run) -> str:
    """The bar heights of the summary figure as numbers (× the baseline's value)."""
    columns = [panel_values(runs, panel, baseline) for panel in PANELS]
    head = "".join(
        f"<th>{escape(p.title)}{' (×)' if is_ratio else ' (absolute)'}</th>"
        for p, (_, is_ratio) in zip(PANELS, columns, strict=True)
    )
    rows = []
    for i, run in enumerate(runs):
        cells = "".join(f'<td class="num">{values[i]:.2f}</td>' for values, _ in columns)
        rows.append(f'<tr data-policy="{escape(run.key)}"><th scope="row">{escape(run.label)}'
                    f"</th>{cells}</tr>")
    return (f'<table id="relative"><thead><tr><th>Policy</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def inputs_table(runs: Sequence[Run]) -> str:
    """Each run's inputs (trace, cluster, configuration) as recorded in its result; one row
    for all runs when they share them."""
    keys = sorted({k for run in runs for k in run.result.inputs})
    if not keys:
        return "<p>The results record no inputs.</p>"
    first = dict(runs[0].result.inputs)
    shared = all(dict(run.result.inputs) == first for run in runs)
    rows_of = [("all runs", first)] if shared else [(r.label, r.result.inputs) for r in runs]
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    rows = []
    for label, inputs in rows_of:
        cells = "".join(
            f"<td><code>{escape(json.dumps(inputs[k]) if k in inputs else '')}</code></td>"
            for k in keys
        )
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    return (f'<div class="wide"><table id="inputs"><thead><tr><th>Runs</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _by_type(run: Run) -> str:
    """On a cluster of several GPU types: the GPUs and the utilization of each type."""
    result = run.result
    if not result.is_heterogeneous:
        return ""
    util = utilization_by_type(result.gpu_busy_s, result.gpu_types, run.summary.makespan_s)
    counts = Counter(result.gpu_types)
    items = ", ".join(f"{escape(t)} ({counts[t]} GPUs) {value:.3f}" for t, value in util.items())
    return f'<p class="by-type" data-run="{escape(run.key)}">Utilization by GPU type: {items}.</p>'


def _per_policy(page: Page) -> str:
    parts = []
    for run in page.runs:
        s = run.summary
        parts.append(
            f'<section id="run-{escape(run.key)}"><h3>{escape(run.label)}</h3>'
            f"<p>{s.jobs_completed} jobs on {run.result.num_gpus} GPUs, {s.rounds} rounds, "
            f"makespan {s.makespan_s:,.0f} s.</p>" + _by_type(run)
            + _figure(page.timeline_files[run.key],
                      "Schedule: which job held which GPU in each round; beneath, the share of "
                      "GPUs allocated per round and the cluster utilization.")
            + _figure(page.batch_size_files[run.key],
                      "Batch size of each adaptive job from arrival to completion.")
            + "</section>"
        )
    return "".join(parts)


def render_index(page: Page) -> str:
    """The whole page as a string."""
    runs, base = page.runs, page.baseline
    names = ", ".join(run.label for run in runs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shockwave report: {escape(names)}</title><style>{CSS}</style></head>
<body>
<h1>Scheduling report</h1>
<p class="sub">{len(runs)} run(s): {escape(names)}. Normalized to <b>{escape(base.label)}</b>.
A job is unfair when its finish-time fairness ρ exceeds {UNFAIR_RHO}.</p>
<nav><a href="#headline">Headline metrics</a><a href="#distributions">Distributions</a>
{"".join(f'<a href="#run-{escape(run.key)}">{escape(run.label)}</a>' for run in runs)}
<a href="#inputs-section">Inputs</a><a href="#rerun">Data and re-run</a></nav>
<h2 id="headline">Headline metrics</h2>
{_figure("summary.png", "Makespan, average JCT, worst finish-time fairness and unfair-job "
         f"fraction, each divided by {base.label}'s value; lower is better. "
         "Click for the SVG.", link="summary.svg")}
<h3>Metrics (from shockwave.metrics.summarize)</h3>
<div class="wide">{metrics_table(runs, base)}</div>
<h3>Relative to {escape(base.label)}</h3>
{relative_table(runs, base)}
<h2 id="distributions">Distributions</h2>
<div class="pair">
{_figure("jct_cdf.png", "Cumulative share of jobs by job completion time.")}
{_figure("ftf_cdf.png", f"Cumulative share of jobs by finish-time fairness ρ; ρ = 1 is the "
         f"fair share, jobs right of {UNFAIR_RHO} count as unfair.")}
</div>
<h2>Schedules and batch sizes, per policy</h2>
{_per_policy(page)}
<h2 id="inputs-section">Inputs</h2>
{inputs_table(runs)}
<h2 id="rerun">Data and how to re-run</h2>
<p>Per-job records: <a href="jobs.csv">jobs.csv</a>. Full results, inputs and the command line:
<a href="results.json">results.json</a> (readable by <code>shockwave report</code>).</p>
<p>Re-create this report with:</p>
<pre><code id="command-line">{escape(page.command_line)}</code></pre>
</body></html>
"""
