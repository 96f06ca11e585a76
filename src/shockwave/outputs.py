"""Output paths: checked before any work starts, written with errors that name the option.

A simulation can take minutes; finding out afterwards that ``--json`` names a folder, or a path
under a file, loses that work. Commands call ``check_output_file`` / ``check_output_dir`` for
every output option first, then write with ``write_text``.
"""

from __future__ import annotations

import os
from pathlib import Path

from shockwave.errors import InputError


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _check_creatable(path: Path, option: str) -> None:
    """``path`` does not exist; it and every missing folder on the way to it can be created."""
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise InputError(f"cannot write '{path}': '{anchor}' is a file, not a folder", field=option)
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError(f"cannot write '{path}': no permission to write in '{anchor}'",
                         field=option)


def check_output_file(path: str | Path, option: str) -> None:
    """Raise an ``InputError`` naming ``option`` unless a file can be written at ``path``."""
    path = Path(path)
    if str(path) == "-":
        return
    if path.is_dir():
        raise InputError(f"'{path}' is a folder; give a file name", field=option)
    if path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(f"cannot write '{path}': no permission", field=option)
        return
    _check_creatable(path, option)


def check_output_dir(path: str | Path, option: str) -> None:
    """Raise an ``InputError`` naming ``option`` unless ``path`` is or can become a writable
    folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"'{path}' exists and is not a folder", field=option)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"cannot write into '{path}': no permission", field=option)
        return
    _check_creatable(path, option)


def write_text(path: str | Path, text: str, option: str | None = None) -> None:
    """Write ``text`` to ``path`` (creating missing folders), or raise an ``InputError``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write '{path}': {exc.strerror or exc}", field=option) from None
