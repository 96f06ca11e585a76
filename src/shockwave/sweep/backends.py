"""Where a sweep's runs execute: in this process, in a pool of local processes, or as Ray tasks.

A backend takes ``(index, point)`` tasks and yields ``(index, Outcome)`` as each run finishes, in
whatever order they finish; the driver writes each to the cache at once. Ray is imported only
here, and only when a Ray backend is made (it is the ``[ray]`` extra).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from shockwave.errors import InputError
from shockwave.sweep.execute import Outcome, SharedInputs, simulate_point
from shockwave.sweep.grid import RunPoint

Task = tuple[int, RunPoint]


class Backend(Protocol):
    """Runs tasks and yields their outcomes as they finish; ``close`` stops what is left."""

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Outcome]]: ...

    def close(self) -> None: ...


_shared: SharedInputs | None = None
"""A pool worker's copy of the sweep's shared inputs, set once by ``_init_worker``."""


def _init_worker(shared: SharedInputs) -> None:
    # Ctrl-C is the driver's to handle: it stops the pool itself and keeps what finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _shared
    _shared = shared


def _run_in_worker(task: Task) -> tuple[int, Outcome]:
    assert _shared is not None, "the pool's initializer sets the shared inputs"
    index, point = task
    return index, simulate_point(point, _shared)


class LocalBackend:
    """``workers`` processes on this machine (forked when the platform can: make it before
    starting threads, e.g. a progress display); one worker runs in this process."""

    def __init__(self, shared: SharedInputs, workers: int) -> None:
        self.shared = shared
        self.pool: Any = None
        if workers > 1:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self.pool = context.Pool(workers, initializer=_init_worker, initargs=(shared,))

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Outcome]]:
        if self.pool is None:
            for index, point in tasks:
                yield index, simulate_point(point, self.shared)
            return
        yield from self.pool.imap_unordered(_run_in_worker, tasks)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def import_ray() -> Any:
    """The ``ray`` module, or a one-line ``InputError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("ray is not installed; install shockwave[ray] "
                         "(pip install 'shockwave[ray]')", field="--ray") from None
    return ray


CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str) -> None:
    """Fail fast, in one line, when nothing listens at a ``HOST:PORT`` (or ``ray://HOST:PORT``)
    address: Ray itself retries for minutes. ``auto`` and other forms are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}",
                         field="--ray-address") from None


class RayBackend:
    """One Ray task (``num_cpus=1``) per run. Connects to the cluster at ``address`` (``auto``:
    the one ``ray start`` runs on this machine), or starts a new local one with ``num_cpus`` (and
    stops it in ``close``); uses Ray as it is when this process already initialised it."""

    POLL_S = 0.1

    def __init__(self, shared: SharedInputs, address: str | None, num_cpus: int | None) -> None:
        self.ray = import_ray()
        self.started = False
        if not self.ray.is_initialized():
            if address is not None:
                check_reachable(address)
            try:
                # "local": a new cluster of our own, even when `ray start` runs one here.
                self.ray.init(address=address or "local",
                              num_cpus=num_cpus if address is None else None,
                              include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"at {address}" if address else "locally"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputError(f"cannot start or reach Ray {where}: {first}",
                                 field="--ray-address" if address else "--ray") from None
            self.started = True
        self.shared_ref = self.ray.put(shared)
        self.remote = self.ray.remote(num_cpus=1)(simulate_point)

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Outcome]]:
        ray = self.ray
        pending = {self.remote.remote(point, self.shared_ref): index for index, point in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=self.POLL_S)
                for ref in done:
                    yield pending.pop(ref), ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False
