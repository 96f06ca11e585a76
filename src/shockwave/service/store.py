"""The service's durable state in SQLite (WAL): the only module that contains SQL.

Every state change is a compare-and-set (``transition_job`` / ``transition_attempt``): in one
transaction it checks the expected state, writes the new one with the fields that go with it and
appends an ``events`` row; when the expected state no longer holds it changes nothing and returns
``False``. ``atomic()`` groups several writes into one transaction (an attempt's exit and its
job's requeue, say). Legal transitions come from ``states.py``.

One connection guarded by a lock serves the API's threads and the round loop; one service owns
a state directory at a time (``serve`` holds a lock file).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shockwave.service.jobspec import JobSubmit
from shockwave.service.states import (
    AttemptState,
    JobState,
    Outcome,
    check_attempt,
    check_job,
)

SCHEMA_VERSION = 3

_SPEEDS = """
CREATE TABLE IF NOT EXISTS speeds (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    batch_size INTEGER NOT NULL,
    gpus INTEGER NOT NULL,
    samples_per_s REAL NOT NULL,
    measurements INTEGER NOT NULL,
    updated_s REAL NOT NULL,
    PRIMARY KEY (job_id, batch_size, gpus)
);
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted_s REAL NOT NULL,
    started_s REAL,
    finished_s REAL,
    reason TEXT,
    log_tail TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    not_before_s REAL NOT NULL DEFAULT 0,
    batch_size INTEGER NOT NULL,
    samples INTEGER NOT NULL DEFAULT 0,
    epoch INTEGER NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    samples_per_epoch INTEGER NOT NULL,
    samples_per_s REAL,
    checkpoint_id TEXT,
    checkpoint_attempt INTEGER,
    checkpoint_samples INTEGER NOT NULL DEFAULT 0,
    checkpoint_progress TEXT,
    rounds_received INTEGER NOT NULL DEFAULT 0,
    attained_s REAL NOT NULL DEFAULT 0,
    last_round_ran INTEGER,
    timeline TEXT NOT NULL DEFAULT '[]',
    attempts_count INTEGER NOT NULL DEFAULT 0,
    noise_scale REAL,
    batch_sizes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    slots TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    handle TEXT,
    round_index INTEGER NOT NULL,
    created_s REAL NOT NULL,
    started_s REAL,
    ended_s REAL,
    lease_expires_s REAL,
    last_heartbeat_s REAL,
    last_seq INTEGER NOT NULL DEFAULT -1,
    stop_reason TEXT,
    stop_by_s REAL,
    sigterm_at_s REAL,
    kill_at_s REAL,
    sigterm_sent INTEGER NOT NULL DEFAULT 0,
    kill_sent INTEGER NOT NULL DEFAULT 0,
    batch_size INTEGER NOT NULL,
    bs_version INTEGER NOT NULL DEFAULT 0,
    start_samples INTEGER NOT NULL DEFAULT 0,
    samples INTEGER,
    epoch INTEGER,
    step INTEGER,
    samples_per_s REAL,
    exit_code INTEGER,
    signal INTEGER,
    report TEXT,
    reason TEXT,
    reported_batch_size INTEGER,
    training_since_s REAL
);
CREATE INDEX IF NOT EXISTS attempts_job ON attempts(job_id);
CREATE INDEX IF NOT EXISTS attempts_state ON attempts(state);
CREATE TABLE IF NOT EXISTS checkpoints (
    attempt_id INTEGER NOT NULL REFERENCES attempts(id),
    checkpoint_id TEXT NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    samples INTEGER NOT NULL,
    progress TEXT NOT NULL,
    at_s REAL NOT NULL,
    PRIMARY KEY (attempt_id, checkpoint_id)
);
CREATE INDEX IF NOT EXISTS checkpoints_job ON checkpoints(job_id);
CREATE TABLE IF NOT EXISTS rounds (
    idx INTEGER PRIMARY KEY,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    placements TEXT NOT NULL,
    kept TEXT NOT NULL,
    revoked TEXT NOT NULL,
    added TEXT NOT NULL,
    decision_s REAL NOT NULL,
    bookkeeping_s REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_s REAL NOT NULL,
    entity TEXT NOT NULL,
    job_id INTEGER,
    attempt_id INTEGER,
    from_state TEXT,
    to_state TEXT,
    reason TEXT,
    data TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id);
