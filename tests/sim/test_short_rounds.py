"""Rounds no longer than the restart cost (the bundled workloads' seconds-long rounds): in the
default mode a round spent restarting is a round of no progress, never a failed task, so a job
is not dropped after five of them.

Two ``LM`` jobs of 1,000 steps at a made-up 10 iterations/s (100 s of work), one GPU, rounds of
4 s and the default 20 s restart cost (so a restart takes the whole round)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from shockwave import Cluster, JobSpec, make_sim_config, simulate
from shockwave.policies.base import ClusterView
from shockwave.workload.throughput import ThroughputTable

TABLE = ThroughputTable({"v100": {("LM (batch size 20)", 1): 10.0}}, source="<test table>")


class AlternateThenFirst:
    """Rounds 0-9: jobs 0 and 1 take turns (every task is a restart); then the lowest id runs."""

    name: ClassVar[str] = "alternate_then_first"
    plans_rounds: ClassVar[bool] = True

    def allocate(self, view: ClusterView) -> dict[int, float]:
        ids = sorted(view.jobs)
        turn = view.round_index % 2 if view.round_index < 10 else 0
        return {ids[min(turn, len(ids) - 1)]: 1.0}


def test_rounds_spent_restarting_are_not_failures_in_the_default_mode():
    """Rounds 0-9 (0-40 s) are all restarts. Job 0 runs from round 10: a restart (it last ran
    in round 8), then 25 rounds of 40 steps: done at 40 + 4 + 100 = 144 s. Job 1 then restarts
    at 144 s and finishes at 144 + 4 + 100 = 248 s. (Counted as failed tasks, both jobs were
    dropped as finished at 36 and 40 s with no work done.)"""
    jobs = [JobSpec(i, "LM", 20, 1, "static", total_steps=1000, arrival_s=0.0,
                    duration_s=100.0) for i in (0, 1)]
    result = simulate(jobs, Cluster(1), AlternateThenFirst(),
                      make_sim_config("fixed", round_s=4.0), throughputs=TABLE)
    assert result.stats["failed_tasks"] == 0
    assert [r.completion_s for r in result.records] == pytest.approx([144.0, 248.0])
    assert [r.attained_s for r in result.records] == pytest.approx([100.0, 100.0])
