"""Small valid inputs of every reader, for the regression and fuzz tests of this folder."""

from __future__ import annotations

import json
from importlib import resources

from shockwave.sim.result import JobRecord, SimResult, result_to_json
from shockwave.traces.jsonl import format_jsonl
from shockwave.traces.tsv import parse_tsv

CANONICAL = (resources.files("shockwave") / "data" / "canonical-120jobs.trace").read_text()
REFERENCE = "".join(CANONICAL.splitlines(keepends=True)[:3])
JSON_LINES = format_jsonl(parse_tsv(REFERENCE).jobs)
GAVEL = (
    "ResNet-18 (batch size 32)\tcd %s/cifar10 && python3 main.py --batch_size 32 \t--num_steps"
    "\t1\t42975\t0.000000\t1\n"
    "CycleGAN\tcd %s/cyclegan && python3 cyclegan.py\t--n_steps\t1\t71711\t17.000000\t1\n"
    "A3C\tcd %s/rl && python3 main.py\t--max-steps\t0\t100\t20.000000\t1\n"
    "LM (batch size 10)\tcd %s/lm && python main.py\t--steps\t1\t2403295\t29.000000\t1\n"
)
POLLUX = (
    "name,time,application,num_replicas,batch_size\n"
    "cifar10-0,53,cifar10,1,128\n"
    "imagenet-1,3472,imagenet,8,1600\n"
    "ncf-4,18785,ncf,4,1024\n"
)
THROUGHPUTS = {
    "v100": {
        "('ResNet-18 (batch size 32)', 1)": {"null": 42.9},
        "('LM (batch size 10)', 1)": {"null": 94.9, "('LM (batch size 10)', 1)": [40.1, 40.2]},
        "('A3C', 1)": {"null": 7.2},
        "('CycleGAN', 1)": {"null": 0.0},
    },
    "k80": {"('LM (batch size 10)', 1)": {"null": 20.5}},
}
THROUGHPUTS_TEXT = json.dumps(THROUGHPUTS)


def small_result(policy: str = "fifo") -> SimResult:
    """Three jobs on four GPUs over three rounds, one of them a 2-GPU gang."""
    records = (
        JobRecord(0, "ResNet-18", 32, 1, "static", 0.0, 200.0, 200.0, 200.0),
        JobRecord(1, "LM", 16, 1, "accordion", 0.0, 300.0, 300.0, 200.0,
                  ((0.0, 16), (100.0, 64))),
        JobRecord(2, "ResNet-50", 64, 2, "gns", 0.0, 150.0, 150.0, 150.0, ((0.0, 64),)),
    )
    return SimResult(
        policy=policy, num_gpus=4, records=records,
        schedule=({0: (0,), 1: (1,), 2: (2, 3)}, {0: (0,), 2: (2, 3)}, {1: (1,)}),
        round_start_s=(0.0, 100.0, 200.0), round_end_s=(100.0, 200.0, 300.0),
        gpu_busy_s=(200.0, 200.0, 150.0, 150.0), makespan_s=300.0, num_trace_jobs=3,
        inputs={"trace": "small"}, stats={"unfinished_jobs": 0},
    )


RESULT = result_to_json(small_result())
REPORT_RESULTS = {"generated_by": "shockwave report", "results": [RESULT, RESULT]}
