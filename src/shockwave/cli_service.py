"""``shockwave serve`` and the commands that talk to it: ``submit``, ``jobs``, ``status``,
``cancel``, ``logs`` (docs/service.md). The main CLI mounts these commands.

Every ``ShockwaveError`` becomes one line ``error: ...`` and exit status 2 (``cli.main``): a spec
the service refuses (``error: job.yaml:4: gpus: ...``), a bad job file, an unknown job, a service
that cannot be reached."""

from __future__ import annotations

import json
import os
import shlex
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shockwave.cli_options import finite_range, int_range, throughputs_source
from shockwave.errors import InputError
from shockwave.limits import MAX_GPUS, MAX_ROUND_S, MIN_ROUND_S

app = typer.Typer(add_completion=False, rich_markup_mode=None)
stdout = Console(width=None if sys.stdout.isatty() else 132)

DEFAULT_SERVER = "http://127.0.0.1:8470"
ServerOpt = Annotated[str, typer.Option("--server", envvar="SHOCKWAVE_SERVER", help="the service's URL (or SHOCKWAVE_SERVER)")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="SHOCKWAVE_TOKEN", help="the service's bearer token, if it has one (or SHOCKWAVE_TOKEN)", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the service's JSON answer")]
JobArg = Annotated[str, typer.Argument(help="job id (or a name only one job has)")]


class Device(StrEnum):
    """What a slot is."""

    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


class BackendChoice(StrEnum):
    """Where attempts run."""

    local = "local"
    ray = "ray"


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


class Adaptation(StrEnum):
    static = "static"
    accordion = "accordion"
    gns = "gns"


# -- serve -----------------------------------------------------------------------------------------

def _check_throughputs(settings: Any) -> None:
    """The --throughputs table (with --gpu-type in it) and --workload-facts, read before
    anything starts."""
    from shockwave.service.views import SpeedModel

    model = SpeedModel.from_settings(settings)
    if model.table is not None and settings.gpu_type not in model.table.gpu_types:
        raise InputError(f"{settings.gpu_type!r} is not in {settings.throughputs} (it has "
                         f"{', '.join(model.table.gpu_types) or 'no GPU type'})",
                         field="--gpu-type")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on; off loopback a token is required")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port", callback=int_range(1, 65535))] = 8470,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="where the database, logs and checkpoints live")] = Path("shockwave-state"),
    gpus: Annotated[int | None, typer.Option("--gpus", help=f"slots on this machine, 1..{MAX_GPUS:,} (default: every visible CUDA device, else half the CPU cores)", callback=int_range(1, MAX_GPUS, optional=True), show_default=False)] = None,
    device: Annotated[Device, typer.Option("--device", help="slots are CUDA devices or CPU slots; auto: CUDA when present")] = Device.auto,
    policy: Annotated[str, typer.Option("--policy", "-p", help="any registered policy or alias (`shockwave policies`)")] = "shockwave",
    policy_config: Annotated[Path | None, typer.Option("--policy-config", help="policy knobs as JSON (e.g. Shockwave's)")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="policy parameter key=value (repeatable)")] = None,
    round_seconds: Annotated[float, typer.Option("--round-seconds", help=f"round length, s ({MIN_ROUND_S:g}..{MAX_ROUND_S:g})", callback=finite_range(MIN_ROUND_S, MAX_ROUND_S, "s"))] = 120.0,
    heartbeat_seconds: Annotated[float, typer.Option("--heartbeat-seconds", help="how often jobs report, s", callback=finite_range(0.0, 3600.0, "s", low_open=True))] = 5.0,
    lease_seconds: Annotated[float | None, typer.Option("--lease-seconds", help="a heartbeat keeps the lease this long, s (default: 3 heartbeats)", callback=finite_range(0.0, 86400.0, "s", low_open=True, optional=True), show_default=False)] = None,
    startup_seconds: Annotated[float, typer.Option("--startup-seconds", help="time a new attempt has to send its first heartbeat, s", callback=finite_range(0.0, 86400.0, "s", low_open=True))] = 120.0,
    min_train_seconds: Annotated[float | None, typer.Option("--min-train-seconds", help="a revoked job trains at least this long, and as long as its start-up took, before it must stop; 0: stop at once, s (default: half a round)", callback=finite_range(0.0, 864000.0, "s", optional=True), show_default=False)] = None,
    grace_seconds: Annotated[float, typer.Option("--grace-seconds", help="to checkpoint after a stop request, then from SIGTERM to the kill, s", callback=finite_range(0.0, 86400.0, "s", low_open=True))] = 30.0,
    tick_seconds: Annotated[float, typer.Option("--tick-seconds", help="how often the round loop reconciles (exits, leases, round boundaries), s", callback=finite_range(0.01, 10.0, "s"))] = 0.5,
    backoff_seconds: Annotated[float, typer.Option("--backoff-seconds", help="first retry delay after a failure (doubles, up to 300 s)", callback=finite_range(0.0, 86400.0, "s", low_open=True))] = 10.0,
    throughputs: Annotated[str | None, typer.Option("--throughputs", help="throughputs JSON (e.g. from `shockwave profile`; or a bundled table: tacc, gavel): speeds of jobs, by their name, until the service has measured them", callback=throughputs_source)] = None,
    gpu_type: Annotated[str, typer.Option("--gpu-type", help="the GPU type of the --throughputs table that a slot stands for")] = "v100",
    workload_facts: Annotated[Path | None, typer.Option("--workload-facts", help="workload facts (e.g. from `shockwave profile`): the learned batch-size schedules of adaptive jobs shape their profiles, as in the simulator")] = None,
    checkpoint_dir: Annotated[Path | None, typer.Option("--checkpoint-dir", help="where jobs checkpoint (default: STATE_DIR/checkpoints); with --backend ray, a directory every node reaches at this same path (NFS)", show_default=False)] = None,
    backend: Annotated[BackendChoice, typer.Option("--backend", help="where jobs run: process groups on this machine, or rank actors on a Ray cluster's nodes (pip install 'shockwave[ray]')")] = BackendChoice.local,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="with --backend ray: the cluster to join, `auto` (the one this machine is part of) or HEAD:PORT (default: start a private Ray on this machine)", show_default=False)] = None,
    ray_resource: Annotated[str | None, typer.Option("--ray-resource", help="with --backend ray: the node resource whose units are slots, one per rank (default GPU; e.g. `slot` for nodes started with --resources '{\"slot\": 2}')", show_default=False)] = None,
    token: TokenOpt = None,
    metrics_need_token: Annotated[bool, typer.Option("--metrics-need-token", help="/metrics asks for the token too (by default Prometheus scrapes it without one)")] = False,
    dashboard: Annotated[bool, typer.Option("--dashboard/--no-dashboard", help="serve the live dashboard at / (read without a token; cancelling and logs need it)")] = True,
    log_level: Annotated[LogLevel, typer.Option("--log-level", help="the service's log level")] = LogLevel.info,
) -> None:
    """Run the scheduler service: real jobs time-share this machine's slots (or a Ray
    cluster's) round by round."""
    from shockwave.experiment import parse_params
    from shockwave.service.config import Settings, detect_cuda_devices, is_loopback
    from shockwave.service.rounds import make_planner
    from shockwave.service.server import run_server

    if not is_loopback(host) and token is None:
        raise InputError(f"refusing to listen on {host} (not loopback) without a token: give "
                         "--token or set SHOCKWAVE_TOKEN", field="--host")
    common: dict[str, Any] = dict(
        state_dir=state_dir, host=host, port=port, policy=policy,
        policy_config=str(policy_config) if policy_config else None,
        params=parse_params(param or []), round_s=round_seconds, heartbeat_s=heartbeat_seconds,
        lease_s=lease_seconds, startup_s=startup_seconds, grace_s=grace_seconds, tick_s=tick_seconds,
        min_train_s=min_train_seconds,
        backoff_s=backoff_seconds, max_backoff_s=max(300.0, backoff_seconds), token=token,
        metrics_need_token=metrics_need_token,
        dashboard=dashboard,
        throughputs=str(throughputs) if throughputs else None, gpu_type=gpu_type,
        workload_facts=str(workload_facts) if workload_facts else None,
        checkpoint_root=checkpoint_dir.resolve() if checkpoint_dir else None)
    probe = Settings(gpus=1, **common)
    make_planner(probe)  # the policy and its options, checked before anything starts
    _check_throughputs(probe)
    if backend == BackendChoice.ray:
        settings, make_backend, where = _ray_settings(common, gpus, device, ray_address,
                                                      ray_resource or "GPU")
    else:
        for flag, value in (("--ray-address", ray_address), ("--ray-resource", ray_resource)):
            if value is not None:
                raise InputError("only with --backend ray", field=flag)
        cuda = detect_cuda_devices() if device != Device.cpu else ()
        if device == Device.cuda and not cuda:
            raise InputError("no CUDA device is visible", field="--device")
        kind = "cuda" if cuda else "cpu"
        slots = gpus if gpus is not None else (len(cuda) or max(1, (os.cpu_count() or 2) // 2))
        settings = Settings(gpus=slots, slot_kind=kind, cuda_devices=cuda, **common)
        make_backend, where = None, f"{slots} {kind} slot(s)"
    make_planner(settings)
    _err(f"shockwave serving on http://{host}:{port} with {settings.policy}, {where}, "
         f"{round_seconds:g} s rounds; state in {state_dir}")
    run_server(settings, log_level.value, make_backend)


def _ray_settings(common: dict[str, Any], gpus: int | None, device: Device,
                  address: str | None, resource: str) -> tuple[Any, Any, str]:
    """``serve --backend ray``: the settings over the Ray cluster's slots, how to build the
    backend, and what the slots are, in words. Joins the cluster (or starts a private one)."""
    from shockwave.service.config import Settings, is_loopback

    if gpus is not None:
        raise InputError("with --backend ray the slots are the Ray nodes' (see --ray-resource)",
                         field="--gpus")
    if device != Device.auto:
        raise InputError("with --backend ray the slots are the Ray nodes' (see --ray-resource)",
                         field="--device")
    try:
        from shockwave.service.backends import ray as ray_backend
    except ImportError:
        raise InputError("needs Ray: install shockwave[ray] (pip install 'shockwave[ray]')",
                         field="--backend") from None
    try:
        ray_backend.connect(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot join the Ray cluster at {address or 'a new local Ray'}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         field="--ray-address") from None
    topology = ray_backend.discover(resource, common["state_dir"])
    if len(topology.unavailable(ray_backend.alive_nodes())) == topology.num_slots:
        raise InputError(f"no alive node of the Ray cluster has a {resource!r} resource: start "
                         "nodes with GPUs, or give the resource that counts slots",
                         field="--ray-resource")
    here = ray_backend.driver_ip()
    elsewhere = sorted({node.ip for node in topology.nodes} - {here})
    if is_loopback(common["host"]) and elsewhere:
        raise InputError(f"jobs on Ray nodes at {', '.join(elsewhere)} cannot reach a service on "
                         f"{common['host']}: give --host {here} (or 0.0.0.0) and a --token",
                         field="--host")
    settings = Settings(
        gpus=topology.num_slots, servers=topology.slot_counts, slot_names=topology.slot_names(),
        slot_kind="cuda" if resource == "GPU" else "cpu", backend="ray", ray_address=address,
        ray_resource=resource, advertise_host=here, **common)
    where = (f"{topology.num_slots} {resource} slot(s) on {len(topology.nodes)} Ray node(s)"
             f" ({address or 'a private Ray'})")
    return settings, lambda: ray_backend.RayBackend(settings, topology), where


# -- submit ----------------------------------------------------------------------------------------

def _bundled_spec(name: str) -> Path:
    from shockwave.workloads import SPECS, spec_path

    if name not in SPECS:
        raise typer.BadParameter(f"no bundled workload {name!r}; known: {', '.join(SPECS)}",
                                 param_hint="'--workload'")
    return spec_path(name)


@app.command()
def submit(
    job_file: Annotated[Path | None, typer.Argument(help="the job spec (YAML or JSON); flags override its fields", show_default=False)] = None,
    workload: Annotated[str | None, typer.Option("--workload", "-w", help="a bundled workload's spec instead of a file: digits, digits-2rank, digits-gns, tinylm, tinylm-accordion, recommend")] = None,
    name: Annotated[str | None, typer.Option("--name", help="a label for the job")] = None,
    module: Annotated[str | None, typer.Option("--module", "-m", help="run `python -m MODULE`")] = None,
    command: Annotated[str | None, typer.Option("--command", help="run this command line (split like a shell)")] = None,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="an argument for the program (repeatable)")] = None,
    gpus: Annotated[int | None, typer.Option("--gpus", help="slots of the gang")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="initial global batch size")] = None,
    min_batch_size: Annotated[int | None, typer.Option("--min-batch-size")] = None,
    max_batch_size: Annotated[int | None, typer.Option("--max-batch-size")] = None,
    adaptation: Annotated[Adaptation | None, typer.Option("--adaptation", help="batch-size adaptation")] = None,
    total_epochs: Annotated[int | None, typer.Option("--total-epochs")] = None,
    total_samples: Annotated[int | None, typer.Option("--total-samples")] = None,
    samples_per_epoch: Annotated[int | None, typer.Option("--samples-per-epoch", help="the dataset's size")] = None,
    working_dir: Annotated[Path | None, typer.Option("--working-dir", help="where the job runs")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the job's environment (repeatable)")] = None,
    checkpoint_interval_seconds: Annotated[float | None, typer.Option("--checkpoint-interval-seconds")] = None,
    max_failures: Annotated[int | None, typer.Option("--max-failures", help="failed attempts retried before the job fails")] = None,
    priority_weight: Annotated[float | None, typer.Option("--priority-weight")] = None,
    expected_samples_per_s: Annotated[float | None, typer.Option("--expected-samples-per-s", help="speed hint until the job reports its own")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None, json_out: JsonOpt = False,
) -> None:
    """Submit a training job to the service."""
    from shockwave.service.client import Rejected

    spec: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if workload is not None:
        if job_file is not None:
            raise typer.BadParameter("give a job file or --workload, not both",
                                     param_hint="'--workload'")
        job_file = _bundled_spec(workload)
    if job_file is not None:
        from shockwave.service.jobspec import load_job_file

        spec, lines = load_job_file(job_file)
    flags = {
        "name": name, "module": module, "command": shlex.split(command) if command else None,
        "args": arg, "gpus": gpus, "batch_size": batch_size, "min_batch_size": min_batch_size,
        "max_batch_size": max_batch_size, "adaptation": adaptation.value if adaptation else None,
        "total_epochs": total_epochs, "total_samples": total_samples,
        "samples_per_epoch": samples_per_epoch,
        "working_dir": str(working_dir.resolve()) if working_dir else None,
        "env": _env_pairs(env) if env else None,
        "checkpoint_interval_s": checkpoint_interval_seconds, "max_failures": max_failures,
        "priority_weight": priority_weight, "expected_samples_per_s": expected_samples_per_s,
        "seed": seed,
    }
    spec.update({k: v for k, v in flags.items() if v is not None})
    if module is not None:
        spec.pop("command", None)
    if command is not None:
        spec.pop("module", None)
    with _client(server, token) as client:
        try:
            job = client.submit(spec)
        except Rejected as exc:
            source = job_file if job_file is not None and exc.field.split("[")[0].split(".")[0] \
                not in {k for k, v in flags.items() if v is not None} else None
            line = lines.get(exc.field.split("[")[0].split(".")[0]) if source else None
            raise InputError(exc.reason, path=source, line=line,
                             field=exc.field if source else _flag(exc.field)) from None
    if json_out:
        _print_json(job)
        return
    stdout.print(f"submitted job {job['id']} ({job['name']}): {job['state']}", markup=False,
                 highlight=False)


def _env_pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="--env")
        pairs[key] = value
    return pairs


