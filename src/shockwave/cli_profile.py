"""``shockwave profile``: measure the bundled workloads on this machine and write a throughputs
file and a workload-facts file for ``simulate`` (docs/profiling.md). The main CLI mounts it.

Every option and output path is checked before the first process starts; a measurement that
fails stops the command with one line naming the run and the end of its log (exit 2)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shockwave.cli_options import finite_range, int_range
from shockwave.cli_service import Device
from shockwave.errors import InputError
from shockwave.limits import MAX_BATCH_SIZE, MAX_GPUS
from shockwave.outputs import check_output_dir, check_output_file, write_text

app = typer.Typer(add_completion=False, rich_markup_mode=None)
stdout = Console(width=None if sys.stdout.isatty() else 132)
stderr = Console(stderr=True)

GPU_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_PROFILE_STEPS = 100_000
MIN_PROFILE_STEPS = 4
"""The job leaves its first 2 step intervals out of its speed: 4 steps give one measured."""


def _sizes(option: str, high: int) -> Callable[[str | None], list[int] | None]:
    """``--batch-sizes 16,64``: distinct whole numbers in [1, high], increasing."""

    def parse(text: str | None) -> list[int] | None:
        if text is None:
            return None
        sizes = set()
        for item in text.split(","):
            item = item.strip()
            if not (item.isascii() and item.isdigit()) or not 1 <= int(item) <= high:
                raise InputError(f"expected whole numbers from 1 to {high:,} separated by "
                                 f"commas, got {item!r}", field=option)
            sizes.add(int(item))
        return sorted(sizes)

    return parse


def _workloads(names: list[str] | None) -> list[str] | None:
    """``--workload``: bundled workload names, each known."""
    from shockwave.workloads import WORKLOADS

    for name in names or []:
        if name not in WORKLOADS:
            hint = " (digits-2rank is digits on a gang of 2: see --gang-sizes)" \
                if name == "digits-2rank" else ""
            raise typer.BadParameter(f"no bundled workload {name!r}; known: "
                                     f"{', '.join(WORKLOADS)}{hint}")
    return names


def _gpu_type(name: str) -> str:
    if not GPU_TYPE.match(name):
        raise typer.BadParameter(f"a GPU type is one word of letters, digits and . _ -, got "
                                 f"{name!r}")
    return name


def _slots(device: Device) -> tuple[int, str, tuple[str, ...]]:
    """This machine's slots: (how many, their kind, the CUDA devices)."""
    from shockwave.service.config import detect_cuda_devices

    cuda = detect_cuda_devices() if device != Device.cpu else ()
    if device == Device.cuda and not cuda:
        raise InputError("no CUDA device is visible", field="--device")
    if cuda:
        return len(cuda), "cuda", cuda
    return os.cpu_count() or 1, "cpu", ()


