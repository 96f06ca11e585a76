"""JobSession in-process: stops (SIGTERM, checkpoint_and_stop, stop_now, lease end), resumes bit
for bit, periodic checkpoints, exit reports, failures. One rank, the fake service over HTTP."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import job_trainer
import pytest
from job_fakes import FakeService, keep_going, service_env

from shockwave.job import CheckpointError, same_params
from shockwave.job.checkpoint import CheckpointManager
from shockwave.job.lease import process_age_s
from shockwave.protocol import ExitReport, HeartbeatReply

STEPS = 36  # 3 epochs of 12 steps


def run(tmp: Path, *extra: str, on_step=None):
    """One in-process attempt of the trainer writing its final parameters to tmp/params.pt."""
    args = job_trainer.parse(["--params-out", str(tmp / "params.pt"), *extra])
    return job_trainer.train(args, exit_process=False, on_step=on_step)


def sigterm_at(step: int):
    """SIGTERM after step ``step - 1``: the ranks agree to stop at step ``step``."""
    def hook(sess) -> None:
        if sess.step_count == step - 1:
            os.kill(os.getpid(), signal.SIGTERM)
    return hook


def report_file(tmp: Path, attempt: str) -> ExitReport:
    return ExitReport.model_validate_json((tmp / f"report-{attempt}.json").read_text())


def test_standalone_runs_to_the_end_without_a_server(job_env, tmp_path, reference_params):
    job_env["SHOCKWAVE_REPORT_FILE"] = str(tmp_path / "report.json")
    sess = run(tmp_path, "--checkpoint-dir", str(tmp_path / "ckpt"))
    assert sess.exit_code == 0 and sess.finished and sess.step_count == STEPS
    assert same_params(tmp_path / "params.pt", reference_params)
    assert same_params(tmp_path / "ckpt" / "final-params.pt", reference_params)
    report = ExitReport.model_validate_json((tmp_path / "report.json").read_text())
    assert report.reason == "finished" and report.exit_code == 0
    assert report.progress.step == STEPS and report.progress.samples == 3 * 192
    assert report.progress.epoch == 3 and report.progress.samples_per_epoch == 192


def test_the_script_exits_with_the_code(job_env, tmp_path):
    args = job_trainer.parse(["--epochs", "1"])
    with pytest.raises(SystemExit) as stopped:
        job_trainer.train(args)
    assert stopped.value.code == 0


@pytest.mark.parametrize("stop_step", [2, 5, 12, 29])
def test_sigterm_checkpoints_yields_and_resumes_bit_for_bit(job_env, fake, tmp_path,
                                                            reference_params, stop_step):
    job_env.update(service_env(fake, tmp_path))
    first = run(tmp_path, on_step=sigterm_at(stop_step))
    assert first.exit_code == 75 and first.step_count == stop_step
    report = report_file(tmp_path, "a1")
    assert report.reason == "yielded" and report.exit_code == 75
    assert "SIGTERM" in report.message
    assert report.checkpoint_id == f"ckpt-{stop_step:010d}-aa1"
    assert report.progress.step == stop_step
    assert fake.exits == [report]
    assert [c.checkpoint_id for c in fake.checkpoints] == [report.checkpoint_id]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers put back

    fake.attempt_id = "a2"
    job_env["SHOCKWAVE_ATTEMPT_ID"] = "a2"
    job_env["SHOCKWAVE_REPORT_FILE"] = str(tmp_path / "report-a2.json")
    second = run(tmp_path)
    assert second.restored_from.checkpoint_id == report.checkpoint_id
    assert second.exit_code == 0 and second.step_count == STEPS
    assert report_file(tmp_path, "a2").reason == "finished"
    assert same_params(tmp_path / "params.pt", reference_params)
    assert same_params(tmp_path / "ckpt" / "final-params.pt", reference_params)
    assert not fake.rejected  # every message carried the attempt's token


def stop_when(step: int, action: str = "checkpoint_and_stop", stop_by_s: float | None = 0.0):
    def reply(hb) -> HeartbeatReply:
        if hb.progress.step >= step:
            return HeartbeatReply(action=action, lease_expires_in_s=30.0, stop_by_s=stop_by_s)
        return HeartbeatReply(action="continue", lease_expires_in_s=30.0)
    return reply


@pytest.mark.parametrize("action", ["checkpoint_and_stop", "stop_now"])
def test_a_stop_from_the_service_yields_and_resumes_bit_for_bit(job_env, fake, tmp_path,
                                                                reference_params, action):
    job_env.update(service_env(fake, tmp_path))
    fake.reply = stop_when(6, action)
    first = run(tmp_path, "--step-sleep", "0.02")
    assert first.exit_code == 75 and 6 <= first.step_count < STEPS
    report = report_file(tmp_path, "a1")
    assert report.reason == "yielded" and f"the service asked for {action}" in report.message
    assert fake.heartbeats[0].seq == 0 and [h.seq for h in fake.heartbeats] == \
        list(range(len(fake.heartbeats)))
    assert fake.heartbeats[-1].progress.batch_size == 16

    job_env["SHOCKWAVE_SERVER"] = ""  # the rest standalone, as a user would debug it
    second = run(tmp_path)
    assert second.exit_code == 0 and second.restored_from.step == first.step_count
    assert same_params(tmp_path / "params.pt", reference_params)


def test_the_stop_waits_for_the_deadline_and_meets_it(job_env, fake, tmp_path):
    job_env.update(service_env(fake, tmp_path))
    asked: list[float] = []

    def reply(hb) -> HeartbeatReply:
        if hb.progress.step >= 3:
            asked.append(time.monotonic())
            return HeartbeatReply(action="checkpoint_and_stop", lease_expires_in_s=30.0,
                                  stop_by_s=1.5)
        return HeartbeatReply(action="continue", lease_expires_in_s=30.0)

    fake.reply = reply
    sess = run(tmp_path, "--step-sleep", "0.02", "--epochs", "20")
    ended = time.monotonic()
    assert sess.exit_code == 75
    assert ended < asked[0] + 1.5  # checkpointed before the deadline
    assert ended > asked[0] + 0.5  # and kept training until close to it


def test_the_job_stops_by_itself_when_heartbeats_are_cut_off(job_env, fake, tmp_path,
                                                            reference_params):
    job_env.update(service_env(fake, tmp_path))
    cut: list[float] = []

    def reply(hb) -> HeartbeatReply | None:
        if hb.progress.step >= 4 or cut:
            cut.append(time.monotonic())
            return None  # the service stops answering (HTTP 503)
        return HeartbeatReply(action="continue", lease_expires_in_s=1.0)

    fake.reply = reply
    sess = run(tmp_path, "--step-sleep", "0.02", "--epochs", "20")
    ended = time.monotonic()
    assert sess.exit_code == 75 and sess.step_count >= 4
    report = report_file(tmp_path, "a1")
    assert report.reason == "lease_expired" and report.checkpoint_id is not None
    assert ended < cut[0] + 1.0  # before the last lease it was given ran out
    assert (tmp_path / "ckpt" / report.checkpoint_id / "MANIFEST.json").exists()

    job_env["SHOCKWAVE_SERVER"] = ""
    second = run(tmp_path, "--epochs", "20")
    assert second.exit_code == 0 and second.restored_from.checkpoint_id == report.checkpoint_id
    job_env["SHOCKWAVE_CHECKPOINT_DIR"] = ""  # uninterrupted 20-epoch run
    uninterrupted = run(tmp_path / "u", "--epochs", "20")
    assert uninterrupted.exit_code == 0
    assert same_params(tmp_path / "params.pt", tmp_path / "u" / "params.pt")


def test_the_initial_lease_counts_from_the_process_start(job_env, tmp_path):
    """No service at all: the lease from the environment runs out and the job stops."""
    dead = FakeService().start()
    url = dead.url
    dead.stop()
    lease = process_age_s() + 1.5  # this process started long ago: 1.5 s from now
    job_env.update(service_env(dead, tmp_path, SHOCKWAVE_SERVER=url,
                               SHOCKWAVE_LEASE_S=f"{lease:.3f}"))
    started = time.monotonic()
    sess = run(tmp_path, "--step-sleep", "0.02", "--epochs", "50")
    assert sess.exit_code == 75 and time.monotonic() - started < 1.5
    assert report_file(tmp_path, "a1").reason == "lease_expired"


def test_periodic_checkpoints_are_written_reported_and_pruned(job_env, fake, tmp_path,
                                                              reference_params):
    job_env.update(service_env(fake, tmp_path, SHOCKWAVE_CHECKPOINT_INTERVAL_S="0.1"))
    sess = run(tmp_path, "--step-sleep", "0.02")
    assert sess.exit_code == 0
    assert same_params(tmp_path / "params.pt", reference_params)
    ids = [c.checkpoint_id for c in fake.checkpoints]
    assert len(ids) >= 3 and ids == sorted(ids)
    kept = sorted(p.name for p in (tmp_path / "ckpt").glob("ckpt-*"))
    assert kept == ids[-2:]
    assert (tmp_path / "ckpt" / "LATEST").read_text().strip() == ids[-1]
    assert any(h.last_checkpoint in ids for h in fake.heartbeats)


def test_checkpoints_report_how_long_they_took_and_how_many_failed(job_env, fake, tmp_path,
                                                                  monkeypatch):
    """Every posted checkpoint carries its save time (here at least the injected delay); a
    periodic save that fails lets training go on, and the exit report counts it."""
    job_env.update(service_env(fake, tmp_path, SHOCKWAVE_CHECKPOINT_INTERVAL_S="0.1",
                               SHOCKWAVE_TEST_CHECKPOINT_DELAY_S="0.05"))
    real_save = CheckpointManager.save
    saves: list[int] = []

    def first_save_fails(self, state, **counters):
        saves.append(counters["step"])
        if len(saves) == 1:
            raise OSError("no space left on device")
        return real_save(self, state, **counters)

    monkeypatch.setattr(CheckpointManager, "save", first_save_fails)
    sess = run(tmp_path, "--step-sleep", "0.02")
    assert sess.exit_code == 0
    assert len(fake.checkpoints) == len(saves) - 1 >= 2
    assert all(c.duration_s is not None and 0.05 <= c.duration_s < 5 for c in fake.checkpoints)
    assert report_file(tmp_path, "a1").checkpoint_failures == 1
    assert fake.exits[-1].checkpoint_failures == 1


def corrupt(path: Path, how: str) -> None:
    state = path / "state.pt"
    if how == "truncated":
        state.write_bytes(state.read_bytes()[:100])
    elif how == "bad-hash":
        data = bytearray(state.read_bytes())
        data[len(data) // 2] ^= 0xFF
        state.write_bytes(bytes(data))
    elif how == "bad-manifest":
        (path / "MANIFEST.json").write_text("{not json")
    elif how == "no-manifest":
        (path / "MANIFEST.json").unlink()


def two_checkpoints(tmp: Path) -> tuple[str, str]:
    """Stop at step 5 and at step 17 (standalone, with a checkpoint directory)."""
    ckpt = ["--checkpoint-dir", str(tmp / "ckpt")]
    assert run(tmp, *ckpt, on_step=sigterm_at(5)).exit_code == 75
    assert run(tmp, *ckpt, on_step=sigterm_at(17)).exit_code == 75
    names = sorted(p.name for p in (tmp / "ckpt").glob("ckpt-*"))
    assert names == ["ckpt-0000000005-alocal", "ckpt-0000000017-alocal"]
    return names[0], names[1]


@pytest.mark.parametrize("how", ["truncated", "bad-hash", "bad-manifest", "no-manifest"])
def test_a_corrupted_checkpoint_falls_back_to_the_older(job_env, tmp_path, reference_params,
                                                        how):
    older, newer = two_checkpoints(tmp_path)
    corrupt(tmp_path / "ckpt" / newer, how)
    sess = run(tmp_path, "--checkpoint-dir", str(tmp_path / "ckpt"))
    assert sess.restored_from.checkpoint_id == older
    assert sess.exit_code == 0
    assert same_params(tmp_path / "params.pt", reference_params)


def test_all_checkpoints_corrupted_fails_loudly(job_env, fake, tmp_path):
    older, newer = two_checkpoints(tmp_path)
    corrupt(tmp_path / "ckpt" / older, "bad-hash")
    corrupt(tmp_path / "ckpt" / newer, "truncated")
    job_env.update(service_env(fake, tmp_path))
    with pytest.raises(CheckpointError, match="none is valid; refusing to restart from "
                                              "scratch") as raised:
        run(tmp_path)
    assert newer in str(raised.value) and older in str(raised.value)
    report = report_file(tmp_path, "a1")
    assert report.reason == "failed" and report.exit_code != 0
    assert "checkpoint verification failed" in report.message
    assert fake.exits == [report]
    assert not (tmp_path / "params.pt").exists()


def test_an_error_in_the_loop_is_reported_as_a_failure(job_env, fake, tmp_path):
    job_env.update(service_env(fake, tmp_path))

    def boom(sess) -> None:
        if sess.step_count == 3:
            raise ValueError("loss is NaN")

    with pytest.raises(ValueError):
        run(tmp_path, on_step=boom)
    report = report_file(tmp_path, "a1")
    assert report.reason == "failed" and report.exit_code == 1
    assert report.message.startswith("ValueError: loss is NaN")
    assert report.progress.step == 3
    assert json.loads((tmp_path / "report-a1.json").read_text())["reason"] == "failed"


def test_an_approved_batch_size_applies_in_place(job_env, fake, tmp_path):
    job_env.update(service_env(fake, tmp_path))

    def reply(hb) -> HeartbeatReply:
        if hb.progress.step >= 2:
            return HeartbeatReply(action="continue", lease_expires_in_s=30.0, batch_size=32,
                                  batch_size_version=1)
        return keep_going()(hb)

    fake.reply = reply
    sess = run(tmp_path, "--step-sleep", "0.02")
    assert sess.exit_code == 0 and sess.batch_size == 32
    assert sess.samples == 3 * 192 and sess.step_count < STEPS


def test_one_training_loader_per_session(job_env):
    import torch
    from torch.utils.data import TensorDataset

    from shockwave.job import JobError, init

    sess = init(batch_size=4)
    data = TensorDataset(torch.arange(8))
    sess.loader(data)
    with pytest.raises(JobError, match="already called"):
        sess.loader(data)
    with pytest.raises(JobError, match="SHOCKWAVE_TOTAL_EPOCHS"):
        next(iter(sess.epochs()))
