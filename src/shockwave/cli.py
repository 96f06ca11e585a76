"""The ``shockwave`` command: the only module that reads argv; it catches ``ShockwaveError`` once."""

from __future__ import annotations

import copy
import functools
import gc
import importlib
import os
import shlex
import sys
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shockwave.cli_options import converted, finite_range, int_range, throughputs_source
from shockwave.errors import ShockwaveError
from shockwave.limits import MAX_GPUS, MAX_ROUND_S, MIN_ROUND_S
from shockwave.metrics import Summary, summarize
from shockwave.names import DISPLAY_NAMES, PAPER_POLICIES
from shockwave.outputs import check_output_dir, check_output_file
from shockwave.sim.result import SimResult

if TYPE_CHECKING:
    from rich.progress import Progress

    from shockwave.experiment import Inputs, LoadedInputs
    from shockwave.sim.loop import RoundProgress

# The policies (and with them SciPy) load only when a command needs them: see _policies().


def _policies() -> Any:
    import shockwave.policies

    return shockwave.policies

app = typer.Typer(
    help="Simulate and compare GPU-cluster scheduling policies for dynamically adapting jobs.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
stdout = Console(width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True)

EXIT_INPUT_ERROR = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


class CompatMode(StrEnum):
    """Simulator rules."""

    fixed = "fixed"
    reference = "reference"


def _policy_name(name: str) -> str:
    return _policies().canonical_name(name)


TraceOpt = Annotated[Path | None, typer.Option("--trace", help="trace file (reference TSV or JSONL); default: the bundled canonical trace")]
ThroughputsOpt = Annotated[str | None, typer.Option("--throughputs", help="throughputs JSON, or a bundled table: tacc (the default) or gavel; a file of that name wins", callback=throughputs_source)]
DEFAULT_GPUS = 32
GpusOpt = Annotated[int | None, typer.Option("--gpus", help=f"number of GPUs (V100) in the cluster, 1..{MAX_GPUS:,} (default {DEFAULT_GPUS}); or give --cluster", callback=int_range(1, MAX_GPUS, optional=True), show_default=False)]
PerServerOpt = Annotated[int, typer.Option("--gpus-per-server", help="GPUs per server; must divide --gpus (with --cluster: of each type that does not say)", callback=int_range(1, MAX_GPUS))]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="GPUs of several types, TYPE:COUNT[/PER_SERVER] comma-separated, e.g. v100:32,p100:32,k80:32 (types of the throughputs table; ids in this order); instead of --gpus", show_default=False)]
RoundOpt = Annotated[float, typer.Option("--round-seconds", help=f"round length, s ({MIN_ROUND_S:g}..{MAX_ROUND_S:g})", callback=finite_range(MIN_ROUND_S, MAX_ROUND_S, "s"))]
CompatOpt = Annotated[CompatMode, typer.Option("--compat", help="'fixed' (the published model, bugs fixed) or 'reference' (the published code's rules, quirks included)")]
PolicyConfigOpt = Annotated[Path | None, typer.Option("--policy-config", help="policy knobs as JSON (e.g. Shockwave's T, k, lambda)")]
SolverOpt = Annotated[str | None, typer.Option("--solver", help="Shockwave: highs (default; used by the MILP path, see docs/policies.md) or gurobi (if installed; switches to the MILP path)")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="policy parameter key=value (repeatable), e.g. k=0.01; `shockwave policies --params NAME` lists them")]
AllowPartialOpt = Annotated[bool, typer.Option("--allow-partial", help="exit 0 even when a run leaves jobs unfinished (possible in --compat reference)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")]
PenaltyOpt = Annotated[float | None, typer.Option("--preemption-penalty-seconds", help=f"what a job loses when it restarts after a round off, s (0..{MAX_ROUND_S:g}; default 20, the paper's); `shockwave profile` measures it for real jobs", callback=finite_range(0.0, MAX_ROUND_S, "s", optional=True), show_default=False)]
FactsOpt = Annotated[Path | None, typer.Option("--workload-facts", help="dataset sizes, batch-size bounds and learned batch-size schedules of more models (JSON, merged over the bundled ones; `shockwave profile` writes one)")]


