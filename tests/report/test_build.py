"""``build_report``: every file is written, and every number equals ``metrics`` of the same result."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import fields
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_synthetic import synthetic_result, tiny_result

from shockwave.errors import InputError
from shockwave.metrics import UNFAIR_RHO, Summary, ftf_rhos, summarize
from shockwave.report import build_report
from shockwave.report.charts import PANELS, panel_values
from shockwave.report.runs import make_runs, pick_baseline
from shockwave.sim.result import result_to_json

POLICIES = ("max_min_fairness", "shockwave", "gandiva_fair")
COMMAND = "shockwave compare --policies gavel,shockwave,gandiva_fair --report out"


@pytest.fixture(scope="module")
def results():
    return [synthetic_result(p, num_jobs=14, num_gpus=8, seed=3) for p in POLICIES]


@pytest.fixture(scope="module")
def built(results, tmp_path_factory) -> Path:
    return build_report(results, tmp_path_factory.mktemp("report"), command_line=COMMAND)


class _Cells(HTMLParser):
    """Collects the metrics table: policy key -> field -> data-value, and every img/a/script."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self._table: str | None = None
        self._row: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table == "metrics" and "data-policy" in a:
            self._row = a["data-policy"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row and "data-field" in a:
            self.rows[self._row][a["data-field"]] = a["data-value"]
        for key in ("src", "href"):
            if key in a:
                self.refs.append(a[key])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = self._row = None


def _parse(index: Path) -> _Cells:
    parser = _Cells()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def test_every_file_is_written(built: Path) -> None:
    out = built.parent
    assert built.name == "index.html"
    expected = ["summary.png", "summary.svg", "jct_cdf.png", "ftf_cdf.png", "jobs.csv",
                "results.json", "index.html"]
    expected += [f"{kind}-{p}.png" for p in POLICIES for kind in ("timeline", "batch_size")]
    for name in expected:
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    assert ET.parse(out / "summary.svg").getroot().tag.endswith("svg")


def test_index_links_only_local_files_and_has_no_scripts(built: Path) -> None:
    page = _parse(built)
    assert "script" not in page.tags and "link" not in page.tags
    text = built.read_text(encoding="utf-8")
    for ref in page.refs:
        assert "://" not in ref and not ref.startswith("//"), ref
        if ref.startswith("#"):
            assert f'id="{ref[1:]}"' in text, ref
        else:
            assert (built.parent / ref).is_file(), ref
    assert COMMAND in text
    assert "<th scope=\"row\">all runs</th>" in text  # the runs share their inputs


def test_metrics_table_equals_summarize(results, built: Path) -> None:
    rows = _parse(built).rows
    assert list(rows) == list(POLICIES)
    for result in results:
        summary = summarize(result)
        cells = rows[result.policy]
        assert set(cells) == {f.name for f in fields(Summary)}
        for field, text in cells.items():
            assert float(text) == getattr(summary, field), (result.policy, field)


def test_jobs_csv_equals_records_and_ftf_rhos(results, built: Path) -> None:
    with (built.parent / "jobs.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(len(r.records) for r in results)
    for result in results:
        mine = [row for row in rows if row["policy"] == result.policy]
        rhos = ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus)
        for row, record, rho in zip(mine, result.records, rhos, strict=True):
            assert int(row["job_id"]) == record.job_id
            assert float(row["jct_s"]) == record.jct_s
            assert float(row["ftf_rho"]) == rho
            assert float(row["arrival_s"]) == record.arrival_s
            assert float(row["completion_s"]) == record.completion_s
            assert row["unfair"] == str(int(rho > UNFAIR_RHO))
        unfair = 100.0 * sum(int(row["unfair"]) for row in mine) / len(mine)
        assert unfair == summarize(result).unfair_fraction_pct


def test_results_json_holds_result_to_json_and_the_command(results, built: Path) -> None:
    document = json.loads((built.parent / "results.json").read_text(encoding="utf-8"))
    assert document["command_line"] == COMMAND
    assert document["baseline"] == "shockwave"
    assert document["results"] == [json.loads(json.dumps(result_to_json(r))) for r in results]
    assert [run["inputs"] for run in document["runs"]] == [dict(r.inputs) for r in results]
    for entry, result in zip(document["results"], results, strict=True):
        assert entry["makespan_s"] == summarize(result).makespan_s


def test_summary_bars_are_normalized_to_shockwave(results) -> None:
    runs = make_runs(results)
    base = pick_baseline(runs, None)
    assert base.result.policy == "shockwave"
    for panel in PANELS:
        heights, is_ratio = panel_values(runs, panel, base)
        base_value = getattr(summarize(base.result), panel.field)
        if base_value == 0:
            assert not is_ratio
            continue
        assert is_ratio
        for height, result in zip(heights, results, strict=True):
            assert height == getattr(summarize(result), panel.field) / base_value


def test_baseline_choice() -> None:
    runs = make_runs([tiny_result("fifo"), tiny_result("max_min_fairness")])
    assert pick_baseline(runs, None).key == "fifo"
    assert pick_baseline(runs, "gavel").key == "max_min_fairness"
    with pytest.raises(InputError, match="baseline"):
        pick_baseline(runs, "allox")
    with pytest.raises(InputError):
        make_runs([])


def test_repeated_policies_get_distinct_files(tmp_path: Path) -> None:
    index = build_report([tiny_result("fifo"), tiny_result("fifo")], tmp_path, command_line="x")
    assert (tmp_path / "timeline-fifo.png").is_file()
    assert (tmp_path / "timeline-fifo-2.png").is_file()
    assert list(_parse(index).rows) == ["fifo", "fifo-2"]


def test_zero_baseline_metric_is_shown_absolute(tmp_path: Path) -> None:
    """tiny_result has no unfair job: that panel cannot be normalized and shows absolute values."""
    runs = make_runs([tiny_result("shockwave"), tiny_result("fifo")])
    assert runs[0].summary.unfair_fraction_pct == 0.0
    heights, is_ratio = panel_values(runs, PANELS[3], runs[0])
    assert (heights, is_ratio) == ([0.0, 0.0], False)
    build_report([r.result for r in runs], tmp_path, command_line="x")
    assert (tmp_path / "summary.png").stat().st_size > 0


def test_same_inputs_give_identical_files(results, built: Path, tmp_path: Path) -> None:
    build_report(results, tmp_path, command_line=COMMAND)
    for path in sorted(built.parent.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
