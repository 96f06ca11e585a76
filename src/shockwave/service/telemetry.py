"""The service's Prometheus metrics (``GET /metrics``, docs/operations.md). Nothing global: each
app owns a ``Telemetry`` with its own ``CollectorRegistry`` (tests build many apps in one
process, and prometheus_client's default registry would mix them).

Two kinds of metric:

- what the store knows is read at scrape time by ``StoreCollector``, so a scrape equals what
  the API answers at that moment (``/v1/cluster``'s job and slot counts, ``/v1/jobs``'s
  per-job figures) and survives restarts (the counters count the store's whole history);
- what only happens in passing (a round's planning, a heartbeat's handling, a checkpoint's save
  time, a refused report) is observed by the code path itself into ``Telemetry``'s histograms
  and counters. These start from zero with each process, which Prometheus's ``rate()`` and
  ``increase()`` expect of counters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shockwave.protocol import Heartbeat
from shockwave.service.api.schemas import progress_fraction
from shockwave.service.clock import Clock
from shockwave.service.config import Settings
from shockwave.service.queue_status import QueueContext, job_rho, queue_context
from shockwave.service.rounds import SCHEDULED_STATES, RoundLoop
from shockwave.service.states import (
    CURRENT_ATTEMPT_STATES,
    LIVE_ATTEMPT_STATES,
    JobState,
    Outcome,
)
from shockwave.service.store import AttemptRow, JobRow, RoundRow, Store

ROUND_MULTIPLES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.01, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)
"""Round-duration buckets, in rounds: rounds cut short by a re-plan fall below 1, rounds the
loop started late above it."""
HEARTBEAT_MULTIPLES = (0.5, 0.9, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Heartbeat-interval buckets, in heartbeat intervals (the lease is three by default)."""
COMPUTE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                     2.5, 5.0, 10.0, 30.0, 60.0)
"""Decision and bookkeeping times: a fast policy plans in a millisecond, Shockwave's solver on
a thousand jobs takes a good part of a second."""
REQUEST_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                     0.25, 1.0)
"""Heartbeat handling: a fraction of a millisecond when all is well (docs/service.md)."""
SAVE_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                  600.0)
"""Checkpoint saves: a small model's in milliseconds, a large one's in minutes."""
SLOT_STATUSES = ("allocated", "idle", "unavailable")
REPORT_KINDS = ("checkpoint", "exit")
JOB_LABELS = ("job_id", "job_name")


class Telemetry:
    """One app's registry: the event-driven metrics, observed by the round loop (as its
    ``RoundObserver``) and the attempt routes, plus the store's collector once ``watch`` is
    called."""

    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.round_duration = Histogram(
            "shockwave_round_duration_seconds", "Service seconds between the starts of "
            "consecutive rounds planned by this process", registry=registry,
            buckets=[m * settings.round_s for m in ROUND_MULTIPLES])
        self.decision = Histogram(
            "shockwave_round_decision_seconds", "The planner's time to decide a round "
            "(decision_s of /v1/rounds)", registry=registry, buckets=COMPUTE_BUCKETS_S)
        self.bookkeeping = Histogram(
            "shockwave_round_bookkeeping_seconds", "The service's own time around a round's "
            "decision (bookkeeping_s of /v1/rounds)", registry=registry,
            buckets=COMPUTE_BUCKETS_S)
        self.heartbeat_handling = Histogram(
            "shockwave_heartbeat_handling_seconds", "Server time of a heartbeat request, from "
            "its authentication to its reply", registry=registry, buckets=REQUEST_BUCKETS_S)
        self.heartbeat_interval = Histogram(
            "shockwave_heartbeat_interval_seconds", "Service seconds since the attempt's "
            "previous recorded heartbeat", registry=registry,
            buckets=[m * settings.heartbeat_s for m in HEARTBEAT_MULTIPLES])
        self.checkpoint_save = Histogram(
            "shockwave_checkpoint_save_seconds", "How long a job took to save a checkpoint "
            "it reported (CheckpointReport.duration_s)", registry=registry,
            buckets=SAVE_BUCKETS_S)
        self.refused = Counter(
            "shockwave_attempt_reports_refused", "Checkpoint and exit reports refused (409) "
            "because their attempt was no longer its job's current one", ["kind"],
            registry=registry)
        for kind in REPORT_KINDS:
            self.refused.labels(kind=kind)
        self._last_planned: int | None = None
        """The index of the last round this process planned."""

    def watch(self, store: Store, settings: Settings, loop: RoundLoop, clock: Clock) -> None:
        """Export what ``store`` and ``loop`` hold at every scrape (``clock``: the fairness
        estimates depend on the time)."""
        self.registry.register(StoreCollector(store, settings, loop, clock))

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)

    # -- observed by the code paths --------------------------------------------------------
    def round_planned(self, row: RoundRow, previous: RoundRow | None) -> None:
        """A new round (``RoundObserver``). Its duration is observed only after a round this
        process planned: the first one after a restart would count the downtime."""
        self.decision.observe(row.decision_s)
        self.bookkeeping.observe(row.bookkeeping_s)
        if previous is not None and previous.idx == self._last_planned:
            self.round_duration.observe(row.start_s - previous.start_s)
        self._last_planned = row.idx

    def heartbeat_handled(self, seconds: float, attempt: AttemptRow, beat: Heartbeat,
                          now_s: float) -> None:
        """A heartbeat took ``seconds`` to handle. A new one of a current attempt that had
        beaten before (the store records exactly those) also shows its interval."""
        self.heartbeat_handling.observe(seconds)
        if attempt.state in CURRENT_ATTEMPT_STATES and beat.seq > attempt.last_seq \
                and attempt.last_heartbeat_s is not None:
            self.heartbeat_interval.observe(now_s - attempt.last_heartbeat_s)

    def checkpoint_saved(self, duration_s: float | None) -> None:
        """A newly acknowledged checkpoint; jobs that do not measure the save say nothing."""
        if duration_s is not None:
            self.checkpoint_save.observe(duration_s)

    def report_refused(self, kind: str) -> None:
        self.refused.labels(kind=kind).inc()


