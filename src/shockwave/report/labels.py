"""Many small text labels (job ids, batch sizes, lane names) drawn as one path collection: a
``Text`` artist per label costs about 2 ms to render, a glyph path in a collection almost nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Transform


def path_labels(
    ax: Axes,
    anchors: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    size_pt: float = 6.0,
    colours: Sequence | str = "black",
    ha: Literal["left", "center", "right"] = "center",
    position: Transform | None = None,
) -> None:
    """Draw ``texts`` centred vertically on their ``anchors``, aligned horizontally by ``ha``.

    Args:
        ax: the axes to draw into.
        anchors: (x, y) points, in data coordinates (clipped to the axes) or, with
            ``position``, in its coordinates (not clipped: e.g. lane names beside the axes).
        texts: one string per anchor.
        size_pt: font size in points.
        colours: one colour for all labels, or one per label.
        ha: which end of each label sits at its anchor.
        position: the transform of the anchor points.
    """
    if not texts:
        return
    font = FontProperties(size=size_pt)
    # bounds from the control points: exact enough, and Path.get_extents is slow on glyphs
    digit = TextPath((0, 0), "0", prop=font).vertices[:, 1]
    dy = -(digit.min() + digit.max()) / 2
    paths = []
    for text in texts:
        path = TextPath((0, 0), text, prop=font)
        x0, x1 = (path.vertices[:, 0].min(), path.vertices[:, 0].max()) if text else (0.0, 0.0)
        dx = {"left": -x0, "center": -(x0 + x1) / 2, "right": -x1}[ha]
        paths.append(path.transformed(Affine2D().translate(dx, dy)))
    points_to_pixels = Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans
    collection = PathCollection(
        paths, offsets=np.asarray(anchors, dtype=float).reshape(-1, 2), offset_transform=position or ax.transData,
        transform=points_to_pixels, facecolors=colours, edgecolors="none", linewidths=0,
    )
    ax.add_collection(collection, autolim=False)
    collection.set_clip_on(position is None)
