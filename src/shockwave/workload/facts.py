"""A workload-facts file (``--workload-facts``): dataset sizes, batch-size bounds and learned
batch-size schedules of models the bundled ``data/workload.json`` does not know (or new values
for those it does), merged over the bundled facts model by model.

```json
{"dataset_samples": {"digits": 1536},
 "min_batch_size": {"digits": 16}, "max_batch_size": {"digits": 256},
 "schedules": {"digits|gns|64|1": [[0, 64], [10, 128]]}}
```

Every key is optional. A schedule is keyed ``model|mode|initial batch size|GPUs`` (mode
``accordion`` or ``gns``) and lists ``[start_epoch, batch_size]`` rows from epoch 0, starts
increasing. ``shockwave profile`` writes such a file (docs/profiling.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shockwave.errors import InputError
from shockwave.jsonfile import json_path, read_json, shown
from shockwave.limits import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_GPUS
from shockwave.workload.adaptation import (
    Schedule,
    ScheduleKey,
    WorkloadFacts,
    load_workload_facts,
)

if TYPE_CHECKING:
    from shockwave.workload.facts_file import FactsFile

MAX_DATASET_SAMPLES = 10**15
"""Samples in one epoch of a model (the service's bound on a job's samples)."""
SCHEDULE_MODES = ("accordion", "gns")


def load_facts(path: str | Path | None) -> WorkloadFacts:
    """The bundled facts, with the file at ``path`` merged over them (``None``: the bundled
    facts alone). Raises an ``InputError`` naming the file and the field at fault."""
    bundled = load_workload_facts()
    if path is None:
        return bundled
    raw, source = read_json(path)
    if not isinstance(raw, dict):
        raise InputError("top level must be an object (dataset_samples, min_batch_size, "
                         "max_batch_size, schedules)", path=source)
    from shockwave.workload.facts_file import parse_facts_file  # pydantic: only for a file

    return merge_facts(bundled, parse_facts_file(raw, source), source)


def merge_facts(base: WorkloadFacts, file: FactsFile, source: str = "<memory>") -> WorkloadFacts:
    """``base`` with the values of ``file`` replacing its own, model by model; checked as a
    whole (bounds in order, schedules of known models within their bounds)."""
    merged = replace(
        base,
        dataset_samples={**base.dataset_samples, **file.dataset_samples},
        min_batch_size={**base.min_batch_size, **file.min_batch_size},
        max_batch_size={**base.max_batch_size, **file.max_batch_size},
    )
    _check_bounds(merged, file, source)
    schedules = dict(base.schedules)
    for text, rows in file.schedules.items():
        key = _schedule_key(text, merged, source)
        schedules[key] = _schedule(rows, key, merged, source, json_path(["schedules", text]))
    return replace(merged, schedules=schedules)


def _check_bounds(facts: WorkloadFacts, file: FactsFile, source: str) -> None:
    for name in ("min_batch_size", "max_batch_size"):
        for model in getattr(file, name):
            field = json_path([name, model])
            if model not in facts.dataset_samples:
                raise InputError(f"unknown model {model!r}: give its dataset_samples too",
                                 path=source, field=field)
            low, high = facts.min_batch_size.get(model), facts.max_batch_size.get(model)
            if low is not None and high is not None and low > high:
                raise InputError(f"the minimum batch size of {model} ({low}) is above its "
                                 f"maximum ({high})", path=source, field=field)


def _schedule_key(text: str, facts: WorkloadFacts, source: str) -> ScheduleKey:
    """``model|mode|initial batch size|GPUs`` as a key, each part checked."""
    field = json_path(["schedules", text])
    parts = text.split("|")
    if len(parts) != 4:
        raise InputError("a schedule's key must be 'model|mode|initial batch size|GPUs', e.g. "
                         f"'digits|gns|64|1'; got {shown(text)}", path=source, field=field)
    model, mode, bs0, gpus = parts
    if model not in facts.dataset_samples:
        raise InputError(f"unknown model {model!r}; known: "
                         f"{', '.join(sorted(facts.dataset_samples))} (or give its "
                         "dataset_samples)", path=source, field=field)
    if mode not in SCHEDULE_MODES:
        raise InputError(f"the mode must be {' or '.join(SCHEDULE_MODES)} (a static job keeps "
                         f"its batch size), got {shown(mode)}", path=source, field=field)
    return model, mode, _whole(bs0, MAX_BATCH_SIZE, "initial batch size", source, field), \
        _whole(gpus, MAX_GPUS, "GPUs", source, field)


def _whole(text: str, high: int, what: str, source: str, field: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= high:
        raise InputError(f"the {what} must be a whole number from 1 to {high:,}, got "
                         f"{shown(text)}", path=source, field=field)
    return int(text)


def _schedule(rows: Sequence[Sequence[int]], key: ScheduleKey, facts: WorkloadFacts,
              source: str, field: str) -> Schedule:
    """The rows as a schedule: from epoch 0, starts increasing, sizes within the bounds."""
    model = key[0]
    low = facts.min_batch_size.get(model, 1)
    high = facts.max_batch_size.get(model, MAX_BATCH_SIZE)
    previous = -1
    for index, (start, size) in enumerate(rows):
        where = f"{field}[{index}]"
        if index == 0 and start != 0:
            raise InputError(f"the first row must start at epoch 0, got {start}", path=source,
                             field=f"{where}[0]")
        if not previous < start <= MAX_EPOCHS:
            raise InputError(f"epochs must increase from row to row, up to {MAX_EPOCHS:,}; "
                             f"got {start} after {previous}", path=source, field=f"{where}[0]")
        if not low <= size <= high:
            raise InputError(f"the batch size must be within {model}'s bounds [{low}, {high}], "
                             f"got {size}", path=source, field=f"{where}[1]")
        previous = start
    return tuple((start, size) for start, size in rows)


def facts_to_json(dataset_samples: Mapping[str, int], min_batch_size: Mapping[str, int],
                  max_batch_size: Mapping[str, int], about: str | None = None,
                  schedules: Mapping[str, Sequence[Sequence[int]]] | None = None
                  ) -> dict[str, Any]:
    """A facts file's content (what ``shockwave profile`` writes), checked as the reader
    checks it (``schedules`` keyed ``model|mode|batch size|GPUs``)."""
    from shockwave.workload.facts_file import FactsFile

    file = FactsFile(about=about, dataset_samples=dict(dataset_samples),
                     min_batch_size=dict(min_batch_size), max_batch_size=dict(max_batch_size),
                     schedules={k: [list(r) for r in rows] for k, rows in (schedules or {}).items()})
    data = file.model_dump(exclude_defaults=True)
    merge_facts(load_workload_facts(), FactsFile.model_validate(data), "shockwave profile")
    return data
