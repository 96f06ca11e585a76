"""The round loop's clock when nothing runs, and what the round cap reports (docs/simulator.md,
"The round", step 1 and rows 1 and 11), on hand-built traces with a made-up throughput of 10
iterations/s (1,200 steps per 120 s round)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import pytest

from shockwave import Cluster, JobSpec, make_sim_config, simulate
from shockwave.errors import ShockwaveError
from shockwave.policies.base import ClusterView
from shockwave.workload.throughput import ThroughputTable

RATE = 10.0
TABLE = ThroughputTable({"v100": {("LM (batch size 20)", 1): RATE}}, source="<test table>")


def lm(job_id: int, steps: int, arrival_s: float = 0.0) -> JobSpec:
    return JobSpec(job_id, "LM", 20, 1, "static", total_steps=steps, arrival_s=arrival_s,
                   duration_s=steps / RATE)


class Waits:
    """Runs every active job, but only from ``start_s`` on (nothing can run before)."""

    name: ClassVar[str] = "waits"
    plans_rounds: ClassVar[bool] = True

    def __init__(self, start_s: float) -> None:
        self.start_s = start_s

    def allocate(self, view: ClusterView) -> dict[int, float]:
        return {j: 1.0 for j in view.jobs} if view.now_s >= self.start_s else {}


class Script:
    """Runs ``script[round_index]`` in each round (nothing in rounds it does not name)."""

    name: ClassVar[str] = "script"
    plans_rounds: ClassVar[bool] = True

    def __init__(self, script: Mapping[int, Sequence[int]]) -> None:
        self.script = script

    def allocate(self, view: ClusterView) -> dict[int, float]:
        return {j: 1.0 for j in self.script.get(view.round_index, ()) if j in view.jobs}


def test_default_mode_moves_the_clock_one_round_at_a_time_towards_the_next_arrival():
    # Job 0 is active from t = 0 but cannot run before 300 s; job 1 arrives at 1,000 s.
    jobs = [lm(0, 1200), lm(1, 1200, arrival_s=1000.0)]
    result = simulate(jobs, Cluster(1), Waits(300.0), make_sim_config("fixed"),
                      throughputs=TABLE)
    # Empty rounds at 0, 120 and 240 s; job 0 runs from 360 s (20 s restart + 120 s of work).
    assert result.round_start_s[:4] == (0.0, 120.0, 240.0, 360.0)
    assert result.round_end_s[:3] == (0.0, 120.0, 240.0)
    assert result.record(0).completion_s == pytest.approx(360.0 + 20.0 + 120.0)
    assert result.record(1).completion_s == pytest.approx(1000.0 + 20.0 + 120.0)


def test_default_mode_never_jumps_past_the_next_arrival():
    jobs = [lm(0, 1200), lm(1, 1200, arrival_s=50.0)]
    result = simulate(jobs, Cluster(1), Waits(100.0), make_sim_config("fixed"),
                      throughputs=TABLE)
    # Nothing runs at 0 s; the clock moves to job 1's arrival (50 s, sooner than a round).
    assert result.round_start_s[:2] == (0.0, 50.0)


def test_reference_mode_jumps_to_the_next_arrival_when_nothing_ran():
    jobs = [lm(0, 1200), lm(1, 1200, arrival_s=1000.0)]
    result = simulate(jobs, Cluster(1), Waits(300.0), make_sim_config("reference"),
                      throughputs=TABLE)
    assert result.round_start_s[:2] == (0.0, 1000.0)


def test_the_round_cap_names_the_first_ten_stuck_jobs_least_progressed_first():
    # Twelve jobs on two GPUs; only jobs 0 and 1 run, once, in round 0 (1,000 steps each after
    # the 20 s restart). Job 0 is then 1000/2400 done, job 1 only 1000/100000: by progress
    # fraction job 1 comes before job 0, and the ten that never ran come first, by id.
    jobs = [lm(0, 2400), lm(1, 100_000)] + [lm(j, 1200) for j in range(2, 12)]
    with pytest.raises(ShockwaveError) as err:
        simulate(jobs, Cluster(2), Script({0: [0, 1]}), make_sim_config("fixed", max_rounds=4),
                 throughputs=TABLE)
    never = ", ".join(f"job {j} (line {j + 1}, 0 rounds received)" for j in range(2, 12))
    assert str(err.value).endswith(
        "the simulation did not finish within 4 rounds; 12 job(s) could not complete: "
        f"{never} and 2 more; 0 job(s) had not arrived")


def test_the_round_cap_lists_every_stuck_job_when_there_are_ten():
    jobs = ([lm(0, 2400), lm(1, 100_000)] + [lm(j, 1200) for j in range(2, 10)]
            + [lm(j, 1200, arrival_s=1e6) for j in range(10, 12)])
    with pytest.raises(ShockwaveError) as err:
        simulate(jobs, Cluster(2), Script({0: [0, 1]}), make_sim_config("fixed", max_rounds=3),
                 throughputs=TABLE)
    never = ", ".join(f"job {j} (line {j + 1}, 0 rounds received)" for j in range(2, 10))
    assert str(err.value).endswith(
        f"10 job(s) could not complete: {never}, job 1 (line 2, 1 rounds received), "
        "job 0 (line 1, 1 rounds received); 2 job(s) had not arrived")
