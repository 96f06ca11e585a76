"""The ``shockwave`` command: the only module that reads argv; it catches ``ShockwaveError`` once."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shockwave.errors import ShockwaveError
from shockwave.metrics import Summary, summarize
from shockwave.model import Cluster
from shockwave.names import DISPLAY_NAMES, PAPER_POLICIES
from shockwave.sim.result import SimResult

if TYPE_CHECKING:
    from shockwave.experiment import Inputs
    from shockwave.sim.loop import RoundProgress

# The policies (and with them SciPy) load only when a command needs them: see _policies().


def _policies() -> Any:
    import shockwave.policies

    return shockwave.policies

app = typer.Typer(
    help="Simulate and compare GPU-cluster scheduling policies for dynamically adapting jobs.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
stdout = Console(width=None if sys.stdout.isatty() else 132)
stderr = Console(stderr=True)

TraceOpt = Annotated[Path | None, typer.Option("--trace", help="trace file (reference TSV or JSONL); default: the bundled canonical trace")]
ThroughputsOpt = Annotated[Path | None, typer.Option("--throughputs", help="throughputs JSON; default: bundled tacc_throughputs.json")]
GpusOpt = Annotated[int, typer.Option("--gpus", help="number of GPUs (V100) in the cluster")]
PerServerOpt = Annotated[int, typer.Option("--gpus-per-server", help="GPUs per server")]
RoundOpt = Annotated[float, typer.Option("--round-seconds", help="round length, s")]
CompatOpt = Annotated[str, typer.Option("--compat", help="'fixed' (default) or 'reference' (the published code's rules, quirks included)")]
SeedOpt = Annotated[int, typer.Option("--seed", help="seed of every random choice")]
PolicyConfigOpt = Annotated[Path | None, typer.Option("--policy-config", help="policy knobs as JSON (e.g. Shockwave's T, k, lambda)")]
SolverOpt = Annotated[str | None, typer.Option("--solver", help="Shockwave: highs (default; used by the MILP path, see docs/policies.md) or gurobi (if installed; switches to the MILP path)")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="policy parameter key=value (repeatable), e.g. alpha=0.3")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")]


def _inputs(trace: Path | None, throughputs: Path | None, gpus: int, gpus_per_server: int,
            round_s: float, compat: str, seed: int, policy_config: Path | None,
            solver: str | None, params: list[str] | None) -> Inputs:
    if compat not in ("fixed", "reference"):
        raise ShockwaveError(f"--compat: expected 'fixed' or 'reference', got '{compat}'")
    from shockwave.experiment import Inputs, parse_params

    Cluster(gpus, gpus_per_server)  # validates the cluster before any work
    return Inputs(
        trace=str(trace) if trace else None, throughputs=str(throughputs) if throughputs else None,
        gpus=gpus, gpus_per_server=gpus_per_server, round_s=round_s, compat=compat,  # type: ignore[arg-type]
        seed=seed, policy_config=str(policy_config) if policy_config else None, solver=solver,
        params=parse_params(params or []),
    )


def _progress_display(names: Sequence[str], quiet: bool) -> tuple[Progress | None, Any]:
    """A rich progress bar per policy on a terminal; nothing when quiet or not a terminal."""
    if quiet or not stderr.is_terminal:
        return None, None
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


def _run(names: Sequence[str], inputs: Inputs, workers: int | None, quiet: bool) -> list[SimResult]:
    from shockwave.experiment import run_many

    progress, update = _progress_display(names, quiet)
    if progress is None:
        return run_many(names, inputs, workers)
    with progress:
        return run_many(names, inputs, workers, update)


METRICS: tuple[tuple[str, str, str], ...] = (
    ("makespan_s", "makespan (s)", "{:,.0f}"),
    ("avg_jct_s", "avg JCT (s)", "{:,.0f}"),
    ("p50_jct_s", "p50 JCT (s)", "{:,.0f}"),
    ("p99_jct_s", "p99 JCT (s)", "{:,.0f}"),
    ("worst_ftf_rho", "worst FTF rho", "{:.3f}"),
    ("unfair_fraction_pct", "unfair jobs (%)", "{:.2f}"),
    ("cluster_util", "utilisation", "{:.3f}"),
    ("rounds", "rounds", "{:d}"),
    ("lease_extension_pct", "lease ext. (%)", "{:.1f}"),
)


def _display(name: str) -> str:
    return DISPLAY_NAMES.get(name, name)


def _policy_label(name: str) -> str:
    return f"{_display(name)} ({name})"


def _single_table(result: SimResult, summary: Summary) -> Table:
    table = Table(title=f"{_policy_label(result.policy)} on {result.num_gpus} GPUs")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in METRICS:
        table.add_row(label, fmt.format(getattr(summary, key)))
    return table


def _compare_table(results: Sequence[SimResult], summaries: Sequence[Summary]) -> Table:
    base = summaries[0]
    table = Table(title=f"normalised to {_display(results[0].policy)}")
    table.add_column("policy")
    for key, label, _ in METRICS:
        if key in ("p50_jct_s", "p99_jct_s", "lease_extension_pct"):
            continue
        table.add_column(label, justify="right")
    for result, summary in zip(results, summaries, strict=True):
        cells = []
        for key, _, fmt in METRICS:
            if key in ("p50_jct_s", "p99_jct_s", "lease_extension_pct"):
                continue
            value, ref = getattr(summary, key), getattr(base, key)
            ratio = f" ({value / ref:.2f}x)" if ref else ""
            cells.append(fmt.format(value) + ratio)
        table.add_row(_display(result.policy), *cells)
    return table


@app.command()
def simulate(
    policy: Annotated[str, typer.Option("--policy", "-p", help="policy name or alias (see `shockwave policies`)")] = "shockwave",
    trace: TraceOpt = None, throughputs: ThroughputsOpt = None, gpus: GpusOpt = 32,
    gpus_per_server: PerServerOpt = 1, round_seconds: RoundOpt = 120.0, compat: CompatOpt = "fixed",
    seed: SeedOpt = 0, policy_config: PolicyConfigOpt = None, solver: SolverOpt = None,
    param: ParamOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the result as JSON here")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Replay a trace under one policy and print its metrics."""
    inputs = _inputs(trace, throughputs, gpus, gpus_per_server, round_seconds, compat, seed,
                     policy_config, solver, param)
    from shockwave.experiment import save_result_json

    name = _policies().canonical_name(policy)
    (result,) = _run([name], inputs, 1, quiet)
    stdout.print(_single_table(result, summarize(result)))
    if json_out is not None:
        save_result_json(result, json_out)
        stdout.print(f"wrote {json_out}")


