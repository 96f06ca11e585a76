"""Gavel-style synthetic traces: jobs drawn the way Gavel's simulator draws them, for
heterogeneous experiments (``shockwave trace generate --job-table gavel``).

The rules are those of Gavel's published ``scheduler/utils.py`` (stanford-futuredata/gavel,
``generate_job`` with its defaults ``_generate_scale_factor`` and ``_generate_duration``, the
"Philly distribution"); the code is this project's own:

* scale factor (GPUs): U ~ U(0, 1); 2 if 0.7 <= U <= 0.8, 4 if 0.8 < U <= 0.95, 8 if U > 0.95,
  else 1 -- that is 1, 2, 4, 8 GPUs with probability 0.70, 0.10, 0.15, 0.05;
* job type: uniform over the templates of Gavel's job table that may take that many GPUs
  (only ``distributed`` ones take more than one; Gavel redraws until one fits, which is the
  same as drawing uniformly among those that fit);
* duration: with probability 0.8, 10^U(1.5, 3) minutes (about 32 minutes to 16.7 hours),
  else 10^U(3, 4) minutes (16.7 hours to about 6.9 days); rounded here to whole seconds so
  both trace formats write the same job;
* total steps: duration x the job's throughput on the reference type (v100), as Gavel counts
  them; arrivals: a Poisson process of mean gap ``lam`` seconds.

Gavel's jobs do not adapt their batch size: every job is static unless a mode mix (or a single
mode) is given. Gavel's generator assumes every drawn job runs on every GPU type; here a job
type (at a scale factor) is drawn only when the throughput table has a positive throughput for
it on each of ``gpu_types`` (k80, p100 and v100 by default), and the ones left out are listed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shockwave.errors import InputError
from shockwave.limits import MAX_STEPS
from shockwave.model import ADAPTATION_MODES, AdaptationMode, JobSpec
from shockwave.traces.generate import check_mix, check_size_seed_lam, next_arrival_s
from shockwave.traces.importing import positive_rate
from shockwave.traces.templates import GAVEL_TEMPLATES_FILE, JobTemplate, load_templates
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable

GAVEL_GPU_TYPES = ("v100", "p100", "k80")
"""The GPU types of Gavel's measured table; a drawn job must run on each of them."""
REFERENCE_GPU_TYPE = "v100"
"""The type whose throughput turns a drawn duration into steps (Gavel's ``reference_worker_type``)."""
SCALE_FACTORS = (1, 2, 4, 8)
SHORT_JOB_PROBABILITY = 0.8
SHORT_LOG10_MINUTES = (1.5, 3.0)
LONG_LOG10_MINUTES = (3.0, 4.0)


def philly_scale_factor(u: float) -> int:
    """GPUs of a job from one uniform draw ``u``, Gavel's ``_generate_scale_factor`` boundaries
    included (0.8 gives 2, 0.95 gives 4)."""
    if u < 0.7:
        return 1
    if u <= 0.8:
        return 2
    if u <= 0.95:
        return 4
    return 8


def philly_run_time_s(rng: random.Random) -> int:
    """A run time, s, drawn as Gavel's ``_generate_duration`` draws it (first a draw for long or
    short, then the exponent), rounded to whole seconds."""
    long_job = rng.random() >= SHORT_JOB_PROBABILITY
    low, high = LONG_LOG10_MINUTES if long_job else SHORT_LOG10_MINUTES
    return round(60 * 10 ** rng.uniform(low, high))


@dataclass(frozen=True)
class GavelJobParams:
    """What ``trace generate --job-table gavel`` takes."""

    num_jobs: int = 120
    lam_s: float = 40.0
    seed: int = 25
    multi_gpu: bool = True
    mode_mix: tuple[float, ...] | None = None
    """Probabilities of static, accordion and gns; ``None``: every job static (Gavel's jobs)."""
    single_mode: AdaptationMode | None = None
    gpu_types: tuple[str, ...] = GAVEL_GPU_TYPES

    def validate(self) -> None:
        """Raise ``InputError`` naming the first argument (as its option) that cannot work."""
        check_size_seed_lam(self.num_jobs, self.seed, self.lam_s)
        if self.mode_mix is not None:
            check_mix(self.mode_mix, len(ADAPTATION_MODES), "mode-mix")
        if self.single_mode is not None and self.single_mode not in ADAPTATION_MODES:
            raise InputError(f"expected one of {', '.join(ADAPTATION_MODES)}, got "
                             f"{self.single_mode!r}", field="single-mode")
        if REFERENCE_GPU_TYPE not in self.gpu_types:
            raise InputError(f"must include the reference type {REFERENCE_GPU_TYPE} (steps are "
                             f"counted on it), got {', '.join(self.gpu_types) or 'none'}",
                             field="gpu-types")


@dataclass(frozen=True)
class Dropped:
    """A job type at a scale factor the draw leaves out: the GPU types it has no speed on."""

    job_type: str
    gpus: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class GavelChoices:
    """For each scale factor that may be drawn, the templates that can be drawn with it."""

    by_gpus: dict[int, tuple[JobTemplate, ...]]
    dropped: tuple[Dropped, ...]