""" + _SPEEDS

_MIGRATIONS = {
    1: """
ALTER TABLE jobs ADD COLUMN noise_scale REAL;
ALTER TABLE jobs ADD COLUMN batch_sizes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE attempts ADD COLUMN reported_batch_size INTEGER;
""" + _SPEEDS,
    2: """
ALTER TABLE attempts ADD COLUMN training_since_s REAL;
""",
}
"""Statements that bring a database of schema ``key`` to ``key + 1``."""

SPEED_EMA_WEIGHT = 0.3
"""Weight of a new heartbeat's speed in a job's measured speed at one batch size and GPU count
(the job's own figure is already an average over its recent steps)."""

_JSON_COLUMNS = frozenset({"spec", "slots", "handle", "report", "timeline", "checkpoint_progress",
                           "placements", "kept", "revoked", "added", "progress", "data",
                           "batch_sizes"})


@dataclass(frozen=True)
class JobRow:
    """One job as stored. ``samples``/``epoch``/``step``/``batch_size`` are its latest known
    progress (heartbeats while it runs); ``checkpoint_*`` the last acknowledged checkpoint."""

    id: int
    name: str
    spec: JobSubmit
    state: JobState
    submitted_s: float
    started_s: float | None
    finished_s: float | None
    reason: str | None
    log_tail: str | None
    cancel_requested: bool
    failures: int
    not_before_s: float
    batch_size: int
    samples: int
    epoch: int
    step: int
    samples_per_epoch: int
    samples_per_s: float | None
    checkpoint_id: str | None
    checkpoint_attempt: int | None
    checkpoint_samples: int
    checkpoint_progress: dict[str, Any] | None
    rounds_received: int
    attained_s: float
    last_round_ran: int | None
    timeline: list[list[float]]
    attempts_count: int
    noise_scale: float | None
    batch_sizes: list[list[float]]
    """``[at_s, round_index, batch_size]`` for the submitted size and every approved change."""


@dataclass(frozen=True)
class AttemptRow:
    """One attempt as stored (its token only as a hash)."""

    id: int
    job_id: int
    number: int
    state: AttemptState
    outcome: Outcome | None
    slots: tuple[int, ...]
    token_hash: str
    handle: dict[str, Any] | None
    round_index: int
    created_s: float
    started_s: float | None
    ended_s: float | None
    lease_expires_s: float | None
    last_heartbeat_s: float | None
    last_seq: int
    stop_reason: str | None
    stop_by_s: float | None
    sigterm_at_s: float | None
    kill_at_s: float | None
    sigterm_sent: bool
    kill_sent: bool
    batch_size: int
    bs_version: int
    start_samples: int
    samples: int | None
    epoch: int | None
    step: int | None
    samples_per_s: float | None
    exit_code: int | None
    signal: int | None
    report: dict[str, Any] | None
    reason: str | None
    reported_batch_size: int | None
    training_since_s: float | None
    """When a heartbeat first showed progress past ``start_samples`` (its start-up was over)."""


@dataclass(frozen=True)
class Speed:
    """A job's measured speed, samples/s of the whole gang, at one batch size and GPU count."""

    batch_size: int
    gpus: int
    samples_per_s: float
    measurements: int


@dataclass(frozen=True)
class RoundRow:
    """One round's decision: the plan and how it differed from what was running."""

    idx: int
    start_s: float
    end_s: float
    placements: dict[int, tuple[int, ...]]
    kept: list[int]
    revoked: list[int]
    added: list[int]
    decision_s: float
    bookkeeping_s: float


@dataclass(frozen=True)
class Totals:
    """Counts over the service's whole history (what ``/metrics`` exports as counters)."""

    preemptions: int
    """Revocations: jobs in a round's ``revoked`` list, summed over every round."""
    restarts: int
    """Attempts beyond each job's first."""
    failures: int
    """Failed attempts counted against their job's budget (the jobs' ``failures``)."""
    checkpoints: int
    """Acknowledged checkpoints."""
    checkpoint_failures: int
    """Failed checkpoint saves, as attempts' exit reports counted them."""
    ended: dict[str, int]
    """Ended attempts by outcome."""


@dataclass(frozen=True)
class CheckpointRow:
    attempt_id: int
    checkpoint_id: str
    job_id: int
    samples: int
    progress: dict[str, Any]
    at_s: float


@dataclass(frozen=True)
class EventRow:
    id: int
    at_s: float
    entity: str
    job_id: int | None
    attempt_id: int | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any] | None


