"""``describe_trace`` reproduces SPEC 1.5 on the canonical trace; pictures and width checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from shockwave.errors import InputError
from shockwave.traces import load_trace
from shockwave.traces.info import describe_trace, run_times_s
from shockwave.traces.plot import plot_trace
from shockwave.workload.throughput import load_throughputs


def test_canonical_trace_matches_spec_1_5() -> None:
    info = describe_trace(load_trace(), load_throughputs(), num_gpus=32)
    assert info.num_jobs == 120
    assert (info.first_arrival_s, info.last_arrival_s) == (0, 5011)
    assert info.mean_gap_s == pytest.approx(42.1, abs=0.05)
    assert info.gpus_per_job == {1: 92, 2: 20, 4: 8}
    assert info.modes == {"accordion": 59, "gns": 57, "static": 4}
    assert info.models == {"LM": 36, "Recommendation": 35, "ResNet-18": 21, "ResNet-50": 15,
                           "Transformer": 13}
    static = info.static_duration
    assert (static.min_s, static.median_s, round(static.mean_s), static.max_s, static.total_s) == (
        720, 3164, 4135, 18000, 496241)
    dyn = info.run_time
    assert [round(v) for v in (dyn.min_s, dyn.median_s, dyn.mean_s, dyn.max_s, dyn.total_s)] == [
        673, 3025, 3930, 17235, 471542]
    assert round(info.gpu_seconds) == 635795
    assert round(info.work_bound_s) == 19869
    assert round(info.makespan_lower_bound_s) == 20518  # the work of the jobs from the t-th on
    assert info.too_wide_job_ids == ()


def test_lower_bound_scales_with_cluster_and_flags_wide_jobs() -> None:
    info = describe_trace(load_trace(), load_throughputs(), num_gpus=2)
    assert info.work_bound_s == pytest.approx(info.gpu_seconds / 2)
    assert info.makespan_lower_bound_s >= info.work_bound_s
    assert len(info.too_wide_job_ids) == 8


def test_check_fits_names_the_line_of_the_first_wide_job() -> None:
    trace = load_trace()
    trace.check_fits(4)
    with pytest.raises(InputError) as err:
        trace.check_fits(2)
    assert err.value.field == "scale_factor"
    assert err.value.line == trace.line_of(22)


def test_no_gpus_is_an_error() -> None:
    with pytest.raises(InputError):
        describe_trace(load_trace(), load_throughputs(), num_gpus=0)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    trace, table = load_trace(), load_throughputs()
    info = describe_trace(trace, table)
    out = plot_trace(trace, run_times_s(trace, table), info, tmp_path / "trace.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_to_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    trace, table = load_trace(), load_throughputs()
    info = describe_trace(trace, table)
    with pytest.raises(InputError):
        plot_trace(trace, run_times_s(trace, table), info, tmp_path / "no" / "such" / "x.png")
