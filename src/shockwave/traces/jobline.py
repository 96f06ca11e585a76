"""One job as every trace reader accepts it: the types and bounds both formats share.

The JSON Lines reader validates each object as a ``JobLine`` (``jobline_model``); the
reference (TSV) reader and the importers turn their text fields into the same ``JobLine``, so
a value one format accepts the other accepts too, and ``trace convert`` never writes a file
shockwave would refuse. The bounds come from ``shockwave.limits`` and every message names the
one a value breaks. A line of plain values within the bounds is taken without pydantic
(``plain_job_fields``); every other goes through ``JobLine``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shockwave.errors import InputError
from shockwave.jsonfile import error_message, json_path, shown
from shockwave.limits import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    MAX_NAME_CHARS,
    MAX_PRIORITY_WEIGHT,
    MAX_SECONDS,
    MAX_SLO,
    MAX_STEPS,
)
from shockwave.model import ADAPTATION_MODES, JobSpec

if TYPE_CHECKING:
    from pydantic import ValidationError

MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
# Text that must survive the tab-separated reference format: no tab, no line boundary.
TEXT_PATTERN = "^[^\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*$"
_SECONDS = ("arrival_s", "duration_s")


@dataclass(frozen=True)
class JobFields:
    """One validated job line: the fields of ``JobLine`` (``jobline_model``), the pydantic
    model that defines what a line may hold, with its defaults."""

    model: str
    batch_size: int
    arrival_s: float
    id: int | None = None
    gpus: int = 1
    mode: str = "static"
    total_steps: int | None = None
    duration_s: float | None = None
    priority_weight: float = 1.0
    slo: float | None = None
    command: str = ""
    working_directory: str = ""
    num_steps_arg: str = ""
    needs_data_dir: bool = False


def __getattr__(name: str) -> Any:
    if name == "JobLine":  # built on first use: pydantic takes a tenth of a second to import
        from shockwave.traces.jobline_model import JobLine

        return JobLine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _message(error: Mapping[str, Any], name: str) -> str:
    """Our wording of one pydantic error about JobLine field ``name``."""
    from shockwave.traces.jobline_model import JobLine

    if error["type"] == "extra_forbidden":
        return f"unknown key; known: {', '.join(JobLine.model_fields)}"
    if error["type"] == "string_pattern_mismatch":
        if name == "model":
            return ("the model name must be one word of letters, digits and . _ + -, "
                    f"got {shown(error.get('input'))}")
        return "must not contain tabs or line breaks"
    if error["type"] == "literal_error" and name == "mode":
        return f"expected one of {', '.join(ADAPTATION_MODES)}, got {shown(error.get('input'))}"
    return error_message(error, " s" if name in _SECONDS else "")


def located(exc: ValidationError, source: str, line: int,
            names: Mapping[str, str] | None = None) -> InputError:
    """The first error of ``exc`` as an ``InputError`` at ``source:line``; ``names`` renames
    JobLine fields to the reader's own (e.g. ``arrival_s`` -> ``arrival_time``)."""
    first = exc.errors(include_url=False)[0]
    name = json_path(first["loc"]) or "line"
    field = (names or {}).get(name, name)
    message = _message(first, name)
    if name == "batch_size" and field != name:  # one part of a column such as job_type
        message = f"the batch size {message}"
    return InputError(message, path=source, line=line, field=field)


def validate_job(data: Mapping[str, object], *, source: str, line: int,
                 names: Mapping[str, str] | None = None) -> JobFields:
    """``data`` as a ``JobLine`` would hold it, or a located ``InputError`` in the reader's
    field names. A line of plain values within every bound is taken as it is
    (``plain_job_fields``); any other goes through ``JobLine``, which accepts it (converting
    what it converts) or says what is wrong."""
    fields = plain_job_fields(data)
    if fields is not None:
        return fields
    from pydantic import ValidationError

    from shockwave.traces.jobline_model import JobLine

    try:
        return JobFields(**JobLine.model_validate(data).model_dump())
    except ValidationError as exc:
        raise located(exc, source, line, names) from None


