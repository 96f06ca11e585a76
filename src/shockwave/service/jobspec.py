"""``JobSubmit``: what ``POST /v1/jobs`` accepts (and ``shockwave submit`` sends), validated
field by field so that a 422 names the field at fault. A job's spec never changes after
submission.

``check_submit`` adds the checks that need the service's settings (GPUs that exist, a working
directory and a command that are there)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shockwave.errors import InputError
from shockwave.limits import MAX_BATCH_SIZE, MAX_GPUS, MAX_PRIORITY_WEIGHT, MAX_SEED
from shockwave.service.config import Settings

MAX_JOB_EPOCHS = 100_000
MAX_JOB_SAMPLES = 10**15
MAX_ARGS = 1_000
MAX_ARG_CHARS = 4_096
RESERVED_ENV_PREFIXES = ("SHOCKWAVE_",)
RESERVED_ENV = frozenset({
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES",
})
"""Variables the backend sets for every rank; a job may not override them."""

Adaptation = Literal["static", "accordion", "gns"]


class JobSubmit(BaseModel):
    """A training job: what to run, on how many GPUs, how long, and how it may adapt."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="a label for people; need not be unique")
    module: str | None = Field(
        default=None, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="run as `python -m MODULE ARGS...` with the service's Python")
    command: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_ARGS,
        description="run this argv (then ARGS); give either module or command")
    args: list[str] = Field(default_factory=list, max_length=MAX_ARGS)
    working_dir: str | None = Field(default=None, max_length=4_096,
                                    description="an existing directory (default: the service's)")
    env: dict[str, str] = Field(default_factory=dict, max_length=1_000,
                                description="extra environment; SHOCKWAVE_* and rank variables "
                                            "are the service's")
    model: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$",
        description="the job's model in the --throughputs table and the --workload-facts "
                    "file (default: name)")
    gpus: int = Field(default=1, ge=1, le=MAX_GPUS, description="slots of the gang (ranks)")
    batch_size: int = Field(ge=1, le=MAX_BATCH_SIZE, description="initial global batch size")
    min_batch_size: int | None = Field(default=None, ge=1, le=MAX_BATCH_SIZE,
                                       description="default: batch_size")
    max_batch_size: int | None = Field(default=None, ge=1, le=MAX_BATCH_SIZE,
                                       description="default: batch_size")
    adaptation: Adaptation = Field(default="static",
                                   description="static, accordion or gns batch-size adaptation")
    total_epochs: int | None = Field(default=None, ge=1, le=MAX_JOB_EPOCHS)
    total_samples: int | None = Field(default=None, ge=1, le=MAX_JOB_SAMPLES,
                                      description="give total_epochs or total_samples")
    samples_per_epoch: int = Field(ge=1, le=MAX_JOB_SAMPLES, description="the dataset's size")
    checkpoint_interval_s: float = Field(default=300.0, gt=0, le=86_400.0)
    max_failures: int = Field(default=3, ge=0, le=100,
                              description="failed attempts retried before the job fails")
    priority_weight: float = Field(default=1.0, gt=0, le=MAX_PRIORITY_WEIGHT)
    expected_samples_per_s: float | None = Field(
        default=None, gt=0, le=1e12,
        description="speed hint (whole gang) until the job reports its own")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)

    @field_validator("command", "args")
    @classmethod
    def _argv(cls, value: list[str] | None) -> list[str] | None:
        for item in value or ():
            if len(item) > MAX_ARG_CHARS or "\x00" in item:
                raise ValueError(f"each item must be at most {MAX_ARG_CHARS} characters, no NUL")
        if value is not None and value[:1] == [""]:
            raise ValueError("the program must not be empty")
        return value

    @field_validator("command", mode="after")
    @classmethod
    def _one_entry_point(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        _exactly_one(value, info, "module", both="give either module or command, not both",
                     neither="give module (run as python -m) or command")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not key or not (key[0].isalpha() or key[0] == "_") \
                    or not all(c.isalnum() or c == "_" for c in key) or not key.isascii():
                raise ValueError(f"{key!r} is not a variable name")
            if key in RESERVED_ENV or key.startswith(RESERVED_ENV_PREFIXES):
                raise ValueError(f"{key} is set by the service")
            if "\x00" in item or len(item) > MAX_ARG_CHARS:
                raise ValueError(f"{key}: at most {MAX_ARG_CHARS} characters, no NUL")
        return value

    @field_validator("min_batch_size")
    @classmethod
    def _min_bound(cls, value: int | None, info: ValidationInfo) -> int | None:
        batch = info.data.get("batch_size")
        if value is not None and batch is not None and value > batch:
            raise ValueError(f"must be at most batch_size ({batch}), got {value}")
        return value

    @field_validator("max_batch_size")
    @classmethod
    def _max_bound(cls, value: int | None, info: ValidationInfo) -> int | None:
        batch, low = info.data.get("batch_size"), info.data.get("min_batch_size")
        if value is not None and batch is not None and value < batch:
            raise ValueError(f"must be at least batch_size ({batch}), got {value}")
        if value is not None and low is not None and value < low:
            raise ValueError(f"must be at least min_batch_size ({low}), got {value}")
        return value

    @field_validator("total_samples", mode="after")
    @classmethod
    def _one_length(cls, value: int | None, info: ValidationInfo) -> int | None:
        _exactly_one(value, info, "total_epochs",
                     both="give total_epochs or total_samples, not both",
                     neither="give total_epochs or total_samples")
        return value

    # -- derived -----------------------------------------------------------------------------
    @property
    def samples(self) -> int:
        """Samples the job trains in all."""
        if self.total_samples is not None:
            return self.total_samples
        return int(self.total_epochs or 1) * self.samples_per_epoch

    @property
    def epochs(self) -> int:
        """Epochs the job trains (a started epoch counts)."""
        return max(1, math.ceil(self.samples / self.samples_per_epoch))

    @property
    def model_name(self) -> str:
        """What the job is called in throughput tables and workload facts."""
        return self.model or self.name

    @property
    def low_batch_size(self) -> int:
        return self.min_batch_size or self.batch_size

    @property
    def high_batch_size(self) -> int:
        return self.max_batch_size or self.batch_size


# ``validate_default`` so that the "give one of" checks run when neither field is given.
JobSubmit.model_fields["command"].validate_default = True
JobSubmit.model_fields["total_samples"].validate_default = True
JobSubmit.model_rebuild(force=True)


def check_submit(spec: JobSubmit, settings: Settings) -> list[dict[str, Any]]:
    """Problems with ``spec`` on this service, as pydantic-style errors (``loc``, ``msg``,
    ``type``); empty when it can run."""
    errors: list[dict[str, Any]] = []

    def fail(field: str, message: str) -> None:
        errors.append({"loc": ("body", field), "msg": message, "type": "value_error",
                       "input": getattr(spec, field)})

    if spec.gpus > settings.gpus:
        fail("gpus", f"this service has {settings.gpus} slot(s); the job asks for {spec.gpus}")
    workdir = Path(spec.working_dir) if spec.working_dir else None
    if workdir is not None and not workdir.is_dir():
        fail("working_dir", f"{spec.working_dir} is not a directory on the service's machine")
    if spec.command:
        program = spec.command[0]
        where = workdir or Path.cwd()
        found = shutil.which(program) if os.sep not in program else None
        path = Path(program) if Path(program).is_absolute() else where / program
        if found is None and not (os.sep in program and path.is_file()):
            fail("command", f"program {program!r} not found on the service's PATH")
    return errors


def _exactly_one(value: object, info: ValidationInfo, other: str, *, both: str,
                 neither: str) -> None:
    """Of this field and ``other`` (validated before it), exactly one is given. When ``other``
    itself failed validation it is missing from ``info.data``: say nothing more."""
    given = info.data.get(other)
    if value is not None and given is not None:
        raise ValueError(both)
    if value is None and given is None and other in info.data:
        raise ValueError(neither)


def load_job_file(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The fields of a YAML (or JSON) job file, and the line of each top-level key. A relative
    ``working_dir`` is taken relative to the file; a key given twice is refused."""
    import yaml

    from shockwave.yamlfile import read_yaml

    try:
        data, node = read_yaml(path)
    except InputError as exc:
        if exc.reason.startswith("cannot read:"):
            raise InputError(exc.reason.replace("cannot read:", "cannot read the job file:"),
                             path=path) from None
        raise
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise InputError(f"expected a mapping of job fields (name: ..., gpus: ...), got {kind}",
                         path=path)
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value} \
        if isinstance(node, yaml.MappingNode) else {}
    spec = {str(k): v for k, v in data.items()}
    workdir = spec.get("working_dir")
    if isinstance(workdir, str) and workdir and not Path(workdir).is_absolute():
        spec["working_dir"] = str((path.parent / workdir).resolve())
    return spec, lines