_JOB_COLUMNS = frozenset(f.name for f in fields(JobRow)) - {"id"}
_ATTEMPT_COLUMNS = frozenset(f.name for f in fields(AttemptRow)) - {"id"}


class Store:
    """The SQLite file of one service. Thread-safe; ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._specs: dict[int, JobSubmit] = {}  # specs never change: parse each once
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                   timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.atomic():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: written by a newer shockwave (schema "
                                   f"{version} > {SCHEMA_VERSION})")
            if version == 0:
                _run_script(self._db, _SCHEMA)
            else:
                for old in range(version, SCHEMA_VERSION):
                    _run_script(self._db, _MIGRATIONS[old])
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around the block (re-entrant: inner blocks join the outer one)."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self.atomic():
            return self._db.execute(sql, args)

    def journal_mode(self) -> str:
        return str(self._query("PRAGMA journal_mode")[0][0])

    # -- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- events --------------------------------------------------------------------------------
    def add_event(self, at_s: float, entity: str, *, job_id: int | None = None,
                  attempt_id: int | None = None, from_state: str | None = None,
                  to_state: str | None = None, reason: str | None = None,
                  data: dict[str, Any] | None = None) -> None:
        self._execute(
            "INSERT INTO events(at_s, entity, job_id, attempt_id, from_state, to_state, reason, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (at_s, entity, job_id, attempt_id, from_state, to_state, reason,
             None if data is None else json.dumps(data)))

    def events(self, *, job_id: int | None = None, limit: int = 1000) -> list[EventRow]:
        where, args = ("WHERE job_id = ?", [job_id]) if job_id is not None else ("", [])
        rows = self._query(f"SELECT * FROM (SELECT * FROM events {where} ORDER BY id DESC "
                           "LIMIT ?) ORDER BY id", (*args, limit))
        return [_event_row(r) for r in rows]

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, spec: JobSubmit, now_s: float) -> JobRow:
        with self.atomic():
            cursor = self._db.execute(
                "INSERT INTO jobs(name, spec, state, submitted_s, batch_size, samples_per_epoch, "
                "batch_sizes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (spec.name, spec.model_dump_json(), JobState.QUEUED.value, now_s,
                 spec.batch_size, spec.samples_per_epoch,
                 json.dumps([[now_s, None, spec.batch_size]])))
            job_id = int(cursor.lastrowid or 0)
            self.add_event(now_s, "job", job_id=job_id, to_state=JobState.QUEUED,
                           reason="submitted")
        return self.job(job_id)  # type: ignore[return-value]

    def job(self, job_id: int) -> JobRow | None:
        rows = self._query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._job_row(rows[0]) if rows else None

    def jobs(self, states: Sequence[JobState] | None = None, *, name: str | None = None,
             cancel_requested: bool | None = None, limit: int | None = None) -> list[JobRow]:
        clauses: list[str] = []
        args: list[Any] = []
        if cancel_requested is not None:
            clauses.append("cancel_requested = ?")
            args.append(int(cancel_requested))
        if states is not None:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(s.value for s in states)
        if name is not None:
            clauses.append("name = ?")
            args.append(name)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return [self._job_row(r) for r in self._query(f"SELECT * FROM jobs {where} ORDER BY id{tail}",
                                                 args)]

    def job_counts(self) -> dict[str, int]:
        """Jobs per state."""
        return {r["state"]: r["n"] for r in
                self._query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")}

    def totals(self) -> Totals:
        """The history's counts in two reads (a scrape should not load every row)."""
        row = self._query(
            "SELECT (SELECT COALESCE(SUM(json_array_length(revoked)), 0) FROM rounds), "
            "(SELECT COALESCE(SUM(MAX(attempts_count - 1, 0)), 0) FROM jobs), "
            "(SELECT COALESCE(SUM(failures), 0) FROM jobs), "
            "(SELECT COUNT(*) FROM checkpoints), "
            "(SELECT COALESCE(SUM(json_extract(report, '$.checkpoint_failures')), 0) "
            "FROM attempts WHERE report IS NOT NULL)")[0]
        ended = {r["outcome"]: r["n"] for r in self._query(
            "SELECT outcome, COUNT(*) AS n FROM attempts WHERE outcome IS NOT NULL "
            "GROUP BY outcome")}
        return Totals(*(int(value) for value in row), ended=ended)

    def scheduled_job_ids(self, now_s: float) -> list[int]:
        """Jobs the planner should schedule at ``now_s``: running, or queued and past their
        back-off, and not being cancelled."""
        rows = self._query(
            "SELECT id FROM jobs WHERE cancel_requested = 0 AND (state = ? OR "
            "(state = ? AND not_before_s <= ?)) ORDER BY id",
            (JobState.RUNNING.value, JobState.QUEUED.value, now_s))
        return [r["id"] for r in rows]

    def transition_job(self, job_id: int, expected: JobState | Sequence[JobState], new: JobState,
                       *, now_s: float, note: str, **values: Any) -> bool:
        """Move job ``job_id`` from one of ``expected`` to ``new`` (setting ``values`` too) and log
        it with ``note``; ``False`` (nothing written) if it is no longer in an expected state."""
        olds = [expected] if isinstance(expected, JobState) else list(expected)
        for old in olds:
            check_job(old, new)
        with self.atomic():
            row = self._query("SELECT state FROM jobs WHERE id = ?", (job_id,))
            if not row or JobState(row[0]["state"]) not in olds:
                return False
            self._update("jobs", _JOB_COLUMNS, job_id, {"state": new, **values})
            self.add_event(now_s, "job", job_id=job_id, from_state=row[0]["state"],
                           to_state=new, reason=note)
        return True

    def update_job(self, job_id: int, **values: Any) -> None:
        """Fields other than ``state`` (counters, estimates); state changes go through
        ``transition_job``."""
        if "state" in values:
            raise ValueError("use transition_job to change a job's state")
        with self.atomic():
            self._update("jobs", _JOB_COLUMNS, job_id, values)

    def request_cancel(self, job_id: int, now_s: float) -> bool:
        """Record the intent to cancel (the round loop acts on it); ``False`` if the job is
        already final."""
        with self.atomic():
            cursor = self._db.execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state IN (?, ?)",
                (job_id, JobState.QUEUED.value, JobState.RUNNING.value))
            if cursor.rowcount:
                self.add_event(now_s, "job", job_id=job_id, reason="cancel requested")
            return cursor.rowcount == 1

    # -- attempts ------------------------------------------------------------------------------
    def add_attempt(self, job_id: int, slots: Sequence[int], token_hash: str, *, batch_size: int,
                    round_index: int, now_s: float, start_samples: int) -> AttemptRow:
        """A new PENDING attempt of ``job_id`` on ``slots``."""
        with self.atomic():
            number = self._query("SELECT attempts_count FROM jobs WHERE id = ?",
                                 (job_id,))[0][0] + 1
            cursor = self._db.execute(
                "INSERT INTO attempts(job_id, number, state, slots, token_hash, round_index, "
                "created_s, batch_size, start_samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, number, AttemptState.PENDING.value, json.dumps(list(slots)), token_hash,
                 round_index, now_s, batch_size, start_samples))
            attempt_id = int(cursor.lastrowid or 0)
            self._db.execute("UPDATE jobs SET attempts_count = ? WHERE id = ?", (number, job_id))
            self.add_event(now_s, "attempt", job_id=job_id, attempt_id=attempt_id,
                           to_state=AttemptState.PENDING, reason=f"slots {list(slots)}")
        return self.attempt(attempt_id)  # type: ignore[return-value]

    def attempt(self, attempt_id: int) -> AttemptRow | None:
        rows = self._query("SELECT * FROM attempts WHERE id = ?", (attempt_id,))
        return _attempt_row(rows[0]) if rows else None

    def attempt_by_token(self, token_hash: str) -> AttemptRow | None:
        rows = self._query("SELECT * FROM attempts WHERE token_hash = ?", (token_hash,))
        return _attempt_row(rows[0]) if rows else None

    def attempts(self, *, job_id: int | None = None,
                 states: Sequence[AttemptState] | None = None) -> list[AttemptRow]:
        clauses: list[str] = []
        args: list[Any] = []
        if job_id is not None:
            clauses.append("job_id = ?")
            args.append(job_id)
        if states is not None:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(s.value for s in states)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [_attempt_row(r) for r in self._query(f"SELECT * FROM attempts {where} ORDER BY id",
                                                     args)]

    def handles(self, states: Sequence[AttemptState]) -> list[tuple[int, dict[str, Any]]]:
        """(attempt id, handle) of the attempts in ``states`` that have a handle: what the round
        loop polls every tick, without reading whole rows."""
        rows = self._query(f"SELECT id, handle FROM attempts WHERE state IN "
                           f"({','.join('?' * len(states))}) AND handle IS NOT NULL ORDER BY id",
                           [s.value for s in states])
        return [(r["id"], _parsed(r["handle"])) for r in rows]

    def held_slots(self, states: Sequence[AttemptState], *,
                   unreported: bool = False) -> list[tuple[int, tuple[int, ...]]]:
        """(job id, slots) of the attempts in ``states``; ``unreported``: only those that have
        not posted their exit report yet."""
        rows = self._query(f"SELECT job_id, slots FROM attempts WHERE state IN "
                           f"({','.join('?' * len(states))})"
                           + (" AND report IS NULL" if unreported else "") + " ORDER BY id",
                           [s.value for s in states])
        return [(r["job_id"], _parsed_slots(r["slots"])) for r in rows]

    def lease_expired(self, now_s: float) -> list[AttemptRow]:
        """RUNNING attempts whose lease ended before ``now_s``."""
        rows = self._query("SELECT * FROM attempts WHERE state = ? AND lease_expires_s < ? "
                           "ORDER BY id", (AttemptState.RUNNING.value, now_s))
        return [_attempt_row(r) for r in rows]

    def jobs_with_attempts_in_round(self, round_index: int) -> set[int]:
        rows = self._query("SELECT DISTINCT job_id FROM attempts WHERE round_index = ?",
                           (round_index,))
        return {r["job_id"] for r in rows}

    def attempts_since(self, since_s: float) -> list[AttemptRow]:
        """Attempts that started and had not ended by ``since_s`` (they held slots after it)."""
        rows = self._query("SELECT * FROM attempts WHERE started_s IS NOT NULL AND "
                           "(ended_s IS NULL OR ended_s > ?) ORDER BY id", (since_s,))
        return [_attempt_row(r) for r in rows]

    def transition_attempt(self, attempt_id: int, expected: AttemptState | Sequence[AttemptState],
                           new: AttemptState, *, now_s: float, note: str,
                           **values: Any) -> bool:
        """Compare-and-set of an attempt's state, with ``values`` and an event."""
        olds = [expected] if isinstance(expected, AttemptState) else list(expected)
        for old in olds:
            check_attempt(old, new)
        with self.atomic():
            row = self._query("SELECT state, job_id FROM attempts WHERE id = ?", (attempt_id,))
            if not row or AttemptState(row[0]["state"]) not in olds:
                return False
            self._update("attempts", _ATTEMPT_COLUMNS, attempt_id, {"state": new, **values})
            outcome = values.get("outcome")
            self.add_event(now_s, "attempt", job_id=row[0]["job_id"], attempt_id=attempt_id,
                           from_state=row[0]["state"],
                           to_state=f"{new}:{outcome}" if outcome else new, reason=note)
        return True

    def update_attempt(self, attempt_id: int, **values: Any) -> None:
        if "state" in values:
            raise ValueError("use transition_attempt to change an attempt's state")
        with self.atomic():
            self._update("attempts", _ATTEMPT_COLUMNS, attempt_id, values)

    def record_heartbeat(self, attempt_id: int, seq: int, now_s: float, *,
                         lease_expires_s: float | None, progress: dict[str, Any],
                         samples_per_s: float | None, speed_batch_size: int | None = None,
                         noise_scale: float | None = None) -> bool:
        """Record a heartbeat of a current attempt if ``seq`` is newer than any before (stale and
        duplicate ones change nothing: ``False``). Updates the job's latest progress too.

        The job's batch size is the approved one (``approve_batch_size``); a heartbeat only
        confirms it. Its speed counts towards the job's measured speed at its GPU count and at
        ``speed_batch_size``, the batch size all its steps ran at (the job library's average
        restarts at a change); without one (an older library), at the heartbeat's batch size
        when the previous heartbeat of the attempt ran the same size (the first one after a
        change may still average steps of the old size)."""
        current = [s.value for s in (AttemptState.LAUNCHING, AttemptState.RUNNING,
                                     AttemptState.DRAINING)]
        with self.atomic():
            before = self._query(
                "SELECT job_id, last_heartbeat_s, reported_batch_size, slots FROM attempts "
                "WHERE id = ?", (attempt_id,))
            batch = progress["batch_size"]
            cursor = self._db.execute(
                "UPDATE attempts SET last_seq = ?, last_heartbeat_s = ?, "
                "lease_expires_s = COALESCE(?, lease_expires_s), samples = ?, epoch = ?, "
                "step = ?, samples_per_s = COALESCE(?, samples_per_s), reported_batch_size = ?, "
                "training_since_s = COALESCE(training_since_s, "
                "CASE WHEN ? > start_samples THEN ? END) "
                "WHERE id = ? AND state IN (?, ?, ?) AND last_seq < ?",
                (seq, now_s, lease_expires_s, progress["samples"], progress["epoch"],
                 progress["step"], samples_per_s, batch, progress["samples"], now_s, attempt_id,
                 *current, seq))
            if cursor.rowcount != 1:
                return False
            job_id = before[0]["job_id"]
            self._db.execute(
                "UPDATE jobs SET samples = ?, epoch = ?, step = ?, samples_per_epoch = ?, "
                "samples_per_s = COALESCE(?, samples_per_s), "
                "noise_scale = COALESCE(?, noise_scale) WHERE id = ?",
                (progress["samples"], progress["epoch"], progress["step"],
                 progress["samples_per_epoch"], samples_per_s, noise_scale, job_id))
            measured_at = speed_batch_size if speed_batch_size is not None else \
                batch if before[0]["reported_batch_size"] == batch else None
            if samples_per_s is not None and samples_per_s > 0 and measured_at is not None:
                gpus = len(_parsed_slots(before[0]["slots"]))
                self._record_speed(job_id, measured_at, gpus, samples_per_s, now_s)
            if before[0]["last_heartbeat_s"] is None:
                self.add_event(now_s, "attempt", job_id=job_id, attempt_id=attempt_id,
                               reason="first heartbeat")
        return True

    def _record_speed(self, job_id: int, batch_size: int, gpus: int, samples_per_s: float,
                      now_s: float) -> None:
        w = SPEED_EMA_WEIGHT
        self._db.execute(
            "INSERT INTO speeds(job_id, batch_size, gpus, samples_per_s, measurements, "
            "updated_s) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT(job_id, batch_size, gpus) DO "
            f"UPDATE SET samples_per_s = {w} * excluded.samples_per_s + {1 - w} * samples_per_s, "
            "measurements = measurements + 1, updated_s = excluded.updated_s",
            (job_id, batch_size, gpus, samples_per_s, now_s))

    def speeds(self, job_ids: Sequence[int] | None = None) -> dict[int, list[Speed]]:
        """Measured speeds by job (all jobs, or ``job_ids``)."""
        if job_ids is None:
            rows = self._query("SELECT * FROM speeds ORDER BY job_id, gpus, batch_size")
        else:
            marks = ",".join("?" * len(job_ids))
            rows = self._query(f"SELECT * FROM speeds WHERE job_id IN ({marks}) "
                               "ORDER BY job_id, gpus, batch_size", tuple(job_ids))
        found: dict[int, list[Speed]] = {}
        for r in rows:
            found.setdefault(r["job_id"], []).append(
                Speed(r["batch_size"], r["gpus"], r["samples_per_s"], r["measurements"]))
        return found

    def approve_batch_size(self, attempt: AttemptRow, batch_size: int, now_s: float, *,
                           round_index: int | None, proposal: int) -> None:
        """The attempt runs ``batch_size`` from now on: its reply carries the new size and
        version, and the job's batch size (what the planner sees) changes at once."""
        with self.atomic():
            job = self.job(attempt.job_id)
            if job is None:
                return
            self.update_attempt(attempt.id, batch_size=batch_size,
                                bs_version=attempt.bs_version + 1)
            self.update_job(job.id, batch_size=batch_size,
                            batch_sizes=[*job.batch_sizes, [now_s, round_index, batch_size]])
            self.add_event(now_s, "attempt", job_id=job.id, attempt_id=attempt.id,
                           reason=f"batch size {attempt.batch_size} -> {batch_size} approved",
                           data={"proposal": proposal, "approved": batch_size,
                                 "round": round_index})

    def scheduled_batch_sizes(self, states: Sequence[JobState]) -> dict[int, int]:
        """``{job id: batch size}`` of the jobs in ``states`` (one light query per tick)."""
        marks = ",".join("?" * len(states))
        rows = self._query(f"SELECT id, batch_size FROM jobs WHERE state IN ({marks})",
                           tuple(s.value for s in states))
        return {r["id"]: r["batch_size"] for r in rows}

    def add_checkpoint(self, attempt_id: int, checkpoint_id: str, progress: dict[str, Any],
                       now_s: float) -> bool:
        """Acknowledge a committed checkpoint of a current attempt (idempotent: ``False`` when it
        was already known). It becomes the job's resume point if it is further along."""
        with self.atomic():
            row = self._query("SELECT job_id FROM attempts WHERE id = ?", (attempt_id,))
            job_id = row[0]["job_id"]
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO checkpoints(attempt_id, checkpoint_id, job_id, samples, "
                "progress, at_s) VALUES (?, ?, ?, ?, ?, ?)",
                (attempt_id, checkpoint_id, job_id, progress["samples"], json.dumps(progress),
                 now_s))
            if cursor.rowcount != 1:
                return False
            self._db.execute(
                "UPDATE jobs SET checkpoint_id = ?, checkpoint_attempt = ?, "
                "checkpoint_samples = ?, checkpoint_progress = ? WHERE id = ?",
                (checkpoint_id, attempt_id, progress["samples"], json.dumps(progress), job_id))
            self.add_event(now_s, "checkpoint", job_id=job_id, attempt_id=attempt_id,
                           reason=checkpoint_id, data={"samples": progress["samples"]})
        return True

    def checkpoints(self, job_id: int) -> list[CheckpointRow]:
        rows = self._query("SELECT * FROM checkpoints WHERE job_id = ? ORDER BY at_s, rowid",
                           (job_id,))
        return [CheckpointRow(r["attempt_id"], r["checkpoint_id"], r["job_id"], r["samples"],
                              json.loads(r["progress"]), r["at_s"]) for r in rows]

    # -- rounds --------------------------------------------------------------------------------
    def add_round(self, row: RoundRow) -> None:
        with self.atomic():
            self._db.execute(
                "INSERT INTO rounds(idx, start_s, end_s, placements, kept, revoked, added, "
                "decision_s, bookkeeping_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.idx, row.start_s, row.end_s,
                 json.dumps({str(j): list(g) for j, g in row.placements.items()}),
                 json.dumps(row.kept), json.dumps(row.revoked), json.dumps(row.added),
                 row.decision_s, row.bookkeeping_s))
            self.add_event(row.start_s, "round", reason=f"round {row.idx}",
                           data={"placements": {str(j): list(g)
                                                for j, g in row.placements.items()}})

    def set_round_bookkeeping(self, idx: int, bookkeeping_s: float) -> None:
        self._execute("UPDATE rounds SET bookkeeping_s = ? WHERE idx = ?", (bookkeeping_s, idx))

    def latest_round(self) -> RoundRow | None:
        rows = self._query("SELECT * FROM rounds ORDER BY idx DESC LIMIT 1")
        return _round_row(rows[0]) if rows else None

    def rounds(self, limit: int = 100) -> list[RoundRow]:
        rows = self._query("SELECT * FROM (SELECT * FROM rounds ORDER BY idx DESC LIMIT ?) "
                           "ORDER BY idx", (limit,))
        return [_round_row(r) for r in rows]

    def round_starts(self, indices: Sequence[int]) -> dict[int, float]:
        """Start times of the rounds ``indices`` (those that exist)."""
        wanted = sorted(set(indices))
        starts: dict[int, float] = {}
        for chunk in range(0, len(wanted), 500):  # SQLite's bound on parameters per query
            part = wanted[chunk:chunk + 500]
            rows = self._query(f"SELECT idx, start_s FROM rounds WHERE idx IN "
                               f"({','.join('?' * len(part))})", part)
            starts.update((int(r["idx"]), float(r["start_s"])) for r in rows)
        return starts

    # -- helpers -------------------------------------------------------------------------------
    def _job_row(self, r: sqlite3.Row) -> JobRow:
        data = dict(r)
        spec = self._specs.get(data["id"])
        if spec is None:
            spec = self._specs[data["id"]] = JobSubmit.model_validate_json(data["spec"])
        data["spec"] = spec
        data["state"] = JobState(data["state"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        data["checkpoint_progress"] = _json(data["checkpoint_progress"])
        data["timeline"] = json.loads(data["timeline"])
        data["batch_sizes"] = json.loads(data["batch_sizes"])
        return JobRow(**data)

    def _update(self, table: str, columns: frozenset[str], row_id: int,
                values: dict[str, Any]) -> None:
        unknown = set(values) - columns
        if unknown:
            raise ValueError(f"{table}: unknown column(s) {sorted(unknown)}")
        if not values:
            return
        sets = ", ".join(f"{k} = ?" for k in values)
        args = [_to_sql(k, v) for k, v in values.items()]
        self._db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*args, row_id))


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` inside the caller's transaction (``executescript`` would
    commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _to_sql(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _JSON_COLUMNS:
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _attempt_row(r: sqlite3.Row) -> AttemptRow:
    data = dict(r)
    data["state"] = AttemptState(data["state"])
    data["outcome"] = Outcome(data["outcome"]) if data["outcome"] else None
    data["slots"] = tuple(json.loads(data["slots"]))
    data["handle"] = _json(data["handle"])
    data["report"] = _json(data["report"])
    data["sigterm_sent"] = bool(data["sigterm_sent"])
    data["kill_sent"] = bool(data["kill_sent"])
    return AttemptRow(**data)


def _round_row(r: sqlite3.Row) -> RoundRow:
    return RoundRow(
        idx=r["idx"], start_s=r["start_s"], end_s=r["end_s"],
        placements={int(j): tuple(g) for j, g in json.loads(r["placements"]).items()},
        kept=json.loads(r["kept"]), revoked=json.loads(r["revoked"]), added=json.loads(r["added"]),
        decision_s=r["decision_s"], bookkeeping_s=r["bookkeeping_s"])


def _event_row(r: sqlite3.Row) -> EventRow:
    data = dict(r)
    data["data"] = _json(data["data"])
    return EventRow(**data)


@functools.lru_cache(maxsize=1 << 16)
def _parsed(text: str) -> Any:
    """Decoded JSON of a column the round loop reads every tick (a handle): decoded once per
    distinct value. Callers must not mutate the result."""
    return json.loads(text)


@functools.lru_cache(maxsize=1 << 16)
def _parsed_slots(text: str) -> tuple[int, ...]:
    return tuple(json.loads(text))
