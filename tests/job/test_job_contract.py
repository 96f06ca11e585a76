"""The environment contract, the lease and stop rules, the HTTP transport, and an import that
does nothing. No torch needed except where a test says so."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from job_fakes import FakeService

from shockwave.job import JobEnv, JobEnvError
from shockwave.job.heartbeat import HeartbeatThread
from shockwave.job.lease import Control, ControlBlock, process_age_s
from shockwave.job.stop import StopCode, Timing, decode_vote, encode_vote, local_code
from shockwave.job.transport import HttpTransport
from shockwave.protocol import (
    CheckpointReport,
    ExitReport,
    Heartbeat,
    HeartbeatReply,
    Progress,
)

PROGRESS = Progress(step=3, samples=48, epoch=0, epoch_samples=48, samples_per_epoch=192,
                    batch_size=16)


def test_standalone_defaults():
    env = JobEnv.from_environ({})
    assert env.standalone and env.is_main and env.world_size == 1 and env.rank == 0
    assert env.checkpoint_dir is None and env.lease_s is None and env.batch_size is None


def test_the_whole_contract_is_read():
    env = JobEnv.from_environ({
        "SHOCKWAVE_SERVER": "http://127.0.0.1:8470/", "SHOCKWAVE_JOB_ID": "j1",
        "SHOCKWAVE_ATTEMPT_ID": "j1/a:2", "SHOCKWAVE_ATTEMPT_TOKEN": "t",
        "SHOCKWAVE_CHECKPOINT_DIR": "/c", "SHOCKWAVE_REPORT_FILE": "/r.json",
        "SHOCKWAVE_BATCH_SIZE": "64", "SHOCKWAVE_LEASE_S": "12.5",
        "SHOCKWAVE_HEARTBEAT_S": "0.5", "SHOCKWAVE_GRACE_S": "0",
        "SHOCKWAVE_CHECKPOINT_INTERVAL_S": "30", "SHOCKWAVE_TOTAL_EPOCHS": "4",
        "SHOCKWAVE_SEED": "9", "RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2",
        "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29400"})
    assert env.server == "http://127.0.0.1:8470" and not env.standalone and not env.is_main
    assert env.attempt_tag == "j1_a_2" and env.checkpoint_dir == Path("/c")
    assert (env.batch_size, env.lease_s, env.heartbeat_s, env.grace_s) == (64, 12.5, 0.5, 0.0)
    assert (env.checkpoint_interval_s, env.total_epochs, env.seed) == (30.0, 4, 9)
    assert (env.rank, env.local_rank, env.world_size) == (1, 1, 2)
    assert (env.master_addr, env.master_port) == ("10.0.0.1", 29400)


@pytest.mark.parametrize(("name", "value"), [
    ("SHOCKWAVE_BATCH_SIZE", "0"), ("SHOCKWAVE_BATCH_SIZE", "sixteen"),
    ("SHOCKWAVE_LEASE_S", "nan"), ("SHOCKWAVE_LEASE_S", "-1"), ("SHOCKWAVE_HEARTBEAT_S", "0"),
    ("WORLD_SIZE", "0"), ("MASTER_PORT", "70000"), ("RANK", "2")])
def test_an_unusable_value_names_its_variable(name, value):
    environ = {"WORLD_SIZE": "2", name: value}
    with pytest.raises(JobEnvError, match=name):
        JobEnv.from_environ(environ)


def test_a_reply_renews_the_lease_and_a_stop_sticks():
    block = ControlBlock(lease_expires_at=10.0)
    block.apply(HeartbeatReply(action="continue", lease_expires_in_s=5.0), received_at=100.0)
    assert block.read().lease_expires_at == 105.0 and not block.read().stop_requested
    block.apply(HeartbeatReply(action="checkpoint_and_stop", lease_expires_in_s=5.0,
                               stop_by_s=3.0), received_at=101.0)
    block.apply(HeartbeatReply(action="continue", lease_expires_in_s=5.0), received_at=102.0)
    c = block.read()
    assert c.stop_requested and c.stop_by == 104.0 and c.stop_action == "checkpoint_and_stop"
    block.apply(HeartbeatReply(action="stop_now", lease_expires_in_s=5.0), received_at=102.5)
    assert block.read().stop_by == 102.5 and block.read().replies == 4


def test_an_older_batch_size_version_is_ignored():
    block = ControlBlock(None)
    block.apply(HeartbeatReply(action="continue", lease_expires_in_s=5, batch_size=64,
                               batch_size_version=2), 0.0)
    block.apply(HeartbeatReply(action="continue", lease_expires_in_s=5, batch_size=32,
                               batch_size_version=1), 1.0)
    assert (block.read().batch_size, block.read().batch_size_version) == (64, 2)


def test_the_stop_rule_leaves_time_to_checkpoint():
    timing = Timing(step_s=0.2, checkpoint_s=1.0)
    assert timing.time_to_stop_s(margin_s=0.5) == pytest.approx(2.2)
    asked = Control(stop_requested=True, stop_by=10.0)
    assert local_code(asked, False, 7.7, timing) == StopCode.CONTINUE
    assert local_code(asked, False, 7.9, timing) == StopCode.PREEMPTED
    assert local_code(Control(stop_requested=True), False, 0.0, timing) == StopCode.PREEMPTED
    lease = Control(lease_expires_at=10.0)
    assert local_code(lease, False, 7.7, timing) == StopCode.CONTINUE
    assert local_code(lease, False, 7.9, timing) == StopCode.LEASE_ENDED
    assert local_code(Control(), True, 0.0, timing) == StopCode.PREEMPTED
    assert local_code(Control(), False, 1e9, timing) == StopCode.CONTINUE


def test_the_vote_keeps_the_checkpoint_bit_only_when_nobody_stops():
    votes = [encode_vote(StopCode.CONTINUE, True), encode_vote(StopCode.CONTINUE, False)]
    assert decode_vote(max(votes)) == (StopCode.CONTINUE, True)
    votes.append(encode_vote(StopCode.PREEMPTED, False))
    assert decode_vote(max(votes))[0] == StopCode.PREEMPTED
    assert decode_vote(encode_vote(StopCode.FINISHED, False)) == (StopCode.FINISHED, False)


def test_the_process_age_is_positive_and_growing():
    age = process_age_s()
    time.sleep(0.02)
    assert 0 < age < process_age_s()


def test_the_transport_posts_the_three_messages_with_the_token(fake: FakeService):
    transport = HttpTransport(fake.url, fake.attempt_id, fake.token)
    reply = transport.heartbeat(Heartbeat(seq=0, progress=PROGRESS))
    assert reply == HeartbeatReply(action="continue", lease_expires_in_s=30.0)
    assert transport.checkpoint(CheckpointReport(checkpoint_id="ckpt-1", progress=PROGRESS))
    assert transport.exit(ExitReport(reason="finished", exit_code=0, progress=PROGRESS))
    assert [len(fake.heartbeats), len(fake.checkpoints), len(fake.exits)] == [1, 1, 1]
    assert not fake.rejected
    wrong = HttpTransport(fake.url, fake.attempt_id, "not-the-token")
    assert wrong.heartbeat(Heartbeat(seq=1, progress=PROGRESS)) is None
    assert fake.rejected


def test_a_dead_service_never_raises():
    dead = FakeService().start()
    url = dead.url
    dead.stop()
    transport = HttpTransport(url, "a1", "t", timeout_s=0.5)
    assert transport.heartbeat(Heartbeat(seq=0, progress=PROGRESS)) is None
    assert not transport.exit(ExitReport(reason="failed", exit_code=1))


def test_the_heartbeat_thread_beats_and_delivers_reports_before_stopping(fake: FakeService):
    block = ControlBlock(None)
    thread = HeartbeatThread(HttpTransport(fake.url, fake.attempt_id, fake.token), block,
                             lambda seq: Heartbeat(seq=seq, progress=PROGRESS), 0.02)
    thread.start()
    time.sleep(0.15)
    thread.report_checkpoint(CheckpointReport(checkpoint_id="ckpt-9", progress=PROGRESS))
    thread.stop()
    assert thread.sent >= 3 and [h.seq for h in fake.heartbeats] == list(range(thread.sent))
    assert [c.checkpoint_id for c in fake.checkpoints] == ["ckpt-9"]
    assert block.read().replies == thread.sent
    assert block.read().lease_expires_at is not None


def test_importing_the_library_does_nothing():
    code = (
        "import signal, sys, threading\n"
        "before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}\n"
        "import shockwave.job\n"
        "from shockwave.job import session, checkpoint, data, dist, heartbeat, transport\n"
        "import json\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'httpx': 'httpx' in sys.modules,\n"
        "  'threads': threading.active_count(),\n"
        "  'signals': all(signal.getsignal(s) == h for s, h in before.items())}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == {"torch": False, "httpx": False, "threads": 1,
                                      "signals": True}
