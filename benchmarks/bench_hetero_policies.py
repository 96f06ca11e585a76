"""Heterogeneity-aware policies against their agnostic twins, and Shockwave against the aware
ones, on a Gavel-style trace and a 36:36:36 cluster (issue 13; Gavel, OSDI '20, section 7).

Each pair is judged by the agnostic policy's own objective, measured after the fact from the
run (``shockwave.metrics``), as in Gavel's evaluation: LAS (max_min_fairness) the worst
normalised share; finish-time fairness the worst rho; min_total_duration (OSSP) the makespan;
max_sum_throughput the speed efficiency; FIFO the average JCT; Gandiva_fair, a fair-share
scheduler, the worst normalised share. Every run also reports makespan, average JCT, worst rho
and the unfair share.

    python benchmarks/bench_hetero_policies.py [--num-jobs 200] [--lam 360] [--seed 0]
        [--cluster v100:36,p100:36,k80:36] [--workers 2] [--trace-out FILE] [--write]

Default trace: 200 jobs, a mean gap of 360 s (10 jobs an hour). The jobs (Gavel's durations,
about 16.5 h on a V100 on average, 1.9 GPUs) ask for about 3 times what the cluster can give
while they arrive (20 h), so queues form under every policy, and the whole run of 13 policies
still takes about two minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shockwave.clusters import parse_cluster
from shockwave.experiment import Inputs, run_many, run_policy
from shockwave.metrics import (
    AloneRunTimes,
    alone_run_times,
    ftf_rhos,
    normalized_shares,
    speed_efficiency,
    summarize,
)
from shockwave.model import JobId
from shockwave.sim.result import SimResult
from shockwave.traces import load_trace
from shockwave.traces.gavel_jobs import GavelJobParams, generate_gavel_trace
from shockwave.traces.info import describe_trace_on
from shockwave.traces.tsv import format_tsv
from shockwave.workload.throughput import load_throughputs

sys.path.insert(0, os.path.dirname(__file__))
from results_file import cpu_name, replace_section  # noqa: E402

CLUSTER = "v100:36,p100:36,k80:36"
SECTION = "Heterogeneity-aware policies on 36:36:36 (bench_hetero_policies.py)"
AGNOSTIC_SHOCKWAVE = "shockwave --param hetero=agnostic"


@dataclass(frozen=True)
class Row:
    """One run's numbers (times in hours)."""

    policy: str
    makespan_h: float
    avg_jct_h: float
    worst_rho: float
    unfair_pct: float
    worst_share: float
    speed_efficiency: float
    utilization: float
    wall_s: float


@dataclass(frozen=True)
class Objective:
    """A policy's own objective, as a function of its row, and which way is better."""

    label: str
    value: Callable[[Row], float]
    higher_is_better: bool

    def improved(self, agnostic: Row, aware: Row) -> bool:
        a, b = self.value(agnostic), self.value(aware)
        return b > a if self.higher_is_better else b < a


WORST_SHARE = Objective("worst normalised share (higher better)", lambda r: r.worst_share, True)
PAIRS: tuple[tuple[str, Objective], ...] = (
    ("max_min_fairness", WORST_SHARE),
    ("finish_time_fairness", Objective("worst rho (lower better)", lambda r: r.worst_rho, False)),
    ("min_total_duration", Objective("makespan h (lower better)", lambda r: r.makespan_h, False)),
    ("max_sum_throughput", Objective("speed efficiency (higher better)",
                                     lambda r: r.speed_efficiency, True)),
    ("fifo", Objective("avg JCT h (lower better)", lambda r: r.avg_jct_h, False)),
    ("gandiva_fair", WORST_SHARE),
)


def row_of(result: SimResult, alone: Mapping[JobId, AloneRunTimes], wall_s: float) -> Row:
    """The numbers of one run; the heterogeneity objectives from ``alone`` (the trace's)."""
    summary = summarize(result)
    rhos = ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus)
    return Row(
        policy=result.policy, makespan_h=summary.makespan_s / 3600,
        avg_jct_h=summary.avg_jct_s / 3600, worst_rho=max(rhos, default=0.0),
        unfair_pct=summary.unfair_fraction_pct,
        worst_share=min(normalized_shares(result.records, alone), default=0.0),
        speed_efficiency=speed_efficiency(result.records, result.gpu_busy_s, alone),
        utilization=summary.cluster_util, wall_s=wall_s,
    )


def pair_lines(rows: Mapping[str, Row]) -> list[str]:
    """The table of each agnostic policy against its aware twin, by the policy's objective."""
    lines = ["| policy | own objective | agnostic | `_perf` (aware) | aware better? |",
             "|---|---|---|---|---|"]
    for name, objective in PAIRS:
        agnostic, aware = rows[name], rows[f"{name}_perf"]
        verdict = "yes" if objective.improved(agnostic, aware) else "**no**"
        lines.append(f"| {name} | {objective.label} | {objective.value(agnostic):.3f} "
                     f"| {objective.value(aware):.3f} | {verdict} |")
    return lines


