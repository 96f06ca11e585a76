"""The run cache: each finished run is one file ``<key>.json``, where the key is the SHA-256 of
a canonical JSON of everything the run depends on, so that a sweep started again runs only what
is missing, and a changed input (a file's content, a setting, the package version) runs again.

Files are written whole or not at all (a temporary file, then ``os.replace``): a sweep killed at
any moment leaves only complete results. Only the process that drives the sweep writes here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from shockwave.errors import InputError
from shockwave.sweep.grid import RunPoint
from shockwave.sweep.spec import SweepSpec, generator_params, param_files

KEY_FORMAT = 1
"""Bumped when what goes into a key changes, so that old cache files are not taken for new."""


def package_version() -> str:
    """The installed shockwave's version (part of every key)."""
    try:
        return version("shockwave")
    except PackageNotFoundError:
        return "unknown"


def _digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    try:
        return _digest_bytes(Path(path).read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def bundled_digest(name: str) -> str:
    """SHA-256 of the package's data file ``name``."""
    return _digest_bytes((resources.files("shockwave") / "data" / name).read_bytes())


@dataclass(frozen=True)
class InputDigests:
    """The content hashes of the files a sweep reads; a run's key names contents, not paths."""

    throughputs: str
    workload_facts: str
    trace: str
    """The trace file's, or the generator's job templates' when traces are generated."""
    files: Mapping[str, str]
    """Of each file a policy parameter names (``config``), by absolute path."""


def digest_inputs(spec: SweepSpec) -> InputDigests:
    """Hash every input file of ``spec`` once."""
    facts = bundled_digest("workload.json")
    if spec.workload_facts is not None:
        facts += "+" + file_digest(spec.workload_facts)
    return InputDigests(
        throughputs=file_digest(spec.throughputs) if spec.throughputs
        else bundled_digest("tacc_throughputs.json"),
        workload_facts=facts,
        trace=file_digest(spec.trace_file) if spec.trace_file else bundled_digest("job_templates.json"),
        files={path: file_digest(path) for path in param_files(spec)},
    )


def key_document(point: RunPoint, spec: SweepSpec, digests: InputDigests,
                 shockwave_version: str) -> dict[str, Any]:
    """Everything the run of ``point`` depends on, as plain JSON values."""
    params = {key: {"sha256": digests.files[value]} if isinstance(value, str)
              and value in digests.files else value for key, value in point.params}
    if point.trace:
        generator = generator_params(dict(point.trace), point.seed)
        trace: dict[str, Any] = {"generator": asdict(generator), "templates_sha256": digests.trace}
    else:
        trace = {"file_sha256": digests.trace}
    # a heterogeneous run's key names its cluster; V100-only runs keep the keys they had
    cluster = {} if point.cluster is None else {"cluster": point.cluster}
    return cluster | {
        "format": KEY_FORMAT, "shockwave": shockwave_version,
        "policy": point.policy, "params": dict(sorted(params.items())), "trace": trace,
        "gpus": point.gpus, "gpus_per_server": spec.gpus_per_server, "round_s": point.round_s,
        "compat": spec.compat, "preemption_penalty_s": spec.preemption_penalty_s,
        "throughputs_sha256": digests.throughputs, "workload_facts_sha256": digests.workload_facts,
    }


def canonical_json(document: Any) -> str:
    """One text per value: sorted keys, no spaces, floats as Python writes them back exactly."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True)


def run_key(document: Mapping[str, Any]) -> str:
    """The cache key of a run: SHA-256 (hex) of its ``key_document``."""
    return _digest_bytes(canonical_json(document).encode("ascii"))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file beside it, then
    ``os.replace`` (a reader, or a sweep killed meanwhile, never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write: {exc.strerror or exc}", path=path) from None


class RunCache:
    """The folder of finished runs, one ``<key>.json`` each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored record of run ``key``, or ``None`` when there is none (or it is not one
        this version wrote whole: it is then run again)."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key \
                or not isinstance(record.get("metrics"), dict):
            return None
        return record

    def store(self, key: str, record: Mapping[str, Any]) -> None:
        """Write ``record`` as run ``key``'s file, atomically."""
        write_atomic(self.path(key), json.dumps(dict(record), indent=1, sort_keys=True) + "\n")

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files a killed sweep left behind; how many there were."""
        stale = list(self.folder.glob(".*.json.*.tmp")) if self.folder.is_dir() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)
