"""Rank 0's messages to the service: the three attempt endpoints of ``shockwave.protocol``.

Errors never reach the training loop: a failed post is logged and answered with ``None`` or
``False``, and the lease on the local monotonic clock decides what happens next.
"""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from shockwave.protocol import CheckpointReport, ExitReport, Heartbeat, HeartbeatReply

log = logging.getLogger("shockwave.job")

DEFAULT_TIMEOUT_S = 2.0


class Transport(Protocol):
    """How the job talks to the service; every method returns instead of raising."""

    def heartbeat(self, message: Heartbeat) -> HeartbeatReply | None:
        """Post a heartbeat; the reply, or ``None`` when there is none."""

    def checkpoint(self, message: CheckpointReport) -> bool:
        """Report a committed checkpoint; True when the service took it."""

    def exit(self, message: ExitReport) -> bool:
        """Post the final report; True when the service took it."""

    def close(self) -> None:
        """Release connections."""


class NullTransport:
    """The standalone transport: nobody listens."""

    def heartbeat(self, message: Heartbeat) -> HeartbeatReply | None:
        return None

    def checkpoint(self, message: CheckpointReport) -> bool:
        return False

    def exit(self, message: ExitReport) -> bool:
        return False

    def close(self) -> None:
        return None


class HttpTransport:
    """``POST {server}/v1/attempts/{attempt_id}/{heartbeat,checkpoints,exit}`` with the
    attempt's bearer token and short timeouts."""

    def __init__(self, server: str, attempt_id: str, token: str | None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        import httpx  # the service's client library; imported only when a server is set

        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:  # one INFO line per heartbeat is noise
            httpx_log.setLevel(logging.WARNING)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._base = f"{server.rstrip('/')}/v1/attempts/{quote(attempt_id, safe='')}"
        self._client = httpx.Client(headers=headers, timeout=timeout_s)
        self._errors = (httpx.HTTPError, ValidationError, ValueError)
        self._failures = 0

    def heartbeat(self, message: Heartbeat) -> HeartbeatReply | None:
        body = self._post("heartbeat", message)
        if body is None:
            return None
        try:
            return HeartbeatReply.model_validate_json(body)
        except ValidationError as exc:
            self._failed("heartbeat", f"unreadable reply: {exc.errors()[0]['msg']}")
            return None

    def checkpoint(self, message: CheckpointReport) -> bool:
        return self._post("checkpoints", message) is not None

    def exit(self, message: ExitReport) -> bool:
        return self._post("exit", message) is not None

    def close(self) -> None:
        self._client.close()

    def _post(self, endpoint: str, message: BaseModel) -> bytes | None:
        try:
            response = self._client.post(
                f"{self._base}/{endpoint}", content=message.model_dump_json(),
                headers={"Content-Type": "application/json"})
        except self._errors as exc:
            self._failed(endpoint, f"{type(exc).__name__}: {exc}")
            return None
        if response.status_code >= 300:
            self._failed(endpoint, f"HTTP {response.status_code}: {response.text[:200]}")
            return None
        if self._failures:
            log.warning("shockwave.job: the service answers again after %d failed posts",
                        self._failures)
            self._failures = 0
        return response.content

    def _failed(self, endpoint: str, reason: str) -> None:
        self._failures += 1
        if self._failures == 1 or self._failures % 10 == 0:
            log.warning("shockwave.job: %s post failed (%d in a row): %s", endpoint,
                        self._failures, reason)
