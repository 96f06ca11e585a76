"""Reading a JSON input file, or a bundled data file, with errors that name the file and line,
and the wording every reader uses for a bad value (``shown``, ``error_message``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from shockwave.errors import InputError


def read_json(path: str | Path | None, *, bundled: str | None = None) -> tuple[Any, str]:
    """The parsed JSON of ``path``, or of the package's ``data/<bundled>`` when ``path`` is
    ``None``, with the name to use for it in messages. A leading byte-order mark is ignored;
    ``NaN`` and ``Infinity`` are parsed (as Python's ``json`` does), so callers check numbers."""
    if path is None:
        if bundled is None:
            raise InputError("no file given")
        text = (resources.files("shockwave") / "data" / bundled).read_text(encoding="utf-8")
        source = bundled
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=source) from None
        except UnicodeDecodeError:
            raise InputError("not a UTF-8 text file", path=source) from None
    if text.startswith("\ufeff"):  # a byte-order mark some editors write
        text = text[1:]
    try:
        return json.loads(text), source
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=source, line=exc.lineno) from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise InputError("not valid JSON: an integer has too many digits", path=source) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=source) from None


def shown(value: object) -> str:
    """A value as a message shows it: short, and safe for integers of any size."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 200:
            digits = len(str(abs(value))) if value.bit_length() < 14_000 else "thousands of"
            return f"an integer of {digits} digits"
        return str(value)
    if isinstance(value, float):
        short = f"{value:.6g}"  # 1e+13 rather than 10000000000000.0, when that is exact
        return short if abs(value) >= 1e6 and float(short) == value else repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    return {list: "a list", tuple: "a list", dict: "an object"}.get(type(value),
                                                                    type(value).__name__)


def json_path(loc: Sequence[str | int]) -> str:
    """A pydantic error location as a JSON path: ``jobs[3].completion_s``, ``a["0"][1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (a key)"
        elif part.isidentifier() and part.isascii():
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "string_type": "a string", "dict_type": "an object", "list_type": "a list",
    "tuple_type": "a list", "model_type": "an object", "model_attributes_type": "an object",
}
_RELATIONS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
              "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}


def error_message(error: Mapping[str, Any], unit: str = "") -> str:
    """Our wording of one pydantic error (``ValidationError.errors()`` item): what was expected,
    the bound broken (with ``unit``), and the value given."""
    kind, ctx = error["type"], error.get("ctx") or {}
    got = f", got {shown(error.get('input'))}"
    if kind in _RELATIONS:
        relation, key = _RELATIONS[kind]
        return f"must be {relation} {ctx[key]:g}{unit}{got}"
    if kind == "finite_number":
        return f"must be finite{got}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}{got}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}{got}"
    if kind == "missing":
        return "required but missing"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters{got}"
    if kind in ("string_too_short", "too_short"):
        return f"must not be empty{got}" if ctx.get("min_length") == 1 else str(error["msg"])
    if kind in ("too_long",):
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "string_unicode":
        return "must be Unicode text a UTF-8 file can hold (no lone surrogates)"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error["msg"])
