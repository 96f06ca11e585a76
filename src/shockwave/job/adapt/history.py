"""The batch sizes of the whole job, from its start: checkpointed, and put in the exit report
(``ExitReport.batch_sizes``)."""

from __future__ import annotations

from shockwave.protocol import BatchSizeChange

MAX_ENTRIES = 10_000
"""The protocol's limit; beyond it the report keeps the first entry and the latest ones."""


class BatchSizeHistory:
    """``(samples, batch_size)`` pairs: the job ran at ``batch_size`` from ``samples`` on."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, int]] = []

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def initial(self) -> int | None:
        """The batch size the job started with."""
        return self.entries[0][1] if self.entries else None

    def start(self, batch_size: int) -> None:
        """The job starts at ``batch_size`` (nothing happens once there is an entry)."""
        if not self.entries:
            self.entries.append((0, batch_size))

    def record(self, samples: int, batch_size: int) -> None:
        """The job switched to ``batch_size`` after ``samples`` samples. A second change at
        the same sample count replaces the first; a non-change records nothing."""
        if self.entries and self.entries[-1][1] == batch_size:
            return
        if self.entries and self.entries[-1][0] == samples and len(self.entries) > 1:
            self.entries.pop()
            if self.entries[-1][1] == batch_size:
                return
        self.entries.append((samples, batch_size))

    def report(self) -> tuple[BatchSizeChange, ...]:
        entries = self.entries
        if len(entries) > MAX_ENTRIES:
            entries = entries[:1] + entries[-(MAX_ENTRIES - 1):]
        return tuple(BatchSizeChange(samples=s, batch_size=b) for s, b in entries)

    def state_dict(self) -> list[list[int]]:
        return [[s, b] for s, b in self.entries]

    def load_state_dict(self, state: list[list[int]]) -> None:
        self.entries = [(int(s), int(b)) for s, b in state]
