"""Gavel-style traces (``trace generate --job-table gavel``): Gavel's job table, its Philly
scale factors and durations, steps on v100, runnable on all three of Gavel's GPU types."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import replace
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.errors import InputError
from shockwave.limits import MAX_SEED
from shockwave.traces.gavel_jobs import (
    GAVEL_GPU_TYPES,
    Dropped,
    GavelJobParams,
    describe_dropped,
    generate_gavel_trace,
    philly_run_time_s,
    philly_scale_factor,
)
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.templates import GAVEL_TEMPLATES_FILE, load_templates
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import BARE_JOB_TYPES, ThroughputTable, load_throughputs

GAVEL = load_throughputs("gavel")
RAW = json.loads((resources.files("shockwave") / "data" / "gavel_throughputs.json").read_text())
TEMPLATES = load_templates(GAVEL_TEMPLATES_FILE)
GOLDEN_SEED_1 = (
    "ResNet-18 (batch size 256)\tpython3 main.py --data_dir=%s/cifar10 --batch_size 256\t"
    "image_classification/cifar10\t--num_steps\t1\t128042\t1\tstatic\t1\t-1.000000\t12431\t0\n"
    "LM (batch size 80)\tpython main.py --cuda --data %s/wikitext2 --batch_size 80\t"
    "language_modeling\t--steps\t1\t431421\t1\tstatic\t1\t-1.000000\t15277\t1874\n"
    "CycleGAN (batch size 1)\tpython3 cyclegan.py --dataset_path %s/monet2photo --decay_epoch 0\t"
    "cyclegan\t--n_steps\t1\t10529\t1\tstatic\t1\t-1.000000\t2379\t3646\n"
    "A3C (batch size 4)\tpython3 main.py --env PongDeterministic-v4 --workers 4 --amsgrad True\t"
    "rl\t--max-steps\t0\t245597\t1\tstatic\t1\t-1.000000\t34226\t3681\n"
)
GOLDEN_SEED_2 = [  # model, batch size, GPUs, steps, duration s, arrival s
    ("ResNet-18", 32, 1, 81156, 2710, 0),
    ("ResNet-18", 64, 2, 240200, 3240, 163),
    ("ResNet-18", 64, 2, 563062, 7595, 634),
    ("Transformer", 128, 4, 5371702, 378969, 911),
    ("ResNet-50", 16, 2, 56603, 4084, 1467),
    ("Transformer", 32, 4, 112606, 4934, 2057),
]


def _v100(model: str, batch_size: int, gpus: int) -> float:
    """The raw JSON's v100 entry, read without the package's table reader."""
    name = model if model in BARE_JOB_TYPES else f"{model} (batch size {batch_size})"
    return RAW["v100"][f"('{name}', {gpus})"]["null"]


def test_golden_seeded_trace_is_pinned() -> None:
    trace = generate_gavel_trace(GavelJobParams(num_jobs=4, seed=1, lam_s=600), GAVEL).trace
    assert format_tsv(trace.jobs) == GOLDEN_SEED_1
    multi = generate_gavel_trace(GavelJobParams(num_jobs=6, seed=2, lam_s=600), GAVEL).trace
    assert [(j.model, j.batch_size, j.gpus, j.total_steps, j.duration_s, j.arrival_s)
            for j in multi.jobs] == GOLDEN_SEED_2


def test_steps_are_the_duration_times_the_v100_throughput() -> None:
    trace = generate_gavel_trace(GavelJobParams(num_jobs=300, seed=9), GAVEL).trace
    for job in trace.jobs:
        assert job.total_steps == int(job.duration_s * _v100(job.model, job.batch_size, job.gpus))


@pytest.mark.parametrize(("u", "gpus"), [(0.0, 1), (0.6999, 1), (0.7, 2), (0.8, 2),
                                         (0.8000001, 4), (0.95, 4), (0.9500001, 8), (1.0, 8)])
def test_scale_factor_boundaries_are_gavels(u: float, gpus: int) -> None:
    assert philly_scale_factor(u) == gpus


def test_scale_factors_follow_the_philly_mix() -> None:
    trace = generate_gavel_trace(GavelJobParams(num_jobs=20_000, seed=4), GAVEL).trace
    counts = Counter(job.gpus for job in trace.jobs)
    for gpus, share in {1: 0.70, 2: 0.10, 4: 0.15, 8: 0.05}.items():
        assert counts[gpus] / 20_000 == pytest.approx(share, abs=0.01)


def test_durations_follow_gavels_two_log_uniform_ranges() -> None:
    rng = random.Random(5)
    minutes = [philly_run_time_s(rng) / 60 for _ in range(20_000)]
    assert min(minutes) >= 10 ** 1.5 - 0.01 and max(minutes) <= 10 ** 4 + 0.01
    long_share = sum(m > 1000 for m in minutes) / len(minutes)
    assert long_share == pytest.approx(0.2, abs=0.01)
    short = [m for m in minutes if m <= 1000]  # log10 uniform on [1.5, 3]: median 10^2.25
    assert sorted(short)[len(short) // 2] == pytest.approx(10 ** 2.25, rel=0.05)


def test_the_job_table_is_gavels_and_matches_its_throughput_table() -> None:
    assert len(TEMPLATES) == 26 and len({t.job_type for t in TEMPLATES}) == 26
    for bare, batch_size in BARE_JOB_TYPES.items():
        (template,) = [t for t in TEMPLATES if t.model == bare]
        assert template.batch_size == batch_size and not template.distributed
    named = {re.match(r"^\('(.*)', \d+\)$", key).group(1) for key in RAW["v100"]}  # type: ignore[union-attr]
    assert {t.model if t.model in BARE_JOB_TYPES else t.job_type for t in TEMPLATES} == named
    for template in TEMPLATES:  # only distributed templates have multi-GPU measurements
        multi = GAVEL.has(template.model, template.batch_size, 2, "v100")
        assert multi == template.distributed, template.job_type


def test_the_draw_leaves_out_what_k80_cannot_run_and_says_so() -> None:
    result = generate_gavel_trace(GavelJobParams(num_jobs=3000, seed=3), GAVEL)
    assert result.dropped == tuple(Dropped("ResNet-50 (batch size 128)", gpus, ("k80",))
                                   for gpus in (2, 4, 8))
    assert describe_dropped(result.dropped) == [
        "'ResNet-50 (batch size 128)' on 2, 4, 8 GPU(s): no positive throughput on k80"]
    wide = {(j.job_type, j.gpus) for j in result.trace.jobs if j.gpus > 1}
    assert not any(job_type == "ResNet-50 (batch size 128)" for job_type, _ in wide)
    assert ("ResNet-50 (batch size 128)", 1) in {(j.job_type, j.gpus) for j in result.trace.jobs}
    single = generate_gavel_trace(GavelJobParams(num_jobs=5, multi_gpu=False), GAVEL)
    assert single.dropped == () and {j.gpus for j in single.trace.jobs} == {1}


def test_a_table_without_a_required_gpu_type_is_refused() -> None:
    v100_only = ThroughputTable({"v100": GAVEL.table["v100"]}, source="v100.json")
    with pytest.raises(InputError, match=r"^throughputs: no job type .* \(v100, p100, k80\) in "
                                         r"v100\.json$"):
        generate_gavel_trace(GavelJobParams(num_jobs=3), v100_only)
    trace = generate_gavel_trace(GavelJobParams(num_jobs=3, gpu_types=("v100",)), v100_only)
    assert len(trace.trace) == 3


def test_jobs_are_static_unless_modes_are_asked_for() -> None:
    base = GavelJobParams(num_jobs=200, seed=11)
    static = generate_gavel_trace(base, GAVEL).trace
    assert {j.mode for j in static.jobs} == {"static"}
    gns = generate_gavel_trace(replace(base, mode_mix=(0, 0, 1)), GAVEL).trace
    assert {j.mode for j in gns.jobs} == {"gns"}
    mixed = generate_gavel_trace(replace(base, mode_mix=(0.2, 0.4, 0.4)), GAVEL).trace
    assert set(Counter(j.mode for j in mixed.jobs)) == {"static", "accordion", "gns"}
    # The mode has its own stream: asking for modes changes nothing else.
    assert [replace(j, mode="static") for j in mixed.jobs] == list(static.jobs)
    single = generate_gavel_trace(replace(base, single_mode="accordion"), GAVEL).trace
    assert {j.mode for j in single.jobs} == {"accordion"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_jobs": 0}, "num-jobs: must be from 1 to 1,000,000, got 0"),
        ({"seed": -1}, "seed: must be from 0 to 4294967295 (a 32-bit seed), got -1"),
        ({"lam_s": float("nan")}, "lam: must be from 0 to 1e+12 s, got nan"),
        ({"mode_mix": (0.5, 0.6, 0)}, "mode-mix: probabilities must be >= 0 and sum to 1, got "
                                      "(0.5, 0.6, 0)"),
        ({"mode_mix": (1.0,)}, "mode-mix: expected 3 comma-separated probabilities, got 1"),
        ({"single_mode": "turbo"}, "single-mode: expected one of static, accordion, gns, got "
                                   "'turbo'"),
        ({"gpu_types": ("k80",)}, "gpu-types: must include the reference type v100 (steps are "
                                  "counted on it), got k80"),
    ],
)
def test_bad_parameters_name_their_option(changes: dict, message: str) -> None:
    with pytest.raises(InputError) as err:
        generate_gavel_trace(GavelJobParams(**changes), GAVEL)
    assert str(err.value) == message


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, MAX_SEED), num_jobs=st.integers(1, 40),
       lam_s=st.floats(0, 1e5), multi_gpu=st.booleans())
def test_any_seed_and_size_give_a_valid_runnable_trace(seed: int, num_jobs: int, lam_s: float,
                                                       multi_gpu: bool) -> None:
    params = GavelJobParams(num_jobs=num_jobs, seed=seed, lam_s=lam_s, multi_gpu=multi_gpu)
    trace = generate_gavel_trace(params, GAVEL).trace
    jobs = trace.jobs
    assert len(jobs) == num_jobs and [j.job_id for j in jobs] == list(range(num_jobs))
    assert parse_jsonl(format_jsonl(jobs)).jobs == jobs
    assert parse_tsv(format_tsv(jobs)).jobs == jobs
    arrivals = [j.arrival_s for j in jobs]
    assert arrivals[0] == 0 and arrivals == sorted(arrivals)
    assert {j.gpus for j in jobs} <= ({1, 2, 4, 8} if multi_gpu else {1})
    job_types = {t.job_type for t in TEMPLATES}
    for job in jobs:
        assert job.job_type in job_types and job.mode == "static"
        assert 60 * 10 ** 1.5 - 1 <= job.duration_s <= 60 * 10 ** 4 + 1
        for gpu_type in GAVEL_GPU_TYPES:
            assert GAVEL.lookup(job.model, job.batch_size, job.gpus, gpu_type) > 0
    trace.check_runnable(GAVEL, "v100")
    assert generate_gavel_trace(params, GAVEL).trace == trace  # the seed decides everything
