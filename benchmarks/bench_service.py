"""The service's own costs (issue 9), on loopback, bounded in count and time.

1. Heartbeats: ``shockwave serve``'s app under uvicorn (a separate process) with 1,000 running
   attempts (fake backend: no processes, no torch); a load generator (this process) makes each
   attempt heartbeat once a second for ``--seconds`` seconds, with its own token, and measures
   every request's latency.
2. Round bookkeeping: 1,000 queued jobs on 256 slots (fake backend); the time of a round
   boundary, split into the policy's decision and the service's own work (re-plan, persistence,
   lease updates), as the ``rounds`` table records them.
3. Preempt-to-resume of the digits workload, as the local backend does it: SIGTERM while it
   trains -> checkpoint -> exit 75 (stop to exit), then a new process -> restored (start-up,
   torch import and restore) -> training.

    python benchmarks/bench_service.py [--seconds 20] [--skip-resume]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ATTEMPTS = 1000


def _settings(state_dir: Path, slots: int, policy: str, **extra: object):  # noqa: ANN202
    from shockwave.service.config import Settings

    return Settings(state_dir=state_dir, gpus=slots, policy=policy, round_s=3600.0,
                    heartbeat_s=1.0, lease_s=30.0, startup_s=3600.0, tick_s=0.5, **extra)


def _running_service(state_dir: Path, slots: int, policy: str):  # noqa: ANN202
    """A store with ``slots`` single-slot jobs, each with a running attempt on the fake backend;
    their tokens."""
    from shockwave.protocol import ENV_TOKEN
    from shockwave.service.backends.fake import FakeBackend
    from shockwave.service.clock import ServiceClock
    from shockwave.service.jobspec import JobSubmit
    from shockwave.service.rounds import RoundLoop, make_planner
    from shockwave.service.store import Store

    settings = _settings(state_dir, slots, policy)
    store, backend = Store(settings.db_path), FakeBackend()
    clock = ServiceClock(store)
    for i in range(slots):
        store.add_job(JobSubmit(name=f"bench{i}", command=["true"], batch_size=32,
                                samples_per_epoch=50_000, total_epochs=100,
                                expected_samples_per_s=1000.0), clock.now())
    loop = RoundLoop(settings, store, backend, clock, make_planner(settings))
    loop.tick()
    tokens = {a: fake.spec.env[ENV_TOKEN] for a, fake in backend.attempts.items()}
    return settings, store, backend, clock, loop, tokens


def serve_for_heartbeats(state_dir: str, port: int, tokens_file: str) -> None:
    """The server side of benchmark 1 (run in its own process)."""
    import uvicorn

    from shockwave.service.api.app import create_app

    settings, store, backend, clock, _, tokens = _running_service(Path(state_dir), ATTEMPTS,
                                                                   "fifo")
    Path(tokens_file).write_text(json.dumps(tokens))
    app = create_app(settings, store, backend, clock=clock)
    if not os.environ.get("BENCH_NO_FREEZE"):  # as `shockwave serve` does
        import gc

        gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _heartbeats(port: int, tokens: dict[str, str], seconds: float,
                      connections: int = 32) -> list[float]:
    """Each attempt heartbeats once a second (attempt ``i`` at ``i/n`` s into every second) over
    ``connections`` keep-alive HTTP/1.1 connections. A minimal client on asyncio streams: a
    general-purpose client costs more CPU per request than the server does, and both share the
    machine. Latency: from the request's scheduled time to the end of its answer (waiting for a
    connection counts)."""
    from shockwave.protocol import Heartbeat, Progress

    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []

    def request(attempt_id: str, token: str, seq: int) -> bytes:
        progress = Progress(step=seq, samples=32 * seq, epoch=0, epoch_samples=32 * seq,
                            samples_per_epoch=50_000, batch_size=32)
        body = Heartbeat(seq=seq, progress=progress, samples_per_s=1000.0).model_dump_json()
        return (f"POST /v1/attempts/{attempt_id}/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (item := await queue.get()) is not None:
            due, payload = item
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    items = list(tokens.items())
    start = time.perf_counter() + 0.5
    for seq in range(int(seconds)):
        for i, (attempt_id, token) in enumerate(items):
            due = start + seq + i / len(items)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            queue.put_nowait((due, request(attempt_id, token, seq)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies




def bench_heartbeats(seconds: float) -> dict[str, float]:
    import httpx

    from shockwave.service.backends.local import free_port

    with tempfile.TemporaryDirectory() as tmp:
        port, tokens_file = free_port(), Path(tmp) / "tokens.json"
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import bench_service as b; "
                "b.serve_for_heartbeats(sys.argv[2], int(sys.argv[3]), sys.argv[4])")
        server = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent),
                                   str(Path(tmp) / "state"), str(port), str(tokens_file)])
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if tokens_file.exists() and httpx.get(f"{url}/v1/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            tokens = json.loads(tokens_file.read_text())
            started = time.perf_counter()
            latencies = asyncio.run(_heartbeats(port, tokens, seconds))
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()
    return {"requests": len(latencies), "per_s": len(latencies) / wall,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(0.99 * len(latencies))],
            "max_ms": 1000 * latencies[-1]}


def bench_rounds(policy: str, rounds: int = 5) -> dict[str, float]:
    """Round boundaries with 1,000 queued jobs on 256 slots (the fake backend)."""
    from shockwave.service.backends.fake import FakeBackend
    from shockwave.service.clock import FakeClock
    from shockwave.service.jobspec import JobSubmit
    from shockwave.service.rounds import RoundLoop, make_planner
    from shockwave.service.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        from dataclasses import replace

        settings = replace(_settings(Path(tmp), 256, policy, run_loop=False), round_s=60.0)
        store, backend, clock = Store(settings.db_path), FakeBackend(), FakeClock()
        for i in range(1000):
            store.add_job(JobSubmit(name=f"q{i}", command=["true"], batch_size=32,
                                    gpus=1 if i % 8 else 2, samples_per_epoch=50_000,
                                    total_epochs=10 + i % 50, expected_samples_per_s=1000.0),
                          clock.now())
        loop = RoundLoop(settings, store, backend, clock, make_planner(settings))
        for _ in range(rounds):
            loop.tick()
            clock.advance(settings.round_s)
        rows = store.rounds(limit=rounds)
    decision = [r.decision_s for r in rows]
    bookkeeping = [r.bookkeeping_s for r in rows]
    return {"rounds": len(rows), "decision_ms_median": 1000 * statistics.median(decision),
            "decision_ms_max": 1000 * max(decision),
            "bookkeeping_ms_median": 1000 * statistics.median(bookkeeping),
            "bookkeeping_ms_max": 1000 * max(bookkeeping)}


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the job ended before printing {needle!r}")
        if needle in line:
            return line
    raise RuntimeError(f"no {needle!r} within {timeout_s} s")


def bench_preempt_resume(repeats: int = 3) -> dict[str, float]:
    """The digits workload preempted and resumed, as the local backend does it: SIGTERM while it
    trains -> checkpoint -> exit 75; a new process -> restore -> training again."""
    import re
    import signal

    stop_to_exit, checkpoint_s, launch_to_restored, restore_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "shockwave.workloads.digits", "--epochs", "1000",
                "--checkpoint-dir", str(Path(tmp) / "ckpt")]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}

        def start() -> subprocess.Popen[str]:
            return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)

        proc = start()
        for _ in range(repeats):
            _wait_for_line(proc, "epoch")  # training
            stopped = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            written = _wait_for_line(proc, "written in")
            checkpoint_s.append(float(re.search(r"written in ([0-9.]+) s", written).group(1)))
            assert proc.wait(timeout=60) == 75
            stop_to_exit.append(time.perf_counter() - stopped)
            launched = time.perf_counter()
            proc = start()
            restored = _wait_for_line(proc, "restored")
            launch_to_restored.append(time.perf_counter() - launched)
            restore_s.append(float(re.search(r" in ([0-9.]+) s", restored).group(1)))
        proc.kill()
        proc.wait()
    return {"preemptions": repeats,
            "sigterm_to_exit_s_median": statistics.median(stop_to_exit),
            "checkpoint_write_s_median": statistics.median(checkpoint_s),
            "launch_to_restored_s_median": statistics.median(launch_to_restored),
            "restore_s_median": statistics.median(restore_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-resume", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print("heartbeats:", json.dumps(bench_heartbeats(args.seconds)))
    for policy in ("fifo", "max_min_fairness", "shockwave"):
        print(f"round, 1,000 queued jobs, {policy}:", json.dumps(bench_rounds(policy)))
    if not args.skip_resume:
        print("preempt-to-resume, digits:", json.dumps(bench_preempt_resume()))


if __name__ == "__main__":
    main()
