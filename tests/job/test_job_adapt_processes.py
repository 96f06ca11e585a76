"""Batch-size adaptation in real processes: the digits workload standalone under GNS doubles its
batch size without a restart, and a 2-rank gloo gang under the (fake) service applies each
approved size at the same step on both ranks, with the learning rate scaled once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from job_fakes import FakeService, approving, clean_environ, service_env
from job_launch import start_gang, wait

from shockwave.protocol import ExitReport

CHANGE = re.compile(r"batch size (\d+) -> (\d+) at step (\d+)")


def changes(log: Path) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in CHANGE.findall(log.read_text())]


def test_the_digits_workload_doubles_its_batch_size_under_gns_in_one_process(tmp_path):
    """From 32 (also the lower bound, so that it cannot shrink first): the noise scale grows
    as the loss falls and passes 64 after about 4 epochs (4.5 in the run measured for
    docs/adaptation.md), well within the 7."""
    env = {**clean_environ(), "SHOCKWAVE_ADAPTATION": "gns", "SHOCKWAVE_BATCH_SIZE": "32",
           "SHOCKWAVE_MIN_BATCH_SIZE": "32", "SHOCKWAVE_MAX_BATCH_SIZE": "256",
           "SHOCKWAVE_REPORT_FILE": str(tmp_path / "report.json")}
    out = subprocess.run([sys.executable, "-m", "shockwave.workloads.digits", "--epochs", "7"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = ExitReport.model_validate_json((tmp_path / "report.json").read_text())
    history = [(c.samples, c.batch_size) for c in report.batch_sizes]
    assert history[0] == (0, 32) and (history[1][1], history[1][0] > 0) == (64, True)
    assert report.progress.samples == 7 * 1536 and report.progress.step < 7 * 1536 // 32
    logged = CHANGE.findall(out.stderr)
    assert [int(new) for _, new, _ in logged] == [size for _, size in history[1:]]
    assert out.stderr.count("restored") == 0 and "noise scale" in out.stderr


def test_a_gang_applies_each_approved_batch_size_at_the_same_step(fake: FakeService, tmp_path):
    env = {**clean_environ(), **service_env(fake, tmp_path), "SHOCKWAVE_ADAPTATION": "gns",
           "SHOCKWAVE_BATCH_SIZE": "16", "SHOCKWAVE_MIN_BATCH_SIZE": "8",
           "SHOCKWAVE_MAX_BATCH_SIZE": "128"}
    fake.reply = approving(16)
    gang = start_gang(["--epochs", "6", "--step-sleep", "0.02"], env, tmp_path, "a1")
    assert wait(gang) == [0, 0]
    logs = [tmp_path / f"a1-rank{r}.log" for r in (0, 1)]
    done = [changes(log) for log in logs]
    assert done[0] == done[1] and done[0], "both ranks change at the same steps"
    report = fake.exits[-1]
    assert [c.batch_size for c in report.batch_sizes] == [16] + [new for _, new, _ in done[0]]
    assert any(hb.noise_scale for hb in fake.heartbeats)
    assert {new for _, new, _ in done[0]} <= {hb.batch_size_proposal for hb in fake.heartbeats}
    final = done[0][-1][1]
    for rank, log in enumerate(logs):  # ManualSGD's base rate, scaled once per change
        lr = float(re.search(rf"trainer: rank {rank}: lr ([\d.e-]+)", log.read_text())[1])
        assert abs(lr - 0.05 * final / 16) < 1e-12
