"""One run as a worker executes it, from plain values: what a Ray worker on another machine
needs is all in the shared inputs the driver sends."""

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
