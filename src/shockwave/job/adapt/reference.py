"""The ``reference`` policy: the published Shockwave run-time rules, for parity runs.

It needs no gradients: at every epoch boundary it asks the simulator's tables what the
reference job of ``model`` (``ResNet-18``, ``LM``, ...) would do at that epoch
(``workload.adaptation.reference_target_batch_size``): GNS doubles when the table says a larger
size is due, Accordion jumps to the model's maximum outside its critical regime and back to the
initial size inside it.
"""

from __future__ import annotations

from typing import Any

from shockwave.errors import InputError
from shockwave.workload.adaptation import (
    WorkloadFacts,
    load_workload_facts,
    reference_target_batch_size,
)


class ReferencePolicy:
    """The reference's rule for ``mode`` and ``model`` on ``gpus`` GPUs, once per epoch."""

    def __init__(self, mode: str, model: str, gpus: int,
                 facts: WorkloadFacts | None = None) -> None:
        self.facts = facts or load_workload_facts()
        if model not in self.facts.max_batch_size:
            known = ", ".join(sorted(self.facts.max_batch_size))
            raise InputError(f"unknown reference model {model!r}; known: {known}",
                             field="reference_model")
        self.mode, self.model, self.gpus = mode, model, gpus
        self.last_epoch: int | None = None

    def observe(self, epoch: int, batch_size: int, base: int) -> int | None:
        """At the first call in each epoch: the reference's batch size for a job that started
        at ``base`` and has done ``epoch`` epochs at ``batch_size``; ``None`` otherwise."""
        if epoch == self.last_epoch:
            return None
        self.last_epoch = epoch
        return reference_target_batch_size(self.facts, self.mode, self.model, base, self.gpus,
                                           batch_size, epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_epoch = state["last_epoch"]
