"""Where an attempt's files live under the state directory, and reading the tail of its logs."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from shockwave.service.config import Settings
from shockwave.service.states import is_terminal
from shockwave.service.store import AttemptRow, Store

MAX_LINE_CHARS = 2_000


def attempt_dir(settings: Settings, attempt_id: int) -> Path:
    return settings.attempts_dir / str(attempt_id)


def rank_log(settings: Settings, attempt_id: int, rank: int) -> Path:
    return attempt_dir(settings, attempt_id) / f"rank-{rank}.log"


def report_file(settings: Settings, attempt_id: int) -> Path:
    return attempt_dir(settings, attempt_id) / "report.json"


def checkpoint_dir(settings: Settings, job_id: int) -> Path:
    return settings.checkpoints_dir / f"job-{job_id}"


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of ``path`` (none if it does not exist), each cut to
    ``MAX_LINE_CHARS``, undecodable bytes replaced."""
    if count <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            block = min(size, max(64 * 1024, count * 512))
            handle.seek(size - block)
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if block < size and lines:
        lines = lines[1:]  # the first line is probably cut
    return [line[:MAX_LINE_CHARS] for line in deque(lines, maxlen=count)]


def attempt_log_tail(settings: Settings, attempt_id: int, ranks: int, count: int) -> str:
    """The last ``count`` lines of each rank's log, ranks labelled when there are several."""
    parts = []
    for rank in range(ranks):
        lines = tail_lines(rank_log(settings, attempt_id, rank), count)
        prefix = f"[rank {rank}] " if ranks > 1 else ""
        parts.extend(prefix + line for line in lines)
    return "\n".join(parts)


def attempt_header(attempt: AttemptRow) -> str:
    return f"--- attempt {attempt.id} (#{attempt.number} of job {attempt.job_id}) on slots " \
           f"{list(attempt.slots)} ---"


def job_log(settings: Settings, attempts: Sequence[AttemptRow], rank: int, tail: int) -> list[str]:
    """The last ``tail`` lines of rank ``rank``'s logs over all of a job's attempts, each
    attempt's lines after a header line."""
    lines: list[str] = []
    for attempt in attempts:
        if rank < len(attempt.slots) and attempt.started_s is not None:
            lines.append(attempt_header(attempt))
            lines.extend(tail_lines(rank_log(settings, attempt.id, rank), tail))
    return lines[-tail:] if tail > 0 else []


def follow_job(store: Store, settings: Settings, job_id: int, rank: int, tail: int,
               poll_s: float = 0.2) -> Iterator[str]:
    """The job's log as it grows (``tail -f`` across attempts), ending once the job is final and
    its last attempt's output has been read."""
    attempts = store.attempts(job_id=job_id)
    for line in job_log(settings, attempts, rank, tail):
        yield line + "\n"
    offsets = {a.id: _size(rank_log(settings, a.id, rank)) for a in attempts}
    while True:
        job = store.job(job_id)
        done = job is None or is_terminal(job.state)
        for attempt in store.attempts(job_id=job_id):
            if rank >= len(attempt.slots) or attempt.started_s is None:
                continue
            if attempt.id not in offsets:
                offsets[attempt.id] = 0
                yield attempt_header(attempt) + "\n"
            chunk, offsets[attempt.id] = _read_from(rank_log(settings, attempt.id, rank),
                                                    offsets[attempt.id])
            if chunk:
                yield chunk
        if done:
            return
        time.sleep(poll_s)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int, limit: int = 1 << 20) -> tuple[str, int]:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(limit)
    except OSError:
        return "", offset
    return data.decode("utf-8", "replace"), offset + len(data)
