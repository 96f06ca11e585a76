"""``LocalBackend``: attempts as process groups on this machine (reference/RUNTIME.md 3.8).

Rank 0 starts in a new process group it leads (``process_group=0``); the other ranks join that
group, so one ``killpg`` reaches the whole gang and whatever it started. (Rank 0 does not start a
new session: a process may only join a group of its own session, so the other ranks could not
follow it. The group is never the terminal's foreground group, so a Ctrl-C of ``serve`` does not
reach the jobs.) Each rank writes stdout and
stderr to ``rank-<r>.log`` in the attempt's directory. The handle records every rank's pid and
its start time from ``/proc`` so that a restarted service can tell its processes from a later
process that reused a pid; it cannot ``wait()`` on processes it did not start, so it polls
``/proc`` and reads the report file for their exit code.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

from shockwave.protocol import (
    ENV_LOCAL_RANK,
    ENV_MASTER_ADDR,
    ENV_MASTER_PORT,
    ENV_RANK,
    ENV_WORLD_SIZE,
)
from shockwave.service.backends.base import AttemptExit, AttemptSpec, Handle, read_report
from shockwave.service.backends.gang import (
    failed_ranks,
    gang_exit,
    inherited_env,
    orderly_report,
)
from shockwave.service.config import Settings


class LocalBackend:
    """Process groups on this machine; slots are CUDA devices or CPU slots (``settings``)."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        # The service's own environment minus its secrets and the variables set per rank.
        self._base_env = inherited_env(os.environ if environ is None else environ)
        self._children: dict[int, list[subprocess.Popen[bytes]]] = {}
        self._torn_down: dict[int, frozenset[int]] = {}
        """Per attempt, the ranks still running when a rank's failure made this backend kill
        the gang (their 137 is not the gang's failure)."""

    # -- the four verbs ------------------------------------------------------------------------
    def start(self, spec: AttemptSpec) -> Handle:
        spec.attempt_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for rank, _slot in enumerate(spec.slots):
                procs.append(self._start_rank(spec, rank, port, procs[0].pid if procs else None))
        except BaseException:
            if procs:
                _killpg(procs[0].pid, signal.SIGKILL)
                for proc in procs:
                    proc.wait()
            raise
        self._children[spec.attempt_id] = procs
        return {
            "attempt_id": spec.attempt_id,
            "pgid": procs[0].pid,
            "ranks": [{"pid": p.pid, "start": proc_start_time(p.pid)} for p in procs],
            "report_file": str(spec.report_file),
            "master_port": port,
        }

    def poll(self, handle: Handle) -> AttemptExit | None:
        """The attempt's exit once every rank has exited, else ``None``. A rank that dies
        tears the gang down, unless rank 0 has already given an orderly exit report: the gang
        agreed to stop and checkpointed, and a crash in a rank's teardown after that (torch's
        process-group shutdown can abort on a loaded machine) changes nothing; the attempt ends
        as its report says."""
        codes = self._rank_codes(handle)
        if any(code == "running" for code in codes):
            known = [c if isinstance(c, int) else None for c in codes]
            if failed_ranks(known) and orderly_report(handle["report_file"]) is None:
                self._torn_down.setdefault(handle["attempt_id"], frozenset(
                    r for r, c in enumerate(codes) if c == "running"))
                self.kill(handle)  # a rank died: the rest of the gang cannot go on without it
            return None
        _killpg_safely(handle, signal.SIGKILL)  # whatever the ranks left behind
        self._children.pop(handle["attempt_id"], None)
        killed = self._torn_down.pop(handle["attempt_id"], frozenset())
        report = read_report(handle["report_file"])
        known = [c for c in codes if isinstance(c, int)]
        if len(known) < len(codes):  # ended while nobody could wait for it
            if report is None:
                return AttemptExit(None)
            return AttemptExit(report.exit_code, None, report)
        return gang_exit(known, report, killed)

    def stop(self, handle: Handle, grace_s: float) -> None:
        _killpg_safely(handle, signal.SIGTERM)

    def kill(self, handle: Handle) -> None:
        _killpg_safely(handle, signal.SIGKILL)
        for rank in handle["ranks"]:  # a rank that left the group (setsid) is still ours
            if _same_process(rank["pid"], rank["start"]):
                _signal(rank["pid"], signal.SIGKILL)

    def alive(self, handle: Handle) -> bool:
        return any(code == "running" for code in self._rank_codes(handle))

    def unavailable_slots(self) -> frozenset[int]:
        return frozenset()  # this machine's slots come and go with it

    def reap_orphans(self, live: list[Handle]) -> int:
        return 0  # an unrecorded process is told stop_now at its first heartbeat

    # -- helpers -------------------------------------------------------------------------------
    def _start_rank(self, spec: AttemptSpec, rank: int, port: int,
                    group: int | None) -> subprocess.Popen[bytes]:
        env = dict(self._base_env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.settings.slot_kind == "cpu":
            env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.update(spec.env)
        devices = ([self.settings.cuda_devices[s] for s in spec.slots]
                   if self.settings.slot_kind == "cuda" else [])
        env.update({
            ENV_RANK: str(rank), ENV_LOCAL_RANK: str(rank), ENV_WORLD_SIZE: str(len(spec.slots)),
            ENV_MASTER_ADDR: "127.0.0.1", ENV_MASTER_PORT: str(port),
            # Every rank sees the gang's devices, so that cuda:LOCAL_RANK is its own.
            "CUDA_VISIBLE_DEVICES": ",".join(devices),
        })
        log_path = spec.attempt_dir / f"rank-{rank}.log"
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                list(spec.argv), cwd=spec.working_dir, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                process_group=0 if group is None else group)

    def _rank_codes(self, handle: Handle) -> list[int | str]:
        """Per rank: its exit code (128 + N if signal N ended it), ``running``, or ``unknown``."""
        procs = self._children.get(handle["attempt_id"])
        if procs is not None:
            return [_code(p.poll()) for p in procs]
        return [_adopted_code(rank["pid"], rank["start"]) for rank in handle["ranks"]]


def free_port() -> int:
    """A TCP port free on loopback now (bind to port 0), for the gang's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22), or
    ``None`` if there is no such process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (the state) on: the command name may hold spaces."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _same_process(pid: int, start: int | None) -> bool:
    """Whether ``pid`` is still the live (not zombie) process that started at ``start``."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X") and int(fields[19]) == start


def _adopted_code(pid: int, start: int | None) -> int | str:
    """A process this backend object did not start: reap it if it is our child after all (a
    restarted app in the same process), else ask ``/proc``."""
    with contextlib.suppress(ChildProcessError):
        if _stat_fields(pid) is not None and proc_start_time(pid) == start:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return _code(os.waitstatus_to_exitcode(status))
    return "running" if _same_process(pid, start) else "unknown"


def _code(returncode: int | None) -> int | str:
    if returncode is None:
        return "running"
    return 128 - returncode if returncode < 0 else returncode


def _killpg_safely(handle: Handle, sig: int) -> None:
    """Signal the attempt's process group, unless its id now belongs to someone else: Linux does
    not reuse a pid as long as a group of that id exists, so the group is ours if its leader is
    gone or is still the rank 0 we started."""
    pgid = handle["pgid"]
    leader_start = proc_start_time(pgid)
    if leader_start is not None and leader_start != handle["ranks"][0]["start"]:
        return
    _killpg(pgid, sig)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:  # EPERM: no process of that group is ours any more
        if exc.errno != errno.EPERM:
            raise


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