def run_lines(rows: Sequence[Row]) -> list[str]:
    """Every run's headline numbers."""
    lines = ["| policy | makespan h | avg JCT h | worst rho | unfair % | worst norm. share "
             "| speed eff. | util | wall s |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.policy} | {r.makespan_h:.1f} | {r.avg_jct_h:.2f} | {r.worst_rho:.2f} "
              f"| {r.unfair_pct:.1f} | {r.worst_share:.3f} | {r.speed_efficiency:.3f} "
              f"| {r.utilization:.3f} | {r.wall_s:.1f} |" for r in rows]
    return lines


def shockwave_lines(rows: Mapping[str, Row], ours: Row) -> list[str]:
    """Shockwave's makespan, average JCT, worst rho and unfair share against the best and worst
    of the aware baselines."""
    aware = [rows[f"{name}_perf"] for name, _ in PAIRS]
    metrics: tuple[tuple[str, Callable[[Row], float], str], ...] = (
        ("makespan h", lambda r: r.makespan_h, "{:.1f}"),
        ("avg JCT h", lambda r: r.avg_jct_h, "{:.2f}"),
        ("worst rho", lambda r: r.worst_rho, "{:.2f}"),
        ("unfair %", lambda r: r.unfair_pct, "{:.1f}"),
    )
    lines = ["| metric (lower better) | shockwave | best aware baseline | worst aware baseline "
             "| shockwave's rank of 7 |", "|---|---|---|---|---|"]
    for label, value, fmt in metrics:
        ranked = sorted(aware, key=value)
        rank = 1 + sum(value(r) < value(ours) for r in aware)
        lines.append(f"| {label} | {fmt.format(value(ours))} "
                     f"| {fmt.format(value(ranked[0]))} ({ranked[0].policy}) "
                     f"| {fmt.format(value(ranked[-1]))} ({ranked[-1].policy}) | {rank} |")
    return lines


def write_trace(num_jobs: int, lam_s: float, seed: int, path: Path) -> None:
    """The Gavel-style trace, as ``shockwave trace generate --job-table gavel`` writes it."""
    trace = generate_gavel_trace(GavelJobParams(num_jobs=num_jobs, lam_s=lam_s, seed=seed),
                                 load_throughputs("gavel")).trace
    path.write_text(format_tsv(trace.jobs), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-jobs", type=int, default=200)
    parser.add_argument("--lam", type=float, default=360.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cluster", default=CLUSTER)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trace-out", type=Path, default=None,
                        help="keep the generated trace here (default: a temporary file)")
    parser.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    trace_path = args.trace_out or folder / f"gavel-{args.num_jobs}jobs.trace"
    write_trace(args.num_jobs, args.lam, args.seed, trace_path)
    inputs = Inputs(trace=str(trace_path), throughputs="gavel", cluster=args.cluster)
    table = load_throughputs("gavel")
    trace = load_trace(str(trace_path), throughputs=table)
    cluster = parse_cluster(args.cluster)
    alone = alone_run_times(trace.jobs, cluster, table)
    bound_h = describe_trace_on(trace, table, cluster).makespan_lower_bound_s / 3600
    names = [n for name, _ in PAIRS for n in (name, f"{name}_perf")] + ["shockwave"]
    start = time.perf_counter()
    results = run_many(names, inputs, workers=args.workers)
    total_s = time.perf_counter() - start
    # run_many does not time each run; its share of the total is the rounds it planned
    rounds = sum(len(r.schedule) for r in results)
    rows = {r.policy: row_of(r, alone, total_s * len(r.schedule) / rounds) for r in results}
    started = time.perf_counter()
    flat = run_policy("shockwave", replace(inputs, params=(("hetero", "agnostic"),)))
    rows[AGNOSTIC_SHOCKWAVE] = replace(row_of(flat, alone, time.perf_counter() - started),
                                       policy=AGNOSTIC_SHOCKWAVE)
    names.append(AGNOSTIC_SHOCKWAVE)
    command = (f"shockwave trace generate --job-table gavel --num-jobs {args.num_jobs} "
               f"--lam {args.lam:g} --seed {args.seed} --out T")
    lines = [
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{len(names)} runs in {total_s:.0f} s ({args.workers} worker processes).",
        "",
        f"Trace: `{command}` ({args.num_jobs} static jobs, a mean gap of {args.lam:g} s), "
        f"cluster `--cluster {args.cluster} --throughputs gavel`, default mode. Script: "
        "`benchmarks/bench_hetero_policies.py --write`; the metrics are defined in "
        "docs/results.md (\"Objectives of the heterogeneity-aware policies\"). Makespan "
        f"lower bound (`trace info --cluster`): {bound_h:.1f} h.",
        "",
        "Each agnostic policy against its heterogeneity-aware twin, by the policy's own "
        "objective:", "", *pair_lines(rows), "",
        "Every run (worst normalised share and speed efficiency: higher is better; wall s is "
        "each run's share of the total by rounds):", "",
        *run_lines([rows[n] for n in names]), "",
        "Shockwave (its typed plan, the default; docs/policies.md, \"Shockwave on "
        "heterogeneous clusters\") against the six aware baselines:", "",
        *shockwave_lines(rows, rows["shockwave"]), "",
        f"`{AGNOSTIC_SHOCKWAVE}` (flat shares; the mechanism gives each chosen job the fastest "
        "type with room) against the same baselines:", "",
        *shockwave_lines(rows, rows[AGNOSTIC_SHOCKWAVE]),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
