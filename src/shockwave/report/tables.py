"""The report's data files and table rows: ``jobs.csv``, ``results.json`` and the metrics table's
columns. Every value is a field of a ``SimResult`` or a ``metrics`` result, never recomputed."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shockwave.metrics import UNFAIR_RHO, Summary, themis_rhos
from shockwave.report.runs import Run
from shockwave.sim.result import result_to_json


@dataclass(frozen=True)
class Column:
    """One column of the metrics table: a ``Summary`` field, its header and display format."""

    field: str
    header: str
    fmt: str


_HEADERS: dict[str, tuple[str, str]] = {
    "makespan_s": ("Makespan (s)", "{:,.1f}"),
    "makespan_over_lb": ("Makespan (x LB)", "{:.3f}"),
    "avg_jct_s": ("Avg JCT (s)", "{:,.1f}"),
    "p50_jct_s": ("p50 JCT (s)", "{:,.1f}"),
    "p99_jct_s": ("p99 JCT (s)", "{:,.1f}"),
    "worst_ftf_rho": ("Worst FTF ρ", "{:.3f}"),
    "worst_themis_rho": ("Worst Themis ρ (contention met)", "{:.3f}"),
    "max_slowdown": ("Max slowdown (JCT / run time)", "{:.2f}"),
    "unfair_fraction_pct": (f"Unfair jobs, ρ > {UNFAIR_RHO} (%)", "{:.2f}"),
    "cluster_util": ("Cluster utilization (fraction)", "{:.3f}"),
    "rounds": ("Rounds", "{:d}"),
    "lease_extension_pct": ("Lease extensions (%)", "{:.1f}"),
    "jobs_completed": ("Jobs completed", "{:d}"),
}

METRIC_COLUMNS: tuple[Column, ...] = tuple(
    Column(f.name, *_HEADERS.get(f.name, (f.name, "{}"))) for f in fields(Summary)
)
"""Every ``Summary`` field, in its declared order."""

JOB_COLUMNS: tuple[str, ...] = (
    "policy", "policy_label", "job_id", "model", "batch_size", "gpus", "mode", "arrival_s",
    "completion_s", "jct_s", "run_time_s", "attained_s", "ftf_rho", "themis_rho", "slowdown", "unfair",
    "final_batch_size", "batch_size_changes",
)
"""The columns of ``jobs.csv``: one row per job per run."""


def job_rows(run: Run) -> list[dict[str, Any]]:
    """The ``jobs.csv`` rows of one run (floats at full precision)."""
    rows = []
    result = run.result
    themis = themis_rhos(result.records, result.round_start_s, result.num_gpus)
    for record, rho, contended in zip(result.records, run.ftf_rhos, themis, strict=True):
        timeline = record.batch_size_timeline
        rows.append({
            "policy": run.key, "policy_label": run.label, "job_id": record.job_id,
            "model": record.model, "batch_size": record.batch_size, "gpus": record.gpus,
            "mode": record.mode, "arrival_s": record.arrival_s,
            "completion_s": record.completion_s, "jct_s": record.jct_s,
            "run_time_s": record.run_time_s, "attained_s": record.attained_s, "ftf_rho": rho,
            "themis_rho": contended, "slowdown": record.jct_s / record.run_time_s,
            "unfair": int(rho > UNFAIR_RHO),
            "final_batch_size": timeline[-1][1] if timeline else record.batch_size,
            "batch_size_changes": max(len(timeline) - 1, 0),
        })
    return rows


def write_jobs_csv(runs: Sequence[Run], path: Path) -> None:
    """Every job's record of every run, with its JCT and finish-time fairness rho."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=JOB_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for run in runs:
            writer.writerows(job_rows(run))


def results_document(runs: Sequence[Run], baseline: Run, command_line: str) -> dict[str, Any]:
    """``results.json``: how the report was made, each run's inputs, and ``result_to_json`` of
    every result (the form ``shockwave report`` reads back)."""
    return {
        "generated_by": "shockwave report",
        "command_line": command_line,
        "baseline": baseline.key,
        "runs": [
            {"key": run.key, "label": run.label, "policy": run.result.policy,
             "inputs": dict(run.result.inputs)}
            for run in runs
        ],
        "results": [result_to_json(run.result) for run in runs],
    }


def write_results_json(runs: Sequence[Run], baseline: Run, command_line: str, path: Path) -> None:
    document = results_document(runs, baseline, command_line)
    # no indent: json's fast C encoder only runs without one (7 runs: 0.1 s instead of 2 s)
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")


def format_metric(column: Column, summary: Summary) -> tuple[str, str]:
    """(exact value as ``repr``, display text) of one metrics-table cell."""
    value = getattr(summary, column.field)
    exact = int(value) if column.fmt == "{:d}" else float(value)
    return repr(exact), column.fmt.format(exact)
