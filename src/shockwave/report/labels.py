"""Many small text labels (job ids, batch sizes, lane names) drawn as one path collection: a
``Text`` artist per label costs about 2 ms to render, glyph outlines in one collection almost
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath, text_to_path
from matplotlib.transforms import Affine2D, Transform


@lru_cache(maxsize=1024)
def _glyph(char: str, size_pt: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Outline (vertices, codes) and advance, in points, of one character.

    Labels are laid out from these without kerning: glyphs are built once per character (and
    cached, being pure values), so a hundred labels cost milliseconds, not hundreds of them.
    """
    font = FontProperties(size=size_pt)
    advance = text_to_path.get_text_width_height_descent(char, font, ismath=False)[0]
    if char.isspace():
        return np.zeros((0, 2)), np.zeros(0, dtype=np.uint8), advance
    path = TextPath((0, 0), char, prop=font)
    return path.vertices, path.codes, advance


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
    digit = _glyph("0", size_pt)[0][:, 1]
    dy = -(digit.min() + digit.max()) / 2
    paths = []
    for text in texts:
        vertices, codes, x = [], [], 0.0
        for char in text:
            char_vertices, char_codes, advance = _glyph(char, size_pt)
            if len(char_vertices):
                vertices.append(char_vertices + (x, 0.0))
                codes.append(char_codes)
            x += advance
        shift = {"left": 0.0, "center": -x / 2, "right": -x}[ha]
        if vertices:
            paths.append(Path(np.concatenate(vertices) + (shift, dy), np.concatenate(codes)))
        else:
            paths.append(Path(np.zeros((1, 2)), [Path.MOVETO]))
    points_to_pixels = Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans
    collection = PathCollection(
        paths, offsets=np.asarray(anchors, dtype=float).reshape(-1, 2), offset_transform=position or ax.transData,
        transform=points_to_pixels, facecolors=colours, edgecolors="none", linewidths=0,
    )
    ax.add_collection(collection, autolim=False)
    collection.set_clip_on(position is None)
