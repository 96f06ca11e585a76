"""The dashboard's routes: the page at ``/``, its assets (shipped in the package: no build
step, no CDN) and the two JSON reads it polls. Reads need no token (they show scheduling state,
like ``/metrics``); cancelling and logs go through ``/v1`` with the token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Protocol

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from shockwave.dashboard.model import JobPage, Snapshot
from shockwave.limits import MAX_RESULT_SECONDS

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}


class DashboardSource(Protocol):
    """What the page is drawn from: a running service or a saved simulation."""

    def snapshot(self, at_s: float | None = None) -> Snapshot: ...

    def job_page(self, job_id: int, at_s: float | None = None) -> JobPage | None: ...


router = APIRouter(tags=["dashboard"])
AtS = Annotated[float | None, Query(ge=0, le=MAX_RESULT_SECONDS,
                                    description="simulated time to show (simulations only)")]


def _source(request: Request) -> DashboardSource:
    return request.app.state.dashboard


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=NO_STORE)


@router.get("/dashboard/api/snapshot", response_model=Snapshot)
def snapshot(request: Request, response: Response, at_s: AtS = None) -> Snapshot:
    """The cluster, the queue and the timeline, as the page shows them."""
    response.headers.update(NO_STORE)
    return _source(request).snapshot(at_s)


@router.get("/dashboard/api/jobs/{job_id}", response_model=JobPage)
def job_page(request: Request, response: Response, job_id: int, at_s: AtS = None) -> JobPage:
    """One job's leases, batch sizes, throughput and events."""
    found = _source(request).job_page(job_id, at_s)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    response.headers.update(NO_STORE)
    return found


def add_dashboard(app: FastAPI, source: DashboardSource) -> None:
    """Serve the dashboard of ``source`` from ``app``."""
    app.state.dashboard = source
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
