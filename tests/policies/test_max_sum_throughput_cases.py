"""Max-sum-throughput's exact shares by hand at their boundaries: a cluster exactly as wide as
the jobs, a level that fits exactly, a single fractional job, and nothing left for the rest."""

from __future__ import annotations

import numpy as np
import pytest

from shockwave.policies.max_sum_throughput import max_sum_throughput_shares


def shares(thr, gpus, num_gpus) -> list[float]:
    return max_sum_throughput_shares(np.array(thr, float), np.array(gpus, float), num_gpus).tolist()


def test_a_cluster_exactly_as_wide_as_all_jobs_runs_them_all():
    assert shares([1.0, 5.0, 2.0], [1, 2, 1], 4) == [1.0, 1.0, 1.0]


def test_a_level_that_fits_exactly_runs_whole_and_the_rest_gets_nothing():
    # Rates per GPU 4, 3, 1: the 2-GPU job (4/GPU) and the 1-GPU job (3/GPU) fill 3 GPUs exactly.
    assert shares([8.0, 3.0, 1.0], [2, 1, 1], 3) == [1.0, 1.0, 0.0]


def test_the_next_job_gets_the_fraction_that_is_left():
    # 2 GPUs left for a 4-GPU job at the next level: half of it.
    assert shares([10.0, 8.0, 1.0], [1, 4, 1], 3) == [1.0, 0.5, 0.0]
    # Two 1-GPU jobs tied after the first: they share the one GPU left, and never above 1.
    tied = shares([10.0, 2.0, 2.0], [1, 1, 1], 2)
    assert tied[0] == 1.0 and tied[1] == pytest.approx(0.5) and tied[2] == pytest.approx(0.5)
