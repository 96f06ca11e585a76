"""Hypothesis strategies shared by the simulator's property tests: small random traces of the
bundled table's job templates."""

from __future__ import annotations

from hypothesis import strategies as st

from shockwave import JobSpec
from shockwave.workload.throughput import load_throughputs

THROUGHPUTS = load_throughputs()
TEMPLATES = [
    ("ResNet-18", 32), ("ResNet-18", 128), ("ResNet-50", 32), ("ResNet-50", 64),
    ("Transformer", 32), ("LM", 5), ("LM", 20), ("Recommendation", 512), ("Recommendation", 4096),
]


@st.composite
def traces(draw, max_jobs: int = 8, widest: int = 4, max_duration_s: int = 1500) -> list[JobSpec]:
    """1 to ``max_jobs`` jobs of the templates, gangs of 1, 2 or 4 GPUs no wider than
    ``widest`` (Recommendation: 1), 30 s to ``max_duration_s`` alone, every adaptation mode,
    bursty arrivals."""
    n = draw(st.integers(min_value=1, max_value=max_jobs))
    jobs, arrival = [], 0.0
    for job_id in range(n):
        model, bs = draw(st.sampled_from(TEMPLATES))
        gpus = 1 if model == "Recommendation" else draw(
            st.sampled_from([w for w in (1, 1, 2, 4) if w <= widest]))
        rate = THROUGHPUTS.lookup(model, bs, gpus)
        duration = draw(st.integers(min_value=30, max_value=max_duration_s))
        mode = draw(st.sampled_from(["static", "accordion", "gns"]))
        arrival += draw(st.sampled_from([0.0, 7.0, 60.0, 500.0, 3000.0]))
        jobs.append(JobSpec(job_id, model, bs, gpus, mode, total_steps=max(1, int(duration * rate)),
                            arrival_s=arrival, duration_s=duration))
    return jobs