def gavel_choices(templates: tuple[JobTemplate, ...], throughputs: ThroughputTable,
                  gpu_types: tuple[str, ...], scale_factors: tuple[int, ...]) -> GavelChoices:
    """Which templates each scale factor may draw: those that may take that many GPUs and have
    a positive throughput on every one of ``gpu_types``; an empty choice is an error, since
    the draw of that scale factor would have nothing to give."""
    by_gpus: dict[int, tuple[JobTemplate, ...]] = {}
    dropped: list[Dropped] = []
    for gpus in scale_factors:
        fitting = [t for t in templates if gpus == 1 or t.distributed]
        kept = []
        for template in fitting:
            missing = tuple(g for g in gpu_types if positive_rate(
                throughputs, template.model, template.batch_size, gpus, g) is None)
            if missing:
                dropped.append(Dropped(template.job_type, gpus, missing))
            else:
                kept.append(template)
        if not kept:
            raise InputError(f"no job type of Gavel's job table has a positive throughput on "
                             f"{gpus} GPU(s) of every type ({', '.join(gpu_types)}) in "
                             f"{throughputs.source}", field="throughputs")
        by_gpus[gpus] = tuple(kept)
    return GavelChoices(by_gpus, tuple(dropped))


def describe_dropped(dropped: tuple[Dropped, ...]) -> list[str]:
    """One line per job type left out: at which GPU counts, and the types it lacks there."""
    grouped: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for item in dropped:
        grouped.setdefault((item.job_type, item.missing), []).append(item.gpus)
    return [f"'{job_type}' on {', '.join(map(str, gpus))} GPU(s): no positive throughput on "
            f"{', '.join(missing)}" for (job_type, missing), gpus in grouped.items()]


@dataclass
class _Streams:
    """Independent streams, so that one option (say the mode mix) changes only its own draws."""

    job: random.Random
    arrival: random.Random
    duration: random.Random
    scale_factor: random.Random
    mode: random.Random

    @classmethod
    def seeded(cls, seed: int) -> _Streams:
        return cls(*(random.Random(seed + i) for i in range(5)))


def _mode(params: GavelJobParams, rng: random.Random) -> AdaptationMode:
    if params.single_mode is not None:
        return params.single_mode
    if params.mode_mix is None:
        return "static"
    u, total = rng.uniform(0, 1), 0.0
    for mode, p in zip(ADAPTATION_MODES, params.mode_mix, strict=True):
        total += p
        if u < total:
            return mode
    return ADAPTATION_MODES[-1]


@dataclass(frozen=True)
class GavelTrace:
    """A generated trace and the job types its draw left out (``describe_dropped``)."""

    trace: Trace
    dropped: tuple[Dropped, ...]


def _draw(params: GavelJobParams, choices: GavelChoices, throughputs: ThroughputTable,
          streams: _Streams, job_id: int, arrival_s: float) -> JobSpec:
    gpus = philly_scale_factor(streams.scale_factor.uniform(0, 1)) if params.multi_gpu else 1
    template = streams.job.choice(choices.by_gpus[gpus])
    run_time = philly_run_time_s(streams.duration)
    rate = throughputs.lookup(template.model, template.batch_size, gpus, REFERENCE_GPU_TYPE)
    total_steps = max(1, int(run_time * rate))
    if total_steps > MAX_STEPS:  # only a custom table can get here (rates up to 1e9/s)
        raise InputError(f"a {run_time} s '{template.job_type}' job on {gpus} GPUs is "
                         f"{total_steps} steps; at most {MAX_STEPS:g}", field="throughputs")
    return JobSpec(
        job_id=job_id, model=template.model, batch_size=template.batch_size, gpus=gpus,
        mode=_mode(params, streams.mode), total_steps=total_steps,
        arrival_s=float(int(arrival_s)), duration_s=float(run_time),
        command=template.command, working_directory=template.working_directory,
        num_steps_arg=template.num_steps_arg, needs_data_dir=template.needs_data_dir,
    )


def generate_gavel_trace(params: GavelJobParams, throughputs: ThroughputTable) -> GavelTrace:
    """``params.num_jobs`` Gavel-style jobs, the same for the same arguments and table.

    Streams: job type ``seed``, arrival ``seed+1``, duration ``seed+2``, scale factor
    ``seed+3``, mode ``seed+4`` (each a ``random.Random``). Arrivals are truncated to whole
    seconds as written, the sum kept exact between jobs (as ``generate_trace`` does).
    """
    params.validate()
    scale_factors = SCALE_FACTORS if params.multi_gpu else (1,)
    choices = gavel_choices(load_templates(GAVEL_TEMPLATES_FILE), throughputs,
                            params.gpu_types, scale_factors)
    streams = _Streams.seeded(params.seed)
    jobs: list[JobSpec] = []
    arrival = 0.0
    for job_id in range(params.num_jobs):
        arrival = next_arrival_s(arrival, streams.arrival, params.lam_s, job_id)
        jobs.append(_draw(params, choices, throughputs, streams, job_id, arrival))
    trace = Trace(jobs=tuple(jobs), source=f"<generated gavel seed={params.seed}>",
                  lines=tuple(range(1, len(jobs) + 1)))
    return GavelTrace(trace, choices.dropped)
