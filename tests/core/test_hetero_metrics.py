"""The heterogeneity objectives of metrics.py against hand-computed values: the run time on
Gavel's proportional split, LAS's normalised shares, and the speed efficiency that stands for
max-sum-throughput's objective (docs/results.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shockwave import JobSpec, make_sim_config, simulate
from shockwave.metrics import (
    AloneRunTimes,
    alone_run_times,
    epoch_seconds,
    normalized_shares,
    proportional_run_time_s,
    speed_efficiency,
)
from shockwave.model import Cluster
from shockwave.sim.result import JobRecord
from shockwave.workload.throughput import ThroughputTable

TABLE = ThroughputTable({"v100": {("LM (batch size 20)", 1): 10.0, ("LM (batch size 20)", 2): 16.0},
                         "k80": {("LM (batch size 20)", 1): 5.0, ("LM (batch size 20)", 2): 8.0}},
                        source="<test table>")


def _record(job_id: int, gpus: int, arrival: float, completion: float,
            run_time: float) -> JobRecord:
    return JobRecord(job_id, "LM", 20, gpus, "static", arrival, completion, run_time)


def test_proportional_split_runs_each_epoch_at_the_count_weighted_rate():
    # half the time on each type: 0.5/10 + 0.5/40 = 0.0625 epochs/s, 16 s an epoch, two epochs
    assert proportional_run_time_s({"v100": [10.0, 10.0], "k80": [40.0, 40.0]},
                                   {"v100": 2, "k80": 2}) == pytest.approx(32.0)


def test_a_batch_size_change_is_combined_epoch_by_epoch_not_by_totals():
    # epoch 1: 1 / (0.5/10 + 0.5/30) = 15 s; epoch 2: 1 / (0.5/20 + 0.5/60) = 30 s
    durations = {"v100": [10.0, 20.0], "k80": [30.0, 60.0]}
    assert proportional_run_time_s(durations, {"v100": 1, "k80": 1}) == pytest.approx(45.0)


def test_a_type_the_job_cannot_run_on_still_takes_its_fraction_of_the_time():
    # 1 v100 of 4 GPUs: a quarter of the time at 1/10 epoch/s -> 40 s an epoch
    assert proportional_run_time_s({"v100": [10.0]}, {"v100": 1, "k80": 3}) == pytest.approx(40.0)


def test_on_one_type_the_proportional_run_time_is_the_exclusive_one():
    assert proportional_run_time_s({"v100": [3.0, 5.0]}, {"v100": 4}) == pytest.approx(8.0)


def test_a_job_that_can_run_nowhere_never_finishes_on_the_split():
    assert proportional_run_time_s({}, {"v100": 4}) == math.inf
    assert proportional_run_time_s({"k80": [1.0]}, {"v100": 4}) == math.inf


def test_epoch_seconds_count_whole_iterations_and_end_inside_the_last_epoch():
    # 10 samples at batch 4: 3 iterations an epoch (the profile counts 2.5); 2.5 epochs of work
    durations = np.array([5.0, 5.0, 5.0])
    assert epoch_seconds(durations, [4, 4, 4], 10, 2.5) == pytest.approx([6.0, 6.0, 3.0])
    # batch 5 divides the samples: nothing scaled
    assert epoch_seconds(np.array([2.0, 4.0]), [5, 5], 10, 2.0) == pytest.approx([2.0, 4.0])


def test_alone_run_times_are_the_real_work_not_whole_epochs():
    # LM epochs are 2,984 iterations; 1,200 steps are 120 s on the v100 (10 it/s), 240 s on the
    # k80, and 1 / (0.5/120 + 0.5/240) = 160 s on the 1:1 split. The profile (T_j) counts the
    # whole first epoch, 298.4 s.
    cluster = Cluster.of_types([("v100", 1, 1), ("k80", 1, 1)])
    one = JobSpec(0, "LM", 20, 1, "static", arrival_s=0.0, total_steps=1200,
                  duration_s=120.0)
    # a gang of 2 fits no type of this cluster: it can run nowhere
    two = JobSpec(1, "LM", 20, 2, "static", arrival_s=0.0, total_steps=1600,
                  duration_s=100.0)
    times = alone_run_times([one, two], cluster, TABLE)
    assert times[0].fastest_s == pytest.approx(120.0)
    assert times[0].proportional_s == pytest.approx(160.0)
    assert times[1] == AloneRunTimes(math.inf, math.inf)
    wide = Cluster.of_types([("v100", 2, 2), ("k80", 6, 2)])
    # 1,600 steps of the gang: 100 s on v100s (16 it/s), 200 s on k80s; weights 1/4, 3/4
    assert alone_run_times([two], wide, TABLE)[1] == AloneRunTimes(
        pytest.approx(100.0), pytest.approx(1.0 / (0.25 / 100.0 + 0.75 / 200.0)))


def test_normalized_share_is_gang_width_times_split_time_over_jct():
    records = [_record(0, 1, 0.0, 200.0, 50.0),    # 1 * 100 / 200 = 0.5
               _record(1, 2, 100.0, 500.0, 50.0),  # 2 * 300 / 400 = 1.5
               _record(2, 1, 10.0, 60.0, 20.0)]    # 1 * 100 / 50 = 2 (faster than the mix)
    alone = {j: AloneRunTimes(0.0, t) for j, t in ((0, 100.0), (1, 300.0), (2, 100.0))}
    shares = normalized_shares(records, alone)
    assert shares == pytest.approx([0.5, 1.5, 2.0])
    assert min(shares) == pytest.approx(0.5)


def test_speed_efficiency_is_fastest_type_work_over_busy_gpu_seconds():
    # the records' own run times (whole epochs) are not what counts: the alone work is
    records = [_record(0, 1, 0.0, 1.0, 999.0), _record(1, 2, 0.0, 1.0, 999.0)]
    alone = {0: AloneRunTimes(100.0, 0.0), 1: AloneRunTimes(50.0, 0.0)}
    # work 1*100 + 2*50 = 200 fastest-type GPU-seconds, 300 busy GPU-seconds
    assert speed_efficiency(records, [100.0, 150.0, 50.0], alone) == pytest.approx(2 / 3)
    assert speed_efficiency(records, [0.0, 0.0], alone) == 0.0
    assert speed_efficiency([], [], {}) == 0.0


def test_a_simulated_job_on_the_slow_type_has_half_the_speed_efficiency():
    """1,200 steps placed on the k80 (5 it/s, half the v100's 10): the job runs 240 s there and
    completes at 260 s (a 20 s restart first); T_j = 120 s on the v100."""

    class OnK80:
        name = "on_k80"
        plans_rounds = True

        def allocate(self, view):
            return {j: {"k80": 1.0} for j in view.jobs}

    cluster = Cluster.of_types([("v100", 1, 1), ("k80", 1, 1)])
    job = JobSpec(0, "LM", 20, 1, "static", arrival_s=0.0, total_steps=1200,
                  duration_s=120.0)
    result = simulate([job], cluster, OnK80(), make_sim_config("fixed"), throughputs=TABLE)
    alone = alone_run_times([job], cluster, TABLE)
    assert speed_efficiency(result.records, result.gpu_busy_s, alone) == pytest.approx(0.5)
    assert normalized_shares(result.records, alone) == pytest.approx([160.0 / 260.0])
