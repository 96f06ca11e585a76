"""A trace: the jobs of one experiment in arrival order, with where each came from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.workload.adaptation import load_workload_facts
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

    def check_runnable(self, throughputs: ThroughputTable, gpu_type: str = "v100") -> None:
        """Raise an ``InputError`` naming the line of the first job the model cannot run."""
        facts = load_workload_facts()
        for index, job in enumerate(self.jobs):
            line = self.line_of(index)
            if job.model not in facts.dataset_samples:
                raise InputError(
                    f"unknown model '{job.model}'; known: {', '.join(sorted(facts.dataset_samples))}",
                    path=self.source, line=line, field="job_type",
                )
            if not throughputs.has(job.model, job.batch_size, job.gpus, gpu_type):
                raise InputError(
                    f"no throughput for '{job.job_type}' on {job.gpus} x {gpu_type} in "
                    f"{throughputs.source}",
                    path=self.source, line=line, field="job_type",
                )
            if throughputs.lookup(job.model, job.batch_size, job.gpus, gpu_type) <= 0:
                raise InputError(
                    f"'{job.job_type}' on {job.gpus} x {gpu_type} has zero throughput in "
                    f"{throughputs.source}",
                    path=self.source, line=line, field="job_type",
                )

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


def from_jobs(jobs: Sequence[JobSpec], source: str = "<memory>") -> Trace:
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(range(1, len(jobs) + 1)))


def is_jsonl(text: str) -> bool:
    """Whether trace text is JSON Lines: its first non-blank character is ``{``."""
    stripped = text.lstrip()
    return stripped.startswith("{")


def parse_trace_text(
    text: str, source: str = "<memory>", throughputs: ThroughputTable | None = None
) -> Trace:
    """Parse trace text in either format, told apart by content, not by file name."""
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
