"""A small CNN on scikit-learn's bundled 8x8 digits (stands in for ResNet-18 on CIFAR-10).

1,797 images: a fixed split gives 1,536 for training (the epoch) and 261 for evaluation. Two
convolutions and two linear layers, SGD with momentum and an exponential LR decay per step.
It adapts its batch size under ``--adaptation`` (or the service's mode) with the linear
learning-rate rule; its reference model is ResNet-18.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from shockwave.job.adapt.config import AdaptConfig
from shockwave.workloads.common import adaptation_note, parser, start

if TYPE_CHECKING:
    import torch

log = logging.getLogger("shockwave.workloads")

TRAIN_SAMPLES = 1536
ADAPT = AdaptConfig(lr_scaling="linear", measure_every=2, accordion_check_every=2,
                    reference_model="ResNet-18")
"""Sized for 24 steps per epoch: GNS measures every 2nd step (+8% time), Accordion checks
every 2 epochs (the paper's 10 is for jobs of hundreds of epochs)."""


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels, read straight from the CSV file that
    scikit-learn ships (importing ``sklearn.datasets`` costs a second)."""
    import numpy as np
    import torch

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the digits workload needs scikit-learn (pip install "
                                  "'shockwave[job]')")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.exists():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        images, labels = table[:, :-1], table[:, -1]
    else:  # a scikit-learn that stores it elsewhere
        from sklearn.datasets import load_digits as sk_load

        bunch = sk_load()
        images, labels = bunch.data.astype(np.float32), bunch.target
    x = torch.from_numpy(images).reshape(-1, 1, 8, 8) / 16.0
    return x, torch.from_numpy(np.asarray(labels)).long()


def datasets() -> tuple[torch.utils.data.TensorDataset, torch.utils.data.TensorDataset]:
    """The training and evaluation sets (a split that does not depend on the job's seed)."""
    import torch
    from torch.utils.data import TensorDataset

    x, y = load_digits()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, held = order[:TRAIN_SAMPLES], order[TRAIN_SAMPLES:]
    return TensorDataset(x[train], y[train]), TensorDataset(x[held], y[held])


def model() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


def accuracy(net: torch.nn.Module, data: torch.utils.data.TensorDataset) -> float:
    import torch

    x, y = data.tensors
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


def main(argv: list[str] | None = None) -> None:
    args = parser("digits", __doc__.splitlines()[0], epochs=10, batch_size=64,
                  bounds=(16, 256)).parse_args(argv)
    import torch
    from torch.nn import functional as F  # noqa: N812

    sess = start(args, ADAPT)
    train, held = datasets()
    net = model()
    ddp = sess.wrap_model(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.999)
    loader = sess.loader(train, shuffle=True)
    sess.track(model=net, optimizer=opt, lr_sched=sched)
    sess.restore()
    with sess.running():
        for epoch in sess.epochs(total=args.epochs):
            started = time.monotonic()
            for x, y in loader:
                opt.zero_grad(set_to_none=True)
                loss = sess.backward(lambda xb, yb: F.cross_entropy(ddp(xb), yb),
                                     x.to(sess.device), y.to(sess.device))
                opt.step()
                sched.step()
                sess.step(loss=loss)
            if sess.is_main and not sess.should_stop:
                log.info("digits: epoch %d: loss %.4f, held-out accuracy %.3f, %.2f s%s", epoch,
                         loss.item(), accuracy(net, held), time.monotonic() - started,
                         adaptation_note(sess))


if __name__ == "__main__":
    main()
