"""The library a training script imports to run under the shockwave service (or standalone).

Importing it does nothing: no signal handlers, no threads, no torch. ``init()`` reads the
environment contract (``shockwave.protocol``) and returns a ``JobSession``; see
``docs/job-library.md`` for the handful of lines a plain PyTorch loop changes::

    sess = shockwave.job.init(batch_size=64, seed=0)
    ...
    with sess.running():
        for epoch in sess.epochs(total=10):
            for x, y in loader:
                ...
                sess.step(loss=loss)
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "init": "shockwave.job.session", "JobSession": "shockwave.job.session",
    "JobEnv": "shockwave.job.env", "AdaptConfig": "shockwave.job.adapt.config",
    "CheckpointManager": "shockwave.job.checkpoint", "Manifest": "shockwave.job.checkpoint",
    "JobError": "shockwave.job.errors", "JobEnvError": "shockwave.job.errors",
    "CheckpointError": "shockwave.job.errors",
    "ResumableSampler": "shockwave.job.data", "ResumableLoader": "shockwave.job.data",
    "StopCode": "shockwave.job.stop",
    "save_params": "shockwave.job.params", "load_params": "shockwave.job.params",
    "same_params": "shockwave.job.params",
}


def __getattr__(name: str) -> Any:
    """Import the public API on first use (none of it imports torch until called)."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shockwave.job' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