def _flag(field: str) -> str:
    top = field.split("[")[0].split(".")[0]
    names = {"checkpoint_interval_s": "checkpoint-interval-seconds", "args": "arg",
             "working_dir": "working-dir"}
    return "--" + names.get(top, top.replace("_", "-")) if top else field


# -- queue and jobs --------------------------------------------------------------------------------

class State(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@app.command("jobs")
def list_jobs(
    state: Annotated[list[State] | None, typer.Option("--state", "-s", case_sensitive=False, help="only jobs in this state (repeatable)")] = None,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None, json_out: JsonOpt = False,
) -> None:
    """The queue: every job with its state, slots and progress (like squeue)."""
    with _client(server, token) as client:
        jobs = client.jobs([s.value for s in state] if state else None)
    if json_out:
        _print_json(jobs)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "NAME", "STATE", "GPUS", "SLOTS", "PROGRESS", "EPOCH", "SAMPLES/S",
                   "ATTEMPTS", "FAILS", "REASON"):
        table.add_column(column, no_wrap=column != "REASON")
    for job in jobs:
        table.add_row(*_job_cells(job))
    stdout.print(table)


def _job_cells(job: dict[str, Any]) -> list[str]:
    progress = job["progress"]
    speed = job.get("samples_per_s")
    reason = job.get("reason") or ("cancel requested" if job.get("cancel_requested") else "")
    if job.get("retry_in_s"):
        reason = f"retry in {job['retry_in_s']:.0f} s"
    return [
        str(job["id"]), job["name"], job["state"], str(job["gpus"]),
        ",".join(map(str, job["slots"])) if job.get("slots") else "-",
        f"{100 * progress['fraction']:.1f}%",
        f"{progress['epoch']}/{job['spec'].get('total_epochs') or '-'}",
        f"{speed:,.1f}" if speed else "-", str(job["attempts_count"]), str(job["failures"]),
        (reason[:60] + "...") if len(reason) > 63 else reason,
    ]


