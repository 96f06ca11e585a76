"""The transition tables: every listed transition is accepted by the store, every other one is
refused before anything is written, and final states have no way out."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from service_harness import job_spec

from shockwave.service.states import (
    ATTEMPT_TRANSITIONS,
    JOB_TRANSITIONS,
    AttemptState,
    IllegalTransition,
    JobState,
    is_terminal,
)
from shockwave.service.store import Store


def _set_job_state(store: Store, job_id: int, state: JobState) -> None:
    store._execute("UPDATE jobs SET state = ? WHERE id = ?", (state.value, job_id))


def _set_attempt_state(store: Store, attempt_id: int, state: AttemptState) -> None:
    store._execute("UPDATE attempts SET state = ? WHERE id = ?", (state.value, attempt_id))


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite")


@pytest.mark.parametrize(("old", "new"), list(itertools.product(JobState, JobState)))
def test_job_transitions_follow_the_table(store: Store, old: JobState, new: JobState) -> None:
    job = store.add_job(job_spec(), 0.0)
    _set_job_state(store, job.id, old)
    events = len(store.events())
    if new in JOB_TRANSITIONS[old]:
        assert store.transition_job(job.id, old, new, now_s=1.0, note="test")
        assert store.job(job.id).state == new  # type: ignore[union-attr]
        assert len(store.events()) == events + 1
    else:
        with pytest.raises(IllegalTransition):
            store.transition_job(job.id, old, new, now_s=1.0, note="test")
        assert store.job(job.id).state == old  # type: ignore[union-attr]
        assert len(store.events()) == events


@pytest.mark.parametrize(("old", "new"), list(itertools.product(AttemptState, AttemptState)))
def test_attempt_transitions_follow_the_table(store: Store, old: AttemptState,
                                              new: AttemptState) -> None:
    job = store.add_job(job_spec(), 0.0)
    attempt = store.add_attempt(job.id, [0], "hash", batch_size=10, round_index=0, now_s=0.0,
                                start_samples=0)
    _set_attempt_state(store, attempt.id, old)
    if new in ATTEMPT_TRANSITIONS[old]:
        assert store.transition_attempt(attempt.id, old, new, now_s=1.0, note="test")
        assert store.attempt(attempt.id).state == new  # type: ignore[union-attr]
    else:
        with pytest.raises(IllegalTransition):
            store.transition_attempt(attempt.id, old, new, now_s=1.0, note="test")
        assert store.attempt(attempt.id).state == old  # type: ignore[union-attr]


def test_terminal_states_are_exactly_those_without_a_way_out() -> None:
    assert {s for s in JobState if is_terminal(s)} == {
        JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}
    assert {s for s in AttemptState if is_terminal(s)} == {AttemptState.EXITED}
    for table in (JOB_TRANSITIONS, ATTEMPT_TRANSITIONS):
        for old, targets in table.items():
            assert old not in targets  # no self-loops: every write is a real change
