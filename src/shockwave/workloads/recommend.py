"""A denoising autoencoder on synthetic implicit feedback (stands in for Recoder on
MovieLens-20M).

2,048 users and 1,024 items; each user's interactions are drawn from a low-rank model (rank 8
user and item factors plus item popularity), about 4% of the matrix. 10% of each user's
interactions are held out. The model reconstructs a user's row from a corrupted copy (input
dropout) through a 256-unit bottleneck; evaluation is the hit rate of the top 10 unseen items.
It adapts its batch size under ``--adaptation`` (or the service's mode) with the square-root
learning-rate rule (Adam); its reference model is Recommendation.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from shockwave.job.adapt.config import AdaptConfig
from shockwave.workloads.common import adaptation_note, parser, start

if TYPE_CHECKING:
    import torch

log = logging.getLogger("shockwave.workloads")

USERS, ITEMS, RANK = 2048, 1024, 8
ADAPT = AdaptConfig(lr_scaling="sqrt", measure_every=8, accordion_check_every=2,
                    reference_model="Recommendation")
"""A measured step costs +64% here: GNS measures every 8th (+8% time)."""


def interactions(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The training matrix and the held-out matrix (users x items, 0/1 floats)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    users = torch.randn(USERS, RANK, generator=gen)
    items = torch.randn(ITEMS, RANK, generator=gen)
    popularity = torch.randn(ITEMS, generator=gen)
    logits = users @ items.T / RANK ** 0.5 + popularity - 4.0
    seen = (torch.rand(USERS, ITEMS, generator=gen) < torch.sigmoid(logits)).float()
    held = seen * (torch.rand(USERS, ITEMS, generator=gen) < 0.1).float()
    return seen - held, held


def dataset() -> torch.utils.data.TensorDataset:
    """One sample per user: its training row and its held-out row."""
    from torch.utils.data import TensorDataset

    return TensorDataset(*interactions())


def model() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(nn.Dropout(0.3), nn.Linear(ITEMS, 256), nn.Tanh(),
                         nn.Linear(256, ITEMS))


def hit_rate(net: torch.nn.Module, data: torch.utils.data.TensorDataset, k: int = 10) -> float:
    """Share of users with a held-out item among their top ``k`` unseen items."""
    import torch

    train, held = data.tensors
    was_training = net.training
    net.eval()
    with torch.no_grad():
        scores = net(train).masked_fill(train > 0, float("-inf"))
    net.train(was_training)
    top = scores.topk(k, dim=1).indices
    hits = held.gather(1, top).sum(1) > 0
    has_held = held.sum(1) > 0
    return (hits & has_held).float().sum().item() / max(1, int(has_held.sum()))


def main(argv: list[str] | None = None) -> None:
    args = parser("recommend", __doc__.splitlines()[0], epochs=10, batch_size=128,
                  bounds=(32, 1024)).parse_args(argv)
    import torch
    from torch.nn import functional as F  # noqa: N812

    sess = start(args, ADAPT)
    data = dataset()
    net = model()
    ddp = sess.wrap_model(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = sess.loader(data, shuffle=True)
    sess.track(model=net, optimizer=opt)
    sess.restore()
    with sess.running():
        for epoch in sess.epochs(total=args.epochs):
            started = time.monotonic()
            for rows, _held in loader:
                opt.zero_grad(set_to_none=True)
                loss = sess.backward(lambda r: F.binary_cross_entropy_with_logits(ddp(r), r),
                                     rows.to(sess.device))
                opt.step()
                sess.step(loss=loss)
            if sess.is_main and not sess.should_stop:
                log.info("recommend: epoch %d: loss %.4f, hit rate@10 %.3f, %.2f s%s", epoch,
                         loss.item(), hit_rate(net, data), time.monotonic() - started,
                         adaptation_note(sess))


if __name__ == "__main__":
    main()
