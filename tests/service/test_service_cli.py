"""The CLI against a real service: ``submit`` (a YAML file or flags), ``jobs``, ``status``,
``cancel``, ``logs [-f]``; every mistake is one line ``error: ...`` and exit 2."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_process import FAKE_JOB, ServerProcess, free_port

from cli_run import one_line_error, shockwave


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("cli")
    service = ServerProcess(root / "state", "--gpus", "2", "--round-seconds", "1",
                            "--heartbeat-seconds", "0.2", "--grace-seconds", "1",
                            "--policy", "fifo")
    with service.running():
        yield service


def job_yaml(tmp_path: Path, name: str, **fields: object) -> Path:
    lines = [f"name: {name}", f"command: [{sys.executable}, {FAKE_JOB}, --samples-per-epoch, '50',"
             " --samples-per-s, '250']", "gpus: 1", "batch_size: 10", "samples_per_epoch: 50",
             "total_epochs: 2"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_submit_watch_and_follow_a_job(server: ServerProcess, tmp_path: Path) -> None:
    run = shockwave("submit", str(job_yaml(tmp_path, "first")), "--server", server.url)
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("submitted job ") and "(first): QUEUED" in run.stdout
    job_id = run.stdout.split()[2]
    follow = shockwave("logs", job_id, "-f", "--server", server.url)
    assert follow.exit_code == 0, follow.output
    assert "resumes at 0 of 100 samples" in follow.stdout
    assert follow.stdout.rstrip().endswith(f"job {job_id} (first) COMPLETED")
    table = shockwave("jobs", "--server", server.url)
    assert table.exit_code == 0
    assert any(line.split()[:3] == [job_id, "first", "COMPLETED"]
               for line in table.stdout.splitlines())
    status = shockwave("status", "first", "--server", server.url)
    assert status.exit_code == 0, status.output
    assert "state: COMPLETED" in status.stdout and "100 of 100 samples" in status.stdout
    logs = shockwave("logs", job_id, "--tail", "1", "--server", server.url)
    assert logs.stdout == "finished at 100 samples\n"
    only = shockwave("jobs", "--state", "completed", "--server", server.url, "--json")
    assert job_id in [str(j["id"]) for j in __import__("json").loads(only.stdout)]


def test_submit_with_flags_and_cancel(server: ServerProcess) -> None:
    run = shockwave("submit", "--name", "long", "--command",
                    f"{sys.executable} {FAKE_JOB} --samples-per-epoch 50 --samples-per-s 50",
                    "--batch-size", "10", "--samples-per-epoch", "50", "--total-epochs", "100",
                    "--server", server.url)
    assert run.exit_code == 0, run.output
    job_id = run.stdout.split()[2]
    cancel = shockwave("cancel", job_id, "--server", server.url)
    assert cancel.exit_code == 0 and f"cancelling job {job_id} (long)" in cancel.stdout
    deadline = time.monotonic() + 20
    while server.get(f"/v1/jobs/{job_id}")["state"] != "CANCELLED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    again = one_line_error(shockwave("cancel", job_id, "--server", server.url))
    assert again.endswith(f"answered 409: job {job_id} is already CANCELLED")


@pytest.mark.parametrize(("extra", "expected"), [
    ({"gpus": 3}, ":3: gpus: this service has 2 slot(s); the job asks for 3"),
    ({"max_batch_size": 5}, ":7: max_batch_size: must be at least batch_size (10), got 5"),
    ({"adaptation": "sometimes"}, ":7: adaptation: Input should be 'static', 'accordion' or 'gns'"),
    ({"colour": "blue"}, ":7: colour: Extra inputs are not permitted"),
])
def test_a_spec_the_service_refuses_is_one_line_naming_file_line_and_field(
        server: ServerProcess, tmp_path: Path, extra: dict[str, object], expected: str) -> None:
    if "gpus" in extra:
        path = job_yaml(tmp_path, "bad")
        path.write_text(path.read_text().replace("gpus: 1", f"gpus: {extra['gpus']}"))
    else:
        path = job_yaml(tmp_path, "bad", **extra)
    before = len(server.get("/v1/jobs"))
    line = one_line_error(shockwave("submit", str(path), "--server", server.url))
    assert line == f"error: {path}{expected}"
    assert len(server.get("/v1/jobs")) == before  # nothing stored


def test_flag_mistakes_name_the_flag(server: ServerProcess, tmp_path: Path) -> None:
    line = one_line_error(shockwave("submit", str(job_yaml(tmp_path, "ok")), "--gpus", "5",
                                    "--server", server.url))
    assert line == "error: --gpus: this service has 2 slot(s); the job asks for 5"
    line = one_line_error(shockwave("submit", "--name", "x", "--batch-size", "1",
                                    "--samples-per-epoch", "1", "--total-epochs", "1",
                                    "--server", server.url))
    assert line == "error: --command: give module (run as python -m) or command"


def test_job_files_that_are_not_specs(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ngpus: [1, 2\nbatch_size: 3\n")
    line = one_line_error(shockwave("submit", str(broken)))
    assert line.startswith(f"error: {broken}:") and "not valid YAML" in line
    listed = tmp_path / "list.yaml"
    listed.write_text("- name: x\n")
    assert one_line_error(shockwave("submit", str(listed))) == (
        f"error: {listed}: expected a mapping of job fields (name: ..., gpus: ...), got list")
    missing = tmp_path / "missing.yaml"
    assert "cannot read the job file" in one_line_error(shockwave("submit", str(missing)))
    twice = tmp_path / "twice.yaml"
    twice.write_text("name: x\ngpus: 1\nname: y\n")
    assert one_line_error(shockwave("submit", str(twice))) == (
        f"error: {twice}:3: name: given twice in the same mapping")


def test_an_unknown_job_and_an_unreachable_service(server: ServerProcess) -> None:
    assert one_line_error(shockwave("status", "999", "--server", server.url)) == \
        "error: no job 999"
    assert one_line_error(shockwave("logs", "nobody", "--server", server.url)) == \
        "error: no job with id or name 'nobody'"
    nowhere = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(shockwave("jobs", "--server", nowhere))
    assert line.startswith(f"error: cannot reach the shockwave service at {nowhere}")
    assert one_line_error(shockwave("jobs", "--server", "ftp://x")).startswith(
        "error: --server: expected an http://")


def test_serve_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    line = one_line_error(shockwave("serve", "--host", "0.0.0.0", "--state-dir",
                                    str(tmp_path / "s"), "--gpus", "1"))
    assert "without a token" in line
    line = one_line_error(shockwave("serve", "--policy", "nope", "--state-dir",
                                    str(tmp_path / "s"), "--gpus", "1"))
    assert "unknown policy 'nope'" in line
    line = one_line_error(shockwave("serve", "--param", "k=5", "--policy", "fifo",
                                    "--state-dir", str(tmp_path / "s"), "--gpus", "1"))
    assert "--param k" in line
    run = shockwave("serve", "--min-train-seconds", "-1", "--state-dir", str(tmp_path / "s"),
                    "--gpus", "1")
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert run.stderr.strip().splitlines()[-1] == \
        "Error: Invalid value for '--min-train-seconds': must be in [0, 864000] s, got -1"


def test_serve_checks_its_throughputs_table(tmp_path: Path) -> None:
    table = tmp_path / "profile.json"
    table.write_text('{"v100": {"(\'digits (batch size 64)\', 1)": {"null": "fast"}}}')
    line = one_line_error(shockwave("serve", "--throughputs", str(table), "--state-dir",
                                    str(tmp_path / "s"), "--gpus", "1"))
    assert line.startswith(f"error: {table}") and "digits (batch size 64)" in line
    table.write_text('{"v100": {"(\'digits (batch size 64)\', 1)": {"null": 12.5}}}')
    line = one_line_error(shockwave("serve", "--throughputs", str(table), "--gpu-type", "k80",
                                    "--state-dir", str(tmp_path / "s"), "--gpus", "1"))
    assert "--gpu-type" in line and "'k80' is not in" in line and "v100" in line
