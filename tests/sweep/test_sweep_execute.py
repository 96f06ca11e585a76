"""One run as a worker executes it, from plain values (what a Ray worker on another machine
needs is all in the shared inputs the driver sends), and the driver storing runs as they
finish."""

from __future__ import annotations

import shutil
from pathlib import Path

from shockwave.sweep.cache import package_version
from shockwave.sweep.driver import load_shared, plan_sweep
from shockwave.sweep.execute import simulate_point
from shockwave.sweep.spec import load_spec

DATA = Path(__file__).parents[2] / "src" / "shockwave" / "data"
SPEC = "policies: shockwave\ngpus: 4\ntrace: {num_jobs: 6, lam: 300, min_hours: 0.1, max_hours: 0.5}\n"


def test_a_policy_config_file_travels_with_the_run_not_through_the_worker_s_disk(tmp_path):
    shutil.copy(DATA / "shockwave-config.json", tmp_path / "sw.json")
    (tmp_path / "with.yaml").write_text(SPEC + "params:\n  shockwave: {config: sw.json}\n")
    (tmp_path / "without.yaml").write_text(SPEC)
    spec = load_spec(tmp_path / "with.yaml")
    point, shared = plan_sweep(spec).points[0], load_shared(spec, package_version())
    (tmp_path / "sw.json").unlink()  # a worker elsewhere does not have the file
    outcome = simulate_point(point, shared)
    assert outcome.error is None and outcome.shockwave_version == package_version()
    # The bundled config is the default one: the same run without the parameter agrees.
    plain = load_spec(tmp_path / "without.yaml")
    expected = simulate_point(plan_sweep(plain).points[0], load_shared(plain, package_version()))
    assert outcome.metrics == expected.metrics and outcome.metrics["jobs_total"] == 6


def test_a_run_that_fails_returns_its_reason_instead_of_raising(tmp_path):
    """Seed 0's trace has 2-GPU jobs (the driver refuses it on 1 GPU before running; a worker
    given it anyway reports why)."""
    (tmp_path / "s.yaml").write_text(SPEC.replace("gpus: 4", "gpus: 1"))
    spec = load_spec(tmp_path / "s.yaml")
    outcome = simulate_point(plan_sweep(spec).points[0], load_shared(spec, package_version()))
    assert outcome.metrics is None
    assert outcome.error == ("<generated seed=0>:4: scale_factor: job 3 needs 2 GPUs but the "
                             "cluster has 1")


class _Reversed:
    """A backend that finishes the runs in the opposite order to the grid's."""

    def __init__(self, shared):
        self.shared = shared

    def run(self, tasks):
        for index, point in reversed(tasks):
            yield index, simulate_point(point, self.shared)

    def close(self):
        pass


def test_the_tables_follow_the_grid_whatever_order_runs_finish_in(tiny_local, tmp_path):
    from sweep_helpers import TINY, write

    from shockwave.sweep.cache import RunCache
    from shockwave.sweep.driver import run_sweep
    from shockwave.sweep.tables import run_rows, write_tables

    spec = load_spec(write(tmp_path, TINY))
    plan = plan_sweep(spec)
    seen = []
    result = run_sweep(plan, RunCache(tmp_path / "runs"), _Reversed(load_shared(spec, package_version())),
                       range(len(plan.points)), {}, lambda p: seen.append((p.ran, p.cached)))
    assert result.complete and not result.failures
    assert seen[0] == (0, 0) and seen[-1] == (30, 0) and len(seen) == 31
    rows = run_rows(plan.points, plan.keys, plan.columns, result.records)
    write_tables(tmp_path, plan.columns, rows)
    assert (tmp_path / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()
    assert (tmp_path / "summary.csv").read_bytes() == (tiny_local / "summary.csv").read_bytes()
