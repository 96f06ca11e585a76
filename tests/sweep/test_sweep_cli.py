"""``shockwave sweep`` end to end on local processes: the tables and their exact values, the
report, the cache (a second run simulates nothing), resuming after ``--max-runs``, Ctrl-C and a
kill, failed runs, and the mistakes made on the command line."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from sweep_helpers import TINY, TINY_RUNS, sweep, write

import shockwave
from cli_run import one_line_error
from cli_run import shockwave as run_cli
from shockwave import Cluster, simulate, summarize
from shockwave.errors import InputError
from shockwave.sweep import execute
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.workload.throughput import load_throughputs

SRC = Path(shockwave.__file__).parents[1]
HEADER = ("run,policy,gpus,seed,makespan_s,makespan_over_lb,avg_jct_s,p50_jct_s,p99_jct_s,"
          "worst_ftf_rho,worst_themis_rho,max_slowdown,unfair_fraction_pct,cluster_util,rounds,"
          "lease_extension_pct,jobs_completed,jobs_total")
SLOW = """\
name: slow
policies: [fifo, gavel]
seeds: 4
gpus: [4, 8]
round_seconds: 20
preemption_penalty_seconds: 2
trace: {num_jobs: 40, lam: 200, min_hours: 0.2, max_hours: 1, multi_gpu: false}
"""
"""16 runs of about 0.1 s each (short rounds, many of them): long enough to stop the sweep in
the middle. (A penalty longer than the round would keep preempted jobs from ever progressing.)"""
SLOW_RUNS = 16


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}


def _copy(out: Path, to: Path) -> Path:
    shutil.copytree(out, to)
    (to / ".lock").unlink(missing_ok=True)
    return to


def test_runs_csv_has_one_row_per_run_in_grid_order_with_the_simulator_s_exact_metrics(tiny_local):
    lines = (tiny_local / "runs.csv").read_text().splitlines()
    assert lines[0] == HEADER and len(lines) == 1 + TINY_RUNS
    rows = _rows(tiny_local / "runs.csv")
    assert [(r["policy"], r["gpus"], r["seed"]) for r in rows[4:7]] == [
        ("fifo", "4", "4"), ("fifo", "8", "0"), ("fifo", "8", "1")]
    assert len(list((tiny_local / "runs").glob("*.json"))) == TINY_RUNS
    assert {r["run"] for r in rows} == {p.stem[:12] for p in (tiny_local / "runs").glob("*.json")}
    # Gavel on 8 GPUs, seed 2: the same numbers as simulating that trace directly.
    params = GeneratorParams(num_jobs=6, lam_s=300.0, min_hours=0.1, max_hours=0.5, seed=2)
    result = simulate(generate_trace(params, load_throughputs()), Cluster(8), "gavel")
    expected = summarize(result)
    row = next(r for r in rows if (r["policy"], r["gpus"], r["seed"]) == ("max_min_fairness", "8", "2"))
    assert row["makespan_s"] == repr(expected.makespan_s)
    assert row["avg_jct_s"] == repr(expected.avg_jct_s)
    assert row["worst_ftf_rho"] == repr(expected.worst_ftf_rho)
    assert row["worst_themis_rho"] == repr(expected.worst_themis_rho)
    assert row["makespan_over_lb"] == repr(expected.makespan_over_lb)
    assert row["rounds"] == str(expected.rounds) and row["jobs_total"] == "6"


def test_summary_csv_has_the_mean_and_interval_across_the_five_seeds(tiny_local):
    from shockwave.sweep.summary import mean_ci

    runs, summary = _rows(tiny_local / "runs.csv"), _rows(tiny_local / "summary.csv")
    assert [(s["policy"], s["gpus"], s["n"]) for s in summary] == [
        (p, g, "5") for p in ("fifo", "max_min_fairness", "shockwave") for g in ("4", "8")]
    makespans = [float(r["makespan_s"]) for r in runs if (r["policy"], r["gpus"]) == ("shockwave", "4")]
    mean, half = mean_ci(makespans)
    shockwave4 = summary[4]
    assert (shockwave4["makespan_s_mean"], shockwave4["makespan_s_ci95"]) == (repr(mean), repr(half))
    assert shockwave4["jobs_total_mean"] == "6.0" and shockwave4["jobs_total_ci95"] == "0.0"


def test_a_second_run_simulates_nothing_and_writes_the_same_tables(tiny_local, tmp_path):
    out = _copy(tiny_local, tmp_path / "out")
    before = _mtimes(out / "runs")
    run = sweep(write(tmp_path, TINY), out, "--no-report")
    assert run.exit_code == 0, run.output
    assert run.stderr.splitlines() == [
        "sweep tiny: 30 runs (3 policies x 2 cluster sizes x 5 seeds); 30 cached, 0 to run"]
    assert _mtimes(out / "runs") == before
    assert (out / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()
    assert (out / "summary.csv").read_bytes() == (tiny_local / "summary.csv").read_bytes()


def test_the_report_has_the_error_bar_figures_and_a_page_linking_them(tiny_local, tmp_path):
    out = _copy(tiny_local, tmp_path / "out")
    run = sweep(write(tmp_path, TINY), out, "--metric", "cluster_util", "--metric", "makespan_s")
    assert run.exit_code == 0, run.output
    assert run.stdout.splitlines()[-1] == (
        f"wrote {out}/runs.csv, {out}/summary.csv, {out}/report/index.html")
    figures = ["bars-gpus=4.png", "bars-gpus=8.png", "cluster_util-vs-gpus.png",
               "makespan_s-vs-gpus.png"]
    assert sorted(p.name for p in (out / "report").iterdir()) == sorted([*figures, "index.html"])
    page = (out / "report" / "index.html").read_text()
    for name in figures:
        assert f'<img src="{name}"' in page
        with Image.open(out / "report" / name) as image:
            assert image.format == "PNG" and image.width >= 700
    assert page.count("<tr><th scope=\"row\">") == 6  # one summary row per policy and size
    assert 'href="../runs.csv"' in page and "--metric cluster_util" in page
    assert "FIFO" in run.stdout and "Shockwave" in run.stdout  # the closing table


def test_max_runs_stops_early_and_the_next_run_does_only_the_rest(tiny_local, tmp_path):
    spec, out = write(tmp_path, TINY), tmp_path / "out"
    first = sweep(spec, out, "--max-runs", "7", "--jobs", "1")
    assert first.exit_code == 0, first.output
    lines = first.stderr.splitlines()
    assert lines[0] == ("sweep tiny: 30 runs (3 policies x 2 cluster sizes x 5 seeds); 0 cached, "
                        "7 to run on 1 local process")
    assert lines[1].startswith("ran 7 simulations in ")
    assert lines[2] == ("stopped after --max-runs: 7 of 30 runs done; 23 left: run the same "
                        "command again to go on")
    assert not (out / "runs.csv").exists()
    done = _mtimes(out / "runs")
    assert len(done) == 7
    second = sweep(spec, out, "--jobs", "2", "--no-report")
    assert second.exit_code == 0, second.output
    assert second.stderr.splitlines()[0].endswith("7 cached, 23 to run on 2 local processes")
    assert second.stderr.splitlines()[1].startswith("ran 23 simulations in ")
    after = _mtimes(out / "runs")
    assert len(after) == 30 and {k: after[k] for k in done} == done
    assert (out / "runs.csv").read_bytes() == (tiny_local / "runs.csv").read_bytes()


def _sigint_as_at_a_terminal() -> None:
    """In the child, before the command starts: Ctrl-C's default action. A test run started in
    the background (``pytest &`` in a script) ignores SIGINT and would pass that on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(spec: Path, out: Path, jobs: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "shockwave", "sweep", str(spec), "--out",
                             str(out), "--jobs", jobs, "--no-report"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_at_a_terminal)


