"""The runs a report compares: each result with its unique key, display label and metrics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from shockwave.errors import InputError
from shockwave.metrics import Summary, ftf_rhos, summarize
from shockwave.names import ALIASES
from shockwave.report.style import policy_label
from shockwave.sim.result import SimResult


@dataclass(frozen=True)
class Run:
    """One result as the report shows it.

    ``key`` is unique within the report and safe in file names (``gandiva_fair``,
    ``gandiva_fair-2`` for a second run of the same policy); ``summary`` and ``ftf_rhos`` are
    ``metrics.summarize`` and ``metrics.ftf_rhos`` of the result, computed once.
    """

    key: str
    label: str
    result: SimResult
    summary: Summary
    ftf_rhos: tuple[float, ...]


def make_runs(results: Sequence[SimResult]) -> list[Run]:
    """One ``Run`` per result, in the given order."""
    if not results:
        raise InputError("a report needs at least one simulation result")
    totals = Counter(r.policy for r in results)
    seen: Counter[str] = Counter()
    runs = []
    for result in results:
        seen[result.policy] += 1
        nth = seen[result.policy]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", result.policy).strip("_") or "policy"
        key = safe if nth == 1 else f"{safe}-{nth}"
        label = policy_label(result.policy)
        if totals[result.policy] > 1:
            label = f"{label} ({nth})"
        rhos = ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus)
        runs.append(Run(key, label, result, summarize(result), tuple(rhos)))
    return runs


def pick_baseline(runs: Sequence[Run], baseline: str | None) -> Run:
    """The run others are normalized to: ``baseline`` (a policy name or run key), else the first
    Shockwave run, else the first run."""
    if baseline is None:
        return next((run for run in runs if run.result.policy == "shockwave"), runs[0])
    wanted = ALIASES.get(baseline.strip().lower(), baseline.strip())
    for run in runs:
        if wanted in (run.key, run.result.policy):
            return run
    known = ", ".join(run.key for run in runs)
    raise InputError(f"'{baseline}' is not one of the report's runs ({known})", field="baseline")
