"""A trace of the bundled workloads simulated with a profile's two files (``--throughputs``,
``--workload-facts``), every number computed by hand; and the options' errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import shockwave

THROUGHPUTS = {"v100": {
    "('digits (batch size 64)', 1)": {"null": 12.0},  # an epoch (24 steps): 2 s
    "('digits (batch size 64)', 2)": {"null": 16.0},  # 1.5 s
    "('tinylm (batch size 32)', 1)": {"null": 8.0},   # an epoch (768 / 32 = 24 steps): 3 s
}}
FACTS = {"dataset_samples": {"digits": 1536, "tinylm": 768},
         "min_batch_size": {"digits": 16, "tinylm": 8},
         "max_batch_size": {"digits": 256, "tinylm": 128}}
TRACE = [
    {"model": "digits", "batch_size": 64, "gpus": 1, "total_steps": 72, "arrival_s": 0},
    {"model": "tinylm", "batch_size": 32, "gpus": 1, "total_steps": 48, "arrival_s": 0},
    {"model": "digits", "batch_size": 64, "gpus": 2, "total_steps": 48, "arrival_s": 1},
]


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"trace": tmp_path / "bundled.jsonl", "throughputs": tmp_path / "tp.json",
             "facts": tmp_path / "tp-facts.json"}
    paths["trace"].write_text("".join(json.dumps(job) + "\n" for job in TRACE))
    paths["throughputs"].write_text(json.dumps(THROUGHPUTS))
    paths["facts"].write_text(json.dumps(FACTS))
    return paths


def simulate(files: dict[str, Path], *extra: str):
    return shockwave("simulate", "--trace", str(files["trace"]), "--throughputs",
                     str(files["throughputs"]), "--gpus", "2", "--round-seconds", "4", "-q",
                     *extra)


def test_a_bundled_workload_trace_runs_with_the_profiles_files(files, tmp_path):
    """FIFO, 4 s rounds, a 1 s restart. Round 0 (0-4 s): digits and tinylm restart (1 s) and
    work 3 s: 36 of digits' 72 steps, 24 of tinylm's 48. The 2-GPU digits job (arrived at 1 s)
    waits for both GPUs. Round 1: 3 s more each, both done at 7 s, which ends the round.
    Round 2: the gang restarts (1 s) and runs its 48 steps in 3 s: done at 11 s."""
    out = tmp_path / "result.json"
    run = simulate(files, "--workload-facts", str(files["facts"]), "--policy", "fifo",
                   "--preemption-penalty-seconds", "1", "--json", str(out))
    assert run.exit_code == 0, run.output
    result = json.loads(out.read_text())
    jobs = {job["id"]: job for job in result["jobs"]}
    assert [jobs[i]["completion_s"] for i in range(3)] == pytest.approx([7.0, 7.0, 11.0])
    assert [jobs[i]["run_time_s"] for i in range(3)] == pytest.approx([6.0, 6.0, 3.0])
    assert result["makespan_s"] == pytest.approx(11.0)
    assert result["inputs"]["workload_facts"] == str(files["facts"])
    assert result["inputs"]["preemption_penalty_s"] == 1.0


def test_the_default_restart_cost_takes_a_whole_short_round(files, tmp_path):
    """20 s of restart in a 4 s round: each start costs the whole round, then the same work.
    Round 0 (0-4 s): both restart. Round 1 (4-8 s): 4 s of work (digits 48, tinylm 32 steps).
    Round 2: 2 s more each, done at 10 s. Round 3 (10-14 s): the gang restarts; round 4: its
    3 s of work, done at 17 s."""
    out = tmp_path / "result.json"
    run = simulate(files, "--workload-facts", str(files["facts"]), "--policy", "fifo", "--json",
                   str(out))
    assert run.exit_code == 0, run.output
    result = json.loads(out.read_text())
    assert [job["completion_s"] for job in result["jobs"]] == pytest.approx([10.0, 10.0, 17.0])
    assert result["stats"]["failed_tasks"] == 0
    assert "preemption_penalty_s" not in result["inputs"]


def test_without_the_facts_the_models_are_unknown(files):
    run = simulate(files)
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        f"error: {files['trace']}:1: job_type: unknown model 'digits'; known: A3C, CycleGAN, LM, "
        "Recommendation, ResNet-18, ResNet-50, Transformer (others need --workload-facts, see "
        "docs/profiling.md)")


def test_a_bad_facts_file_is_one_line_naming_the_file_and_field(files):
    files["facts"].write_text(json.dumps({"dataset_samples": {"digits": -5}}))
    run = simulate(files, "--workload-facts", str(files["facts"]))
    assert run.exit_code == 2
    assert run.stderr.strip() == \
        f"error: {files['facts']}: dataset_samples.digits: must be at least 1, got -5"


def test_a_bad_restart_cost_is_a_usage_error(files):
    run = simulate(files, "--preemption-penalty-seconds", "-1")
    assert run.exit_code == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--preemption-penalty-seconds': must be in [0, 86400] s, "
        "got -1")


def test_trace_info_takes_the_facts_too(files):
    """Run times alone: 6, 6 and 3 s; GPU-seconds 6 + 6 + 2 x 3 = 18, over 2 GPUs: 9 s."""
    run = shockwave("trace", "info", str(files["trace"]), "--throughputs",
                    str(files["throughputs"]), "--workload-facts", str(files["facts"]),
                    "--gpus", "2", "--json")
    assert run.exit_code == 0, run.output
    info = json.loads(run.stdout)
    assert info["run_time"]["total_s"] == pytest.approx(15.0)
    assert info["gpu_seconds"] == pytest.approx(18.0)
    assert info["makespan_lower_bound_s"] == pytest.approx(9.0)
    assert info["models"] == {"digits": 2, "tinylm": 1}
