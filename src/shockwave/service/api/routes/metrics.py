"""``GET /metrics``: the service's Prometheus metrics in the text format (no ``/v1``: the path
Prometheus scrapes by convention). What it exports is ``telemetry.py``'s, listed in
docs/operations.md."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from shockwave.service.api.deps import ScraperDep, TelemetryDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, dependencies=[ScraperDep])
def metrics(telemetry: TelemetryDep) -> Response:
    """Every metric as of now (open unless ``serve --metrics-need-token``). A plain ``def``:
    the store reads of a scrape run in the thread pool, off the event loop the heartbeats use."""
    return Response(telemetry.exposition(), media_type=CONTENT_TYPE_LATEST)
