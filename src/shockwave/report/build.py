"""``build_report``: write every figure, data file and the HTML page of a report into one folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from shockwave.report.charts import ftf_cdf_figure, jct_cdf_figure, summary_figure
from shockwave.report.html import Page, render_index
from shockwave.report.runs import make_runs, pick_baseline
from shockwave.report.style import DPI, PNG_METADATA, PNG_OPTIONS, RC, SVG_METADATA
from shockwave.report.tables import write_jobs_csv, write_results_json
from shockwave.report.timeline import batch_size_figure, timeline_figure
from shockwave.sim.result import SimResult


def _save(fig: Figure, path: Path) -> None:
    if path.suffix == ".svg":
        fig.savefig(path, dpi=DPI, metadata=SVG_METADATA)
    else:
        fig.savefig(path, dpi=DPI, metadata=PNG_METADATA, pil_kwargs=PNG_OPTIONS)


def build_report(
    results: Sequence[SimResult],
    out_dir: Path,
    *,
    command_line: str,
    baseline: str | None = None,
) -> Path:
    """Write a report comparing ``results`` into ``out_dir`` and return its ``index.html``.

    Args:
        results: one simulation result per run (usually one per policy, same trace).
        out_dir: the folder to write into; created if missing, files of the same name replaced.
        command_line: the exact command that re-creates the report, shown on the page.
        baseline: the policy (or run key) every metric is normalized to; by default Shockwave
            if it is among the results, else the first result.

    Returns:
        The path of ``index.html``.

    Raises:
        InputError: no results, or a ``baseline`` that is not among them.
    """
    runs = make_runs(results)
    base = pick_baseline(runs, baseline)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timeline_files = {run.key: f"timeline-{run.key}.png" for run in runs}
    batch_size_files = {run.key: f"batch_size-{run.key}.png" for run in runs}
    with matplotlib.rc_context(RC):
        summary = summary_figure(runs, base)
        _save(summary, out_dir / "summary.png")
        _save(summary, out_dir / "summary.svg")
        _save(jct_cdf_figure(runs), out_dir / "jct_cdf.png")
        _save(ftf_cdf_figure(runs), out_dir / "ftf_cdf.png")
        for run in runs:
            _save(timeline_figure(run), out_dir / timeline_files[run.key])
            _save(batch_size_figure(run), out_dir / batch_size_files[run.key])
    write_jobs_csv(runs, out_dir / "jobs.csv")
    write_results_json(runs, base, command_line, out_dir / "results.json")
    index = out_dir / "index.html"
    page = Page(runs, base, command_line, timeline_files, batch_size_files)
    index.write_text(render_index(page), encoding="utf-8")
    return index
