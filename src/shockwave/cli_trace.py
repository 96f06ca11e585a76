"""``shockwave trace ...``: generate, convert, import and describe job traces.

A typer app the main CLI mounts. Every ``ShockwaveError`` becomes one line
``error: <message>`` on stderr and exit status 2.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shockwave.cli_options import finite_range, int_range, throughputs_source
from shockwave.errors import InputError
from shockwave.limits import MAX_GPUS, MAX_NUM_JOBS, MAX_SEED
from shockwave.model import JobSpec
from shockwave.outputs import check_output_file, write_text
from shockwave.traces.gavel_jobs import GavelJobParams, describe_dropped, generate_gavel_trace
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.info import (
    DEFAULT_NUM_GPUS,
    TraceInfo,
    describe_trace,
    describe_trace_on,
    run_times_s,
)
from shockwave.traces.trace import is_jsonl, load_trace, parse_trace_text, read_text
from shockwave.workload.throughput import (
    ThroughputTable,
    load_bundled_throughputs,
    load_throughputs,
)

app = typer.Typer(help="Generate, convert, import and describe job traces.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)

MAX_LAM_S = 1e6
"""Mean inter-arrival gap, s: a million jobs still arrive within the bound on times."""
MAX_HOURS = 1e5
"""Longest candidate duration, h (about 11 years)."""
MAX_NUM_DURATIONS = 1_000_000


class Format(StrEnum):
    """Trace file formats this package writes."""

    reference = "reference"
    jsonl = "jsonl"


class Source(StrEnum):
    """Public trace formats ``trace import`` reads."""

    gavel = "gavel"
    pollux = "pollux"


class JobTable(StrEnum):
    """Job tables ``trace generate`` draws from."""

    shockwave = "shockwave"
    gavel = "gavel"


SHOCKWAVE_ONLY = ("min_hours", "max_hours", "num_durations", "duration_logspace",
                  "scale_factor_mix")
"""Options of the Shockwave generator's duration classes and GPU mix, which Gavel's fixed
distributions have no use for."""


class Mode(StrEnum):
    """Adaptation modes a job can be given."""

    static = "static"
    accordion = "accordion"
    gns = "gns"


ThroughputsOption = Annotated[
    str | None, typer.Option("--throughputs", help="Throughputs JSON, or a bundled table: tacc "
                              "(the default) or gavel; a file of that name wins.",
                              show_default=False, callback=throughputs_source)]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write here instead of to stdout.",
                              show_default=False)]


def _table(path: str | None) -> ThroughputTable:
    return load_throughputs(path)


def _import_table(kind: Source, path: str | None) -> ThroughputTable:
    """The table ``trace import`` reads: ``--throughputs`` if given, else the one the format's
    steps were counted with (Gavel's traces: Gavel's own table; Pollux: the default)."""
    if path is None and kind is Source.gavel:
        return load_bundled_throughputs("gavel")
    return _table(path)


def _mix(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"expected comma-separated numbers, got {text!r}", field=name) from None


def _render(jobs: tuple[JobSpec, ...], fmt: Format) -> str:
    from shockwave.traces.jsonl import format_jsonl
    from shockwave.traces.tsv import format_tsv

    return format_jsonl(jobs) if fmt is Format.jsonl else format_tsv(jobs)


def _emit(text: str, out: Path | None) -> None:
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    write_text(out, text, option="--out")


@app.command()
def generate(
    ctx: typer.Context,
    num_jobs: Annotated[int, typer.Option(help="Number of jobs.", callback=int_range(1, MAX_NUM_JOBS))] = 120,
    lam: Annotated[float, typer.Option(help="Mean inter-arrival time, s (0: all at 0).", callback=finite_range(0, MAX_LAM_S, "s"))] = 40.0,
    seed: Annotated[int, typer.Option(help="Seed of the random streams (six; gavel: five).", callback=int_range(0, MAX_SEED))] = 25,
    min_hours: Annotated[float, typer.Option(help="Shortest candidate duration, h.", callback=finite_range(0, MAX_HOURS, "h", low_open=True))] = 0.2,
    max_hours: Annotated[float, typer.Option(help="Longest candidate duration, h.", callback=finite_range(0, MAX_HOURS, "h", low_open=True))] = 5.0,
    num_durations: Annotated[int, typer.Option(help="Number of candidate durations.", callback=int_range(1, MAX_NUM_DURATIONS))] = 100,
    duration_logspace: Annotated[bool, typer.Option(
        help="Power-law (base 1.5) spacing of the candidate durations.")] = False,
    multi_gpu: Annotated[bool, typer.Option(
        "--multi-gpu/--single-gpu", help="Draw GPUs per job (from --scale-factor-mix; gavel: from Gavel's Philly mix).")] = True,
    scale_factor_mix: Annotated[str, typer.Option(
        help="Probabilities of 1, 2, 4 and 8 GPUs.")] = "0.6,0.3,0.09,0.01",
    dynamic: Annotated[bool, typer.Option(
        "--dynamic/--static-only", help="Draw modes from --mode-mix.")] = True,
    mode_mix: Annotated[str, typer.Option(
        help="Probabilities of static, accordion and gns (gavel: all static unless given).")] = "0,0.5,0.5",
    single_mode: Annotated[Mode | None, typer.Option(
        help="Give every job this mode (no draw).", show_default=False)] = None,
    job_table: Annotated[JobTable, typer.Option(
        "--job-table", help="shockwave: the paper's generator; gavel: Gavel-style jobs (Gavel's "
        "job table, scale factors and durations; static unless --mode-mix or --single-mode; "
        "default --throughputs gavel).")] = JobTable.shockwave,
    throughputs: ThroughputsOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.reference,
    out: OutOption = None,
) -> None:
    """Generate a synthetic trace exactly as the reference generator does, or Gavel-style
    jobs with --job-table gavel (docs/traces.md).

    The defaults are the paper's canonical 120-job trace (seed 25, lam 40).
    """
    if out is not None:
        check_output_file(out, "--out")
    if job_table is JobTable.gavel:
        _refuse_shockwave_only(ctx)
        gavel = GavelJobParams(
            num_jobs=num_jobs, lam_s=lam, seed=seed, multi_gpu=multi_gpu,
            mode_mix=_mix(mode_mix, "mode-mix") if _given(ctx, "mode_mix") and dynamic else None,
            single_mode=single_mode.value if single_mode else None,  # type: ignore[arg-type]
        )
        _generate_gavel(gavel, throughputs, fmt, out)
        return
    params = GeneratorParams(
        num_jobs=num_jobs, lam_s=lam, seed=seed, min_hours=min_hours, max_hours=max_hours,
        num_durations=num_durations, duration_logspace=duration_logspace, multi_gpu=multi_gpu,
        scale_factor_mix=_mix(scale_factor_mix, "scale-factor-mix"), dynamic=dynamic,
        mode_mix=_mix(mode_mix, "mode-mix"),
        single_mode=single_mode.value if single_mode else None,  # type: ignore[arg-type]
    )
    trace = generate_trace(params, _table(throughputs))
    _emit(_render(trace.jobs, fmt), out)


def _generate_gavel(params: GavelJobParams, throughputs: str | None, fmt: Format,
                    out: Path | None) -> None:
    """Write Gavel-style jobs, counted with Gavel's own table unless ``--throughputs`` names
    another, and say on stderr which job types the draw had to leave out."""
    table = _table(throughputs) if throughputs else load_bundled_throughputs("gavel")
    result = generate_gavel_trace(params, table)
    _emit(_render(result.trace.jobs, fmt), out)
    for line in describe_dropped(result.dropped):
        typer.echo(f"note: left out of the draw: {line} (in {table.source})", err=True)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave option ``name`` (by its source's name: typer ships its own copy of
    the CLI library, whose enum is not ``click``'s)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def _refuse_shockwave_only(ctx: typer.Context) -> None:
    """Options the Gavel-style draw would ignore are a mistake, not silently dropped."""
    for name in SHOCKWAVE_ONLY:
        if _given(ctx, name):
            option = "--" + name.replace("_", "-")
            raise InputError("applies to --job-table shockwave only; Gavel-style jobs draw "
                             "durations and GPUs from Gavel's own distributions", field=option)


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Trace to read (reference TSV or JSON Lines).")],
    out: Annotated[Path, typer.Argument(help="File to write ('-' for stdout).")],
    to: Annotated[Format | None, typer.Option(
        help="Output format (default: the other one).", show_default=False)] = None,
    throughputs: ThroughputsOption = None,
) -> None:
    """Convert a trace between the reference format and JSON Lines."""
    check_output_file(out, "OUT")
    text = read_text(source)
    table = _table(throughputs) if throughputs else None
    trace = parse_trace_text(text, source=str(source), throughputs=table)
    target = to or (Format.reference if is_jsonl(text) else Format.jsonl)
    _emit(_render(trace.jobs, target), out)


@app.command("import")
def import_(
    kind: Annotated[Source, typer.Argument(metavar="FORMAT", help="gavel or pollux.")],
    source: Annotated[Path, typer.Argument(help="The public trace file.")],
    out: OutOption = None,
    to: Annotated[Format, typer.Option(help="Output format.")] = Format.jsonl,
    throughputs: Annotated[Path | None, typer.Option(
        "--throughputs", help="Throughputs JSON or bundled table (tacc, gavel) the durations "
        "come from (default: gavel for gavel traces, whose steps Gavel counted with its own "
        "table; tacc for pollux).", show_default=False, callback=throughputs_source)] = None,
    strict: Annotated[bool, typer.Option(
        help="gavel: stop at a job without throughputs instead of skipping it.")] = False,
    mode: Annotated[Mode, typer.Option(help="pollux: adaptation mode of every job.")] = Mode.static,
) -> None:
    """Import a public trace: Gavel's Philly-derived TSV or a Pollux/Sia workload CSV."""
    if out is not None:
        check_output_file(out, "--out")
    from shockwave.traces.gavel import import_gavel
    from shockwave.traces.pollux import import_pollux

    text, table = read_text(source), _import_table(kind, throughputs)
    if kind is Source.gavel:
        result = import_gavel(text, table, str(source), strict=strict)
        typer.echo(f"note: durations are total steps / the v100 throughput in {table.source}; "
                   "simulate with the same table", err=True)
    else:
        result = import_pollux(text, table, str(source), mode=mode.value)  # type: ignore[arg-type]
    _emit(_render(result.trace.jobs, to), out)
    for skipped in result.skipped:
        typer.echo(f"warning: {source}:{skipped.line}: skipped: {skipped.reason}", err=True)
    for note in result.notes:
        typer.echo(f"note: {source}: {note}", err=True)
    typer.echo(f"imported {len(result.trace)} jobs, skipped {len(result.skipped)}", err=True)


