"""Write one ``## Section`` of BENCHMARKS.md (the benchmark scripts' ``--write``)."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "BENCHMARKS.md"


def replace_section(title: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace the text under ``## title`` (up to the next ``## ``) with ``body``; append the
    section if it is not there yet."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    header = f"## {title}\n"
    body = body.strip() + "\n"
    if header not in text:
        path.write_text(text.rstrip() + "\n\n" + header + "\n" + body, encoding="utf-8")
        return
    start = text.index(header) + len(header)
    end = text.find("\n## ", start)
    rest = "" if end < 0 else text[end:]
    path.write_text(text[:start] + "\n" + body + rest, encoding="utf-8")