class StoreCollector(Collector):
    """Reads the store at each scrape: the gauges and the history's counters."""

    def __init__(self, store: Store, settings: Settings, loop: RoundLoop, clock: Clock) -> None:
        self.store, self.settings, self.loop, self.clock = store, settings, loop, clock

    def collect(self) -> Iterator[Metric]:
        yield from self._cluster()
        yield from self._history()
        queue = queue_context(self.store, self.settings, self.loop, self.clock.now())
        yield from self._jobs(self.store.jobs(list(SCHEDULED_STATES)), queue)

    def _cluster(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("shockwave_jobs", "Jobs by state (jobs of /v1/cluster)",
                                 labels=["state"])
        counts = self.store.job_counts()
        for state in JobState:
            jobs.add_metric([state.value], counts.get(state.value, 0))
        yield jobs
        gpus = GaugeMetricFamily("shockwave_gpus", "Slots held by an attempt, free, or "
                                 "free but gone with their server", labels=["status"])
        for status, count in zip(SLOT_STATUSES, self._slot_counts(), strict=True):
            gpus.add_metric([status], count)
        yield gpus
        yield GaugeMetricFamily("shockwave_gpu_slots", "Slots the service schedules (--gpus)",
                                value=self.settings.gpus)
        yield GaugeMetricFamily("shockwave_round_length_seconds", "The planned round length "
                                "(--round-seconds)", value=self.settings.round_s)
        index = GaugeMetricFamily("shockwave_round_index", "The round in progress (absent "
                                  "before the first)")
        current = self.loop.round
        if current is not None:
            index.add_metric([], current.idx)
        yield index

    def _slot_counts(self) -> tuple[int, int, int]:
        """Allocated (an attempt holds it: ``job_id`` set in ``/v1/cluster``), idle (free and
        available), unavailable (free, its server gone); they add up to the slots."""
        held = {slot for _, slots in self.store.held_slots(LIVE_ATTEMPT_STATES)
                for slot in slots}
        free = [slot for slot in range(self.settings.gpus) if slot not in held]
        gone = sum(1 for slot in free if slot in self.loop.unavailable)
        return self.settings.gpus - len(free), len(free) - gone, gone

    def _history(self) -> Iterator[Metric]:
        totals = self.store.totals()
        for name, help_text, value in (
                ("shockwave_preemptions", "Attempts revoked by a round (the revoked lists of "
                 "/v1/rounds, summed)", totals.preemptions),
                ("shockwave_restarts", "Attempts beyond each job's first (attempts_count - 1, "
                 "summed)", totals.restarts),
                ("shockwave_attempt_failures", "Failed attempts counted against their job's "
                 "failure budget (failures of /v1/jobs, summed)", totals.failures),
                ("shockwave_checkpoints", "Checkpoints acknowledged", totals.checkpoints),
                ("shockwave_checkpoint_failures", "Checkpoint saves that failed, as the "
                 "attempts' exit reports count them", totals.checkpoint_failures)):
            yield CounterMetricFamily(name, help_text, value=value)
        ended = CounterMetricFamily("shockwave_attempts_ended", "Ended attempts by outcome",
                                    labels=["outcome"])
        for outcome in Outcome:
            ended.add_metric([outcome.value], totals.ended.get(outcome.value, 0))
        yield ended

    def _jobs(self, jobs: Sequence[JobRow], queue: QueueContext) -> Iterator[Metric]:
        """One series per queued or running job (they vanish when it ends)."""
        families = {
            "progress": GaugeMetricFamily("shockwave_job_progress_ratio", "Share of its "
                                          "samples the job has trained (progress.fraction)",
                                          labels=JOB_LABELS),
            "batch": GaugeMetricFamily("shockwave_job_batch_size", "The approved global batch "
                                       "size (progress.batch_size)", labels=JOB_LABELS),
            "attained": GaugeMetricFamily("shockwave_job_attained_seconds", "Seconds the "
                                          "job's attempts held slots (attained_s)",
                                          labels=JOB_LABELS),
            "attempts": GaugeMetricFamily("shockwave_job_attempts", "Attempts started "
                                          "(attempts_count)", labels=JOB_LABELS),
            "failures": GaugeMetricFamily("shockwave_job_failures", "Failed attempts counted "
                                          "against the budget (failures)", labels=JOB_LABELS),
            "speed": GaugeMetricFamily("shockwave_job_samples_per_second", "The latest measured "
                                       "speed of the whole gang (samples_per_s; absent before "
                                       "the first)", labels=JOB_LABELS),
            "rho": GaugeMetricFamily("shockwave_job_estimated_rho", "Estimated finish-time "
                                     "fairness at the job's fair share from now (estimated_rho; "
                                     "absent before its speed is measured)", labels=JOB_LABELS),
        }
        for job in jobs:
            labels = [str(job.id), job.name]
            families["progress"].add_metric(labels, progress_fraction(job))
            families["batch"].add_metric(labels, job.batch_size)
            families["attained"].add_metric(labels, job.attained_s)
            families["attempts"].add_metric(labels, job.attempts_count)
            families["failures"].add_metric(labels, job.failures)
            if job.samples_per_s is not None:
                families["speed"].add_metric(labels, job.samples_per_s)
            rho = job_rho(job, queue)
            if rho is not None:
                families["rho"].add_metric(labels, rho)
        yield from families.values()
