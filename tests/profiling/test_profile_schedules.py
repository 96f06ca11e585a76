"""Learned batch-size schedules: a trace's adaptive jobs run once to their end, and their
batch-size history becomes the facts file's schedule that the simulator follows."""

from __future__ import annotations

import json

from cli_run import shockwave
from shockwave.profiling.schedules import AdaptiveJob, adaptive_jobs, schedule_rows
from shockwave.protocol import BatchSizeChange
from shockwave.workload.facts import load_facts


def change(samples: int, batch_size: int) -> BatchSizeChange:
    return BatchSizeChange(samples=samples, batch_size=batch_size)


def test_changes_count_from_the_nearest_epoch_boundary():
    # 100 samples an epoch: 240 -> epoch 2, 260 -> 3, 449 -> 4, 451 -> 5
    assert schedule_rows([change(0, 32), change(240, 64)], 100, 32) == [[0, 32], [2, 64]]
    assert schedule_rows([change(0, 32), change(260, 64)], 100, 32) == [[0, 32], [3, 64]]
    assert schedule_rows([change(449, 64), change(451, 128)], 100, 32) == \
        [[0, 32], [4, 64], [5, 128]]


def test_the_last_change_near_a_boundary_wins_and_repeats_are_dropped():
    assert schedule_rows([change(290, 64), change(310, 32)], 100, 32) == [[0, 32]]
    assert schedule_rows([change(290, 64), change(310, 128)], 100, 32) == [[0, 32], [3, 128]]
    assert schedule_rows([change(30, 16)], 100, 32) == [[0, 16]]  # before half the first epoch
    assert schedule_rows([], 100, 32) == [[0, 32]]


def test_adaptive_jobs_are_distinct_keys_with_their_longest_run():
    base = {"name": "t", "model": "digits", "batch_size": 32, "gpus": 1, "min_batch_size": 16,
            "max_batch_size": 256, "samples_per_epoch": 100}
    specs = [{**base, "adaptation": "gns", "total_samples": 250},
             {**base, "adaptation": "gns", "total_samples": 420},
             {**base, "adaptation": "static", "total_samples": 900},
             {**base, "adaptation": "accordion", "gpus": 2, "total_samples": 100}]
    assert adaptive_jobs(specs) == [
        AdaptiveJob("digits", "accordion", 32, 2, 16, 256, 100, 1),
        AdaptiveJob("digits", "gns", 32, 1, 16, 256, 100, 5),
    ]
    assert adaptive_jobs(specs)[1].key == "digits|gns|32|1"


def test_profile_of_a_trace_learns_its_gns_job_and_measures_every_size_it_reaches(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text(
        '{"model": "digits", "batch_size": 32, "gpus": 1, "mode": "gns", "total_steps": 192, '
        '"duration_s": 5, "arrival_s": 0}\n'
        '{"model": "digits", "batch_size": 64, "gpus": 1, "mode": "static", "total_steps": 48, '
        '"duration_s": 5, "arrival_s": 3}\n')
    out = tmp_path / "p.json"
    run = shockwave("profile", "--trace", str(trace), "--batch-sizes", "64", "--steps", "6",
                    "--out", str(out), "-q")
    assert run.exit_code == 0, run.output
    raw = json.loads((tmp_path / "p-facts.json").read_text())
    (key,) = raw["schedules"]
    assert key == "digits|gns|32|1"
    rows = raw["schedules"][key]
    assert rows[0][0] == 0 and len(rows) >= 2  # it changed its size at least once
    sizes = {size for _, size in rows}
    table = json.loads(out.read_text())["v100"]
    measured = {int(k.split("batch size ")[1].split(")")[0]) for k in table}
    assert sizes | {64} <= measured  # every size the schedule reaches, and the asked one
    facts = load_facts(tmp_path / "p-facts.json")
    assert facts.schedules[("digits", "gns", 32, 1)] == tuple(tuple(r) for r in rows)
    sim = shockwave("simulate", "--trace", str(trace), "--throughputs", str(out),
                    "--workload-facts", str(tmp_path / "p-facts.json"), "--gpus", "2",
                    "--round-seconds", "4", "--preemption-penalty-seconds", "1")
    assert sim.exit_code == 0, sim.output
    assert "2 of 2" in sim.output


def test_a_trace_gang_wider_than_the_machine_is_refused_before_any_run(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"model": "digits", "batch_size": 64, "gpus": 64, "mode": "static", '
                     '"total_steps": 48, "duration_s": 5, "arrival_s": 0}\n')
    run = shockwave("profile", "--trace", str(trace), "--out", str(tmp_path / "p.json"))
    assert run.exit_code == 2
    assert "a gang of 64 does not fit" in run.output
    assert not (tmp_path / "p.json").exists()
