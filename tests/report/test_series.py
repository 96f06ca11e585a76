"""The plot series: gang segments, allocation per round, batch-size steps, normalization."""

from __future__ import annotations

from dataclasses import replace

import pytest
from report_synthetic import tiny_result

from shockwave.report.series import (
    GangSegment,
    allocated_fraction,
    batch_size_steps,
    cdf_points,
    contiguous_runs,
    gang_segments,
    is_adaptive,
    normalized,
)


def test_gang_segments_merge_leases_and_clip_to_completion() -> None:
    segments = gang_segments(tiny_result())
    assert segments == [
        GangSegment(0, (0,), 0.0, 200.0),
        GangSegment(1, (1,), 0.0, 100.0),
        GangSegment(2, (2, 3), 0.0, 150.0),
        GangSegment(1, (1,), 200.0, 300.0),
    ]


def test_gang_segments_split_on_idle_gap_and_gpu_change() -> None:
    result = tiny_result()
    moved = replace(
        result,
        records=(replace(result.record(0), completion_s=600.0),),
        schedule=({0: (0,)}, {0: (1,)}, {0: (1,)}),
        round_start_s=(0.0, 100.0, 500.0),
        round_end_s=(100.0, 200.0, 600.0),
    )
    segments = [s for s in gang_segments(moved) if s.job_id == 0]
    assert [(s.gpus, s.start_s, s.end_s) for s in segments] == [
        ((0,), 0.0, 100.0), ((1,), 100.0, 200.0), ((1,), 500.0, 600.0),
    ]


def test_contiguous_runs() -> None:
    assert contiguous_runs((3, 0, 1, 5, 6)) == [(0, 1), (3, 3), (5, 6)]
    assert contiguous_runs(()) == []


def test_allocated_fraction_per_round() -> None:
    starts, ends, fraction = allocated_fraction(tiny_result())
    assert list(starts) == [0.0, 100.0, 200.0]
    assert list(ends) == [100.0, 200.0, 300.0]
    assert list(fraction) == [1.0, 0.75, 0.25]


def test_batch_size_steps_extend_to_completion() -> None:
    record = tiny_result().record(1)
    assert batch_size_steps(record) == ([0.0, 100.0, 250.0, 300.0], [16, 64, 16, 16])
    static = tiny_result().record(0)
    assert batch_size_steps(static) == ([0.0, 200.0], [32, 32])
    assert [is_adaptive(r) for r in tiny_result().records] == [False, True, True]


def test_cdf_points_and_normalized() -> None:
    xs, ys = cdf_points([3.0, 1.0, 2.0, 4.0])
    assert list(xs) == [1.0, 2.0, 3.0, 4.0]
    assert list(ys) == [25.0, 50.0, 75.0, 100.0]
    assert normalized({"a": 2.0, "b": 3.0}, "a") == {"a": 1.0, "b": 1.5}
    assert normalized({"a": 0.0, "b": 3.0}, "a") is None
    with pytest.raises(KeyError):
        normalized({"a": 1.0}, "z")
