"""The fidelity pipeline end to end, small: ``benchmarks/bench_fidelity.py`` on a 3-job trace of
the bundled workloads (a GNS job among them) under FIFO: ``shockwave profile --trace`` (real
measurements and a learned schedule), ``serve`` with that profile, ``replay --real``,
``simulate`` with the same profile, the comparison and the report. It checks the pipeline and
its outputs, not the percentages (BENCHMARKS.md has those, from the 12-job trace)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shockwave.workload.adaptation import schedule_pattern

pytest.importorskip("torch")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
TRACE = (
    '{"model": "digits", "batch_size": 32, "gpus": 1, "mode": "gns", "total_steps": 336, '
    '"duration_s": 3, "arrival_s": 0}\n'
    '{"model": "recommend", "batch_size": 128, "gpus": 1, "mode": "static", '
    '"total_steps": 64, "duration_s": 3, "arrival_s": 1}\n'
    '{"model": "digits", "batch_size": 64, "gpus": 1, "mode": "static", "total_steps": 96, '
    '"duration_s": 3, "arrival_s": 2}\n')


def test_profile_real_run_and_simulation_are_compared(tmp_path: Path) -> None:
    trace = tmp_path / "tiny.jsonl"
    trace.write_text(TRACE)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_fidelity.py"), "--out", str(out),
         "--trace", str(trace), "--policies", "fifo", "--round-seconds", "3", "--steps", "8",
         "--batch-sizes", "32,64,128"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    summary = json.loads((out / "fidelity.json").read_text())
    fifo = summary["policies"]["fifo"]
    assert fifo["jobs_compared"] == 3
    assert set(fifo["jct_errors"]) == {"0", "1", "2"}
    real = json.loads((out / "fifo-real.json").read_text())
    sim = json.loads((out / "fifo-sim.json").read_text())
    assert fifo["makespan_real_s"] == real["makespan_s"] > 0
    assert fifo["makespan_sim_s"] == sim["makespan_s"] > 0
    assert fifo["makespan_error"] == pytest.approx(
        (sim["makespan_s"] - real["makespan_s"]) / real["makespan_s"])
    # The GNS job's learned schedule is in the facts, and the simulation followed it.
    facts = json.loads((out / "profile-facts.json").read_text())
    assert "digits|gns|32|1" in facts["schedules"]
    rows = facts["schedules"]["digits|gns|32|1"]
    per_epoch = schedule_pattern(tuple(map(tuple, rows)), 7)  # 336 x 32 samples: 7 epochs
    expected = [b for i, b in enumerate(per_epoch) if i == 0 or per_epoch[i - 1] != b]
    timeline = next(j for j in sim["jobs"] if j["id"] == 0)["batch_size_timeline"]
    assert [b for _, b in timeline] == expected
    assert summary["preemption_penalty_s"] > 0
    assert (out / "report" / "index.html").exists()
    assert "| fifo |" in run.stdout
