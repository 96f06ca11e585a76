"""Numbers written by people, in ASCII only.

Python's ``int`` and ``float`` also read other scripts' digits (``'१२'`` is 12) and underscores
(``'1_0'`` is 10), which no input of ours means. Every place that turns user text into a number
(trace fields, ``--param`` values) goes through these two functions.
"""

from __future__ import annotations

import re

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                    r"|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
MAX_DIGITS = 4000
"""Digits of an integer we convert at all (Python refuses more than 4300 in ``int()``)."""


def is_ascii_int(raw: str) -> bool:
    """Whether ``raw`` spells an integer in ASCII digits, however many."""
    return _INT.fullmatch(raw.strip()) is not None


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
