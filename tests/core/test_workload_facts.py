"""Workload-facts files (``--workload-facts``): merged over the bundled facts model by model,
every bad value named with its file and field, and learned schedules followed by the profile
(default mode) but not by the reference mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shockwave import Cluster, JobSpec, make_sim_config, simulate
from shockwave.errors import InputError
from shockwave.traces.trace import from_jobs
from shockwave.workload.adaptation import (
    build_profile,
    load_workload_facts,
    profile_batch_sizes,
    schedule_pattern,
)
from shockwave.workload.facts import load_facts
from shockwave.workload.throughput import ThroughputTable

DIGITS = {"dataset_samples": {"digits": 1536}, "min_batch_size": {"digits": 16},
          "max_batch_size": {"digits": 256}}
SCHEDULE = [[0, 64], [2, 128], [4, 256]]
RATES = {64: 12.0, 128: 8.0, 256: 5.0}
"""Made-up iterations/s of digits on 1 GPU: an epoch (1,536 samples) takes 24/12 = 2 s at 64,
12/8 = 1.5 s at 128 and 6/5 = 1.2 s at 256."""
TABLE = ThroughputTable({"v100": {(f"digits (batch size {b})", 1): r for b, r in RATES.items()}},
                        source="<test table>")


def facts_file(tmp: Path, content: object) -> Path:
    path = tmp / "facts.json"
    path.write_text(json.dumps(content))
    return path


def digits_job(mode: str = "gns", steps: int = 144) -> JobSpec:
    """144 steps at batch size 64 are 6 epochs of 24 steps."""
    return JobSpec(0, "digits", 64, 1, mode, total_steps=steps, arrival_s=0.0,
                   duration_s=steps / RATES[64])


def test_a_file_is_merged_over_the_bundled_facts_model_by_model(tmp_path):
    path = facts_file(tmp_path, {**DIGITS, "max_batch_size": {"digits": 256, "ResNet-18": 128},
                                 "about": "a comment"})
    facts = load_facts(path)
    assert facts.dataset_samples["digits"] == 1536 and facts.min_batch_size["digits"] == 16
    assert facts.max_batch_size == {**load_workload_facts().max_batch_size, "digits": 256,
                                    "ResNet-18": 128}
    assert facts.dataset_samples["ResNet-18"] == 50000 and facts.gns  # the rest is kept
    bundled = load_workload_facts()  # and the bundled facts are untouched
    assert "digits" not in bundled.dataset_samples and bundled.max_batch_size["ResNet-18"] == 256
    assert load_facts(None) is bundled


@pytest.mark.parametrize(("content", "field", "message"), [
    ([1], None, "top level must be an object (dataset_samples, min_batch_size, max_batch_size, "
                "schedules)"),
    ({"dataset_sample": {}}, "dataset_sample",
     "unknown key; known: about, dataset_samples, min_batch_size, max_batch_size, schedules"),
    ({"dataset_samples": {"digits": 0}}, "dataset_samples.digits", "must be at least 1, got 0"),
    ({"dataset_samples": {"digits": 1.5}}, "dataset_samples.digits",
     "expected an integer, got 1.5"),
    ({"dataset_samples": {"two words": 5}}, 'dataset_samples["two words"] (a key)',
     "a model name must be one word of letters, digits and . _ + -, got 'two words'"),
    ({"max_batch_size": {"digits": 256}}, "max_batch_size.digits",
     "unknown model 'digits': give its dataset_samples too"),
    ({**DIGITS, "min_batch_size": {"digits": 512}}, "min_batch_size.digits",
     "the minimum batch size of digits (512) is above its maximum (256)"),
    ({"min_batch_size": {"LM": 100}}, "min_batch_size.LM",
     "the minimum batch size of LM (100) is above its maximum (80)"),
    ({**DIGITS, "schedules": {"digits|gns|64": [[0, 64]]}}, 'schedules["digits|gns|64"]',
     "a schedule's key must be 'model|mode|initial batch size|GPUs', e.g. 'digits|gns|64|1'; "
     "got 'digits|gns|64'"),
    ({"schedules": {"digits|gns|64|1": [[0, 64]]}}, 'schedules["digits|gns|64|1"]',
     "unknown model 'digits'; known: A3C, CycleGAN, LM, Recommendation, ResNet-18, ResNet-50, "
     "Transformer (or give its dataset_samples)"),
    ({**DIGITS, "schedules": {"digits|static|64|1": [[0, 64]]}},
     'schedules["digits|static|64|1"]',
     "the mode must be accordion or gns (a static job keeps its batch size), got 'static'"),
    ({**DIGITS, "schedules": {"digits|gns|x|1": [[0, 64]]}}, 'schedules["digits|gns|x|1"]',
     "the initial batch size must be a whole number from 1 to 1,048,576, got 'x'"),
    ({**DIGITS, "schedules": {"digits|gns|64|0": [[0, 64]]}}, 'schedules["digits|gns|64|0"]',
     "the GPUs must be a whole number from 1 to 100,000, got '0'"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": []}}, 'schedules["digits|gns|64|1"]',
     "a schedule needs at least one row, [0, batch_size]"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": [[0, 64, 1]]}},
     'schedules["digits|gns|64|1"][0]', "a row must be [start_epoch, batch_size], got 3 "
                                        "values"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": [[0]]}}, 'schedules["digits|gns|64|1"][0]',
     "a row must be [start_epoch, batch_size], got 1 value"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": [[1, 64]]}},
     'schedules["digits|gns|64|1"][0][0]', "the first row must start at epoch 0, got 1"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": [[0, 64], [3, 128], [3, 256]]}},
     'schedules["digits|gns|64|1"][2][0]',
     "epochs must increase from row to row, up to 10,000,000; got 3 after 3"),
    ({**DIGITS, "schedules": {"digits|gns|64|1": [[0, 64], [3, 512]]}},
     'schedules["digits|gns|64|1"][1][1]',
     "the batch size must be within digits's bounds [16, 256], got 512"),
])
def test_a_bad_value_is_named_with_its_file_and_field(tmp_path, content, field, message):
    path = facts_file(tmp_path, content)
    with pytest.raises(InputError) as raised:
        load_facts(path)
    where = f"{path}: {field}: " if field else f"{path}: "
    assert str(raised.value) == where + message


def test_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text('{"dataset_samples": }')
    with pytest.raises(InputError, match=r"facts\.json:1: not valid JSON: Expecting value"):
        load_facts(path)


def test_a_schedule_gives_each_epoch_the_size_of_its_last_row():
    assert schedule_pattern(((0, 64), (2, 128), (4, 256)), 7) == [64, 64, 128, 128, 256, 256,
                                                                  256]
    assert schedule_pattern(((0, 64), (10, 128)), 3) == [64, 64, 64]
    assert schedule_pattern(((0, 64),), 0) == []


def test_the_profile_follows_the_schedule_of_the_jobs_key(tmp_path):
    facts = load_facts(facts_file(tmp_path, {**DIGITS, "schedules": {
        "digits|gns|64|1": SCHEDULE, "digits|accordion|64|1": [[0, 64], [1, 256]]}}))
    assert profile_batch_sizes(facts, digits_job("gns"), 6) == [64, 64, 128, 128, 256, 256]
    assert profile_batch_sizes(facts, digits_job("accordion"), 6) == [64, 256, 256, 256, 256,
                                                                      256]
    # no schedule for this key (2 GPUs; static): the mode's rule (no table for digits: fixed)
    two_gpus = JobSpec(0, "digits", 64, 2, "gns", total_steps=144, arrival_s=0.0,
                       duration_s=1.0)
    assert profile_batch_sizes(facts, two_gpus, 6) == [64] * 6
    assert profile_batch_sizes(facts, digits_job("static"), 6) == [64] * 6
    profile = build_profile(digits_job("gns"), TABLE, facts)
    assert profile.num_epochs == 6 and profile.samples_per_epoch == 1536
    assert profile.duration_every_epoch.tolist() == pytest.approx([2, 2, 1.5, 1.5, 1.2, 1.2])
    assert profile.run_time_s == pytest.approx(9.4)


def test_the_default_mode_runs_each_epoch_at_its_scheduled_size(tmp_path):
    """Rounds of 4 s, a 1 s restart cost. Round 0 (0-4 s): 1 s restart, epoch 0 (2 s) and half
    of epoch 1 (1 s). Round 1 (4-8 s): the rest of epoch 1 (1 s), then epochs 2 and 3 at 128
    (1.5 s each) from 5 s. Round 2: epochs 4 and 5 at 256 (1.2 s each) from 8 s, done at
    10.4 s."""
    facts = load_facts(facts_file(tmp_path, {**DIGITS, "schedules": {"digits|gns|64|1":
                                                                      SCHEDULE}}))
    config = make_sim_config("fixed", round_s=4.0, preemption_penalty_s=1.0)
    result = simulate([digits_job()], Cluster(1), "fifo", config, throughputs=TABLE,
                      facts=facts)
    record = result.record(0)
    assert record.completion_s == pytest.approx(10.4)
    assert record.run_time_s == pytest.approx(9.4)
    assert [size for _, size in record.batch_size_timeline] == [64, 128, 256]
    assert [at for at, _ in record.batch_size_timeline] == pytest.approx([0.0, 5.0, 8.0])
    assert result.stats["batch_size_changes"] == 2


def test_the_reference_mode_ignores_learned_schedules(tmp_path):
    """Its own rules apply: digits has no GNS table, so the job keeps 64 (an epoch is 2 s)."""
    facts = load_facts(facts_file(tmp_path, {**DIGITS, "schedules": {"digits|gns|64|1":
                                                                      SCHEDULE}}))
    config = make_sim_config("reference", round_s=4.0)
    result = simulate([digits_job()], Cluster(1), "fifo", config, throughputs=TABLE,
                      facts=facts)
    record = result.record(0)
    assert record.batch_size_timeline == ((0.0, 64),)
    assert record.run_time_s == pytest.approx(12.0)
    assert record.completion_s == pytest.approx(12.0)  # 48 steps a round, 3 rounds


def test_a_schedule_needs_a_throughput_for_every_size_it_reaches(tmp_path):
    """Checked before the run, naming the job's line; a row past the job's last epoch (6) is
    never reached and needs none."""
    facts = load_facts(facts_file(tmp_path, {**DIGITS, "schedules": {
        "digits|gns|64|1": [[0, 64], [2, 128], [5, 32]]}}))
    table = ThroughputTable({"v100": {("digits (batch size 64)", 1): 12.0,
                                      ("digits (batch size 128)", 1): 8.0}}, source="tp.json")
    trace = from_jobs([digits_job()], source="t.jsonl")
    with pytest.raises(InputError) as raised:
        trace.check_runnable(table, facts=facts)
    assert str(raised.value) == (
        "t.jsonl:1: job_type: its learned schedule reaches batch size 32 at epoch 5, but "
        "tp.json has no throughput for 'digits (batch size 32)' on 1 x v100")
    from_jobs([digits_job(steps=120)]).check_runnable(table, facts=facts)  # 5 epochs
