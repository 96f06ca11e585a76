"""The bundled workloads: each runs standalone as ``python -m``, resumes bit for bit after a
stop from the service, and ships a job spec the service accepts."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from job_fakes import FakeService, clean_environ, service_env

from shockwave.job import load_params, same_params
from shockwave.protocol import HeartbeatReply
from shockwave.workloads import SPECS, WORKLOADS, spec_path

SPEC_KEYS = {"name", "module", "command", "args", "gpus", "batch_size", "min_batch_size",
             "max_batch_size", "adaptation", "total_epochs", "samples_per_epoch",
             "checkpoint_interval_s", "max_failures", "seed"}


def test_digits_runs_one_epoch_standalone_as_a_module(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "shockwave.workloads.digits", "--epochs", "1",
         "--params-out", str(tmp_path / "digits.pt")],
        env=clean_environ(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "digits: epoch 0:" in out.stderr and "exit 0 (finished)" in out.stderr
    params = load_params(tmp_path / "digits.pt")
    assert list(params) == ["model"] and params["model"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_is_a_module_with_the_common_options(name):
    out = subprocess.run([sys.executable, "-m", f"shockwave.workloads.{name}", "--help"],
                         env=clean_environ(), capture_output=True, text=True, timeout=60,
                         check=True)
    for option in ("--epochs", "--batch-size", "--seed", "--params-out", "--checkpoint-dir"):
        assert option in out.stdout


def main_of(name: str, argv: list[str]) -> int:
    module = importlib.import_module(f"shockwave.workloads.{name}")
    with pytest.raises(SystemExit) as ended:
        module.main(argv)
    return ended.value.code


@pytest.mark.parametrize("name", WORKLOADS)
def test_a_workload_stopped_by_the_service_resumes_bit_for_bit(name, tmp_path):
    """An uninterrupted standalone run of 2 epochs, then the same under the fake service:
    checkpoint_and_stop after step 5 (exit 75), and a second attempt to the end (exit 0)."""
    epochs = ["--epochs", "2"]
    with mock.patch.dict(os.environ, clean_environ(), clear=True):
        assert main_of(name, [*epochs, "--params-out", str(tmp_path / "ref.pt")]) == 0
        fake = FakeService().start()
        try:
            fake.reply = lambda hb: HeartbeatReply(
                action="checkpoint_and_stop" if hb.progress.step >= 5 else "continue",
                lease_expires_in_s=30.0, stop_by_s=0.0)
            os.environ.update(service_env(fake, tmp_path, SHOCKWAVE_HEARTBEAT_S="0.01"))
            assert main_of(name, epochs) == 75
            assert fake.exits[-1].reason == "yielded"
            stopped_at = fake.exits[-1].progress
            assert 5 <= stopped_at.step and stopped_at.samples < 2 * stopped_at.samples_per_epoch
            fake.attempt_id = "a2"
            os.environ.update(service_env(fake, tmp_path))
            fake.reply = lambda hb: HeartbeatReply(action="continue", lease_expires_in_s=30.0)
            assert main_of(name, epochs) == 0
        finally:
            fake.stop()
    final = tmp_path / "ckpt" / "final-params.pt"
    assert same_params(final, tmp_path / "ref.pt")


@pytest.mark.parametrize("name", SPECS)
def test_the_job_spec_matches_the_workload(name):
    spec = yaml.safe_load(spec_path(name).read_text())
    assert set(spec) <= SPEC_KEYS and spec["name"] == name
    module = importlib.import_module(spec["module"])
    data = module.dataset() if hasattr(module, "dataset") else module.datasets()[0]
    assert spec["samples_per_epoch"] == len(data)
    assert spec["min_batch_size"] <= spec["batch_size"] <= spec["max_batch_size"]
    assert spec["gpus"] == (2 if name.endswith("2rank") else 1)
    jobspec = pytest.importorskip("shockwave.service.jobspec")
    jobspec.JobSubmit.model_validate(spec)


def test_an_unknown_spec_is_refused():
    with pytest.raises(ValueError, match="known: digits"):
        spec_path("resnet")


def test_the_specs_are_package_data():
    assert Path(spec_path("digits")).is_file()
