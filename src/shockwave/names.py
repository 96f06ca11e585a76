"""Policy names as users know them: aliases from the literature and display names.

Kept apart from the policy registry so that light modules (the CLI start-up, reports) need not
import the solvers.
"""

from __future__ import annotations

ALIASES: dict[str, str] = {
    "gavel": "max_min_fairness",
    "las": "max_min_fairness",
    "themis": "finish_time_fairness",
    "ossp": "min_total_duration",
    "mst": "max_sum_throughput",
    "gandiva-fair": "gandiva_fair",
    "gavel_perf": "max_min_fairness_perf",
    "las_perf": "max_min_fairness_perf",
    "themis_perf": "finish_time_fairness_perf",
    "ossp_perf": "min_total_duration_perf",
    "mst_perf": "max_sum_throughput_perf",
}
"""``las`` is Gavel's name for max-min fairness (least attained service). Each ``*_perf`` alias
names the heterogeneity-aware variant; ``max_sum_throughput_perf`` is a registry name of its own
(it used to be an alias of ``max_sum_throughput``, which it equals on one GPU type)."""

DISPLAY_NAMES: dict[str, str] = {
    "shockwave": "Shockwave",
    "finish_time_fairness": "Themis",
    "max_min_fairness": "Gavel",
    "allox": "AlloX",
    "min_total_duration": "OSSP",
    "max_sum_throughput": "MST",
    "gandiva_fair": "Gandiva-Fair",
    "fifo": "FIFO",
    "isolated": "Isolated",
    "finish_time_fairness_perf": "Themis-Perf",
    "max_min_fairness_perf": "Gavel-Perf",
    "min_total_duration_perf": "OSSP-Perf",
    "max_sum_throughput_perf": "MST-Perf",
    "gandiva_fair_perf": "Gandiva-Fair-Perf",
    "fifo_perf": "FIFO-Perf",
}

REAL_SUFFIX = " (real)"
"""Ends the policy of a result measured on a running service (``shockwave replay --real``):
``shockwave (real)``, so that a report tells it from a simulation of the same policy."""

PAPER_POLICIES: tuple[str, ...] = (
    "shockwave", "finish_time_fairness", "max_min_fairness", "allox", "min_total_duration",
    "max_sum_throughput", "gandiva_fair",
)
"""The policies of the paper's canonical figure, Shockwave first (the normalisation baseline)."""
