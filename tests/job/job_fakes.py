"""A tiny fake of the service's three attempt endpoints (stdlib http.server in a thread).

It checks the bearer token, validates every body with ``shockwave.protocol`` and records the
messages; ``reply`` decides each heartbeat's answer (``None``: answer 503, as if the service
were unavailable).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shockwave.protocol import CheckpointReport, ExitReport, Heartbeat, HeartbeatReply

_PATH = re.compile(r"^/v1/attempts/([^/]+)/(heartbeat|checkpoints|exit)$")
_MODELS = {"heartbeat": Heartbeat, "checkpoints": CheckpointReport, "exit": ExitReport}

CONTRACT = ("SHOCKWAVE_", "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
Reply = Callable[[Heartbeat], HeartbeatReply | None]


def keep_going(lease_s: float = 30.0) -> Reply:
    return lambda hb: HeartbeatReply(action="continue", lease_expires_in_s=lease_s)


def approving(batch_size: int, lease_s: float = 30.0) -> Reply:
    """Continue, and approve every batch-size proposal as the service does: a proposal that
    differs from the approved size becomes it, with the next version."""
    approved = {"batch_size": batch_size, "version": 0}

    def reply(hb: Heartbeat) -> HeartbeatReply:
        proposal = hb.batch_size_proposal
        if proposal is not None and proposal != approved["batch_size"]:
            approved["batch_size"] = proposal
            approved["version"] += 1
        return HeartbeatReply(action="continue", lease_expires_in_s=lease_s,
                              batch_size=approved["batch_size"],
                              batch_size_version=approved["version"])

    return reply


class FakeService:
    """Records ``heartbeats``, ``checkpoints`` and ``exits`` (the parsed messages)."""

    def __init__(self, token: str = "secret", attempt_id: str = "a1") -> None:
        self.token = token
        self.attempt_id = attempt_id
        self.reply: Reply = keep_going()
        self.heartbeats: list[Heartbeat] = []
        self.checkpoints: list[CheckpointReport] = []
        self.exits: list[ExitReport] = []
        self.rejected: list[str] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeService:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down: later posts get 'connection refused'."""
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                match = _PATH.match(self.path)
                if not match or match.group(1) != fake.attempt_id:
                    return self._send(404, {"detail": "no such attempt"})
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    with fake.lock:
                        fake.rejected.append(self.path)
                    return self._send(401, {"detail": "bad token"})
                kind = match.group(2)
                message = _MODELS[kind].model_validate_json(body)
                with fake.lock:
                    {"heartbeat": fake.heartbeats, "checkpoints": fake.checkpoints,
                     "exit": fake.exits}[kind].append(message)
                if kind != "heartbeat":
                    return self._send(200, {"ok": True})
                reply = fake.reply(message)
                if reply is None:
                    return self._send(503, {"detail": "unavailable"})
                return self._send(200, reply.model_dump())

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def clean_environ() -> dict[str, str]:
    """``os.environ`` without any variable of the contract, with one thread per process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONTRACT)}
    env["OMP_NUM_THREADS"] = "1"
    return env


def service_env(fake: FakeService, tmp: Path, **extra: str) -> dict[str, str]:
    """The variables the backend would set for one rank of attempt ``fake.attempt_id``."""
    env = {
        "SHOCKWAVE_SERVER": fake.url, "SHOCKWAVE_JOB_ID": "job-1",
        "SHOCKWAVE_ATTEMPT_ID": fake.attempt_id, "SHOCKWAVE_ATTEMPT_TOKEN": fake.token,
        "SHOCKWAVE_CHECKPOINT_DIR": str(tmp / "ckpt"),
        "SHOCKWAVE_REPORT_FILE": str(tmp / f"report-{fake.attempt_id}.json"),
        "SHOCKWAVE_LEASE_S": "3600", "SHOCKWAVE_HEARTBEAT_S": "0.05",
    }
    env.update(extra)
    return env
