"""Statistics across seeds and the CSV files, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from shockwave.sweep.summary import mean_ci
from shockwave.sweep.tables import METRICS, cell, csv_text, summary_columns, summary_rows

T_975_2 = 4.302652729749462
"""Student's t, 97.5th percentile, 2 degrees of freedom (tables: 4.303)."""
T_975_4 = 2.7764451051977934
"""... 4 degrees of freedom (tables: 2.776)."""


def test_mean_and_95_percent_half_width_of_one_two_three():
    """mean 2; sample sd 1; half-width t(0.975, 2) * 1 / sqrt(3) = 2.4841."""
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(T_975_2 / math.sqrt(3), rel=1e-12)
    assert half == pytest.approx(2.48413771175, rel=1e-10)


def test_five_seeds():
    """[10, 12, 9, 11, 13]: mean 11, sd sqrt(2.5), half-width 2.7764 * 1.5811 / 2.2361 = 1.9632."""
    mean, half = mean_ci([10, 12, 9, 11, 13])
    assert mean == 11.0
    assert half == pytest.approx(T_975_4 * math.sqrt(2.5) / math.sqrt(5), rel=1e-12)
    assert half == pytest.approx(1.963243, rel=1e-6)


def test_one_value_has_no_interval_and_equal_values_a_zero_one():
    assert mean_ci([7.5]) == (7.5, None)
    assert mean_ci([3.0, 3.0, 3.0]) == (3.0, 0.0)
    with pytest.raises(ValueError):
        mean_ci([])


def _row(policy: str, gpus: int, seed: int, value: float) -> dict:
    return {"policy": policy, "gpus": gpus, "seed": seed,
            **{m: value for m in METRICS}}


def test_summary_groups_runs_by_everything_but_the_seed_in_first_seen_order():
    rows = [_row("fifo", 8, 0, 1.0), _row("fifo", 8, 1, 2.0), _row("fifo", 8, 2, 3.0),
            _row("fifo", 4, 0, 5.0), _row("gavel", 8, 0, 4.0), _row("gavel", 8, 1, 4.0)]
    summary = summary_rows(rows, ["policy", "gpus", "seed"])
    assert [(s["policy"], s["gpus"], s["n"]) for s in summary] == [
        ("fifo", 8, 3), ("fifo", 4, 1), ("gavel", 8, 2)]
    assert summary[0]["makespan_s_mean"] == 2.0
    assert summary[0]["makespan_s_ci95"] == pytest.approx(2.48413771175)
    assert summary[1]["avg_jct_s_ci95"] is None
    assert summary[2]["cluster_util_mean"] == 4.0 and summary[2]["cluster_util_ci95"] == 0.0
    header = summary_columns(["policy", "gpus", "seed"])
    assert header[:5] == ["policy", "gpus", "n", "makespan_s_mean", "makespan_s_ci95"]
    assert len(header) == 3 + 2 * len(METRICS)


def test_cells_are_exact_and_the_csv_text_is_fixed():
    assert [cell(v) for v in (None, True, 3, 0.1 + 0.2, 1e-7, (0.5, 0.5), "gns")] == [
        "", "true", "3", "0.30000000000000004", "1e-07", "0.5,0.5", "gns"]
    text = csv_text(["policy", "mix", "x"], [{"policy": "fifo", "mix": (0.6, 0.4), "x": 2.5},
                                             {"policy": "gavel", "mix": None, "x": 1}])
    assert text == 'policy,mix,x\nfifo,"0.6,0.4",2.5\ngavel,,1\n'
