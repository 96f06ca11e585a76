"""Decision time of one Shockwave re-plan on synthetic views (30-1000 active jobs, 32-1024 GPUs).

Run: ``.venv/bin/python benchmarks/bench_shockwave_decision.py``. Every timed call is a full
re-plan (estimates, program, packing, fill): a fresh policy sees a new job set each time.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "policies" / "shockwave"))
from sw_views import cluster_view, job_view  # noqa: E402

from shockwave.policies.shockwave import ShockwavePolicy  # noqa: E402

CASES = ((30, 32), (120, 32), (120, 128), (500, 256), (1000, 512), (1000, 1024))


def synthetic_jobs(count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    gpus = rng.choice([1, 2, 4, 8], p=[0.6, 0.3, 0.09, 0.01], size=count)
    epochs = rng.integers(3, 300, size=count)
    return [job_view(j, gpus=int(gpus[j]), epochs=int(epochs[j]),
                     epoch_s=float(rng.uniform(10, 200)), done=int(rng.integers(0, epochs[j])),
                     admitted_s=float(rng.uniform(0, 3600)))
            for j in range(count)]


def time_case(count: int, num_gpus: int, reps: int) -> tuple[float, float, dict]:
    samples = []
    stats = {}
    for rep in range(reps):
        view = cluster_view(synthetic_jobs(count, rep), num_gpus=num_gpus, round_index=30)
        policy = ShockwavePolicy()
        start = time.perf_counter()
        policy.allocate(view)
        samples.append(time.perf_counter() - start)
        for key, value in vars(policy.stats).items():
            stats[key] = stats.get(key, 0) + value
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, stats


def main() -> None:
    print("| active jobs | GPUs | re-plans | median ms | p95 ms | relaxed | feasible | fallback | packing incomplete |")
    print("|---|---|---|---|---|---|---|---|---|")
    for count, num_gpus in CASES:
        reps = 20 if count <= 120 else 8
        median, p95, s = time_case(count, num_gpus, reps)
        print(f"| {count} | {num_gpus} | {reps} | {median * 1e3:.0f} | {p95 * 1e3:.0f} | "
              f"{s['relaxed']} | {s['feasible']} | {s['fallback']} | {s['packing_incomplete']} |")


if __name__ == "__main__":
    main()
