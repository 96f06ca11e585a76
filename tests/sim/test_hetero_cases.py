"""Simulations on clusters of several GPU types, by hand: progress at the placed type's rate,
T_j on the fastest type, the forced-completion rule on the slowest, what is refused before a
run, and the results JSON's ``gpu_types``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar

import pytest

from shockwave import JobSpec, load_trace, make_sim_config, simulate
from shockwave.clusters import parse_cluster
from shockwave.errors import InputError
from shockwave.experiment import Inputs, cluster_inputs, run_policy
from shockwave.metrics import utilization, utilization_by_type
from shockwave.model import Cluster
from shockwave.policies.base import ClusterView
from shockwave.sim.result import SimResult, result_from_json, result_to_json
from shockwave.workload.adaptation import build_profile, load_workload_facts
from shockwave.workload.throughput import ThroughputTable

TABLE = ThroughputTable({"v100": {("LM (batch size 20)", 1): 10.0},
                         "k80": {("LM (batch size 20)", 1): 5.0}}, source="<test table>")
V100_K80 = Cluster.of_types([("v100", 1, 1), ("k80", 1, 1)])


def lm(job_id: int, steps: int, arrival_s: float = 0.0) -> JobSpec:
    return JobSpec(job_id, "LM", 20, 1, "static", total_steps=steps, arrival_s=arrival_s,
                   duration_s=steps / 10.0)


class Wants:
    """A round planner that runs every job it names, with the share it gives it."""

    name: ClassVar[str] = "wants"
    plans_rounds: ClassVar[bool] = True

    def __init__(self, shares: Mapping[int, float | Mapping[str, float]]) -> None:
        self.shares = shares

    def allocate(self, view: ClusterView) -> dict:
        return {j: share for j, share in self.shares.items() if j in view.jobs}


def test_a_job_placed_on_the_slow_type_progresses_at_its_rate_there():
    # 1,200 steps on the k80 (5 it/s): round 0 restarts for 20 s then runs 100 s (500 steps),
    # round 1 runs 120 s (600), round 2 the last 100 steps in 20 s: done at 260 s.
    result = simulate([lm(0, 1200)], V100_K80, Wants({0: {"k80": 1.0}}),
                      make_sim_config("fixed"), throughputs=TABLE)
    assert [dict(p) for p in result.schedule] == [{0: (1,)}] * 3
    record = result.record(0)
    assert record.completion_s == pytest.approx(260.0)
    assert record.attained_s == pytest.approx(240.0)
    assert result.gpu_busy_s == pytest.approx((0.0, 240.0))
    assert result.gpu_types == ("v100", "k80")
    # T_j is its profile (whole epochs) alone on its fastest type, the v100
    fast = build_profile(lm(0, 1200), TABLE, gpu_type="v100").run_time_s
    assert record.run_time_s == fast == build_profile(lm(0, 1200), TABLE, gpu_type="k80").run_time_s / 2


def test_the_forced_completion_rule_allows_for_the_slowest_type():
    # One epoch of LM (59,675 samples, 2,984 steps of 20) has T_j = 59,675 / 20 / 10 =
    # 298.375 s on the v100; on the k80 its 2,984 steps take 596.8 s: 100 s, then 4 x 120 s
    # (580 s at t = 600), then 16.8 s: done at 616.8 s, not cut short at 1.5 x T_j = 447 s.
    samples = load_workload_facts().samples_per_epoch("LM")
    steps = -(-samples // 20)
    result = simulate([lm(0, steps)], V100_K80, Wants({0: {"k80": 1.0}}),
                      make_sim_config("fixed"), throughputs=TABLE)
    record = result.record(0)
    assert record.run_time_s == pytest.approx(samples / 20 / 10.0)
    assert record.completion_s == pytest.approx(600.0 + (steps / 5.0 - 580.0))
    assert record.attained_s == pytest.approx(steps / 5.0)
    assert result.stats["forced_completions"] == 0


def test_a_round_planners_flat_share_runs_on_the_fastest_type_with_room():
    # Both jobs want to run: job 0 gets the v100 (10 it/s), job 1 what is left, the k80
    # (500 + 600 steps in rounds 0 and 1). Job 0 is done at 140 s; in round 2 job 1 moves to
    # the free v100 (it ran the round before: no restart) and does its last 100 steps in 10 s.
    result = simulate([lm(0, 1200), lm(1, 1200)], V100_K80, Wants({0: 1.0, 1: 1.0}),
                      make_sim_config("fixed"), throughputs=TABLE)
    assert [dict(p) for p in result.schedule] == [{0: (0,), 1: (1,)}, {0: (0,), 1: (1,)},
                                                  {1: (0,)}]
    assert result.record(0).completion_s == pytest.approx(20.0 + 120.0)
    assert result.record(1).completion_s == pytest.approx(250.0)
    assert utilization_by_type(result.gpu_busy_s, result.gpu_types, result.makespan_s) == \
        pytest.approx({"v100": 130.0 / 250.0, "k80": 220.0 / 250.0})


def test_utilization_by_type_is_the_mean_over_each_types_gpus():
    busy, kinds = [10.0, 20.0, 30.0, 0.0, 40.0], ["v100", "v100", "k80", "k80", "p100"]
    assert utilization_by_type(busy, kinds, 40.0) == {"v100": 0.375, "k80": 0.375, "p100": 1.0}
    assert utilization_by_type(busy, ["v100"] * 5, 40.0) == {"v100": utilization(busy, 40.0)}
    assert utilization_by_type([], [], 40.0) == {}


def test_a_job_no_type_can_run_is_refused_naming_its_line_and_every_type():
    with pytest.raises(InputError) as error:
        simulate(load_trace(), parse_cluster("v100:2,k80:2"), "fifo")
    assert str(error.value) == (
        "canonical-120jobs.trace:23: scale_factor: job 22 can run on no GPU type of the "
        "cluster: v100: needs 4 GPUs but the cluster has 2 v100; k80: needs 4 GPUs but the "
        "cluster has 2 k80")


def test_a_job_that_one_type_cannot_finish_runs_on_the_others_only():
    # Job 20 of the canonical trace (ResNet-50, Accordion) reaches batch size 128, which has
    # zero throughput on one K80: alone on K80s it is refused, beside V100s it never uses them.
    with pytest.raises(InputError, match=r"canonical-120jobs.trace:21: job_type: job 20: its "
                                         r"batch-size profile reaches batch size 128; "
                                         r"'ResNet-50 \(batch size 128\)' on 1 x k80 has zero"):
        simulate(load_trace(), parse_cluster("k80:32"), "fifo")
    cluster = parse_cluster("v100:4,k80:28")
    result = simulate(load_trace(), cluster, "fifo")
    assert len(result.records) == 120
    held = {cluster.type_of(g) for plan in result.schedule for g in plan.get(20, ())}
    assert held == {"v100"}


def test_the_reference_mode_is_for_one_type():
    with pytest.raises(InputError, match="compat: the reference mode replays the published "
                                         "simulator, which knows one GPU type"):
        simulate([lm(0, 100)], V100_K80, "fifo", make_sim_config("reference"), throughputs=TABLE)


def test_inputs_record_the_cluster_and_one_group_of_v100s_as_gpus():
    assert cluster_inputs(parse_cluster("v100:32")) == {"gpus": 32, "gpus_per_server": 1,
                                                        "cluster": None}
    assert cluster_inputs(parse_cluster("v100:8/4")) == {"gpus": 8, "gpus_per_server": 4,
                                                         "cluster": None}
    assert cluster_inputs(parse_cluster("p100:8")) == {"gpus": 8, "gpus_per_server": 1,
                                                       "cluster": "p100:8/1"}
    inputs = Inputs(**cluster_inputs(parse_cluster("v100:2,k80:4/2")))
    assert inputs.make_cluster() == Cluster.of_types([("v100", 2, 1), ("k80", 4, 2)])
    described = inputs.describe()
    assert described["cluster"] == "v100:2/1,k80:4/2" and described["gpus"] == 6
    assert "cluster" not in Inputs().describe()


def test_a_homogeneous_cluster_text_is_the_gpus_run():
    by_cluster = run_policy("gandiva_fair", Inputs(**cluster_inputs(parse_cluster("v100:32"))))
    by_gpus = run_policy("gandiva_fair", Inputs(gpus=32))
    assert json.dumps(result_to_json(by_cluster)) == json.dumps(result_to_json(by_gpus))


def _small_result(**fields) -> SimResult:
    return SimResult(policy="fifo", num_gpus=3, records=(), schedule=({0: (2,)},),
                     round_start_s=(0.0,), round_end_s=(10.0,), gpu_busy_s=(0.0, 0.0, 10.0),
                     makespan_s=0.0, num_trace_jobs=1, **fields)


def test_gpu_types_round_trip_through_the_json():
    result = _small_result(gpu_types=("v100", "k80", "k80"))
    document = result_to_json(result)
    assert document["gpu_types"] == ["v100", "k80", "k80"]
    again = result_from_json(json.loads(json.dumps(document)))
    assert again.gpu_types == ("v100", "k80", "k80") and again.is_heterogeneous
    assert result_to_json(again) == document


def test_a_result_without_gpu_types_ran_on_v100s_or_on_its_inputs_cluster():
    assert _small_result().gpu_types == ("v100",) * 3
    document = result_to_json(_small_result(gpu_types=("v100", "k80", "k80")))
    del document["gpu_types"]  # a file written before GPU types
    assert result_from_json(document).gpu_types == ("v100",) * 3
    document["inputs"] = {"cluster": "v100:1/1,k80:2/1"}
    assert result_from_json(document).gpu_types == ("v100", "k80", "k80")
    document["inputs"] = {"cluster": "v100:4"}  # not this result's size: ignored
    assert result_from_json(document).gpu_types == ("v100",) * 3


@pytest.mark.parametrize(("gpu_types", "message"), [
    (["v100", "k80"], "gpu_types: expected 3 values (one per GPU), got 2"),
    (["v100", "k80", "k 80"], "gpu_types[2]: a GPU type is letters, digits and . _ + - (at most "
                              "64), got 'k 80'"),
    (["v100", "k80", 80], "gpu_types[2]: "),
])
def test_bad_gpu_types_in_a_saved_result_are_named(gpu_types, message):
    document = result_to_json(_small_result())
    document["gpu_types"] = gpu_types
    with pytest.raises(InputError) as error:
        result_from_json(document, source="r.json")
    assert str(error.value).startswith("r.json: " + message)


def test_a_result_needs_one_type_per_gpu():
    with pytest.raises(ValueError, match="2 GPU types for 3 GPUs"):
        _small_result(gpu_types=("v100", "k80"))
