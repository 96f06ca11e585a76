"""Atomic, verified checkpoints fenced by attempt (``docs/job-library.md``, "Checkpoints").

Layout under the job's checkpoint directory::

    ckpt-<step:010d>-a<attempt>/state.pt       torch.save of the job's state
    ckpt-<step:010d>-a<attempt>/MANIFEST.json  written last: who, where, sizes and SHA-256
    LATEST                                     the newest committed checkpoint's name

A write goes to ``.tmp-<attempt>-<step>/``: ``state.pt`` is fsynced, the manifest is written and
fsynced last, the directory is renamed into place and its parent fsynced, then ``LATEST`` is
replaced the same way. The last two checkpoints are kept. A load follows ``LATEST``, verifies the
manifest, sizes and hashes, and falls back to the older checkpoint; when checkpoints exist but
none verifies it raises ``CheckpointError``: never a silent restart from scratch.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shockwave.job.errors import CheckpointError

log = logging.getLogger("shockwave.job")

FORMAT_VERSION = 1
STATE_FILE = "state.pt"
MANIFEST_FILE = "MANIFEST.json"
LATEST_FILE = "LATEST"
KEEP = 2
_NAME = re.compile(r"^ckpt-(\d{10})-a([A-Za-z0-9._-]+)$")


@dataclass(frozen=True)
class Manifest:
    """The verified manifest of one checkpoint."""

    checkpoint_id: str
    job_id: str
    attempt: str
    step: int
    samples: int
    epoch: int
    world_size: int
    created: str
    torch_version: str


def checkpoint_name(step: int, attempt: str) -> str:
    """``ckpt-<step:010d>-a<attempt>``: the directory and the id reported to the service."""
    return f"ckpt-{step:010d}-a{attempt}"


class CheckpointManager:
    """Writes and loads the checkpoints of one job in ``directory`` for one attempt."""

    def __init__(self, directory: Path, job_id: str, attempt: str, *,
                 keep: int = KEEP, test_delay_s: float = 0.0) -> None:
        self.directory = Path(directory)
        self.job_id = job_id
        self.attempt = attempt
        self.keep = max(1, keep)
        self.test_delay_s = test_delay_s
        self._last_good: str | None = None

    # -- writing --------------------------------------------------------------------------
    def save(self, state: dict[str, Any], *, step: int, samples: int, epoch: int,
             world_size: int) -> Manifest:
        """Commit ``state`` as the checkpoint of ``step``; return its manifest."""
        import torch

        self.directory.mkdir(parents=True, exist_ok=True)
        name = checkpoint_name(step, self.attempt)
        tmp = self.directory / f".tmp-{self.attempt}-{step}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        state_path = tmp / STATE_FILE
        with open(state_path, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        if self.test_delay_s > 0:
            time.sleep(self.test_delay_s)
        manifest = {
            "job_id": self.job_id, "attempt": self.attempt, "step": step, "samples": samples,
            "epoch": epoch, "world_size": world_size,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "files": [{"name": STATE_FILE, "bytes": state_path.stat().st_size,
                       "sha256": _sha256(state_path)}],
            "format_version": FORMAT_VERSION, "torch_version": torch.__version__,
        }
        _write_synced(tmp / MANIFEST_FILE, json.dumps(manifest, indent=1).encode())
        _fsync_dir(tmp)
        final = self.directory / name
        if final.exists():  # the same attempt saving the same step again
            shutil.rmtree(final)
        previous = self._last_good or self.latest_name()
        os.rename(tmp, final)
        _fsync_dir(self.directory)
        latest_tmp = self.directory / f".{LATEST_FILE}.tmp-{self.attempt}"
        _write_synced(latest_tmp, f"{name}\n".encode())
        os.replace(latest_tmp, self.directory / LATEST_FILE)
        _fsync_dir(self.directory)
        self._last_good = name
        self._prune(keep={name, previous} if self.keep > 1 else {name})
        return _manifest_of(name, manifest)

    def remove_torn_writes(self) -> None:
        """Delete the temporary directories of writes that never committed (another attempt's
        process was killed in the middle of a save)."""
        if self.directory.is_dir():
            for path in self.directory.glob(".tmp-*"):
                if path.is_dir() and not path.name.startswith(f".tmp-{self.attempt}-"):
                    shutil.rmtree(path, ignore_errors=True)

    def _prune(self, keep: set[str | None]) -> None:
        for path in self.directory.iterdir():
            stale_tmp = path.name.startswith(".tmp-") and path.is_dir()
            if (_NAME.match(path.name) and path.name not in keep) or stale_tmp:
                shutil.rmtree(path, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------
    def latest_name(self) -> str | None:
        """The name ``LATEST`` points to, if the file exists and is readable."""
        try:
            return (self.directory / LATEST_FILE).read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    def exists(self) -> bool:
        """True when any checkpoint (valid or not) or a ``LATEST`` pointer is present."""
        if not self.directory.is_dir():
            return False
        return (self.directory / LATEST_FILE).exists() or any(
            _NAME.match(p.name) for p in self.directory.iterdir())

    def candidates(self) -> list[str]:
        """Checkpoint names to try, best first: ``LATEST``'s, then the others newest first."""
        if not self.directory.is_dir():
            return []
        found = [p.name for p in self.directory.iterdir() if _NAME.match(p.name)]
        found.sort(key=lambda n: (int(_NAME.match(n).group(1)), _mtime(self.directory / n)),
                   reverse=True)
        latest = self.latest_name()
        return ([latest] if latest else []) + [n for n in found if n != latest]

    def verify(self, name: str) -> Manifest:
        """The manifest of checkpoint ``name`` once its files match it; else CheckpointError."""
        path = self.directory / name
        if not _NAME.match(name) or not path.is_dir():
            raise CheckpointError(f"{name}: no such checkpoint directory")
        try:
            raw = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{name}: no {MANIFEST_FILE} (an unfinished write?)") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise CheckpointError(f"{name}: unreadable {MANIFEST_FILE}: {exc}") from None
        manifest = _check_manifest(name, raw)
        if manifest.job_id != self.job_id:
            raise CheckpointError(f"{name}: belongs to job {manifest.job_id!r}, "
                                  f"not {self.job_id!r}")
        for entry in raw["files"]:
            _check_file(name, path, entry)
        return manifest

    def load(self) -> tuple[dict[str, Any], Manifest] | None:
        """The newest checkpoint that verifies and loads, or ``None`` when there is none at all.
        Raises ``CheckpointError`` (every candidate and why) when some exist but none is valid."""
        import torch

        names = self.candidates()
        if not names and not self.exists():
            return None
        problems: list[str] = []
        for name in names:
            try:
                manifest = self.verify(name)
                state = torch.load(self.directory / name / STATE_FILE, map_location="cpu",
                                   weights_only=True)
            except CheckpointError as exc:
                problems.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - any unpicklable file is a bad checkpoint
                problems.append(f"{name}: {STATE_FILE} does not load: {exc}")
            else:
                for problem in problems:
                    log.warning("shockwave.job: skipped checkpoint %s", problem)
                self._last_good = name
                return state, manifest
        if not problems:
            problems.append(f"{LATEST_FILE} exists but no checkpoint directory does")
        raise CheckpointError(
            f"checkpoints exist in {self.directory} but none is valid; refusing to restart "
            f"from scratch: " + "; ".join(problems))


