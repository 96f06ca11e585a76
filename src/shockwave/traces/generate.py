"""Synthetic traces the way the paper made them (the published
``scheduler/scripts/utils/generate_trace.py``; docs/traces.md), random stream for random stream.

Six independent streams, each seeded from ``seed``: the template choice, the inter-arrival
gap, the duration class, the scale factor, the adaptation mode (five ``random.Random``), and
NumPy's legacy MT19937 (``numpy.random.RandomState(seed)``) for the duration inside its class.
Each job consumes them in the reference's order, so the same arguments give the reference's
trace byte for byte.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from shockwave.errors import InputError
from shockwave.limits import MAX_NUM_JOBS, MAX_SECONDS, MAX_SEED, MAX_STEPS
from shockwave.model import ADAPTATION_MODES, AdaptationMode, JobSpec
from shockwave.traces.templates import JobTemplate, load_templates
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import ThroughputTable

# Probability of the small, medium, large and extra-large duration class, and where each class
# ends as a fraction of the sorted candidate durations (the reference's Pollux-like mix).
DURATION_CLASS_PROBABILITY = (0.72, 0.2, 0.05, 0.03)
DURATION_CLASS_BOUNDARY = (0.2, 0.5, 0.9)
LOGSPACE_BASE = 1.5
# Jobs shorter than this never run in Accordion mode: the reference makes them static.
MIN_ACCORDION_RUN_TIME_S = 1000
SCALE_FACTORS = (1, 2, 4, 8)
# The power-law spacing computes 1.5^n: past this many durations it overflows to infinity.
MAX_LOGSPACE_DURATIONS = 1700


@dataclass(frozen=True)
class GeneratorParams:
    """The reference generator's arguments; the defaults are the paper's canonical 120-job trace."""

    num_jobs: int = 120
    lam_s: float = 40.0
    seed: int = 25
    min_hours: float = 0.2
    max_hours: float = 5.0
    num_durations: int = 100
    duration_logspace: bool = False
    multi_gpu: bool = True
    scale_factor_mix: tuple[float, ...] = (0.6, 0.3, 0.09, 0.01)
    dynamic: bool = True
    mode_mix: tuple[float, ...] = (0.0, 0.5, 0.5)
    single_mode: AdaptationMode | None = None
    gpu_type: str = "v100"

    def validate(self) -> None:
        """Raise ``InputError`` naming the first argument the generator cannot work with."""
        check_size_seed_lam(self.num_jobs, self.seed, self.lam_s)
        if not 0 < self.min_hours <= self.max_hours <= MAX_SECONDS / 3600:
            raise InputError(
                f"need 0 < min-hours <= max-hours <= {MAX_SECONDS / 3600:g}, got "
                f"{self.min_hours} and {self.max_hours}", field="min-hours",
            )
        if self.duration_logspace and self.num_durations > MAX_LOGSPACE_DURATIONS:
            raise InputError(f"must be at most {MAX_LOGSPACE_DURATIONS} with power-law spacing "
                             f"(1.5^n overflows), got {self.num_durations}",
                             field="num-durations")
        check_mix(self.scale_factor_mix, len(SCALE_FACTORS), "scale-factor-mix")
        check_mix(self.mode_mix, len(ADAPTATION_MODES), "mode-mix")
        if self.single_mode is not None and self.single_mode not in ADAPTATION_MODES:
            raise InputError(
                f"expected one of {', '.join(ADAPTATION_MODES)}, got {self.single_mode!r}",
                field="single-mode",
            )
        empty = [name for name, part in zip(("small", "medium", "large", "extra-large"),
                                             duration_classes(self), strict=True) if len(part) == 0]
        if empty:
            raise InputError(
                f"{self.num_durations} durations leave the {', '.join(empty)} class empty; "
                "use at least 5",
                field="num-durations",
            )


def check_size_seed_lam(num_jobs: int, seed: int, lam_s: float) -> None:
    """The checks every generator makes of its size, seed and mean gap, named as the options."""
    if not 1 <= num_jobs <= MAX_NUM_JOBS:
        raise InputError(f"must be from 1 to {MAX_NUM_JOBS:,}, got {num_jobs}", field="num-jobs")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"must be from 0 to {MAX_SEED} (a 32-bit seed), got {seed}",
                         field="seed")
    if not 0 <= lam_s <= MAX_SECONDS:  # NaN fails too
        raise InputError(f"must be from 0 to {MAX_SECONDS:g} s, got {lam_s}", field="lam")


def check_mix(mix: tuple[float, ...], size: int, name: str) -> None:
    """Probabilities of ``size`` outcomes: each finite and >= 0, summing to 1 (within 1e-3)."""
    if len(mix) != size:
        raise InputError(f"expected {size} comma-separated probabilities, got {len(mix)}",
                         field=name)
    if any(not math.isfinite(p) or p < 0 for p in mix) or abs(sum(mix) - 1.0) > 1e-3:
        raise InputError(f"probabilities must be >= 0 and sum to 1, got {mix}", field=name)


def duration_values(params: GeneratorParams) -> np.ndarray:
    """The candidate durations in hours: linear, or the reference's power-law spacing."""
    n = params.num_durations
    if n < 2:
        raise InputError(f"must be at least 2, got {n}", field="num-durations")
    low, high = params.min_hours, params.max_hours
    if not params.duration_logspace:
        return np.linspace(low, high, n)
    power = np.insert(LOGSPACE_BASE ** np.linspace(start=1, stop=n, num=n - 1), 0, 0.0)
    power = power / np.max(power)
    return np.round(power * (high - low) + low, 2)


