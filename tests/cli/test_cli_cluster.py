"""``--cluster`` through the real command: a heterogeneous run of the bundled canonical trace,
a one-type cluster that is exactly ``--gpus``, and every mistake in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import one_line_error, shockwave
from shockwave.traces import load_trace
from shockwave.workload.adaptation import load_workload_facts, profile_problem
from shockwave.workload.throughput import load_throughputs


def test_every_model_of_the_canonical_trace_has_rates_on_every_type():
    """The bundled table knows the canonical trace on p100 and k80 too, every batch size its
    profiles reach; the one exception is ResNet-50 at 128 on one k80 (zero), named."""
    table, facts = load_throughputs(), load_workload_facts()
    problems = {(t, job.job_id): profile_problem(job, table, facts, t)
                for job in load_trace() for t in ("v100", "p100", "k80")}
    assert {key[0] for key, why in problems.items() if why} == {"k80"}
    assert {why for why in problems.values() if why} == {
        "its batch-size profile reaches batch size 128; 'ResNet-50 (batch size 128)' on 1 x k80 "
        "has zero throughput in tacc_throughputs.json"}


def test_simulate_runs_the_canonical_trace_on_three_types(tmp_path: Path):
    out = tmp_path / "het.json"
    run = shockwave("simulate", "--cluster", "v100:12,p100:12,k80:12", "--policy", "gavel",
                    "--json", str(out), "--quiet")
    assert run.exit_code == 0, run.output
    assert "on 36 GPUs (12 v100, 12 p100, 12 k80)" in " ".join(run.stdout.split())
    for gpu_type in ("v100", "p100", "k80"):
        assert f"utilisation, {gpu_type}" in run.stdout
    data = json.loads(out.read_text())
    assert data["num_gpus"] == 36 and data["jobs_completed"] == 120
    assert data["gpu_types"] == ["v100"] * 12 + ["p100"] * 12 + ["k80"] * 12
    assert data["inputs"]["cluster"] == "v100:12/1,p100:12/1,k80:12/1"
    assert data["inputs"]["gpus"] == 36
    assert set(data["cluster_util_by_type"]) == {"v100", "p100", "k80"}
    for plan in data["per_round_schedule"]:
        for gpus in plan.values():
            assert len({data["gpu_types"][g] for g in gpus}) == 1


def test_one_group_of_v100s_is_exactly_the_gpus_run(tmp_path: Path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert shockwave("simulate", "--cluster", "v100:32", "-p", "fifo", "--json", str(a),
                     "-q").exit_code == 0
    assert shockwave("simulate", "--gpus", "32", "-p", "fifo", "--json", str(b),
                     "-q").exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_compare_takes_a_cluster_too(tmp_path: Path):
    run = shockwave("compare", "--cluster", "v100:8/4,k80:8/2", "--policies", "fifo,gandiva_fair",
                    "--json-dir", str(tmp_path), "-q", "-j", "1")
    assert run.exit_code == 0, run.output
    for name in ("fifo", "gandiva_fair"):
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert data["inputs"]["cluster"] == "v100:8/4,k80:8/2"
        assert data["gpu_types"] == ["v100"] * 8 + ["k80"] * 8


def test_cluster_and_gpus_together_are_a_usage_error():
    run = shockwave("simulate", "--cluster", "v100:4", "--gpus", "4")
    assert run.exit_code == 2
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    assert lines[0].startswith("Usage: shockwave") and lines[-1] == (
        "Error: Invalid value for '--cluster': give the GPUs either as --cluster TYPE:COUNT,... "
        "or as --gpus N, not both")


@pytest.mark.parametrize(("text", "expected"), [
    ("v100:4,,k80:4", "error: --cluster: an empty item in 'v100:4,,k80:4'"),
    ("v100:4,k80", "error: --cluster: item 'k80': expected TYPE:COUNT or TYPE:COUNT/PER_SERVER"),
    ("v100:four", "error: --cluster: item 'v100:four': the GPU count must be an integer"),
    ("v100:4/3", "error: --cluster: item 'v100:4/3': 4 GPUs do not make whole servers of 3"),
    ("k80:4,k80:4", "error: --cluster: item 'k80:4': GPU type 'k80' is given twice"),
    ("v100:4,a100:4", "error: --cluster: GPU type 'a100' is not in tacc_throughputs.json"),
    ("v100:2,k80:2", "error: canonical-120jobs.trace:23: scale_factor: job 22 can run on no GPU "
                     "type of the cluster: v100: needs 4 GPUs but the cluster has 2 v100; k80:"),
])
def test_a_bad_cluster_is_one_line_naming_the_item(text: str, expected: str):
    assert one_line_error(shockwave("simulate", "--cluster", text, "-q")).startswith(expected)


def test_the_reference_mode_refuses_several_types_in_one_line():
    message = one_line_error(shockwave("simulate", "--cluster", "v100:8,k80:8", "--compat",
                                       "reference", "-q"))
    assert message.startswith("error: compat: the reference mode replays the published simulator")
