"""``create_app``: the FastAPI app over a given store, backend and clock (no import-time
globals: each test builds its own). Its lifespan recovers the store's attempts before the first
request is served, then runs the round loop in a background thread until shutdown; running jobs
are left running at shutdown (a restarted service adopts them). Each app has its own metrics
(``app.state.telemetry``, served at ``/metrics``)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from shockwave.dashboard.from_service import ServiceSource
from shockwave.dashboard.routes import add_dashboard
from shockwave.errors import InputError
from shockwave.planner import RoundPlanner
from shockwave.service.api.routes import attempts, cluster, jobs, metrics
from shockwave.service.backends.base import Backend
from shockwave.service.clock import Clock, ServiceClock
from shockwave.service.config import Settings
from shockwave.service.recovery import recover
from shockwave.service.rounds import RoundLoop, make_planner
from shockwave.service.store import Store
from shockwave.service.telemetry import Telemetry


def create_app(settings: Settings, store: Store, backend: Backend, *, clock: Clock | None = None,
               planner: RoundPlanner | None = None, loop: RoundLoop | None = None) -> FastAPI:
    """The service's app. Off loopback it refuses to exist without a token. Tests that drive
    the round loop themselves hand theirs in as ``loop`` (with its clock)."""
    if not settings.loopback and settings.token is None:
        raise InputError(f"refusing to serve on {settings.host} (not loopback) without a token: "
                         "give --token or set SHOCKWAVE_TOKEN", field="--host")
    clock = loop.clock if loop is not None else (clock or ServiceClock(store))
    telemetry = Telemetry(settings)
    if loop is None:
        loop = RoundLoop(settings, store, backend, clock, planner or make_planner(settings))
    loop.observer = telemetry  # a loop handed in reports its rounds to this app's metrics
    telemetry.watch(store, settings, loop, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.recovery = recover(store, backend, settings, clock.now())
        stop = threading.Event()
        thread = None
        if settings.run_loop:
            thread = threading.Thread(target=loop.run, args=(stop,), name="shockwave-rounds",
                                      daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)

    app = FastAPI(title="shockwave", version=_version(), lifespan=lifespan,
                  summary="Round-based GPU scheduling of real training jobs (docs/service.md)")
    app.state.settings, app.state.store, app.state.backend = settings, store, backend
    app.state.clock, app.state.loop, app.state.telemetry = clock, loop, telemetry
    for module in (jobs, attempts, cluster, metrics):
        app.include_router(module.router)
    if settings.dashboard:
        add_dashboard(app, ServiceSource(store, settings, loop, clock))
    return app


def _version() -> str:
    try:
        return version("shockwave")
    except PackageNotFoundError:
        return "0+unknown"