def duration_classes(params: GeneratorParams) -> tuple[np.ndarray, ...]:
    """The candidate durations cut by index into the small, medium, large and xlarge class."""
    values = duration_values(params)
    n = len(values)
    cuts = [round(n * b) for b in DURATION_CLASS_BOUNDARY]
    return values[: cuts[0]], values[cuts[0]: cuts[1]], values[cuts[1]: cuts[2]], values[cuts[2]:]


def _cumulative(mix: tuple[float, ...]) -> list[float]:
    # sum() of each prefix, exactly as the reference adds them up (float order matters).
    return [sum(mix[: i + 1]) for i in range(len(mix))]


@dataclass
class _Streams:
    """The six random streams, seeded as the reference seeds them."""

    job: random.Random
    arrival: random.Random
    duration: random.Random
    scale_factor: random.Random
    mode: random.Random
    numpy: np.random.RandomState

    @classmethod
    def seeded(cls, seed: int) -> _Streams:
        return cls(random.Random(seed), random.Random(seed + 1), random.Random(seed + 2),
                   random.Random(seed + 3), random.Random(seed + 4), np.random.RandomState(seed))


class _JobDrawer:
    """Draws one job at a time from the streams (in the order of the
    published ``utils.generate_job``)."""

    def __init__(self, params: GeneratorParams, throughputs: ThroughputTable) -> None:
        self.params = params
        self.throughputs = throughputs
        self.templates = list(load_templates())
        self.classes = duration_classes(params)
        self.class_cut = _cumulative(DURATION_CLASS_PROBABILITY)[:3]
        self.sf_cut = _cumulative(params.scale_factor_mix)[:3]
        self.mode_cut = (params.mode_mix[0], params.mode_mix[0] + params.mode_mix[1])
        self.rates: dict[tuple[str, int], float] = {}

    def scale_factor(self, streams: _Streams, template: JobTemplate) -> int:
        if not (self.params.multi_gpu and template.distributed):
            return 1
        r = streams.scale_factor.uniform(0, 1)
        for cut, gpus in zip(self.sf_cut, SCALE_FACTORS, strict=False):
            if r <= cut:
                return gpus
        return SCALE_FACTORS[-1]

    def run_time_s(self, streams: _Streams) -> int:
        r = streams.duration.uniform(0, 1)
        index = next((i for i, cut in enumerate(self.class_cut) if r < cut), 3)
        values = self.classes[index]
        # Exactly what legacy ``RandomState.choice(values)`` draws, without its checks.
        return round(3600 * float(values[streams.numpy.randint(0, len(values))]))

    def mode(self, streams: _Streams, run_time_s: int) -> AdaptationMode:
        mode: AdaptationMode
        if self.params.single_mode is not None:
            mode = self.params.single_mode
        elif not self.params.dynamic:
            mode = "static"
        else:
            r = streams.mode.uniform(0, 1)
            mode = "static" if r < self.mode_cut[0] else (
                "accordion" if r < self.mode_cut[1] else "gns")
        if run_time_s < MIN_ACCORDION_RUN_TIME_S and mode == "accordion":
            return "static"
        return mode

    def rate(self, template: JobTemplate, gpus: int) -> float:
        key = (template.job_type, gpus)
        if key not in self.rates:
            rate = self.throughputs.lookup(template.model, template.batch_size, gpus,
                                           self.params.gpu_type)
            if rate <= 0:
                raise InputError(
                    f"'{template.job_type}' on {gpus} x {self.params.gpu_type} has zero "
                    "throughput; the generator needs every template it may draw",
                    path=self.throughputs.source, field="throughput",
                )
            self.rates[key] = rate
        return self.rates[key]

    def draw(self, streams: _Streams, job_id: int, arrival_s: float) -> JobSpec:
        template = streams.job.choice(self.templates)
        gpus = self.scale_factor(streams, template)
        run_time = self.run_time_s(streams)
        mode = self.mode(streams, run_time)
        total_steps = int(run_time * self.rate(template, gpus))
        if total_steps > MAX_STEPS:
            raise InputError(f"a {run_time} s '{template.job_type}' job on {gpus} GPUs is "
                             f"{total_steps} steps; at most {MAX_STEPS:g}", field="max-hours")
        return JobSpec(
            job_id=job_id, model=template.model, batch_size=template.batch_size, gpus=gpus,
            mode=mode, total_steps=total_steps,
            arrival_s=float(int(arrival_s)), duration_s=float(run_time),
            command=template.command, working_directory=template.working_directory,
            num_steps_arg=template.num_steps_arg, needs_data_dir=template.needs_data_dir,
        )


