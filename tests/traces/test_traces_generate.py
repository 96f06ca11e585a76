"""The generator reproduces the reference's random streams and validates its arguments."""

from __future__ import annotations

from importlib import resources

import pytest

from shockwave.errors import InputError
from shockwave.traces.generate import GeneratorParams, duration_values, generate_trace
from shockwave.traces.templates import load_templates
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import load_throughputs

CANONICAL = (resources.files("shockwave") / "data" / "canonical-120jobs.trace").read_text()
CANONICAL_ARGS = GeneratorParams(
    num_jobs=120, lam_s=40, seed=25, min_hours=0.2, max_hours=5, num_durations=100,
    scale_factor_mix=(0.6, 0.3, 0.09, 0.01), mode_mix=(0, 0.5, 0.5),
)


def test_canonical_trace_is_regenerated_byte_for_byte() -> None:
    trace = generate_trace(CANONICAL_ARGS, load_throughputs())
    assert format_tsv(trace.jobs) == CANONICAL


def test_default_parameters_are_the_canonical_experiment() -> None:
    assert GeneratorParams() == CANONICAL_ARGS


def test_generated_jobs_equal_the_parsed_file() -> None:
    trace = generate_trace(CANONICAL_ARGS, load_throughputs())
    assert trace.jobs == parse_tsv(CANONICAL).jobs


def test_templates_are_the_reference_table_in_order() -> None:
    templates = load_templates()
    assert len(templates) == 21
    assert [t.job_type for t in templates[:5]] == [
        "ResNet-18 (batch size 32)", "ResNet-18 (batch size 64)", "ResNet-18 (batch size 128)",
        "ResNet-18 (batch size 256)", "ResNet-50 (batch size 16)",
    ]
    assert [t.model for t in templates].count("Recommendation") == 5
    assert all(t.distributed == (t.model != "Recommendation") for t in templates)


def test_same_seed_same_trace_other_seed_other_trace() -> None:
    table = load_throughputs()
    a = generate_trace(GeneratorParams(num_jobs=50, seed=7), table)
    b = generate_trace(GeneratorParams(num_jobs=50, seed=7), table)
    c = generate_trace(GeneratorParams(num_jobs=50, seed=8), table)
    assert a.jobs == b.jobs != c.jobs


def test_short_accordion_jobs_become_static_and_mix_is_respected() -> None:
    trace = generate_trace(GeneratorParams(num_jobs=400, seed=3, mode_mix=(0, 1, 0)),
                           load_throughputs())
    for job in trace.jobs:
        assert job.mode == ("static" if job.duration_s < 1000 else "accordion")


def test_single_gpu_and_static_only_switches() -> None:
    trace = generate_trace(
        GeneratorParams(num_jobs=100, multi_gpu=False, dynamic=False), load_throughputs())
    assert {job.gpus for job in trace.jobs} == {1}
    assert {job.mode for job in trace.jobs} == {"static"}


def test_zero_lam_puts_every_arrival_at_zero() -> None:
    trace = generate_trace(GeneratorParams(num_jobs=10, lam_s=0), load_throughputs())
    assert {job.arrival_s for job in trace.jobs} == {0.0}


def test_logspace_durations_follow_the_power_law_spacing() -> None:
    values = duration_values(GeneratorParams(num_durations=10, duration_logspace=True))
    assert len(values) == 10
    assert values[0] == pytest.approx(0.2) and values[-1] == pytest.approx(5.0)
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    trace = generate_trace(
        GeneratorParams(num_jobs=20, num_durations=10, duration_logspace=True), load_throughputs())
    assert len(trace) == 20


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (GeneratorParams(num_jobs=0), "num-jobs"),
        (GeneratorParams(lam_s=-1), "lam"),
        (GeneratorParams(min_hours=3, max_hours=1), "min-hours"),
        (GeneratorParams(num_durations=4), "num-durations"),
        (GeneratorParams(num_durations=1), "num-durations"),
        (GeneratorParams(mode_mix=(0.5, 0.5)), "mode-mix"),
        (GeneratorParams(scale_factor_mix=(0.5, 0.6, 0, 0)), "scale-factor-mix"),
    ],
)
def test_bad_arguments_are_input_errors(params: GeneratorParams, field: str) -> None:
    with pytest.raises(InputError) as err:
        generate_trace(params, load_throughputs())
    assert err.value.field == field


def test_the_64_gpu_trace_streams_match_too() -> None:
    # First jobs of the reference's 220-job trace (seed 4, lam 25), all fields but total_steps
    # (which it computed with wisr_throughputs.json, not bundled here).
    expected = [
        ("Transformer (batch size 16)", 1, "accordion", 8749, 0),
        ("Transformer (batch size 64)", 1, "gns", 6655, 24),
        ("ResNet-18 (batch size 256)", 2, "accordion", 1593, 58),
        ("LM (batch size 10)", 1, "gns", 895, 97),
        ("LM (batch size 80)", 1, "accordion", 2116, 169),
        ("ResNet-50 (batch size 16)", 1, "accordion", 2116, 202),
        ("ResNet-18 (batch size 128)", 1, "gns", 3862, 266),
        ("ResNet-18 (batch size 128)", 1, "accordion", 5782, 267),
        ("ResNet-18 (batch size 32)", 1, "gns", 1942, 283),
        ("LM (batch size 10)", 1, "accordion", 6480, 354),
    ]
    trace = generate_trace(GeneratorParams(num_jobs=220, lam_s=25, seed=4), load_throughputs())
    got = [(j.job_type, j.gpus, j.mode, int(j.duration_s), int(j.arrival_s))
           for j in trace.jobs[:10]]
    assert got == expected
    assert (trace.jobs[93].job_type, trace.jobs[93].gpus, trace.jobs[93].arrival_s) == (
        "Transformer (batch size 32)", 8, 2520)
