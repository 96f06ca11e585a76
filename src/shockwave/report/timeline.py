"""Per-policy figures over time: who held which GPU in each round (with cluster allocation
beneath), and the batch sizes of the adaptive jobs."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from shockwave.report.labels import path_labels
from shockwave.report.runs import Run
from shockwave.report.series import (
    allocated_fraction,
    batch_size_steps,
    contiguous_runs,
    gang_segments,
    is_adaptive,
    type_groups,
)
from shockwave.report.style import Margins, job_colours, new_figure

HOUR_S = 3600.0
ALLOCATED = "0.6"
"""Grey of the per-round allocation area beneath the Gantt chart."""
LABEL_MIN_SPAN = 0.035
"""Job ids are printed inside leases at least this share of the time axis wide..."""
TYPE_LINE = "0.15"
"""Grey of the lines between the GPU types of a heterogeneous cluster."""
MAX_LABELS = 48
"""...the widest ones first, at most this many per figure (each label costs render time)."""


def _box(x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _array(boxes: list[list[tuple[float, float]]]) -> np.ndarray:
    return np.asarray(boxes, dtype=float).reshape(-1, 4, 2)


def _gantt(ax, run: Run, util_pct: float) -> None:
    span_h = max(run.summary.makespan_s, max(run.result.round_end_s, default=0.0)) / HOUR_S
    boxes, jobs, gang_boxes, gang_jobs, links, labels = [], [], [], [], [], []
    for seg in gang_segments(run.result):
        x0, x1 = seg.start_s / HOUR_S, seg.end_s / HOUR_S
        gpu_runs = contiguous_runs(seg.gpus)
        for lo, hi in gpu_runs:
            gang = len(seg.gpus) > 1
            (gang_boxes if gang else boxes).append(_box(x0, x1, lo - 0.42, hi + 0.42))
            (gang_jobs if gang else jobs).append(seg.job_id)
        # a gang split across non-adjacent GPUs: join its pieces so it still reads as one
        links.extend(
            [(x0 + (x1 - x0) / 2, a[1] + 0.42), (x0 + (x1 - x0) / 2, b[0] - 0.42)]
            for a, b in zip(gpu_runs, gpu_runs[1:], strict=False)
        )
        if span_h and (x1 - x0) / span_h >= LABEL_MIN_SPAN:
            labels.append((x1 - x0, (x0 + x1) / 2, (gpu_runs[0][0] + gpu_runs[0][1]) / 2, seg.job_id))
    # arrays, not lists of tuples: matplotlib converts those one colour and one box at a time
    ax.add_collection(PolyCollection(_array(boxes), facecolors=job_colours(jobs),
                                     edgecolors="white", linewidths=0.3), autolim=False)
    ax.add_collection(PolyCollection(_array(gang_boxes), facecolors=job_colours(gang_jobs),
                                     edgecolors="black", linewidths=1.1), autolim=False)
    ax.add_collection(LineCollection(links, colors="black", linewidths=0.9, linestyles="--"),
                      autolim=False)
    chosen = sorted(labels, reverse=True)[:MAX_LABELS]
    path_labels(ax, [(c[1], c[2]) for c in chosen], [str(c[3]) for c in chosen])
    ax.set_xlim(0, span_h * 1.005 or 1.0)
    ax.set_ylim(run.result.num_gpus - 0.5, -0.5)
    ax.yaxis.set_major_locator(MaxNLocator(8, integer=True))
    ax.set_ylabel("GPU id")
    typed = _type_separators(ax, run)
    ax.set_title(f"{run.label}: which job held which GPU in each round "
                 "(one colour per job; outlined = one multi-GPU gang; number = job id)", y=1.0)
    ax.legend(handles=[
        Patch(facecolor="0.8", edgecolor="white", label="1-GPU job"),
        Patch(facecolor="0.8", edgecolor="black", linewidth=1.1, label="multi-GPU gang"),
        Line2D([], [], color="black", linestyle="--", label="gang across non-adjacent GPUs"),
        *([Line2D([], [], color=TYPE_LINE, linewidth=1.6, label="GPU type boundary")]
          if typed else []),
        Patch(facecolor=ALLOCATED, label="below: GPUs allocated\nin the round"),
        Line2D([], [], color="black", linestyle=":", label=f"below: utilization\n(busy time) {util_pct:.1f}%"),
    ], loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)


def _type_separators(ax, run: Run) -> bool:
    """On a cluster of several GPU types: a line between the types' GPU ids and each type's
    name and count at the start of its rows. Returns whether the cluster had several types."""
    groups = type_groups(run.result.gpu_types)
    if len(groups) < 2:
        return False
    left = blended_transform_factory(ax.transAxes, ax.transData)
    for gpu_type, first, last in groups:
        if first:
            ax.axhline(first - 0.5, color=TYPE_LINE, linewidth=1.6)
        ax.text(0.004, first - 0.4, f"{gpu_type} · {last - first + 1} GPUs", transform=left,
                ha="left", va="top", fontsize=7, fontweight="bold",
                bbox={"facecolor": "white", "edgecolor": TYPE_LINE, "alpha": 0.85,
                      "boxstyle": "round,pad=0.2", "linewidth": 0.6})
    ax.set_ylabel("GPU id, grouped by type")
    return True


def _allocation(ax, run: Run) -> None:
    starts, ends, fraction = allocated_fraction(run.result)
    xs = np.repeat(np.column_stack([starts, ends]) / HOUR_S, 2, axis=1).ravel()
    heights = 100.0 * fraction
    ys = np.column_stack([np.zeros_like(heights), heights, heights, np.zeros_like(heights)]).ravel()
    ax.add_patch(Polygon(np.column_stack([xs, ys]), closed=True, facecolor=ALLOCATED,
                         linewidth=0))
    ax.axhline(100.0 * run.summary.cluster_util, color="black", linestyle=":", linewidth=1.2)
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 50, 100])
    ax.xaxis.set_major_locator(MaxNLocator(10, steps=[1, 2, 2.5, 5, 10]))
    ax.set_ylabel("GPUs (%)")
    ax.set_xlabel("time since trace start (h)")


def timeline_figure(run: Run) -> Figure:
    """The schedule as a Gantt chart (GPU x time) above the cluster's allocation per round."""
    gpus = run.result.num_gpus
    fig = new_figure(12.0, min(3.0 + 0.16 * gpus, 14.0), rows=2, height_ratios=(4, 1),
                     sharex=True, margins=Margins(left=0.6, right=2.3, bottom=0.55, top=0.35,
                                                  hspace=0.08))
    _gantt(fig.axes[0], run, 100.0 * run.summary.cluster_util)
    _allocation(fig.axes[1], run)
    return fig