def _inputs(names: Sequence[str], trace: Path | None, throughputs: str | None,
            cluster: tuple[int | None, int, str | None], round_s: float, compat: CompatMode,
            policy_config: Path | None, solver: str | None, params: list[str] | None,
            workload_facts: Path | None, penalty_s: float | None) -> tuple[Inputs, LoadedInputs]:
    """The run's inputs, every one of them read and checked before any simulation starts
    (with what was read, for the runs); ``cluster`` is (``--gpus``, ``--gpus-per-server``,
    ``--cluster``) as given."""
    from shockwave.experiment import Inputs, check_inputs, parse_params

    inputs = Inputs(
        trace=str(trace) if trace else None, throughputs=str(throughputs) if throughputs else None,
        **_cluster_fields(*cluster), round_s=round_s, compat=compat.value,
        policy_config=str(policy_config) if policy_config else None, solver=solver,
        params=parse_params(params or []),
        workload_facts=str(workload_facts) if workload_facts else None, preemption_penalty_s=penalty_s,
    )
    return inputs, check_inputs(names, inputs)


def _cluster_fields(gpus: int | None, gpus_per_server: int, cluster: str | None) -> dict[str, Any]:
    """``Inputs``' cluster fields from ``--gpus``, ``--gpus-per-server`` and ``--cluster``: the
    two ways of giving the cluster together are a usage error; a bad ``--cluster`` text is an
    ``InputError`` naming the item."""
    from shockwave.clusters import parse_cluster
    from shockwave.experiment import cluster_inputs

    if cluster is not None:
        if gpus is not None:
            raise typer.BadParameter("give the GPUs either as --cluster TYPE:COUNT,... or as "
                                     "--gpus N, not both", param_hint="'--cluster'")
        return cluster_inputs(parse_cluster(cluster, gpus_per_server))
    gpus = DEFAULT_GPUS if gpus is None else gpus
    if gpus % gpus_per_server:
        raise typer.BadParameter(f"{gpus} GPUs do not make whole servers of {gpus_per_server}",
                                 param_hint="'--gpus-per-server'")
    return {"gpus": gpus, "gpus_per_server": gpus_per_server}


def _progress_display(names: Sequence[str], quiet: bool) -> tuple[Progress | None, Any]:
    """A rich progress bar per policy on a terminal; nothing when quiet or not a terminal."""
    if quiet or not stderr.is_terminal:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    canonical_name = _policies().canonical_name
    progress = Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("jobs  round {task.fields[round]}  t={task.fields[sim_h]:.1f} h"),
        TimeElapsedColumn(), console=stderr, transient=True,
    )
    tasks = {n: progress.add_task(DISPLAY_NAMES.get(canonical_name(n), n), total=None, round=0, sim_h=0.0)
             for n in names}

    def update(name: str, p: RoundProgress) -> None:
        progress.update(tasks[name], completed=p.jobs_done, total=p.jobs_total, round=p.round_index,
                        sim_h=p.now_s / 3600)

    return progress, update


def _run(names: Sequence[str], checked: tuple[Inputs, LoadedInputs], workers: int | None,
         quiet: bool) -> list[SimResult]:
    """``run_many`` on ``_inputs``' answer (the inputs and what checking them read)."""
    from shockwave.experiment import run_many

    inputs, loaded = checked
    progress, update = _progress_display(names, quiet)
    if progress is None:
        return run_many(names, inputs, workers, loaded=loaded)
    with progress:
        return run_many(names, inputs, workers, update, loaded=loaded)


METRICS: tuple[tuple[str, str, str], ...] = (
    ("makespan_s", "makespan (s)", "{:,.0f}"),
    ("makespan_over_lb", "makespan / lower bound", "{:.3f}x LB"),
    ("avg_jct_s", "avg JCT (s)", "{:,.0f}"),
    ("p50_jct_s", "p50 JCT (s)", "{:,.0f}"),
    ("p99_jct_s", "p99 JCT (s)", "{:,.0f}"),
    ("worst_ftf_rho", "worst FTF rho", "{:.3f}"),
    ("worst_themis_rho", "worst Themis rho", "{:.3f}"),
    ("max_slowdown", "max slowdown", "{:.2f}"),
    ("unfair_fraction_pct", "unfair jobs (%)", "{:.2f}"),
    ("cluster_util", "utilisation", "{:.3f}"),
    ("rounds", "rounds", "{:d}"),
    ("lease_extension_pct", "lease ext. (%)", "{:.1f}"),
)


def _display(name: str) -> str:
    return DISPLAY_NAMES.get(name, name)


