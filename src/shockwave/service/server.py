"""``serve``: own the state directory, open its store, build the app over its backend (the
local one unless told otherwise) and run it under uvicorn until interrupted (running jobs are
left running: a restart adopts them)."""

from __future__ import annotations

import errno
import fcntl
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shockwave.errors import InputError
from shockwave.service.api.app import create_app
from shockwave.service.backends.base import Backend
from shockwave.service.backends.local import LocalBackend
from shockwave.service.config import Settings
from shockwave.service.store import Store


@contextmanager
def own_state_dir(settings: Settings) -> Iterator[None]:
    """Hold the state directory's lock file: one service per state directory."""
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(settings.state_dir / "service.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise InputError(f"cannot use it: {exc.strerror}", path=settings.state_dir,
                         field="--state-dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another shockwave service is using this state directory",
                             path=settings.state_dir, field="--state-dir") from None
        yield
    finally:
        os.close(fd)


def check_port_free(host: str, port: int) -> None:
    """Refuse early, with one line, when the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise InputError(f"cannot listen on {host}:{port}: {why}", field="--port") from None


def run_server(settings: Settings, log_level: str = "info",
               make_backend: Callable[[], Backend] | None = None) -> None:
    """Serve until interrupted, over the backend ``make_backend`` builds once the state
    directory is ours (default: ``LocalBackend``)."""
    import uvicorn

    check_port_free(settings.host, settings.port)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s "
                                                        "%(message)s")
    with own_state_dir(settings):
        store = Store(settings.db_path)
        try:
            backend = make_backend() if make_backend is not None else LocalBackend(settings)
            app = create_app(settings, store, backend)
            # Everything imported so far lives as long as the process: keep it out of the
            # cyclic collector's full passes, which otherwise stall heartbeats for tens of ms
            # (p99 latency at 1,000 heartbeats/s: 25-35 ms -> 7 ms, BENCHMARKS.md).
            gc.freeze()
            uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                        access_log=log_level == "debug")
        finally:
            store.close()
