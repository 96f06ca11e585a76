"""Decision time of one Shockwave re-plan on synthetic views (30-10,000 active jobs, 32-4,096 GPUs).

Run: ``.venv/bin/python benchmarks/bench_shockwave_decision.py [--cases 1000:512,10000:4096]
[--reps N]``. Every timed call is a full re-plan (estimates, program, packing, fill), in two
settings:

* cold: a fresh policy sees a new job set (every job's state is built from its profile);
* warm: one policy, re-planning round after round while one job leaves and one arrives (the
  steady state of a simulation: little changed since the last re-plan, and the policy's per-job
  state is reused).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "policies" / "shockwave"))
from sw_views import cluster_view, job_view  # noqa: E402

from shockwave.policies.shockwave import ShockwavePolicy  # noqa: E402

CASES = ((30, 32), (120, 32), (120, 128), (500, 256), (1000, 512), (1000, 1024), (10000, 4096))


def synthetic_jobs(count: int, seed: int, first_id: int = 0) -> list:
    rng = np.random.default_rng(seed)
    gpus = rng.choice([1, 2, 4, 8], p=[0.6, 0.3, 0.09, 0.01], size=count)
    epochs = rng.integers(3, 300, size=count)
    return [job_view(first_id + j, gpus=int(gpus[j]), epochs=int(epochs[j]),
                     epoch_s=float(rng.uniform(10, 200)), done=int(rng.integers(0, epochs[j])),
                     admitted_s=float(rng.uniform(0, 3600)))
            for j in range(count)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Median and p95 (nearest rank) of ``samples``, in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def time_cold(count: int, num_gpus: int, reps: int) -> tuple[list[float], dict]:
    """A fresh policy and a new job set per sample."""
    samples = []
    stats: dict = {}
    for rep in range(reps):
        view = cluster_view(synthetic_jobs(count, rep), num_gpus=num_gpus, round_index=30)
        policy = ShockwavePolicy()
        start = time.perf_counter()
        policy.allocate(view)
        samples.append(time.perf_counter() - start)
        for key, value in vars(policy.stats).items():
            stats[key] = stats.get(key, 0) + value
    return samples, stats


def time_warm(count: int, num_gpus: int, reps: int) -> list[float]:
    """One policy; each sample is the re-plan after the oldest job left and a new one arrived."""
    jobs = synthetic_jobs(count + reps, 1000 + count)
    policy = ShockwavePolicy()
    policy.allocate(cluster_view(jobs[:count], num_gpus=num_gpus, round_index=30))
    samples = []
    for rep in range(1, reps + 1):
        view = cluster_view(jobs[rep:rep + count], num_gpus=num_gpus, round_index=30 + rep)
        start = time.perf_counter()
        policy.allocate(view)
        samples.append(time.perf_counter() - start)
    assert policy.stats.replans == reps + 1  # every sample was a re-plan
    return samples


def parse_cases(text: str) -> tuple[tuple[int, int], ...]:
    """``"1000:512,10000:4096"`` -> ((1000, 512), (10000, 4096)): active jobs and GPUs."""
    return tuple((int(jobs), int(gpus)) for jobs, gpus in
                 (part.split(":") for part in text.split(",") if part))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=parse_cases, default=CASES,
                        help="JOBS:GPUS,... (default: 30:32 up to 10000:4096)")
    parser.add_argument("--reps", type=int, default=None,
                        help="samples per setting (default: 20 up to 120 jobs, 8 above, 4 at "
                             "10,000)")
    args = parser.parse_args(argv)
    print("| active jobs | GPUs | samples | cold median ms | cold p95 ms | warm median ms | "
          "warm p95 ms | relaxed | feasible | fallback | packing incomplete |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for count, num_gpus in args.cases:
        reps = args.reps or (20 if count <= 120 else 8 if count < 10000 else 4)
        cold, s = time_cold(count, num_gpus, reps)
        warm = time_warm(count, num_gpus, reps)
        (cold_median, cold_p95), (warm_median, warm_p95) = percentiles(cold), percentiles(warm)
        print(f"| {count} | {num_gpus} | {reps} | {cold_median * 1e3:.0f} | {cold_p95 * 1e3:.0f} | "
              f"{warm_median * 1e3:.0f} | {warm_p95 * 1e3:.0f} | {s['relaxed']} | "
              f"{s['feasible']} | {s['fallback']} | {s['packing_incomplete']} |", flush=True)


if __name__ == "__main__":
    main()
