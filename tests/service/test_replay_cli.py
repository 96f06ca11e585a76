"""``shockwave replay TRACE --real`` end to end: a real service (2 CPU slots, 2 s rounds, FIFO)
runs a tiny trace of three bundled workloads, a 2-rank gang among them, submitted at their
arrival times scaled by 0.1; the result reads as a simulation result and ``shockwave report``
shows it beside the simulation of the same trace. And the mistakes users make, each one line
``error: ...`` and exit 2, found before anything is submitted."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_process import FAKE_JOB, ServerProcess, free_port

from cli_run import one_line_error, shockwave
from shockwave.sim.result import result_from_json

pytest.importorskip("torch")

# ResNet-18 -> digits (4 epochs), ResNet-50 on 2 GPUs -> a 2-rank digits gang (2 epochs),
# Recommendation -> recommend (3 epochs): each a few seconds, most of it starting Python.
TRACE = (
    '{"model": "ResNet-18", "batch_size": 32, "gpus": 1, "total_steps": 192, "arrival_s": 0}\n'
    '{"model": "ResNet-50", "batch_size": 64, "gpus": 2, "total_steps": 48, "arrival_s": 10}\n'
    '{"model": "Recommendation", "batch_size": 512, "gpus": 1, "total_steps": 12, '
    '"arrival_s": 20}\n')
TIME_SCALE = 0.1



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("replay")
    service = ServerProcess(root / "state", "--gpus", "2", "--device", "cpu",
                            "--round-seconds", "2", "--heartbeat-seconds", "0.5",
                            "--grace-seconds", "2", "--startup-seconds", "60",
                            "--policy", "fifo")
    with service.running():
        yield service


@pytest.fixture()
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text(TRACE)
    return path


def test_a_trace_replayed_for_real_reads_as_a_result_and_reports_beside_its_simulation(
        server: ServerProcess, trace: Path, tmp_path: Path) -> None:
    real = tmp_path / "out" / "real.json"
    profile = tmp_path / "profile.json"  # iterations/s of each workload's gang
    profile.write_text(json.dumps({"v100": {"('digits (batch size 32)', 1)": {"null": 100.0},
                                            "('digits (batch size 64)', 2)": {"null": 80.0},
                                            "('recommend (batch size 512)', 1)": {"null": 20.0}}}))
    run = shockwave("replay", str(trace), "--real", "--server", server.url, "--time-scale",
                    str(TIME_SCALE), "--throughputs", str(profile), "--json", str(real))
    assert run.exit_code == 0, run.output + server.log.read_text()[-2000:]
    assert "FIFO (real) on 2 slot(s)" in run.stdout and "3 of 3" in run.stdout
    news = [re.sub(r"(as job|\(job) \d+", r"\1 N", line.split("  ")[-1])
            for line in run.stderr.splitlines()]
    assert news[:3] == ["submitted trace job 0 (digits) as job N",
                        "submitted trace job 1 (digits) as job N",
                        "submitted trace job 2 (recommend) as job N"]
    assert sorted(news[3:]) == [f"trace job {i} (job N) COMPLETED" for i in range(3)]

    data = json.loads(real.read_text())
    result = result_from_json(data, source=str(real))
    assert result.policy == "fifo (real)"
    assert {k: data["inputs"][k] for k in ("run", "trace", "policy", "round_s", "gpus",
                                          "time_scale", "work_scale", "workloads",
                                          "run_time")} == {
        "run": "real", "trace": str(trace), "policy": "fifo", "round_s": 2.0, "gpus": 2,
        "time_scale": TIME_SCALE, "work_scale": 1.0, "run_time": "throughputs",
        "workloads": {"Recommendation": "recommend", "ResNet-18": "digits",
                      "ResNet-50": "digits"}}
    assert [(r.job_id, r.model, r.batch_size, r.gpus, r.mode) for r in result.records] == [
        (0, "ResNet-18", 32, 1, "static"), (1, "ResNet-50", 64, 2, "static"),
        (2, "Recommendation", 512, 1, "static")]
    # T_j from the profile: samples / (batch size x iterations/s); 4, 2 and 3 whole epochs.
    assert [r.run_time_s for r in result.records] == [6144 / (32 * 100.0), 3072 / (64 * 80.0),
                                                     6144 / (512 * 20.0)]
    assert result.stats["measured_run_times"] == 0
    for record, arrival in zip(result.records, (0.0, 10.0, 20.0), strict=True):
        # Submitted at the scaled arrival (the API call takes a moment), done later.
        assert arrival * TIME_SCALE <= record.arrival_s < arrival * TIME_SCALE + 1.0
        assert record.completion_s > record.arrival_s
        assert 0 < record.attained_s <= record.completion_s - record.arrival_s
        assert record.batch_size_timeline == ((record.arrival_s, record.batch_size),)
    assert result.makespan_s == max(r.completion_s for r in result.records)
    # The schedule: every gang whole, within the 2 slots, none twice in a round (also
    # checked by result_from_json), rounds in order; every job placed at some round.
    for plan in result.schedule:
        assert all(len(slots) == result.record(job).gpus for job, slots in plan.items())
        assert sum(len(slots) for slots in plan.values()) <= 2
    assert {job for plan in result.schedule for job in plan} == {0, 1, 2}
    starts, ends = result.round_start_s, result.round_end_s
    assert all(a <= b for a, b in zip(starts, starts[1:], strict=False))
    assert all(s <= e <= result.makespan_s + 1e-9 for s, e in zip(starts, ends, strict=True))
    assert all(0 < busy <= result.makespan_s for busy in result.gpu_busy_s)
    assert result.stats["unfinished_jobs"] == 0 and result.stats["attempts"] >= 3

    simulated = tmp_path / "sim.json"
    sim = shockwave("simulate", "--policy", "fifo", "--trace", str(trace), "--gpus", "2",
                    "--round-seconds", "2", "--json", str(simulated), "--quiet")
    assert sim.exit_code == 0, sim.output
    report = shockwave("report", str(real), str(simulated), "--out", str(tmp_path / "report"))
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report" / "index.html").read_text()
    assert "FIFO (real)" in page and ">FIFO<" in page
    rows = (tmp_path / "report" / "jobs.csv").read_text().splitlines()
    assert sorted({row.split(",")[0] for row in rows[1:]}) == ["fifo", "fifo_real"]
    assert (tmp_path / "report" / "timeline-fifo_real.png").is_file()


def test_a_busy_service_or_a_gang_too_wide_is_refused_before_anything_is_submitted(
        server: ServerProcess, trace: Path, tmp_path: Path) -> None:
    wide = tmp_path / "wide.jsonl"
    wide.write_text(TRACE.replace('"gpus": 2', '"gpus": 3, "duration_s": 5'))
    before = len(server.get("/v1/jobs"))
    assert one_line_error(shockwave("replay", str(wide), "--real", "--server", server.url)) == (
        f"error: {wide}:2: gpus: job 1 needs 3 GPUs but the service at {server.url} has "
        "2 slot(s)")
    job_id = server.submit(name="busy", gpus=1, batch_size=10, samples_per_epoch=50,
                           total_epochs=100, command=[sys.executable, str(FAKE_JOB),
                                                      "--samples-per-epoch", "50",
                                                      "--samples-per-s", "50"])
    try:
        assert one_line_error(shockwave("replay", str(trace), "--real", "--server",
                                        server.url)) == (
            f"error: --server: the service at {server.url} has 1 job(s) queued or running; a "
            "replay measures the trace's jobs alone: wait for them to end or cancel them")
        assert len(server.get("/v1/jobs")) == before + 1
    finally:
        shockwave("cancel", str(job_id), "--server", server.url)
        deadline = time.monotonic() + 20
        while server.get(f"/v1/jobs/{job_id}")["state"] != "CANCELLED":
            assert time.monotonic() < deadline
            time.sleep(0.1)


# -- mistakes found without a service ----------------------------------------------------------

def test_without_a_service_the_error_is_one_line(trace: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert one_line_error(shockwave("replay", str(trace), "--real", "--server", url)).startswith(
        f"error: cannot reach the shockwave service at {url} (")


def test_replay_needs_real(trace: Path) -> None:
    run = shockwave("replay", str(trace))
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert "Invalid value for '--real': a replay runs the trace's jobs on a service: give " \
           "--real" in run.stderr


def test_an_unknown_job_type_names_its_line_and_map_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "a3c.trace"
    path.write_text("A3C (batch size 4)\tcmd\tdir\t--steps\t0\t10\t1\tstatic\t1\t-1\t5\t0\n")
    assert one_line_error(shockwave("replay", str(path), "--real")).startswith(
        f"error: {path}:1: job_type: no bundled workload runs model 'A3C' (mapped: ")
    url = f"http://127.0.0.1:{free_port()}"
    mapped = shockwave("replay", str(path), "--real", "--map", "A3C=recommend", "--server", url)
    assert one_line_error(mapped).startswith("error: cannot reach the shockwave service")


@pytest.mark.parametrize(("option", "message"), [
    ("ResNet-18", "error: --map: expected MODEL=WORKLOAD (e.g. ResNet-18=digits), got "
                  "'ResNet-18'"),
    ("ResNet-18=bert", "error: --map: no bundled workload 'bert'; known: digits, tinylm, "
                       "recommend"),
])
def test_a_bad_map_is_one_line(trace: Path, option: str, message: str) -> None:
    assert one_line_error(shockwave("replay", str(trace), "--real", "--map", option)) == message


def test_an_unwritable_output_is_refused_first(trace: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert one_line_error(shockwave("replay", str(tmp_path / "missing.jsonl"), "--real",
                                    "--json", str(blocker / "real.json"))) == (
        f"error: --json: cannot write '{blocker / 'real.json'}': '{blocker}' is a file, not a "
        "folder")
    assert one_line_error(shockwave("replay", str(tmp_path / "missing.jsonl"), "--real")) == (
        f"error: {tmp_path / 'missing.jsonl'}: cannot read: No such file or directory")


def test_a_profile_table_must_hold_every_jobs_workload(tmp_path: Path) -> None:
    table = tmp_path / "profile.json"
    table.write_text(json.dumps({"v100": {"('digits (batch size 32)', 1)": {"null": 50.0},
                                          "('digits (batch size 64)', 2)": {"null": 40.0}}}))
    trace = tmp_path / "bundled.jsonl"
    # The table also gives the lengths a line leaves out, as in simulate.
    trace.write_text(
        '{"model": "digits", "batch_size": 32, "total_steps": 96, "arrival_s": 0}\n'
        '{"model": "digits", "batch_size": 64, "gpus": 2, "duration_s": 2, "arrival_s": 1}\n'
        '{"model": "recommend", "batch_size": 512, "total_steps": 6, "duration_s": 1, '
        '"arrival_s": 2}\n')
    assert one_line_error(shockwave("replay", str(trace), "--real", "--throughputs",
                                    str(table))) == (
        f"error: --throughputs: {table} has no positive v100 throughput for 'recommend (batch "
        "size 512)' on 1 GPU(s), the workload of trace job 2 (line 3)")
    # The reference's models still take their lengths from the bundled table.
    reference = tmp_path / "reference.jsonl"
    reference.write_text(TRACE)
    assert one_line_error(shockwave("replay", str(reference), "--real", "--throughputs",
                                    str(table))) == (
        f"error: --throughputs: {table} has no positive v100 throughput for 'recommend (batch "
        "size 512)' on 1 GPU(s), the workload of trace job 2 (line 3)")
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"model": "digits", "batch_size": 16, "total_steps": 9, "arrival_s": 0}\n')
    assert one_line_error(shockwave("replay", str(unknown), "--real", "--throughputs",
                                    str(table))) == (
        f"error: {unknown}:1: total_steps: cannot derive the missing length: no throughput for "
        f"digits at batch size 16 on 1 x v100 in {table} or tacc_throughputs.json")
