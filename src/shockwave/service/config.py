"""``Settings``: everything the service is configured with, in one frozen object (built by
``shockwave serve`` from its options, or directly by tests). Units are in the names."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shockwave.config import check_range
from shockwave.errors import InputError
from shockwave.limits import MAX_GPUS, MAX_ROUND_S, MIN_ROUND_S

DEFAULT_PORT = 8470
DEFAULT_STATE_DIR = "shockwave-state"
DEFAULT_SAMPLES_PER_S = 100.0
"""A job's speed (samples/s of the whole gang) before it has reported any and when its spec
gives no ``expected_samples_per_s`` hint: what the planner assumes for a job never seen running."""

SlotKind = Literal["cuda", "cpu"]
BackendName = Literal["local", "ray"]


@dataclass(frozen=True)
class Settings:
    """The service's configuration. ``cuda_devices`` names the CUDA device of each slot when
    ``slot_kind`` is ``cuda`` (slot i is ``cuda_devices[i]``). ``servers`` gives the number of
    slots of each server in slot order (empty: one server holds them all); ``slot_names`` says
    what each slot is when the backend knows better (a Ray node's GPU)."""

    state_dir: Path
    gpus: int = 1
    slot_kind: SlotKind = "cpu"
    cuda_devices: tuple[str, ...] = ()
    servers: tuple[int, ...] = ()
    slot_names: tuple[str, ...] = ()
    backend: BackendName = "local"
    ray_address: str | None = None
    """``serve --ray-address``: ``auto``, ``HOST:PORT`` or ``ray://...``; None: a private Ray."""
    ray_resource: str = "GPU"
    """The Ray node resource whose units are slots (one per rank)."""
    checkpoint_root: Path | None = None
    """``serve --checkpoint-dir``: where jobs checkpoint (default: the state directory's
    ``checkpoints``); on Ray, a directory every node reaches at the same path."""
    advertise_host: str | None = None
    """The address jobs use to reach the service when ``host`` is a wildcard (the Ray backend:
    this machine's address on the Ray cluster)."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    policy: str = "shockwave"
    policy_config: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    round_s: float = 120.0
    heartbeat_s: float = 5.0
    lease_s: float | None = None
    """How long a heartbeat keeps the lease alive; default three heartbeats."""
    startup_s: float = 120.0
    """The lease of a new attempt: how long it may take to send its first heartbeat."""
    min_train_s: float | None = None
    """A revoked attempt trains at least this long, and at least as long as its start-up took,
    before it must stop; one still starting is not revoked before its start-up lease is over.
    Default: half a round. (Rounds shorter than a job's start-up, say on a loaded machine,
    would otherwise restart jobs without end, each for one step.) 0: revoke at once."""
    grace_s: float = 30.0
    """Soft deadline to checkpoint after a stop request, then again from SIGTERM to the kill."""
    tick_s: float = 0.5
    """How often the round loop reconciles."""
    backoff_s: float = 10.0
    max_backoff_s: float = 300.0
    default_samples_per_s: float = DEFAULT_SAMPLES_PER_S
    throughputs: str | None = None
    """A throughputs JSON (``shockwave profile``'s output) for speeds not yet measured."""
    gpu_type: str = "v100"
    """The GPU type of the throughputs table a slot stands for."""
    workload_facts: str | None = None
    """A workload-facts file whose learned schedules shape adaptive jobs' profiles."""
    log_tail_lines: int = 20
    token: str | None = field(default=None, repr=False)
    metrics_need_token: bool = False
    """``/metrics`` asks for the token too (by default it is open, as Prometheus expects)."""
    dashboard: bool = True
    """Serve the dashboard at ``/`` (its reads need no token; actions go through ``/v1``)."""
    run_loop: bool = True
    """Start the round loop in the app's lifespan (tests drive ``tick()`` themselves)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) \
                or not 1 <= self.gpus <= MAX_GPUS:
            raise InputError(f"must be an integer in [1, {MAX_GPUS:,}], got {self.gpus!r}",
                             field="--gpus")
        if self.slot_kind == "cuda" and self.backend == "local" \
                and len(self.cuda_devices) < self.gpus:
            raise InputError(f"{self.gpus} slots asked for but {len(self.cuda_devices)} CUDA "
                             "device(s) are visible", field="--gpus")
        if self.servers and (sum(self.servers) != self.gpus or min(self.servers) < 1):
            raise InputError(f"servers of {list(self.servers)} slots do not make {self.gpus}",
                             field="servers")
        if self.slot_names and len(self.slot_names) != self.gpus:
            raise InputError(f"{len(self.slot_names)} slot names for {self.gpus} slots",
                             field="slot_names")
        if self.checkpoint_root is not None:
            object.__setattr__(self, "checkpoint_root", Path(self.checkpoint_root))
        check_range("--round-seconds", self.round_s, MIN_ROUND_S, MAX_ROUND_S)
        for name, value in (("--heartbeat-seconds", self.heartbeat_s),
                            ("--startup-seconds", self.startup_s),
                            ("--grace-seconds", self.grace_s), ("--tick-seconds", self.tick_s),
                            ("--backoff-seconds", self.backoff_s),
                            ("--max-backoff-seconds", self.max_backoff_s),
                            ("default_samples_per_s", self.default_samples_per_s)):
            check_range(name, value, 0.0, MAX_ROUND_S * 10, low_open=True)
        if self.min_train_s is None:
            object.__setattr__(self, "min_train_s", self.round_s / 2)
        check_range("--min-train-seconds", self.min_train_s, 0.0, MAX_ROUND_S * 10)
        if self.lease_s is None:
            object.__setattr__(self, "lease_s", 3 * self.heartbeat_s)
        check_range("--lease-seconds", self.lease_s, self.heartbeat_s, MAX_ROUND_S * 10)
        if not 1 <= self.port <= 65535:
            raise InputError(f"must be in [1, 65535], got {self.port}", field="--port")
        if self.token is not None and not self.token.strip():
            raise InputError("must not be empty", field="--token")
        if self.metrics_need_token and self.token is None:
            raise InputError("asks for a token the service does not have: give --token or set "
                             "SHOCKWAVE_TOKEN", field="--metrics-need-token")

    # -- derived -----------------------------------------------------------------------------
    @property
    def lease_ttl_s(self) -> float:
        return float(self.lease_s)  # type: ignore[arg-type]

    @property
    def min_train_floor_s(self) -> float:
        return float(self.min_train_s)  # type: ignore[arg-type]

    @property
    def db_path(self) -> Path:
        return self.state_dir / "shockwave.db"

    @property
    def attempts_dir(self) -> Path:
        return self.state_dir / "attempts"

    @property
    def checkpoints_dir(self) -> Path:
        return self.checkpoint_root or self.state_dir / "checkpoints"

    @property
    def slot_layout(self) -> tuple[tuple[int, ...], ...]:
        """Slot ids grouped by server, in server order."""
        sizes = self.servers or (self.gpus,)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return tuple(tuple(range(start, start + size)) for start, size in zip(starts, sizes,
                                                                              strict=True))

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def job_server_url(self) -> str:
        """The URL the service's own jobs use to reach it: on this machine (the local backend)
        loopback serves for a wildcard ``host``; on other machines ``advertise_host`` does."""
        wildcard = self.host in ("0.0.0.0", "", "::")
        host = self.advertise_host if wildcard and self.advertise_host else self.host
        host = "127.0.0.1" if host in ("0.0.0.0", "", "localhost") else host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    def slot_device(self, slot: int) -> str:
        """What slot ``slot`` is: ``cuda:<id>`` or ``cpu`` (or its name from the backend)."""
        if self.slot_names:
            return self.slot_names[slot]
        return f"cuda:{self.cuda_devices[slot]}" if self.slot_kind == "cuda" else "cpu"


def is_loopback(host: str) -> bool:
    """``localhost`` and loopback addresses; anything else (``0.0.0.0`` included) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def detect_cuda_devices() -> tuple[str, ...]:
    """CUDA devices visible to this process without importing torch: ``CUDA_VISIBLE_DEVICES``
    when set, else one per GPU the NVIDIA driver lists in ``/proc/driver/nvidia/gpus``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return tuple(d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1")
    gpus = Path("/proc/driver/nvidia/gpus")
    try:
        return tuple(str(i) for i in range(len(list(gpus.iterdir()))))
    except OSError:
        return ()