def _policy_label(name: str) -> str:
    return f"{_display(name)} ({name})"


def _gpus_text(result: SimResult) -> str:
    """``36 GPUs (12 v100, 12 p100, 12 k80)``; ``32 GPUs`` on one type."""
    if not result.is_heterogeneous:
        return f"{result.num_gpus} GPUs"
    counts = Counter(result.gpu_types)
    return f"{result.num_gpus} GPUs ({', '.join(f'{n} {t}' for t, n in counts.items())})"


def _single_table(result: SimResult, summary: Summary) -> Table:
    from shockwave.metrics import utilization_by_type

    table = Table(title=f"{_policy_label(result.policy)} on {_gpus_text(result)}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in METRICS:
        table.add_row(label, fmt.format(getattr(summary, key)))
        if key == "cluster_util" and result.is_heterogeneous:
            by_type = utilization_by_type(result.gpu_busy_s, result.gpu_types, summary.makespan_s)
            for gpu_type, util in by_type.items():
                table.add_row(f"  utilisation, {gpu_type}", f"{util:.3f}")
    table.add_row("jobs completed", _completed(result))
    return table


def _completed(result: SimResult) -> str:
    done = f"{len(result.records)} of {result.num_trace_jobs}"
    return done + "  (PARTIAL)" if _unfinished(result) else done


_NOT_COMPARED = frozenset({"makespan_over_lb", "p50_jct_s", "p99_jct_s", "rounds",
                           "lease_extension_pct"})
"""Metrics ``simulate`` shows that the comparison leaves out (its table fits 132 columns; 160 when runs are partial)."""


def _compare_table(results: Sequence[SimResult], summaries: Sequence[Summary]) -> Table:
    base = summaries[0]
    table = Table(title=f"normalised to {_display(results[0].policy)}")
    table.add_column("policy")
    for key, label, _ in METRICS:
        if key in _NOT_COMPARED:
            continue
        table.add_column(label, justify="right")
    partial = any(_unfinished(r) for r in results)
    if partial:
        table.add_column("jobs completed", justify="right")
    for result, summary in zip(results, summaries, strict=True):
        cells = []
        for key, _, fmt in METRICS:
            if key in _NOT_COMPARED:
                continue
            value, ref = getattr(summary, key), getattr(base, key)
            ratio = f" ({value / ref:.2f}x)" if ref else ""
            cells.append(fmt.format(value) + ratio)
        if partial:
            cells.append(_completed(result))
        table.add_row(_display(result.policy), *cells)
    return table


def _unfinished(result: SimResult) -> int:
    return result.num_trace_jobs - len(result.records)


def _check_complete(results: Sequence[SimResult], allow_partial: bool) -> int:
    """Say which runs left jobs unfinished; the exit status (``EXIT_PARTIAL`` unless allowed)."""
    partial = [r for r in results if _unfinished(r)]
    for result in partial:
        level = "warning" if allow_partial else "error"
        stderr.print(
            f"{level}: {result.policy}: {_unfinished(result)} of {result.num_trace_jobs} jobs did "
            "not finish: in --compat reference a run ends when the cluster empties before the "
            "next arrival (the published simulator's rule, docs/simulator.md); use the default "
            "mode" + ("" if allow_partial else ", or --allow-partial to accept partial results"),
            markup=False, highlight=False, soft_wrap=True,
        )
    return EXIT_PARTIAL if partial and not allow_partial else 0


@app.command()
def simulate(
    policy: Annotated[str, typer.Option("--policy", "-p", help="policy name or alias (see `shockwave policies`)", callback=converted(_policy_name))] = "shockwave",
    trace: TraceOpt = None, throughputs: ThroughputsOpt = None, gpus: GpusOpt = None,
    gpus_per_server: PerServerOpt = 1, cluster: ClusterOpt = None, round_seconds: RoundOpt = 120.0,
    compat: CompatOpt = CompatMode.fixed, policy_config: PolicyConfigOpt = None,
    solver: SolverOpt = None, param: ParamOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the result as JSON here")] = None,
    workload_facts: FactsOpt = None, preemption_penalty_seconds: PenaltyOpt = None,
    allow_partial: AllowPartialOpt = False, quiet: QuietOpt = False,
) -> None:
    """Replay a trace under one policy and print its metrics."""
    if json_out is not None:
        check_output_file(json_out, "--json")
    checked = _inputs([policy], trace, throughputs, (gpus, gpus_per_server, cluster),
                      round_seconds, compat, policy_config, solver, param, workload_facts,
                      preemption_penalty_seconds)
    from shockwave.experiment import save_result_json

    (result,) = _run([policy], checked, 1, quiet)
    summary = summarize(result)
    stdout.print(_single_table(result, summary))
    if json_out is not None:
        save_result_json(result, json_out, summary)
        stdout.print(f"wrote {json_out}")
    raise typer.Exit(_check_complete([result], allow_partial))


def _policy_list(text: str) -> list[str]:
    """``--policies``: registry names, each once, in the order given."""
    from shockwave.experiment import unique_policies

    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise typer.BadParameter("give at least one policy", param_hint="'--policies'")
    try:
        unique = unique_policies(names)
    except ShockwaveError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--policies'") from None
    if len(unique) < len(names):
        stderr.print(f"note: running each policy once: {', '.join(unique)}", markup=False,
                     highlight=False)
    return unique


@app.command()
def compare(
    policies: Annotated[str, typer.Option("--policies", help="comma-separated policies; the first is the baseline")] = ",".join(PAPER_POLICIES),
    trace: TraceOpt = None, throughputs: ThroughputsOpt = None, gpus: GpusOpt = None,
    gpus_per_server: PerServerOpt = 1, cluster: ClusterOpt = None, round_seconds: RoundOpt = 120.0,
    compat: CompatOpt = CompatMode.fixed, policy_config: PolicyConfigOpt = None,
    solver: SolverOpt = None, param: ParamOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="parallel processes, 1..256 (default: all cores)", callback=int_range(1, 256, optional=True))] = None,
    json_dir: Annotated[Path | None, typer.Option("--json-dir", help="write one <policy>.json per policy here")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report with charts into this folder")] = None,
    workload_facts: FactsOpt = None, preemption_penalty_seconds: PenaltyOpt = None,
    allow_partial: AllowPartialOpt = False, quiet: QuietOpt = False,
) -> None:
    """Run several policies on the same input and print the paper-style comparison table."""
    names = _policy_list(policies)
    if json_dir is not None:
        check_output_dir(json_dir, "--json-dir")
    if report is not None:
        check_output_dir(report, "--report")
    checked = _inputs(names, trace, throughputs, (gpus, gpus_per_server, cluster),
                      round_seconds, compat, policy_config, solver, param, workload_facts,
                      preemption_penalty_seconds)
    from shockwave.experiment import save_result_json

    results = _run(names, checked, jobs, quiet)
    summaries = [summarize(r) for r in results]
    stdout.print(_compare_table(results, summaries))
    if json_dir is not None:
        for result, summary in zip(results, summaries, strict=True):
            save_result_json(result, json_dir / f"{result.policy}.json", summary)
        stdout.print(f"wrote {len(results)} results to {json_dir}")
    if report is not None:
        from shockwave.report import build_report

        index = build_report(results, report, command_line=_command_line())
        stdout.print(f"wrote report {index}")
    raise typer.Exit(_check_complete(results, allow_partial))


