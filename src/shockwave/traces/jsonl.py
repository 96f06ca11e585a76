"""This project's own trace format: JSON Lines, one job per line (documented in docs/traces.md).

Every line is an object validated with pydantic. A job gives ``total_steps`` (iterations of the
whole gang at its initial batch size), ``duration_s`` (its static run time alone on ``gpus``
GPUs), or both; a missing one is derived from the throughput table. The optional command
fields make conversion to the reference format lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from shockwave.errors import InputError
from shockwave.model import JobSpec
from shockwave.traces.fields import strip_bom
from shockwave.traces.jobline import JobFields, to_spec, validate_job
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable, load_throughputs

__all__ = ["JobFields", "format_jsonl", "job_to_dict", "parse_jsonl"]


class _Rates:
    """Throughputs, loaded only when some line leaves out its length."""

    def __init__(self, table: ThroughputTable | None, gpu_type: str) -> None:
        self.table, self.gpu_type = table, gpu_type

    def of(self, job: JobFields, source: str, line: int) -> float | None:
        if job.total_steps is not None and job.duration_s is not None:
            return None
        if self.table is None:
            self.table = load_throughputs()
        field = "duration_s" if job.total_steps is None else "total_steps"
        if not self.table.has(job.model, job.batch_size, job.gpus, self.gpu_type) or (
            self.table.lookup(job.model, job.batch_size, job.gpus, self.gpu_type) <= 0
        ):
            raise InputError(
                f"cannot derive the missing length: no throughput for {job.model} at batch size "
                f"{job.batch_size} on {job.gpus} x {self.gpu_type} in {self.table.source}",
                path=source, line=line, field=field,
            )
        return self.table.lookup(job.model, job.batch_size, job.gpus, self.gpu_type)


def _parse_object(raw: str, source: str, number: int) -> JobFields:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})",
                         path=source, line=number, field="line") from None
    except ValueError:  # an integer of more than 4300 digits
        raise InputError("not valid JSON: an integer has too many digits",
                         path=source, line=number, field="line") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=source, line=number, field="line") from None
    if not isinstance(data, dict):
        raise InputError("each line must be a JSON object", path=source, line=number, field="line")
    return validate_job(data, source=source, line=number)


def parse_jsonl(
    text: str, source: str = "<memory>", throughputs: ThroughputTable | None = None,
    gpu_type: str = "v100",
) -> Trace:
    """Parse JSON Lines text; blank lines are skipped, jobs must be sorted by arrival."""
    rates = _Rates(throughputs, gpu_type)
    jobs: list[JobSpec] = []
    lines: list[int] = []
    # JSON Lines separates records by "\n" only; a string may hold other line separators.
    for number, raw in enumerate(strip_bom(text).split("\n"), start=1):
        if not raw.strip():
            continue
        job = _parse_object(raw, source, number)
        if job.id is not None and job.id != len(jobs):
            raise InputError(f"expected {len(jobs)}: ids count 0, 1, 2, ... in line order",
                             path=source, line=number, field="id")
        if jobs and job.arrival_s < jobs[-1].arrival_s:
            raise InputError(
                f"arrival {job.arrival_s:g} s is before the previous job's "
                f"{jobs[-1].arrival_s:g} s; traces must be sorted by arrival",
                path=source, line=number, field="arrival_s",
            )
        jobs.append(to_spec(job, len(jobs), rates.of(job, source, number), source=source,
                            line=number))
        lines.append(number)
    if not jobs:
        raise InputError("the trace has no jobs", path=source)
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(lines))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def job_to_dict(job: JobSpec) -> dict[str, object]:
    """A job as its JSON Lines object, keys in the documented order."""
    return {
        "id": job.job_id, "model": job.model, "batch_size": job.batch_size, "gpus": job.gpus,
        "mode": job.mode, "total_steps": job.total_steps,
        "duration_s": _number(job.duration_s), "arrival_s": _number(job.arrival_s),
        "priority_weight": _number(job.priority_weight),
        "slo": None if job.slo is None else _number(job.slo),
        "command": job.command, "working_directory": job.working_directory,
        "num_steps_arg": job.num_steps_arg, "needs_data_dir": job.needs_data_dir,
    }


def format_jsonl(jobs: Iterable[JobSpec]) -> str:
    """JSON Lines text, one job per line, ids renumbered 0, 1, 2, ... in order."""
    out = []
    for index, job in enumerate(jobs):
        row = job_to_dict(job)
        row["id"] = index
        out.append(json.dumps(row) + "\n")
    return "".join(out)
