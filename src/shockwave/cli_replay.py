"""``shockwave replay TRACE --real``: run a trace's jobs as bundled workloads on a running
service, each submitted at its arrival time, and write the result in the format of ``shockwave
simulate --json`` (docs/service.md, "Replaying a trace for real"). The main CLI mounts it.

Everything is checked before the first job is submitted: the output path, ``--map``, the trace,
the workload of every job and the spec it becomes, ``--throughputs``, the service (reachable,
idle, wide enough for every gang). Mistakes are one line ``error: ...`` and exit 2; a run with
jobs that failed or were cancelled is partial (exit 3 unless ``--allow-partial``); Ctrl-C says
which jobs were submitted (exit 130)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shockwave.cli_options import finite_range, throughputs_source
from shockwave.cli_service import DEFAULT_SERVER, ServerOpt, TokenOpt, _client
from shockwave.errors import InputError
from shockwave.outputs import check_output_file
from shockwave.sim.result import SimResult

if TYPE_CHECKING:
    from shockwave.replay.plan import ReplayPlan
    from shockwave.replay.runner import ReplayProgress, ReplayRun
    from shockwave.traces.trace import Trace

app = typer.Typer(add_completion=False, rich_markup_mode=None)
stdout = Console(width=None if sys.stdout.isatty() else 132)
stderr = Console(stderr=True)

EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


@app.command("replay")
def replay_command(
    trace: Annotated[Path, typer.Argument(help="the trace (reference TSV or JSON Lines)", show_default=False)],
    real: Annotated[bool, typer.Option("--real", help="run the jobs on a running service (required)")] = False,
    map_: Annotated[list[str] | None, typer.Option("--map", help="MODEL=WORKLOAD: run the trace's MODEL jobs as this bundled workload (digits, tinylm, recommend); repeatable, overrides the defaults")] = None,
    time_scale: Annotated[float, typer.Option("--time-scale", help="submit each job at its arrival time times this (0: all at once)", callback=finite_range(0.0, 1e6))] = 1.0,
    work_scale: Annotated[float, typer.Option("--work-scale", help="each job trains its trace iterations x batch size x this many samples", callback=finite_range(0.0, 1e6, low_open=True))] = 1.0,
    throughputs: Annotated[str | None, typer.Option("--throughputs", help="a profile table of the workloads (iterations/s, as simulate reads it; or a bundled table: tacc, gavel) for each job's run time alone; default: the speed each job measured", callback=throughputs_source)] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the result here, in the format of simulate --json")] = None,
    allow_partial: Annotated[bool, typer.Option("--allow-partial", help="exit 0 even when jobs failed or were cancelled")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
) -> None:
    """Run a trace's jobs for real on a running service and record the schedule it made."""
    if not real:
        raise typer.BadParameter("a replay runs the trace's jobs on a service: give --real "
                                 "(`shockwave simulate --trace` simulates a trace)",
                                 param_hint="'--real'")
    if json_out is not None:
        check_output_file(json_out, "--json")
    from shockwave.replay.plan import plan_replay
    from shockwave.replay.runner import ReplayInterrupted, replay

    plan = plan_replay(trace, map_ or [], work_scale, throughputs)

    with _client(server, token) as client:
        cluster = client.cluster()
        _check_service(client.server, cluster, plan)
        progress, update = _progress_display(len(plan.jobs), quiet)
        try:
            with progress if progress is not None else nullcontext():
                run = replay(client, plan.jobs, time_scale=time_scale, on_progress=update)
        except ReplayInterrupted as exc:
            stderr.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        inputs = {
            "run": "real", "trace": str(trace), "server": client.server,
            "policy": cluster["policy"], "round_s": cluster["round_s"],
            "gpus": len(cluster["slots"]), "time_scale": time_scale, "work_scale": work_scale,
            "workloads": plan.models, "throughputs": str(throughputs) if throughputs else None,
            "run_time": "throughputs" if throughputs else "measured",
            "service_start_s": run.start_s,
        }
        result = _result(client, plan, run, cluster, inputs)
    _print_summary(result)
    if json_out is not None:
        from shockwave.experiment import save_result_json

        save_result_json(result, json_out)
        stdout.print(f"wrote {json_out}", markup=False, highlight=False)
    raise typer.Exit(_check_complete(result, run, plan.trace, allow_partial))


