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

STRING = re.compile(r"'[^']*'|\"[^\"]*\"")


def _same_without(pattern: str, before: str, after: str) -> bool:
    """Whether the two lines are equal once ``pattern`` is removed (and ``, )`` closed up)."""
    def norm(text: str) -> str:
        return re.sub(r",\s*\)", ")", re.sub(pattern, "", text))
    return before != after and norm(before) == norm(after)


def _clip_bounds_only(before: str, after: str) -> bool:
    if "np.clip(" not in before or "np.clip(" not in after or "0.0, 1.0)" not in before:
        return False
    head_b, _, rest_b = before.partition("np.clip(")
    head_a, _, rest_a = after.partition("np.clip(")
    return head_a == head_b and rest_b.rsplit(",", 2)[0] == rest_a.rsplit(",", 2)[0]


def category(name: str, before: str, after: str) -> str:
    """A first sort of a mutant by what its change touches (docs/testing.md)."""
    if re.search(r"\.config\.x__(schema|knob)__", name):
        return "import-time"
    if "x__solve_gurobi__" in name:
        return "not installed"
    if _same_without(r",?\s*dtype=[\w.]*|\.astype\([\w.]*\)", before, after):
        return "dtype"
    if _same_without(r",?\s*strict=\w+", before, after):
        return "zip strict"
    if _clip_bounds_only(before, after):
        return "clamp"
    if _same_without(STRING.pattern, before, after) or re.search(
            r"raise \w+\(None|raise \w+\(\s*(field|path)=|(field|path)=None", after):
        return "string"
    return "open"


def functions(path: Path) -> dict[str, str]:
    source = path.read_text()
    tree = ast.parse(source)
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name:
            body = ast.get_source_segment(source, node) or ""
            found[node.name] = body
    return found


def changed_lines(orig: str, mutant: str) -> tuple[str, str]:
    minus, plus = [], []
    for line in difflib.unified_diff(orig.splitlines(), mutant.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            minus.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            plus.append(line[1:].strip())
    return " ".join(minus), " ".join(plus)


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
            before, after = changed_lines(funcs.get(orig_name, ""), mutant)
            change = f"`{before[:90]}` → `{after[:90]}`"
            status = {0: "survived", 33: "no tests", 5: "no tests"}.get(code, f"exit {code}")
            rows.append((name.removeprefix("shockwave."), change, status,
                         category(name, before, after)))
    out = sys.stdout
    out.write("| mutant | change | verdict | category |\n|---|---|---|---|\n")
    for name, change, status, cat in rows:
        cell = change.replace("|", "\\|")
        out.write(f"| `{name}` | {cell} | {status} | {cat} |\n")


if __name__ == "__main__":
    main()
