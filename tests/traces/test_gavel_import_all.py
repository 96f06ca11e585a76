"""``trace import gavel`` understands every job type of Gavel's table, bare A3C and CycleGAN
included, and by default counts durations with that table."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from cli_run import shockwave
from shockwave.traces.gavel import import_gavel
from shockwave.workload.throughput import load_bundled_throughputs, load_throughputs

RAW = json.loads((resources.files("shockwave") / "data" / "gavel_throughputs.json").read_text())
# Every key of the JSON, over all its GPU types (the *_unconsolidated ones included).
ALL_KEYS = sorted(set().union(*(set(entries) for entries in RAW.values())))
KEY = re.compile(r"^\('(.*)', (\d+)\)$")
NAMED = re.compile(r"^(\S+) \(batch size (\d+)\)$")
# Written independently of BARE_JOB_TYPES: what the importer must read the bare names as.
BARE = {"A3C": ("A3C", 4), "CycleGAN": ("CycleGAN", 1)}
STEPS = 123_457


def _expected(key: str) -> tuple[str, int, int]:
    match = KEY.match(key)
    assert match is not None, key
    name, gpus = match.group(1), int(match.group(2))
    named = NAMED.match(name)
    model, batch_size = (named.group(1), int(named.group(2))) if named else BARE[name]
    return model, batch_size, gpus


def test_the_table_has_gavels_26_job_types_and_both_bare_names() -> None:
    names = {KEY.match(key).group(1) for key in ALL_KEYS}  # type: ignore[union-attr]
    assert len(names) == 26 and len(ALL_KEYS) == 83
    assert {"A3C", "CycleGAN"} <= names


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_job_type_of_gavels_table_imports(key: str) -> None:
    model, batch_size, gpus = _expected(key)
    job_type = KEY.match(key).group(1)  # type: ignore[union-attr]
    line = f"{job_type}\tpython3 run.py\t--steps\t1\t{STEPS}\t7.500000\t{gpus}\n"
    result = import_gavel(line, load_throughputs("gavel"), "one.trace", strict=True)
    (job,) = result.trace.jobs
    assert (job.model, job.batch_size, job.gpus) == (model, batch_size, gpus)
    assert job.total_steps == STEPS and job.arrival_s == 7.5 and job.mode == "static"
    assert job.duration_s == STEPS / RAW["v100"][key]["null"]
    assert result.skipped == ()


def test_import_defaults_to_gavels_table(tmp_path: Path) -> None:
    source = tmp_path / "msr.trace"
    source.write_text(f"CycleGAN\tpython3 cyclegan.py\t--n_steps\t1\t{STEPS}\t0.000000\t1\n")
    result = shockwave("trace", "import", "gavel", str(source))
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["duration_s"] == STEPS / RAW["v100"]["('CycleGAN', 1)"]["null"]
    assert "gavel_throughputs.json" in result.stderr and "imported 1 jobs, skipped 0" in result.stderr
    # The Shockwave paper's table has no CycleGAN speed: the line is skipped with it.
    with_tacc = shockwave("trace", "import", "gavel", str(source), "--throughputs", "tacc")
    assert with_tacc.exit_code == 2 and "no jobs (1 skipped" in with_tacc.stderr


def test_a_file_named_gavel_does_not_replace_the_default(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gavel").write_text('{"v100": {}}')
    assert load_bundled_throughputs("gavel").source == "gavel_throughputs.json"
    assert load_throughputs("gavel").source == "gavel"  # named explicitly, the file wins
