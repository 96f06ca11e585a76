"""``shockwave report RESULTS.json... --out DIR``: a report of saved simulation results.

Reads the JSON that ``shockwave simulate --json`` writes (one result), a list of such results,
or a report's own ``results.json``, and builds the same report as ``compare --report``.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from shockwave.errors import InputError, ShockwaveError
from shockwave.jsonfile import read_json
from shockwave.sim.result import SimResult, result_from_json

app = typer.Typer(add_completion=False, help="Build an HTML report from saved simulation results.")


def _documents(data: Any) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    if isinstance(data, list):
        return data
    return [data]


def load_results(path: Path) -> list[SimResult]:
    """The results in one saved JSON file; ``InputError`` naming the file if it is not one."""
    data, _ = read_json(path)
    documents = _documents(data)
    if not documents:
        raise InputError("holds no simulation results", path=path)
    results = []
    for i, document in enumerate(documents):
        where = f"result {i + 1}: " if len(documents) > 1 else ""
        if not isinstance(document, dict):
            raise InputError(f"{where}not a simulation result (expected a JSON object)", path=path)
        try:
            results.append(result_from_json(document))
        except KeyError as exc:
            raise InputError(
                f"{where}not a simulation result: missing field {exc.args[0]!r} "
                "(expected the output of 'shockwave simulate --json')", path=path,
            ) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{where}malformed simulation result: {exc}", path=path) from exc
    return results


def build_from_files(results: Sequence[Path], out: Path, *, command_line: str,
                     baseline: str | None = None) -> Path:
    """Load every file (in order) and build the report; returns the ``index.html`` path."""
    from shockwave.report import build_report  # matplotlib is imported only when needed

    loaded = [result for path in results for result in load_results(path)]
    return build_report(loaded, out, command_line=command_line, baseline=baseline)


@app.command("report")
def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Saved results: files written by 'shockwave simulate --json' (or a report's "
             "results.json).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the report into.")],
    baseline: Annotated[str | None, typer.Option(
        help="Policy every metric is normalized to (default: shockwave if present, else the "
             "first result).")] = None,
) -> None:
    """Build an HTML report (figures, metrics table, jobs.csv, results.json) from saved results."""
    argv = ["shockwave", "report", *map(str, results), "--out", str(out)]
    if baseline:
        argv += ["--baseline", baseline]
    try:
        index = build_from_files(results, out, command_line=shlex.join(argv), baseline=baseline)
    except ShockwaveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from exc
    print(f"report: {index}")


def main() -> None:
    """Run the report command on its own (``python -m shockwave.cli_report``)."""
    app()


if __name__ == "__main__":
    main()
