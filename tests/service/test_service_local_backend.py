"""The local backend with real processes: process groups, gangs, signals, exit codes, logs,
adoption by a backend that did not start them, and no process left behind."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shockwave.service.backends.base import AttemptExit, AttemptSpec, Handle
from shockwave.service.backends.local import LocalBackend, proc_start_time
from shockwave.service.config import Settings

SCRIPTS = Path(__file__).parent / "scripts"


def wait_for(predicate: Callable[[], object], timeout_s: float = 10.0) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state == "Z"


class Runner:
    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.tmp = tmp_path
        self.settings = Settings(state_dir=tmp_path / "state", gpus=4, **settings)  # type: ignore[arg-type]
        self.backend = LocalBackend(self.settings, environ={**os.environ,
                                                            "SHOCKWAVE_TOKEN": "admin-secret"})
        self.handles: list[Handle] = []
        self.next_id = 1

    def start(self, script: str, *args: str, slots: tuple[int, ...] = (0,)) -> Handle:
        attempt_dir = self.tmp / f"attempt-{self.next_id}"
        spec = AttemptSpec(
            attempt_id=self.next_id, job_id=1, argv=(sys.executable, str(SCRIPTS / script), *args),
            working_dir=str(self.tmp),
            env={"SHOCKWAVE_JOB_ID": "1", "USER_VAR": "x",
                 "SHOCKWAVE_REPORT_FILE": str(attempt_dir / "report.json")},
            slots=slots, attempt_dir=attempt_dir, report_file=attempt_dir / "report.json")
        self.next_id += 1
        handle = self.backend.start(spec)
        self.handles.append(handle)
        return handle

    def wait_exit(self, handle: Handle, backend: LocalBackend | None = None) -> AttemptExit:
        return wait_for(lambda: (backend or self.backend).poll(handle))  # type: ignore[return-value]

    def cleanup(self) -> None:
        for handle in self.handles:
            self.backend.kill(handle)


@pytest.fixture()
def runner(tmp_path: Path) -> Iterator[Runner]:
    r = Runner(tmp_path)
    yield r
    r.cleanup()


def test_an_attempt_is_its_own_process_group_with_the_contract(runner: Runner) -> None:
    out = runner.tmp / "info.json"
    handle = runner.start("pid_and_wait.py", str(out))
    info = json.loads(wait_for(lambda: out.exists() and out.read_text()))  # type: ignore[arg-type]
    assert info["pid"] == info["pgid"] == handle["pgid"] != os.getpgid(0)
    env = info["env"]
    assert (env["RANK"], env["LOCAL_RANK"], env["WORLD_SIZE"]) == ("0", "0", "1")
    assert env["MASTER_ADDR"] == "127.0.0.1" and int(env["MASTER_PORT"]) > 0
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["OMP_NUM_THREADS"] == "1"
    assert env["USER_VAR"] == "x" and env["SHOCKWAVE_JOB_ID"] == "1"
    assert "SHOCKWAVE_TOKEN" not in env  # the service's secret never reaches a job
    assert runner.backend.alive(handle) and runner.backend.poll(handle) is None
    assert handle["ranks"][0]["start"] == proc_start_time(info["pid"])
    runner.backend.stop(handle, grace_s=5)
    ended = runner.wait_exit(handle)
    assert (ended.exit_code, ended.signal) == (143, 15)
    assert "waiting" in (runner.tmp / "attempt-1" / "rank-0.log").read_text()
    assert not runner.backend.alive(handle)


@pytest.mark.parametrize("code", [0, 3, 75])
def test_exit_codes_and_reports(runner: Runner, code: int) -> None:
    handle = runner.start("exit_code.py", str(code), "yielded" if code == 75 else "failed")
    ended = runner.wait_exit(handle)
    assert ended.exit_code == code and ended.signal is None
    assert ended.report is not None and ended.report.exit_code == code


def test_a_job_that_ignores_sigterm_dies_at_the_kill(runner: Runner) -> None:
    pidfile = runner.tmp / "pid"
    handle = runner.start("ignore_sigterm.py", str(pidfile))
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text()))  # type: ignore[arg-type]
    runner.backend.stop(handle, grace_s=0.3)
    time.sleep(0.3)
    assert runner.backend.alive(handle) and runner.backend.poll(handle) is None
    runner.backend.kill(handle)
    ended = runner.wait_exit(handle)
    assert (ended.exit_code, ended.signal) == (137, 9)
    assert gone(pid)


@pytest.mark.parametrize("how", ["kill", "stop", "rank exits"])
def test_no_process_survives_its_attempt(runner: Runner, how: str) -> None:
    pidfile = runner.tmp / "pids"
    handle = runner.start("grandchild.py", str(pidfile), *(["exit"] if how == "rank exits" else []))
    parent, child = map(int, wait_for(lambda: pidfile.exists() and pidfile.read_text()).split())  # type: ignore[union-attr]
    if how == "kill":
        runner.backend.kill(handle)
    elif how == "stop":
        runner.backend.stop(handle, grace_s=1)
    runner.wait_exit(handle)
    wait_for(lambda: gone(parent) and gone(child))


def test_a_gang_starts_together_and_falls_together(runner: Runner) -> None:
    out = runner.tmp / "rank.json"
    handle = runner.start("pid_and_wait.py", str(out), slots=(2, 3))
    assert len(handle["ranks"]) == 2
    pids = [rank["pid"] for rank in handle["ranks"]]
    assert {os.getpgid(pid) for pid in pids} == {handle["pgid"]}
    port = json.loads(wait_for(lambda: out.exists() and out.read_text()))["env"]["MASTER_PORT"]  # type: ignore[arg-type]
    assert port == str(handle["master_port"])
    os.kill(pids[1], signal.SIGKILL)  # one rank dies: the gang is torn down
    ended = runner.wait_exit(handle)
    assert ended.exit_code == 137
    wait_for(lambda: all(gone(pid) for pid in pids))


def test_cuda_slots_see_their_gang_devices(tmp_path: Path) -> None:
    runner = Runner(tmp_path, slot_kind="cuda", cuda_devices=("4", "5", "6", "7"))
    out = tmp_path / "info.json"
    try:
        handle = runner.start("pid_and_wait.py", str(out), slots=(1, 3))
        env = json.loads(wait_for(lambda: out.exists() and out.read_text()))["env"]  # type: ignore[arg-type]
        assert env["CUDA_VISIBLE_DEVICES"] == "5,7"
        runner.backend.kill(handle)
    finally:
        runner.cleanup()


def test_another_backend_adopts_a_running_attempt(runner: Runner) -> None:
    out = runner.tmp / "info.json"
    handle = json.loads(json.dumps(runner.start("pid_and_wait.py", str(out))))  # as stored
    wait_for(out.exists)
    adopter = LocalBackend(runner.settings)  # a restarted service
    assert adopter.alive(handle) and adopter.poll(handle) is None
    adopter.stop(handle, grace_s=1)
    ended = runner.wait_exit(handle, adopter)
    assert ended.exit_code in (143, None)  # its exit code, if it can still be reaped
    assert not adopter.alive(handle)


def test_a_reused_pid_is_not_taken_for_the_attempt(runner: Runner) -> None:
    handle = runner.start("exit_code.py", "0")
    runner.wait_exit(handle)
    forged = {**handle, "attempt_id": 999,
              "ranks": [{"pid": os.getpid(), "start": 1}], "pgid": os.getpid()}
    adopter = LocalBackend(runner.settings)
    assert not adopter.alive(forged)  # our own pid, but not the start time recorded
    adopter.kill(forged)  # and nothing is signalled
    assert adopter.poll(forged) == AttemptExit(None)


def test_a_teardown_crash_after_an_orderly_report_does_not_fail_the_attempt(runner: Runner) -> None:
    """Found by `shockwave profile` on a loaded machine: a 2-rank gang stopped at its step limit,
    rank 0 reported 'yielded', and rank 1 aborted while shutting down its process group. The
    gang is not torn down (rank 0 exits by itself) and the attempt ends as its report says."""
    handle = runner.start("gang_teardown_crash.py", slots=(0, 1))
    ended = runner.wait_exit(handle)
    assert ended.exit_code == 75 and ended.signal is None
    assert ended.report is not None and ended.report.reason == "yielded"


def test_a_rank_that_dies_without_a_report_still_fails_the_gang(runner: Runner) -> None:
    handle = runner.start("exit_code.py", "3", slots=(0, 1))
    ended = runner.wait_exit(handle)
    assert ended.exit_code == 3 and ended.report is None
