"""Per-module summary of a mutmut run (scripts/mutation.sh): mutants, killed, survived, score.

Reads the ``mutants/**/*.py.meta`` files mutmut writes. Killed counts mutmut's "killed" and
"timeout" verdicts (a mutant that makes the tests hang is caught); the score is killed over all
mutants, so "no tests" and "suspicious" mutants count against it. Survivors are listed by name
(``mutmut show NAME`` prints the diff).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout"}


def verdict(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in KILLED:
        return "killed"
    return {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}.get(code, "suspicious")


def main() -> None:
    rows, survivors, total = [], [], Counter()
    for meta in sorted(Path("mutants/src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        counts = Counter(verdict(code) for code in codes.values())
        total.update(counts)
        module = str(meta.relative_to("mutants/src")).removesuffix(".meta")
        rows.append((module, len(codes), counts))
        survivors += [name for name, code in sorted(codes.items()) if verdict(code) != "killed"]
    width = max(len(r[0]) for r in rows)
    print(f"{'module':<{width}}  mutants  killed  survived  other  score")
    for module, n, c in [*rows, ("total", sum(r[1] for r in rows), total)]:
        other = n - c["killed"] - c["survived"]
        print(f"{module:<{width}}  {n:7d}  {c['killed']:6d}  {c['survived']:8d}  {other:5d}  "
              f"{100 * c['killed'] / n:5.1f}%")
    print(f"\nnot killed ({len(survivors)}):")
    for name in survivors:
        print(" ", name)


if __name__ == "__main__":
    main()
