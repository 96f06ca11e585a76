"""``shockwave profile`` with real processes: the throughputs it writes are the job's own
exit reports, in iterations/s of the whole gang, and the simulator reads them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli_run import shockwave
from shockwave.profiling import Runner, bundled_target
from shockwave.protocol import ExitReport
from shockwave.workload.facts import load_facts
from shockwave.workload.throughput import load_throughputs


def report_of(run_dir: Path) -> ExitReport:
    return ExitReport.model_validate_json((run_dir / "report.json").read_text())


def test_a_profile_of_digits_at_two_batch_sizes_is_a_throughputs_file(tmp_path):
    out, runs = tmp_path / "tp.json", tmp_path / "runs"
    run = shockwave("profile", "-w", "digits", "--batch-sizes", "64,32", "--gang-sizes", "1",
                    "--steps", "6", "--out", str(out), "--work-dir", str(runs), "-q")
    assert run.exit_code == 0, run.output
    table = load_throughputs(out)
    assert table.gpu_types == ["v100"]
    assert sorted(table.table["v100"]) == [("digits (batch size 32)", 1),
                                           ("digits (batch size 64)", 1)]
    for batch_size in (32, 64):
        report = report_of(runs / f"digits-bs{batch_size}-g1")
        assert report.reason == "yielded" and report.progress.step == 6
        assert report.progress.batch_size == batch_size
        rate = table.lookup("digits", batch_size, 1)
        assert rate > 0 and rate == report.samples_per_s / batch_size
    facts = load_facts(tmp_path / "tp-facts.json")  # the default --facts-out, next to --out
    assert (facts.dataset_samples["digits"], facts.min_batch_size["digits"],
            facts.max_batch_size["digits"]) == (1536, 16, 256)
    assert facts.dataset_samples["ResNet-18"] == 50000  # merged over the bundled facts
    rows = [line.split("│")[1:4] for line in run.stdout.splitlines() if "│ digits" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [["digits", "32", "1"],
                                                                ["digits", "64", "1"]]


def test_a_gang_of_two_reports_the_speed_of_the_whole_gang(tmp_path):
    """Rank 0's report: samples/s of both ranks together (32 a step, 16 each)."""
    measured = Runner(tmp_path, slots=2).measure(bundled_target("digits"), 32, 2, 12)
    report = report_of(tmp_path / "digits-bs32-g2")
    assert (measured.gpus, measured.steps, measured.samples_per_epoch) == (2, 12, 1536)
    assert measured.samples_per_s == report.samples_per_s
    assert measured.iterations_per_s == report.samples_per_s / 32
    # samples per step = samples/s x s per step: 32 for the gang (a rank alone would be 16)
    assert measured.samples_per_s * measured.step_time_s == pytest.approx(32, rel=0.35)
    for rank in (0, 1):
        assert "stopping at step 12" in (tmp_path / "digits-bs32-g2" / f"rank-{rank}.log")\
            .read_text()


def test_a_failing_run_names_itself_and_the_end_of_its_log(tmp_path):
    spec = tmp_path / "crash.yaml"
    spec.write_text(json.dumps({
        "name": "crash", "command": ["python3", "-c", "import sys; print('boom'); sys.exit(3)"],
        "batch_size": 8, "samples_per_epoch": 64, "total_epochs": 1}))
    run = shockwave("profile", "--job-file", str(spec), "--gang-sizes", "1", "--out",
                    str(tmp_path / "tp.json"), "--work-dir", str(tmp_path / "runs"), "-q")
    assert run.exit_code == 2 and not (tmp_path / "tp.json").exists()
    log = tmp_path / "runs" / "crash-bs8-g1" / "rank-0.log"
    assert run.stderr.strip() == f"error: crash-bs8-g1 failed (exit 3); end of {log}: boom"


def test_repeats_keep_the_run_of_median_speed(tmp_path):
    """The job library's test trainer as a job file (no torch.optim: a quick start), 3 runs."""
    trainer = Path(__file__).parents[1] / "job" / "job_trainer.py"
    spec = tmp_path / "trainer.yaml"
    spec.write_text(json.dumps({
        "name": "trainer", "command": [sys.executable, str(trainer), "--manual-sgd"],
        "batch_size": 16, "samples_per_epoch": 192, "total_epochs": 1}))
    out, runs = tmp_path / "tp.json", tmp_path / "runs"
    run = shockwave("profile", "--job-file", str(spec), "--gang-sizes", "1", "--steps", "6",
                    "--repeats", "3", "--gpu-type", "k80", "--out", str(out), "--work-dir",
                    str(runs), "-q")
    assert run.exit_code == 0, run.output
    speeds = sorted(report_of(runs / f"trainer-bs16-g1-r{i}").samples_per_s for i in (1, 2, 3))
    assert load_throughputs(out).lookup("trainer", 16, 1, "k80") == speeds[1] / 16
    assert json.loads((tmp_path / "tp-facts.json").read_text())["dataset_samples"] == \
        {"trainer": 192}


def test_busy_runs_one_copy_per_free_gang_and_keeps_their_mean(tmp_path):
    """--busy on 2 slots: two copies of a 1-rank run start together on slots 0 and 1; the
    measurement is the mean of their two reports."""
    measured = Runner(tmp_path, slots=2).measure(bundled_target("digits"), 32, 1, 8, copies=2)
    reports = [report_of(tmp_path / f"digits-bs32-g1-c{i}") for i in (0, 1)]
    assert all(r.reason == "yielded" and r.progress.step == 8 for r in reports)
    assert measured.samples_per_s == pytest.approx(
        (reports[0].samples_per_s + reports[1].samples_per_s) / 2)
    assert measured.step_time_s == pytest.approx(
        (reports[0].step_time_s + reports[1].step_time_s) / 2)
    assert measured.run_dir == tmp_path / "digits-bs32-g1-c0"
