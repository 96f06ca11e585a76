"""A character-level GRU language model on seeded Markov-chain text (stands in for an LSTM on
WikiText-2).

The text is generated, not downloaded: words from a fixed random syllable grammar, so it is the
same on every machine and every Python version. 768 windows of 65 characters make the epoch; the
model predicts each next character (embedding 32, one GRU layer of 96 units) with Adam and
gradient clipping. It adapts its batch size under ``--adaptation`` (or the service's mode) with
the square-root learning-rate rule (Adam); its reference model is LM.
"""

from __future__ import annotations

import logging
import math
import random
import time
from typing import TYPE_CHECKING

from shockwave.job.adapt.config import AdaptConfig
from shockwave.workloads.common import adaptation_note, parser, start

if TYPE_CHECKING:
    import torch

log = logging.getLogger("shockwave.workloads")

ALPHABET = "abcdefghijklmnopqrstuvwxyz .,\n"
SEQUENCES = 768
WINDOW = 64
ADAPT = AdaptConfig(lr_scaling="sqrt", measure_every=6, accordion_check_every=2,
                    reference_model="LM")
"""A measured step costs +55% here: GNS measures every 6th (+9% time)."""


def generate_text(chars: int, seed: int = 0) -> str:
    """``chars`` characters of text from a fixed grammar: a vocabulary of 300 words built from
    syllables, and a Markov chain over words (each word prefers a few successors). Only
    ``random.Random.random()`` is used, whose sequence Python guarantees across versions."""
    rng = random.Random(seed)
    consonants, vowels = "bcdfghklmnprstvwz", "aeiou"

    def below(n: int) -> int:
        return int(rng.random() * n)

    words = ["".join(consonants[below(17)] + vowels[below(5)] for _ in range(1 + below(3)))
             for _ in range(300)]
    successors = [[below(len(words)) for _ in range(4)] for _ in words]
    out, current, length = [], 0, 0
    while length < chars:
        word = words[current]
        sep = {0: ". ", 1: ", ", 2: ".\n"}.get(below(12), " ")
        out.append(word + sep)
        length += len(word) + len(sep)
        current = successors[current][below(4)]
    return "".join(out)[:chars]


def dataset() -> torch.utils.data.TensorDataset:
    """Windows of ``WINDOW + 1`` characters as index tensors: input and the next-char target."""
    import torch
    from torch.utils.data import TensorDataset

    text = generate_text(SEQUENCES * (WINDOW + 1))
    ids = torch.tensor([ALPHABET.index(c) for c in text]).view(SEQUENCES, WINDOW + 1)
    return TensorDataset(ids[:, :-1].contiguous(), ids[:, 1:].contiguous())


def model() -> torch.nn.Module:
    from torch import nn

    class CharGRU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(len(ALPHABET), 32)
            self.rnn = nn.GRU(32, 96, batch_first=True)
            self.head = nn.Linear(96, len(ALPHABET))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hidden, _ = self.rnn(self.embed(x))
            return self.head(hidden)

    return CharGRU()


def main(argv: list[str] | None = None) -> None:
    args = parser("tinylm", __doc__.splitlines()[0], epochs=8, batch_size=32,
                  bounds=(8, 128)).parse_args(argv)
    import torch
    from torch.nn import functional as F  # noqa: N812

    sess = start(args, ADAPT)
    data = dataset()
    net = model()
    ddp = sess.wrap_model(net)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loader = sess.loader(data, shuffle=True)
    sess.track(model=net, optimizer=opt)
    sess.restore()
    with sess.running():
        for epoch in sess.epochs(total=args.epochs):
            started = time.monotonic()
            for x, y in loader:
                opt.zero_grad(set_to_none=True)
                loss = sess.backward(
                    lambda xb, yb: F.cross_entropy(ddp(xb).reshape(-1, len(ALPHABET)),
                                                   yb.reshape(-1)),
                    x.to(sess.device), y.to(sess.device))
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                sess.step(loss=loss)
            if sess.is_main and not sess.should_stop:
                log.info("tinylm: epoch %d: loss %.4f (perplexity %.2f), %.2f s%s", epoch,
                         loss.item(), math.exp(loss.item()), time.monotonic() - started,
                         adaptation_note(sess))


if __name__ == "__main__":
    main()
