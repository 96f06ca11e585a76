"""``shockwave sweep SPEC.yaml``: a grid of simulations (policies x trace-generator settings x
seeds x cluster sizes x policy parameters) on local processes or a Ray cluster, each run cached
under the hash of its inputs; then ``runs.csv``, ``summary.csv`` (mean and 95 % confidence
interval across seeds) and a report with figures (docs/sweeps.md). The main CLI mounts it.

Everything is checked before the first run: the spec (one line naming file, line and field),
the output folder, the input files, every trace against every cluster size. Ctrl-C keeps the
runs that finished (exit 130); the same command later runs only the missing ones.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shockwave.cli_options import int_range
from shockwave.outputs import check_output_dir

if TYPE_CHECKING:
    from shockwave.sweep.backends import Backend
    from shockwave.sweep.driver import Plan, SweepProgress, SweepResult
    from shockwave.sweep.execute import SharedInputs

app = typer.Typer(add_completion=False, rich_markup_mode=None)
stdout = Console(width=None if sys.stdout.isatty() else 132)
stderr = Console(stderr=True)

EXIT_INTERRUPTED = 130
MAX_TABLE_ROWS = 40
"""Grid points the closing table shows; summary.csv has them all."""
FAILURES_SHOWN = 5


def _say(text: str) -> None:
    stderr.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("sweep")
def sweep_command(
    spec: Annotated[Path, typer.Argument(help="the sweep's YAML file (docs/sweeps.md)", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output folder: runs/ (the cache), runs.csv, summary.csv, report/; default: sweep-<SPEC name> here", show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="parallel local processes, 1..256 (default: all cores); with --ray and no address, the CPUs of the local Ray cluster", callback=int_range(1, 256, optional=True))] = None,
    ray: Annotated[bool, typer.Option("--ray", help="run on Ray: a local Ray cluster, or the one at --ray-address (needs shockwave[ray])")] = False,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="connect to this Ray cluster (host:port, ray://host:10001, or auto for the one `ray start` runs here); implies --ray", show_default=False)] = None,
    max_runs: Annotated[int | None, typer.Option("--max-runs", help="simulate at most this many of the missing runs, then stop (run again to go on)", callback=int_range(1, 10**9, optional=True), show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="ignore the cache: simulate every run again and overwrite its result")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check the spec, count the runs and the cached ones, run nothing")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="draw the figures and report/index.html")] = True,
    x: Annotated[str | None, typer.Option("--x", help="the swept variable to draw metrics against (a runs.csv column, e.g. gpus, lam, shockwave.k); default: gpus if swept, else the first swept one", show_default=False)] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="a metric to draw against --x (repeatable; a runs.csv metric column); default: makespan_s, avg_jct_s, worst_ftf_rho, unfair_fraction_pct", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """Run a grid of simulations (cached, resumable) and summarize it across seeds."""
    from shockwave.sweep.driver import locked, plan_sweep
    from shockwave.sweep.grid import shape
    from shockwave.sweep.report import DEFAULT_METRICS, check_choices
    from shockwave.sweep.spec import load_spec

    use_ray = ray or ray_address is not None
    if use_ray:  # before any work: say at once that the extra is missing, or the cluster
        from shockwave.sweep.backends import check_reachable, import_ray

        import_ray()
        if ray_address:
            check_reachable(ray_address)
    out = out if out is not None else Path(f"sweep-{spec.stem}")
    check_output_dir(out, "--out")
    checked = load_spec(spec)
    metrics = list(metric or DEFAULT_METRICS)
    plan = plan_sweep(checked)
    check_choices(plan.columns, x, metrics)
    with nullcontext() if dry_run else locked(out):  # a dry run writes nothing
        records, pending = _cached(plan, out, force, tidy=not dry_run)
        todo = pending[:max_runs] if max_runs is not None else pending
        where = _where(use_ray, ray_address, _workers(jobs, len(todo)))
        shared = _checked_inputs(plan, todo)
        _say(f"sweep {checked.name}: {_runs(len(plan.points))} ({shape(checked)}); "
             f"{len(records)} cached, {len(todo)} to run{where if todo else ''}")
        if dry_run:
            return
        result = _execute(plan, out, records, todo, shared, use_ray, ray_address, jobs, quiet) \
            if shared is not None else _nothing_to_run(plan, records)
        argv = ["shockwave", "sweep", str(spec), "--out", str(out)]
        argv += ["--ray-address", ray_address] if ray_address else (["--ray"] if ray else [])
        argv += ["--x", x] if x else []
        argv += [a for m in metric or () for a in ("--metric", m)]
        _finish(plan, out, result, len(pending) - len(todo), report=report, x=x,
                metrics=metrics, command_line=shlex.join(argv))


def _runs(count: int) -> str:
    return f"{count:,} run{'s' if count != 1 else ''}"


def _workers(jobs: int | None, tasks: int) -> int:
    """Local processes for ``tasks`` runs: ``--jobs`` (default: every core), at most one a run."""
    return max(1, min(jobs or os.cpu_count() or 1, tasks))


def _where(use_ray: bool, address: str | None, workers: int) -> str:
    if use_ray:
        return f" on the Ray cluster at {address}" if address else " on a local Ray cluster"
    return f" on {workers} local process{'es' if workers > 1 else ''}"


def _checked_inputs(plan: Plan, todo: Sequence[int]) -> SharedInputs | None:
    """The inputs the runs ``todo`` share, each of those runs checked to start (``None``: no
    run to check)."""
    from shockwave.sweep.driver import check_runs, load_shared

    if not todo:
        return None
    shared = load_shared(plan.spec, plan.shockwave_version)
    check_runs(plan, shared, todo)
    return shared


def _cached(plan: Plan, out: Path, force: bool, tidy: bool) -> tuple[dict[int, dict], list[int]]:
    """The stored runs (none with ``--force``) and the grid indices still to run; ``tidy``
    removes what a killed sweep left half-written."""
    from shockwave.sweep.cache import RunCache
    from shockwave.sweep.driver import cached_records

    cache = RunCache(out / "runs")
    if tidy:
        cache.remove_stale_temporaries()
    records = {} if force else cached_records(plan, cache)
    return records, [i for i in range(len(plan.points)) if i not in records]


def _nothing_to_run(plan: Plan, records: dict[int, dict]) -> SweepResult:
    from shockwave.sweep.driver import SweepProgress, SweepResult

    return SweepResult(SweepProgress(len(plan.points), len(records)), dict(records))


def _make_backend(shared: SharedInputs, use_ray: bool, address: str | None, jobs: int | None,
                  tasks: int) -> Backend:
    from shockwave.sweep.backends import LocalBackend, RayBackend

    if use_ray:
        return RayBackend(shared, address, jobs)
    return LocalBackend(shared, _workers(jobs, tasks))


def _execute(plan: Plan, out: Path, records: dict[int, dict], todo: Sequence[int],
             shared: SharedInputs, use_ray: bool, address: str | None, jobs: int | None,
             quiet: bool) -> SweepResult:
    """Run ``todo`` (the grid indices to simulate) and store each result as it arrives."""
    from shockwave.sweep.cache import RunCache
    from shockwave.sweep.driver import run_sweep

    backend = _make_backend(shared, use_ray, address, jobs, len(todo))  # before any thread
    display, update = _progress_display(quiet)
    last: list[SweepProgress] = []

    def track(progress: SweepProgress) -> None:
        last[:] = [progress]
        if update is not None:
            update(progress)

    start = time.perf_counter()
    try:
        if display is None:
            result = run_sweep(plan, RunCache(out / "runs"), backend, todo, records, track)
        else:
            with display:
                result = run_sweep(plan, RunCache(out / "runs"), backend, todo, records, track)
    except KeyboardInterrupt:
        done = last[0].done - last[0].failed if last else len(records)
        _say(f"interrupted: {done} of {len(plan.points)} runs done, stored in {out / 'runs'}; "
             "the same command runs the other "
             f"{len(plan.points) - done}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        backend.close()
    ran = result.progress.ran + result.progress.failed
    if ran:
        seconds = time.perf_counter() - start
        _say(f"ran {ran} simulation{'s' if ran > 1 else ''} in {seconds:.1f} s "
             f"({60 * ran / seconds:,.0f} per minute)")
    return result


def _progress_display(quiet: bool) -> tuple[Progress | None, Callable[[SweepProgress], None] | None]:
    """One bar for the whole sweep (cached runs count as done from the start) on a terminal;
    nothing when quiet or not a terminal."""
    if quiet or not stderr.is_terminal:
        return None, None
    display = Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
        TextColumn("runs  {task.fields[note]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=stderr, transient=True,
    )
    task = display.add_task("sweep", total=None, note="")

    def update(progress: SweepProgress) -> None:
        note = f"{progress.cached} cached" + (f", {progress.failed} failed" if progress.failed else "")
        display.update(task, total=progress.total, completed=progress.done, note=note)

    return display, update


def _finish(plan: Plan, out: Path, result: SweepResult, left: int, *, report: bool,
            x: str | None, metrics: Sequence[str], command_line: str) -> None:
    """Say what failed or is left; when every run is done, write the tables and the report."""
    from shockwave.sweep.driver import SweepFailed, describe_failure
    from shockwave.sweep.tables import run_rows, write_tables

    progress = result.progress
    if result.failures:
        for index, message in sorted(result.failures)[:FAILURES_SHOWN]:
            _say(f"failed: {describe_failure(plan, index, message)}")
        raise SweepFailed(f"{len(result.failures)} of {progress.total} runs failed (the first "
                          f"{min(len(result.failures), FAILURES_SHOWN)} above); the "
                          f"{len(result.records)} finished are stored in {out / 'runs'}, and "
                          "running the sweep again retries only the others")
    if not result.complete:
        _say(f"stopped after --max-runs: {len(result.records)} of {progress.total} runs done; "
             f"{left} left: run the same command again to go on")
        return
    rows = run_rows(plan.points, plan.keys, plan.columns, result.records)
    runs_csv, summary_csv, summary = write_tables(out, plan.columns, rows)
    stdout.print(_summary_table(plan, summary))
    written = [str(runs_csv), str(summary_csv)]
    if report:
        from shockwave.sweep.report import build_sweep_report

        index = build_sweep_report(out / "report", plan.spec.name, plan.columns, summary, x=x,
                                   metrics=metrics, command_line=command_line)
        written.append(str(index))
    stdout.print(f"wrote {', '.join(written)}", markup=False, highlight=False, soft_wrap=True)


def _summary_table(plan: Plan, summary: Sequence[dict[str, Any]]) -> Table:
    from shockwave.sweep.plots import Grouping, series_label
    from shockwave.sweep.tables import cell

    grouping = Grouping.of(plan.columns)
    table = Table(title=f"{plan.spec.name}: mean ± 95 % CI across seeds")
    for column in ("policy", *grouping.conditions, "n", "makespan (s)", "avg JCT (s)",
                   "worst FTF rho", "unfair jobs (%)"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in summary[:MAX_TABLE_ROWS]:
        cells = [_plus_minus(row, "makespan_s", "{:,.0f}"), _plus_minus(row, "avg_jct_s", "{:,.0f}"),
                 _plus_minus(row, "worst_ftf_rho", "{:.3f}"),
                 _plus_minus(row, "unfair_fraction_pct", "{:.1f}")]
        table.add_row(series_label(row, grouping.series),
                      *(cell(row[c]) for c in grouping.conditions), str(row["n"]), *cells)
    if len(summary) > MAX_TABLE_ROWS:
        table.caption = f"... {len(summary) - MAX_TABLE_ROWS} more rows in summary.csv"
    return table


def _plus_minus(row: dict[str, Any], metric: str, fmt: str) -> str:
    half = row[f"{metric}_ci95"]
    return fmt.format(row[f"{metric}_mean"]) + ("" if half is None else " ± " + fmt.format(half))

