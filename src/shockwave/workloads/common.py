"""What the bundled workloads share: their command line and how they start a session."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import TYPE_CHECKING

from shockwave.job.adapt.config import MODES, AdaptConfig

if TYPE_CHECKING:
    from shockwave.job.session import JobSession

log = logging.getLogger("shockwave.workloads")


def parser(name: str, description: str, *, epochs: int, batch_size: int,
           bounds: tuple[int, int]) -> argparse.ArgumentParser:
    """The common options. Under the service its environment wins over ``--epochs``,
    ``--batch-size``, ``--seed``, ``--checkpoint-dir``, ``--adaptation`` and the batch-size
    bounds (the job spec's values)."""
    p = argparse.ArgumentParser(prog=f"python -m shockwave.workloads.{name}",
                                description=description)
    p.add_argument("--epochs", type=int, default=epochs, help=f"epochs to train ({epochs})")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help=f"global batch size ({batch_size})")
    p.add_argument("--seed", type=int, default=0, help="seed of the model and data order (0)")
    p.add_argument("--params-out", help="write the final parameters here (torch.save)")
    p.add_argument("--checkpoint-dir", help="checkpoint here when run by hand")
    p.add_argument("--checkpoint-interval", type=float, help="seconds between checkpoints")
    p.add_argument("--adaptation", choices=MODES, default="static",
                   help="batch-size adaptation (static)")
    p.add_argument("--min-batch-size", type=int, default=bounds[0],
                   help=f"smallest global batch size to adapt to ({bounds[0]})")
    p.add_argument("--max-batch-size", type=int, default=bounds[1],
                   help=f"largest global batch size to adapt to ({bounds[1]})")
    p.add_argument("--adapt-policy", choices=("default", "reference"), default="default",
                   help="the mode's own policy, or the published Shockwave rules for the model "
                        "the workload stands in for (default)")
    return p


def adaptation_note(sess: JobSession) -> str:
    """``", batch size B, noise scale N"`` for an epoch's log line under adaptation."""
    if sess.adaptation == "static":
        return ""
    scale = sess.noise_scale
    return f", batch size {sess.batch_size}" + \
        (f", noise scale {scale:.1f}" if scale is not None else "")


def start(args: argparse.Namespace, adapt: AdaptConfig) -> JobSession:
    """Logging on, then ``shockwave.job.init`` with deterministic algorithms; ``adapt`` holds
    the workload's own adaptation knobs, the command line the mode, bounds and policy."""
    import shockwave.job

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    adapt = dataclasses.replace(
        adapt, mode=args.adaptation, min_batch_size=args.min_batch_size,
        max_batch_size=args.max_batch_size,
        policy="reference" if args.adapt_policy == "reference" else None)
    return shockwave.job.init(batch_size=args.batch_size, seed=args.seed,
                              checkpoint_dir=args.checkpoint_dir,
                              checkpoint_interval_s=args.checkpoint_interval,
                              params_out=args.params_out, deterministic=True, adapt=adapt)
