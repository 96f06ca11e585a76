"""``shockwave sweep --ray``: the same tables as a local sweep, byte for byte; a cache shared by
both; a Ray cluster the command starts and stops itself; workers of another shockwave version
refused."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_helpers import TINY, sweep, write

import shockwave
from shockwave.sweep import driver
from shockwave.sweep.cache import package_version

ray = pytest.importorskip("ray")

SRC = Path(shockwave.__file__).parents[1]


def _metrics(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text())["metrics"] for p in (out / "runs").glob("*.json")}


def _command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-m", "shockwave", "sweep", str(write(tmp_path, TINY)), "--out",
         str(tmp_path / "out"), "--no-report", "--quiet", *args],
        capture_output=True, text=True, env=env, timeout=300)


def test_the_command_starts_a_local_ray_cluster_and_stops_it(tiny_local, tmp_path):
    out = tmp_path / "out"
    proc = _command(tmp_path, "--ray", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert ("sweep tiny: 30 runs (3 policies x 2 cluster sizes x 5 seeds); 0 cached, 30 to run "
            "on a local Ray cluster") in proc.stderr
    assert (out / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()


@pytest.fixture(scope="module")
def ray_cluster() -> str:
    """A Ray cluster of 2 CPUs started by this process, for the module (a sweep run in this
    process uses it as it is); its address, for other processes."""
    context = ray.init(address="local", num_cpus=2, include_dashboard=False,
                       logging_level=logging.WARNING)
    yield context.address_info["gcs_address"]
    ray.shutdown()


def test_a_sweep_on_ray_writes_byte_identical_tables_to_a_local_one(ray_cluster, tiny_local,
                                                                     tmp_path):
    out = tmp_path / "out"
    run = sweep(write(tmp_path, TINY), out, "--ray", "--no-report")
    assert run.exit_code == 0, run.output
    assert run.stderr.splitlines()[0].endswith("0 cached, 30 to run on a local Ray cluster")
    assert (out / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()
    assert (out / "summary.csv").read_bytes() == (tiny_local / "summary.csv").read_bytes()
    assert _metrics(out) == _metrics(tiny_local)  # same keys, same numbers
    assert ray.is_initialized()  # a cluster the sweep did not start is left running


def test_a_sweep_connects_to_a_running_cluster_by_its_address(ray_cluster, tiny_local, tmp_path):
    """What ``--ray-address HEAD:6379`` does with a cluster of ``ray start``: another process
    (the command) connects to this module's cluster, runs there, and leaves it running."""
    proc = _command(tmp_path, "--ray-address", ray_cluster)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0].endswith(f"30 to run on the Ray cluster at {ray_cluster}")
    assert (tmp_path / "out" / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()
    assert ray.get(ray.remote(lambda: 42).remote()) == 42  # still up


def test_a_sweep_begun_locally_finishes_on_ray_with_the_same_tables(ray_cluster, tiny_local,
                                                                    tmp_path):
    spec, out = write(tmp_path, TINY), tmp_path / "out"
    assert sweep(spec, out, "--max-runs", "10", "--jobs", "1").exit_code == 0
    run = sweep(spec, out, "--ray", "--no-report")
    assert run.exit_code == 0, run.output
    assert run.stderr.splitlines()[0].endswith("10 cached, 20 to run on a local Ray cluster")
    assert (out / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()


def test_workers_of_another_shockwave_version_are_refused(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "package_version", lambda: "0.0-test")  # the driver's only
    out = tmp_path / "out"
    run = sweep(write(tmp_path, TINY), out, "--ray", "--max-runs", "2")
    assert run.exit_code == 2
    version = package_version()
    assert run.stderr.splitlines()[-3:-1] == [
        f"failed: policy=fifo gpus=4 seed={seed}: the worker ran shockwave {version}, this "
        "sweep is 0.0-test: install the same version on every Ray node" for seed in (0, 1)]
    assert not list((out / "runs").glob("*.json"))