@app.command()
def status(
    job: JobArg,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None, json_out: JsonOpt = False,
) -> None:
    """One job: its state, progress, attempts and last checkpoint."""
    with _client(server, token) as client:
        detail = client.job(client.resolve(job))
    if json_out:
        _print_json(detail)
        return
    progress = detail["progress"]
    rows = [
        ("job", f"{detail['id']} ({detail['name']})"), ("state", detail["state"]),
        ("gpus", str(detail["gpus"])), ("slots", str(detail.get("slots") or "-")),
        ("progress", f"{progress['samples']:,} of {progress['total_samples']:,} samples "
                     f"({100 * progress['fraction']:.1f}%), epoch {progress['epoch']}, "
                     f"batch size {progress['batch_size']}"),
        ("speed", f"{detail['samples_per_s']:,.1f} samples/s" if detail.get("samples_per_s")
         else "not measured yet"),
        ("rounds", f"{detail['rounds_received']} received, {detail['attained_s']:.1f} s held"),
        ("failures", f"{detail['failures']} of {detail['max_failures']} allowed"),
    ]
    checkpoint = detail.get("last_checkpoint")
    rows.append(("checkpoint", f"{checkpoint['checkpoint_id']} at {checkpoint['samples']:,} "
                               f"samples (attempt {checkpoint['attempt_id']})"
                 if checkpoint else "none acknowledged"))
    if detail.get("reason"):
        rows.append(("reason", detail["reason"]))
    for key, value in rows:
        stdout.print(f"{key:>10}: {value}", markup=False, highlight=False)
    table = Table(title="attempts", box=None, pad_edge=False)
    for column in ("ID", "#", "STATE", "OUTCOME", "SLOTS", "ROUND", "START", "END", "SAMPLES",
                   "EXIT", "REASON"):
        table.add_column(column)
    for a in detail["attempts"]:
        table.add_row(str(a["id"]), str(a["number"]), a["state"], a.get("outcome") or "",
                      ",".join(map(str, a["slots"])), str(a["round_index"]),
                      _seconds(a.get("started_s")), _seconds(a.get("ended_s")),
                      f"{a['start_samples']:,}->{a['samples']:,}" if a.get("samples") is not None
                      else f"{a['start_samples']:,}",
                      "" if a.get("exit_code") is None else str(a["exit_code"]),
                      a.get("reason") or "")
    stdout.print(table)
    if detail.get("log_tail") and detail["state"] in ("FAILED", "QUEUED"):
        stdout.print("last output of the failed attempt:", markup=False)
        stdout.print(detail["log_tail"], markup=False, highlight=False)


