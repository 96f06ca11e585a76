"""A trace: the jobs of one experiment in arrival order, with where each came from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from shockwave.errors import InputError
from shockwave.limits import MAX_GPUS, MAX_PRIORITY_WEIGHT, MAX_SECONDS
from shockwave.model import Cluster, JobSpec, job_type_name
from shockwave.traces.fields import range_message, strip_bom
from shockwave.workload.adaptation import WorkloadFacts, load_workload_facts, profile_problem
from shockwave.workload.throughput import ThroughputTable

DEFAULT_TRACE_NAME = "canonical-120jobs.trace"


@dataclass(frozen=True)
class Trace:
    """Jobs in arrival order; ``lines[i]`` is the source line of ``jobs[i]`` (for error messages)."""

    jobs: tuple[JobSpec, ...]
    source: str = "<memory>"
    lines: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self.jobs)

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else None

    def check_runnable(self, throughputs: ThroughputTable, gpu_type: str = "v100",
                       facts: WorkloadFacts | None = None) -> None:
        """Raise an ``InputError`` naming the line of the first job the model cannot run: an
        unknown model (not in ``facts``, by default the bundled ones), no positive throughput,
        more than ``MAX_EPOCHS`` epochs (its profile holds one entry per epoch) or a run alone
        longer than ``MAX_SECONDS``."""
        facts = facts or load_workload_facts()
        for index, job in enumerate(self.jobs):
            problem = _unrunnable(job, facts, throughputs, gpu_type)
            if problem is not None:
                field, message = problem
                raise InputError(message, path=self.source, line=self.line_of(index),
                                 field=field)

    def check_profiles(self, throughputs: ThroughputTable, gpu_type: str = "v100",
                       facts: WorkloadFacts | None = None) -> None:
        """Raise an ``InputError`` naming the line of the first job whose batch-size profile
        reaches a size without a positive throughput on ``gpu_type`` (it could start but never
        finish; the simulator refuses it before the run, not when it arrives)."""
        facts = facts or load_workload_facts()
        for index, job in enumerate(self.jobs):
            problem = profile_problem(job, throughputs, facts, gpu_type)
            if problem is not None:
                raise InputError(f"job {job.job_id}: {problem}", path=self.source,
                                 line=self.line_of(index), field="job_type")

    def check_runnable_on(self, cluster: Cluster, throughputs: ThroughputTable,
                          facts: WorkloadFacts | None = None) -> None:
        """On a cluster of several GPU types: raise an ``InputError`` naming the line of the
        first job that no type can run, with why, type by type (too few GPUs of the type, no
        positive throughput for a batch size its profile reaches, ...). A job that some type
        runs is accepted; it never runs on the others."""
        facts = facts or load_workload_facts()
        for index, job in enumerate(self.jobs):
            problems = {}
            for gpu_type in cluster.gpu_types:
                problem = _unrunnable_on(job, facts, throughputs, gpu_type, cluster.count(gpu_type))
                if problem is None:
                    break
                problems[gpu_type] = problem
            else:
                reasons = {message for _, message in problems.values()}
                fields = {name for name, _ in problems.values()}
                message = reasons.pop() if len(reasons) == 1 else "; ".join(
                    f"{t}: {message}" for t, (_, message) in problems.items())
                raise InputError(f"job {job.job_id} can run on no GPU type of the cluster: "
                                 f"{message}", path=self.source, line=self.line_of(index),
                                 field=fields.pop() if len(fields) == 1 else "job_type")

    def check_fits(self, num_gpus: int) -> None:
        """Raise an ``InputError`` naming the first job wider than a cluster of ``num_gpus`` GPUs.

        A gang that needs more GPUs than the cluster has can never be placed, so a simulation
        with it would never finish; simulators call this before they start.
        """
        for index, job in enumerate(self.jobs):
            if job.gpus > num_gpus:
                raise InputError(
                    f"job {job.job_id} needs {job.gpus} GPUs but the cluster has {num_gpus}",
                    path=self.source, line=self.line_of(index), field="scale_factor",
                )


def _unrunnable(job: JobSpec, facts: WorkloadFacts, throughputs: ThroughputTable,
                gpu_type: str) -> tuple[str, str] | None:
    """(field, why) when the simulator cannot run ``job``, else ``None``."""
    for name, value, low, high, unit, above in (
        ("arrival_time", job.arrival_s, 0, MAX_SECONDS, " s", False),
        ("priority_weight", job.priority_weight, 0, MAX_PRIORITY_WEIGHT, "", True),
        ("scale_factor", job.gpus, 1, MAX_GPUS, "", False),
    ):  # what a trace reader checks, for jobs built in Python
        problem = range_message(value, low, high, unit, above=above)
        if problem is not None:
            return name, problem
    if job.model not in facts.dataset_samples:
        return "job_type", (f"unknown model '{job.model}'; "
                            f"known: {', '.join(sorted(facts.dataset_samples))} (others need "
                            "--workload-facts, see docs/profiling.md)")
    if not throughputs.has(job.model, job.batch_size, job.gpus, gpu_type):
        return "job_type", (f"no throughput for '{job.job_type}' on {job.gpus} x {gpu_type} in "
                            f"{throughputs.source}")
    rate = throughputs.lookup(job.model, job.batch_size, job.gpus, gpu_type)
    if rate <= 0:
        return "job_type", (f"'{job.job_type}' on {job.gpus} x {gpu_type} has zero throughput "
                            f"in {throughputs.source}")
    epochs_problem = facts.epochs_problem(job.model, job.batch_size, job.total_steps)
    if epochs_problem is not None:
        return "total_steps", epochs_problem
    missing = _unmeasured_scheduled_size(job, facts, throughputs, gpu_type)
    if missing is not None:
        return "job_type", missing
    if job.total_steps / rate > MAX_SECONDS:
        return "total_steps", (f"{job.total_steps} steps at {rate:g} iterations/s take "
                               f"{job.total_steps / rate:g} s alone; must be at most "
                               f"{MAX_SECONDS:g} s")
    return None


def _unrunnable_on(job: JobSpec, facts: WorkloadFacts, throughputs: ThroughputTable,
                   gpu_type: str, count: int) -> tuple[str, str] | None:
    """(field, why) when ``job`` cannot run on the ``count`` GPUs of ``gpu_type``, else ``None``:
    ``_unrunnable`` there, a gang wider than the type, or a profile batch size without rate."""
    if job.gpus > count:
        return "scale_factor", f"needs {job.gpus} GPUs but the cluster has {count} {gpu_type}"
    problem = _unrunnable(job, facts, throughputs, gpu_type)
    if problem is not None:
        return problem
    missing = profile_problem(job, throughputs, facts, gpu_type)
    if missing is not None:
        return "job_type", missing
    return None


def _unmeasured_scheduled_size(job: JobSpec, facts: WorkloadFacts, throughputs: ThroughputTable,
                               gpu_type: str) -> str | None:
    """Why the job's learned schedule cannot run (a batch size it reaches has no positive
    throughput), or ``None``."""
    schedule = facts.schedules.get((job.model, job.mode, job.batch_size, job.gpus))
    epochs = facts.num_epochs(job.model, job.batch_size, job.total_steps)
    for start, size in schedule or ():
        if start < epochs and not (throughputs.has(job.model, size, job.gpus, gpu_type)
                                   and throughputs.lookup(job.model, size, job.gpus,
                                                          gpu_type) > 0):
            return (f"its learned schedule reaches batch size {size} at epoch {start}, but "
                    f"{throughputs.source} has no throughput for "
                    f"'{job_type_name(job.model, size)}' on {job.gpus} x {gpu_type}")
    return None


def from_jobs(jobs: Sequence[JobSpec], source: str = "<memory>") -> Trace:
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(range(1, len(jobs) + 1)))


def is_jsonl(text: str) -> bool:
    """Whether trace text is JSON Lines: its first non-blank character is ``{``."""
    return strip_bom(text).lstrip().startswith("{")


def parse_trace_text(
    text: str, source: str = "<memory>", throughputs: ThroughputTable | None = None
) -> Trace:
    """Parse trace text in either format, told apart by content, not by file name; a leading
    byte-order mark is ignored."""
    text = strip_bom(text)
    if is_jsonl(text):
        from shockwave.traces.jsonl import parse_jsonl

        return parse_jsonl(text, source=source, throughputs=throughputs)
    from shockwave.traces.tsv import parse_tsv

    return parse_tsv(text, source=source)


def load_trace(
    path: str | Path | None = None, *, throughputs: ThroughputTable | None = None
) -> Trace:
    """Read a trace file, reference TSV or JSON Lines; ``None`` loads the bundled canonical trace.

    ``throughputs`` is only consulted for JSON Lines jobs that give just one of
    ``total_steps`` and ``duration_s`` (default: the bundled table).
    """
    if path is None:
        text = (resources.files("shockwave") / "data" / DEFAULT_TRACE_NAME).read_text()
        return parse_trace_text(text, source=DEFAULT_TRACE_NAME)
    return parse_trace_text(read_text(path), source=str(path), throughputs=throughputs)


def read_text(path: str | Path) -> str:
    """A text file's content, or an ``InputError`` saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path=path) from None
