"""What the bundled workloads share: their command line and how they start a session."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shockwave.job.session import JobSession

log = logging.getLogger("shockwave.workloads")


def parser(name: str, description: str, *, epochs: int, batch_size: int) -> \
        argparse.ArgumentParser:
    """The common options. Under the service its environment wins over ``--epochs``,
    ``--batch-size``, ``--seed`` and ``--checkpoint-dir`` (the job spec's values)."""
    p = argparse.ArgumentParser(prog=f"python -m shockwave.workloads.{name}",
                                description=description)
    p.add_argument("--epochs", type=int, default=epochs, help=f"epochs to train ({epochs})")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help=f"global batch size ({batch_size})")
    p.add_argument("--seed", type=int, default=0, help="seed of the model and data order (0)")
    p.add_argument("--params-out", help="write the final parameters here (torch.save)")
    p.add_argument("--checkpoint-dir", help="checkpoint here when run by hand")
    p.add_argument("--checkpoint-interval", type=float, help="seconds between checkpoints")
    return p


def start(args: argparse.Namespace) -> JobSession:
    """Logging on, then ``shockwave.job.init`` with deterministic algorithms."""
    import shockwave.job

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return shockwave.job.init(batch_size=args.batch_size, seed=args.seed,
                              checkpoint_dir=args.checkpoint_dir,
                              checkpoint_interval_s=args.checkpoint_interval,
                              params_out=args.params_out, deterministic=True)
