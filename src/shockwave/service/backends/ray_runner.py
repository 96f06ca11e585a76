"""``RankRunner``: one rank of an attempt, run by a Ray actor on the node its bundle holds.

The actor starts the job's command as a child process, exactly as the local backend would (its
own session, output to ``rank-<r>.log``, the same environment contract), and waits for it. The
child must not outlive the actor: it asks the kernel for SIGKILL when the thread that started it
ends (``PR_SET_PDEATHSIG``), and that thread lives until the child has exited. So ``ray.kill``,
a crashed worker or a dead node (whose raylet takes its workers with it) also ends the rank.

Plain Python: ``ray.py`` makes it an actor; tests can run it without Ray. Only ``where`` needs
Ray, to say which node and GPUs the actor got."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shockwave.service.backends.gang import inherited_env

_PR_SET_PDEATHSIG = 1
EXIT_NOT_STARTED = 127
"""The shell's "command not found": the rank's process could not be started."""


class RankRunner:
    """Starts, signals and waits for one rank's process. Methods may run concurrently (a
    threaded actor): ``wait_exit`` blocks while ``signal`` is called."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._code: int | None = None
        self._ended = threading.Event()
        self._lock = threading.Lock()

    def where(self) -> dict[str, Any]:
        """The node this actor runs on (id and address), the GPU ids Ray gave it, and a TCP
        port free on the node now (rank 0's serves the gang's rendezvous)."""
        import ray

        ip = ray.util.get_node_ip_address()
        return {"node_id": ray.get_runtime_context().get_node_id(), "ip": ip,
                "gpu_ids": [str(g) for g in ray.get_gpu_ids()], "port": free_port(ip)}

    def launch(self, argv: Sequence[str], cwd: str | None, env: Mapping[str, str],
               log_path: str) -> int:
        """Start the rank's process with this node's environment (less the service's
        variables) plus ``env``; its pid. Raises ``OSError`` if it cannot start."""
        full_env = {**inherited_env(os.environ), **env}
        started = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(target=self._supervise, name="shockwave-rank", daemon=True,
                                  args=(list(argv), cwd, full_env, log_path, started, failure))
        thread.start()
        started.wait()
        if failure:
            raise failure[0]
        assert self._proc is not None
        return self._proc.pid

    def wait_exit(self) -> int:
        """Block until the process has exited; its exit code (128 + N for signal N)."""
        self._ended.wait()
        assert self._code is not None
        return self._code

    def status(self) -> dict[str, Any]:
        """``idle`` (never launched), ``running`` or ``exited`` with its code (recovery)."""
        if self._ended.is_set():
            return {"state": "exited", "code": self._code}
        return {"state": "idle" if self._proc is None else "running", "code": None}

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process's group (it and whatever it started), if it runs."""
        with self._lock:
            if self._proc is None or self._ended.is_set():
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, sig)

    # -- the thread that owns the child ------------------------------------------------------
    def _supervise(self, argv: list[str], cwd: str | None, env: dict[str, str], log_path: str,
                   started: threading.Event, failure: list[BaseException]) -> None:
        try:
            os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)  # on another machine
            with open(log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, close_fds=True, start_new_session=True,
                    preexec_fn=die_with_parent(os.getpid()))
        except BaseException as exc:  # noqa: BLE001 - handed to launch(), which raises it
            failure.append(exc)
            self._code = EXIT_NOT_STARTED
            self._ended.set()
            started.set()
            return
        started.set()
        pid = self._proc.pid
        # Wait without reaping, so that the group id cannot be reused while signal() may
        # still aim at it; then reap and mark it ended in one step.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            returncode = self._proc.wait()
            self._code = 128 - returncode if returncode < 0 else returncode
            self._ended.set()


def free_port(host: str = "") -> int:
    """A TCP port free on ``host`` now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, 0))
        except OSError:
            sock.bind(("", 0))
        return int(sock.getsockname()[1])


def die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when the thread that started it
    ends (Linux ``PR_SET_PDEATHSIG``); the child exits at once if its parent is already gone.
    ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork: nothing to import after
    prctl = libc.prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(EXIT_NOT_STARTED)

    return preexec
