"""Shockwave's estimator at its boundaries, by hand: the calibration's tolerance band and span
edges, the momentum average's degenerate series, the fair share of an empty cluster, rho-hat of a
tiny fair finish time, and the on-track threshold (docs/policies.md, remaining-time predictor)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shockwave.policies.shockwave.estimator import (
    EpochModel,
    calibration_factor,
    fair_share,
    momentum_average,
    projected_rho,
    relaxed_priority,
    stable_calibration_factor,
)

# Ten epochs of 100 s, 1,000 samples each.
MODEL = EpochModel.from_profile(10, 1000, [10] * 10, np.full(10, 100.0))


def test_calibration_keeps_the_factor_within_40_percent_inclusive():
    # 300 s profile 3,000 samples. 4,200 measured is exactly 40 % off: kept; 4,201 is not.
    assert calibration_factor(MODEL, 0.7, 4200.0, 300.0) == 0.7
    assert calibration_factor(MODEL, 0.7, 4201.0, 300.0) == pytest.approx(3000.0 / 4201.0)
    assert calibration_factor(MODEL, 0.7, 1800.0, 300.0) == 0.7
    assert calibration_factor(MODEL, 0.7, 1799.0, 300.0) == pytest.approx(3000.0 / 1799.0)
    # A tolerance of its own replaces the 40 %.
    assert calibration_factor(MODEL, 0.7, 4200.0, 300.0, tolerance=0.1) == pytest.approx(
        3000.0 / 4200.0)


def test_calibration_needs_measured_and_profiled_samples():
    assert calibration_factor(MODEL, 0.7, 0.0, 300.0) == 0.7
    assert calibration_factor(MODEL, 0.7, 0.5, 300.0) == pytest.approx(3000.0 / 0.5)
    assert calibration_factor(MODEL, 0.7, 5000.0, 0.0) == 0.7  # nothing profiled in no time


def test_a_span_ending_on_an_epoch_boundary_counts_whole_epochs_only():
    # 200 s is exactly two epochs: 2,000 samples profiled, no part of the third.
    assert calibration_factor(MODEL, 1.0, 4000.0, 200.0) == pytest.approx(0.5)
    # Half a second into the third epoch adds 1000 * 0.5 / (100 * factor) samples.
    assert calibration_factor(MODEL, 2.0, 4010.0, 200.5) == pytest.approx(2002.5 / 4010.0)
    # The span's part-epoch is charged at the current factor.
    assert calibration_factor(MODEL, 1.0, 10000.0, 250.0) == pytest.approx(0.25)


def test_the_stable_factor_is_the_fixed_point_with_the_tolerance_given():
    # One step from 1.0: 3000 / 9000 = 1/3; the profile at 1/3 ... stays 1/3 (whole epochs only).
    assert stable_calibration_factor(MODEL, 1.0, 9000.0, 300.0) == pytest.approx(1 / 3)
    assert stable_calibration_factor(MODEL, 1.0, 4000.0, 300.0) == 1.0
    assert stable_calibration_factor(MODEL, 1.0, 4000.0, 300.0, tolerance=0.1) == pytest.approx(
        0.75)


def test_momentum_average_of_degenerate_series():
    with pytest.raises(ValueError, match="^the finish-time series is empty$"):
        momentum_average([], 3)
    # All estimates in the current round: the first value stands in for the average.
    assert momentum_average([(5, 100.0), (5, 300.0)], 5) == pytest.approx(0.9 * 100 + 0.1 * 300)
    # One round of weight: (1, 100) at round 2 -> average 100; blended with the latest, 100.
    assert momentum_average([(1, 100.0)], 2) == pytest.approx(100.0)
    assert momentum_average([(0, 100.0), (1, 200.0)], 2, momentum=0.5) == pytest.approx(
        0.5 * 150.0 + 0.5 * 200.0)


def test_fair_share_of_an_empty_cluster_view_is_one():
    assert fair_share(4, 0) == 1.0
    assert fair_share(4, 1) == 1.0
    assert fair_share(3, 4) == 0.75


def test_rho_hat_with_a_fair_finish_under_one_second():
    assert projected_rho(0.25, 0.0, 1.0, 0.5) == pytest.approx(0.5)
    assert projected_rho(0.0, 0.0, 1.0, 0.0) == 1.0
    assert projected_rho(0.0, 0.5, 1.0, 0.0) == math.inf


def test_a_job_exactly_on_track_has_priority_one():
    assert relaxed_priority(2.0, 1000.0, 120.0, 2.0, 12.0) == 1.0
    assert relaxed_priority(2.5, 1000.0, 120.0, 2.0, 2.0) == pytest.approx(6.25)
