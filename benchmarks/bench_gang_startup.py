"""The start-up cost of a gang (issue 11): a 2-rank digits gang (DDP over gloo, one CPU thread
per rank) started by the local backend and by the Ray backend, on this machine.

For each start it measures, from the call to ``backend.start``:

- ``start()``: how long the call itself blocks the round loop;
- ``running``: until every rank's process runs (local: when ``start`` returns; Ray: placement
  group ready, one actor per rank up, the processes launched, as ``poll`` sees it);
- ``heartbeat``: until rank 0's first heartbeat (the gang joined its process group, the model
  is built and the checkpoint, if any, restored: ready to train);
- ``first step``: until the first heartbeat that reports samples trained (heartbeats every
  0.1 s, so within 0.1 s of the first step).

The jobs heartbeat to a minimal stand-in for the service in this process, which tells each gang
to stop once it has trained; Ray runs as a private single-node instance (``ray.init`` with two
fake GPUs: the slots). Starts alternate between the backends, ``--runs`` times each.

    python benchmarks/bench_gang_startup.py [--runs 5] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from results_file import replace_section  # noqa: E402

SECTION = "Gang start-up: local backend against Ray"
SLOTS = (0, 1)


class FakeService:
    """Answers heartbeats (``continue`` until the gang has trained, then ``stop_now``), and
    checkpoint and exit posts; records when each attempt's first heartbeat and first progress
    came in."""

    def __init__(self) -> None:
        self.first_beat: dict[int, float] = {}
        self.first_step: dict[int, float] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook
                now = time.perf_counter()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                attempt = int(self.path.split("/")[3])
                answer: dict[str, Any] = {}
                if self.path.endswith("/heartbeat"):
                    service.first_beat.setdefault(attempt, now)
                    trained = body["progress"]["samples"] > 0
                    if trained:
                        service.first_step.setdefault(attempt, now)
                    answer = {"action": "stop_now" if trained else "continue",
                              "lease_expires_in_s": 600.0}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def attempt_spec(root: Path, attempt_id: int, port: int) -> Any:
    """The attempt as the service starts it (``service.rounds.attempt_spec``): the bundled
    digits-2rank job for 2 epochs at a fixed batch size of 64, heartbeats every 0.1 s, no
    periodic checkpoint, the stand-in service on ``port``."""
    from shockwave.service.config import Settings
    from shockwave.service.jobspec import JobSubmit, load_job_file
    from shockwave.service.rounds import attempt_spec as service_attempt_spec
    from shockwave.workloads import spec_path

    fields, _ = load_job_file(spec_path("digits-2rank"))
    spec = JobSubmit(**{**fields, "total_epochs": 2, "min_batch_size": 64, "max_batch_size": 64,
                        "checkpoint_interval_s": 3600})
    settings = Settings(state_dir=root / f"attempt-{attempt_id}", gpus=2, port=port,
                        heartbeat_s=0.1, grace_s=30.0, startup_s=600.0)
    return service_attempt_spec(settings, attempt_id, spec, spec.batch_size, attempt_id, SLOTS,
                                "bench")


def start_once(backend: Any, spec: Any, service: FakeService) -> dict[str, float]:
    """One gang, start to exit; its start-up times, s."""
    t0 = time.perf_counter()
    handle = backend.start(spec)
    returned = time.perf_counter()
    gangs = getattr(backend, "_gangs", None)
    running = returned if gangs is None else None
    deadline = t0 + 300
    while (ended := backend.poll(handle)) is None:
        if running is None and gangs[spec.attempt_id].phase == "running":  # type: ignore[index]
            running = time.perf_counter()
        if time.perf_counter() > deadline:
            backend.kill(handle)
            raise SystemExit(f"attempt {spec.attempt_id} did not end in 300 s")
        time.sleep(0.01)
    if spec.attempt_id not in service.first_step or ended.exit_code != 75:
        log = (spec.attempt_dir / "rank-0.log").read_text()[-2000:]
        raise SystemExit(f"attempt {spec.attempt_id} ended {ended} before training:\n{log}")
    return {"start_call_s": returned - t0, "running_s": (running or returned) - t0,
            "heartbeat_s": service.first_beat[spec.attempt_id] - t0,
            "first_step_s": service.first_step[spec.attempt_id] - t0}


def run(runs: int) -> dict[str, Any]:
    import ray

    from shockwave.service.backends import ray as ray_backend
    from shockwave.service.backends.local import LocalBackend
    from shockwave.service.config import Settings

    root = Path(tempfile.mkdtemp(prefix="bench-gang-"))
    service = FakeService()
    began = time.perf_counter()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False,
             namespace=ray_backend.NAMESPACE, logging_level="WARNING")
    ray_init_s = time.perf_counter() - began
    try:
        local = LocalBackend(Settings(state_dir=root / "local", gpus=2))
        topology = ray_backend.discover("GPU", root / "ray")
        on_ray = ray_backend.RayBackend(
            Settings(state_dir=root / "ray", gpus=topology.num_slots,
                     servers=topology.slot_counts, backend="ray"), topology)
        load_before = os.getloadavg()[0]
        results: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
        attempt = 0
        for _ in range(runs):
            for name, backend in (("local", local), ("ray", on_ray)):
                attempt += 1
                spec = attempt_spec(root, attempt, service.port)
                results[name].append(start_once(backend, spec, service))
                print(json.dumps({"backend": name, **results[name][-1]}), flush=True)
        left = [pg for pg in ray.util.placement_group_table().values()
                if pg["state"] != "REMOVED"]
    finally:
        ray.shutdown()
    return {"machine": machine(), "runs": runs, "ray_init_s": ray_init_s,
            "load_before": load_before, "load_after": os.getloadavg()[0],
            "placement_groups_left": len(left), "results": results}


def machine() -> str:
    import ray
    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"ray {ray.__version__}")


def markdown(summary: dict[str, Any]) -> str:
    rows = []
    for name in ("local", "ray"):
        found = summary["results"][name]
        cells = [f"{statistics.median(r[k] for r in found):.2f} "
                 f"({min(r[k] for r in found):.2f}-{max(r[k] for r in found):.2f})"
                 for k in ("start_call_s", "running_s", "heartbeat_s", "first_step_s")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    local, on_ray = (statistics.median(r["first_step_s"] for r in summary["results"][k])
                     for k in ("local", "ray"))
    return "\n".join([
        f"`python benchmarks/bench_gang_startup.py --runs {summary['runs']} --write` on "
        f"{summary['machine']}; load average {summary['load_before']:.1f} before, "
        f"{summary['load_after']:.1f} after (the machine is shared).",
        "",
        "A 2-rank digits gang (DDP over gloo, one CPU thread per rank) started by each backend, "
        "alternately; seconds from `backend.start` (median, and the range over the runs). Ray is "
        "a private single-node instance with two fake GPUs as the slots (`ray.init`: "
        f"{summary['ray_init_s']:.1f} s, once per service).",
        "",
        "| backend | `start()` blocks | ranks running | first heartbeat | first step |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"The Ray backend adds {on_ray - local:+.2f} s to a gang's start (median first step "
        f"{on_ray:.2f} s against {local:.2f} s): the placement group, then one actor per rank "
        "(a new Ray worker process each) reporting their node, then the launch of the "
        "processes; the rest, the same under both, is the job's own start-up (Python, torch, "
        "the gloo rendezvous, the data). `start()` itself only submits to Ray, so it blocks "
        "the round loop no longer than the local backend's fork-and-exec. The benchmark polls "
        "every 10 ms; under the service each launch step waits for the next tick of the round "
        "loop (`--tick-seconds`, 0.5 s by default): up to one tick more before the processes "
        "start. Placement "
        f"groups left after the runs: {summary['placement_groups_left']}.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per backend")
    parser.add_argument("--write", action="store_true", help="write the results into "
                                                             "BENCHMARKS.md")
    args = parser.parse_args()
    summary = run(args.runs)
    text = markdown(summary)
    print(text)
    if args.write:
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
