"""The throughput model: (job type, #GPUs, GPU type) -> iterations per second, from a profile table."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shockwave.errors import InputError
from shockwave.jsonfile import json_path, read_json
from shockwave.limits import MAX_GPUS, MAX_THROUGHPUT
from shockwave.model import job_type_name

_KEY = re.compile(r"^\('(.*)', ([0-9]{1,9})\)$")
BUNDLED_THROUGHPUTS = {"tacc": "tacc_throughputs.json", "gavel": "gavel_throughputs.json"}
"""Tables shipped with the package, by the name ``--throughputs`` accepts: ``tacc`` is the
Shockwave paper's table (the default), ``gavel`` is Gavel's measured table for k80, p100 and
v100 (``data/NOTICE.md`` says where each comes from)."""
BARE_JOB_TYPES = {"A3C": 4, "CycleGAN": 1}
"""Job types Gavel's tables and traces write without a batch size, with the batch size Gavel's
job table gives them: ``('A3C', 1)`` is read as ``('A3C (batch size 4)', 1)``."""


@dataclass(frozen=True)
class ThroughputTable:
    """Isolated throughputs, iterations/s of the whole gang, keyed by GPU type, job type and #GPUs.

    Zero entries mark unsupported configurations and are kept as zero.
    """

    table: dict[str, dict[tuple[str, int], float]]
    source: str = "<memory>"
    _found: dict[tuple[str, int, int, str], float] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """``lookup``'s answers so far (the table is never changed): a simulation asks for the same
    few rates tens of thousands of times."""

    def __post_init__(self) -> None:
        """Refuse a throughput that is not a number from 0 to ``MAX_THROUGHPUT`` (a NaN would
        keep a simulation going for a million rounds)."""
        for gpu_type, entries in self.table.items():
            for (job_type, gpus), rate in entries.items():
                if isinstance(rate, bool) or not isinstance(rate, int | float) or not (
                        0 <= rate <= MAX_THROUGHPUT):
                    raise InputError(
                        f"must be a number from 0 to {MAX_THROUGHPUT:g} iterations/s, got "
                        f"{rate!r}", path=self.source,
                        field=json_path([gpu_type, f"('{job_type}', {gpus})"]))

    def has(self, model: str, batch_size: int, gpus: int, gpu_type: str = "v100") -> bool:
        return (job_type_name(model, batch_size), gpus) in self.table.get(gpu_type, {})

    def lookup(self, model: str, batch_size: int, gpus: int, gpu_type: str = "v100") -> float:
        """Iterations/s of a job of ``model`` at ``batch_size`` on ``gpus`` GPUs of ``gpu_type``."""
        found = self._found.get((model, batch_size, gpus, gpu_type))
        if found is not None:
            return found
        key = (job_type_name(model, batch_size), gpus)
        try:
            rate = self._found[model, batch_size, gpus, gpu_type] = self.table[gpu_type][key]
            return rate
        except KeyError:
            raise InputError(
                f"no throughput for {key[0]!r} on {gpus} x {gpu_type}",
                path=self.source,
                field="throughput",
            ) from None

    @property
    def gpu_types(self) -> list[str]:
        return list(self.table)


def _job_key(key: str, source: str, gpu_type: str) -> tuple[str, int]:
    """``"('Model (batch size N)', GPUs)"`` as (job type, GPUs); bare names get their batch size."""
    match = _KEY.match(key)
    gpus = int(match.group(2)) if match else 0
    if match is None or not 1 <= gpus <= MAX_GPUS:
        raise InputError(f"key must look like \"('Model (batch size N)', GPUs)\" with 1 to "
                         f"{MAX_GPUS} GPUs", path=source, field=json_path([gpu_type, key]))
    name = match.group(1)
    if name in BARE_JOB_TYPES:
        name = job_type_name(name, BARE_JOB_TYPES[name])
    return name, gpus


def _isolated(value: Any, source: str, field: str) -> float:
    """The entry's ``null`` (job alone) throughput: a finite number in [0, MAX_THROUGHPUT]."""
    thr = value.get("null") if isinstance(value, dict) else None
    if (isinstance(thr, bool) or not isinstance(thr, int | float)
            or not (0 <= thr <= MAX_THROUGHPUT and math.isfinite(thr))):
        got = (json.dumps(thr)[:40] if isinstance(value, dict) and "null" in value
               else "no 'null' key")
        raise InputError(f"needs a 'null' (isolated) throughput, a number from 0 to "
                         f"{MAX_THROUGHPUT:g} iterations/s; got {got}", path=source, field=field)
    return float(thr)


