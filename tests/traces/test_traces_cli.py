"""``shockwave trace ...`` through the real command's entry point."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from cli_run import shockwave

CANONICAL = (resources.files("shockwave") / "data" / "canonical-120jobs.trace").read_text()
CANONICAL_ARGS = [
    "generate", "--num-jobs", "120", "--lam", "40", "--seed", "25", "--min-hours", "0.2",
    "--max-hours", "5", "--num-durations", "100", "--scale-factor-mix", "0.6,0.3,0.09,0.01",
    "--mode-mix", "0,0.5,0.5",
]


def test_generate_canonical_to_stdout_and_file(tmp_path: Path) -> None:
    result = shockwave("trace", *CANONICAL_ARGS)
    assert result.exit_code == 0, result.output
    assert result.stdout == CANONICAL
    out = tmp_path / "c.trace"
    assert shockwave("trace", *[*CANONICAL_ARGS, "--out", str(out)]).exit_code == 0
    assert out.read_text() == CANONICAL


def test_generate_jsonl_and_bad_mix() -> None:
    result = shockwave("trace", *["generate", "--num-jobs", "5", "--format", "jsonl"])
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [0, 1, 2, 3, 4]
    bad = shockwave("trace", *["generate", "--mode-mix", "0.5,x,0.5"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: mode-mix: ")
    assert len(bad.stderr.splitlines()) == 1


def test_convert_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "c.trace"
    source.write_text(CANONICAL)
    jsonl, back = tmp_path / "c.jsonl", tmp_path / "back.trace"
    assert shockwave("trace", *["convert", str(source), str(jsonl)]).exit_code == 0
    assert jsonl.read_text().startswith("{")
    assert shockwave("trace", *["convert", str(jsonl), str(back)]).exit_code == 0
    assert back.read_text() == CANONICAL
    same = shockwave("trace", *["convert", str(jsonl), "-", "--to", "jsonl"])
    assert same.stdout == jsonl.read_text()


def test_convert_reports_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model": "LM", "batch_size": 5, "arrival_s": 0, "total_steps": -3}\n')
    result = shockwave("trace", *["convert", str(bad), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}:1: total_steps: ")


def test_import_both_formats(tmp_path: Path) -> None:
    gavel = tmp_path / "msr.trace"
    gavel.write_text("LM (batch size 5)\tpython main.py\t--steps\t1\t13383\t0.000000\t1\n"
                     "A3C\tpython3 main.py\t--max-steps\t0\t100\t3.000000\t1\n")
    out = tmp_path / "msr.jsonl"
    # tacc_throughputs.json has no positive A3C throughput: that line is skipped.
    result = shockwave("trace", *["import", "gavel", str(gavel), "--out", str(out),
                                  "--throughputs", "tacc"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr and f"{gavel}:2" in result.stderr
    assert len(out.read_text().splitlines()) == 1
    pollux = tmp_path / "w.csv"
    pollux.write_text("name,time,application,num_replicas,batch_size\ncifar10-0,53,cifar10,1,128\n")
    result = shockwave("trace", *["import", "pollux", str(pollux), "--to", "reference"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ResNet-18 (batch size 128)\t")


def test_import_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = shockwave("trace", *["import", "philly", str(tmp_path / "x")])
    assert result.exit_code == 2


def test_info_default_is_the_canonical_trace(tmp_path: Path) -> None:
    result = shockwave("trace", *["info"])
    assert result.exit_code == 0
    assert "120" in result.stdout and "1: 92, 2: 20, 4: 8" in result.stdout
    assert "accordion: 59, gns: 57, static: 4" in result.stdout
    assert "635,795" in result.stdout
    assert "20,518 s on 32 GPUs (the work alone: 19,869 s)" in result.stdout
    picture = tmp_path / "info.png"
    assert shockwave("trace", *["info", "--plot", str(picture)]).exit_code == 0
    assert picture.stat().st_size > 0


def test_info_json_and_wide_job_warning() -> None:
    result = shockwave("trace", *["info", "--gpus", "2", "--json"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["num_jobs"] == 120 and len(body["too_wide_job_ids"]) == 8
    assert "warning: 8 jobs need more than 2 GPUs" in result.stderr


def test_info_on_missing_and_empty_files(tmp_path: Path) -> None:
    missing = shockwave("trace", *["info", str(tmp_path / "nope.trace")])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ")
    empty = tmp_path / "empty.trace"
    empty.write_text("\n")
    result = shockwave("trace", *["info", str(empty)])
    assert result.exit_code == 2 and "no jobs" in result.stderr
