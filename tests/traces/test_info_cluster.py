"""``trace info --cluster``: the makespan lower bound on a cluster of GPU types (an LP over how
each job's work could be split between the types), by hand, and on the command line."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from cli_run import shockwave
from shockwave.clusters import parse_cluster
from shockwave.metrics import (
    makespan_lower_bound_s,
    typed_makespan_lower_bound_s,
    typed_work_bound_s,
)
from shockwave.traces import load_trace
from shockwave.traces.info import describe_trace, describe_trace_on
from shockwave.workload.throughput import load_throughputs

INF = math.inf


def test_the_work_bound_splits_each_job_where_it_is_relatively_fastest():
    # B is 4x slower on type 2, A 2x: B all on type 1 (10 s); A a third there, two thirds on
    # type 2: 10 + 10/3 = 20 * 2/3 = 40/3 on both
    times = np.array([[10.0, 20.0], [10.0, 40.0]])
    assert typed_work_bound_s(np.array([1, 1]), times, np.array([1, 1])) == pytest.approx(40 / 3)


def test_the_work_bound_on_one_type_is_gpu_seconds_over_gpus():
    times = np.array([[10.0], [30.0]])
    assert typed_work_bound_s(np.array([1, 2]), times, np.array([4])) == pytest.approx(17.5)


def test_a_type_a_job_cannot_run_on_takes_none_of_its_work():
    # A runs on type 2 only (40 s on 2 GPUs there: 20 s); B, free to go anywhere, goes to type 1
    times = np.array([[INF, 40.0], [10.0, 10.0]])
    assert typed_work_bound_s(np.array([1, 1]), times, np.array([1, 2])) == pytest.approx(20.0)


@pytest.mark.parametrize(("arrivals", "expected"), [
    ([0.0, 5.0, 5.0], 20.0),        # all the work from t = 0 (see below)
    ([0.0, 50.0, 50.0], 50 + 40 / 3),  # the two late jobs from t = 50
    ([0.0, 0.0, 100.0], 110.0),     # the last job alone on its fastest type
])
def test_the_makespan_bound_is_the_largest_of_release_and_critical_path_bounds(arrivals,
                                                                                 expected):
    # all three: B on type 1 (10 s), A and C shared so that 10 + 10 s = 20 (2 - s): s = 1, 20 s
    times = np.array([[10.0, 20.0], [10.0, 40.0], [10.0, 20.0]])
    bound = typed_makespan_lower_bound_s(arrivals, [1, 1, 1], times, [1, 1])
    assert bound == pytest.approx(expected)


def test_on_one_type_the_typed_bound_is_the_homogeneous_one():
    arrivals, gpus, runs = [0.0, 10.0, 10.0, 300.0], [1, 2, 4, 1], [500.0, 50.0, 80.0, 20.0]
    typed = typed_makespan_lower_bound_s(arrivals, gpus, np.array(runs)[:, None], [4])
    assert typed == pytest.approx(makespan_lower_bound_s(arrivals, gpus, runs, 4))


def test_describe_on_a_cluster_of_types():
    trace, table = load_trace(), load_throughputs()
    one = describe_trace_on(trace, table, parse_cluster("v100:32"))
    assert one == dataclasses.replace(describe_trace(trace, table, 32), cluster="v100:32/1")
    mixed = describe_trace_on(trace, table, parse_cluster("v100:16,k80:16"))
    # slower GPUs beside the v100s: more than the work of 32 v100s, less than that of 16
    assert one.work_bound_s < mixed.work_bound_s < 2 * one.work_bound_s
    assert mixed.makespan_lower_bound_s >= mixed.work_bound_s
    assert mixed.run_time == one.run_time  # every job is fastest on the v100 here


def test_trace_info_cluster_on_the_command_line():
    result = shockwave("trace", "info", "--cluster", "v100:16,k80:16")
    assert result.exit_code == 0, result.output
    bound = describe_trace_on(load_trace(), load_throughputs(), parse_cluster("v100:16,k80:16"))
    assert (f"makespan lower bound            {bound.makespan_lower_bound_s:,.0f} s on "
            f"v100:16/1,k80:16/1 (the work alone: {bound.work_bound_s:,.0f} s)") in result.stdout
    assert "T_j on its fastest type" in result.stdout
    body = json.loads(shockwave("trace", "info", "--cluster", "v100:16,k80:16", "--json").stdout)
    assert body["cluster"] == "v100:16/1,k80:16/1" and body["num_gpus"] == 32
    assert "cluster" not in json.loads(shockwave("trace", "info", "--json").stdout)


@pytest.mark.parametrize(("args", "message"), [
    (["--gpus", "4", "--cluster", "v100:4"], "give the GPUs either as --cluster"),
    (["--cluster", "v100:4,h100:4"], "error: --cluster: GPU type 'h100' is not in "),
    (["--cluster", "v100:x"], "error: --cluster: item 'v100:x': the GPU count must be"),
    (["--cluster", "v100:2,k80:2"], "can run on no GPU type of the cluster"),
])
def test_trace_info_refuses_bad_clusters_in_one_line(args, message):
    result = shockwave("trace", "info", *args)
    assert result.exit_code == 2
    assert message in result.stderr
