"""What a checkpoint's ``state.pt`` holds and how it is put back: the tracked objects' state,
the session's counters, and every rank's RNG states (torch, CUDA, ``random``)."""

from __future__ import annotations

import random
from typing import Any

from shockwave.job.checkpoint import Manifest
from shockwave.job.errors import CheckpointError

STATE_FORMAT = 1


def build_state(objects: dict[str, Any], counters: dict[str, int],
                rng: list[Any] | None, adaptation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dictionary ``torch.save`` writes: ``rng`` has one entry per rank; ``adaptation``
    is the adaptation's state (``Adapter.state_dict``), optional on loading."""
    return {"format": STATE_FORMAT,
            "objects": {name: obj.state_dict() for name, obj in objects.items()},
            "counters": dict(counters), "rng": rng or [], "adaptation": adaptation or {}}


def apply_state(state: dict[str, Any], manifest: Manifest, objects: dict[str, Any],
                rank: int, world_size: int) -> dict[str, int]:
    """Load every tracked object and this rank's RNG states; return the counters. A tracked
    object without saved state is an error (the script and the checkpoint disagree)."""
    if state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{manifest.checkpoint_id}: state format "
                              f"{state.get('format')!r}, expected {STATE_FORMAT}")
    saved = state["objects"]
    for name, obj in objects.items():
        if name not in saved:
            raise CheckpointError(f"{manifest.checkpoint_id} has no state for tracked object "
                                  f"{name!r} (it has {sorted(saved)})")
        obj.load_state_dict(saved[name])
    rng = state.get("rng") or []
    if manifest.world_size == world_size and rank < len(rng):
        set_rng_state(rng[rank])
    return state["counters"]


def rng_state() -> dict[str, Any]:
    """This process's RNG states."""
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def tensor_bytes(obj: Any) -> int:
    """Bytes of the tensors in nested dicts and lists."""
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):
        return obj.element_size() * obj.nelement()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(tensor_bytes(v) for v in obj)
    return 0
