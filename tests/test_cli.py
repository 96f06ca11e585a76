"""End-to-end runs of the ``shockwave`` command, including every bad-input case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shockwave import Cluster, load_trace, make_sim_config, simulate, summarize
from shockwave.cli import main

CANONICAL = Path(__file__).parent.parent / "src" / "shockwave" / "data" / "canonical-120jobs.trace"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shockwave.cli", *args],
                          capture_output=True, text=True, timeout=600)


def test_simulate_writes_the_documented_json(tmp_path):
    out = tmp_path / "g.json"
    assert main(["simulate", "--policy", "gandiva-fair", "--compat", "reference",
                 "--json", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    for key in ("policy", "makespan_s", "avg_jct_s", "worst_ftf_rho", "unfair_fraction_pct",
                "cluster_util", "rounds", "jobs", "per_round_schedule"):
        assert key in data
    assert data["policy"] == "gandiva_fair"
    assert set(data["jobs"][0]) >= {"id", "arrival_s", "completion_s", "jct_s", "ftf_rho", "gpus", "mode"}
    assert data["rounds"] == len(data["per_round_schedule"]) == 270
    api = summarize(simulate(load_trace(), Cluster(32), "gandiva_fair", make_sim_config("reference")))
    assert data["makespan_s"] == api.makespan_s and data["avg_jct_s"] == api.avg_jct_s


def test_simulate_prints_a_metrics_table():
    proc = run_cli("simulate", "--policy", "isolated", "--gpus", "48")
    assert proc.returncode == 0, proc.stderr
    assert "makespan" in proc.stdout and "worst FTF rho" in proc.stdout
    assert proc.stderr == ""  # no progress display when not on a terminal


def test_compare_results_do_not_depend_on_the_number_of_processes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["compare", "--policies", "gandiva_fair,isolated,fifo", "--quiet", "--json-dir"]
    assert main([*args, str(a), "--jobs", "1"]) == 0
    assert main([*args, str(b), "--jobs", "2"]) == 0
    for name in ("gandiva_fair", "isolated", "fifo"):
        assert (a / f"{name}.json").read_text() == (b / f"{name}.json").read_text()


def test_compare_prints_values_normalised_to_the_first_policy():
    proc = run_cli("compare", "--policies", "isolated,gandiva_fair", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "normalised to Isolated" in proc.stdout and "(1.00x)" in proc.stdout


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _usage_error(proc: subprocess.CompletedProcess) -> str:
    """A usage error in the CLI library's style: the usage line first, the problem last."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert lines[0].startswith("Usage: shockwave"), proc.stderr
    assert lines[-1].startswith("Error: "), proc.stderr
    return lines[-1]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda f: f[:5] + ["many"] + f[6:], ":3: total_steps: expected an integer, got 'many'"),
        (lambda f: ["Resnet (batch 32)"] + f[1:], ":3: job_type: expected 'Model (batch size N)'"),
        (lambda f: ["Bert (batch size 32)"] + f[1:], ":3: job_type: unknown model 'Bert'"),
        (lambda f: ["LM (batch size 7)"] + f[1:], ":3: job_type: no throughput for 'LM (batch size 7)'"),
        (lambda f: f[:7] + ["slow"] + f[8:], ":3: mode: expected one of static, accordion, gns"),
        (lambda f: f[:4], ":3: line: expected 12 tab-separated fields, got 4"),
    ],
)
def test_a_malformed_trace_line_names_file_line_and_field(tmp_path, mutate, expected):
    lines = CANONICAL.read_text().splitlines()[:5]
    lines[2] = "\t".join(mutate(lines[2].split("\t")))
    trace = tmp_path / "bad.trace"
    trace.write_text("\n".join(lines) + "\n")
    message = _one_line_error(run_cli("simulate", "--trace", str(trace), "--policy", "fifo"))
    assert str(trace) + expected in message


def test_missing_throughput_entry_names_the_job_line(tmp_path):
    table = json.loads((CANONICAL.parent / "tacc_throughputs.json").read_text())
    del table["v100"]["('ResNet-50 (batch size 64)', 1)"]
    path = tmp_path / "thr.json"
    path.write_text(json.dumps(table))
    message = _one_line_error(run_cli("simulate", "--throughputs", str(path), "--policy", "fifo"))
    assert "canonical-120jobs.trace:3: job_type: no throughput for 'ResNet-50 (batch size 64)'" in message


@pytest.mark.parametrize("gpus", ["0", "-4"])
def test_non_positive_gpu_count_is_refused(gpus):
    message = _usage_error(run_cli("simulate", "--gpus", gpus, "--policy", "fifo"))
    assert message == f"Error: Invalid value for '--gpus': must be an integer in [1, 100,000], got {gpus}"


def test_unknown_policy_lists_the_choices():
    message = _usage_error(run_cli("simulate", "--policy", "gavl"))
    assert "unknown policy 'gavl'" in message and "max_min_fairness" in message
    assert "did you mean 'gavel'?" in message


def test_missing_trace_file_is_one_line():
    message = _one_line_error(run_cli("simulate", "--trace", "/nonexistent.trace", "--policy", "fifo"))
    assert "/nonexistent.trace" in message


def test_gang_wider_than_the_cluster_is_one_line():
    message = _one_line_error(run_cli("simulate", "--gpus", "2", "--policy", "fifo"))
    assert "canonical-120jobs.trace:" in message and "needs 4 GPUs but the cluster has 2" in message


def test_subcommand_errors_exit_2_through_the_real_command():
    message = _one_line_error(run_cli("trace", "info", "/nonexistent.trace"))
    assert "/nonexistent.trace" in message
    message = _one_line_error(run_cli("report", "/nonexistent.json", "--out", "/tmp/never"))
    assert "/nonexistent.json" in message
