"""Trace jobs as service job specs: which bundled workload runs each trace line, and the spec it
is submitted with. Everything is checked here, before anything is submitted.

A trace of the bundled workloads names them (``digits (batch size 64)``); the reference's model
names map by ``DEFAULT_WORKLOADS``, and ``--map MODEL=WORKLOAD`` adds or overrides entries. From
the trace line come the batch size, the gang (its GPUs), the adaptation mode, the priority weight
and the length: ``total_steps x batch_size x work_scale`` samples. Everything else (the program,
the dataset size, checkpoints, the seed) comes from the workload's bundled spec; its batch-size
bounds are widened when needed to hold the trace's batch size."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shockwave.errors import InputError
from shockwave.jsonfile import error_message
from shockwave.traces.jobline import MODEL_PATTERN
from shockwave.traces.trace import Trace
from shockwave.workloads import WORKLOADS

DEFAULT_WORKLOADS: dict[str, str] = {
    "ResNet-18": "digits",
    "ResNet-50": "digits",
    "LM": "tinylm",
    "Transformer": "tinylm",
    "Recommendation": "recommend",
}
"""The reference's models and the bundled workload that stands in for each (image
classification -> the digits CNN, language models -> the tiny GRU LM, recommendation -> the
autoencoder); the bundled workloads also stand for themselves."""

# The trace's names for the spec fields a trace line sets, per format (for error messages).
_TRACE_FIELDS = {
    "jsonl": {"batch_size": "batch_size", "gpus": "gpus", "adaptation": "mode",
              "total_samples": "total_steps", "priority_weight": "priority_weight"},
    "reference": {"batch_size": "job_type", "gpus": "scale_factor", "adaptation": "mode",
                  "total_samples": "total_steps", "priority_weight": "priority_weight"},
}


@dataclass(frozen=True)
class Submission:
    """One trace job as it will be submitted: its trace index and arrival, the workload that
    runs it, and the job spec (``POST /v1/jobs`` body, already validated)."""

    index: int
    arrival_s: float
    workload: str
    spec: dict[str, Any]


def parse_map(items: Sequence[str]) -> dict[str, str]:
    """``--map MODEL=WORKLOAD`` options as {model: workload}; a bad one is an ``InputError``
    naming ``--map``."""
    table: dict[str, str] = {}
    for item in items:
        model, sep, workload = (part.strip() for part in item.partition("="))
        if not sep or not model or not workload:
            raise InputError(f"expected MODEL=WORKLOAD (e.g. ResNet-18=digits), got {item!r}",
                             field="--map")
        if not re.fullmatch(MODEL_PATTERN, model):
            raise InputError("the model name must be one word of letters, digits and . _ + -, "
                             f"got {model!r}", field="--map")
        if workload not in WORKLOADS:
            raise InputError(f"no bundled workload {workload!r}; known: {', '.join(WORKLOADS)}",
                             field="--map")
        if table.get(model, workload) != workload:
            raise InputError(f"{model} is mapped twice ({table[model]}, {workload})",
                             field="--map")
        table[model] = workload
    return table


def workload_table(overrides: Mapping[str, str]) -> dict[str, str]:
    """Model -> bundled workload: each workload itself, the defaults, then ``overrides``."""
    return {**{name: name for name in WORKLOADS}, **DEFAULT_WORKLOADS, **overrides}


def trace_format(text: str) -> str:
    """``jsonl`` or ``reference``: the trace's format, for naming its fields in messages."""
    from shockwave.traces.trace import is_jsonl

    return "jsonl" if is_jsonl(text) else "reference"


def workloads_of(trace: Trace, table: Mapping[str, str], fmt: str = "jsonl") -> list[str]:
    """The workload of each trace job, in trace order; a model the table lacks is an
    ``InputError`` naming its line."""
    out = []
    for index, job in enumerate(trace.jobs):
        workload = table.get(job.model)
        if workload is None:
            raise InputError(
                f"no bundled workload runs model '{job.model}' (mapped: "
                f"{', '.join(sorted(table))}); map it with --map {job.model}=WORKLOAD, one of "
                f"{', '.join(WORKLOADS)}", path=trace.source, line=trace.line_of(index),
                field="model" if fmt == "jsonl" else "job_type")
        out.append(workload)
    return out


def submissions(trace: Trace, workloads: Sequence[str], specs: Mapping[str, Mapping[str, Any]],
                *, work_scale: float = 1.0, speeds: Sequence[float | None] | None = None,
                fmt: str = "jsonl") -> list[Submission]:
    """Each trace job as a validated job spec built on ``specs[workload]`` (a bundled spec's
    fields). ``speeds`` are optional samples/s hints (whole gang), one per job. A spec the
    service would refuse is an ``InputError`` naming the trace line and field."""
    from shockwave.service.jobspec import JobSubmit

    out = []
    for index, (job, workload) in enumerate(zip(trace.jobs, workloads, strict=True)):
        base = dict(specs[workload])
        base.pop("total_epochs", None)
        low = min(base.get("min_batch_size") or job.batch_size, job.batch_size)
        high = max(base.get("max_batch_size") or job.batch_size, job.batch_size)
        spec = {
            **base, "name": f"trace{index}-{workload}", "model": workload, "gpus": job.gpus,
            "batch_size": job.batch_size, "min_batch_size": low, "max_batch_size": high,
            "adaptation": job.mode, "priority_weight": job.priority_weight,
            "total_samples": max(1, round(job.total_steps * job.batch_size * work_scale)),
        }
        speed = speeds[index] if speeds is not None else None
        if speed is not None:
            spec["expected_samples_per_s"] = speed
        try:
            JobSubmit.model_validate(spec)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            name = str(first["loc"][0]) if first["loc"] else ""
            field = _TRACE_FIELDS[fmt].get(name)
            raise InputError(f"as a {workload} job: "
                             + (error_message(first) if field else f"{name}: {first['msg']}"),
                             path=trace.source, line=trace.line_of(index), field=field) from None
        out.append(Submission(index=index, arrival_s=job.arrival_s, workload=workload, spec=spec))
    return out