_MODEL = re.compile(MODEL_PATTERN[1:-1])
_TEXT = re.compile(TEXT_PATTERN[1:-1])
_REQUIRED = ("model", "batch_size", "arrival_s")
_OPTIONAL = ("id", "total_steps", "duration_s", "slo")
"""Fields that may be ``None``; the others may only be left out."""
_INTS = (("id", 0, 2**53), ("batch_size", 1, MAX_BATCH_SIZE), ("gpus", 1, MAX_GPUS),
         ("total_steps", 1, MAX_STEPS))
_FLOATS = (("duration_s", 0.0, MAX_SECONDS), ("arrival_s", 0.0, MAX_SECONDS),
           ("slo", -sys.float_info.max, MAX_SLO), ("priority_weight", math.ulp(0.0), MAX_PRIORITY_WEIGHT))
_TEXTS = ("command", "working_directory", "num_steps_arg")
_KEYS = frozenset(JobFields.__dataclass_fields__)


def plain_job_fields(data: Mapping[str, object]) -> JobFields | None:
    """``data`` as ``JobLine`` would validate it, when every value is of its field's exact
    type (``int``, ``float``, ``str``, ``bool``), finite, ASCII text, and within its bounds;
    ``None`` for anything else (``validate_job`` then asks ``JobLine``). Only values ``JobLine``
    accepts unchanged pass here (tests/traces/test_jobline_fast.py compares the two)."""
    if not _KEYS.issuperset(data) or any(name not in data for name in _REQUIRED):
        return None
    given = {name: value for name, value in data.items()
             if value is not None or name not in _OPTIONAL}
    if given.get("total_steps") is None and given.get("duration_s") is None:
        return None
    plain = all(type(given.get(name, low)) is int and low <= given.get(name, low) <= high
                for name, low, high in _INTS) \
        and all(type(given.get(name, low)) is float and low <= given.get(name, low) <= high
                for name, low, high in _FLOATS) \
        and all(type(given.get(name, "")) is str and given.get(name, "").isascii()
                and _TEXT.fullmatch(given.get(name, "")) for name in _TEXTS) \
        and type(given["model"]) is str and len(given["model"]) <= MAX_NAME_CHARS \
        and _MODEL.fullmatch(given["model"]) is not None \
        and type(given.get("mode", "static")) is str and given.get("mode", "static") \
        in ADAPTATION_MODES and type(given.get("needs_data_dir", False)) is bool
    return JobFields(**data) if plain else None  # type: ignore[arg-type]


def to_spec(job: JobFields, job_id: int, rate: float | None, *, source: str, line: int,
            names: Mapping[str, str] | None = None) -> JobSpec:
    """The ``JobSpec`` of ``job``; a missing ``total_steps`` or ``duration_s`` comes from
    ``rate`` (the job's positive isolated throughput, iterations/s), within the same bounds."""
    names = names or {}
    total_steps, duration_s = job.total_steps, job.duration_s
    if total_steps is None:
        steps = duration_s * rate  # type: ignore[operator]
        if not steps <= MAX_STEPS:
            raise InputError(f"{duration_s:g} s at {rate:g} iterations/s is {steps:g} steps; "
                             f"total_steps must be at most {MAX_STEPS:g}", path=source,
                             line=line, field=names.get("duration_s", "duration_s"))
        total_steps = max(1, int(steps))
    if duration_s is None:
        duration_s = total_steps / rate  # type: ignore[operator]
        if not duration_s <= MAX_SECONDS:
            raise InputError(f"{total_steps} steps at {rate:g} iterations/s take "
                             f"{duration_s:g} s; the duration must be at most {MAX_SECONDS:g} s",
                             path=source, line=line, field=names.get("total_steps", "total_steps"))
    return JobSpec(
        job_id=job_id, model=job.model, batch_size=job.batch_size, gpus=job.gpus, mode=job.mode,
        total_steps=total_steps, arrival_s=float(job.arrival_s), duration_s=float(duration_s),
        priority_weight=float(job.priority_weight),
        slo=None if job.slo is None or job.slo < 0 else float(job.slo),
        command=job.command, working_directory=job.working_directory,
        num_steps_arg=job.num_steps_arg, needs_data_dir=job.needs_data_dir,
    )
