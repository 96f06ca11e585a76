"""``shockwave report``: saved JSON in, the same report as from objects out; bad files exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_synthetic import synthetic_result, tiny_result

from cli_run import shockwave
from shockwave.cli_report import build_from_files, load_results
from shockwave.errors import InputError
from shockwave.report import build_report
from shockwave.sim.result import result_to_json

POLICIES = ("shockwave", "fifo")


def _save(results, folder: Path) -> list[Path]:
    paths = []
    for result in results:
        path = folder / f"{result.policy}.json"
        path.write_text(json.dumps(result_to_json(result)), encoding="utf-8")
        paths.append(path)
    return paths


def test_build_from_saved_json_equals_build_from_objects(tmp_path: Path) -> None:
    results = [synthetic_result(p, num_jobs=10, num_gpus=8, seed=5) for p in POLICIES]
    files = _save(results, tmp_path)
    from_objects = build_report(results, tmp_path / "a", command_line="same").parent
    from_files = build_from_files(files, tmp_path / "b", command_line="same").parent
    names = sorted(p.name for p in from_objects.iterdir())
    assert names == sorted(p.name for p in from_files.iterdir())
    for name in names:
        assert (from_files / name).read_bytes() == (from_objects / name).read_bytes(), name


def test_report_results_json_can_be_read_back(tmp_path: Path) -> None:
    index = build_report([tiny_result("shockwave"), tiny_result("fifo")], tmp_path / "r",
                         command_line="x")
    again = load_results(index.parent / "results.json")
    assert [r.policy for r in again] == ["shockwave", "fifo"]
    assert again[0].records == tiny_result().records


def test_command_builds_the_report(tmp_path: Path) -> None:
    files = _save([tiny_result("shockwave"), tiny_result("fifo")], tmp_path)
    out = tmp_path / "report"
    run = shockwave("report", *[*map(str, files), "--out", str(out), "--baseline", "fifo"])
    assert run.exit_code == 0, run.output
    assert (out / "index.html").is_file()
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert document["baseline"] == "fifo"
    assert document["command_line"].startswith("shockwave report ")
    assert "--baseline fifo" in document["command_line"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"policy": "fifo"}', "missing field"),
        ("[]", "no simulation results"),
        ("[1, 2]", "not a simulation result"),
    ],
)
def test_bad_files_exit_2_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        load_results(bad)
    assert caught.value.path == str(bad)
    run = shockwave("report", *[str(bad), "--out", str(tmp_path / "out")])
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {bad}")
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "index.html").exists()


def test_missing_file_and_unknown_baseline_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    run = shockwave("report", *[str(missing), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and str(missing) in run.stderr
    good = _save([tiny_result("fifo")], tmp_path)
    run = shockwave("report", *[str(good[0]), "--out", str(tmp_path / "o"),
                                   "--baseline", "allox"])
    assert run.exit_code == 2 and "baseline" in run.stderr