def _stats(label: str, s: object) -> str:
    d = dataclasses.asdict(s)  # type: ignore[call-overload]
    return (f"{label:<32}min {d['min_s']:,.0f}  median {d['median_s']:,.0f}  "
            f"mean {d['mean_s']:,.0f}  max {d['max_s']:,.0f} s  (sum {d['total_s']:,.0f})")


def _counts(counts: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items())


def format_info(info: TraceInfo) -> str:
    """The text ``trace info`` prints."""
    rows = [
        ("trace", info.source),
        ("jobs", f"{info.num_jobs}"),
        ("arrivals", f"{info.first_arrival_s:,.0f} .. {info.last_arrival_s:,.0f} s "
                     f"(span {info.arrival_span_s:,.0f} s, mean gap {info.mean_gap_s:.1f} s)"),
        ("GPUs per job", _counts(info.gpus_per_job)),
        ("modes", _counts(info.modes)),
        ("models", _counts(info.models)),
    ]
    lines = [f"{name:<32}{value}" for name, value in rows]
    lines.append(_stats("static duration (column 11)", info.static_duration))
    several = info.cluster is not None and "," in info.cluster
    lines.append(_stats("T_j on its fastest type" if several else "dynamic run time T_j",
                        info.run_time))
    lines.append(f"{'GPU-seconds (sum gpus x T_j)':<32}{info.gpu_seconds:,.0f}")
    where = f"{info.num_gpus} GPUs" if info.cluster is None else f"{info.cluster}"
    lines.append(f"{'makespan lower bound':<32}{info.makespan_lower_bound_s:,.0f} s "
                 f"on {where} (the work alone: {info.work_bound_s:,.0f} s)")
    return "\n".join(lines) + "\n"


