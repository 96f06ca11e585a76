"""``dumps_indented``: ``json.dumps(value, indent=n)``, character for character, faster.

Python's ``json`` uses its C encoder only without indentation; with ``indent`` every value
goes through a chain of generators, which took longer than a baseline's whole decision loop
for a 900-job result. This writer builds the same text with the same rules (the type tests in
``json``'s order, ``float.__repr__`` for numbers, ``NaN``/``Infinity`` for the rest, ASCII
escapes, ``", "``-free separators ``","`` and ``": "``) and joins lists of plain numbers in one
step. Anything it does not handle itself (another type, a cycle) is passed to ``json.dumps``,
which gives its own answer or error.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

_INFINITY = float("inf")


class _Unhandled(Exception):
    """A value ``json.dumps`` should deal with (it encodes or refuses it)."""


def dumps_indented(value: Any, indent: int = 1) -> str:
    """``json.dumps(value, indent=indent)`` (``indent >= 0``), the same string."""
    try:
        return _text(value, "\n", " " * indent)
    except (_Unhandled, RecursionError):
        return json.dumps(value, indent=indent)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _text(value: Any, newline: str, unit: str) -> str:
    """``value``'s text; ``newline`` is the line break and indent of its own level. Plain
    types are recognised first; subclasses, booleans and null go through ``_scalar``."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is float:
        return _float(value)
    if kind is int:
        return int.__repr__(value)
    if kind is not list and kind is not dict:
        text = _scalar(value)
        if text is not None:
            return text
    inner = newline + unit
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [_key(k) + ": " + _text(v, inner, unit) for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if not value:
        return "[]"
    joined = _numbers(value, "," + inner)
    if joined is None:
        joined = ("," + inner).join([_text(v, inner, unit) for v in value])
    return "[" + inner + joined + newline + "]"


def _scalar(value: Any) -> str | None:
    """The text of a scalar, in ``json``'s order of tests; ``None`` for a container."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, list | tuple | dict):
        return None
    raise _Unhandled


def _key(key: Any) -> str:
    """A dict key as ``json`` writes it (strings, and numbers, booleans and null as text)."""
    if isinstance(key, str):
        return encode_basestring_ascii(key)
    if isinstance(key, float):
        text = _float(key)
    elif key is True:
        text = "true"
    elif key is False:
        text = "false"
    elif key is None:
        text = "null"
    elif isinstance(key, int):
        text = int.__repr__(key)
    else:
        raise _Unhandled
    return encode_basestring_ascii(text)


def _numbers(items: list[Any] | tuple[Any, ...], separator: str) -> str | None:
    """Items that are all plain floats (finite) or all plain ints, joined; else ``None``."""
    kind = type(items[0])
    if kind is not float and kind is not int:
        return None
    for item in items:
        if type(item) is not kind:
            return None
    text = separator.join(map(kind.__repr__, items))
    if kind is float and "n" in text:  # nan or inf: json writes NaN / Infinity
        return None
    return text
