"""``shockwave serve`` as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from shockwave.service.backends.local import free_port

SCRIPTS = Path(__file__).parent / "scripts"
FAKE_JOB = SCRIPTS / "fake_job.py"




class ServerProcess:
    """One service on ``state_dir``; ``start()`` again after ``kill9()`` restarts it."""

    def __init__(self, state_dir: Path, *options: str) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = state_dir.parent / "serve.log"

    def start(self, timeout_s: float = 30.0) -> None:
        argv = [sys.executable, "-m", "shockwave", "serve", "--state-dir", str(self.state_dir),
                "--port", str(self.port), "--log-level", "warning", *self.options]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: "
                                     f"{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/v1/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the service did not come up")

    @contextmanager
    def running(self) -> Iterator[ServerProcess]:
        """Started for the block; stopped after it, and no process an attempt started may
        outlive it."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
            assert self.kill_leftovers() == []

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def submit(self, **spec: Any) -> int:
        answer = httpx.post(f"{self.url}/v1/jobs", json=spec, timeout=10)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def wait_final(self, timeout_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            jobs = self.get("/v1/jobs")
            if all(j["state"] in ("COMPLETED", "FAILED", "CANCELLED") for j in jobs):
                return jobs
            if time.monotonic() > deadline:
                raise AssertionError(f"not all final: {[(j['id'], j['state']) for j in jobs]}; "
                                     f"log: {self.log.read_text()[-2000:]}\n"
                                     f"{self.diagnosis(jobs)}")
            time.sleep(0.2)

    def diagnosis(self, jobs: list[dict[str, Any]]) -> str:
        """What a stuck run leaves to read: the last events, and the end of each unfinished
        job's latest logs."""
        lines = [f"{e['at_s']:.1f} job {e['job_id']} attempt {e['attempt_id']}: {e['entity']} "
                 f"{e['from_state']}->{e['to_state']} {e['reason'] or ''} {e['data'] or ''}"
                 for e in self.get("/v1/events")[-60:]]
        for job in jobs:
            if job["state"] not in ("COMPLETED", "FAILED", "CANCELLED"):
                with contextlib.suppress(httpx.HTTPError):
                    tail = httpx.get(f"{self.url}/v1/jobs/{job['id']}/logs", timeout=10).text
                    lines.append(f"-- job {job['id']} logs:\n{tail[-1500:]}")
        return "\n".join(lines)

    def kill_leftovers(self) -> list[int]:
        """Kill any process an attempt left (there should be none); their pids. Reads the
        database itself: works with the service down."""
        import json
        import sqlite3

        db = sqlite3.connect(self.state_dir / "shockwave.db")
        handles = [json.loads(h) for (h,) in
                   db.execute("SELECT handle FROM attempts WHERE handle IS NOT NULL")]
        db.close()
        left = []
        for handle in handles:
            for rank in handle["ranks"]:
                pid = rank["pid"]
                if _start(pid) == rank["start"] and not _zombie(pid):
                    left.append(pid)
                    os.kill(pid, signal.SIGKILL)
        return left


def fake_job(name: str, *, epochs: int = 5, per_epoch: int = 100, speed: float = 200.0,
             gpus: int = 1, extra: tuple[str, ...] = (), **spec: Any) -> dict[str, Any]:
    return {"name": name, "gpus": gpus, "batch_size": 10, "samples_per_epoch": per_epoch,
            "total_epochs": epochs, "expected_samples_per_s": speed,
            "command": [sys.executable, str(FAKE_JOB), "--samples-per-epoch", str(per_epoch),
                        "--samples-per-s", str(speed), *extra], **spec}


def _start(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
