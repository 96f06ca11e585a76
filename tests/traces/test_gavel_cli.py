"""``trace generate --job-table gavel`` and ``trace import gavel`` end to end, through the real
command, into ``simulate --throughputs gavel``; and their mistakes, each one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_run import one_line_error, shockwave

GAVEL_ARGS = ["trace", "generate", "--job-table", "gavel", "--num-jobs", "6", "--seed", "1"]


def _simulate(trace: Path, tmp_path: Path) -> dict:
    out = tmp_path / "result.json"
    result = shockwave("simulate", "--trace", str(trace), "--throughputs", "gavel",
                       "--gpus", "36", "--quiet", "--json", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.mark.parametrize("fmt", ["jsonl", "reference"])
def test_a_generated_gavel_trace_simulates_on_36_v100s(fmt: str, tmp_path: Path) -> None:
    trace = tmp_path / f"t.{fmt}"
    generated = shockwave(*GAVEL_ARGS, "--format", fmt, "--out", str(trace))
    assert generated.exit_code == 0, generated.output
    assert generated.stderr == ("note: left out of the draw: 'ResNet-50 (batch size 128)' on 2, "
                                "4, 8 GPU(s): no positive throughput on k80 (in "
                                "gavel_throughputs.json)\n")
    result = _simulate(trace, tmp_path)
    assert result["inputs"]["throughputs"] == "bundled:gavel_throughputs.json"
    jobs = result["jobs"]
    assert result["jobs_completed"] == 6 and all(job["completion_s"] is not None for job in jobs)
    assert {"A3C", "CycleGAN"} <= {job["model"] for job in jobs}


def test_the_same_seed_gives_the_same_trace_and_another_seed_another() -> None:
    first, again = shockwave(*GAVEL_ARGS), shockwave(*GAVEL_ARGS)
    assert first.exit_code == 0 and first.stdout == again.stdout
    other = shockwave(*GAVEL_ARGS[:-1], "2")
    assert other.stdout != first.stdout


def test_modes_are_drawn_only_when_a_mix_is_given() -> None:
    static = shockwave(*GAVEL_ARGS, "--format", "jsonl")
    assert {json.loads(line)["mode"] for line in static.stdout.splitlines()} == {"static"}
    drawn = shockwave(*GAVEL_ARGS, "--format", "jsonl", "--mode-mix", "0,0,1")
    assert {json.loads(line)["mode"] for line in drawn.stdout.splitlines()} == {"gns"}


def test_an_imported_gavel_trace_simulates_with_gavels_table(tmp_path: Path) -> None:
    source = tmp_path / "msr.trace"
    source.write_text("A3C\tpython3 main.py\t--max-steps\t0\t20000\t0.000000\t1\n"
                      "ResNet-18 (batch size 64)\tpython3 main.py\t--num_steps\t1\t90000\t"
                      "12.000000\t4\n")
    jsonl = tmp_path / "msr.jsonl"
    imported = shockwave("trace", "import", "gavel", str(source), "--out", str(jsonl))
    assert imported.exit_code == 0, imported.output
    result = _simulate(jsonl, tmp_path)
    assert result["jobs_completed"] == 2
    assert [(job["model"], job["gpus"]) for job in result["jobs"]] == [("A3C", 1), ("ResNet-18", 4)]


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--min-hours", "1"], "error: --min-hours: applies to --job-table shockwave only"),
        (["--max-hours", "9"], "error: --max-hours: applies to --job-table shockwave only"),
        (["--num-durations", "9"], "error: --num-durations: applies to --job-table shockwave"),
        (["--duration-logspace"], "error: --duration-logspace: applies to --job-table shockwave"),
        (["--scale-factor-mix", "1,0,0,0"], "error: --scale-factor-mix: applies to --job-table"),
        (["--mode-mix", "0.5,x,0.5"], "error: mode-mix: expected comma-separated numbers"),
        (["--mode-mix", "0.5,0.6,0"], "error: mode-mix: probabilities must be >= 0 and sum to 1"),
        (["--throughputs", "gavl"], "error: --throughputs: 'gavl' is neither a file nor a "
                                    "bundled table (bundled: gavel, tacc)"),
    ],
)
def test_generate_mistakes_are_one_line_naming_the_option(args: list[str], start: str) -> None:
    assert one_line_error(shockwave(*GAVEL_ARGS, *args)).startswith(start)


@pytest.mark.parametrize(("args", "option"), [(["--job-table", "gavl"], "'--job-table'"),
                                              (["--num-jobs", "0"], "'--num-jobs'"),
                                              (["--lam", "-1"], "'--lam'")])
def test_generate_bad_values_are_usage_errors_naming_the_option(args: list[str],
                                                                 option: str) -> None:
    result = shockwave(*GAVEL_ARGS, *args)
    assert result.exit_code == 2
    assert f"Invalid value for {option}" in result.stderr.strip().splitlines()[-1]


def test_import_mistakes_are_one_line(tmp_path: Path) -> None:
    source = tmp_path / "msr.trace"
    source.write_text("GAN (batch size x)\tc\t-n\t1\t10\t0\t1\n")
    error = one_line_error(shockwave("trace", "import", "gavel", str(source)))
    assert error.startswith(f"error: {source}:1: job_type: expected 'Model (batch size N)' or "
                            "one of A3C, CycleGAN")
    error = one_line_error(shockwave("trace", "import", "gavel", str(source),
                                     "--throughputs", "gavl"))
    assert error.startswith("error: --throughputs: 'gavl' is neither a file nor a bundled table")
