"""Reading a JSON input file, or a bundled data file, with errors that name the file and line."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from shockwave.errors import InputError


def read_json(path: str | Path | None, *, bundled: str | None = None) -> tuple[Any, str]:
    """The parsed JSON of ``path``, or of the package's ``data/<bundled>`` when ``path`` is
    ``None``, with the name to use for it in messages."""
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
    try:
        return json.loads(text), source
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=source, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=source) from None
