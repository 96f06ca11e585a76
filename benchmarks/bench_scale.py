"""Shockwave at scale (issue 12): the quality and the cost of Shockwave and the baselines on
traces generated like the paper's, from 64 to 1,024 GPUs, and on a long overloaded trace.

Each run is a whole ``shockwave simulate`` process (default mode, bundled throughputs and
Shockwave configuration), timed from start to exit, with its peak resident memory. The traces
are generated first (seeded, cached under ``--work``) with the commands the issue gives:

    220 jobs  --lam 25  --seed 11                      on 64 GPUs
    460 jobs  --lam 10  --seed 12                      on 128 GPUs
    900 jobs  --lam 5   --seed 13 --num-durations 1000 on 256 GPUs
    2,000 jobs --lam 2.5 --seed 14 --num-durations 1000 on 512 GPUs   (--big)
    5,000 jobs --lam 1   --seed 15 --num-durations 1000 on 1,024 GPUs (--big)
    600 jobs  --lam 350 --seed 21                      on 16 GPUs (long, overloaded)
    3,300 jobs --lam 780 --seed 31                     on 8 GPUs: 30 days of arrivals (--big)

    python benchmarks/bench_scale.py [--big] [--policies shockwave,min_total_duration,...]
                                     [--work DIR] [--write]
    python benchmarks/bench_scale.py --baseline-times [--repeats 3] [--write]

``--baseline-times`` times every baseline on the 900-job trace instead (issue 12: each within
2 s, whole process), best and median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from results_file import cpu_name, replace_section  # noqa: E402

SECTION = "Shockwave at scale"
TIMES_SECTION = "Baselines on the 900-job trace: whole-process time"
BASELINES = ("fifo", "max_min_fairness", "finish_time_fairness", "min_total_duration",
             "max_sum_throughput", "allox", "gandiva_fair")
POLICIES = ("shockwave", "shockwave:srpt_power=0+makespan_slack=0", "min_total_duration",
            "max_min_fairness", "gandiva_fair")
"""A policy, or ``policy:key=value+key=value`` for one with ``--param`` settings."""
LABELS = {"shockwave": "Shockwave", "shockwave:srpt_power=0+makespan_slack=0":
          "Shockwave without issue 12's priorities and protection (`--param srpt_power=0 "
          "--param makespan_slack=0`)",
          "min_total_duration": "OSSP", "max_min_fairness": "Gavel",
          "gandiva_fair": "Gandiva-Fair"}
RUNNER = """
import json, resource, sys
from shockwave.cli import main
code = main(sys.argv[1:])
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": peak_kb / 1024}), file=sys.stderr)
sys.exit(code)
"""


@dataclass(frozen=True)
class Case:
    name: str
    jobs: int
    lam: float
    seed: int
    gpus: int
    durations: int | None = None
    big: bool = False

    def generate_args(self) -> list[str]:
        args = ["trace", "generate", "--num-jobs", str(self.jobs), "--lam", str(self.lam),
                "--seed", str(self.seed)]
        if self.durations:
            args += ["--num-durations", str(self.durations)]
        return args


CASES = (
    Case("220 / 64", 220, 25, 11, 64),
    Case("460 / 128", 460, 10, 12, 128),
    Case("900 / 256", 900, 5, 13, 256, 1000),
    Case("2,000 / 512", 2000, 2.5, 14, 512, 1000, big=True),
    Case("5,000 / 1,024", 5000, 1, 15, 1024, 1000, big=True),
    Case("600 / 16, long", 600, 350, 21, 16),
    Case("3,300 / 8, a month", 3300, 780, 31, 8, big=True),
)


def _shockwave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True,
                          check=False)


def trace_of(case: Case, work: Path) -> Path:
    path = work / f"t{case.jobs}-s{case.seed}.trace"
    if not path.exists():
        done = _shockwave(*case.generate_args(), "--out", str(path))
        if done.returncode:
            raise SystemExit(f"trace generate failed: {done.stderr}")
    return path


def run(case: Case, policy: str, work: Path) -> dict[str, Any]:
    trace = trace_of(case, work)
    name, _, settings = policy.partition(":")
    params = [arg for kv in settings.split("+") if kv for arg in ("--param", kv)]
    tag = policy.replace(":", "-").replace("=", "").replace("+", "-")
    out = work / f"{tag}-{case.jobs}-s{case.seed}.json"
    started = time.perf_counter()
    done = _shockwave("simulate", "--policy", name, *params, "--trace", str(trace), "--gpus",
                      str(case.gpus), "--json", str(out))
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{policy} on {case.name} failed: {done.stderr[-2000:]}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_mb"]
    result = json.loads(out.read_text())
    return {"wall_s": wall, "peak_mb": peak, **{k: result[k] for k in (
        "makespan_s", "avg_jct_s", "worst_ftf_rho", "unfair_fraction_pct", "max_slowdown",
        "worst_themis_rho", "makespan_over_lb")},
        "makespan_lb_s": result["makespan_s"] / result["makespan_over_lb"]}


def markdown(rows: dict[str, dict[str, dict[str, Any]]], policies: list[str]) -> str:
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    argv = " ".join(sys.argv[1:])
    lines = [
        f"`python benchmarks/bench_scale.py {argv}` on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPU cores ({cpu_name()}), Python {platform.python_version()}; load "
        f"average {load:.1f} at the end (the machine is shared).",
        "",
        "Default mode, bundled throughputs and Shockwave configuration. Each cell: makespan s "
        "(× OSSP's) / avg JCT s (× Gavel's) / worst ρ / unfair % / worst Themis ρ / max "
        "slowdown; then the whole process's wall time and peak memory.",
        "",
        "| trace (jobs / GPUs), makespan LB | " + " | ".join(LABELS.get(p, p) for p in policies)
        + " |",
        "|---|" + "---|" * len(policies),
    ]
    for case, by_policy in rows.items():
        ossp = by_policy.get("min_total_duration", {}).get("makespan_s")
        gavel = by_policy.get("max_min_fairness", {}).get("avg_jct_s")
        any_row = next(iter(by_policy.values()))
        cells = []
        for policy in policies:
            r = by_policy.get(policy)
            if r is None:
                cells.append("")
                continue
            vs_ossp = f" ({r['makespan_s'] / ossp:.2f}×)" if ossp else ""
            vs_gavel = f" ({r['avg_jct_s'] / gavel:.2f}×)" if gavel else ""
            cells.append(
                f"{r['makespan_s']:,.0f}{vs_ossp} / {r['avg_jct_s']:,.0f}{vs_gavel} / "
                f"{r['worst_ftf_rho']:.2f} / {r['unfair_fraction_pct']:.1f} / "
                f"{r['worst_themis_rho']:.2f} / {r['max_slowdown']:.1f}; "
                f"{r['wall_s']:.1f} s, {r['peak_mb']:.0f} MB")
        lines.append(f"| {case}, LB {any_row['makespan_lb_s']:,.0f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_times(work: Path, repeats: int) -> str:
    """Every baseline on the 900-job trace, ``repeats`` whole processes each."""
    case = next(c for c in CASES if c.jobs == 900)
    lines = [
        f"`python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}` on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPU cores ({cpu_name()}), Python "
        f"{platform.python_version()}: `shockwave simulate` on the {case.name} trace (default "
        f"mode), start to exit, {repeats} runs each.",
        "",
        "| policy | best s | median s | peak MB | makespan s | avg JCT s |",
        "|---|---|---|---|---|---|",
    ]
    for policy in BASELINES:
        runs = [run(case, policy, work) for _ in range(repeats)]
        walls = sorted(r["wall_s"] for r in runs)
        last = runs[-1]
        lines.append(f"| {policy} | {walls[0]:.2f} | {walls[len(walls) // 2]:.2f} | "
                     f"{max(r['peak_mb'] for r in runs):.0f} | {last['makespan_s']:,.0f} | "
                     f"{last['avg_jct_s']:,.0f} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also 2,000 and 5,000 jobs")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--cases", default="", help="names' first numbers, e.g. 220,600")
    parser.add_argument("--work", type=Path, default=None, help="keep traces and results here")
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    parser.add_argument("--baseline-times", action="store_true",
                        help="time every baseline on the 900-job trace instead")
    parser.add_argument("--repeats", type=int, default=3, help="runs per baseline (timings)")
    args = parser.parse_args()
    if args.baseline_times:
        with tempfile.TemporaryDirectory() as tmp:
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            text = baseline_times(work, args.repeats)
        print(text)
        if args.write:
            replace_section(TIMES_SECTION, text)
        return
    policies = [p for p in args.policies.split(",") if p]
    wanted = {c for c in args.cases.split(",") if c}
    cases = [c for c in CASES if (args.big or not c.big)
             and (not wanted or str(c.jobs) in wanted)]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        for case in cases:
            for policy in policies:
                rows.setdefault(case.name, {})[policy] = run(case, policy, work)
                print(f"{case.name} {policy}: {rows[case.name][policy]}", file=sys.stderr,
                      flush=True)
    text = markdown(rows, policies)
    print(text)
    if args.write:
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