@app.command()
def profile(
    out: Annotated[Path, typer.Option("--out", "-o", help="write the throughputs here (JSON, Gavel's format: what simulate --throughputs reads)", show_default=False)],
    facts_out: Annotated[Path | None, typer.Option("--facts-out", help="write the workload facts here (what simulate --workload-facts reads); default: OUT's name with -facts", show_default=False)] = None,
    workload: Annotated[list[str] | None, typer.Option("--workload", "-w", help="a bundled workload to measure (repeatable): digits, tinylm, recommend; default: all three", callback=_workloads, metavar="NAME")] = None,
    job_file: Annotated[list[Path] | None, typer.Option("--job-file", help="also measure the job spec in this file (YAML or JSON, as shockwave submit takes it; repeatable); its name is its model name", metavar="FILE")] = None,
    gang_sizes: Annotated[str | None, typer.Option("--gang-sizes", help="GPUs (ranks) per run, comma-separated, e.g. 1,2; default: the powers of two up to this machine's slots", show_default=False, metavar="N,N...")] = None,
    batch_sizes: Annotated[str | None, typer.Option("--batch-sizes", help="global batch sizes, comma-separated; default: each workload's powers of two from its spec's min_batch_size to max_batch_size, and its batch_size", show_default=False, metavar="B,B...")] = None,
    steps: Annotated[int, typer.Option("--steps", help=f"optimizer steps per run ({MIN_PROFILE_STEPS}..{MAX_PROFILE_STEPS:,}); the speed is the job's mean after its first 3 steps", callback=int_range(MIN_PROFILE_STEPS, MAX_PROFILE_STEPS))] = 30,
    repeats: Annotated[int, typer.Option("--repeats", help="runs of each configuration (1..20); the one of median speed is kept (a loaded machine's runs vary)", callback=int_range(1, 20))] = 1,
    gpu_type: Annotated[str, typer.Option("--gpu-type", help="the simulator's GPU type one slot stands for", callback=_gpu_type)] = "v100",
    trace: Annotated[Path | None, typer.Option("--trace", help="profile what this trace needs: its workloads (mapped as `shockwave replay` maps them) on its gang sizes, and learn the batch-size schedule of each of its adaptive jobs by running it once to its end (written to --facts-out)", show_default=False)] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="with --trace: run MODEL as the bundled WORKLOAD (MODEL=WORKLOAD, repeatable), as `shockwave replay --map`", metavar="MODEL=WORKLOAD")] = None,
    work_scale: Annotated[float, typer.Option("--work-scale", help="with --trace: the job lengths `shockwave replay --work-scale` will run", callback=finite_range(1e-6, 1e6, ""))] = 1.0,
    busy: Annotated[bool, typer.Option("--busy", help="measure with every slot busy, as under a service that fills them: a run of N ranks starts together with (slots // N) - 1 copies of itself, and the mean speed is kept")] = False,
    device: Annotated[Device, typer.Option("--device", help="slots are CUDA devices or CPU cores (one thread per rank); auto: CUDA when present")] = Device.auto,
    work_dir: Annotated[Path | None, typer.Option("--work-dir", help="keep each run's logs and exit report here (<workload>-bs<B>-g<N>[-r<i>]/); default: a temporary folder, removed unless a run fails", show_default=False)] = None,
    timeout_seconds: Annotated[float, typer.Option("--timeout-seconds", help="kill a run that takes longer, s", callback=finite_range(1.0, 86_400.0, "s"))] = 600.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """Measure the bundled workloads' throughputs on this machine, as real processes."""
    from shockwave.profiling import ProfileError, Runner, bundled_target, default_gang_sizes
    from shockwave.profiling.targets import target_from_file

    facts_out = facts_out or out.with_name(f"{out.stem}-facts{out.suffix or '.json'}")
    _check_outputs(out, facts_out, work_dir)
    slots, kind, cuda = _slots(device)
    gangs = _sizes("--gang-sizes", MAX_GPUS)(gang_sizes) or default_gang_sizes(slots)
    if gangs[-1] > slots:
        raise InputError(f"a gang of {gangs[-1]} does not fit on this machine's {slots} {kind} "
                         "slot(s)", field="--gang-sizes")
    sizes = _sizes("--batch-sizes", MAX_BATCH_SIZE)(batch_sizes)
    from shockwave.workloads import WORKLOADS

    jobs = _trace_jobs(trace, map_ or [], work_scale) if trace is not None else []
    from_trace = sorted({str(job["model"]) for job in jobs})
    names = workload if workload or job_file or trace else list(WORKLOADS)
    names = [*(names or []), *(n for n in from_trace if n not in (names or []))]
    targets = [bundled_target(n) for n in names]
    targets += [target_from_file(path) for path in job_file or []]
    _check_unique(targets)
    if trace is not None and gang_sizes is None:
        gangs = sorted({int(job["gpus"]) for job in jobs})
        if gangs[-1] > slots:
            raise InputError(f"{trace}: a gang of {gangs[-1]} does not fit on this machine's "
                             f"{slots} {kind} slot(s)", field="--trace")
    plan = _plan(targets, sizes, gangs, jobs)
    if not plan:
        raise InputError("nothing to measure: every batch size is smaller than its gang",
                         field="--batch-sizes")
    runner = Runner(work_dir or Path(tempfile.mkdtemp(prefix="shockwave-profile-")), slots, kind,
                    cuda, timeout_seconds)
    try:
        measurements = _measure_all(runner, plan, steps, repeats, quiet, slots if busy else 0)
        schedules = _learn_all(runner, targets, jobs, quiet)
        missing = _unmeasured(schedules, plan, {t.name: t for t in targets})
        measurements += _measure_all(runner, missing, steps, repeats, quiet,
                                     slots if busy else 0)
    except ProfileError:
        raise  # the folder stays: its logs are what the message points to
    except BaseException:
        if work_dir is None:
            shutil.rmtree(runner.work_dir, ignore_errors=True)
        raise
    if work_dir is None:
        shutil.rmtree(runner.work_dir, ignore_errors=True)
    from shockwave.profiling import facts_json, throughputs_json

    write_text(out, json.dumps(throughputs_json(measurements, gpu_type), indent=1) + "\n", "--out")
    about = (f"measured by `shockwave profile` on {slots} {kind} slot(s), {steps} steps per "
             f"run{', every slot busy' if busy else ''}; one slot stands for one {gpu_type}")
    facts = facts_json(targets, measurements, about, schedules=schedules, jobs=jobs)
    write_text(facts_out, json.dumps(facts, indent=1) + "\n", "--facts-out")
    for key, rows in schedules.items():
        stdout.print(f"learned schedule {key}: " + ", ".join(
            f"{size} from epoch {start}" for start, size in rows), markup=False, highlight=False)
    stdout.print(_summary(measurements, gpu_type, kind))
    penalty = statistics.median(m.overhead_s for m in measurements)
    stdout.print(f"wrote {out} and {facts_out}; simulate with: shockwave simulate --trace TRACE "
                 f"--throughputs {out} --workload-facts {facts_out} --gpus {slots} "
                 f"--preemption-penalty-seconds {penalty:.1f}",
                 markup=False, highlight=False, soft_wrap=True)


