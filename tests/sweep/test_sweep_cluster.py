"""Heterogeneous sweeps: ``cluster:`` (a ``--cluster`` text, or a list of them, swept instead of
``gpus:``), what it means in the grid, the cache key and a worker's run, and the one line each
mistake gets."""

from __future__ import annotations

import csv

import pytest
from sweep_helpers import sweep

from cli_run import one_line_error
from shockwave import make_sim_config, simulate, summarize
from shockwave.clusters import parse_cluster
from shockwave.sweep.cache import package_version
from shockwave.sweep.driver import load_shared, plan_sweep
from shockwave.sweep.execute import simulate_point
from shockwave.sweep.grid import columns, count_runs, expand, shape
from shockwave.sweep.spec import load_spec
from shockwave.traces.generate import generate_trace
from shockwave.workload.throughput import load_throughputs

SMALL_TRACE = "trace: {num_jobs: 4, lam: 300, min_hours: 0.1, max_hours: 0.3, multi_gpu: false}\n"


def test_one_cluster_is_fixed_and_written_in_full(spec_file):
    spec = load_spec(spec_file("policies: [fifo, fifo_perf]\ncluster: v100:2,k80:2\n"
                               + SMALL_TRACE))
    assert spec.clusters == ("v100:2/1,k80:2/1",)
    points = expand(spec)
    assert [(p.policy, p.gpus, p.cluster) for p in points] == [
        ("fifo", 4, "v100:2/1,k80:2/1"), ("fifo_perf", 4, "v100:2/1,k80:2/1")]
    assert columns(spec) == ["policy", "gpus", "cluster", "seed"]
    assert shape(spec) == "2 policies x 1 cluster x 1 seed"


def test_a_list_of_clusters_is_swept_with_gpus_per_server_for_groups_that_do_not_say(spec_file):
    spec = load_spec(spec_file("policies: fifo\nseeds: 2\ngpus_per_server: 2\n"
                               "cluster: ['v100:4,k80:4/4', 'v100:2/1,p100:6']\n" + SMALL_TRACE))
    assert spec.clusters == ("v100:4/2,k80:4/4", "v100:2/1,p100:6/2")
    assert count_runs(spec) == 4 == len(expand(spec))
    assert [(p.cluster, p.seed) for p in expand(spec)] == [
        ("v100:4/2,k80:4/4", 0), ("v100:4/2,k80:4/4", 1),
        ("v100:2/1,p100:6/2", 0), ("v100:2/1,p100:6/2", 1)]
    assert shape(spec) == "1 policy x 2 clusters x 2 seeds"


def test_the_cache_key_names_a_cluster_and_v100_only_keys_are_unchanged(spec_file, tmp_path):
    het = load_spec(spec_file("policies: fifo\ncluster: v100:2,k80:2\n" + SMALL_TRACE))
    het_document = plan_sweep(het).documents[0]
    assert het_document["cluster"] == "v100:2/1,k80:2/1"
    (tmp_path / "homo.yaml").write_text("policies: fifo\ngpus: 4\n" + SMALL_TRACE)
    homo_document = plan_sweep(load_spec(tmp_path / "homo.yaml")).documents[0]
    assert set(homo_document) == {
        "format", "shockwave", "policy", "params", "trace", "gpus", "gpus_per_server", "round_s",
        "compat", "preemption_penalty_s", "throughputs_sha256", "workload_facts_sha256"}
    assert {k: v for k, v in het_document.items() if k != "cluster"} == homo_document


def test_a_worker_simulates_the_points_cluster(spec_file):
    spec = load_spec(spec_file("policies: fifo_perf\ncluster: v100:1,k80:3\n" + SMALL_TRACE))
    point = expand(spec)[0]
    outcome = simulate_point(point, load_shared(spec, package_version()))
    assert outcome.error is None
    from shockwave.sweep.spec import generator_params

    throughputs = load_throughputs()
    trace = generate_trace(generator_params(dict(point.trace), 0), throughputs)
    direct = simulate(trace, parse_cluster("v100:1,k80:3"), "fifo_perf",
                      make_sim_config("fixed"), throughputs=throughputs)
    assert outcome.metrics == summarize(direct).as_dict() | {"jobs_total": 4}