@app.command()
def info(
    source: Annotated[Path | None, typer.Argument(
        help="Trace to describe (default: the bundled canonical trace).", show_default=False)
    ] = None,
    gpus: Annotated[int | None, typer.Option(
        help=f"Cluster size (V100s) for the lower bound (default {DEFAULT_NUM_GPUS}); or give "
        "--cluster", callback=int_range(1, MAX_GPUS, optional=True), show_default=False)] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="GPUs of several types for the lower bound, TYPE:COUNT[/PER_SERVER] "
        "comma-separated as for simulate (e.g. v100:36,p100:36,k80:36); instead of --gpus",
        show_default=False)] = None,
    plot: Annotated[Path | None, typer.Option(
        help="Also draw histograms into this picture (e.g. out.png).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    throughputs: ThroughputsOption = None,
    workload_facts: Annotated[Path | None, typer.Option(
        "--workload-facts", help="Facts of more models (JSON, merged over the bundled ones).",
        show_default=False)] = None,
) -> None:
    """Describe a trace: mixes, durations, GPU-seconds and a makespan lower bound."""
    from shockwave.workload.facts import load_facts

    if plot is not None:
        check_output_file(plot, "--plot")
    if cluster is not None and gpus is not None:
        raise typer.BadParameter("give the GPUs either as --cluster TYPE:COUNT,... or as "
                                 "--gpus N, not both", param_hint="'--cluster'")
    table = _table(throughputs)
    facts = load_facts(workload_facts)
    trace = load_trace(source, throughputs=table)
    if cluster is not None:
        from shockwave.clusters import check_gpu_types, parse_cluster

        typed = parse_cluster(cluster)
        check_gpu_types(typed, table)
        described = describe_trace_on(trace, table, typed, facts=facts)
    else:
        gpus = DEFAULT_NUM_GPUS if gpus is None else gpus
        described = describe_trace(trace, table, gpus, facts=facts)
    if as_json:
        body = dataclasses.asdict(described) | {"arrival_span_s": described.arrival_span_s}
        if body["cluster"] is None:  # --gpus: the document it always was
            del body["cluster"]
        typer.echo(json.dumps(body, indent=2))
    else:
        typer.echo(format_info(described), nl=False)
    if described.too_wide_job_ids:
        ids = ", ".join(str(i) for i in described.too_wide_job_ids[:10])
        size = described.num_gpus
        typer.echo(f"warning: {len(described.too_wide_job_ids)} jobs need more than {size} GPUs "
                   f"(ids {ids}); a simulation on {size} GPUs refuses this trace", err=True)
    if plot is not None:
        from shockwave.traces.plot import plot_trace

        plot_trace(trace, run_times_s(trace, table, facts=facts), described, plot)
        typer.echo(f"wrote {plot}", err=True)