def batch_size_figure(run: Run) -> Figure:
    """One lane per adaptive job from arrival to completion, shaded by its batch size relative to
    the size it was submitted with (labelled with the batch size itself where there is room)."""
    jobs = sorted((r for r in run.result.records if is_adaptive(r)),
                  key=lambda r: (r.arrival_s, r.job_id))
    fig = new_figure(12.0, min(max(2.6, 1.0 + 0.1 * len(jobs)), 12.0),
                     margins=Margins(left=2.1, right=1.35, bottom=0.55, top=0.35))
    ax = fig.axes[0]
    ax.set_xlabel("time since trace start (h)")
    ax.set_title(f"{run.label}: batch size of the adaptive jobs over time", y=1.0)
    if not jobs:
        ax.text(0.5, 0.5, "no adaptive (Accordion / GNS) jobs in this run", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return fig
    boxes, ratios, texts = [], [], []
    span_h = max(r.completion_s for r in jobs) / HOUR_S or 1.0
    for lane, record in enumerate(jobs):
        times, sizes = batch_size_steps(record)
        for t0, t1, bs in zip(times, times[1:], sizes, strict=False):
            boxes.append(_box(t0 / HOUR_S, t1 / HOUR_S, lane - 0.4, lane + 0.4))
            ratios.append(math.log2(bs / record.batch_size))
            if (t1 - t0) / HOUR_S / span_h >= LABEL_MIN_SPAN:
                texts.append((t1 - t0, (t0 + t1) / 2 / HOUR_S, lane, bs, ratios[-1]))
    lo, hi = math.floor(min(ratios)), math.ceil(max(ratios))
    bounds = np.arange(lo - 0.5, max(hi, lo + 1) + 0.5 + 1e-9, 1.0)
    norm = BoundaryNorm(bounds, 256)
    shapes = PolyCollection(_array(boxes), array=np.asarray(ratios), cmap="cividis", norm=norm,
                            edgecolors="white", linewidths=0.4)
    ax.add_collection(shapes, autolim=False)
    chosen = sorted(texts, reverse=True)[:MAX_LABELS]
    path_labels(ax, [(c[1], c[2]) for c in chosen], [str(c[3]) for c in chosen],
                colours=["white" if c[4] < (lo + hi) / 2 else "black" for c in chosen])
    ticks = np.arange(lo, max(hi, lo + 1) + 1)
    box = ax.get_position()
    cax = fig.add_axes((box.x1 + 0.01, box.y0, 0.012, box.height))
    bar = fig.colorbar(shapes, cax=cax, ticks=ticks)
    bar.ax.set_yticklabels([f"×{2.0 ** t:g}" for t in ticks])
    bar.set_label("batch size ÷ submitted batch size")
    ax.set_xlim(0, span_h * 1.005)
    ax.set_ylim(len(jobs) - 0.5, -0.5)
    # lane names as paths, not tick labels: ticks are the slowest part of a figure to draw
    ax.set_yticks([])
    lanes = range(0, len(jobs), max(1, math.ceil(len(jobs) / 60)))
    path_labels(ax, [(-0.005, lane) for lane in lanes],
                [f"job {jobs[i].job_id} · {jobs[i].model} · {jobs[i].mode}" for i in lanes],
                ha="right", position=blended_transform_factory(ax.transAxes, ax.transData))
    ax.set_ylabel("adaptive job (by arrival)", labelpad=118)
    return fig
