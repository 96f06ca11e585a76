"""Importer for the Pollux/Sia workload CSVs (petuum/adaptdl ``benchmark/workloads*``).

Header ``name,time,application,num_replicas,batch_size`` (other columns are ignored); ``time``
is the arrival in seconds, ``batch_size`` the job's total batch size over its replicas. Each
application maps to the closest job type with throughputs (``data/pollux_applications.json``):

* the model comes from the table; the batch size is the supported one nearest, on a log scale,
  to the per-GPU batch ``batch_size / num_replicas``;
* the job keeps ``num_replicas`` GPUs when the model has throughputs at that width, otherwise
  the widest supported width below it (noted in the result);
* its work, ``total_steps``, is the application's measured run time at its reference width
  times the chosen job type's throughput there; its duration is that work at its own width.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shockwave.errors import InputError
from shockwave.limits import MAX_BATCH_SIZE, MAX_GPUS, MAX_SECONDS
from shockwave.model import ADAPTATION_MODES, AdaptationMode, JobSpec
from shockwave.traces.fields import parse_number, strip_bom
from shockwave.traces.importing import (
    ImportResult,
    nearest_batch_size,
    no_jobs_error,
    positive_rate,
    supported_shapes,
)
from shockwave.traces.jobline import to_spec, validate_job
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable

COLUMNS = ("name", "time", "application", "num_replicas", "batch_size")
NAMES = {"arrival_s": "time", "gpus": "num_replicas", "total_steps": "application",
         "duration_s": "application"}
"""JobLine field -> the column it comes from, for messages."""
# (column, kind, minimum, maximum, unit); batch_size is the total over all replicas.
_NUMBERS = {"time": (float, 0, MAX_SECONDS, " s"), "num_replicas": (int, 1, MAX_GPUS, ""),
            "batch_size": (int, 1, MAX_BATCH_SIZE, "")}


@dataclass(frozen=True)
class Application:
    """How one Pollux application becomes a job type of ours."""

    model: str
    run_time_s: float
    at_gpus: int
    reason: str


@cache
def load_applications() -> dict[str, Application]:
    """The bundled application mapping (read once)."""
    raw = json.loads(
        (resources.files("shockwave") / "data" / "pollux_applications.json").read_text())
    return {name: Application(**entry) for name, entry in raw["applications"].items()}


def _field(row: dict[str, str | None], name: str, source: str, line: int) -> float:
    kind, minimum, maximum, unit = _NUMBERS[name]
    return parse_number(row.get(name) or "", kind, path=source, line=line, field=name,
                        minimum=minimum, maximum=maximum, unit=unit)


class _Mapper:
    """Turns (application, replicas, total batch size) into a supported job shape."""

    def __init__(self, throughputs: ThroughputTable, gpu_type: str) -> None:
        self.throughputs, self.gpu_type = throughputs, gpu_type
        self.apps = load_applications()
        self.notes: list[str] = []

    def application(self, name: str, source: str, line: int) -> Application:
        if name not in self.apps:
            raise InputError(f"unknown application {name!r}; known: {', '.join(self.apps)}",
                             path=source, line=line, field="application")
        return self.apps[name]

    def shape(self, app: Application, replicas: int, total_batch: int, source: str,
              line: int) -> tuple[int, int]:
        shapes = supported_shapes(self.throughputs, app.model, self.gpu_type)
        widths = [g for g in shapes if g <= replicas]
        if not widths:
            raise InputError(f"{app.model} has no throughput on {replicas} x {self.gpu_type} or "
                             f"fewer in {self.throughputs.source}",
                             path=source, line=line, field="num_replicas")
        gpus = replicas if replicas in shapes else widths[-1]
        if gpus != replicas:
            self.notes.append(f"line {line}: {app.model} has no throughput on {replicas} GPUs; "
                              f"the job uses {gpus}")
        return gpus, nearest_batch_size(shapes[gpus], total_batch / replicas)

    def total_steps(self, app: Application, batch_size: int, gpus: int) -> int:
        rate = positive_rate(self.throughputs, app.model, batch_size, app.at_gpus, self.gpu_type)
        if rate is None:  # the reference width lacks this batch size: measure at the job's own
            rate = positive_rate(self.throughputs, app.model, batch_size, gpus, self.gpu_type)
        return max(1, int(app.run_time_s * rate))  # type: ignore[operator]


def _csv_error(exc: csv.Error, source: str, line: int) -> InputError:
    return InputError(f"not a valid CSV row: {exc}", path=source, line=line, field="line")


def _rows(text: str, source: str) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line number, row) of every data row, after the header is checked."""
    reader = csv.DictReader(strip_bom(text).splitlines(), skipinitialspace=True)
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise _csv_error(exc, source, 1) from None
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise InputError(f"the header lacks {', '.join(missing)}; expected {','.join(COLUMNS)}",
                         path=source, line=1, field="header")
    reader.fieldnames = header
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader may not have counted the line it failed on
            raise _csv_error(exc, source, max(reader.line_num, last + 1)) from None
        last = reader.line_num
        yield last, row


def import_pollux(
    text: str, throughputs: ThroughputTable, source: str = "<memory>", *,
    mode: AdaptationMode = "static", gpu_type: str = "v100",
) -> ImportResult:
    """Read a Pollux/Sia workload CSV; every job gets adaptation ``mode``; rows sorted by time."""
    if mode not in ADAPTATION_MODES:
        raise InputError(f"expected one of {', '.join(ADAPTATION_MODES)}, got {mode!r}",
                         field="mode")
    mapper = _Mapper(throughputs, gpu_type)
    jobs: list[JobSpec] = []
    lines: list[int] = []
    for number, row in _rows(text, source):
        if None in row:
            raise InputError("more values than header columns", path=source, line=number,
                             field="line")
        app = mapper.application((row.get("application") or "").strip(), source, number)
        arrival = float(_field(row, "time", source, number))
        replicas = int(_field(row, "num_replicas", source, number))
        total_batch = int(_field(row, "batch_size", source, number))
        if jobs and arrival < jobs[-1].arrival_s:
            raise InputError(f"arrival {arrival:g} s is before the previous job's "
                             f"{jobs[-1].arrival_s:g} s; traces must be sorted by arrival",
                             path=source, line=number, field="time")
        gpus, batch_size = mapper.shape(app, replicas, total_batch, source, number)
        job = validate_job({"model": app.model, "batch_size": batch_size, "gpus": gpus,
                            "mode": mode, "arrival_s": arrival,
                            "total_steps": mapper.total_steps(app, batch_size, gpus)},
                           source=source, line=number, names=NAMES)
        rate = throughputs.lookup(app.model, batch_size, gpus, gpu_type)
        jobs.append(to_spec(job, len(jobs), rate, source=source, line=number, names=NAMES))
        lines.append(number)
    if not jobs:
        raise no_jobs_error(source, [])
    return ImportResult(Trace(tuple(jobs), source, tuple(lines)), (), tuple(mapper.notes))
