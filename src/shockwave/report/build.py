"""``build_report``: write every figure, data file and the HTML page of a report into one folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from shockwave.report.charts import ftf_cdf_figure, jct_cdf_figure, summary_figure
from shockwave.report.html import Page, render_index
from shockwave.report.runs import Run, make_runs, pick_baseline
from shockwave.report.style import DPI, PNG_OPTIONS, RC, SVG_METADATA
from shockwave.report.tables import write_jobs_csv, write_results_json
from shockwave.report.timeline import batch_size_figure, timeline_figure
from shockwave.sim.result import SimResult


@dataclass(frozen=True)
class FigureTask:
    """One figure to draw and the files to save it as: a value, so a worker process can run it."""

    kind: str
    runs: tuple[Run, ...]
    baseline: Run | None
    paths: tuple[Path, ...]


def _draw(task: FigureTask) -> Figure:
    if task.kind == "summary":
        assert task.baseline is not None
        return summary_figure(task.runs, task.baseline)
    if task.kind == "jct_cdf":
        return jct_cdf_figure(task.runs)
    if task.kind == "ftf_cdf":
        return ftf_cdf_figure(task.runs)
    if task.kind == "timeline":
        return timeline_figure(task.runs[0])
    return batch_size_figure(task.runs[0])


def render(task: FigureTask) -> None:
    """Draw one figure and save it to each of its paths (PNG or SVG, by suffix)."""
    with matplotlib.rc_context(RC):
        fig = _draw(task)
        for path in task.paths:
            if path.suffix == ".svg":
                fig.savefig(path, dpi=DPI, metadata=SVG_METADATA)
            else:
                save_png(fig, path)


def save_png(fig: Figure, path: Path) -> None:
    """Draw with Agg and write an opaque RGB PNG (a quarter less to encode than RGBA)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1)
    image.convert("RGB").save(path, format="png", **PNG_OPTIONS)


def _without_schedule(run: Run) -> Run:
    """The run as the cross-policy figures need it: records and metrics, not the schedule (the
    bulk of what would be copied to a worker process)."""
    result = replace(run.result, schedule=(), round_start_s=(), round_end_s=())
    return replace(run, result=result)


def _tasks(runs: Sequence[Run], base: Run, out_dir: Path, page: Page) -> list[FigureTask]:
    all_runs = tuple(_without_schedule(run) for run in runs)
    base = all_runs[list(runs).index(base)]
    tasks = [FigureTask("summary", all_runs, base, (out_dir / "summary.png",
                                                    out_dir / "summary.svg"))]
    tasks += [FigureTask(kind, all_runs, None, (out_dir / f"{kind}.png",))
              for kind in ("jct_cdf", "ftf_cdf")]
    for run in runs:
        tasks.append(FigureTask("timeline", (run,), None, (out_dir / page.timeline_files[run.key],)))
        tasks.append(FigureTask("batch_size", (run,), None,
                                (out_dir / page.batch_size_files[run.key],)))
    return tasks


def _render_all(tasks: Sequence[FigureTask], workers: int | None) -> None:
    count = min(workers or os.cpu_count() or 1, len(tasks))
    if count <= 1:
        for task in tasks:
            render(task)
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        list(pool.map(render, tasks))


def build_report(
    results: Sequence[SimResult],
    out_dir: Path,
    *,
    command_line: str,
    baseline: str | None = None,
    workers: int | None = None,
) -> Path:
    """Write a report comparing ``results`` into ``out_dir`` and return its ``index.html``.

    Args:
        results: one simulation result per run (usually one per policy, same trace).
        out_dir: the folder to write into; created if missing, files of the same name replaced.
        command_line: the exact command that re-creates the report, shown on the page.
        baseline: the policy (or run key) every metric is normalized to; by default Shockwave
            if it is among the results, else the first result.
        workers: processes drawing the figures; default one per CPU, 1 draws them in this
            process. The files are the same either way.

    Returns:
        The path of ``index.html``.

    Raises:
        InputError: no results, or a ``baseline`` that is not among them.
    """
    runs = make_runs(results)
    base = pick_baseline(runs, baseline)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = Page(
        runs, base, command_line,
        timeline_files={run.key: f"timeline-{run.key}.png" for run in runs},
        batch_size_files={run.key: f"batch_size-{run.key}.png" for run in runs},
    )
    _render_all(_tasks(runs, base, out_dir, page), workers)
    write_jobs_csv(runs, out_dir / "jobs.csv")
    write_results_json(runs, base, command_line, out_dir / "results.json")
    index = out_dir / "index.html"
    index.write_text(render_index(page), encoding="utf-8")
    return index
