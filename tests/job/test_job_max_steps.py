"""``SHOCKWAVE_MAX_STEPS``: a process stops after that many steps of its own and exits as
yielded, reporting its measured speed (what ``shockwave profile`` reads)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import job_trainer
import pytest
from job_fakes import clean_environ

from shockwave.job import JobEnv, JobEnvError
from shockwave.protocol import ExitReport

TRAINER = Path(job_trainer.__file__)
SLEEP_S = 0.04
"""Each step of the trainer sleeps this long: the step time is at least that."""


def test_the_limit_is_read_from_the_environment():
    assert JobEnv.from_environ({}).max_steps is None
    assert JobEnv.from_environ({"SHOCKWAVE_MAX_STEPS": "12"}).max_steps == 12
    with pytest.raises(JobEnvError, match="SHOCKWAVE_MAX_STEPS"):
        JobEnv.from_environ({"SHOCKWAVE_MAX_STEPS": "0"})


def run_trainer(tmp: Path, max_steps: int, name: str) -> tuple[int, ExitReport, str]:
    """One standalone process of the trainer (batch size 16, 12 steps per epoch) with a
    checkpoint directory; its exit code, report and log."""
    report = tmp / f"report-{name}.json"
    env = {**clean_environ(), "SHOCKWAVE_MAX_STEPS": str(max_steps),
           "SHOCKWAVE_REPORT_FILE": str(report)}
    out = subprocess.run(
        [sys.executable, str(TRAINER), "--manual-sgd", "--step-sleep", str(SLEEP_S),
         "--checkpoint-dir", str(tmp / "ckpt")],
        env=env, capture_output=True, text=True, timeout=120)
    return out.returncode, ExitReport.model_validate_json(report.read_text()), out.stderr


def test_a_process_stops_after_its_own_steps_yields_and_reports_its_speed(tmp_path):
    code, report, log = run_trainer(tmp_path, 7, "a1")
    assert code == 75, log
    assert report.reason == "yielded" and report.exit_code == 75
    assert report.progress.step == 7 and report.progress.samples == 7 * 16
    assert "SHOCKWAVE_MAX_STEPS=7 steps done" in report.message
    assert report.checkpoint_id is not None  # it checkpointed before leaving
    # 6 intervals, the first 2 left out as warm-up: the EMAs of 4 sleeping steps
    assert report.step_time_s >= SLEEP_S and report.samples_per_s <= 16 / SLEEP_S
    assert report.samples_per_s * report.step_time_s == pytest.approx(16, rel=0.2)

    # the limit counts the steps of this process, not of the job: 7 restored + 5
    code, report, log = run_trainer(tmp_path, 5, "a2")
    assert code == 75, log
    assert report.progress.step == 12 and report.progress.epoch == 1
    assert report.progress.epoch_samples == 0  # stopped at the epoch's end, before the next


def test_the_end_of_training_wins_over_the_limit(tmp_path):
    code, report, log = run_trainer(tmp_path, 36, "a1")  # 3 epochs are 36 steps
    assert code == 0, log
    assert report.reason == "finished" and report.progress.step == 36
