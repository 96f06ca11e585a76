"""The job library in real processes: signals from outside, a 2-rank gloo gang agreeing on the
stop step, kill -9 in the middle of a checkpoint write, and a loud failure on corrupt
checkpoints."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from job_fakes import FakeService, clean_environ, service_env
from job_launch import DEADLINE_S, start, start_gang, wait

from shockwave.job import CheckpointManager, same_params
from shockwave.protocol import ExitReport, HeartbeatReply


def wait_until(condition: Callable[[], bool], procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert all(p.poll() is None for p in procs), "the job ended too early"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def stop_steps(log: Path) -> list[int]:
    return [int(m) for m in re.findall(r"stopping at step (\d+)", log.read_text())]


def progressed(fake: FakeService, step: int) -> Callable[[], bool]:
    return lambda: bool(fake.heartbeats) and fake.heartbeats[-1].progress.step >= step


def test_sigterm_from_outside_yields_and_the_job_resumes(fake, tmp_path,
                                                        manual_reference_params):
    env = {**clean_environ(), **service_env(fake, tmp_path)}
    args = ["--params-out", str(tmp_path / "params.pt")]
    proc = start([*args, "--step-sleep", "0.03"], env, tmp_path / "a1.log")
    wait_until(progressed(fake, 5), [proc])
    proc.send_signal(signal.SIGTERM)
    assert wait([proc]) == [75]
    report = ExitReport.model_validate_json((tmp_path / "report-a1.json").read_text())
    assert report.reason == "yielded" and fake.exits == [report]
    assert [c.checkpoint_id for c in fake.checkpoints] == [report.checkpoint_id]

    fake.attempt_id = "a2"
    env = {**clean_environ(), **service_env(fake, tmp_path)}
    assert wait([start(args, env, tmp_path / "a2.log")]) == [0]
    assert f"restored {report.checkpoint_id}" in (tmp_path / "a2.log").read_text()
    assert same_params(tmp_path / "params.pt", manual_reference_params)
    assert fake.exits[-1].reason == "finished"


LONG = ("--epochs", "8")


def test_a_two_rank_gang_stops_at_the_same_step_and_resumes_bit_for_bit(fake, tmp_path):
    """Attempt a1 stops because rank 1 alone got SIGTERM, a2 because rank 0 alone got
    checkpoint_and_stop; a2's checkpoint then equals an uninterrupted gang run to that step."""
    base = clean_environ()
    env = {**base, **service_env(fake, tmp_path)}
    # 8 epochs (96 steps): room for both stops even when a loaded machine delays them
    gang = start_gang(["--step-sleep", "0.03", *LONG], env, tmp_path, "a1")
    wait_until(progressed(fake, 4), gang)
    gang[1].send_signal(signal.SIGTERM)
    assert wait(gang) == [75, 75]
    steps = [stop_steps(tmp_path / f"a1-rank{r}.log") for r in (0, 1)]
    assert steps[0] == steps[1] and len(steps[0]) == 1
    report = ExitReport.model_validate_json((tmp_path / "report-a1.json").read_text())
    assert report.progress.step == steps[0][0] and "another rank" in report.message

    first_stop = steps[0][0]
    fake.attempt_id = "a2"
    fake.reply = lambda hb: HeartbeatReply(
        action="checkpoint_and_stop" if hb.progress.step >= first_stop + 5 else "continue",
        lease_expires_in_s=30.0, stop_by_s=0.0)
    env = {**base, **service_env(fake, tmp_path)}
    gang = start_gang(["--step-sleep", "0.03", *LONG], env, tmp_path, "a2")
    assert wait(gang) == [75, 75]
    steps = [stop_steps(tmp_path / f"a2-rank{r}.log") for r in (0, 1)]
    assert steps[0] == steps[1] and steps[0][0] >= first_stop + 5
    assert f"restored {report.checkpoint_id}" in (tmp_path / "a2-rank0.log").read_text()
    assert [e.reason for e in fake.exits] == ["yielded", "yielded"]

    second_stop = steps[0][0]
    reference = start_gang(["--params-out", str(tmp_path / "ref.pt"), "--max-steps",
                            str(second_stop), *LONG], base, tmp_path, "ref")
    assert wait(reference) == [0, 0]
    [state, manifest] = CheckpointManager(tmp_path / "ckpt", "job-1", "a3").load()
    assert manifest.step == second_stop and manifest.world_size == 2
    assert same_params({"model": state["objects"]["model"]}, tmp_path / "ref.pt")


def test_kill_9_during_a_checkpoint_write_leaves_the_previous_one(
        fake, tmp_path, manual_reference_params):
    ckpt = tmp_path / "ckpt"
    env = {**clean_environ(), **service_env(fake, tmp_path),
           "SHOCKWAVE_CHECKPOINT_INTERVAL_S": "0.15", "SHOCKWAVE_TEST_CHECKPOINT_DELAY_S": "1"}
    proc = start(["--step-sleep", "0.02"], env, tmp_path / "a1.log")

    def second_write_under_way() -> bool:
        return (ckpt / "LATEST").exists() and any(
            (p / "state.pt").exists() for p in ckpt.glob(".tmp-*"))

    wait_until(second_write_under_way, [proc])
    committed = (ckpt / "LATEST").read_text().strip()
    proc.kill()
    assert proc.wait(timeout=DEADLINE_S) == -signal.SIGKILL

    fake.attempt_id = "a2"
    env = {**clean_environ(), **service_env(fake, tmp_path)}
    args = ["--params-out", str(tmp_path / "params.pt")]
    assert wait([start(args, env, tmp_path / "a2.log")]) == [0]
    assert f"restored {committed}" in (tmp_path / "a2.log").read_text()
    assert same_params(tmp_path / "params.pt", manual_reference_params)
    assert not list(ckpt.glob(".tmp-*"))  # the torn write was cleaned up


def test_corrupt_checkpoints_fail_the_attempt_with_a_clear_message(fake, tmp_path):
    ckpt = tmp_path / "ckpt"
    manager = CheckpointManager(ckpt, "job-1", "a0")
    for step in (3, 9):
        manager.save({"format": 1}, step=step, samples=step, epoch=0, world_size=1)
        (ckpt / f"ckpt-{step:010d}-aa0" / "state.pt").write_bytes(b"garbage")
    env = {**clean_environ(), **service_env(fake, tmp_path)}
    args = ["--params-out", str(tmp_path / "params.pt")]
    proc = start(args, env, tmp_path / "a1.log")
    code = proc.wait(timeout=DEADLINE_S)
    output = (tmp_path / "a1.log").read_text()
    assert code != 0 and code != 75
    assert "CheckpointError" in output and "refusing to restart from scratch" in output
    report = ExitReport.model_validate_json((tmp_path / "report-a1.json").read_text())
    assert report.reason == "failed" and "state.pt has 7 bytes" in report.message
    assert not (tmp_path / "params.pt").exists() and not fake.heartbeats
