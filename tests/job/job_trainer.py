"""A small training script written against shockwave.job; the tests run it as a subprocess
(``python tests/job/job_trainer.py ...``) or call ``train()`` in-process.

An MLP with dropout (so the RNG state must survive a resume) on seeded synthetic data, SGD with
momentum and a step LR schedule: 192 samples, 12 steps per epoch at batch size 16.
``--step-sleep`` stretches each step so that a test can stop the job inside an epoch. The
backward pass goes through ``sess.backward``, so the trainer adapts its batch size under the
mode of ``SHOCKWAVE_ADAPTATION`` (``--measure-every``, ``--min-measurements``, ``--patience``
set the GNS knobs, ``--accordion-eta`` and ``--accordion-check-every`` Accordion's); each rank
logs its final learning rate.
``--manual-sgd`` replaces torch.optim (whose first use imports the compiler: 1.5 s of CPU per
process) with the same kind of update on plain tensors, for the tests that start many processes.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import TensorDataset

import shockwave.job
from shockwave.job.session import JobSession

OnStep = Callable[[JobSession], None]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=192)
    parser.add_argument("--params-out")
    parser.add_argument("--checkpoint-dir")
    parser.add_argument("--checkpoint-interval", type=float)
    parser.add_argument("--step-sleep", type=float, default=0.0)
    parser.add_argument("--manual-sgd", action="store_true")
    parser.add_argument("--max-steps", type=int, help="end training after this step")
    parser.add_argument("--measure-every", type=int, default=1)
    parser.add_argument("--min-measurements", type=int, default=4)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--accordion-eta", type=float, default=0.5)
    parser.add_argument("--accordion-check-every", type=int, default=2)
    return parser.parse_args(argv)


class ManualSGD:
    """SGD with momentum and a step decay of the learning rate; its state is checkpointed like
    any tracked object's. Its base learning rate is in ``param_groups`` (where the library's
    learning-rate rule finds it)."""

    def __init__(self, params: list[torch.nn.Parameter], lr: float, momentum: float,
                 step_size: int, gamma: float) -> None:
        self.params = list(params)
        self.param_groups = [{"lr": lr}]
        self.momentum, self.step_size, self.gamma = momentum, step_size, gamma
        self.buffers = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr = self.param_groups[0]["lr"] * self.gamma ** (self.steps // self.step_size)
        for p, buf in zip(self.params, self.buffers, strict=True):
            buf.mul_(self.momentum).add_(p.grad)
            p.sub_(lr * buf)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"buffers": [b.clone() for b in self.buffers], "steps": self.steps,
                "lr": self.param_groups[0]["lr"]}

    def load_state_dict(self, state: dict) -> None:
        for buf, saved in zip(self.buffers, state["buffers"], strict=True):
            buf.copy_(saved)
        self.steps = state["steps"]
        self.param_groups[0]["lr"] = state["lr"]


def train(args: argparse.Namespace, *, exit_process: bool = True,
          on_step: OnStep | None = None) -> JobSession:
    sess = shockwave.job.init(batch_size=args.batch_size, seed=args.seed,
                              checkpoint_dir=args.checkpoint_dir,
                              checkpoint_interval_s=args.checkpoint_interval,
                              params_out=args.params_out, deterministic=True,
                              adapt=shockwave.job.AdaptConfig(
                                  measure_every=args.measure_every, patience=args.patience,
                                  min_measurements=args.min_measurements,
                                  accordion_eta=args.accordion_eta,
                                  accordion_check_every=args.accordion_check_every))
    gen = torch.Generator().manual_seed(1234)  # the data do not depend on the job's seed
    x = torch.randn(args.samples, 12, generator=gen)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    net = sess.wrap_model(model)
    if args.manual_sgd:
        opt = ManualSGD(model.parameters(), lr=0.05, momentum=0.9, step_size=10, gamma=0.9)
        sched = None
        sess.track(model=model, optimizer=opt)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.9)
        sess.track(model=model, optimizer=opt, lr_sched=sched)
    loader = sess.loader(TensorDataset(x, y), shuffle=True)
    sess.restore()
    with sess.running(exit_process=exit_process):
        for _epoch in sess.epochs(total=args.epochs):
            for xb, yb in loader:
                opt.zero_grad(set_to_none=True)
                loss = sess.backward(lambda x, y: nn.functional.cross_entropy(net(x), y),
                                     xb, yb)
                opt.step()
                if sched is not None:
                    sched.step()
                if args.step_sleep:
                    time.sleep(args.step_sleep)
                sess.step(loss=loss)
                if on_step is not None:
                    on_step(sess)
                if args.max_steps and sess.step_count >= args.max_steps:
                    return sess
        logging.getLogger("shockwave.job").info("trainer: rank %d: lr %r", sess.rank,
                                                opt.param_groups[0]["lr"])
    return sess


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train(parse())
