"""The dashboard with 1,000 jobs on 256 GPUs (issue 14), in headless Chromium on loopback.

Two sources of the same page:

1. a service: 1,000 jobs submitted to 256 slots (32 servers of 8; gangs of 1, 2, 4 and 8), the
   round loop driven for ``--rounds`` rounds over the fake backend and a fake clock (no
   processes), its app served by uvicorn in this process;
2. a saved simulation: 1,000 generated jobs simulated on 256 GPUs under FIFO, served as
   ``report --serve`` serves it.

For each, ``--loads`` fresh page loads measure:

- ``first render``: from navigation start until the first full overview is laid out and
  painted (the page's own ``performance.now()``: HTML, script, the snapshot's fetch and parse,
  the grid, the queue's first page of 200 rows, the timeline canvas, then layout and paint);
- ``render``: one full render of the overview, from its start until it is painted;
- ``update``: service: from a new job's submission until the page has painted a snapshot
  that counts it (bounded below by the polling interval, ``refresh_s``); simulation: from
  moving the time cursor until that moment is painted;
- the snapshot's size and the time the server takes to answer it.

    python benchmarks/bench_dashboard.py [--loads 5] [--rounds 6] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from results_file import cpu_name, replace_section  # noqa: E402

SECTION = "Dashboard: 1,000 jobs on 256 GPUs"
JOBS, SLOTS, PER_SERVER = 1000, 256, 8


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread, for the block."""
    import uvicorn

    from shockwave.service.backends.local import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def service_app(state_dir: Path, rounds: int) -> tuple[Any, Callable[[], int]]:
    """A service with 1,000 jobs on 256 slots after ``rounds`` rounds; and a function that
    submits one more job and ticks (as the service's own loop would), returning its id."""
    from shockwave.service.api.app import create_app
    from shockwave.service.backends.fake import FakeBackend
    from shockwave.service.clock import FakeClock
    from shockwave.service.config import Settings
    from shockwave.service.jobspec import JobSubmit
    from shockwave.service.rounds import RoundLoop, make_planner
    from shockwave.service.store import Store

    settings = Settings(state_dir=state_dir, gpus=SLOTS, servers=(PER_SERVER,) * (SLOTS // PER_SERVER),
                        policy="max_min_fairness", round_s=8.0, heartbeat_s=1.0, lease_s=3600.0,
                        startup_s=3600.0, tick_s=0.5, run_loop=False)
    store, backend, clock = Store(settings.db_path), FakeBackend(), FakeClock(0.0)

    def spec(i: int) -> JobSubmit:
        return JobSubmit(name=f"job{i}", command=["true"], batch_size=32,
                         gpus=(1, 1, 1, 1, 2, 2, 4, 8)[i % 8], samples_per_epoch=50_000,
                         total_epochs=10 + i % 50, expected_samples_per_s=1000.0)

    for i in range(JOBS):
        store.add_job(spec(i), clock.now())
    loop = RoundLoop(settings, store, backend, clock, make_planner(settings))
    for _ in range(rounds):
        loop.tick()
        clock.advance(settings.round_s)
    lock = threading.Lock()

    def submit_one() -> int:
        with lock:
            return store.add_job(spec(JOBS), clock.now()).id

    return create_app(settings, store, backend, loop=loop), submit_one


def simulation_app() -> Any:
    from shockwave.dashboard.results_app import results_app
    from shockwave.model import Cluster
    from shockwave.sim.loop import simulate
    from shockwave.traces.generate import GeneratorParams, generate_trace
    from shockwave.workload.throughput import load_throughputs

    throughputs = load_throughputs(None)
    trace = generate_trace(GeneratorParams(num_jobs=JOBS, lam_s=30.0, seed=5), throughputs)
    result = simulate(trace, Cluster(SLOTS, PER_SERVER), "fifo",
                      throughputs=throughputs)
    return results_app(result), result.makespan_s


def measure(browser: Any, url: str, loads: int, update: Callable[[Any], float]) -> dict[str, Any]:
    first, renders, updates = [], [], []
    for _ in range(loads):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(f"{url}/")
        page.wait_for_function("window.shockwaveDashboard && "
                               "window.shockwaveDashboard.firstPaintMs !== null", timeout=60_000)
        first.append(page.evaluate("window.shockwaveDashboard.firstPaintMs"))
        updates.append(update(page))
        renders.extend(page.evaluate("window.shockwaveDashboard.renders"
                                     ".filter(r => r.paintedMs !== null).map(r => r.paintedMs)"))
        if errors:
            raise SystemExit(f"console errors on {url}: {errors}")
        page.close()
    sizes, answers = [], []
    for _ in range(10):
        started = time.perf_counter()
        body = httpx.get(f"{url}/dashboard/api/snapshot", timeout=60).content
        answers.append(1000 * (time.perf_counter() - started))
        sizes.append(len(body))
    return {"first_ms": first, "render_ms": renders, "update_ms": updates,
            "snapshot_kb": statistics.median(sizes) / 1024, "snapshot_ms": answers}


def _service_update(submit_one: Callable[[], int]) -> Callable[[Any], float]:
    def update(page: Any) -> float:
        shown = page.evaluate("window.shockwaveDashboard.renders.at(-1).jobs")
        started = time.perf_counter()
        submit_one()
        page.wait_for_function("n => window.shockwaveDashboard.renders.some("
                               "r => r.jobs > n && r.paintedMs !== null)", arg=shown,
                               timeout=30_000)
        return 1000 * (time.perf_counter() - started)
    return update


def _simulation_update(end_s: float) -> Callable[[Any], float]:
    def update(page: Any) -> float:
        before = page.evaluate("window.shockwaveDashboard.renders.length")
        started = time.perf_counter()
        page.eval_on_selector("#cursor", "(c, t) => { c.value = t; "
                              "c.dispatchEvent(new Event('input')); }", end_s / 3)
        page.wait_for_function("n => window.shockwaveDashboard.renders.length > n && "
                               "window.shockwaveDashboard.renders[n].paintedMs !== null",
                               arg=before, timeout=30_000)
        return 1000 * (time.perf_counter() - started)
    return update


def _stat(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def markdown(rows: dict[str, dict[str, Any]], loads: int, rounds: int, jobs_shown: dict[str, int],
             browser_version: str) -> str:
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    lines = [
        f"`python benchmarks/bench_dashboard.py --loads {loads} --rounds {rounds} --write` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores ({cpu_name()}), "
        f"Python {platform.python_version()}, Chromium {browser_version} headless; load "
        f"average {load:.1f} at the end (the machine is shared).",
        "",
        f"{JOBS:,} jobs on {SLOTS} GPUs ({SLOTS // PER_SERVER} servers of {PER_SERVER}); "
        f"milliseconds, median (range) over {loads} fresh page loads. The service has run "
        f"{rounds} rounds of Gavel (max-min fairness) over the fake backend; the simulation is "
        "FIFO on a generated trace, shown at its end (first render) and then at a third of it.",
        "",
        "| source | leases on the timeline | snapshot | server answers | first render | "
        "one full render | update |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {jobs_shown[name]:,} | {row['snapshot_kb']:,.0f} kB | "
            f"{_stat(row['snapshot_ms'])} | {_stat(row['first_ms'])} | "
            f"{_stat(row['render_ms'])} | {_stat(row['update_ms'])} |")
    lines += [
        "",
        "*First render* runs from navigation start until the first complete overview (grid, "
        "the queue's first 200 rows, timeline) is painted, by the page's own clock. *Update* "
        "is, for the "
        "service, a new job's submission until a snapshot counting it is painted: the page polls every "
        "`refresh_s` (a quarter round, at least 0.5 s: 2 s here), and the job is submitted "
        "just after the first render's poll, so nearly all of it is the wait for the next "
        "poll; for the simulation, moving the time cursor until that "
        "moment is drawn.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="fresh page loads per source")
    parser.add_argument("--rounds", type=int, default=6, help="rounds the service runs first")
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs chromium (apt-get install chromium)")
    rows, leases = {}, {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        app, submit_one = service_app(Path(tmp), args.rounds)
        with served(app) as url:
            leases["service"] = len(httpx.get(f"{url}/dashboard/api/snapshot",
                                              timeout=60).json()["timeline"]["job"])
            rows["service"] = measure(browser, url, args.loads, _service_update(submit_one))
        sim, end_s = simulation_app()
        with served(sim) as url:
            leases["simulation"] = len(httpx.get(f"{url}/dashboard/api/snapshot",
                                                 timeout=60).json()["timeline"]["job"])
            rows["simulation"] = measure(browser, url, args.loads, _simulation_update(end_s))
        version = browser.version
        browser.close()
    text = markdown(rows, args.loads, args.rounds, leases, version)
    print(text)
    if args.write:
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
