"""What a simulation produces: per-job records, the per-round schedule, and their JSON form."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from shockwave.errors import InputError
from shockwave.limits import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    MAX_NAME_CHARS,
    MAX_RESULT_SECONDS,
    MAX_TRACE_JOBS,
)
from shockwave.model import JobId

if TYPE_CHECKING:
    from shockwave.metrics import Summary

DEFAULT_GPU_TYPE = "v100"
"""The type of every GPU of a result that does not say (results written before GPU types)."""


@dataclass(frozen=True)
class JobRecord:
    """One finished job. ``run_time_s`` is its exclusive, adaptation-aware run time (T_j)."""

    job_id: JobId
    model: str
    batch_size: int
    gpus: int
    mode: str
    arrival_s: float
    completion_s: float
    run_time_s: float
    attained_s: float = 0.0
    batch_size_timeline: tuple[tuple[float, int], ...] = ()

    @property
    def jct_s(self) -> float:
        return self.completion_s - self.arrival_s


@dataclass(frozen=True)
class SimResult:
    """The outcome of one simulation run. ``gpu_types`` is the GPU type of each GPU id; a result
    built without it (``()``) ran on one type, ``DEFAULT_GPU_TYPE``, as ``Cluster`` defaults."""

    policy: str
    num_gpus: int
    records: tuple[JobRecord, ...]
    schedule: tuple[Mapping[JobId, tuple[int, ...]], ...]
    round_start_s: tuple[float, ...]
    round_end_s: tuple[float, ...]
    gpu_busy_s: tuple[float, ...]
    makespan_s: float
    num_trace_jobs: int
    inputs: Mapping[str, Any] = field(default_factory=dict)
    stats: Mapping[str, Any] = field(default_factory=dict)
    gpu_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.gpu_types:
            object.__setattr__(self, "gpu_types", (DEFAULT_GPU_TYPE,) * self.num_gpus)
        elif len(self.gpu_types) != self.num_gpus:
            raise ValueError(f"{len(self.gpu_types)} GPU types for {self.num_gpus} GPUs")

    @property
    def is_heterogeneous(self) -> bool:
        """Whether the run's GPUs are of more than one type."""
        return len(set(self.gpu_types)) > 1

    def record(self, job_id: JobId) -> JobRecord:
        return next(r for r in self.records if r.job_id == job_id)


def result_to_json(result: SimResult, summary: Summary | None = None) -> dict[str, Any]:
    """The documented JSON form (see docs/results.md); metrics come from ``metrics.summarize``
    (``summary``, when the caller has it already)."""
    from shockwave.metrics import ftf_rhos, summarize, utilization_by_type

    summary = summary or summarize(result)
    rhos = ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus)
    return {
        "policy": result.policy,
        **summary.as_dict(),
        "cluster_util_by_type": utilization_by_type(result.gpu_busy_s, result.gpu_types,
                                                    summary.makespan_s),
        "inputs": dict(result.inputs),
        "num_gpus": result.num_gpus,
        "gpu_types": list(result.gpu_types),
        "num_trace_jobs": result.num_trace_jobs,
        "stats": dict(result.stats),
        "jobs": [
            {
                "id": r.job_id, "model": r.model, "batch_size": r.batch_size, "gpus": r.gpus,
                "mode": r.mode, "arrival_s": r.arrival_s, "completion_s": r.completion_s,
                "jct_s": r.jct_s, "run_time_s": r.run_time_s, "attained_s": r.attained_s,
                "ftf_rho": rhos[i],
                "batch_size_timeline": [[t, b] for t, b in r.batch_size_timeline],
            }
            for i, r in enumerate(result.records)
        ],
        "gpu_busy_s": list(result.gpu_busy_s),
        "round_start_s": list(result.round_start_s),
        "round_end_s": list(result.round_end_s),
        "per_round_schedule": [
            {str(job): list(gpus) for job, gpus in plan.items()} for plan in result.schedule
        ],
    }


