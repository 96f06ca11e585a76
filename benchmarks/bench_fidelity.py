"""Simulation against reality: does a simulated schedule predict the real one?

For each policy, the same trace of the bundled workloads (static, Accordion and GNS jobs and a
2-rank gang; ``benchmarks/data/fidelity-12jobs-long.jsonl``) runs twice:

1. **for real**: ``shockwave serve`` on this machine's CPU slots, ``shockwave replay --real``
   submitting the jobs at their arrival times, real PyTorch processes training, checkpointing,
   being preempted and resumed, adapting their batch sizes;
2. **simulated**: ``shockwave simulate`` with the throughputs and learned batch-size schedules
   that ``shockwave profile --trace`` measured beforehand (run once, shared by every policy),
   the same cluster and round length, and the profile's restart cost (plus the time a revoked
   job takes to hear of it: half a heartbeat and a tick) as the preemption penalty.

It prints, and writes to ``OUT/fidelity.json``, the makespan of both and its error, and the
per-job JCT errors (median and worst); ``OUT/report/`` holds ``shockwave report`` of every
run, real and simulated side by side. Everything goes through the command line a user types.
Then, as a diagnosis, it simulates each policy again with the speeds its real run measured (read
from the service's database) in place of the profile's: the gap that is left is scheduling,
restarts and adaptation timing, not the machine's speed drifting since the profile.

The trace is the 12-job trace of earlier runs (``fidelity-12jobs.jsonl``) stretched two-fold
in work and arrivals, so that a job's JCT spans about ten 15 s rounds rather than five: a job
finishing one round apart in the two runs (a decision that went the other way) then moves its
JCT by about 10 % rather than 20 %.

    python benchmarks/bench_fidelity.py --out /tmp/fidelity            # ~35 min on 2 cores
    python benchmarks/bench_fidelity.py --out /tmp/fidelity --reuse-profile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import replace_section  # noqa: E402

HERE = Path(__file__).resolve().parent
TRACE = HERE / "data" / "fidelity-12jobs-long.jsonl"
POLICIES = ("shockwave", "max_min_fairness")
HEARTBEAT_S = 0.5
TICK_S = 0.1


def shockwave(*args: str, capture: bool = True) -> str:
    """Run the CLI; its stdout (the caller sees stderr); exit on failure."""
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "shockwave", *args], text=True,
                         stdout=subprocess.PIPE if capture else None)
    if run.returncode != 0:
        sys.exit(f"shockwave {' '.join(args)} failed with exit {run.returncode}")
    print(f"  shockwave {args[0]}: {time.monotonic() - started:.0f} s", flush=True)
    return run.stdout or ""


def profile(out: Path, trace: Path, steps: int, reuse: bool, sizes: str | None) -> float:
    """Throughputs and schedules of what the trace needs; returns the suggested restart cost."""
    table, saved = out / "profile.json", out / "profile-penalty.txt"
    if reuse and table.exists() and saved.exists():
        return float(saved.read_text())
    extra = ["--batch-sizes", sizes] if sizes else []
    text = shockwave("profile", "--trace", str(trace), "--busy", "--steps", str(steps),
                     *extra, "--out", str(table), "--facts-out", str(out / "profile-facts.json"),
                     "-q")
    print(text)
    match = re.search(r"--preemption-penalty-seconds ([0-9.]+)", text)
    if match is None:
        sys.exit("profile printed no suggested restart cost")
    # A restart under the service also waits for the revoked job to hear of it: half a
    # heartbeat on average, then a tick of the round loop (the settings run_real uses).
    penalty = float(match.group(1)) + HEARTBEAT_S / 2 + TICK_S
    saved.write_text(f"{penalty:.2f}")
    return penalty


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"shockwave serve exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/v1/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("shockwave serve did not become healthy")


def run_real(out: Path, trace: Path, policy: str, args: argparse.Namespace) -> Path:
    """One real run: a fresh service with ``policy``, the trace replayed on it."""
    from shockwave.service.backends.local import free_port

    result = out / f"{policy}-real.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = out / f"{policy}-state"
    shutil.rmtree(state, ignore_errors=True)  # a fresh service, not one adopting an old run
    log = (out / f"{policy}-serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "shockwave", "serve", "--port", str(port), "--state-dir",
         str(state), "--gpus", str(args.gpus), "--policy", policy, "--round-seconds",
         str(args.round_seconds), "--heartbeat-seconds", str(HEARTBEAT_S), "--lease-seconds",
         "10", "--grace-seconds", "5", "--startup-seconds", "60", "--tick-seconds", str(TICK_S),
         "--throughputs", str(out / "profile.json"),
         "--workload-facts", str(out / "profile-facts.json")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(url, server)
        shockwave("replay", str(trace), "--real", "--server", url, "--json", str(result),
                  "--throughputs", str(out / "profile.json"), "--time-scale", "1")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    return result


def run_sim(out: Path, trace: Path, policy: str, penalty_s: float,
            args: argparse.Namespace, *, table: Path | None = None, tag: str = "sim") -> Path:
    result = out / f"{policy}-{tag}.json"
    shockwave("simulate", "--trace", str(trace), "--policy", policy, "--gpus", str(args.gpus),
              "--round-seconds", str(args.round_seconds), "--throughputs",
              str(table or out / "profile.json"), "--workload-facts",
              str(out / "profile-facts.json"),
              "--preemption-penalty-seconds", f"{penalty_s:g}", "--json", str(result))
    return result


def measured_speeds(state_dir: Path) -> dict[str, list[float]]:
    """What the service measured in a real run, in the throughputs table's terms: per
    ``('MODEL (batch size B)', GPUs)`` key, each job's measured iterations/s (samples/s of the
    gang over the batch size, as the service converts them)."""
    from shockwave.service.store import Store

    store = Store(state_dir / "shockwave.db")
    try:
        found: dict[str, list[float]] = {}
        for job_id, speeds in store.speeds().items():
            job = store.job(job_id)
            if job is None:
                continue
            model = job.spec.model or job.spec.name
            for speed in speeds:
                key = f"('{model} (batch size {speed.batch_size})', {speed.gpus})"
                found.setdefault(key, []).append(speed.samples_per_s / speed.batch_size)
        return found
    finally:
        store.close()


def drift(profile_path: Path, measured: dict[str, list[float]]) -> dict[str, Any]:
    """How the speeds the service measured compare with the profile's: ratios measured /
    profiled, one per (job, batch size, gang)."""
    table = json.loads(profile_path.read_text())
    profiled = {key: cell["null"] for cells in table.values() for key, cell in cells.items()}
    ratios = sorted(value / profiled[key] for key, values in measured.items()
                    if profiled.get(key) for value in values)
    if not ratios:
        return {"speeds_measured": 0}
    return {"speeds_measured": len(ratios), "speed_ratio_median": statistics.median(ratios),
            "speed_ratio_min": ratios[0], "speed_ratio_max": ratios[-1],
            "speeds_within_10pct": sum(abs(r - 1) <= 0.1 for r in ratios)}


def measured_table(profile_path: Path, measured: dict[str, list[float]], out: Path) -> Path:
    """The profile's table with every entry the service measured replaced by the median of its
    measurements: the simulation that a perfect profile of this run's machine would give."""
    table = json.loads(profile_path.read_text())
    for cells in table.values():
        for key, values in measured.items():
            if key in cells:
                cells[key] = {**cells[key], "null": statistics.median(values)}
    out.write_text(json.dumps(table, indent=1) + "\n")
    return out


