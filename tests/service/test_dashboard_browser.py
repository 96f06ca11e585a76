"""The dashboard in a real browser (headless Chromium driven by Playwright) against a real
``shockwave serve`` (uvicorn, SQLite on disk, the local backend) running protocol-level jobs:
no console errors, every job shown with the state the API reports, updates within two rounds of
a submission and of a completion, cancelling with the token; and the same page over a saved
simulation (``report --serve``). Screenshots go to ``tests/service/artifacts/``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServerProcess, fake_job

from shockwave.service.backends.local import free_port

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")
ARTIFACTS = Path(__file__).parent / "artifacts"
ROUND_S = 2.0
COMMON = ("--gpus", "2", "--round-seconds", str(ROUND_S), "--heartbeat-seconds", "0.2",
          "--grace-seconds", "1", "--startup-seconds", "20", "--backoff-seconds", "0.5",
          "--policy", "max_min_fairness")
FINAL = ("COMPLETED", "FAILED", "CANCELLED")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


class Page:
    """A page with every console error and uncaught exception recorded."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1360, "height": 1000})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.goto(url)
        self.page.wait_for_selector("#grid .server", timeout=15_000)

    def rows(self) -> dict[int, str]:
        """Job id -> state, as the queue table shows them."""
        cells = self.page.eval_on_selector_all(
            "#queue tbody tr", "rows => rows.map(r => [r.dataset.job, r.dataset.state])")
        return {int(job): state for job, state in cells}

    def wait_for_row(self, job_id: int, state: str | None, timeout_s: float) -> float:
        """Seconds until job ``job_id``'s row shows (in ``state``, if given)."""
        started = time.monotonic()
        selector = f'#queue tbody tr[data-job="{job_id}"]' + (
            f'[data-state="{state}"]' if state else "")
        self.page.wait_for_selector(selector, timeout=timeout_s * 1000)
        return time.monotonic() - started


def api_states(service: ServerProcess) -> dict[int, str]:
    return {j["id"]: j["state"] for j in service.get("/v1/jobs")}


def test_live_page_follows_the_service(tmp_path: Path, browser: Any) -> None:
    with ServerProcess(tmp_path / "state", *COMMON).running() as service:
        ids = [service.submit(**fake_job(f"job{i}", epochs=6)) for i in range(3)]
        view = Page(browser, f"{service.url}/")
        view.page.select_option("#state-filter", "all")
        # every job, with the state the API reports (both move: agree within a refresh)
        deadline = time.monotonic() + 2 * ROUND_S
        while view.rows() != api_states(service) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert view.rows() == api_states(service)

        # a submission shows within two rounds
        new = service.submit(**fake_job("late", epochs=3))
        assert view.wait_for_row(new, None, 2 * ROUND_S) <= 2 * ROUND_S

        # a completion shows within two rounds of the API reporting it
        while api_states(service)[ids[0]] != "COMPLETED":
            time.sleep(0.1)
        assert view.wait_for_row(ids[0], "COMPLETED", 2 * ROUND_S) <= 2 * ROUND_S

        jobs = service.wait_final(timeout_s=90)
        view.wait_for_row(new, "COMPLETED", 2 * ROUND_S)
        time.sleep(1.0)  # one more refresh at least
        assert view.rows() == {j["id"]: j["state"] for j in jobs}
        counts = view.page.eval_on_selector_all(
            "#counts .count", "cs => cs.map(c => [c.dataset.state, c.querySelector('b').textContent])")
        assert {state: int(n) for state, n in counts} == service.get("/v1/cluster")["jobs"]
        ARTIFACTS.mkdir(exist_ok=True)
        view.page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        # one job's page: a lease per attempt that started, its log
        attempts = [a for a in service.get(f"/v1/jobs/{ids[0]}")["attempts"]
                    if a["started_s"] is not None]
        view.page.goto(f"{service.url}/#/jobs/{ids[0]}")
        view.page.wait_for_selector("#job-leases tbody tr")
        time.sleep(0.5)
        leases = view.page.eval_on_selector_all("#job-leases tbody tr", "rows => rows.length")
        assert leases == len(attempts)
        assert "finished at" in view.page.inner_text("#job-log")
        view.page.screenshot(path=str(ARTIFACTS / "dashboard-job.png"), full_page=True)
        assert view.errors == []


def test_read_only_until_the_token_is_given(tmp_path: Path, browser: Any) -> None:
    with ServerProcess(tmp_path / "state", *COMMON, "--token", "t0ken").running() as service:
        headers = {"Authorization": "Bearer t0ken"}
        answer = httpx.post(f"{service.url}/v1/jobs", headers=headers, timeout=10,
                            json=fake_job("long", epochs=400))
        job_id = answer.json()["id"]
        view = Page(browser, f"{service.url}/")
        view.page.select_option("#state-filter", "all")
        view.wait_for_row(job_id, None, 2 * ROUND_S)
        assert view.page.query_selector_all("button[data-cancel]") == []
        assert view.page.is_visible("#token")
        view.page.fill("#token", "t0ken")
        view.page.click("#unlock")
        view.page.wait_for_selector(f'button[data-cancel="{job_id}"]', timeout=2 * ROUND_S * 1000)
        view.page.on("dialog", lambda dialog: dialog.accept())
        view.page.click(f'button[data-cancel="{job_id}"]')
        deadline = time.monotonic() + 4 * ROUND_S
        while time.monotonic() < deadline:
            job = httpx.get(f"{service.url}/v1/jobs/{job_id}", headers=headers, timeout=10).json()
            if job["cancel_requested"]:
                break
            time.sleep(0.1)
        assert job["cancel_requested"] is True
        view.wait_for_row(job_id, "CANCELLED", 30)
        assert view.errors == []


def test_a_saved_simulation_in_the_same_page(tmp_path: Path, browser: Any) -> None:
    result = tmp_path / "fifo.json"
    subprocess.run([sys.executable, "-m", "shockwave", "simulate", "--policy", "fifo",
                    "--json", str(result)], check=True, capture_output=True, timeout=120)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "shockwave", "report", str(result),
                             "--serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/dashboard/api/snapshot", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        view = Page(browser, f"{url}/")
        assert len(view.rows()) == 120 and set(view.rows().values()) == {"COMPLETED"}
        view.page.eval_on_selector(
            "#cursor", "c => { c.value = 3600; c.dispatchEvent(new Event('input')); }")
        expected = httpx.get(f"{url}/dashboard/api/snapshot", params={"at_s": 3600}).json()
        view.page.wait_for_function(
            "n => document.querySelectorAll('#grid a.gpu').length === n",
            arg=sum(1 for g in expected["gpus"] if g["job_id"] is not None), timeout=10_000)
        assert view.rows() == {j["id"]: j["state"] for j in expected["jobs"]}
        ARTIFACTS.mkdir(exist_ok=True)
        view.page.screenshot(path=str(ARTIFACTS / "dashboard-simulation.png"), full_page=True)
        assert view.errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
