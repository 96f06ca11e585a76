"""Expanding a spec into its runs: how many, in which order, and the columns that tell them
apart."""

from __future__ import annotations

from sweep_helpers import TINY, TINY_RUNS

from shockwave.sweep.grid import columns, count_runs, expand, shape, values
from shockwave.sweep.spec import load_spec


def test_three_policies_five_seeds_two_cluster_sizes_are_thirty_runs_in_grid_order(spec_file):
    spec = load_spec(spec_file(TINY))
    points = expand(spec)
    assert len(points) == count_runs(spec) == TINY_RUNS
    assert [(p.policy, p.gpus, p.seed) for p in points[:7]] == [
        ("fifo", 4, 0), ("fifo", 4, 1), ("fifo", 4, 2), ("fifo", 4, 3), ("fifo", 4, 4),
        ("fifo", 8, 0), ("fifo", 8, 1)]
    assert [p.policy for p in points[::10]] == ["fifo", "max_min_fairness", "shockwave"]
    assert columns(spec) == ["policy", "gpus", "seed"]
    assert shape(spec) == "3 policies x 2 cluster sizes x 5 seeds"
    assert dict(points[0].trace)["num_jobs"] == 6 and points[0].round_s == 120.0


def test_parameters_and_generator_settings_multiply_per_policy(spec_file):
    """fifo: 2 lam x 2 seeds = 4 runs; shockwave: 2 k x 2 lam x 2 seeds = 8; 12 in all."""
    spec = load_spec(spec_file(
        "policies: [fifo, shockwave]\nseeds: 2\ngpus: 8\nround_seconds: [60, 120]\n"
        "trace: {num_jobs: 4, lam: [20, 40]}\nparams:\n  shockwave: {k: [0.001, 0.01], "
        "future_rounds: 5}\n"))
    points = expand(spec)
    assert len(points) == count_runs(spec) == 2 * (4 + 8)
    names = columns(spec)
    assert names == ["policy", "shockwave.k", "lam", "gpus", "round_seconds", "seed"]
    assert values(points[0], names) == {"policy": "fifo", "shockwave.k": None, "lam": 20.0,
                                        "gpus": 8, "round_seconds": 60.0, "seed": 0}
    last = points[-1]
    assert last.params == (("k", 0.01), ("future_rounds", 5))
    assert values(last, names) == {"policy": "shockwave", "shockwave.k": 0.01, "lam": 40.0,
                                   "gpus": 8, "round_seconds": 120.0, "seed": 1}
    assert shape(spec) == "3 policy settings x 2 lam x 1 cluster size x 2 round lengths x 2 seeds"
    assert len({(p.policy, p.params, p.trace, p.seed, p.gpus, p.round_s) for p in points}) == 24


def test_a_trace_file_has_one_run_per_policy_and_cluster_and_no_seed_column(tmp_path):
    (tmp_path / "t.trace").write_text("")  # the grid does not read it
    (tmp_path / "s.yaml").write_text("policies: [fifo, gavel]\ngpus: [16, 32]\ntrace: t.trace\n")
    spec = load_spec(tmp_path / "s.yaml")
    points = expand(spec)
    assert [(p.policy, p.gpus, p.trace, p.seed) for p in points] == [
        ("fifo", 16, (), 0), ("fifo", 32, (), 0), ("max_min_fairness", 16, (), 0),
        ("max_min_fairness", 32, (), 0)]
    assert columns(spec) == ["policy", "gpus"]
    assert shape(spec) == "2 policies x 2 cluster sizes"
