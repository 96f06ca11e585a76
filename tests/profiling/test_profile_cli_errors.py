"""``shockwave profile``'s usage errors: each is found before any process starts (no run folder
is made), with the message it must get."""

from __future__ import annotations

import os

import pytest

from cli_run import Run, shockwave


def usage_error(run: Run) -> str:
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.stderr
    return [line for line in run.stderr.splitlines() if line.strip()][-1]


@pytest.fixture()
def profile(tmp_path):
    """``shockwave profile ARGS`` with a work folder that must never be created."""
    def call(*args: str) -> str:
        work = tmp_path / "runs"
        run = shockwave("profile", "--work-dir", str(work), "-q", *args)
        assert not work.exists()
        return usage_error(run)
    return call


def test_an_out_that_is_a_folder(profile, tmp_path):
    assert profile("--out", str(tmp_path)) == \
        f"error: --out: '{tmp_path}' is a folder; give a file name"


def test_an_out_under_a_file(profile, tmp_path):
    (tmp_path / "f").write_text("")
    assert profile("--out", str(tmp_path / "f" / "tp.json")) == (
        f"error: --out: cannot write '{tmp_path / 'f' / 'tp.json'}': '{tmp_path / 'f'}' is a "
        "file, not a folder")


def test_facts_out_may_not_be_out(profile, tmp_path):
    out = str(tmp_path / "tp.json")
    assert profile("--out", out, "--facts-out", out) == \
        f"error: --facts-out: '{out}' is also --out; give another file"


def test_out_is_required(profile):
    assert profile() == "Error: Missing option '--out' / '-o'."


def test_an_unknown_workload(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "-w", "digitz") == (
        "Error: Invalid value for '--workload' / '-w': no bundled workload 'digitz'; known: "
        "digits, tinylm, recommend")


def test_the_gang_spec_is_not_a_workload(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "-w", "digits-2rank").endswith(
        "known: digits, tinylm, recommend (digits-2rank is digits on a gang of 2: see "
        "--gang-sizes)")


def test_a_workload_given_twice(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "-w", "digits", "-w", "digits") == \
        "error: --workload: the workload 'digits' is given twice"


def test_a_gang_wider_than_the_machine(profile, tmp_path):
    cores = os.cpu_count()
    assert profile("--out", str(tmp_path / "tp.json"), "--device", "cpu", "--gang-sizes",
                   f"1,{cores + 1}") == (
        f"error: --gang-sizes: a gang of {cores + 1} does not fit on this machine's {cores} cpu "
        "slot(s)")


@pytest.mark.parametrize("sizes", ["16,x", "0", "16,,32", "1.5", str(2**20 + 1)])
def test_bad_batch_sizes(profile, tmp_path, sizes):
    assert profile("--out", str(tmp_path / "tp.json"), "--batch-sizes", sizes).startswith(
        "error: --batch-sizes: expected whole numbers from 1 to 1,048,576 separated by commas,")


def test_batch_sizes_below_every_gang(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "--device", "cpu", "--batch-sizes", "1",
                   "--gang-sizes", "2") == \
        "error: --batch-sizes: nothing to measure: every batch size is smaller than its gang"


def test_too_few_steps(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "--steps", "3") == \
        "Error: Invalid value for '--steps': must be an integer in [4, 100,000], got 3"


def test_a_job_file_the_service_would_refuse(profile, tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text("name: mine\nmodule: my.train\nbatch_size: 0\nsamples_per_epoch: 10\n"
                    "total_epochs: 1\n")
    assert profile("--out", str(tmp_path / "tp.json"), "--job-file", str(spec)) == \
        f"error: {spec}:3: batch_size: must be at least 1, got 0"


def test_a_gpu_type_is_one_word(profile, tmp_path):
    assert profile("--out", str(tmp_path / "tp.json"), "--gpu-type", "v 100") == (
        "Error: Invalid value for '--gpu-type': a GPU type is one word of letters, digits and "
        ". _ -, got 'v 100'")