def _wait_for_files(out: Path, count: int, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list((out / "runs").glob("*.json"))) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no results appeared"
        time.sleep(0.01)


def _resume(spec: Path, out: Path, stored: dict[str, int]) -> None:
    """Run the sweep again: it simulates exactly the runs that were not stored, and leaves the
    stored ones as they were."""
    run = sweep(spec, out, "--jobs", "2", "--no-report")
    assert run.exit_code == 0, run.output
    assert run.stderr.splitlines()[0] == (
        f"sweep slow: 16 runs (2 policies x 2 cluster sizes x 4 seeds); {len(stored)} cached, "
        f"{SLOW_RUNS - len(stored)} to run on 2 local processes")
    after = _mtimes(out / "runs")
    assert len(after) == SLOW_RUNS and {k: after[k] for k in stored} == stored
    assert len(_rows(out / "runs.csv")) == SLOW_RUNS
    assert not list((out / "runs").glob(".*.tmp"))


def test_a_killed_sweep_keeps_only_whole_results_and_resumes_with_the_missing(tmp_path):
    spec, out = write(tmp_path, SLOW), tmp_path / "out"
    proc = _start(spec, out, "1")
    _wait_for_files(out, 3, proc)
    proc.kill()
    proc.communicate()
    stored = _mtimes(out / "runs")
    assert 3 <= len(stored) < SLOW_RUNS
    for path in (out / "runs").glob("*.json"):
        assert path.read_text().endswith("}\n")  # whole files only
    _resume(spec, out, stored)


