"""What ``shockwave profile`` measures: a workload (from its bundled job spec), the batch sizes
and the gang sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from shockwave.errors import InputError
from shockwave.jsonfile import error_message, json_path


@dataclass(frozen=True)
class ProfileTarget:
    """A workload to measure, with its job spec's values. ``name`` is its model name in the
    throughput table and in traces (``digits (batch size 64)``)."""

    name: str
    argv: tuple[str, ...]
    working_dir: str | None
    env: tuple[tuple[str, str], ...]
    samples_per_epoch: int
    batch_size: int
    min_batch_size: int
    max_batch_size: int
    seed: int


def bundled_target(name: str) -> ProfileTarget:
    """The bundled workload ``name`` (``shockwave.workloads.WORKLOADS``) as its spec describes
    it; raises ``ValueError`` for an unknown name."""
    from shockwave.workloads import WORKLOADS, spec_path

    if name not in WORKLOADS:
        raise ValueError(f"no bundled workload {name!r}; known: {', '.join(WORKLOADS)}")
    return target_from_file(spec_path(name))


def target_from_file(path: Path) -> ProfileTarget:
    """A job spec file (what ``shockwave submit`` takes) as a target; ``InputError`` naming the
    file and field when the service would refuse it."""
    import sys

    from shockwave.service.jobspec import JobSubmit, load_job_file

    fields, lines = load_job_file(path)
    try:
        spec = JobSubmit.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = json_path(first["loc"])
        raise InputError(error_message(first), path=path,
                         line=lines.get(field.split("[")[0].split(".")[0]), field=field) from None
    argv = (sys.executable, "-m", spec.module) if spec.module else tuple(spec.command or ())
    return ProfileTarget(
        name=spec.name, argv=(*argv, *spec.args), working_dir=spec.working_dir,
        env=tuple(sorted(spec.env.items())), samples_per_epoch=spec.samples_per_epoch,
        batch_size=spec.batch_size, min_batch_size=spec.low_batch_size,
        max_batch_size=spec.high_batch_size, seed=spec.seed)


def default_batch_sizes(target: ProfileTarget) -> list[int]:
    """The powers of two from the spec's minimum to its maximum batch size, and the spec's own
    batch size (whether a power of two or not), in increasing order."""
    sizes = {target.batch_size}
    size = 1
    while size <= target.max_batch_size:
        if size >= target.min_batch_size:
            sizes.add(size)
        size *= 2
    return sorted(sizes)


def default_gang_sizes(slots: int) -> list[int]:
    """The powers of two up to ``slots``: 1 and 2 on a machine of 2 or 3 slots."""
    sizes, size = [], 1
    while size <= slots:
        sizes.append(size)
        size *= 2
    return sizes
