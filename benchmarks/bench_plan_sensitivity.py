"""How much does a small error of speed move a schedule? A real run never has the profile's
speeds exactly, so a policy whose per-job JCTs jump when a speed moves by a few percent cannot be
predicted by its simulation, however faithful the simulator (docs/adaptation.md, "How close is a
simulation to a real run").

For each policy it simulates the fidelity trace with a fidelity run's profile (``profile.json``,
``profile-facts.json`` and the restart cost in ``fidelity.json``), then again with every entry of
the throughput table multiplied by exp(N(0, sigma)) (one draw per entry and seed), and reports,
per seed, the median over jobs of |JCT - JCT_unperturbed| / JCT_unperturbed, and the makespan's
relative change. Every run is a ``shockwave simulate`` process, as a user would type it.

    python benchmarks/bench_plan_sensitivity.py                       # run e's profile, 3 %
    python benchmarks/bench_plan_sensitivity.py --sigma 0.08 --seeds 8 --run benchmarks/results/fidelity-runs/d
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "benchmarks" / "data" / "fidelity-12jobs-long.jsonl"
RUN = ROOT / "benchmarks" / "results" / "fidelity-runs" / "e"


def simulate(policy: str, table: Path, run: Path, out: Path, trace: Path,
             extra: list[str]) -> tuple[float, dict[int, float]]:
    penalty = json.loads((run / "fidelity.json").read_text())["preemption_penalty_s"]
    subprocess.run(
        [sys.executable, "-m", "shockwave", "simulate", "--trace", str(trace), "--policy", policy,
         "--gpus", "2", "--round-seconds", "15", "--throughputs", str(table),
         "--workload-facts", str(run / "profile-facts.json"),
         "--preemption-penalty-seconds", f"{penalty:g}", "--json", str(out), *extra],
        check=True, capture_output=True)
    result = json.loads(out.read_text())
    return result["makespan_s"], {job["id"]: job["jct_s"] for job in result["jobs"]}


def perturbed(table: dict[str, Any], seed: int, sigma: float) -> dict[str, Any]:
    """The table with every speed times exp(N(0, sigma)), drawn in the table's order."""
    rng = random.Random(seed)
    return {gpu: {key: {**cell, "null": cell["null"] * math.exp(rng.gauss(0.0, sigma))}
                  for key, cell in cells.items()} for gpu, cells in table.items()}


def sensitivity(policy: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    base_makespan, base = simulate(policy, args.run / "profile.json", args.run,
                                   work / "base.json", args.trace, args.param)
    table = json.loads((args.run / "profile.json").read_text())
    moved, makespans = [], []
    for seed in range(args.seeds):
        path = work / f"table-{seed}.json"
        path.write_text(json.dumps(perturbed(table, seed, args.sigma)))
        makespan, jcts = simulate(policy, path, args.run, work / f"run-{seed}.json", args.trace,
                                  args.param)
        moved.append(statistics.median(abs(jcts[i] - base[i]) / base[i] for i in base))
        makespans.append(abs(makespan - base_makespan) / base_makespan)
    return {"policy": policy, "per_seed": moved, "mean": statistics.mean(moved),
            "worst": max(moved), "makespan_mean": statistics.mean(makespans)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=RUN, help="a fidelity run's folder")
    parser.add_argument("--trace", type=Path, default=TRACE)
    parser.add_argument("--policies", default="shockwave,max_min_fairness")
    parser.add_argument("--sigma", type=float, default=0.03)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--param", action="append", default=[],
                        help="passed to simulate, e.g. --param=--param --param=lambda=4")
    args = parser.parse_args()
    print(f"run {args.run.name}, sigma {args.sigma:g}, {args.seeds} seeds; per seed, the median "
          "job's relative JCT change\n")
    print("| policy | mean | worst | per seed | makespan change (mean) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for policy in args.policies.split(","):
            work = Path(tmp) / policy
            work.mkdir()
            found = sensitivity(policy, args, work)
            seeds = ", ".join(f"{100 * m:.1f}" for m in found["per_seed"])
            print(f"| {policy} | {100 * found['mean']:.1f} % | {100 * found['worst']:.1f} % | "
                  f"{seeds} | {100 * found['makespan_mean']:.1f} % |")


if __name__ == "__main__":
    main()
