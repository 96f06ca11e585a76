"""The throughput model: (job type, #GPUs, GPU type) -> iterations per second, from a profile table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shockwave.errors import InputError
from shockwave.jsonfile import read_json
from shockwave.model import job_type_name

_KEY = re.compile(r"^\('(.*)', (\d+)\)$")


@dataclass(frozen=True)
class ThroughputTable:
    """Isolated throughputs, iterations/s of the whole gang, keyed by GPU type, job type and #GPUs.

    Zero entries mark unsupported configurations and are kept as zero.
    """

    table: dict[str, dict[tuple[str, int], float]]
    source: str = "<memory>"

    def has(self, model: str, batch_size: int, gpus: int, gpu_type: str = "v100") -> bool:
        return (job_type_name(model, batch_size), gpus) in self.table.get(gpu_type, {})

    def lookup(self, model: str, batch_size: int, gpus: int, gpu_type: str = "v100") -> float:
        """Iterations/s of a job of ``model`` at ``batch_size`` on ``gpus`` GPUs of ``gpu_type``."""
        key = (job_type_name(model, batch_size), gpus)
        try:
            return self.table[gpu_type][key]
        except KeyError:
            raise InputError(
                f"no throughput for {key[0]!r} on {gpus} x {gpu_type}",
                path=self.source,
                field="throughput",
            ) from None

    @property
    def gpu_types(self) -> list[str]:
        return list(self.table)


def load_throughputs(path: str | Path | None = None) -> ThroughputTable:
    """Read a throughputs JSON (SPEC 2); ``None`` loads the bundled ``tacc_throughputs.json``."""
    raw, source = read_json(path, bundled="tacc_throughputs.json")
    if not isinstance(raw, dict):
        raise InputError("top level must be an object keyed by GPU type", path=source)
    table: dict[str, dict[tuple[str, int], float]] = {}
    for gpu_type, entries in raw.items():
        if not isinstance(entries, dict):
            raise InputError("must map job keys to throughputs", path=source, field=gpu_type)
        parsed: dict[tuple[str, int], float] = {}
        for key, value in entries.items():
            match = _KEY.match(key)
            if match is None:
                raise InputError(
                    "key must look like \"('Model (batch size N)', GPUs)\"",
                    path=source,
                    field=f"{gpu_type}/{key}",
                )
            thr = value.get("null") if isinstance(value, dict) else None
            if not isinstance(thr, int | float) or thr < 0:
                raise InputError(
                    "needs a non-negative 'null' (isolated) throughput",
                    path=source,
                    field=f"{gpu_type}/{key}",
                )
            parsed[(match.group(1), int(match.group(2)))] = float(thr)
        table[gpu_type] = parsed
    return ThroughputTable(table=table, source=source)
