"""Write one ``## Section`` of BENCHMARKS.md (the benchmark scripts' ``--write``), and name the
machine it was measured on."""

from __future__ import annotations

import platform
import subprocess
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


def cpu_name() -> str:
    """The CPU's model name as ``lscpu`` reports it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines()
             if line.startswith("Model name")]
    return names[0] if names else "unknown CPU"