def test_ctrl_c_stops_the_workers_says_what_is_kept_and_exits_130(tmp_path):
    spec, out = write(tmp_path, SLOW), tmp_path / "out"
    proc = _start(spec, out, "2")
    _wait_for_files(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    stored = _mtimes(out / "runs")
    assert stderr.splitlines()[-1] == (
        f"interrupted: {len(stored)} of 16 runs done, stored in {out / 'runs'}; the same "
        f"command runs the other {SLOW_RUNS - len(stored)}")
    _resume(spec, out, stored)


def test_failed_runs_are_named_the_rest_stored_and_retried_alone(tmp_path, monkeypatch):
    real = execute._metrics

    def flaky(point, shared):
        if point.policy == "fifo" and point.gpus == 8:
            raise InputError("solver gave up", field="test")
        return real(point, shared)

    monkeypatch.setattr(execute, "_metrics", flaky)
    spec, out = write(tmp_path, TINY), tmp_path / "out"
    run = sweep(spec, out, "--jobs", "1", "--no-report")
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[2:] == [f"failed: policy=fifo gpus=8 seed={s}: test: solver gave up"
                         for s in range(5)] + [
        f"error: 5 of 30 runs failed (the first 5 above); the 25 finished are stored in "
        f"{out / 'runs'}, and running the sweep again retries only the others"]
    assert not (out / "runs.csv").exists()
    monkeypatch.setattr(execute, "_metrics", real)
    again = sweep(spec, out, "--jobs", "1", "--no-report")
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines()[0].endswith("25 cached, 5 to run on 1 local process")


@pytest.mark.parametrize(("args", "expected"), [
    (["--x", "lam"], "error: --x: 'lam' is not a swept variable; swept: gpus"),
    (["--metric", "speed"], "error: --metric: unknown metric 'speed'; known: makespan_s, "
     "makespan_over_lb, avg_jct_s, p50_jct_s, p99_jct_s, worst_ftf_rho, worst_themis_rho, "
     "max_slowdown, unfair_fraction_pct, cluster_util, rounds, lease_extension_pct, "
     "jobs_completed, jobs_total"),
])
def test_bad_figure_choices_are_refused_before_any_run(spec_file, tmp_path, args, expected):
    assert one_line_error(sweep(spec_file(TINY), tmp_path / "out", *args)) == expected
    assert not (tmp_path / "out" / "runs").exists()


def test_an_output_path_that_is_a_file_is_refused(spec_file, tmp_path):
    (tmp_path / "file").write_text("")
    assert one_line_error(sweep(spec_file(TINY), tmp_path / "file")) == (
        f"error: --out: '{tmp_path / 'file'}' exists and is not a folder")


def test_two_sweeps_never_write_one_folder(spec_file, tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with (out / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert one_line_error(sweep(spec_file(TINY), out)) == (
            f"error: --out: another sweep is writing to {out} (it holds {out / '.lock'})")


def test_ray_without_the_extra_says_how_to_install_it(spec_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    for args in (["--ray"], ["--ray-address", "auto"]):
        assert one_line_error(sweep(spec_file(TINY), tmp_path / "out", *args)) == (
            "error: --ray: ray is not installed; install shockwave[ray] "
            "(pip install 'shockwave[ray]')")


def test_an_address_where_no_cluster_listens_is_one_line_at_once(spec_file, tmp_path):
    """Ray would retry for minutes; port 1 on the loopback refuses at once."""
    pytest.importorskip("ray")
    assert one_line_error(sweep(spec_file(TINY), tmp_path / "out", "--ray-address",
                                "127.0.0.1:1")) == (
        "error: --ray-address: cannot reach a Ray cluster at 127.0.0.1:1: Connection refused")


def test_the_package_never_imports_ray_for_a_local_sweep(tmp_path):
    code = ("import sys; from shockwave.cli import main; "
            f"code = main(['sweep', {str(write(tmp_path, TINY))!r}, '--out', "
            f"{str(tmp_path / 'out')!r}, '-q', '-j', '1', '--no-report', '--max-runs', '2']); "
            "print(code, 'ray' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.stdout.split() == ["0", "False"], proc.stderr


def test_sweep_is_listed_in_the_help():
    run = run_cli("--help")
    assert run.exit_code == 0 and "sweep" in run.stdout
    assert "Run a grid of simulations" in run_cli("sweep", "--help").stdout
