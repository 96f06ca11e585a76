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

from shockwave.cli_options import int_range
from shockwave.errors import InputError
from shockwave.jsonfile import read_json
from shockwave.outputs import check_output_dir
from shockwave.sim.result import SimResult, result_from_json

app = typer.Typer(add_completion=False, rich_markup_mode=None,
                  help="Build an HTML report from saved simulation results.")


def _documents(data: Any) -> list[tuple[str, Any]]:
    """(JSON path, document) of each result in a saved file: one result, a list of them, or a
    report's ``results.json`` (its ``results`` list)."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return [(f"results[{i}]", document) for i, document in enumerate(data["results"])]
    if isinstance(data, list):
        return [(f"[{i}]", document) for i, document in enumerate(data)]
    return [("", data)]


def load_results(path: Path) -> list[SimResult]:
    """The results in one saved JSON file, each checked whole before any is used; an
    ``InputError`` names the file and the JSON path of the first bad field."""
    data, _ = read_json(path)
    documents = _documents(data)
    if not documents:
        raise InputError("holds no simulation results", path=path)
    return [result_from_json(document, source=str(path), prefix=where)
            for where, document in documents]


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
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder to write the report into (needed unless --serve).",
        show_default=False)] = None,
    baseline: Annotated[str | None, typer.Option(
        help="Policy every metric is normalized to (default: shockwave if present, else the "
             "first result).")] = None,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Serve the live dashboard's page over one result instead (scrub and "
                        "play through simulated time), until interrupted.")] = False,
    policy: Annotated[str | None, typer.Option(
        "--policy", "-p", help="With --serve: the result to show, by policy (default: the "
                               "first).", show_default=False)] = None,
    host: Annotated[str, typer.Option("--host", help="With --serve: address to listen on.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --serve: TCP port.",
                                      callback=int_range(1, 65535))] = 8471,
) -> None:
    """Build an HTML report (figures, metrics table, jobs.csv, results.json) from saved results;
    or, with --serve, show one of them in the dashboard."""
    if serve and out is not None:
        raise typer.BadParameter("--serve shows a result instead of writing a report: give "
                                 "one of --serve and --out", param_hint="'--out' / '-o'")
    if serve:
        serve_results(results, policy=policy, host=host, port=port)
        return
    if out is None:
        raise typer.BadParameter("missing: the folder to write the report into (or --serve to "
                                 "view a result)", param_hint="'--out' / '-o'")
    check_output_dir(out, "--out")
    argv = ["shockwave", "report", *map(str, results), "--out", str(out)]
    if baseline:
        argv += ["--baseline", baseline]
    index = build_from_files(results, out, command_line=shlex.join(argv), baseline=baseline)
    print(f"report: {index}")


def serve_results(results: Sequence[Path], *, policy: str | None, host: str, port: int) -> None:
    """Load the files, pick the result and serve its dashboard until interrupted."""
    import uvicorn

    from shockwave.dashboard.results_app import pick_result, results_app
    from shockwave.service.server import check_port_free

    loaded = [result for path in results for result in load_results(path)]
    chosen = pick_result(loaded, policy)
    check_port_free(host, port)
    title = f"{chosen.policy} · {', '.join(p.name for p in results)}"
    app = results_app(chosen, title=title)
    print(f"dashboard of {chosen.policy}: http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main() -> None:
    """Run the report command on its own (``python -m shockwave.cli_report``)."""
    from shockwave.cli import main as shockwave_main

    sys.exit(shockwave_main(["report", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
