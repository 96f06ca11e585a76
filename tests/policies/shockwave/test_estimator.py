"""Hand-computed checks of Shockwave's per-job prediction (SPEC 4.1.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shockwave.policies.shockwave.estimator import (
    EpochModel,
    calibration_factor,
    fair_share,
    finish_time_estimate_s,
    measured_samples,
    momentum_average,
    relaxed_priority,
    remaining_runtime_s,
    rounded_epoch_durations,
)
from shockwave.workload.adaptation import build_profile


def model_of(trace, throughputs, job_id: int) -> EpochModel:
    p = build_profile(trace.jobs[job_id], throughputs)
    return EpochModel.from_profile(p.num_epochs, p.samples_per_epoch, p.batch_size_every_epoch,
                                   p.duration_every_epoch)


def test_epoch_durations_are_rounded_and_at_least_one_second():
    assert list(rounded_epoch_durations([0.2, 2.5, 3.5, 10.49])) == [1.0, 2.0, 4.0, 10.0]


def test_worked_example_job1_resnet18_accordion(canonical_trace, throughputs):
    """SPEC's example: job 1 (E = 92, B = {32, 256}) has R(0) = 3048 s and R(30) = 2028 s."""
    model = model_of(canonical_trace, throughputs, 1)
    assert model.num_epochs == 92 and model.modes == (32, 256)
    assert remaining_runtime_s(model, 0) == pytest.approx(3048, abs=1)
    assert remaining_runtime_s(model, 30) == pytest.approx(2028, abs=1)


def test_worked_example_job0_language_model(canonical_trace, throughputs):
    """SPEC's example: job 0 (LM, B = {10, 20, 40}) has R(0) = 1019 s."""
    model = model_of(canonical_trace, throughputs, 0)
    assert model.modes == (10, 20, 40)
    assert remaining_runtime_s(model, 0) == pytest.approx(1019, abs=1)


def test_dirichlet_by_hand_two_modes():
    """E = 4, bs [1, 1, 2, 2], durations [10, 10, 20, 20], progress 1.
    Prior 2 each; observed [1, 1] -> posterior {1: 4, 2: 2}; rebased 4*4/6 = 8/3, 4*2/6 = 4/3;
    minus 1 per observed epoch of bs 1 twice -> 2/3; sum 2 -> N = max(3, 3) = 3;
    R = (2/3*10 + 4/3*20) * 3 / 3 = 33.33 s."""
    model = EpochModel.from_profile(4, 100, [1, 1, 2, 2], [10, 10, 20, 20])
    assert remaining_runtime_s(model, 1) == pytest.approx(2 / 3 * 10 + 4 / 3 * 20)
    assert remaining_runtime_s(model, 1, factor=0.5) == pytest.approx((2 / 3 * 10 + 4 / 3 * 20) / 2)
    assert remaining_runtime_s(model, 4) == 1.0


def test_momentum_average_by_hand():
    """Series (0, 100), (4, 200) at round 10: weights 4/10, 6/10 -> 160; 0.9*160 + 0.1*200 = 164."""
    assert momentum_average([(0, 100.0), (4, 200.0)], 10) == pytest.approx(164.0)
    assert momentum_average([(3, 50.0)], 3) == pytest.approx(50.0)


def test_fair_share_and_finish_time():
    assert fair_share(32, 64) == 0.5
    assert fair_share(32, 8) == 1.0
    assert finish_time_estimate_s(100.0, 300.0, 500.0, 0.5) == pytest.approx(1700.0)


def test_priorities_by_hand():
    assert relaxed_priority(0.9, 1000, 120, 1.0, 12.0) == 1.0
    assert relaxed_priority(1.5, 1000, 120, 1.0, 12.0) == pytest.approx(1.5 ** 12)
    assert relaxed_priority(1.5, 100, 120, 1.0, 12.0) == pytest.approx(1.5 ** 100)
    assert relaxed_priority(2.0, 100, 120, 1.0, 12.0, cap=1e12) == 1e12
    assert math.isfinite(relaxed_priority(1e9, 100, 120, 1.0, 12.0, cap=1e12))


def test_calibration_by_hand():
    """Epochs of 100 s of 1000 samples; measured 5 it/s * bs 10 over rounds 0..3 (Delta 100):
    S_meas = 5*100*3*10 = 15000 samples in Tm = 300 s; the profile has 3000 -> factor 0.2.
    Within the 0.4 tolerance nothing changes."""
    model = EpochModel.from_profile(10, 1000, [10] * 10, np.full(10, 100.0))
    samples, span = measured_samples([(3, 5.0, 10)], 100.0)
    assert (samples, span) == (15000.0, 300.0)
    assert calibration_factor(model, 1.0, samples, span) == pytest.approx(0.2)
    near, _ = measured_samples([(3, 1.2, 10)], 100.0)  # 3600 vs 3000: within 40 %
    assert calibration_factor(model, 0.7, near, span) == 0.7


def test_calibration_prorates_the_partial_epoch():
    """Tm = 250 s over 100-s epochs: 2 whole epochs + half of the third = 2500 samples."""
    model = EpochModel.from_profile(10, 1000, [10] * 10, np.full(10, 100.0))
    assert calibration_factor(model, 1.0, 10000.0, 250.0) == pytest.approx(0.25)
