"""Typed dependencies: the app's settings, store, clock, loop and telemetry, and the two kinds
of caller.

They are ``async`` so that FastAPI does not hand each to its thread pool: they do no I/O but a
short indexed SQLite read.

Users: when the service has a token (always, off loopback) every user request carries
``Authorization: Bearer <token>``; else 401. Attempts: each carries its own token; a token that
is nobody's is 401, another attempt's is 403."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from shockwave.service.clock import Clock
from shockwave.service.config import Settings
from shockwave.service.leases import hash_token
from shockwave.service.rounds import RoundLoop
from shockwave.service.store import AttemptRow, Store
from shockwave.service.telemetry import Telemetry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_loop(request: Request) -> RoundLoop:
    return request.app.state.loop


async def get_telemetry(request: Request) -> Telemetry:
    return request.app.state.telemetry


async def started_at() -> float:
    """``perf_counter`` when FastAPI reached this dependency: declared as an endpoint's first
    parameter (dependencies resolve in order), it times the authentication too."""
    return time.perf_counter()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LoopDep = Annotated[RoundLoop, Depends(get_loop)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
StartedDep = Annotated[float, Depends(started_at)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


async def require_user(request: Request, settings: SettingsDep) -> None:
    """Requests from people (the CLI): the service token, when the service has one."""
    if settings.token is None:
        return
    given = _bearer(request)
    if given is None or not secrets.compare_digest(given.encode(), settings.token.encode()):
        raise _unauthorized("this service needs 'Authorization: Bearer <token>' (--token or "
                            "SHOCKWAVE_TOKEN)")


async def require_attempt(request: Request, store: StoreDep,
                    attempt_id: Annotated[int, Path(ge=1)]) -> AttemptRow:
    """The attempt whose token the request carries; it may act on itself only."""
    given = _bearer(request)
    attempt = store.attempt_by_token(hash_token(given)) if given else None
    if attempt is None:
        raise _unauthorized("an attempt authenticates with its own token "
                            "(Authorization: Bearer $SHOCKWAVE_ATTEMPT_TOKEN)")
    if attempt.id != attempt_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"this token belongs to attempt {attempt.id}, not {attempt_id}")
    return attempt


async def require_scraper(request: Request, settings: SettingsDep) -> None:
    """``/metrics``: open by default (Prometheus scrapers rarely carry a token, and it shows
    neither logs nor commands); the user token with ``serve --metrics-need-token``."""
    if settings.metrics_need_token:
        await require_user(request, settings)


UserDep = Depends(require_user)
ScraperDep = Depends(require_scraper)
AttemptDep = Annotated[AttemptRow, Depends(require_attempt)]
