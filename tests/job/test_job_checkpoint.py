"""CheckpointManager alone: layout, manifest, LATEST, pruning, verification and fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from shockwave.job import CheckpointError, CheckpointManager


def save(manager: CheckpointManager, step: int, value: float = 0.0) -> str:
    state = {"format": 1, "w": torch.full((4,), value), "step": step}
    return manager.save(state, step=step, samples=step * 8, epoch=step // 10,
                        world_size=1).checkpoint_id


@pytest.fixture
def manager(tmp_path: Path) -> CheckpointManager:
    return CheckpointManager(tmp_path / "ckpt", "job-7", "a3")


def test_layout_manifest_and_latest(manager):
    name = save(manager, 12, 1.5)
    assert name == "ckpt-0000000012-aa3"
    path = manager.directory / name
    assert sorted(p.name for p in path.iterdir()) == ["MANIFEST.json", "state.pt"]
    manifest = json.loads((path / "MANIFEST.json").read_text())
    assert {k: manifest[k] for k in ("job_id", "attempt", "step", "samples", "epoch",
                                     "world_size", "format_version")} == {
        "job_id": "job-7", "attempt": "a3", "step": 12, "samples": 96, "epoch": 1,
        "world_size": 1, "format_version": 1}
    assert manifest["torch_version"] == torch.__version__ and manifest["created"]
    [entry] = manifest["files"]
    assert entry["name"] == "state.pt" and entry["bytes"] == (path / "state.pt").stat().st_size
    assert len(entry["sha256"]) == 64
    assert (manager.directory / "LATEST").read_text() == f"{name}\n"
    state, loaded = manager.load()
    assert loaded.checkpoint_id == name and loaded.step == 12
    assert torch.equal(state["w"], torch.full((4,), 1.5))


def test_no_checkpoint_is_not_an_error(manager):
    assert manager.load() is None
    manager.directory.mkdir()
    (manager.directory / "final-params.pt").write_bytes(b"x")
    assert manager.load() is None


def test_the_last_two_are_kept(manager):
    names = [save(manager, step) for step in (1, 2, 3, 4)]
    assert sorted(p.name for p in manager.directory.glob("ckpt-*")) == names[-2:]


def test_a_newer_manager_keeps_the_one_it_restored(tmp_path, manager):
    first, second = save(manager, 1), save(manager, 2)
    (manager.directory / second / "state.pt").write_bytes(b"torn")
    resumed = CheckpointManager(manager.directory, "job-7", "a4")
    assert resumed.load()[1].checkpoint_id == first
    third = save(resumed, 5)
    assert sorted(p.name for p in manager.directory.glob("ckpt-*")) == [first, third]


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest-json", "manifest-field",
                                    "manifest-missing", "state-missing", "wrong-job"])
def test_a_damaged_latest_falls_back_to_the_older(manager, damage):
    older, newer = save(manager, 1, 1.0), save(manager, 2, 2.0)
    path = manager.directory / newer
    state = path / "state.pt"
    manifest = json.loads((path / "MANIFEST.json").read_text())
    if damage == "truncate":
        state.write_bytes(state.read_bytes()[:-10])
    elif damage == "flip":
        data = bytearray(state.read_bytes())
        data[-30] ^= 1
        state.write_bytes(bytes(data))
    elif damage == "manifest-json":
        (path / "MANIFEST.json").write_text('{"job_id": ')
    elif damage == "manifest-field":
        manifest["step"] = "two"
        (path / "MANIFEST.json").write_text(json.dumps(manifest))
    elif damage == "manifest-missing":
        (path / "MANIFEST.json").unlink()
    elif damage == "state-missing":
        state.unlink()
    elif damage == "wrong-job":
        manifest["job_id"] = "job-8"
        (path / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError):
        manager.verify(newer)
    state, loaded = manager.load()
    assert loaded.checkpoint_id == older and torch.equal(state["w"], torch.ones(4))


def test_latest_naming_a_missing_directory_falls_back(manager):
    older = save(manager, 1)
    (manager.directory / "LATEST").write_text("ckpt-0000000099-aa3\n")
    assert manager.load()[1].checkpoint_id == older


def test_all_damaged_raises_and_names_every_problem(manager):
    older, newer = save(manager, 1), save(manager, 2)
    (manager.directory / older / "state.pt").write_bytes(b"")
    (manager.directory / newer / "MANIFEST.json").unlink()
    with pytest.raises(CheckpointError) as raised:
        manager.load()
    message = str(raised.value)
    assert "none is valid; refusing to restart from scratch" in message
    assert f"{older}: state.pt has 0 bytes" in message
    assert f"{newer}: no MANIFEST.json" in message


def test_a_dangling_latest_alone_raises(manager):
    manager.directory.mkdir()
    (manager.directory / "LATEST").write_text("ckpt-0000000003-aa1\n")
    with pytest.raises(CheckpointError, match="none is valid"):
        manager.load()


def test_a_torn_write_is_invisible_and_cleaned_up(manager):
    older = save(manager, 1)
    torn = manager.directory / ".tmp-a2-7"
    torn.mkdir()
    (torn / "state.pt").write_bytes(b"half")
    assert manager.load()[1].checkpoint_id == older
    manager.remove_torn_writes()
    assert not torn.exists()


def test_saving_the_same_step_again_replaces_it(manager):
    name = save(manager, 4, 1.0)
    assert save(manager, 4, 2.0) == name
    state, _ = manager.load()
    assert torch.equal(state["w"], torch.full((4,), 2.0))