@app.command("policies")
def list_policies(
    params: Annotated[str | None, typer.Option("--params", help="list the parameters (--param key=value) this policy accepts", callback=converted(lambda n: n if n is None else _policy_name(n)))] = None,
) -> None:
    """List the policies and their aliases, or one policy's parameters."""
    if params is not None:
        stdout.print(_params_table(params))
        return
    registry = _policies()
    table = Table(title="policies")
    table.add_column("name")
    table.add_column("known as")
    table.add_column("aliases")
    for name in registry.POLICIES:
        aliases = ", ".join(a for a, target in registry.ALIASES.items() if target == name)
        table.add_row(name, DISPLAY_NAMES.get(name, ""), aliases)
    stdout.print(table)


def _params_table(name: str) -> Table:
    from shockwave.policies.params import describe_params

    table = Table(title=f"parameters of {_policy_label(name)}")
    for column in ("key", "type", "default", "accepted", "meaning"):
        table.add_column(column)
    for info in describe_params(name):
        table.add_row(info.name, info.kind, str(info.default), info.accepted, info.help)
    return table


def _command_line() -> str:
    return "shockwave " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        stdout.print(f"shockwave {version('shockwave')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="print the version and exit",
                                          is_eager=True, callback=_version)] = False,
) -> None:
    """Simulate and compare GPU-cluster scheduling policies for dynamically adapting jobs."""


