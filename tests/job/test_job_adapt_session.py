"""Batch-size adaptation through a real session, in-process (one rank): standalone jobs approve
their own proposals, jobs under the (fake) service propose on heartbeats and apply the approved
size in place, the learning rate follows once per change, and a stopped adaptive job resumes
bit for bit."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import job_trainer
import pytest
from job_fakes import FakeService, approving, service_env

from shockwave.job import same_params
from shockwave.protocol import BatchSizeChange, ExitReport, HeartbeatReply

BOUNDS = {"SHOCKWAVE_MIN_BATCH_SIZE": "8", "SHOCKWAVE_MAX_BATCH_SIZE": "128"}
BASE_LR, DECAY, DECAY_STEPS = 0.05, 0.9, 10  # the trainer's SGD and StepLR


def run(tmp: Path, *extra: str, on_step=None):
    """One in-process attempt of the trainer (torch SGD + StepLR), parameters to tmp."""
    args = job_trainer.parse(["--params-out", str(tmp / "params.pt"), *extra])
    return job_trainer.train(args, exit_process=False, on_step=on_step)


def report(path: Path) -> ExitReport:
    return ExitReport.model_validate_json(path.read_text())


def sizes(changes: tuple[BatchSizeChange, ...]) -> list[int]:
    return [c.batch_size for c in changes]


def expected_lr(sess, batch_size: int) -> float:
    """The schedule's learning rate at this step, scaled once by batch_size / 16."""
    return BASE_LR * DECAY ** (sess.step_count // DECAY_STEPS) * batch_size / 16


def sigterm_at(step: int):
    def hook(sess) -> None:
        if sess.step_count == step - 1:
            os.kill(os.getpid(), signal.SIGTERM)
    return hook


def test_a_standalone_gns_job_changes_its_batch_size_in_place(job_env, tmp_path):
    job_env.update(BOUNDS, SHOCKWAVE_ADAPTATION="gns",
                   SHOCKWAVE_REPORT_FILE=str(tmp_path / "report.json"))
    sess = run(tmp_path, "--epochs", "4")
    final = report(tmp_path / "report.json")
    assert sess.exit_code == 0 and final.reason == "finished"
    history = sizes(final.batch_sizes)
    assert history[0] == 16 and len(history) >= 2 and final.batch_sizes[0].samples == 0
    assert all(new in (2 * old, old // 2) for old, new in zip(history, history[1:], strict=False))
    assert all(8 <= size <= 128 for size in history)
    assert final.progress.samples == 4 * 192 and final.progress.batch_size == history[-1]
    assert sess.noise_scale is not None and sess.noise_scale > 0
    lr = sess._objects["optimizer"].param_groups[0]["lr"]
    assert lr == pytest.approx(expected_lr(sess, history[-1]))  # once per change, not more


@pytest.mark.parametrize(("mode", "stop", "knobs", "changes"), [
    ("gns", 16, (), 1),  # after the first change (step 12)
    # always critical: the norm at the check after epoch 2 (kept as the reference) includes
    # the steps of interval 2 before the stop (step 30, 480 samples)
    ("accordion", 30, ("--accordion-eta", "1e-12"), 0),
])
def test_an_adaptive_job_stopped_and_resumed_ends_bit_for_bit(job_env, tmp_path, mode, stop,
                                                              knobs, changes):
    """The uninterrupted run, then the same with a SIGTERM and a resume: the same parameters,
    batch sizes and adaptation state (the estimator's EMAs, the policy's counters, the
    Accordion interval's gradient sum)."""
    job_env.update(BOUNDS, SHOCKWAVE_ADAPTATION=mode)
    args = ("--epochs", "4", *knobs)
    reference = run(tmp_path / "ref", *args)
    assert len(reference.batch_size_history) >= 1 + changes
    ckpt = ("--checkpoint-dir", str(tmp_path / "ckpt"))
    stopped = run(tmp_path, *args, *ckpt, on_step=sigterm_at(stop))
    assert stopped.exit_code == 75 and stopped.step_count == stop
    resumed = run(tmp_path, *args, *ckpt)
    assert resumed.exit_code == 0 and resumed.restored_from.step == stop
    assert resumed.batch_size_history == reference.batch_size_history
    assert same_params(tmp_path / "params.pt", tmp_path / "ref" / "params.pt")
    assert identical(resumed._adapter.state_dict(), reference._adapter.state_dict())


def identical(a, b) -> bool:
    """Equal nested states, tensors bit for bit."""
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and \
            all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and \
            all(identical(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_the_heartbeat_speed_is_measured_at_the_size_it_names(job_env, tmp_path):
    """The moving average of samples/s restarts at every batch-size change, and heartbeats name
    the size its steps ran at: a step counted before a change ran at the old size."""
    job_env.update(BOUNDS, SHOCKWAVE_ADAPTATION="gns")
    seen: list[tuple[int, int | None, float | None]] = []  # (size the step ran at, tag, speed)
    ran_at = [16]

    def hook(sess) -> None:
        beat = sess._heartbeat_message(sess.step_count)
        seen.append((ran_at[-1], beat.speed_batch_size, beat.samples_per_s))
        ran_at.append(sess.batch_size)  # the next step runs at the size chosen after this one

    sess = run(tmp_path, "--epochs", "4", on_step=hook)
    assert len(set(ran_at)) >= 2  # it changed size
    measured = [(size, tag) for size, tag, speed in seen if speed is not None]
    assert measured and all(size == tag for size, tag in measured)
    assert {tag for _, tag in measured} == set(ran_at[:-1])  # every size it ran at, measured
    assert sess.exit_code == 0


def test_accordion_goes_big_at_its_first_calm_check_and_stays(job_env, tmp_path):
    """eta = 1e6: no change of the gradient norm is critical. The first interval (epoch 0)
    is critical; the check 2 intervals later (after epoch 2, 576 samples) goes to the
    maximum, and nothing changes after that."""
    job_env.update(BOUNDS, SHOCKWAVE_ADAPTATION="accordion")
    sess = run(tmp_path, "--epochs", "5", "--accordion-eta", "1e6")
    assert sess.batch_size_history == (BatchSizeChange(samples=0, batch_size=16),
                                       BatchSizeChange(samples=576, batch_size=128))
    lr = sess._objects["optimizer"].param_groups[0]["lr"]
    assert lr == pytest.approx(expected_lr(sess, 128))
    calm = run(tmp_path, "--epochs", "5", "--accordion-eta", "1e-12")  # always critical
    assert sizes(calm.batch_size_history) == [16]


def test_under_the_service_the_job_proposes_and_applies_the_approved_size(
        job_env, fake: FakeService, tmp_path):
    job_env.update(service_env(fake, tmp_path), **BOUNDS, SHOCKWAVE_ADAPTATION="gns",
                   SHOCKWAVE_BATCH_SIZE="16")
    fake.reply = approving(16)
    sess = run(tmp_path, "--epochs", "4", "--step-sleep", "0.01")
    assert sess.exit_code == 0
    proposals = {hb.batch_size_proposal for hb in fake.heartbeats} - {None}
    assert proposals and any(hb.noise_scale for hb in fake.heartbeats)
    final = fake.exits[-1]
    history = sizes(final.batch_sizes)
    assert history[0] == 16 and len(history) >= 2
    assert set(history[1:]) <= proposals  # every change was one the job proposed
    assert final.progress.batch_size == history[-1] == sess.batch_size
    assert final.progress.samples == 4 * 192


def test_a_static_job_never_proposes(job_env, fake: FakeService, tmp_path):
    job_env.update(service_env(fake, tmp_path), **BOUNDS)
    sess = run(tmp_path, "--epochs", "1", "--step-sleep", "0.01")
    assert sess.exit_code == 0 and sess.adaptation == "static" and fake.heartbeats
    assert all(hb.batch_size_proposal is None and hb.noise_scale is None
               for hb in fake.heartbeats)
    assert fake.exits[-1].batch_sizes == (BatchSizeChange(samples=0, batch_size=16),)


def test_a_size_approved_after_the_checkpoint_applies_on_restore(job_env, fake, tmp_path):
    """Attempt a1 stops at step 5 at batch size 16; a2 starts with 32 from the service: the
    change happens at the restored position, and the learning rate doubles once."""
    job_env.update(service_env(fake, tmp_path), SHOCKWAVE_BATCH_SIZE="16")
    fake.reply = lambda hb: HeartbeatReply(
        action="checkpoint_and_stop" if hb.progress.step >= 5 else "continue",
        lease_expires_in_s=30.0, stop_by_s=0.0)
    first = run(tmp_path, "--step-sleep", "0.02")
    assert first.exit_code == 75
    stopped = first.samples
    fake.attempt_id = "a2"
    job_env.update(service_env(fake, tmp_path), SHOCKWAVE_BATCH_SIZE="32")
    fake.reply = approving(32)
    second = run(tmp_path)
    assert second.exit_code == 0 and second.restored_from.samples == stopped
    assert fake.exits[-1].batch_sizes == (BatchSizeChange(samples=0, batch_size=16),
                                          BatchSizeChange(samples=stopped, batch_size=32))
    lr = second._objects["optimizer"].param_groups[0]["lr"]
    assert lr == pytest.approx(expected_lr(second, 32))
