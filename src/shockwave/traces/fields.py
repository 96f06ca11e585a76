"""Turning one text field of an input line into a number, or a located ``InputError``.

Only ASCII numbers are numbers here: Python's ``int`` and ``float`` also read other scripts'
digits (``'१२'`` is 12) and underscores (``'1_0'`` is 10), which no trace format means.
"""

from __future__ import annotations

import math
import re

from shockwave.errors import InputError
from shockwave.jsonfile import shown

__all__ = ["ascii_float", "ascii_int", "parse_number", "range_message", "shown", "strip_bom"]

BOM = "\ufeff"
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                    r"|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
MAX_DIGITS = 4000
"""Digits of an integer we convert at all (Python refuses more than 4300 in ``int()``)."""


def strip_bom(text: str) -> str:
    """``text`` without a leading UTF-8 byte-order mark (some editors write one)."""
    return text[1:] if text.startswith(BOM) else text


def ascii_int(raw: str) -> int | None:
    """The integer ``raw`` spells in ASCII digits (surrounding blanks allowed), else ``None``."""
    text = raw.strip()
    if _INT.fullmatch(text) is None or len(text) > MAX_DIGITS:
        return None
    return int(text)


def ascii_float(raw: str) -> float | None:
    """The number ``raw`` spells in ASCII (``nan`` and ``inf`` included), else ``None``."""
    text = raw.strip()
    return float(text) if _FLOAT.fullmatch(text) else None


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
        if kind is int and _INT.fullmatch(raw.strip()):
            expected += f" of at most {MAX_DIGITS} digits"
        raise InputError(f"expected {expected}, got {shown(raw)}", path=path, line=line,
                         field=field)
    problem = range_message(value, minimum, maximum, unit)
    if problem is not None:
        raise InputError(problem, path=path, line=line, field=field)
    return value
