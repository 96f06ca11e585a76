"""``shockwave report RESULTS --serve``: the dashboard of a saved simulation, served by uvicorn
on loopback (read-only: nothing to cancel, no token)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from shockwave.dashboard.from_result import ResultSource
from shockwave.dashboard.routes import add_dashboard
from shockwave.errors import InputError
from shockwave.sim.result import SimResult


def pick_result(results: Sequence[SimResult], policy: str | None) -> SimResult:
    """The result of ``policy`` (by its name in the results), else the only or first one."""
    if policy is None:
        return results[0]
    for result in results:
        if result.policy == policy:
            return result
    names = ", ".join(r.policy for r in results)
    raise InputError(f"no result of policy {policy!r} in the files; they hold: {names}",
                     field="--policy")


def results_app(result: SimResult, *, title: str = "") -> FastAPI:
    """An app serving only the dashboard of ``result``."""
    app = FastAPI(title="shockwave report", openapi_url=None, docs_url=None, redoc_url=None)
    add_dashboard(app, ResultSource(result, title=title))
    return app
