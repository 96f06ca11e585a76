"""Small hand-made ``SimResult``s for report tests: a toy round-based schedule with gangs, lease
extensions, idle gaps and batch-size changes, deterministic from a seed (no simulator needed)."""

from __future__ import annotations

import random

from shockwave.sim.result import JobRecord, SimResult

ROUND_S = 120.0
_GNS_STEPS = ((0.25, 2), (0.5, 4))
_ACCORDION_STEPS = ((0.2, 4), (0.7, 1))


def _jobs(rng: random.Random, num_jobs: int) -> list[dict]:
    jobs, arrival = [], 0.0
    for job_id in range(num_jobs):
        mode = rng.choice(("static", "static", "accordion", "gns"))
        jobs.append({
            "id": job_id, "model": rng.choice(("ResNet-18", "LM", "Recommendation")),
            "bs": rng.choice((16, 32, 64)), "gpus": rng.choice((1, 1, 1, 2, 4)), "mode": mode,
            "arrival": arrival, "run": ROUND_S * rng.uniform(1.5, 7.0), "done": 0.0,
            "timeline": [(arrival, 0)], "held": (),
        })
        arrival += rng.choice((0.0, 0.0, 60.0, 300.0, 2000.0 if job_id == num_jobs // 2 else 0.0))
    for job in jobs:
        job["timeline"] = [(job["arrival"], job["bs"])]
    return jobs


def _place(job: dict, free: set[int], per_server: int) -> tuple[int, ...] | None:
    if job["held"] and set(job["held"]) <= free:
        return job["held"]
    for server in range(0, max(free, default=-1) + 1, per_server):
        here = [g for g in range(server, server + per_server) if g in free]
        if len(here) >= job["gpus"]:
            return tuple(here[: job["gpus"]])
    spread = sorted(free)[: job["gpus"]]
    return tuple(spread) if len(spread) == job["gpus"] else None


def _advance(job: dict, start: float) -> float | None:
    """Run ``job`` for one round from ``start``; its completion time if it finishes."""
    before = job["done"] / job["run"]
    left = job["run"] - job["done"]
    job["done"] += min(ROUND_S, left)
    after = job["done"] / job["run"]
    steps = {"gns": _GNS_STEPS, "accordion": _ACCORDION_STEPS}.get(job["mode"], ())
    for fraction, factor in steps:
        if before < fraction <= after:
            job["timeline"].append((start + (fraction - before) * job["run"], job["bs"] * factor))
    return start + left if left <= ROUND_S else None


def synthetic_result(policy: str, *, num_jobs: int = 12, num_gpus: int = 8, seed: int = 0,
                     gpus_per_server: int = 4) -> SimResult:
    """A plausible result of ``policy`` (the policy only changes the job order, via the seed)."""
    jobs = _jobs(random.Random(seed), num_jobs)
    order = random.Random(f"{policy}-{seed}")
    rank = {job["id"]: order.random() for job in jobs}
    schedule, starts, ends, busy = [], [], [], [0.0] * num_gpus
    records: dict[int, JobRecord] = {}
    now = 0.0
    while len(records) < num_jobs:
        active = [j for j in jobs if j["arrival"] <= now and j["id"] not in records]
        if not active:
            now = min(j["arrival"] for j in jobs if j["id"] not in records)
            continue
        free, plan = set(range(num_gpus)), {}
        for job in sorted(active, key=lambda j: (not j["held"], rank[j["id"]])):
            gpus = _place(job, free, gpus_per_server)
            if gpus is not None:
                plan[job["id"]], job["held"] = gpus, gpus
                free -= set(gpus)
        for job in active:
            if job["id"] not in plan:
                job["held"] = ()
        ends_at = []
        for job in (j for j in active if j["id"] in plan):
            finished = _advance(job, now)
            for gpu in plan[job["id"]]:
                busy[gpu] += (finished or now + ROUND_S) - now
            if finished is not None:
                ends_at.append(finished)
                records[job["id"]] = JobRecord(
                    job_id=job["id"], model=job["model"], batch_size=job["bs"], gpus=job["gpus"],
                    mode=job["mode"], arrival_s=job["arrival"], completion_s=finished,
                    run_time_s=job["run"], attained_s=job["done"],
                    batch_size_timeline=tuple(job["timeline"]),
                )
        schedule.append(plan)
        starts.append(now)
        now += ROUND_S
        ends.append(now if len(records) < num_jobs else max(ends_at))
    ordered = tuple(records[i] for i in sorted(records))
    return SimResult(
        policy=policy, num_gpus=num_gpus, records=ordered, schedule=tuple(schedule),
        round_start_s=tuple(starts), round_end_s=tuple(ends), gpu_busy_s=tuple(busy),
        makespan_s=max(r.completion_s for r in ordered), num_trace_jobs=num_jobs,
        inputs={"trace": "synthetic", "seed": seed, "round_s": ROUND_S, "gpus": num_gpus},
        stats={"synthetic": True},
    )


def tiny_result(policy: str = "fifo") -> SimResult:
    """Two 1-GPU jobs and one 2-GPU gang on 4 GPUs, hand-computed: rounds of 100 s; job 0 runs
    rounds 0-1 on GPU 0, job 1 rounds 0 and 2 on GPU 1 (so two leases), job 2 (a GNS gang on GPUs
    2 and 3) finishes 50 s into round 1; nobody waits, so every rho is 1 or below."""
    records = (
        JobRecord(0, "ResNet-18", 32, 1, "static", 0.0, 200.0, 200.0, 200.0),
        JobRecord(1, "LM", 16, 1, "accordion", 0.0, 300.0, 300.0, 200.0,
                  ((0.0, 16), (100.0, 64), (250.0, 16))),
        JobRecord(2, "ResNet-50", 64, 2, "gns", 0.0, 150.0, 150.0, 150.0,
                  ((0.0, 64), (120.0, 128))),
    )
    schedule = ({0: (0,), 1: (1,), 2: (2, 3)}, {0: (0,), 2: (2, 3)}, {1: (1,)})
    return SimResult(
        policy=policy, num_gpus=4, records=records, schedule=schedule,
        round_start_s=(0.0, 100.0, 200.0), round_end_s=(100.0, 200.0, 300.0),
        gpu_busy_s=(200.0, 200.0, 150.0, 150.0), makespan_s=300.0, num_trace_jobs=3,
        inputs={"trace": "tiny"},
    )