def bundled_throughputs_file(value: str | Path | None) -> str | None:
    """The bundled file ``value`` names, or ``None`` when ``value`` is a path to read.

    ``None`` names the default table (``tacc_throughputs.json``). A bundled name (``gavel``,
    ``tacc``) selects its table only when no file or folder of that name exists: a name must
    never hide a user's real file, so a path that exists always wins.
    """
    if value is None:
        return BUNDLED_THROUGHPUTS["tacc"]
    name = str(value)
    if name in BUNDLED_THROUGHPUTS and not Path(name).exists():
        return BUNDLED_THROUGHPUTS[name]
    return None


def check_throughputs_source(value: str | Path, field: str = "throughputs") -> None:
    """Raise ``InputError`` (naming ``field``) when ``value`` is neither an existing path nor a
    bundled name, so a mistyped name is reported as such and not as an unreadable file."""
    if bundled_throughputs_file(value) is None and not Path(value).exists():
        raise InputError(f"{str(value)!r} is neither a file nor a bundled table (bundled: "
                         f"{', '.join(sorted(BUNDLED_THROUGHPUTS))})", field=field)


def throughputs_label(value: str | Path | None) -> str:
    """How a run's record names its table: ``bundled:<file>`` for a bundled one, else the path."""
    bundled = bundled_throughputs_file(value)
    return f"bundled:{bundled}" if bundled is not None else str(value)


def load_throughputs(path: str | Path | None = None) -> ThroughputTable:
    """Read a throughputs JSON (Gavel's format, read as the published
    ``utils.read_all_throughputs_json_v2`` reads it); ``None`` loads the bundled
    ``tacc_throughputs.json`` and a bundled name (``gavel``, ``tacc``) its table, unless a
    file of that name exists (``bundled_throughputs_file``).

    Every entry needs a finite, non-negative isolated throughput (``true``, ``NaN`` and
    ``Infinity`` are refused, naming the entry); Gavel's bare ``A3C`` and ``CycleGAN`` keys are
    read with their batch sizes (``BARE_JOB_TYPES``).
    """
    bundled = bundled_throughputs_file(path)
    return _parse_table(*read_json(None if bundled else path, bundled=bundled))


def load_bundled_throughputs(name: str) -> ThroughputTable:
    """The bundled table ``name`` (``gavel``, ``tacc``), whatever files the working folder
    holds: for defaults chosen by the program, which no file of the user's may replace."""
    if name not in BUNDLED_THROUGHPUTS:
        raise InputError(f"unknown bundled table {name!r}; bundled: "
                         f"{', '.join(sorted(BUNDLED_THROUGHPUTS))}", field="throughputs")
    return _parse_table(*read_json(None, bundled=BUNDLED_THROUGHPUTS[name]))


def _parse_table(raw: Any, source: str) -> ThroughputTable:
    """The parsed JSON of a throughputs file as a checked ``ThroughputTable``."""
    if not isinstance(raw, dict):
        raise InputError("top level must be an object keyed by GPU type", path=source)
    table: dict[str, dict[tuple[str, int], float]] = {}
    for gpu_type, entries in raw.items():
        if not isinstance(entries, dict):
            raise InputError("must map job keys to throughputs", path=source,
                             field=json_path([gpu_type]))
        table[gpu_type] = {
            _job_key(key, source, gpu_type): _isolated(value, source, json_path([gpu_type, key]))
            for key, value in entries.items()
        }
    return ThroughputTable(table=table, source=source)
