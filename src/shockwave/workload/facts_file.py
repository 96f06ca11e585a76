"""``FactsFile``: the pydantic model of a ``--workload-facts`` file (``workload.facts``),
imported only when a file is read or written: the bundled facts need no validation, and
pydantic takes a tenth of a second to load."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shockwave.errors import InputError
from shockwave.jsonfile import error_message, json_path, shown
from shockwave.limits import MAX_BATCH_SIZE, MAX_NAME_CHARS
from shockwave.traces.jobline import MODEL_PATTERN
from shockwave.workload.facts import MAX_DATASET_SAMPLES

_Model = Annotated[str, Field(pattern=MODEL_PATTERN, max_length=MAX_NAME_CHARS)]
_BatchSize = Annotated[int, Field(ge=1, le=MAX_BATCH_SIZE)]
_Row = Annotated[list[int], Field(min_length=2, max_length=2)]


class FactsFile(BaseModel):
    """The file as written; every key optional. ``about`` is a free comment."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    about: str | None = None
    dataset_samples: dict[_Model, Annotated[int, Field(ge=1, le=MAX_DATASET_SAMPLES)]] = {}
    min_batch_size: dict[_Model, _BatchSize] = {}
    max_batch_size: dict[_Model, _BatchSize] = {}
    schedules: dict[str, Annotated[list[_Row], Field(min_length=1, max_length=100_000)]] = {}


def parse_facts_file(raw: Any, source: str) -> FactsFile:
    """``raw`` (a file's parsed JSON object) as a ``FactsFile``, or an ``InputError`` naming
    ``source`` and the field at fault."""
    try:
        return FactsFile.model_validate(raw)
    except ValidationError as exc:
        raise _located(exc, source) from None


def _located(exc: ValidationError, source: str) -> InputError:
    first = exc.errors(include_url=False)[0]
    field = json_path(first["loc"]) or None
    if first["type"] == "extra_forbidden":
        message = f"unknown key; known: {', '.join(FactsFile.model_fields)}"
    elif first["type"] == "string_pattern_mismatch":
        message = ("a model name must be one word of letters, digits and . _ + -, got "
                   f"{shown(first.get('input'))}")
    elif first["type"] in ("too_short", "too_long") and len(first["loc"]) == 3:
        count = len(first["input"])
        message = f"a row must be [start_epoch, batch_size], got {count} value" + \
            ("s" if count != 1 else "")
    elif first["type"] == "too_short":
        message = "a schedule needs at least one row, [0, batch_size]"
    else:
        message = error_message(first)
    return InputError(message, path=source, field=field)