def result_from_json(data: Any, *, source: str | None = None, prefix: str = "") -> SimResult:
    """Rebuild a ``SimResult`` from ``result_to_json`` output (for reports of saved runs).

    The whole document is checked first (types, finite times within ``MAX_RESULT_SECONDS``,
    ids, per-round lists of the right lengths, GPU ids inside the cluster), so a bad file fails
    here, not inside a figure worker: an ``InputError`` names ``source`` and the JSON path of
    the first bad field, inside ``prefix`` when given (the path of this result in its file,
    e.g. ``results[1]``): ``results.json: jobs[3].completion_s: must be finite, got nan``. Keys
    that are not read (the summary metrics, ``jct_s``, ``ftf_rho``) are ignored.
    """
    from pydantic import ValidationError

    from shockwave.jsonfile import error_message, json_path, shown

    try:
        saved = _saved_result_model().model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = error_message(first)
        if first["type"] == "missing":
            message = "missing field (expected the output of 'shockwave simulate --json')"
        elif first["type"] in ("model_type", "model_attributes_type") and not first["loc"]:
            message = "not a simulation result (expected a JSON object)"
        elif first["type"] == "string_pattern_mismatch":
            message = _pattern_message(first["loc"], shown(first["input"]))
        raise InputError(message, path=source,
                         field=_joined(prefix, json_path(first["loc"]))) from None
    problem = _inconsistency(saved)
    if problem is not None:
        field, message = problem
        raise InputError(message, path=source, field=_joined(prefix, field))
    return _rebuild(saved)


def _pattern_message(loc: tuple[Any, ...], got: str) -> str:
    """What a string of the document that does not match its pattern should look like."""
    if loc == ("policy",):
        return f"must not contain control characters, got {got}"
    if loc[:1] == ("gpu_types",):
        return f"a GPU type is letters, digits and . _ + - (at most 64), got {got}"
    return f"the model name must be one word of letters, digits and . _ + -, got {got}"


def _joined(prefix: str, path: str) -> str | None:
    """``prefix`` (the path of this result in its file) and ``path`` (inside it) as one path."""
    if not prefix or not path:
        return prefix or path or None
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def _rebuild(saved: Any) -> SimResult:
    records = tuple(
        JobRecord(
            job_id=j.id, model=j.model, batch_size=j.batch_size, gpus=j.gpus, mode=j.mode,
            arrival_s=j.arrival_s, completion_s=j.completion_s, run_time_s=j.run_time_s,
            attained_s=j.attained_s, batch_size_timeline=tuple(j.batch_size_timeline),
        )
        for j in saved.jobs
    )
    schedule = tuple({int(k): tuple(v) for k, v in plan.items()}
                     for plan in saved.per_round_schedule)
    return SimResult(
        policy=saved.policy, num_gpus=saved.num_gpus, records=records, schedule=schedule,
        round_start_s=tuple(saved.round_start_s), round_end_s=tuple(saved.round_end_s),
        gpu_busy_s=tuple(saved.gpu_busy_s), makespan_s=saved.makespan_s,
        num_trace_jobs=saved.num_trace_jobs, inputs=dict(saved.inputs), stats=dict(saved.stats),
        gpu_types=tuple(saved.gpu_types) if saved.gpu_types is not None else
        _types_from_inputs(saved.inputs, saved.num_gpus),
    )


def _types_from_inputs(inputs: Mapping[str, Any], num_gpus: int) -> tuple[str, ...]:
    """The GPU types of a result written without ``gpu_types``: its inputs' ``cluster`` when it
    has one of ``num_gpus`` GPUs, else one type, ``DEFAULT_GPU_TYPE`` (every result written
    before clusters had types ran on V100s)."""
    from shockwave.clusters import parse_cluster

    text = inputs.get("cluster")
    if isinstance(text, str):
        try:
            cluster = parse_cluster(text)
        except InputError:
            cluster = None
        if cluster is not None and cluster.num_gpus == num_gpus:
            return tuple(t for t, count, _ in cluster.groups for _ in range(count))
    return (DEFAULT_GPU_TYPE,) * num_gpus


_JOB_KEY = re.compile(r"0|[1-9][0-9]{0,17}")


def _inconsistency(saved: Any) -> tuple[str, str] | None:
    """(JSON path, why) of the first place where the document contradicts itself, or ``None``."""
    gpus, rounds, jobs = saved.num_gpus, len(saved.per_round_schedule), saved.num_trace_jobs
    if len(saved.jobs) > jobs:
        return "jobs", f"has {len(saved.jobs)} jobs but num_trace_jobs is {jobs}"
    if len(saved.gpu_busy_s) != gpus:
        return "gpu_busy_s", f"expected {gpus} values (one per GPU), got {len(saved.gpu_busy_s)}"
    if saved.gpu_types is not None and len(saved.gpu_types) != gpus:
        return "gpu_types", f"expected {gpus} values (one per GPU), got {len(saved.gpu_types)}"
    for name in ("round_start_s", "round_end_s"):
        if len(getattr(saved, name)) != rounds:
            return name, (f"expected {rounds} values (one per round of per_round_schedule), "
                          f"got {len(getattr(saved, name))}")
    for r, (start, end) in enumerate(zip(saved.round_start_s, saved.round_end_s, strict=True)):
        if end < start:
            return f"round_end_s[{r}]", f"must not be before the round's start {start:g} s, got {end:g}"
    return _job_problem(saved.jobs, jobs, gpus) or _schedule_problem(
        saved.per_round_schedule, jobs, gpus)


