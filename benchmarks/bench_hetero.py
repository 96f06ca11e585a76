"""Wall time of a heterogeneous run against a homogeneous one of the same size (issue 13): the
canonical trace (120 jobs) on 36 V100s and on 12 V100 + 12 P100 + 12 K80, per policy, the
median of ``--repeats`` runs in this process. The target: each heterogeneous run within 2x of
its homogeneous time.

    python benchmarks/bench_hetero.py [--repeats 3] [--policies fifo,...] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

from shockwave import Cluster, load_trace, simulate, summarize
from shockwave.clusters import parse_cluster

sys.path.insert(0, os.path.dirname(__file__))
from results_file import cpu_name, replace_section  # noqa: E402

POLICIES = ("fifo", "max_min_fairness", "min_total_duration", "gandiva_fair",
            "finish_time_fairness", "max_sum_throughput", "allox", "shockwave",
            "fifo_perf", "gandiva_fair_perf", "max_sum_throughput_perf", "max_min_fairness_perf",
            "min_total_duration_perf", "finish_time_fairness_perf")
HETERO = "v100:12,p100:12,k80:12"


def timed(trace, cluster: Cluster, policy: str, repeats: int) -> tuple[float, object]:
    """Median wall seconds of ``repeats`` simulations, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = simulate(trace, cluster, policy)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    args = parser.parse_args()
    trace = load_trace()
    lines = [
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.repeats} runs.", "",
        f"| policy | 36 x v100 s | {HETERO} s | ratio | rounds (36 x v100 / hetero) "
        "| ratio per round | makespan h (36 x v100 / hetero) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.policies.split(","):
        homo_s, homo = timed(trace, Cluster(36), name, args.repeats)
        het_s, het = timed(trace, parse_cluster(HETERO), name, args.repeats)
        rounds = len(homo.schedule), len(het.schedule)
        per_round = (het_s / rounds[1]) / (homo_s / rounds[0])
        lines.append(f"| {name} | {homo_s:.2f} | {het_s:.2f} | {het_s / homo_s:.2f}x "
                     f"| {rounds[0]} / {rounds[1]} | {per_round:.2f}x "
                     f"| {summarize(homo).makespan_s / 3600:.1f} / "
                     f"{summarize(het).makespan_s / 3600:.1f} |")
        print(lines[-1], flush=True)
    if args.write:
        replace_section("Heterogeneous clusters (bench_hetero.py)", "\n".join(lines))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