def _check_service(server: str, cluster: dict[str, Any], plan: ReplayPlan) -> None:
    """The service is idle (a replay measures the trace's jobs alone) and has slots for every
    gang."""
    busy = cluster["jobs"].get("QUEUED", 0) + cluster["jobs"].get("RUNNING", 0)
    if busy:
        raise InputError(f"the service at {server} has {busy} job(s) queued or running; a "
                         "replay measures the trace's jobs alone: wait for them to end or "
                         "cancel them", field="--server")
    slots, trace = len(cluster["slots"]), plan.trace
    for index, job in enumerate(trace.jobs):
        if job.gpus > slots:
            raise InputError(f"job {index} needs {job.gpus} GPUs but the service at {server} "
                             f"has {slots} slot(s)", path=trace.source,
                             line=trace.line_of(index),
                             field="gpus" if plan.fmt == "jsonl" else "scale_factor")


def _result(client: Any, plan: ReplayPlan, run: ReplayRun, cluster: dict[str, Any],
            inputs: dict[str, Any]) -> SimResult:
    """The service's records of the replay, as a result."""
    from shockwave.replay.records import ServiceRecords, build_result

    jobs = {index: client.job(job_id) for index, job_id in run.job_ids.items()}
    latest = client.rounds(limit=1)
    count = (int(latest[-1]["index"]) - run.after_round) if latest else 0
    rounds = [r for r in client.rounds(limit=min(100_000, count))
              if r["index"] > run.after_round] if count > 0 else []
    records = ServiceRecords(start_s=run.start_s, num_gpus=len(cluster["slots"]), jobs=jobs,
                             rounds=rounds)
    return build_result(plan.trace, records, policy=cluster["policy"], inputs=inputs,
                        rate_of=plan.rate_of)


def _progress_display(total: int, quiet: bool) -> tuple[Progress | None,
                                                        Callable[[ReplayProgress], None] | None]:
    """A progress bar on a terminal; otherwise one line per submission and per ended job
    (on stderr); nothing when quiet."""
    if quiet:
        return None, None
    if not stderr.is_terminal:
        def lines(p: ReplayProgress) -> None:
            for line in p.news:
                stderr.print(line, markup=False, highlight=False)
        return None, lines
    progress = Progress(
        TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
        TextColumn("jobs ended  {task.fields[submitted]} submitted  {task.fields[running]} "
                   "running"), TimeElapsedColumn(), console=stderr, transient=True)
    task = progress.add_task("replay", total=total, submitted=0, running=0)

    def bar(p: ReplayProgress) -> None:
        for line in p.news:
            progress.console.print(line, markup=False, highlight=False)
        progress.update(task, completed=p.ended, submitted=p.submitted, running=p.running)

    return progress, bar


def _print_summary(result: SimResult) -> None:
    from shockwave.cli import METRICS
    from shockwave.metrics import summarize
    from shockwave.report.style import policy_label

    summary = summarize(result)
    table = Table(title=f"{policy_label(result.policy)} on {result.num_gpus} slot(s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in METRICS:
        table.add_row(label, fmt.format(getattr(summary, key)))
    table.add_row("jobs completed", f"{len(result.records)} of {result.num_trace_jobs}")
    stdout.print(table)


def _check_complete(result: SimResult, run: ReplayRun, trace: Trace,
                    allow_partial: bool) -> int:
    """Say which trace jobs did not complete; the exit status (``EXIT_PARTIAL`` unless
    allowed)."""
    done = {r.job_id for r in result.records}
    missing = [i for i in range(len(trace)) if i not in done]
    if not missing:
        return 0
    level = "warning" if allow_partial else "error"
    shown = ", ".join(f"{i} (job {run.job_ids[i]})" if i in run.job_ids else str(i)
                      for i in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    stderr.print(f"{level}: {result.policy}: {len(missing)} of {len(trace)} trace jobs did not "
                 f"complete (failed or cancelled; `shockwave status ID` says why): trace jobs "
                 f"{shown}{more}" + ("" if allow_partial else
                                     "; use --allow-partial to accept partial results"),
                 markup=False, highlight=False, soft_wrap=True)
    return 0 if allow_partial else EXIT_PARTIAL


__all__ = ["app"]
