"""The job templates the trace generator draws from, loaded from ``data/job_templates.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shockwave.model import job_type_name

TEMPLATES_FILE = "job_templates.json"
GAVEL_TEMPLATES_FILE = "gavel_job_table.json"
"""Gavel's own job table (26 templates, A3C and CycleGAN included), for Gavel-style traces."""


@dataclass(frozen=True)
class JobTemplate:
    """One kind of job: a model at an initial batch size, with how it is launched."""

    model: str
    batch_size: int
    command: str
    working_directory: str
    num_steps_arg: str
    needs_data_dir: bool
    distributed: bool

    @property
    def job_type(self) -> str:
        return job_type_name(self.model, self.batch_size)


@cache
def load_templates(file: str = TEMPLATES_FILE) -> tuple[JobTemplate, ...]:
    """A bundled job table (by default the Shockwave reference's), in its order (the order is
    part of the random stream)."""
    raw = json.loads((resources.files("shockwave") / "data" / file).read_text())
    return tuple(JobTemplate(**entry) for entry in raw["templates"])