@app.command()
def compare(
    policies: Annotated[str, typer.Option("--policies", help="comma-separated policies; the first is the baseline")] = ",".join(PAPER_POLICIES),
    trace: TraceOpt = None, throughputs: ThroughputsOpt = None, gpus: GpusOpt = 32,
    gpus_per_server: PerServerOpt = 1, round_seconds: RoundOpt = 120.0, compat: CompatOpt = "fixed",
    seed: SeedOpt = 0, policy_config: PolicyConfigOpt = None, solver: SolverOpt = None,
    param: ParamOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="parallel processes (default: all cores)")] = None,
    json_dir: Annotated[Path | None, typer.Option("--json-dir", help="write one <policy>.json per policy here")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report with charts into this folder")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Run several policies on the same input and print the paper-style comparison table."""
    inputs = _inputs(trace, throughputs, gpus, gpus_per_server, round_seconds, compat, seed,
                     policy_config, solver, param)
    from shockwave.experiment import save_result_json

    names = [_policies().canonical_name(p) for p in policies.split(",") if p.strip()]
    if not names:
        raise ShockwaveError("--policies: give at least one policy")
    if jobs is not None and jobs < 1:
        raise ShockwaveError(f"--jobs: must be >= 1, got {jobs}")
    results = _run(names, inputs, jobs, quiet)
    summaries = [summarize(r) for r in results]
    stdout.print(_compare_table(results, summaries))
    if json_dir is not None:
        json_dir.mkdir(parents=True, exist_ok=True)
        for result in results:
            save_result_json(result, json_dir / f"{result.policy}.json")
        stdout.print(f"wrote {len(results)} results to {json_dir}")
    if report is not None:
        from shockwave.report import build_report

        index = build_report(results, report, command_line=_command_line())
        stdout.print(f"wrote report {index}")


@app.command("policies")
def list_policies() -> None:
    """List the policies and their aliases."""
    registry = _policies()
    table = Table(title="policies")
    table.add_column("name")
    table.add_column("known as")
    table.add_column("aliases")
    for name in registry.POLICIES:
        aliases = ", ".join(a for a, target in registry.ALIASES.items() if target == name)
        table.add_row(name, DISPLAY_NAMES.get(name, ""), aliases)
    stdout.print(table)


def _command_line() -> str:
    return "shockwave " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _mount_subcommands() -> None:
    from shockwave.cli_report import app as report_app
    from shockwave.cli_trace import app as trace_app

    app.add_typer(trace_app, name="trace")
    app.registered_commands.extend(report_app.registered_commands)


_mount_subcommands()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the command; a ``ShockwaveError`` becomes one line on stderr, exit 2."""
    try:
        status = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except ShockwaveError as exc:
        stderr.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except typer.Abort:
        stderr.print("aborted")
        return 130
    except (typer.BadParameter, typer.Exit) as exc:  # pragma: no cover - typer handles most
        return getattr(exc, "exit_code", 2)
    except Exception as exc:  # noqa: BLE001 - click usage errors arrive as ClickException
        from click import ClickException

        if isinstance(exc, ClickException):
            exc.show()
            return exc.exit_code
        raise
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry: exit with ``main``'s status."""
    sys.exit(main())