def next_arrival_s(previous_s: float, rng: random.Random, lam_s: float, job_id: int) -> float:
    """Job ``job_id``'s arrival: 0 for the first, then ``-ln(1-U) * lam`` s after the previous
    (a Poisson process of mean gap ``lam``; with ``lam = 0`` every job arrives at 0)."""
    if job_id == 0 or lam_s <= 0:
        return previous_s
    arrival = previous_s + -math.log(1.0 - rng.random()) * lam_s
    if arrival > MAX_SECONDS:
        raise InputError(f"job {job_id} would arrive at {arrival:g} s, after the bound "
                         f"{MAX_SECONDS:g} s; use a smaller lam", field="lam")
    return arrival


def generate_trace(params: GeneratorParams, throughputs: ThroughputTable) -> Trace:
    """Generate ``params.num_jobs`` jobs; arrivals and durations are whole seconds, as written.

    The first job arrives at 0; each later one ``-ln(1-U) * lam`` seconds after the previous
    (kept as a float between jobs, truncated per job as the reference's writer does).
    With ``lam = 0`` every job arrives at 0.
    """
    params.validate()
    streams = _Streams.seeded(params.seed)
    drawer = _JobDrawer(params, throughputs)
    jobs: list[JobSpec] = []
    arrival = 0.0
    for job_id in range(params.num_jobs):
        # The arrival gap has its own stream, so drawing it before the job changes nothing.
        arrival = next_arrival_s(arrival, streams.arrival, params.lam_s, job_id)
        jobs.append(drawer.draw(streams, job_id, arrival))
    source = f"<generated seed={params.seed}>"
    return Trace(jobs=tuple(jobs), source=source, lines=tuple(range(1, len(jobs) + 1)))

