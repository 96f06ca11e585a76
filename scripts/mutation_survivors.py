"""Every mutant of the last mutmut run that was not killed, as a Markdown table: its name, the
changed line (original -> mutant) and a category (docs/testing.md explains each).

Reads ``mutants/`` (``scripts/mutation.sh`` writes it); the diff comes from the mutated copy of
each module, where mutmut keeps every mutant as a function ``x_NAME__mutmut_N`` beside
``x_NAME__mutmut_orig``. The category is a first sort by the shape of the change, checked by hand
for the categories that claim a mutant is equivalent.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import sys
from pathlib import Path

RULES = (
    ("import-time", re.compile(r"^shockwave\.policies\.shockwave\.config\.x__(schema|knob)__")),
    ("not installed", re.compile(r"x__solve_gurobi__")),
    ("dtype", re.compile(r"dtype=(float|np\.int64|int|bool)|dtype=None|\.astype\(")),
    ("zip strict", re.compile(r"strict=(True|False|None)|zip\(.*,\s*\)\)?")),
    ("message", re.compile(r"\"XX|'XX|raise [A-Za-z]+\(None|[A-Z]{4,} [A-Z]{2,}|field=None|path=None")),
    ("clamp", re.compile(r"np\.clip|np\.maximum\(1\.0|max\(1\.0")),
)


def functions(path: Path) -> dict[str, str]:
    source = path.read_text()
    tree = ast.parse(source)
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name:
            body = ast.get_source_segment(source, node) or ""
            found[node.name] = body
    return found


def changed_line(orig: str, mutant: str) -> str:
    minus, plus = [], []
    for line in difflib.unified_diff(orig.splitlines(), mutant.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            minus.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            plus.append(line[1:].strip())
    return f"`{' '.join(minus)[:90]}` → `{' '.join(plus)[:90]}`"


def category(name: str, change: str) -> str:
    for label, pattern in RULES:
        if pattern.search(name) or (label != "import-time" and pattern.search(change)):
            return label
    return "open"


def main() -> None:
    rows = []
    for meta in sorted(Path("mutants/src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        source = meta.with_suffix("")
        funcs = functions(source) if any(c not in (1, 3, 36, 24, -24, 152, 255) for c in codes.values()) else {}
        for name, code in sorted(codes.items()):
            if code in (1, 3, 36, 24, -24, 152, 255):
                continue
            if code is None:
                continue
            short = name.rsplit(".", 1)[-1]
            orig_name = short.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
            mutant = funcs.get(short, "").replace(short + "(", orig_name + "(", 1)
            change = changed_line(funcs.get(orig_name, ""), mutant)
            status = {0: "survived", 33: "no tests", 5: "no tests"}.get(code, f"exit {code}")
            rows.append((name.removeprefix("shockwave."), change, status, category(name, change)))
    out = sys.stdout
    out.write("| mutant | change | verdict | category |\n|---|---|---|---|\n")
    for name, change, status, cat in rows:
        cell = change.replace("|", "\\|")
        out.write(f"| `{name}` | {cell} | {status} | {cat} |\n")


if __name__ == "__main__":
    main()
