"""The pieces of ``shockwave profile`` that need no process: which runs, which measurement is
kept, and the files' content and units."""

from __future__ import annotations

from pathlib import Path

from shockwave.profiling import (
    Measurement,
    ProfileTarget,
    bundled_target,
    default_batch_sizes,
    default_gang_sizes,
    facts_json,
    throughputs_json,
)
from shockwave.profiling.measure import median_run


def target(batch_size: int, low: int, high: int) -> ProfileTarget:
    return ProfileTarget(name="m", argv=("x",), working_dir=None, env=(),
                         samples_per_epoch=1000, batch_size=batch_size, min_batch_size=low,
                         max_batch_size=high, seed=0)


def measured(workload: str, batch_size: int, gpus: int, samples_per_s: float,
             wall_s: float = 10.0) -> Measurement:
    return Measurement(workload=workload, batch_size=batch_size, gpus=gpus, steps=20,
                       samples_per_s=samples_per_s, step_time_s=batch_size / samples_per_s,
                       samples_per_epoch=1536, wall_s=wall_s, run_dir=Path("."))


def test_the_bundled_specs_give_the_batch_sizes():
    assert default_batch_sizes(bundled_target("digits")) == [16, 32, 64, 128, 256]
    assert default_batch_sizes(bundled_target("tinylm")) == [8, 16, 32, 64, 128]
    assert default_batch_sizes(bundled_target("recommend")) == [32, 64, 128, 256, 512, 1024]


def test_the_spec_batch_size_joins_the_powers_of_two_within_the_bounds():
    assert default_batch_sizes(target(48, 20, 100)) == [32, 48, 64]
    assert default_batch_sizes(target(5, 5, 5)) == [5]


def test_gangs_are_the_powers_of_two_that_fit():
    assert [default_gang_sizes(n) for n in (1, 2, 3, 16)] == [[1], [1, 2], [1, 2],
                                                              [1, 2, 4, 8, 16]]


def test_a_bundled_target_runs_its_module_with_the_specs_values():
    digits = bundled_target("digits")
    assert digits.argv[1:] == ("-m", "shockwave.workloads.digits")
    assert (digits.name, digits.samples_per_epoch, digits.batch_size, digits.seed) == \
        ("digits", 1536, 64, 0)


def test_the_median_run_is_kept():
    runs = [measured("d", 64, 1, s) for s in (300.0, 100.0, 200.0, 400.0)]
    assert median_run(runs).samples_per_s == 200.0  # the lower middle of four
    assert median_run(runs[:3]).samples_per_s == 200.0


def test_the_overhead_is_the_time_beyond_the_steady_steps():
    run = measured("d", 64, 1, 640.0, wall_s=6.5)  # 20 steps of 0.1 s
    assert run.overhead_s == 6.5 - 20 * 0.1
    assert measured("d", 64, 1, 640.0, wall_s=1.0).overhead_s == 0.0


def test_throughputs_are_iterations_per_second_of_the_gang():
    table = throughputs_json([measured("digits", 64, 2, 3200.0), measured("digits", 32, 1, 960.0),
                              measured("digits", 64, 1, 2560.0)], "v100")
    assert table == {"v100": {"('digits (batch size 32)', 1)": {"null": 30.0},
                              "('digits (batch size 64)', 1)": {"null": 40.0},
                              "('digits (batch size 64)', 2)": {"null": 50.0}}}
    assert list(table["v100"]) == sorted(table["v100"])  # by GPUs, then batch size


def test_facts_take_the_dataset_size_the_runs_reported():
    facts = facts_json([target(48, 20, 100)], [measured("m", 48, 1, 100.0)], "a test")
    assert facts == {"about": "a test", "dataset_samples": {"m": 1536},
                     "min_batch_size": {"m": 20}, "max_batch_size": {"m": 100}}