def test_a_cluster_sweep_writes_the_cluster_column(spec_file, tmp_path):
    path = spec_file("policies: [fifo, fifo_perf]\nseeds: 2\n"
                     "cluster: ['v100:2,k80:2', 'v100:1,k80:3']\n" + SMALL_TRACE)
    run = sweep(path, tmp_path / "out", "--jobs", "1")
    assert run.exit_code == 0, run.output
    with open(tmp_path / "out" / "runs.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["policy"], r["gpus"], r["cluster"], r["seed"]) for r in rows] == [
        (policy, "4", cluster, seed) for policy in ("fifo", "fifo_perf")
        for cluster in ("v100:2/1,k80:2/1", "v100:1/1,k80:3/1") for seed in ("0", "1")]
    assert (tmp_path / "out" / "report" / "index.html").is_file()


ERRORS = [
    ("policies: fifo\ngpus: 8\ncluster: v100:4,k80:4\n",
     "3: cluster: give the clusters either as gpus: N (V100s) or as cluster: TYPE:COUNT,..., "
     "not both"),
    ("policies: fifo\ncluster: v100:x\n",
     "2: cluster: item 'v100:x': the GPU count must be an integer in [1, 100,000], got 'x'"),
    ("policies: fifo\ncluster:\n  - v100:4\n  - 'k80:4,'\n",
     "4: cluster[1]: an empty item in 'k80:4,' (two commas, or one at an end)"),
    ("policies: fifo\ncluster: [v100:4, 'v100:4/1']\n",
     "2: cluster[1]: 'v100:4/1' is v100:4/1, listed already"),
    ("policies: fifo\ncluster: [v100:4, v100:4]\n", "2: cluster: lists 'v100:4' twice"),
    ("policies: fifo\ncluster: []\n", "2: cluster: must not be empty, got a list"),
    ("policies: fifo\ncluster: 3\n", "2: cluster: expected a string, got 3"),
    ("policies: fifo\ngpus_per_server: 4\ncluster: v100:4,k80:6\n",
     "3: cluster: item 'k80:6': 6 GPUs do not make whole servers of 4 (gpus_per_server; an "
     "item may say TYPE:COUNT/PER_SERVER)"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[e[1].split(":")[1].strip()
                                                            + str(i) for i, e in enumerate(ERRORS)])
def test_every_cluster_mistake_is_one_line(spec_file, tmp_path, text, expected):
    path = spec_file(text)
    run = sweep(path, tmp_path / "out", "--dry-run")
    assert one_line_error(run) == f"error: {path}:" + expected
    assert not (tmp_path / "out").exists()


def test_a_type_the_table_lacks_is_refused_before_any_run(spec_file, tmp_path):
    path = spec_file("policies: fifo\ncluster: v100:4,h100:4\n" + SMALL_TRACE)
    error = one_line_error(sweep(path, tmp_path / "out", "--dry-run"))
    assert error.startswith(f"error: {path}: cluster: cluster v100:4/1,h100:4/1: GPU type "
                            "'h100' is not in ")


def test_a_job_no_type_of_a_cluster_can_run_is_refused_before_any_run(spec_file, tmp_path):
    """The canonical mix has 8-GPU jobs; no type of 4 + 4 GPUs holds one."""
    path = spec_file("policies: fifo\ncluster: v100:4,k80:4\ntrace: {num_jobs: 30}\n")
    error = one_line_error(sweep(path, tmp_path / "out", "--dry-run"))
    assert error.startswith(f"error: {path}: cluster: the trace of seed 0 on cluster "
                            "v100:4/1,k80:4/1: ")
    assert "can run on no GPU type of the cluster" in error