COMMAND_MODULES = {
    "report": "shockwave.cli_report", "serve": "shockwave.cli_service",
    "submit": "shockwave.cli_service", "jobs": "shockwave.cli_service",
    "status": "shockwave.cli_service", "cancel": "shockwave.cli_service",
    "logs": "shockwave.cli_service", "replay": "shockwave.cli_replay",
    "profile": "shockwave.cli_profile", "sweep": "shockwave.cli_sweep",
}
"""The module of each top-level command not defined here: a command run alone imports only its
own module (importing them all took 60 ms); the whole tree mounts them all."""


@functools.cache
def _mount_subcommands() -> None:
    from shockwave.cli_profile import app as profile_app
    from shockwave.cli_replay import app as replay_app
    from shockwave.cli_report import app as report_app
    from shockwave.cli_service import app as service_app
    from shockwave.cli_sweep import app as sweep_app
    from shockwave.cli_trace import app as trace_app

    app.add_typer(trace_app, name="trace")
    app.registered_commands.extend(report_app.registered_commands)
    app.registered_commands.extend(service_app.registered_commands)
    app.registered_commands.extend(replay_app.registered_commands)
    app.registered_commands.extend(profile_app.registered_commands)
    app.registered_commands.extend(sweep_app.registered_commands)


def _command(name: str | None = None) -> Any:
    """The command tree typer builds from ``app``, with every command mounted (built once per
    process); for ``name``, a top-level command, the tree of that command alone (the root and
    its options around it): building all forty commands' options took 50 ms of every
    invocation."""
    alone = _command_alone(name) if name is not None else None
    return alone if alone is not None else _whole_command()


@functools.cache
def _whole_command() -> Any:
    _mount_subcommands()
    return typer.main.get_command(app)


def _named(commands: Sequence[Any]) -> dict[str, Any]:
    """Typer commands by the name typer gives them."""
    return {info.name or typer.main.get_command_name(info.callback.__name__): info
            for info in commands if info.callback is not None}


@functools.cache
def _command_alone(name: str) -> Any:
    """The tree of top-level command ``name`` alone, or ``None`` (not a top-level command)."""
    info = _named(app.registered_commands).get(name)
    if info is None and name in COMMAND_MODULES:
        info = _named(importlib.import_module(COMMAND_MODULES[name]).app.registered_commands).get(name)
    if info is None:
        return None
    pruned = copy.copy(app)
    pruned.registered_commands, pruned.registered_groups = [info], []
    return typer.main.get_command(pruned)


def _invoked(args: Sequence[str]) -> str | None:
    """The command ``args`` name, when they start with one (not with an option)."""
    return args[0] if args and not args[0].startswith("-") else None


def _print_error(message: str) -> None:
    stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command and return its exit status: 0 done, 2 bad input or usage (one line, or the
    usage and the problem), 3 partial results refused, 130 interrupted, 1 a bug in shockwave."""
    from shockwave.experiment import Interrupted

    try:
        args = list(argv) if argv is not None else sys.argv[1:]
        _command(_invoked(args)).main(args=args, prog_name="shockwave", standalone_mode=True)
    except SystemExit as exc:  # how the CLI library ends every command, usage errors included
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Interrupted as exc:
        _print_error(f"{exc}")
        return EXIT_INTERRUPTED
    except ShockwaveError as exc:
        _print_error(f"error: {exc}")
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("SHOCKWAVE_DEBUG"):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else ""
        _print_error(f"internal error: {type(exc).__name__}: {detail} (a bug in shockwave: please "
                     "report it with the command line; SHOCKWAVE_DEBUG=1 shows the traceback)")
        return 1
    return 0


GC_THRESHOLDS = (20_000, 50, 50)
"""The cyclic garbage collector's thresholds for a command-line process (Python's: 700, 10, 10).
A simulation allocates millions of short-lived tuples and dicts and almost no cycles; with the
default thresholds the collector ran tens of thousands of times, scanning everything the run
holds, a tenth of a baseline's time on the 900-job trace."""


def run() -> None:
    """Console-script entry: exit with ``main``'s status. What the imports built lives as long
    as the process, so it is frozen out of collections, which run less often (``GC_THRESHOLDS``)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.exit(main())


if __name__ == "__main__":
    run()
