"""Cross-policy figures: the four-panel normalized summary (the paper's canonical figure) and the
JCT and finish-time-fairness distributions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from shockwave.metrics import UNFAIR_RHO
from shockwave.report.labels import path_labels
from shockwave.report.runs import Run
from shockwave.report.series import cdf_points, normalized
from shockwave.report.style import FILLS, HATCHES, LINE_STYLES, MARKERS, Margins, new_figure


@dataclass(frozen=True)
class Panel:
    """One panel of the summary figure: a ``Summary`` field, its title and how to print it."""

    field: str
    title: str
    unit: str
    fmt: str


PANELS: tuple[Panel, ...] = (
    Panel("makespan_s", "Makespan", "s", "{:,.0f}"),
    Panel("avg_jct_s", "Average JCT", "s", "{:,.0f}"),
    Panel("worst_ftf_rho", "Worst FTF ρ", "", "{:.3f}"),
    Panel("unfair_fraction_pct", f"Unfair jobs (ρ > {UNFAIR_RHO})", "%", "{:.2f}"),
)
"""The paper's four headline metrics, in the order of its canonical figure."""


def panel_values(runs: Sequence[Run], panel: Panel, baseline: Run) -> tuple[list[float], bool]:
    """The bar heights of ``panel``: values / the baseline's, or the absolute values (and False)
    when the baseline's value is zero."""
    values = {run.key: float(getattr(run.summary, panel.field)) for run in runs}
    ratios = normalized(values, baseline.key)
    if ratios is None:
        return [values[run.key] for run in runs], False
    return [ratios[run.key] for run in runs], True


def summary_figure(runs: Sequence[Run], baseline: Run) -> Figure:
    """Four bar panels, one bar per policy, each metric normalized to ``baseline`` (= 1.0)."""
    width = max(10.0, 1.9 + 0.4 * len(runs) * len(PANELS))
    fig = new_figure(width, 4.2, cols=len(PANELS),
                     margins=Margins(left=0.6, right=0.15, bottom=1.0, top=0.9, wspace=0.38))
    positions = list(range(len(runs)))
    for ax, panel in zip(fig.axes, PANELS, strict=True):
        heights, is_ratio = panel_values(runs, panel, baseline)
        bars = ax.bar(
            positions, heights, width=0.72,
            color=[FILLS[i % len(FILLS)] for i in positions],
            hatch=None, edgecolor="black", linewidth=0.7,
        )
        for i, bar in enumerate(bars):
            bar.set_hatch(HATCHES[i % len(HATCHES)])
        labels = [f"{h:.2f}" if is_ratio else panel.fmt.format(h) for h in heights]
        above = ax.transData + ScaledTranslation(0, 7 / 72, fig.dpi_scale_trans)
        path_labels(ax, list(zip(positions, heights, strict=True)), labels, size_pt=7.5,
                    position=above)
        base_value = panel.fmt.format(getattr(baseline.summary, panel.field))
        unit = f" {panel.unit}" if panel.unit else ""
        if is_ratio:
            ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", zorder=0)
            ax.set_ylabel(f"relative to {baseline.label} (×)")
            ax.set_title(f"{panel.title}\n{baseline.label} = {base_value}{unit}", y=1.0)
        else:
            ax.set_ylabel(f"{panel.title} ({panel.unit or 'value'})")
            ax.set_title(f"{panel.title}\nabsolute: {baseline.label} = 0", y=1.0)
        ax.set_ylim(0, max(heights + [1.0]) * 1.18)
        ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
        ax.set_xticks(positions, [run.label for run in runs], rotation=35, ha="right")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Headline metrics, normalized to {baseline.label} (lower is better)")
    return fig


def _cdf_lines(ax, runs: Sequence[Run], series: Sequence[Sequence[float]]) -> None:
    for i, (run, values) in enumerate(zip(runs, series, strict=True)):
        xs, ys = cdf_points(values)
        ax.step(
            xs, ys, where="post", label=run.label, color=FILLS[i % len(FILLS)],
            linestyle=LINE_STYLES[i % len(LINE_STYLES)], linewidth=1.6,
            marker=MARKERS[i % len(MARKERS)], markevery=max(1, len(xs) // 8), markersize=4,
        )
    ax.set_ylabel("jobs (cumulative %)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def jct_cdf_figure(runs: Sequence[Run]) -> Figure:
    """The distribution of job completion times, one line per policy."""
    fig = new_figure(7.5, 4.2, margins=Margins(left=0.65, right=0.2, bottom=0.55, top=0.35))
    ax = fig.axes[0]
    series = [[r.jct_s / 3600.0 for r in run.result.records] for run in runs]
    _cdf_lines(ax, runs, series)
    ax.set_xlabel("job completion time, arrival to completion (h)")
    ax.set_xlim(left=0)
    ax.set_title("JCT distribution", y=1.0)
    return fig


def ftf_cdf_figure(runs: Sequence[Run]) -> Figure:
    """The distribution of finish-time fairness rho, with rho = 1 and the unfair threshold marked."""
    fig = new_figure(7.5, 4.2, margins=Margins(left=0.65, right=0.2, bottom=0.55, top=0.35))
    ax = fig.axes[0]
    _cdf_lines(ax, runs, [run.ftf_rhos for run in runs])
    ax.axvline(1.0, color="black", linewidth=1.0, linestyle="-", zorder=0)
    ax.axvline(UNFAIR_RHO, color="black", linewidth=1.0, linestyle=":", zorder=0)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[
        *handles,
        Line2D([], [], color="black", linewidth=1.0, label="ρ = 1: fair share"),
        Line2D([], [], color="black", linewidth=1.0, linestyle=":",
               label=f"ρ = {UNFAIR_RHO}: unfair above"),
    ], loc="lower right")
    ax.set_xlabel("finish-time fairness ρ = JCT / (run time alone × max(1, jobs/GPUs))  (ratio)")
    ax.set_xlim(left=0)
    ax.set_title("Finish-time fairness distribution", y=1.0)
    return fig
