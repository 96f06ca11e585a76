"""A sweep's figures, drawn from ``summary.csv``'s rows (means and 95 % half-widths across
seeds; every number from ``shockwave.metrics``): the paper's four headline panels with error
bars, one bar per policy, and any metric against a swept variable, one line per policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from shockwave.report.charts import PANELS
from shockwave.report.style import FILLS, HATCHES, LINE_STYLES, MARKERS, Margins, new_figure
from shockwave.report.style import policy_label as display_name
from shockwave.report.tables import METRIC_COLUMNS
from shockwave.sweep.tables import cell

Row = Mapping[str, Any]

LABELS: dict[str, str] = {c.field: c.header for c in METRIC_COLUMNS} | {"jobs_total": "Jobs in the trace"}
"""The axis label of each metric (the report's metrics-table headers, with units)."""
VARIABLES: dict[str, str] = {
    "gpus": "cluster size (GPUs)", "round_seconds": "round length (s)", "num_jobs": "jobs in the trace",
    "lam": "mean inter-arrival time (s)", "min_hours": "shortest duration (h)",
    "max_hours": "longest duration (h)",
}


@dataclass(frozen=True)
class Grouping:
    """How a sweep's variables split: ``series`` tell policies (and their parameters) apart, the
    ``conditions`` are everything else swept (trace settings, cluster size, round length)."""

    series: tuple[str, ...]
    conditions: tuple[str, ...]

    @classmethod
    def of(cls, columns: Sequence[str]) -> Grouping:
        kept = [c for c in columns if c != "seed"]
        series = tuple(c for c in kept if c == "policy" or "." in c)
        return cls(series, tuple(c for c in kept if c not in series))


def describe(row: Row, names: Sequence[str]) -> str:
    """``gpus=16, lam=20``: the values of ``names`` in ``row`` (another policy's parameters
    left out)."""
    return ", ".join(f"{n}={cell(row[n])}" for n in names if row.get(n) is not None)


def series_label(row: Row, names: Sequence[str]) -> str:
    """``Shockwave (k=0.01)``: the policy's display name and its swept parameters."""
    params = [n for n in names if n != "policy" and row.get(n) is not None]
    settings = ", ".join(f"{n.split('.', 1)[1]}={cell(row[n])}" for n in params)
    name = display_name(str(row["policy"]))
    return f"{name} ({settings})" if settings else name


def bars_figure(rows: Sequence[Row], grouping: Grouping, title: str) -> Figure:
    """The paper's headline figure with error bars: four panels (makespan, average JCT, worst
    FTF rho, unfair jobs), one bar per series, height the mean across seeds, whiskers the 95 %
    interval."""
    width = max(10.0, 1.9 + 0.4 * len(rows) * len(PANELS))
    fig = new_figure(width, 4.2, cols=len(PANELS),
                     margins=Margins(left=0.85, right=0.15, bottom=1.0, top=0.9, wspace=0.55))
    positions = list(range(len(rows)))
    labels = [series_label(row, grouping.series) for row in rows]
    for ax, panel in zip(fig.axes, PANELS, strict=True):
        means = [float(row[f"{panel.field}_mean"]) for row in rows]
        halves = [_half(row, panel.field) for row in rows]
        bars = ax.bar(positions, means, yerr=halves, width=0.72, capsize=4,
                      color=[FILLS[i % len(FILLS)] for i in positions], edgecolor="black",
                      linewidth=0.7, error_kw={"elinewidth": 1.0})
        for i, bar in enumerate(bars):
            bar.set_hatch(HATCHES[i % len(HATCHES)])
        ax.set_title(panel.title, y=1.0)
        ax.set_ylabel(f"{panel.title} ({panel.unit})" if panel.unit else panel.title)
        top = max((m + h for m, h in zip(means, halves, strict=True)), default=1.0)
        ax.set_ylim(0, max(top, 1e-9) * 1.12)
        ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
        ax.set_xticks(positions, labels, rotation=35, ha="right")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title)
    return fig


def _half(row: Row, metric: str) -> float:
    half = row.get(f"{metric}_ci95")
    return 0.0 if half is None else float(half)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def line_figure(rows: Sequence[Row], grouping: Grouping, metric: str, x: str) -> Figure:
    """``metric`` (mean, 95 % whiskers) against the swept variable ``x``: one line per series
    and combination of the other swept conditions; rows where ``x`` does not apply (another
    policy's parameter) are left out."""
    rows = [row for row in rows if row.get(x) is not None]
    xs = list(dict.fromkeys(row[x] for row in rows))
    numeric = _numeric(xs)
    position = {value: (value if numeric else i) for i, value in enumerate(xs)}
    others = [c for c in grouping.conditions  # the ones that vary name a line
              if c != x and len({cell(row.get(c)) for row in rows}) > 1]
    series = [c for c in grouping.series if c != x]
    lines: dict[str, list[Row]] = {}
    for row in rows:
        label = series_label(row, series)
        context = describe(row, others)
        lines.setdefault(f"{label}, {context}" if context else label, []).append(row)
    fig = new_figure(7.5, 4.4, margins=Margins(left=0.8, right=0.2, bottom=0.6, top=0.4))
    ax = fig.axes[0]
    for i, (label, members) in enumerate(lines.items()):
        # Each line a few points aside from the next, so that whiskers at one x do not overlap.
        dodge = ScaledTranslation((i - (len(lines) - 1) / 2) * 4 / 72, 0, fig.dpi_scale_trans)
        drawn = ax.errorbar([position[m[x]] for m in members],
                            [float(m[f"{metric}_mean"]) for m in members],
                            yerr=[_half(m, metric) for m in members], label=label, capsize=3,
                            color=FILLS[i % len(FILLS)],
                            linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                            marker=MARKERS[i % len(MARKERS)], markersize=5, linewidth=1.5)
        for artist in drawn.get_children():  # shifted after autoscaling saw the data
            artist.set_transform(ax.transData + dodge)
    ax.set_xticks([position[v] for v in xs], [cell(v) for v in xs])
    ax.set_xlabel(VARIABLES.get(x, x.replace(".", ": ")))
    ax.set_ylabel(LABELS.get(metric, metric))
    ax.set_title(f"{LABELS.get(metric, metric)} against {x} (mean, 95 % CI across seeds)", y=1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    return fig