@app.command()
def cancel(
    job: JobArg,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None, json_out: JsonOpt = False,
) -> None:
    """Cancel a job: a running attempt is stopped (SIGTERM, killed after the grace period)."""
    with _client(server, token) as client:
        answer = client.cancel(client.resolve(job))
    if json_out:
        _print_json(answer)
        return
    stdout.print(f"cancelling job {answer['id']} ({answer['name']}), {answer['state']}",
                 markup=False, highlight=False)


@app.command()
def logs(
    job: JobArg,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing until the job ends, then its final status")] = False,
    tail: Annotated[int, typer.Option("--tail", "-n", help="lines from the end", callback=int_range(0, 100_000))] = 100,
    rank: Annotated[int, typer.Option("--rank", help="which rank's output", callback=int_range(0, MAX_GPUS - 1))] = 0,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
) -> None:
    """A job's output, over all its attempts."""
    with _client(server, token) as client:
        job_id = client.resolve(job)
        if not follow:
            sys.stdout.write(client.logs(job_id, tail, rank))
            return
        for chunk in client.follow_logs(job_id, tail, rank):
            sys.stdout.write(chunk)
            sys.stdout.flush()
        final = client.job(job_id)
    reason = f": {final['reason']}" if final.get("reason") and final["state"] != "COMPLETED" else ""
    sys.stdout.write(f"job {final['id']} ({final['name']}) {final['state']}{reason}\n")


# -- helpers ---------------------------------------------------------------------------------------

def _client(server: str, token: str | None) -> Any:
    from shockwave.service.client import ServiceClient

    if not server.startswith(("http://", "https://")):
        raise InputError(f"expected an http:// or https:// URL, got {server!r}", field="--server")
    return ServiceClient(server, token)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=1) + "\n")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


__all__ = ["app"]
