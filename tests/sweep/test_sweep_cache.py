"""The run cache: a run's key changes with every input it depends on and with nothing else, and
its file is written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from shockwave.sweep import driver
from shockwave.sweep.cache import RunCache, canonical_json, run_key, write_atomic
from shockwave.sweep.driver import plan_sweep
from shockwave.sweep.spec import load_spec

DATA = Path(__file__).parents[2] / "src" / "shockwave" / "data"
BASE = ("policies: [shockwave]\nseeds: [0]\ngpus: [8]\ngpus_per_server: 1\nround_seconds: 120\n"
        "compat: fixed\ntrace: {num_jobs: 4, lam: 30}\nthroughputs: tp.json\n"
        "workload_facts: facts.json\nparams:\n  shockwave: {k: 0.001, config: sw.json}\n")


def _inputs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "tacc_throughputs.json", folder / "tp.json")
    shutil.copy(DATA / "shockwave-config.json", folder / "sw.json")
    (folder / "facts.json").write_text('{"about": "no extra models"}\n')


def first_key(folder: Path, text: str = BASE) -> str:
    if not (folder / "tp.json").exists():
        _inputs(folder)
    (folder / "s.yaml").write_text(text)
    return plan_sweep(load_spec(folder / "s.yaml")).keys[0]


@pytest.mark.parametrize(("old", "new"), [
    ("k: 0.001", "k: 0.002"),
    ("lam: 30", "lam: 31"),
    ("num_jobs: 4", "num_jobs: 5"),
    ("seeds: [0]", "seeds: [1]"),
    ("gpus: [8]", "gpus: [16]"),
    ("gpus_per_server: 1", "gpus_per_server: 2"),
    ("round_seconds: 120", "round_seconds: 60"),
    ("compat: fixed", "compat: reference"),
    ("compat: fixed", "compat: fixed\npreemption_penalty_seconds: 10"),
], ids=["param", "lam", "num_jobs", "seed", "gpus", "gpus_per_server", "round",
        "compat", "penalty"])
def test_changing_any_setting_changes_the_key(tmp_path, old, new):
    assert BASE.count(old) == 1
    assert first_key(tmp_path / "a") != first_key(tmp_path / "b", BASE.replace(old, new))


def test_another_policy_has_another_key(tmp_path):
    text = BASE.replace("params:\n  shockwave: {k: 0.001, config: sw.json}\n", "")
    assert first_key(tmp_path / "a", text) != \
        first_key(tmp_path / "b", text.replace("[shockwave]", "[gavel]"))


@pytest.mark.parametrize("name", ["tp.json", "facts.json", "sw.json"])
def test_changing_an_input_file_s_content_changes_the_key(tmp_path, name):
    before = first_key(tmp_path)
    path = tmp_path / name
    path.write_text(path.read_text().replace("{", '{"about": "changed", ', 1)
                    if name == "facts.json" else path.read_text() + "\n")
    assert first_key(tmp_path) != before


def test_a_new_shockwave_version_changes_every_key(tmp_path, monkeypatch):
    before = first_key(tmp_path)
    monkeypatch.setattr(driver, "package_version", lambda: "99.0")
    assert first_key(tmp_path) != before


def test_the_same_inputs_written_differently_give_the_same_key(tmp_path):
    """Keys name contents and values, not paths or spelling: a moved file, a scalar or a
    one-item list, 30 or 30.0, an alias or the registry name."""
    base = first_key(tmp_path / "a")
    moved = tmp_path / "b"
    _inputs(moved / "elsewhere")
    shutil.copy(moved / "elsewhere" / "sw.json", moved / "sw.json")
    text = BASE.replace("throughputs: tp.json", "throughputs: elsewhere/tp.json") \
        .replace("workload_facts: facts.json", "workload_facts: elsewhere/facts.json")
    assert first_key(moved, text) == base
    respelled = BASE.replace("gpus: [8]", "gpus: 8").replace("lam: 30", "lam: 30.0") \
        .replace("seeds: [0]", "seeds: 1").replace("k: 0.001", "k: [0.001]")
    assert first_key(tmp_path / "c", respelled) == base
    assert first_key(tmp_path / "d") == base


def test_the_key_is_the_sha256_of_the_canonical_document_and_unique_in_a_grid(tmp_path):
    _inputs(tmp_path)
    (tmp_path / "s.yaml").write_text(BASE.replace("seeds: [0]", "seeds: 3")
                                     .replace("gpus: [8]", "gpus: [8, 16]"))
    plan = plan_sweep(load_spec(tmp_path / "s.yaml"))
    assert len(set(plan.keys)) == len(plan.keys) == 6
    document = plan.documents[0]
    assert plan.keys[0] == hashlib.sha256(canonical_json(document).encode()).hexdigest()
    assert document["params"] == {"config": {"sha256": hashlib.sha256(
        (tmp_path / "sw.json").read_bytes()).hexdigest()}, "k": 0.001}
    assert document["trace"]["generator"]["seed"] == 0 and document["gpus"] == 8
    assert run_key({"b": [1, 2.5], "a": None}) == run_key({"a": None, "b": [1, 2.5]})


def test_a_stored_run_reads_back_and_a_broken_file_counts_as_missing(tmp_path):
    cache = RunCache(tmp_path / "runs")
    record = {"key": "k1", "metrics": {"makespan_s": 0.1 + 0.2, "rounds": 3}}
    cache.store("k1", record)
    assert cache.load("k1") == record  # floats exactly (0.30000000000000004)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["k1.json"]
    cache.path("k2").write_text('{"key": "k2", "metr')  # what a torn write would leave
    assert cache.load("k2") is None
    cache.path("k3").write_text(json.dumps(record))  # the file of another key
    assert cache.load("k3") is None and cache.load("absent") is None


def test_a_killed_writer_leaves_only_a_temporary_file_which_is_cleaned_up(tmp_path):
    cache = RunCache(tmp_path)
    (tmp_path / ".k1.json.4242.tmp").write_text('{"key": "k1", "met')
    assert cache.load("k1") is None
    assert cache.remove_stale_temporaries() == 1
    assert list(tmp_path.iterdir()) == []
    write_atomic(tmp_path / "a.csv", "x\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