def _job_problem(records: Any, num_jobs: int, num_gpus: int) -> tuple[str, str] | None:
    seen: set[int] = set()
    for i, job in enumerate(records):
        if job.id >= num_jobs or job.id in seen:
            why = "appears twice" if job.id in seen else f"must be less than num_trace_jobs ({num_jobs})"
            return f"jobs[{i}].id", f"{why}, got {job.id}"
        seen.add(job.id)
        if job.gpus > num_gpus:
            return f"jobs[{i}].gpus", f"must be at most num_gpus ({num_gpus}), got {job.gpus}"
        if job.completion_s < job.arrival_s:
            return f"jobs[{i}].completion_s", (f"must not be before the job's arrival "
                                               f"{job.arrival_s:g} s, got {job.completion_s:g}")
    return None


def _schedule_problem(schedule: Any, num_jobs: int, num_gpus: int) -> tuple[str, str] | None:
    for r, plan in enumerate(schedule):
        used: set[int] = set()
        for key, gang in plan.items():
            where = f"per_round_schedule[{r}][{json.dumps(key)}]"
            if not _JOB_KEY.fullmatch(key) or int(key) >= num_jobs:
                return where, (f"keys must be job ids 0 to {num_jobs - 1} written in decimal, "
                               f"got {json.dumps(key)[:40]}")
            if not gang:
                return where, "a job placed in a round holds at least one GPU"
            for g, gpu in enumerate(gang):
                if gpu >= num_gpus or gpu in used:
                    why = "is used twice in the round" if gpu in used else \
                        f"must be less than num_gpus ({num_gpus})"
                    return f"{where}[{g}]", f"GPU id {why}, got {gpu}"
                used.add(gpu)
    return None


@cache
def _saved_result_model() -> Any:
    """The saved-result document as a pydantic model, built on first use (a simulation never
    imports pydantic)."""
    from pydantic import BaseModel, ConfigDict, Field, Strict

    from shockwave.clusters import GPU_TYPE_PATTERN
    from shockwave.traces.jobline import MODEL_PATTERN

    seconds = Annotated[float, Strict(), Field(ge=0, le=MAX_RESULT_SECONDS, allow_inf_nan=False)]
    count = Annotated[int, Strict(), Field(ge=0)]
    batch_size = Annotated[int, Strict(), Field(ge=1, le=MAX_BATCH_SIZE)]

    class SavedJob(BaseModel):
        model_config = ConfigDict(extra="ignore")
        id: count
        model: Annotated[str, Strict(), Field(pattern=MODEL_PATTERN, max_length=MAX_NAME_CHARS)]
        batch_size: batch_size
        gpus: Annotated[int, Strict(), Field(ge=1, le=MAX_GPUS)]
        mode: Literal["static", "accordion", "gns"]
        arrival_s: seconds
        completion_s: seconds
        run_time_s: Annotated[float, Strict(),
                              Field(gt=0, le=MAX_RESULT_SECONDS, allow_inf_nan=False)]
        attained_s: seconds = 0.0
        batch_size_timeline: list[tuple[seconds, batch_size]] = []

    class SavedResult(BaseModel):
        model_config = ConfigDict(extra="ignore")
        policy: Annotated[str, Strict(), Field(min_length=1, max_length=MAX_NAME_CHARS,
                                               pattern=r"^[^\x00-\x1f\x7f]*$")]
        num_gpus: Annotated[int, Strict(), Field(ge=1, le=MAX_GPUS)]
        num_trace_jobs: Annotated[int, Strict(), Field(ge=0, le=MAX_TRACE_JOBS)]
        makespan_s: seconds
        jobs: list[SavedJob]
        gpu_busy_s: list[seconds]
        round_start_s: list[seconds]
        round_end_s: list[seconds]
        per_round_schedule: list[dict[Annotated[str, Strict()], list[count]]]
        inputs: dict[Annotated[str, Strict()], Any] = {}
        stats: dict[Annotated[str, Strict()], Any] = {}
        gpu_types: list[Annotated[str, Strict(), Field(pattern=f"^{GPU_TYPE_PATTERN}$")]] | None \
            = None

    return SavedResult