def _check_outputs(out: Path, facts_out: Path, work_dir: Path | None) -> None:
    check_output_file(out, "--out")
    check_output_file(facts_out, "--facts-out")
    if out.absolute() == facts_out.absolute():
        raise InputError(f"'{out}' is also --out; give another file", field="--facts-out")
    if str(out) == "-" or str(facts_out) == "-":
        raise InputError("give a file name ('-' is not supported)",
                         field="--out" if str(out) == "-" else "--facts-out")
    if work_dir is not None:
        check_output_dir(work_dir, "--work-dir")


def _check_unique(targets: Sequence[Any]) -> None:
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise InputError(f"the workload {target.name!r} is given twice", field="--workload")
        seen.add(target.name)


def _plan(targets: Sequence[Any], sizes: list[int] | None, gangs: list[int],
          jobs: Sequence[dict[str, Any]] = ()) -> list[tuple[Any, int, int]]:
    """(target, batch size, gang) for every run, by workload, gang, then batch size; a batch
    smaller than its gang (a rank without samples) is left out. A workload of a trace's
    ``jobs`` is measured on the gangs it uses there, at its sizes and the jobs' initial
    ones."""
    from shockwave.profiling import default_batch_sizes

    extra: dict[str, set[int]] = {}
    used: dict[str, set[int]] = {}
    for job in jobs:
        extra.setdefault(str(job["model"]), set()).add(int(job["batch_size"]))
        used.setdefault(str(job["model"]), set()).add(int(job["gpus"]))
    return [(target, size, gang) for target in targets
            for gang in (sorted(used[target.name]) if target.name in used else gangs)
            for size in sorted(set(sizes or default_batch_sizes(target))
                               | extra.get(target.name, set())) if size >= gang]


