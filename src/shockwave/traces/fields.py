"""Turning one text field of an input line into a number, or a located ``InputError``
(ASCII numbers only: ``shockwave/numbers.py``)."""

from __future__ import annotations

import math

from shockwave.errors import InputError
from shockwave.jsonfile import shown
from shockwave.numbers import MAX_DIGITS, ascii_float, ascii_int, is_ascii_int

__all__ = ["ascii_float", "ascii_int", "parse_number", "range_message", "shown", "strip_bom"]

BOM = "\ufeff"
def strip_bom(text: str) -> str:
    """``text`` without a leading UTF-8 byte-order mark (some editors write one)."""
    return text[1:] if text.startswith(BOM) else text


def range_message(value: float, minimum: float | None, maximum: float | None, unit: str = "",
                  *, above: bool = False) -> str | None:
    """Why ``value`` is out of ``[minimum, maximum]`` (``(minimum, maximum]`` with ``above``),
    or ``None`` when it is in range; the message names the bound."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be finite, got {shown(value)}"
    if minimum is not None and (value <= minimum if above else value < minimum):
        relation = "more than" if above else "at least"
        return f"must be {relation} {minimum:g}{unit}, got {shown(value)}"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum:g}{unit}, got {shown(value)}"
    return None


def parse_number(
    raw: str, kind: type, *, path: str, line: int, field: str, minimum: float | None = None,
    maximum: float | None = None, unit: str = "",
) -> float:
    """``raw`` as an ``int`` or ``float`` written in ASCII, finite and within
    ``[minimum, maximum]``, else an ``InputError`` naming ``path``, ``line`` and ``field``."""
    value = ascii_int(raw) if kind is int else ascii_float(raw)
    if value is None:
        expected = "an integer" if kind is int else "a number"
        if kind is int and is_ascii_int(raw):
            expected += f" of at most {MAX_DIGITS} digits"
        raise InputError(f"expected {expected}, got {shown(raw)}", path=path, line=line,
                         field=field)
    problem = range_message(value, minimum, maximum, unit)
    if problem is not None:
        raise InputError(problem, path=path, line=line, field=field)
    return value
