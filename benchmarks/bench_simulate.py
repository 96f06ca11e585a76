"""Wall time of each baseline policy on the canonical trace, and how many rounds equal the
published schedule. Run: ``python benchmarks/bench_simulate.py [--repeats 3]``; prints Markdown."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from shockwave import Cluster, load_trace, make_sim_config, simulate, summarize

PUBLISHED = Path(__file__).parent.parent / "tests" / "data" / "published-results-canonical.json"
POLICIES = {
    "gandiva_fair": "gandiva_fair", "max_min_fairness": "max_min_fairness",
    "min_total_duration": "min_total_duration", "max_sum_throughput": "max_sum_throughput_perf",
    "allox": "allox", "finish_time_fairness": "finish_time_fairness", "shockwave": "shockwave",
}


def machine() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in lines.splitlines()
                     if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def schedule_match(result, published: dict) -> float:
    want = [{int(j): tuple(g) for j, g in rnd.items()} for rnd in published["per_round_schedule"]]
    same = sum(1 for got, exp in zip(result.schedule, want, strict=False) if dict(got) == exp)
    return 100.0 * same / len(want)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--policies", default=",".join(POLICIES))
    args = parser.parse_args()
    published = json.loads(PUBLISHED.read_text())["policies"]
    trace = load_trace()
    print(f"Machine: {machine()}\n")
    print(f"| policy | mode | wall s (median of {args.repeats}) | makespan s | avg JCT s | worst rho "
          "| unfair % | rounds equal to published |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.policies.split(","):
        for compat in ("reference", "fixed"):
            times, result = [], None
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = simulate(trace, Cluster(32), name, make_sim_config(compat))
                times.append(time.perf_counter() - start)
            summary = summarize(result)
            match = schedule_match(result, published[POLICIES[name]]) if compat == "reference" else None
            print(f"| {name} | {compat} | {statistics.median(times):.2f} | {summary.makespan_s:,.0f} "
                  f"| {summary.avg_jct_s:,.0f} | {summary.worst_ftf_rho:.3f} "
                  f"| {summary.unfair_fraction_pct:.2f} | {'' if match is None else f'{match:.1f} %'} |")


if __name__ == "__main__":
    main()