def _check_manifest(name: str, raw: object) -> Manifest:
    if not isinstance(raw, dict):
        raise CheckpointError(f"{name}: {MANIFEST_FILE} is not a JSON object")
    if raw.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{name}: format_version {raw.get('format_version')!r}, "
                              f"expected {FORMAT_VERSION}")
    ints = ("step", "samples", "epoch", "world_size")
    texts = ("job_id", "attempt", "created", "torch_version")
    for key in ints:
        if not isinstance(raw.get(key), int) or isinstance(raw.get(key), bool) or raw[key] < 0:
            raise CheckpointError(f"{name}: {MANIFEST_FILE} field {key!r} is not a count")
    for key in texts:
        if not isinstance(raw.get(key), str):
            raise CheckpointError(f"{name}: {MANIFEST_FILE} field {key!r} is not a string")
    files = raw.get("files")
    if not isinstance(files, list) or not any(
            isinstance(f, dict) and f.get("name") == STATE_FILE for f in files):
        raise CheckpointError(f"{name}: {MANIFEST_FILE} does not list {STATE_FILE}")
    if raw["step"] != int(_NAME.match(name).group(1)):
        raise CheckpointError(f"{name}: {MANIFEST_FILE} says step {raw['step']}")
    return Manifest(checkpoint_id=name, **{k: raw[k] for k in ints + texts})


def _check_file(name: str, path: Path, entry: object) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or "/" in entry["name"] or not isinstance(entry.get("bytes"), int) \
            or not isinstance(entry.get("sha256"), str):
        raise CheckpointError(f"{name}: {MANIFEST_FILE} has a malformed file entry")
    file = path / entry["name"]
    try:
        size = file.stat().st_size
    except OSError:
        raise CheckpointError(f"{name}: {entry['name']} is missing") from None
    if size != entry["bytes"]:
        raise CheckpointError(f"{name}: {entry['name']} has {size} bytes, the manifest says "
                              f"{entry['bytes']} (truncated?)")
    if _sha256(file) != entry["sha256"]:
        raise CheckpointError(f"{name}: {entry['name']} does not match its SHA-256 (corrupted)")


def _manifest_of(name: str, raw: dict[str, Any]) -> Manifest:
    return Manifest(checkpoint_id=name, job_id=raw["job_id"], attempt=raw["attempt"],
                    step=raw["step"], samples=raw["samples"], epoch=raw["epoch"],
                    world_size=raw["world_size"], created=raw["created"],
                    torch_version=raw["torch_version"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def write_atomically(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it and rename it into
    place (used for the final parameters)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
