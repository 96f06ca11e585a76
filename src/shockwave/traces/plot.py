"""A one-page picture of a trace: arrivals, durations, GPUs per job and adaptation modes.

Drawn with matplotlib's Agg canvas directly (no pyplot, so no global figure state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from shockwave.errors import InputError
from shockwave.traces.info import TraceInfo
from shockwave.traces.trace import Trace


def plot_trace(trace: Trace, run_times_s: np.ndarray, info: TraceInfo, out: str | Path) -> Path:
    """Write a 2x2 histogram figure of ``trace`` to ``out`` (format from its suffix, e.g. PNG)."""
    figure = Figure(figsize=(11, 7), layout="constrained")
    FigureCanvasAgg(figure)
    (arrive, length), (width, modes) = figure.subplots(2, 2)

    arrivals = np.array([job.arrival_s for job in trace.jobs]) / 3600
    arrive.hist(arrivals, bins=min(50, max(5, len(trace) // 4)), color="tab:blue")
    arrive.set(title=f"Arrivals (mean gap {info.mean_gap_s:.1f} s)", xlabel="hours since start",
               ylabel="jobs")

    static = np.array([job.duration_s for job in trace.jobs]) / 3600
    dynamic = np.asarray(run_times_s) / 3600
    top = max(static.max(), dynamic.max(), 1e-3)
    bins = np.linspace(0, top, 40)
    length.hist(static, bins=bins, alpha=0.6, label="static (trace column 11)")
    length.hist(dynamic, bins=bins, alpha=0.6, label="dynamic profile T_j")
    length.set(title="Job duration alone", xlabel="hours", ylabel="jobs")
    length.legend()

    labels = [str(g) for g in info.gpus_per_job]
    width.bar(labels, list(info.gpus_per_job.values()), color="tab:green")
    width.set(title="GPUs per job", xlabel="GPUs", ylabel="jobs")

    modes.bar(list(info.modes), list(info.modes.values()), color="tab:orange")
    modes.set(title="Adaptation mode", ylabel="jobs")

    figure.suptitle(
        f"{Path(info.source).name}: {info.num_jobs} jobs, {info.gpu_seconds:,.0f} GPU-s; "
        f"makespan >= {info.makespan_lower_bound_s:,.0f} s on {info.num_gpus} GPUs")
    path = Path(out)
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot write the picture: {exc}", path=path) from None
    return path