def _trace_jobs(path: Path, maps: Sequence[str], work_scale: float) -> list[dict[str, Any]]:
    """The job specs ``shockwave replay`` would submit for the trace at ``path``."""
    from shockwave.replay.plan import plan_replay

    return [job.spec for job in plan_replay(path, maps, work_scale).jobs]


def _unmeasured(schedules: dict[str, list[list[int]]], plan: Sequence[tuple[Any, int, int]],
                targets: dict[str, Any]) -> list[tuple[Any, int, int]]:
    """Runs a learned schedule needs that the plan lacks: the simulator looks up the
    throughput of every batch size a schedule reaches."""
    planned = {(target.name, size, gang) for target, size, gang in plan}
    wanted = set()
    for key, rows in schedules.items():
        workload, _, _, gang = key.split("|")
        wanted |= {(workload, size, int(gang)) for _, size in rows}
    return [(targets[w], size, gang) for w, size, gang in sorted(wanted - planned)]


def _learn_all(runner: Any, targets: Sequence[Any], jobs: Sequence[dict[str, Any]],
               quiet: bool) -> dict[str, list[list[int]]]:
    """The learned schedule of every distinct adaptive job of the trace, by facts key."""
    from shockwave.profiling.schedules import adaptive_jobs, schedule_rows

    by_name = {t.name: t for t in targets}
    learned = {}
    for job in adaptive_jobs(jobs):
        if not quiet:
            stderr.print(f"learning the schedule of {job.key} ({job.epochs} epochs)",
                         markup=False, highlight=False)
        report = runner.learn(by_name[job.workload], job)
        learned[job.key] = schedule_rows(report.batch_sizes, job.samples_per_epoch,
                                         job.batch_size)
    return learned


def _measure_all(runner: Any, plan: Sequence[tuple[Any, int, int]], steps: int, repeats: int,
                 quiet: bool, busy_slots: int = 0) -> list[Any]:
    """Every run of ``plan`` (``repeats`` times each, keeping the median), one after the
    other, with a progress bar on a terminal."""
    from shockwave.profiling.measure import median_run

    progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=stderr, transient=True,
                        disable=quiet or not stderr.is_terminal)
    results = []
    with progress:
        task = progress.add_task("profiling", total=len(plan) * repeats)
        for target, size, gang in plan:
            progress.update(task, description=f"{target.name} bs {size} x {gang}")
            runs = []
            for repeat in range(1, repeats + 1):
                runs.append(runner.measure(target, size, gang, steps,
                                           repeat if repeats > 1 else None,
                                           copies=max(1, busy_slots // gang)))
                progress.advance(task)
            results.append(median_run(runs))
    return results


def _summary(measurements: Sequence[Any], gpu_type: str, kind: str) -> Table:
    """One row per run; the speed-up is against 1 rank at the same batch size."""
    single = {(m.workload, m.batch_size): m.samples_per_s for m in measurements if m.gpus == 1}
    table = Table(title=f"throughputs on this machine (one {kind} slot = one {gpu_type})")
    for column in ("workload", "batch size", "GPUs", "samples/s", "iterations/s", "step (ms)",
                   "vs 1 GPU", "run (s)", "overhead (s)"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    for m in sorted(measurements, key=lambda m: (m.workload, m.batch_size, m.gpus)):
        base = single.get((m.workload, m.batch_size))
        speedup = f"{m.samples_per_s / base:.2f}x" if base and m.gpus > 1 else ""
        table.add_row(m.workload, str(m.batch_size), str(m.gpus), f"{m.samples_per_s:,.1f}",
                      f"{m.iterations_per_s:,.2f}", f"{m.step_time_s * 1000:,.1f}", speedup,
                      f"{m.wall_s:.1f}", f"{m.overhead_s:.1f}")
    return table
