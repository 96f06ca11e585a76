"""Reading a YAML input file with the line of every key and item, so that a mistake found while
validating it can be reported as ``file:line: field: why``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from shockwave.errors import InputError


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed document at ``path`` and its node tree (for ``line_of``). A key given twice
    in one mapping is an error (YAML loaders silently keep the last one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InputError(f"cannot read: {reason}", path=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML: {problem}", path=path,
                         line=mark.line + 1 if mark is not None else None) from None
    _refuse_duplicate_keys(node, path)
    return data, node


def _refuse_duplicate_keys(node: yaml.Node | None, path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise InputError("given twice in the same mapping", path=path,
                                 line=key.start_mark.line + 1, field=name)
            seen.add(name)
            _refuse_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, path)


def line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` (keys and list indices from the top)
    that the file has: a missing key is reported where its mapping starts."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def as_written(data: Any, loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """``loc`` without the list indices that validation added to values written as scalars
    (``gpus: 0`` is checked as ``gpus[0]`` but reported as ``gpus``)."""
    kept: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and not isinstance(data, list):
            continue
        kept.append(part)
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(kept)
