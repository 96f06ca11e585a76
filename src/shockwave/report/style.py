"""How the report draws policies and jobs: display names, greyscale-safe hatches, line styles,
job colours, and the matplotlib settings every figure shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from shockwave.names import DISPLAY_NAMES, REAL_SUFFIX  # noqa: E402

HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "oo", "--", "++", "**", "||")
"""One hatch per policy, so bars stay distinguishable when printed in greyscale."""

FILLS: tuple[str, ...] = (
    "#1b3a5c", "#8fb3d9", "#d9a441", "#5c9e6e", "#c8553d", "#9b7bb8", "#7f7f7f", "#e6cf8b",
    "#4d4d4d", "#b5d3b6",
)
LINE_STYLES: tuple[str, ...] = ("-", "--", "-.", ":")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
JOB_COLOURS = matplotlib.colormaps["tab20"]

RC: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "svg.hashsalt": "shockwave-report",
    "svg.fonttype": "none",
    "path.simplify": True,
}
"""Figure settings, applied with ``matplotlib.rc_context`` so no global state is changed."""

DPI = 100
PNG_OPTIONS = {"compress_level": 1}
"""Fast PNG compression: encoding dominates otherwise; files stay around 100-200 kB."""
SVG_METADATA = {"Date": None, "Creator": None}


def policy_label(name: str) -> str:
    """The literature's name for a policy (``max_min_fairness`` -> ``Gavel``), else the name;
    a real run keeps its mark (``shockwave (real)`` -> ``Shockwave (real)``)."""
    base = name.removesuffix(REAL_SUFFIX)
    return DISPLAY_NAMES.get(base, base) + name[len(base):]


def job_colours(job_ids: Sequence[int]) -> np.ndarray:
    """A stable RGBA colour per job id (one row each); neighbouring ids get different colours."""
    palette = JOB_COLOURS(np.arange(JOB_COLOURS.N))
    return palette[(np.asarray(job_ids, dtype=int) * 7) % JOB_COLOURS.N].reshape(-1, 4)


@dataclass(frozen=True)
class Margins:
    """Space around the axes, in inches (fixed, so a figure is drawn once: no layout engine)."""

    left: float = 0.75
    right: float = 0.2
    bottom: float = 0.55
    top: float = 0.45
    hspace: float = 0.15
    wspace: float = 0.3


def new_figure(width_in: float, height_in: float, *, rows: int = 1, cols: int = 1,
               height_ratios: Sequence[float] | None = None, sharex: bool = False,
               margins: Margins = Margins()) -> Figure:
    """A figure without pyplot (no global figure registry) and with fixed margins."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    fig.subplots(rows, cols, squeeze=False, sharex=sharex,
                 gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)
    fig.subplots_adjust(
        left=margins.left / width_in, right=1 - margins.right / width_in,
        bottom=margins.bottom / height_in, top=1 - margins.top / height_in,
        hspace=margins.hspace, wspace=margins.wspace,
    )
    return fig
