"""The final parameters of a job, saved so that runs can be compared bit for bit.

The file is ``torch.save`` of ``{name: module.state_dict()}`` for every tracked ``nn.Module``
(``{"model": {...}}`` for the bundled workloads); ``load_params`` reads it back and
``same_params`` compares two such files exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shockwave.job.checkpoint import write_atomically

log = logging.getLogger("shockwave.job")


def save_params(path: str | Path, objects: Mapping[str, Any]) -> None:
    """Write the state of every ``nn.Module`` in ``objects`` to ``path`` atomically."""
    import torch

    modules = {name: obj.state_dict() for name, obj in objects.items()
               if isinstance(obj, torch.nn.Module)}
    if not modules:
        log.warning("shockwave.job: no tracked nn.Module; %s not written", path)
        return
    write_atomically(Path(path), lambda f: torch.save(modules, f))


def load_params(path: str | Path) -> dict[str, Any]:
    """What ``save_params`` wrote."""
    import torch

    return torch.load(Path(path), map_location="cpu", weights_only=True)


def same_params(a: str | Path | Mapping[str, Any], b: str | Path | Mapping[str, Any]) -> bool:
    """True when two parameter files (or loaded dicts) hold the same names and bit-identical
    tensors."""
    import torch

    left = a if isinstance(a, Mapping) else load_params(a)
    right = b if isinstance(b, Mapping) else load_params(b)
    if left.keys() != right.keys():
        return False
    for name in left:
        x, y = left[name], right[name]
        if isinstance(x, Mapping):
            if not isinstance(y, Mapping) or not same_params(x, y):
                return False
        elif isinstance(x, torch.Tensor):
            if not isinstance(y, torch.Tensor) or x.dtype != y.dtype or x.shape != y.shape \
                    or not torch.equal(_bits(x), _bits(y)):
                return False
        elif x != y:
            return False
    return True


def _bits(tensor: Any) -> Any:
    """The tensor's bytes: equal bits, not just equal values (NaN, -0.0)."""
    import torch

    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
