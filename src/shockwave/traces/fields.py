"""Turning one text field of a trace line into a number, or a located ``InputError``."""

from __future__ import annotations

import math

from shockwave.errors import InputError


def parse_number(
    raw: str, kind: type, *, path: str, line: int, field: str, minimum: float | None = None
) -> float:
    """``int(raw)`` or ``float(raw)``; finite and at least ``minimum``, else an ``InputError``
    naming ``path``, ``line`` and ``field``."""
    try:
        value = kind(raw.strip())
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise InputError(f"expected {expected}, got {raw!r}", path=path, line=line,
                         field=field) from None
    if not math.isfinite(value):
        raise InputError(f"must be finite, got {raw!r}", path=path, line=line, field=field)
    if minimum is not None and value < minimum:
        raise InputError(f"must be >= {minimum:g}, got {raw!r}", path=path, line=line, field=field)
    return value
