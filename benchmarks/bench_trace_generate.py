"""Time 10,000-job trace generation (in process and through the CLI) and reading it back.

Usage: ``.venv/bin/python benchmarks/bench_trace_generate.py [--jobs N] [--repeat R] [--write]``.
With ``--write`` the ``## Traces`` section of ``BENCHMARKS.md`` is rewritten.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results_file import cpu_name, replace_section

from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.info import describe_trace
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import load_throughputs


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def _cli_seconds(jobs: int, repeat: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.trace"
        code = ("from shockwave.cli_trace import app; app(['generate', '--num-jobs', "
                f"'{jobs}', '--seed', '1', '--out', {str(out)!r}])")
        return _timed(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)


def measure(jobs: int, repeat: int) -> list[tuple[str, float, float]]:
    table = load_throughputs()
    params = GeneratorParams(num_jobs=jobs, seed=1)
    trace = generate_trace(params, table)
    tsv, jsonl = format_tsv(trace.jobs), format_jsonl(trace.jobs)
    import_only = _timed(lambda: subprocess.run([sys.executable, "-c", "import shockwave.cli_trace"],
                                                 check=True), repeat)
    return [
        (f"generate {jobs:,} jobs (in process)", *_timed(lambda: generate_trace(params, table),
                                                          repeat)),
        (f"generate + write reference text, {jobs:,} jobs",
         *_timed(lambda: format_tsv(generate_trace(params, table).jobs), repeat)),
        (f"`shockwave trace generate --num-jobs {jobs}` (new process, to a file)",
         *_cli_seconds(jobs, repeat)),
        ("of which: new process + `import shockwave.cli_trace` alone", *import_only),
        (f"parse reference text, {jobs:,} jobs", *_timed(lambda: parse_tsv(tsv), repeat)),
        (f"parse JSON Lines, {jobs:,} jobs", *_timed(lambda: parse_jsonl(jsonl), repeat)),
        (f"`trace info` numbers (profiles of all {jobs:,} jobs)",
         *_timed(lambda: describe_trace(trace, table), repeat)),
    ]


def report(rows: list[tuple[str, float, float]], repeat: int, load: float) -> str:
    lines = [
        "## Traces",
        "",
        f"Machine: {cpu_name()}, {len(os.sched_getaffinity(0))} cores; "
        f"Python {platform.python_version()}. Median and best of {repeat} runs, wall-clock "
        f"seconds; 1-minute load average {load:.1f} when it started (the machine is shared). "
        "Script: `benchmarks/bench_trace_generate.py --write`.",
        "",
        "| what | median s | best s |",
        "|---|---:|---:|",
        *[f"| {name} | {median:.3f} | {best:.3f} |" for name, median, best in rows],
        "",
        "Target: a 10,000-job trace in under 2 s. Generation itself takes well under a second;",
        "the rest of a fresh `shockwave` process is Python, NumPy, typer and rich starting up",
        "(the trace commands do not load the policies or SciPy).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="rewrite its section of BENCHMARKS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    text = report(measure(args.jobs, args.repeat), args.repeat, load)
    print(text)
    if args.write:
        replace_section("Traces", text.split("\n", 2)[2])


if __name__ == "__main__":
    main()