def compare(real_path: Path, sim_path: Path) -> dict[str, Any]:
    """Makespan and per-job JCT errors of the simulation against the real run (relative to
    the real values)."""
    real, sim = json.loads(real_path.read_text()), json.loads(sim_path.read_text())
    real_jobs = {j["id"]: j for j in real["jobs"]}
    sim_jobs = {j["id"]: j for j in sim["jobs"]}
    errors = {i: (sim_jobs[i]["jct_s"] - real_jobs[i]["jct_s"]) / real_jobs[i]["jct_s"]
              for i in sorted(real_jobs) if i in sim_jobs}
    return {
        "makespan_real_s": real["makespan_s"], "makespan_sim_s": sim["makespan_s"],
        "makespan_error": (sim["makespan_s"] - real["makespan_s"]) / real["makespan_s"],
        "avg_jct_real_s": real["avg_jct_s"], "avg_jct_sim_s": sim["avg_jct_s"],
        "median_abs_jct_error": statistics.median(abs(e) for e in errors.values()),
        "worst_abs_jct_error": max(abs(e) for e in errors.values()),
        "jct_errors": {str(i): round(e, 4) for i, e in errors.items()},
        "jobs_compared": len(errors),
        "real_stats": real.get("stats", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work and result folder")
    parser.add_argument("--trace", type=Path, default=TRACE)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--gpus", type=int, default=2, help="CPU slots (default 2)")
    parser.add_argument("--round-seconds", type=float, default=15.0)
    parser.add_argument("--steps", type=int, default=60, help="steps per profile run")
    parser.add_argument("--batch-sizes", help="profile only these batch sizes (and the ones "
                        "the trace and its learned schedules need); default: all in bounds")
    parser.add_argument("--reuse-profile", action="store_true",
                        help="keep OUT/profile.json from an earlier run")
    parser.add_argument("--profile-only", action="store_true", help="stop after the profile")
    parser.add_argument("--write", action="store_true",
                        help="also write the results into BENCHMARKS.md")
    parser.add_argument("--render", action="store_true",
                        help="run nothing: show (and with --write, write) OUT/fidelity.json")
    args = parser.parse_args()
    out = args.out
    if args.render:
        summary = json.loads((out / "fidelity.json").read_text())
        print(markdown(summary))
        if args.write:
            replace_section(SECTION, markdown(summary))
        return
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"profiling {args.trace.name}", flush=True)
    penalty = profile(out, args.trace, args.steps, args.reuse_profile, args.batch_sizes)
    if args.profile_only:
        return
    summary: dict[str, Any] = {
        "trace": str(args.trace), "gpus": args.gpus, "round_s": args.round_seconds,
        "preemption_penalty_s": penalty, "machine": f"{platform.node()}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}", "policies": {}}
    results = []
    for policy in args.policies.split(","):
        print(f"{policy}: real run", flush=True)
        real = run_real(out, args.trace, policy, args)
        print(f"{policy}: simulation", flush=True)
        sim = run_sim(out, args.trace, policy, penalty, args)
        summary["policies"][policy] = compare(real, sim)
        # The same simulation with the speeds this run measured instead of the profile's:
        # how much of the error is the machine's speed drifting, how much the scheduling.
        measured = measured_speeds(out / f"{policy}-state")
        table = measured_table(out / "profile.json", measured, out / f"{policy}-measured.json")
        again = run_sim(out, args.trace, policy, penalty, args, table=table,
                        tag="sim-measured-speeds")
        summary["policies"][policy]["drift"] = drift(out / "profile.json", measured)
        summary["policies"][policy]["with_measured_speeds"] = {
            k: v for k, v in compare(real, again).items()
            if k in ("makespan_sim_s", "makespan_error", "avg_jct_sim_s",
                     "median_abs_jct_error", "worst_abs_jct_error")}
        results += [real, sim]
    shockwave("report", *map(str, results), "--out", str(out / "report"))
    summary["wall_s"] = round(time.monotonic() - started)
    (out / "fidelity.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(markdown(summary))
    print(f"details in {out / 'fidelity.json'}, report in {out / 'report'}")
    if args.write:
        replace_section(SECTION, markdown(summary))


SECTION = "Fidelity: a real run against its simulation"


def markdown(summary: dict[str, Any]) -> str:
    """The results as BENCHMARKS.md shows them."""
    lines = [
        f"`python benchmarks/bench_fidelity.py --out OUT --write` on {summary['machine']}: "
        f"the trace `{Path(summary['trace']).name}` on {summary['gpus']} CPU slots, "
        f"{summary['round_s']:g} s rounds, restart cost {summary['preemption_penalty_s']:g} s "
        f"in the simulation; {summary['wall_s']} s in all. Errors are (simulated - real) / "
        "real.",
        "",
        "| policy | makespan real / simulated (s) | error | avg JCT real / simulated (s) | "
        "median per-job JCT error | worst | real restarts |",
        "|---|---|---|---|---|---|---|",
    ]
    for policy, c in summary["policies"].items():
        lines.append(
            f"| {policy} | {c['makespan_real_s']:.1f} / {c['makespan_sim_s']:.1f} | "
            f"{c['makespan_error']:+.1%} | {c['avg_jct_real_s']:.1f} / {c['avg_jct_sim_s']:.1f} | "
            f"{c['median_abs_jct_error']:.1%} | {c['worst_abs_jct_error']:.1%} | "
            f"{c['real_stats'].get('restarts', '-')} |")
    measured = {p: c for p, c in summary["policies"].items() if "with_measured_speeds" in c}
    if measured:
        lines += ["", "The same simulations with the speeds each real run measured in place of "
                  "the profile's (the machine's drift taken out; what is left is scheduling, "
                  "restarts and adaptation timing):", "",
                  "| policy | measured / profiled speed: median (range), within 10 % | "
                  "makespan error | median per-job JCT error | worst |", "|---|---|---|---|---|"]
        for policy, c in measured.items():
            d, m = c["drift"], c["with_measured_speeds"]
            speeds = (f"{d['speed_ratio_median']:.2f} ({d['speed_ratio_min']:.2f}-"
                      f"{d['speed_ratio_max']:.2f}), {d['speeds_within_10pct']} of "
                      f"{d['speeds_measured']}") if d.get("speeds_measured") else "-"
            lines.append(f"| {policy} | {speeds} | {m['makespan_error']:+.1%} | "
                         f"{m['median_abs_jct_error']:.1%} | {m['worst_abs_jct_error']:.1%} |")
    lines += ["", "Per-job JCT errors (trace line: error):", ""]
    for policy, c in summary["policies"].items():
        errors = ", ".join(f"{i}: {e:+.0%}" for i, e in c["jct_errors"].items())
        lines.append(f"- {policy}: {errors}")
    lines += ["", "Every run's results are in `benchmarks/results/fidelity-runs/<run>/` "
              "(`shockwave report DIR/*-real.json DIR/*-sim.json --out fidelity/` draws one side "
              "by side); the runs compared, and where the differences come from: "
              "`docs/adaptation.md`, \"How close is a simulation to a real run\"."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
