"""Shockwave's finish-time lower bounds by hand (``finish_time_min_progress``): the epochs each
job must make in the window so that it can still finish by ``rho_max`` times its fair finish
time, and the cheap checks that prove the constraints infeasible (docs/policies.md)."""

from __future__ import annotations

import numpy as np
import pytest

from shockwave.policies.shockwave.program import PlanInput, finish_time_min_progress

# Two 1-GPU jobs of 60 s epochs on one GPU, a 4-round window of 120 s ending at 480 s.
# Job 0: 10 epochs, none done, 600 s left. Job 1: 10 epochs, 9 done, 120 s left.
PLAN = PlanInput(gpus=np.array([1, 1]), epochs=np.array([10.0, 10.0]),
                 progress=np.array([0.0, 9.0]), remaining_s=np.array([600.0, 120.0]),
                 mean_epoch_s=np.array([60.0, 60.0]), num_gpus=1, rounds=4, round_s=120.0,
                 k=1e-3)


def test_bounds_are_the_epochs_that_cannot_wait_past_the_window():
    # Fair finish 1000 s and 600 s: slack after the window 520 s and 120 s; at share 0.5 a job
    # makes 260 s and 60 s of work in it, so job 0 needs (600 - 260) / 60 = 5.67 epochs now and
    # job 1 (120 - 60) / 60 = 1 epoch, exactly what it has left (allowed).
    bounds = finish_time_min_progress(PLAN, np.array([1000.0, 600.0]), 0.5, 480.0, 1.0)
    assert bounds == pytest.approx([340.0 / 60.0, 1.0])


def test_no_bound_for_jobs_with_enough_slack():
    bounds = finish_time_min_progress(PLAN, np.array([5000.0, 5000.0]), 0.5, 480.0, 1.0)
    assert bounds.tolist() == [0.0, 0.0]


def test_needing_more_epochs_than_are_left_is_infeasible():
    # Job 1's fair finish 540 s: slack 60 s, 30 s of work after the window, 1.5 epochs needed now.
    assert finish_time_min_progress(PLAN, np.array([1000.0, 540.0]), 0.5, 480.0, 1.0) is None


def test_rho_max_scales_the_fair_finish_time():
    # rho_max 2 doubles job 1's 540 s to 1080 s: plenty of slack, no bound.
    bounds = finish_time_min_progress(PLAN, np.array([1000.0, 540.0]), 0.5, 480.0, 2.0)
    assert bounds == pytest.approx([0.0, 0.0])


def test_a_fair_finish_inside_the_window_is_infeasible():
    assert finish_time_min_progress(PLAN, np.array([1000.0, 479.0]), 0.5, 480.0, 1.0) is None
